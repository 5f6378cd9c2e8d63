// confide::crypto HKDF (RFC 5869) with SHA-256, SHA-384 and SHA-512.
//
// Built on HMAC (hmac.h) rather than OpenSSL's EVP_KDF "HKDF", whose 3.0 implementation caps
// `info` at 1024 bytes; HPKE's labeled expansions and exporter contexts can exceed that.
#ifndef CONFIDE_CRYPTO_HKDF_H_
#define CONFIDE_CRYPTO_HKDF_H_

#include <cstddef>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/sha.h"

namespace confide::crypto {

// HkdfMaxOutputLen returns 255 * DigestLen(alg), the most HKDF-Expand can produce.
size_t HkdfMaxOutputLen(HashAlg alg);

// HkdfExtract returns PRK = HMAC-Hash(salt, IKM) (RFC 5869 §2.2), DigestLen(alg) bytes. An empty
// `salt` means HashLen zero bytes, as the RFC specifies. Cannot fail. Thread-safe.
SecretBytes HkdfExtract(HashAlg alg, ByteSpan salt, ByteSpan ikm);

// HkdfExpand returns OKM, `length` bytes expanded from `prk` and `info` (RFC 5869 §2.3).
// InvalidArgument when `length` > HkdfMaxOutputLen(alg) or `prk` is shorter than DigestLen(alg).
// A zero `length` gives an empty result. Thread-safe.
absl::StatusOr<SecretBytes> HkdfExpand(HashAlg alg, ByteSpan prk, ByteSpan info, size_t length);

// Hkdf returns HKDF-Expand(HKDF-Extract(salt, ikm), info, length) (RFC 5869 §2), with the
// errors of HkdfExpand. Thread-safe.
absl::StatusOr<SecretBytes> Hkdf(HashAlg alg, ByteSpan ikm, ByteSpan salt, ByteSpan info,
                                 size_t length);

}  // namespace confide::crypto

#endif  // CONFIDE_CRYPTO_HKDF_H_
