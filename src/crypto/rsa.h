// confide::crypto RSA: key generation, PKCS#8 / SPKI import and export, RSAES-OAEP with
// SHA-256 and MGF1-SHA-256 (RFC 8017 §7.1), the scheme AWS KMS uses for `Recipient` answers, and
// the signature schemes AWS KMS offers for RSA keys: RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) and
// RSASSA-PSS with MGF1 of the same hash and a salt as long as the hash (§8.1), over SHA-256,
// SHA-384 or SHA-512.
//
// Only one OAEP configuration exists here: hash SHA-256 and MGF1 with SHA-256, both set
// explicitly (OpenSSL's default would be SHA-1). Keys are immutable; encrypting, decrypting,
// signing and verifying with a shared key is thread-safe.
#ifndef CONFIDE_CRYPTO_RSA_H_
#define CONFIDE_CRYPTO_RSA_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/sha.h"

namespace confide::crypto {

namespace internal {
struct PkeyHolder;
}  // namespace internal

// kRsaMinModulusBits / kRsaMaxModulusBits bound the keys accepted on import (smaller keys are
// weak; larger ones only cost CPU, which an attacker could use).
inline constexpr int kRsaMinModulusBits = 2048;
inline constexpr int kRsaMaxModulusBits = 8192;

// RsaSignaturePadding selects the RSA signature scheme.
enum class RsaSignaturePadding {
  kPkcs1v15,  // RSASSA-PKCS1-v1_5 (RFC 8017 §8.2), deterministic
  kPss,       // RSASSA-PSS (RFC 8017 §8.1), MGF1 with the message hash, salt length = hash length
};

// RsaOaepMaxPlaintextLen returns the longest message RSAES-OAEP-SHA-256 can encrypt under a key
// of `modulus_len` bytes: k - 2*hLen - 2 (RFC 8017 §7.1.1), or 0 if the key is too small.
size_t RsaOaepMaxPlaintextLen(size_t modulus_len);

// RsaPublicKey is a validated RSA public key. Cheap to copy (shared, immutable).
class RsaPublicKey {
 public:
  // FromSpkiDer parses a DER SubjectPublicKeyInfo (rsaEncryption). InvalidArgument when it is
  // malformed, has trailing bytes, is not a plain RSA key, fails OpenSSL's public-key check
  // (even modulus, bad exponent, ...) or is outside [kRsaMinModulusBits, kRsaMaxModulusBits].
  static absl::StatusOr<RsaPublicKey> FromSpkiDer(ByteSpan der);
  // FromPem parses a PEM "PUBLIC KEY" block, with the same errors as FromSpkiDer.
  static absl::StatusOr<RsaPublicKey> FromPem(std::string_view pem);

  // ModulusBits returns the size of the modulus in bits (e.g. 2048).
  int ModulusBits() const;
  // ModulusLen returns the size of the modulus in bytes (the ciphertext length).
  size_t ModulusLen() const;

  // SpkiDer returns the DER SubjectPublicKeyInfo.
  Bytes SpkiDer() const;
  // Pem returns the key as a PEM "PUBLIC KEY" block.
  std::string Pem() const;

  // OaepEncrypt encrypts `plaintext` with RSAES-OAEP, SHA-256, MGF1-SHA-256 and `label`
  // (empty by default). InvalidArgument when plaintext is longer than
  // RsaOaepMaxPlaintextLen(ModulusLen()); Internal if OpenSSL or the CSPRNG fails.
  absl::StatusOr<Bytes> OaepEncrypt(ByteSpan plaintext, ByteSpan label = {}) const;

  // Verify checks `signature` over `message` (hashed with `hash`) under `padding`. OK when valid;
  // Unauthenticated ("RSA signature invalid") otherwise, including a signature of the wrong
  // length or a PSS signature whose salt is not exactly as long as the hash.
  absl::Status Verify(RsaSignaturePadding padding, HashAlg hash, ByteSpan message,
                      ByteSpan signature) const;
  // VerifyDigest is Verify over `digest`, a precomputed hash of the message with `hash`.
  // InvalidArgument when digest is not DigestLen(hash) bytes; otherwise as Verify.
  absl::Status VerifyDigest(RsaSignaturePadding padding, HashAlg hash, ByteSpan digest,
                            ByteSpan signature) const;

  // Internal: the shared key handle, for other crypto wrappers (CMS).
  const std::shared_ptr<const internal::PkeyHolder>& holder() const { return key_; }

 private:
  friend class RsaPrivateKey;
  explicit RsaPublicKey(std::shared_ptr<const internal::PkeyHolder> key) : key_(std::move(key)) {}
  std::shared_ptr<const internal::PkeyHolder> key_;
};

// RsaPrivateKey holds an RSA private key. Move-only; decryption is thread-safe.
class RsaPrivateKey {
 public:
  // Generate creates a fresh key with public exponent 65537. `modulus_bits` must be 2048, 3072
  // or 4096 (InvalidArgument otherwise); Internal if generation fails.
  static absl::StatusOr<RsaPrivateKey> Generate(int modulus_bits);
  // FromPkcs8Der parses an unencrypted PKCS#8 PrivateKeyInfo holding an RSA key. InvalidArgument
  // when it is malformed, has trailing bytes, is not RSA, is outside the accepted sizes, or its
  // parts are inconsistent (n != p*q, d*e != 1, ...).
  static absl::StatusOr<RsaPrivateKey> FromPkcs8Der(ByteSpan der);
  // FromPem parses a PEM "PRIVATE KEY" (PKCS#8) or "RSA PRIVATE KEY" block, with the same
  // errors as FromPkcs8Der.
  static absl::StatusOr<RsaPrivateKey> FromPem(std::string_view pem);

  RsaPrivateKey(RsaPrivateKey&&) noexcept = default;
  RsaPrivateKey& operator=(RsaPrivateKey&&) noexcept = default;
  RsaPrivateKey(const RsaPrivateKey&) = delete;
  RsaPrivateKey& operator=(const RsaPrivateKey&) = delete;

  // ModulusBits returns the size of the modulus in bits.
  int ModulusBits() const;
  // ModulusLen returns the size of the modulus in bytes.
  size_t ModulusLen() const;

  // PublicKey returns the matching public key (holding no private material).
  RsaPublicKey PublicKey() const;
  // Pkcs8Der returns the key as unencrypted PKCS#8 DER.
  SecretBytes Pkcs8Der() const;
  // Pem returns the key as a PEM "PRIVATE KEY" (PKCS#8) block (secret text; never log it).
  SecretBytes Pem() const;

  // OaepDecrypt decrypts an RSAES-OAEP-SHA-256 / MGF1-SHA-256 ciphertext made with `label`.
  // Every failure (wrong length, integer out of range, bad padding, wrong label, wrong key) is
  // the same InvalidArgument("RSA-OAEP decryption failed"), so callers cannot become a padding
  // oracle by passing on distinct errors.
  absl::StatusOr<SecretBytes> OaepDecrypt(ByteSpan ciphertext, ByteSpan label = {}) const;

  // Sign signs `message` (hashed with `hash`) under `padding` and returns the ModulusLen()-byte
  // signature. Internal if OpenSSL or the CSPRNG (PSS salt) fails.
  absl::StatusOr<Bytes> Sign(RsaSignaturePadding padding, HashAlg hash, ByteSpan message) const;
  // SignDigest is Sign over `digest`, a precomputed hash of the message with `hash`.
  // InvalidArgument when digest is not DigestLen(hash) bytes; otherwise as Sign.
  absl::StatusOr<Bytes> SignDigest(RsaSignaturePadding padding, HashAlg hash,
                                   ByteSpan digest) const;

 private:
  explicit RsaPrivateKey(std::shared_ptr<const internal::PkeyHolder> key) : key_(std::move(key)) {}
  static absl::StatusOr<RsaPrivateKey> FromPkeyChecked(
      std::shared_ptr<const internal::PkeyHolder> key);
  std::shared_ptr<const internal::PkeyHolder> key_;
};

}  // namespace confide::crypto

#endif  // CONFIDE_CRYPTO_RSA_H_
