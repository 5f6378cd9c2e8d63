// confide::app LockedBuffer: memory for decrypted model weights. Anonymous pages, locked into
// RAM when the limits allow (mlock), excluded from core dumps, wiped before they are returned.
#ifndef CONFIDE_APP_LOCKED_BUFFER_H_
#define CONFIDE_APP_LOCKED_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "base/bytes.h"
#include "base/status.h"

namespace confide::app {

// LockedBuffer owns `size` bytes of anonymous memory. Move-only.
class LockedBuffer {
 public:
  // Create maps `size` (> 0) zeroed bytes and tries to mlock them. ResourceExhausted when the
  // memory cannot be mapped; InvalidArgument for size 0. A failed mlock is not an error
  // (locked() tells): inside a Nitro enclave there is no swap to lock against, and in the
  // process sandbox RLIMIT_MEMLOCK may be small.
  static absl::StatusOr<LockedBuffer> Create(size_t size);

  LockedBuffer(LockedBuffer&& other) noexcept;
  LockedBuffer& operator=(LockedBuffer&& other) noexcept;
  LockedBuffer(const LockedBuffer&) = delete;
  LockedBuffer& operator=(const LockedBuffer&) = delete;
  // ~LockedBuffer wipes and unmaps the memory.
  ~LockedBuffer();

  std::span<uint8_t> mutable_bytes() { return {data_, size_}; }
  ByteSpan bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }
  bool locked() const { return locked_; }

 private:
  LockedBuffer(uint8_t* data, size_t size, bool locked)
      : data_(data), size_(size), locked_(locked) {}
  void Release();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool locked_ = false;
};

}  // namespace confide::app

#endif  // CONFIDE_APP_LOCKED_BUFFER_H_
