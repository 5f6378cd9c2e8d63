// confide::SecretBytes: move-only key material that is zeroised when it dies.
//
// There is no operator<<, no implicit conversion and no copy constructor. Raw bytes come out
// only through ExposeSecret() / MutableSecret(), so every use of key material is greppable
// (Tink's SecretKeyAccess idea).
#ifndef CONFIDE_BASE_SECRET_BYTES_H_
#define CONFIDE_BASE_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "base/bytes.h"

namespace confide {

// SecureZero overwrites `data` with zeros in a way the compiler may not elide.
void SecureZero(std::span<uint8_t> data);

// SecretBytes owns a fixed-size buffer of secret bytes. Not thread-safe.
class SecretBytes {
 public:
  // SecretBytes() is empty.
  SecretBytes() = default;
  // SecretBytes(len) is `len` zero bytes.
  explicit SecretBytes(size_t len);
  // CopyFrom copies `data` into a new SecretBytes. The caller remains responsible for wiping
  // its own copy.
  static SecretBytes CopyFrom(ByteSpan data);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  // Clone returns an explicit deep copy.
  SecretBytes Clone() const { return CopyFrom(ExposeSecret()); }

  size_t size() const { return len_; }
  bool empty() const { return len_ == 0; }

  // ExposeSecret returns a view of the secret bytes, valid while *this lives unchanged.
  ByteSpan ExposeSecret() const { return ByteSpan(data_.get(), len_); }
  // MutableSecret returns a writable view of the secret bytes (to fill them).
  std::span<uint8_t> MutableSecret() { return std::span<uint8_t>(data_.get(), len_); }

  // Wipe zeroises and releases the buffer; afterwards size() == 0.
  void Wipe();

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t len_ = 0;
};

}  // namespace confide

#endif  // CONFIDE_BASE_SECRET_BYTES_H_
