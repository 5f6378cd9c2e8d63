// confide::kms key specs: which KeySpec / KeyUsage pairs a KMS key may have, the algorithms each
// offers (as DescribeKey and GetPublicKey list them), the key material the key store holds for
// each, and the operations over that material (Sign, Verify, GetPublicKey, data key pairs).
//
// Key material per KeySpec, stored as backing-key version 1 and sealed under the store's root key
// exactly like a symmetric key's bytes (key_store.h), so no schema change was needed:
//   SYMMETRIC_DEFAULT                      32 random bytes (AES-256-GCM, ciphertext_blob.h)
//   RSA_2048 / RSA_3072 / RSA_4096         the private key, unencrypted PKCS#8 DER
//   ECC_NIST_P256 / ECC_NIST_P384          the private key, unencrypted PKCS#8 DER
//   HMAC_256 / HMAC_384 / HMAC_512         32 / 48 / 64 random bytes (the HMAC key)
// Asymmetric and HMAC keys have a single version: this server does not rotate them.
//
// Errors carry AWS's error names and messages (errors.h); none carries key material or the
// caller's message bytes.
#ifndef CONFIDE_KMS_KEY_MATERIAL_H_
#define CONFIDE_KMS_KEY_MATERIAL_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/bytes.h"
#include "base/secret_bytes.h"

namespace confide::kms {

inline constexpr char kSymmetricDefault[] = "SYMMETRIC_DEFAULT";
inline constexpr char kUsageEncryptDecrypt[] = "ENCRYPT_DECRYPT";
inline constexpr char kUsageSignVerify[] = "SIGN_VERIFY";
inline constexpr char kUsageGenerateVerifyMac[] = "GENERATE_VERIFY_MAC";
// kMaxSignMessageLen is AWS's limit on Sign/Verify's Message (RAW or DIGEST).
inline constexpr size_t kMaxSignMessageLen = 4096;
// kMaxSignatureLen is AWS's limit on Verify's Signature.
inline constexpr size_t kMaxSignatureLen = 6144;

// KeySpecAndUsage is a validated pair.
struct KeySpecAndUsage {
  std::string key_spec;
  std::string key_usage;
};

// ResolveKeySpecAndUsage validates CreateKey's KeySpec (or CustomerMasterKeySpec) and KeyUsage,
// either of which may be absent (KeySpec defaults to SYMMETRIC_DEFAULT; KeyUsage to
// ENCRYPT_DECRYPT, for a symmetric key only). ValidationException (AWS's messages) for a value
// outside AWS's enums, a missing KeyUsage on a non-symmetric key, or a pair AWS does not allow
// ("KeyUsage X is not compatible with KeySpec Y"); UnsupportedOperationException for a pair AWS
// allows that this server does not implement (ECC_NIST_P521, ECC_SECG_P256K1, HMAC_224, RSA
// encryption, ECC key agreement).
absl::StatusOr<KeySpecAndUsage> ResolveKeySpecAndUsage(const std::optional<std::string>& key_spec,
                                                       const std::optional<std::string>& usage);

// IsSymmetricEncryptionKey returns true for SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT keys, the only
// keys whose material is an AES key (Encrypt, Decrypt, GenerateDataKey*, ReEncrypt, rotation).
bool IsSymmetricEncryptionKey(std::string_view key_spec, std::string_view key_usage);
// IsAsymmetricKeySpec returns true for the RSA_* and ECC_* specs.
bool IsAsymmetricKeySpec(std::string_view key_spec);
// IsHmacKeySpec returns true for the HMAC_* specs.
bool IsHmacKeySpec(std::string_view key_spec);

// EncryptionAlgorithmsFor, SigningAlgorithmsFor return the algorithms DescribeKey and
// GetPublicKey list for a key (empty when the key offers none of that kind), in AWS's order.
std::vector<std::string> EncryptionAlgorithmsFor(std::string_view key_spec,
                                                 std::string_view key_usage);
std::vector<std::string> SigningAlgorithmsFor(std::string_view key_spec,
                                              std::string_view key_usage);
// MacAlgorithmsFor returns the one MAC algorithm of an HMAC key (e.g. HMAC_SHA_256), else empty.
std::vector<std::string> MacAlgorithmsFor(std::string_view key_spec, std::string_view key_usage);

// GenerateKeyMaterial returns fresh material for a validated `key_spec` (see the table above).
// Internal if generation fails; InvalidArgument for a spec ResolveKeySpecAndUsage rejects.
absl::StatusOr<SecretBytes> GenerateKeyMaterial(std::string_view key_spec);

// PublicKeyOf returns the DER SubjectPublicKeyInfo of an asymmetric key's `material`.
// Internal (KMSInternalException) when the stored material does not parse as `key_spec`.
absl::StatusOr<Bytes> PublicKeyOf(std::string_view key_spec, const SecretBytes& material);

// SignatureRequest is a validated Sign/Verify request.
struct SignatureRequest {
  std::string algorithm;  // e.g. "RSASSA_PSS_SHA_256"
  bool digest = false;    // MessageType DIGEST: `message` is the hash, not the message
};

// CheckSigningAlgorithm validates `algorithm` (required) and `message_type` (RAW when absent)
// against AWS's enums (ValidationException) and the key's spec (InvalidKeyUsageException,
// "Algorithm X is incompatible with key spec Y."; EXTERNAL_MU is for ML-DSA keys only).
absl::StatusOr<SignatureRequest> CheckSigningAlgorithm(
    std::string_view key_spec, const std::optional<std::string>& algorithm,
    const std::optional<std::string>& message_type);

// SignWith signs `message` (1..kMaxSignMessageLen bytes, checked by the caller) with the key
// `material` of `key_spec`. ValidationException "Digest is invalid length for algorithm X." when
// a DIGEST message is not the hash's length; Internal if the material does not parse or signing
// fails. ECDSA signatures are DER (ASN.1 ECDSA-Sig-Value), RSA ones modulus-length, as AWS's.
absl::StatusOr<Bytes> SignWith(std::string_view key_spec, const SecretBytes& material,
                               const SignatureRequest& request, ByteSpan message);

// VerifyWith checks `signature` over `message` as SignWith made it. OK when valid;
// KMSInvalidSignatureException (empty message, as AWS) when not; the digest-length
// ValidationException as SignWith.
absl::Status VerifyWith(std::string_view key_spec, const SecretBytes& material,
                        const SignatureRequest& request, ByteSpan message, ByteSpan signature);

// CheckMacAlgorithm validates GenerateMac/VerifyMac's MacAlgorithm (required) against AWS's enum
// (ValidationException) and the key's spec (InvalidKeyUsageException "Algorithm X is
// incompatible with key spec Y."). Returns the algorithm.
absl::StatusOr<std::string> CheckMacAlgorithm(std::string_view key_spec,
                                              const std::optional<std::string>& algorithm);

// GenerateMacWith returns HMAC(material, message) with the hash of `key_spec` (RFC 2104).
// Internal if the material has the wrong length for the spec.
absl::StatusOr<Bytes> GenerateMacWith(std::string_view key_spec, const SecretBytes& material,
                                      ByteSpan message);

// VerifyMacWith compares `mac` with HMAC(material, message) in constant time. OK when equal;
// KMSInvalidMacException (empty message, as AWS) otherwise, including a wrong-length mac.
absl::Status VerifyMacWith(std::string_view key_spec, const SecretBytes& material, ByteSpan message,
                           ByteSpan mac);

// DataKeyPair is what GenerateDataKeyPair hands out.
struct DataKeyPair {
  SecretBytes private_key_pkcs8;  // unencrypted PKCS#8 DER
  Bytes public_key_spki;          // DER SubjectPublicKeyInfo
};

// GenerateDataKeyPairMaterial creates a key pair of `key_pair_spec` (required).
// ValidationException for a value outside AWS's DataKeyPairSpec enum;
// UnsupportedOperationException for ECC_NIST_P521, ECC_SECG_P256K1, SM2, ECC_NIST_EDWARDS25519;
// Internal if generation fails.
absl::StatusOr<DataKeyPair> GenerateDataKeyPairMaterial(
    const std::optional<std::string>& key_pair_spec);

}  // namespace confide::kms

#endif  // CONFIDE_KMS_KEY_MATERIAL_H_
