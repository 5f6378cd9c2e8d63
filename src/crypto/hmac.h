// confide::crypto HMAC (RFC 2104) with SHA-256, SHA-384 and SHA-512.
#ifndef CONFIDE_CRYPTO_HMAC_H_
#define CONFIDE_CRYPTO_HMAC_H_

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/sha.h"

namespace confide::crypto {

// Hmac returns HMAC-`alg`(key, data), DigestLen(alg) bytes. Any key length is allowed (an empty
// key is valid and equals a key of zeros). Cannot fail on valid input: an OpenSSL failure here is
// a broken invariant and aborts. Thread-safe.
Bytes Hmac(HashAlg alg, ByteSpan key, ByteSpan data);

// HmacVerify recomputes HMAC-`alg`(key, data) and compares it with `tag` in constant time. OK
// when they match; Unauthenticated ("HMAC verification failed") otherwise, including when `tag`
// is not exactly DigestLen(alg) bytes (truncated tags are not accepted). Thread-safe.
absl::Status HmacVerify(HashAlg alg, ByteSpan key, ByteSpan data, ByteSpan tag);

}  // namespace confide::crypto

#endif  // CONFIDE_CRYPTO_HMAC_H_
