// confide::crypto SHA-2: one-shot and streaming SHA-256, SHA-384 and SHA-512.
#ifndef CONFIDE_CRYPTO_SHA_H_
#define CONFIDE_CRYPTO_SHA_H_

#include <cstddef>
#include <memory>

#include "base/bytes.h"

namespace confide::crypto {

enum class HashAlg { kSha256, kSha384, kSha512 };

// DigestLen returns the output length of `alg` in bytes (32, 48, 64).
size_t DigestLen(HashAlg alg);
// HashName returns "SHA-256", "SHA-384" or "SHA-512".
const char* HashName(HashAlg alg);

// Hash returns the digest of `data`. Hashing cannot fail on valid input; an OpenSSL failure
// here is a broken invariant and aborts.
Bytes Hash(HashAlg alg, ByteSpan data);
inline Bytes Sha256(ByteSpan data) { return Hash(HashAlg::kSha256, data); }
inline Bytes Sha384(ByteSpan data) { return Hash(HashAlg::kSha384, data); }
inline Bytes Sha512(ByteSpan data) { return Hash(HashAlg::kSha512, data); }

// Hasher computes a digest incrementally. Move-only; not thread-safe.
class Hasher {
 public:
  explicit Hasher(HashAlg alg);
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  ~Hasher();

  // Update feeds `data`.
  void Update(ByteSpan data);
  // Finish returns the digest; the Hasher is then reset for reuse.
  Bytes Finish();

 private:
  struct Impl;
  HashAlg alg_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace confide::crypto

#endif  // CONFIDE_CRYPTO_SHA_H_
