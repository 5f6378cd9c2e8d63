// confide::crypto random: the CSPRNG (OpenSSL's RAND_bytes, seeded from the OS).
#ifndef CONFIDE_CRYPTO_RANDOM_H_
#define CONFIDE_CRYPTO_RANDOM_H_

#include <cstddef>
#include <span>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace confide::crypto {

// FillRandom fills `out` with cryptographically secure random bytes. Internal if the CSPRNG
// fails (the caller must not continue with a weak value). Thread-safe.
absl::Status FillRandom(std::span<uint8_t> out);

// RandomBytes returns `len` random bytes (public values: nonces, ids).
absl::StatusOr<Bytes> RandomBytes(size_t len);

// RandomSecret returns `len` random bytes as key material.
absl::StatusOr<SecretBytes> RandomSecret(size_t len);

}  // namespace confide::crypto

#endif  // CONFIDE_CRYPTO_RANDOM_H_
