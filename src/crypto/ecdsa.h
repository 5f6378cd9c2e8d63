// confide::crypto ECDSA over NIST P-256 (with SHA-256) and P-384 (with SHA-384).
//
// Signatures come in two formats: ASN.1 DER (X.509, TLS) and raw fixed-width r||s (IEEE P1363,
// as COSE and JOSE use). The hash is fixed by the curve (ES256 / ES384); there is no way to
// pair a curve with another hash. Keys are immutable; verification with a shared key is
// thread-safe.
#ifndef CONFIDE_CRYPTO_ECDSA_H_
#define CONFIDE_CRYPTO_ECDSA_H_

#include <memory>
#include <string_view>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/sha.h"

namespace confide::crypto {

enum class Curve { kP256, kP384 };
enum class SignatureFormat { kDer, kRaw };

// CurveName returns "P-256" or "P-384".
const char* CurveName(Curve curve);
// CurveHash returns the hash paired with `curve` (SHA-256 for P-256, SHA-384 for P-384).
HashAlg CurveHash(Curve curve);
// CurveFieldLen returns the byte length of a field element / scalar (32 or 48).
size_t CurveFieldLen(Curve curve);

namespace internal {
struct PkeyHolder;
}  // namespace internal

// EcdsaPublicKey is a validated point on P-256 or P-384. Cheap to copy (shared, immutable).
class EcdsaPublicKey {
 public:
  // FromSpkiDer parses a DER SubjectPublicKeyInfo. InvalidArgument when it is malformed, not
  // an EC key, uses explicit curve parameters, or names a curve other than P-256/P-384.
  static absl::StatusOr<EcdsaPublicKey> FromSpkiDer(ByteSpan der);
  // FromPem parses a PEM "PUBLIC KEY" block, with the same errors as FromSpkiDer.
  static absl::StatusOr<EcdsaPublicKey> FromPem(std::string_view pem);
  // FromUncompressedPoint parses 0x04||x||y on `curve`. InvalidArgument when the encoding is
  // wrong or the point is not on the curve.
  static absl::StatusOr<EcdsaPublicKey> FromUncompressedPoint(Curve curve, ByteSpan point);

  Curve curve() const { return curve_; }

  // Verify checks `signature` over `message` (hashed with CurveHash(curve())). OK when valid;
  // Unauthenticated ("ECDSA signature invalid") otherwise, including for malformed, non-DER
  // or wrong-length signatures.
  absl::Status Verify(ByteSpan message, ByteSpan signature, SignatureFormat format) const;
  // VerifyDigest is Verify over `digest`, a precomputed CurveHash(curve()) of the message.
  // InvalidArgument when digest is not DigestLen(CurveHash(curve())) bytes; otherwise as Verify.
  absl::Status VerifyDigest(ByteSpan digest, ByteSpan signature, SignatureFormat format) const;

  // SpkiDer returns the DER SubjectPublicKeyInfo.
  Bytes SpkiDer() const;
  // UncompressedPoint returns 0x04||x||y.
  Bytes UncompressedPoint() const;

  // Internal: used by other crypto wrappers (X.509) to share the key handle.
  const std::shared_ptr<const internal::PkeyHolder>& holder() const { return key_; }
  static absl::StatusOr<EcdsaPublicKey> FromHolder(std::shared_ptr<const internal::PkeyHolder> h);

 private:
  EcdsaPublicKey(Curve curve, std::shared_ptr<const internal::PkeyHolder> key)
      : curve_(curve), key_(std::move(key)) {}
  Curve curve_;
  std::shared_ptr<const internal::PkeyHolder> key_;
};

// EcdsaPrivateKey holds a private scalar. Move-only; signing is thread-safe.
class EcdsaPrivateKey {
 public:
  // Generate creates a fresh key on `curve`. Internal if the CSPRNG fails.
  static absl::StatusOr<EcdsaPrivateKey> Generate(Curve curve);
  // FromPkcs8Der parses an unencrypted PKCS#8 PrivateKeyInfo holding a P-256/P-384 key.
  static absl::StatusOr<EcdsaPrivateKey> FromPkcs8Der(ByteSpan der);
  // FromPem parses a PEM "PRIVATE KEY" (PKCS#8) or "EC PRIVATE KEY" block.
  static absl::StatusOr<EcdsaPrivateKey> FromPem(std::string_view pem);
  // FromScalar builds a key from the big-endian scalar `d` (CurveFieldLen bytes).
  // InvalidArgument if d is zero or not below the group order.
  static absl::StatusOr<EcdsaPrivateKey> FromScalar(Curve curve, ByteSpan d);

  EcdsaPrivateKey(EcdsaPrivateKey&&) noexcept = default;
  EcdsaPrivateKey& operator=(EcdsaPrivateKey&&) noexcept = default;
  EcdsaPrivateKey(const EcdsaPrivateKey&) = delete;
  EcdsaPrivateKey& operator=(const EcdsaPrivateKey&) = delete;

  Curve curve() const { return curve_; }
  // Sign signs `message` (hashed with CurveHash) with a random nonce.
  absl::StatusOr<Bytes> Sign(ByteSpan message, SignatureFormat format) const;
  // SignDigest signs `digest`, a precomputed CurveHash(curve()) of the message, with a random
  // nonce. InvalidArgument when digest is not DigestLen(CurveHash(curve())) bytes; Internal if
  // OpenSSL or the CSPRNG fails.
  absl::StatusOr<Bytes> SignDigest(ByteSpan digest, SignatureFormat format) const;
  // PublicKey returns the matching public key.
  EcdsaPublicKey PublicKey() const;
  // Pkcs8Der returns the key as unencrypted PKCS#8 DER.
  SecretBytes Pkcs8Der() const;
  // Pem returns the key as a PEM "PRIVATE KEY" block (secret text; never log it).
  SecretBytes Pem() const;

  // Internal: shared key handle for other crypto wrappers (certificate signing).
  const std::shared_ptr<const internal::PkeyHolder>& holder() const { return key_; }

 private:
  EcdsaPrivateKey(Curve curve, std::shared_ptr<const internal::PkeyHolder> key)
      : curve_(curve), key_(std::move(key)) {}
  static absl::StatusOr<EcdsaPrivateKey> FromHolderChecked(
      std::shared_ptr<const internal::PkeyHolder> h);
  Curve curve_;
  std::shared_ptr<const internal::PkeyHolder> key_;
};

// EcdsaRawToDer converts an r||s signature to DER. InvalidArgument on a wrong length.
absl::StatusOr<Bytes> EcdsaRawToDer(Curve curve, ByteSpan raw);
// EcdsaDerToRaw converts a DER signature to r||s. InvalidArgument if it is not strict DER or r/s
// do not fit the curve.
absl::StatusOr<Bytes> EcdsaDerToRaw(Curve curve, ByteSpan der);

}  // namespace confide::crypto

#endif  // CONFIDE_CRYPTO_ECDSA_H_
