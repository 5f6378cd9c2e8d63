#include "kms/key_material.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "crypto/ecdsa.h"
#include "crypto/hmac.h"
#include "crypto/random.h"
#include "crypto/rsa.h"
#include "crypto/sha.h"
#include "kms/errors.h"

namespace confide::kms {
namespace {

absl::Status Validation(std::string_view message) {
  return AwsError(absl::StatusCode::kInvalidArgument, "ValidationException", message);
}
absl::Status Unsupported(std::string_view message) {
  return AwsError(absl::StatusCode::kUnimplemented, "UnsupportedOperationException", message);
}

std::string Join(const std::vector<std::string_view>& values) {
  std::string out;
  for (auto v : values) {
    if (!out.empty()) out += ", ";
    out.append(v.data(), v.size());
  }
  return out;
}

// EnumError is AWS's message for a value outside a model enum (the value is echoed only when it
// is short and printable, so no attacker bytes of any size reach messages or logs).
absl::Status EnumError(std::string_view value, const char* member,
                       const std::vector<std::string_view>& allowed) {
  bool printable = value.size() <= 64;
  for (char c : value) printable = printable && c >= 0x20 && c < 0x7f && c != '\'';
  return Validation(absl::StrCat("1 validation error detected: Value '",
                                 printable ? std::string(value) : std::string("<redacted>"),
                                 "' at '", member,
                                 "' failed to satisfy constraint: Member must satisfy enum value "
                                 "set: [",
                                 Join(allowed), "]"));
}

bool In(std::string_view v, const std::vector<std::string_view>& set) {
  for (auto s : set) {
    if (s == v) return true;
  }
  return false;
}

// The enum orders below are those AWS prints in its messages (recorded in
// shared/testdata/kms/localstack/test_kms.snapshot.json), or the model's where none was recorded.
const std::vector<std::string_view>& KeySpecEnum() {
  static const auto* v = new std::vector<std::string_view>{
      "RSA_2048",          "ECC_NIST_P384", "ECC_NIST_P256",   "ECC_NIST_P521",
      "HMAC_384",          "RSA_3072",      "ECC_SECG_P256K1", "RSA_4096",
      "SYMMETRIC_DEFAULT", "HMAC_256",      "HMAC_224",        "HMAC_512"};
  return *v;
}
const std::vector<std::string_view>& KeyUsageEnum() {
  static const auto* v =
      new std::vector<std::string_view>{"ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC"};
  return *v;
}
const std::vector<std::string_view>& SigningAlgorithmEnum() {
  static const auto* v = new std::vector<std::string_view>{"RSASSA_PSS_SHA_256",
                                                           "RSASSA_PSS_SHA_384",
                                                           "RSASSA_PSS_SHA_512",
                                                           "RSASSA_PKCS1_V1_5_SHA_256",
                                                           "RSASSA_PKCS1_V1_5_SHA_384",
                                                           "RSASSA_PKCS1_V1_5_SHA_512",
                                                           "ECDSA_SHA_256",
                                                           "ECDSA_SHA_384",
                                                           "ECDSA_SHA_512",
                                                           "SM2DSA",
                                                           "ML_DSA_SHAKE_256",
                                                           "ED25519_SHA_512",
                                                           "ED25519_PH_SHA_512"};
  return *v;
}
const std::vector<std::string_view>& MessageTypeEnum() {
  static const auto* v = new std::vector<std::string_view>{"RAW", "DIGEST", "EXTERNAL_MU"};
  return *v;
}
const std::vector<std::string_view>& DataKeyPairSpecEnum() {
  static const auto* v = new std::vector<std::string_view>{
      "RSA_2048",      "RSA_3072",        "RSA_4096", "ECC_NIST_P256",        "ECC_NIST_P384",
      "ECC_NIST_P521", "ECC_SECG_P256K1", "SM2",      "ECC_NIST_EDWARDS25519"};
  return *v;
}

int RsaBits(std::string_view spec) {
  if (spec == "RSA_2048") return 2048;
  if (spec == "RSA_3072") return 3072;
  if (spec == "RSA_4096") return 4096;
  return 0;
}
std::optional<crypto::Curve> EccCurve(std::string_view spec) {
  if (spec == "ECC_NIST_P256") return crypto::Curve::kP256;
  if (spec == "ECC_NIST_P384") return crypto::Curve::kP384;
  return std::nullopt;
}

const std::vector<std::string_view>& MacAlgorithmEnum() {
  static const auto* v = new std::vector<std::string_view>{"HMAC_SHA_384", "HMAC_SHA_256",
                                                           "HMAC_SHA_224", "HMAC_SHA_512"};
  return *v;
}

// HmacHash returns the hash of an implemented HMAC key spec (HMAC_224 needs SHA-224, which
// confide::crypto does not offer).
std::optional<crypto::HashAlg> HmacHash(std::string_view spec) {
  if (spec == "HMAC_256") return crypto::HashAlg::kSha256;
  if (spec == "HMAC_384") return crypto::HashAlg::kSha384;
  if (spec == "HMAC_512") return crypto::HashAlg::kSha512;
  return std::nullopt;
}

absl::Status CorruptMaterial() {
  // The material was written by GenerateKeyMaterial and sealed under the root key; if it does
  // not parse the store is damaged. No detail reaches the client.
  return absl::InternalError("stored asymmetric key material does not parse");
}

// Algorithm is a parsed signing algorithm name.
struct Algorithm {
  bool rsa = false;
  crypto::RsaSignaturePadding padding = crypto::RsaSignaturePadding::kPkcs1v15;
  crypto::HashAlg hash = crypto::HashAlg::kSha256;
};

std::optional<Algorithm> ParseAlgorithm(std::string_view name) {
  static const struct {
    const char* name;
    Algorithm alg;
  } kTable[] = {
      {"RSASSA_PSS_SHA_256", {true, crypto::RsaSignaturePadding::kPss, crypto::HashAlg::kSha256}},
      {"RSASSA_PSS_SHA_384", {true, crypto::RsaSignaturePadding::kPss, crypto::HashAlg::kSha384}},
      {"RSASSA_PSS_SHA_512", {true, crypto::RsaSignaturePadding::kPss, crypto::HashAlg::kSha512}},
      {"RSASSA_PKCS1_V1_5_SHA_256",
       {true, crypto::RsaSignaturePadding::kPkcs1v15, crypto::HashAlg::kSha256}},
      {"RSASSA_PKCS1_V1_5_SHA_384",
       {true, crypto::RsaSignaturePadding::kPkcs1v15, crypto::HashAlg::kSha384}},
      {"RSASSA_PKCS1_V1_5_SHA_512",
       {true, crypto::RsaSignaturePadding::kPkcs1v15, crypto::HashAlg::kSha512}},
      {"ECDSA_SHA_256", {false, crypto::RsaSignaturePadding::kPkcs1v15, crypto::HashAlg::kSha256}},
      {"ECDSA_SHA_384", {false, crypto::RsaSignaturePadding::kPkcs1v15, crypto::HashAlg::kSha384}},
  };
  for (const auto& e : kTable) {
    if (name == e.name) return e.alg;
  }
  return std::nullopt;
}

absl::Status CheckDigestLength(const SignatureRequest& request, ByteSpan message) {
  auto alg = ParseAlgorithm(request.algorithm);
  if (request.digest && alg && message.size() != crypto::DigestLen(alg->hash)) {
    return Validation(
        absl::StrCat("Digest is invalid length for algorithm ", request.algorithm, "."));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<KeySpecAndUsage> ResolveKeySpecAndUsage(const std::optional<std::string>& key_spec,
                                                       const std::optional<std::string>& usage) {
  const std::string spec = key_spec.value_or(kSymmetricDefault);
  if (!In(spec, KeySpecEnum())) return EnumError(spec, "keySpec", KeySpecEnum());
  if (usage && !In(*usage, KeyUsageEnum()) && *usage != "KEY_AGREEMENT") {
    return EnumError(*usage, "keyUsage", KeyUsageEnum());
  }
  if (!usage && spec != kSymmetricDefault) {
    return Validation(
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption "
        "keys.");
  }
  const std::string use = usage.value_or(kUsageEncryptDecrypt);
  // AWS's pairs: SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT; RSA_*/{ENCRYPT_DECRYPT, SIGN_VERIFY};
  // ECC_*/{SIGN_VERIFY, KEY_AGREEMENT (not P256K1)}; HMAC_*/GENERATE_VERIFY_MAC.
  const bool rsa = RsaBits(spec) != 0;
  const bool ecc = spec.rfind("ECC_", 0) == 0;
  const bool hmac = spec.rfind("HMAC_", 0) == 0;
  bool allowed = false;
  if (spec == kSymmetricDefault) allowed = use == kUsageEncryptDecrypt;
  if (rsa) allowed = use == kUsageEncryptDecrypt || use == kUsageSignVerify;
  if (ecc) {
    allowed = use == kUsageSignVerify || (use == "KEY_AGREEMENT" && spec != "ECC_SECG_P256K1");
  }
  if (hmac) allowed = use == kUsageGenerateVerifyMac;
  if (!allowed) {
    return Validation(absl::StrCat("KeyUsage ", use, " is not compatible with KeySpec ", spec));
  }
  const bool implemented = spec == kSymmetricDefault || (rsa && use == kUsageSignVerify) ||
                           (EccCurve(spec).has_value() && use == kUsageSignVerify) ||
                           (HmacHash(spec).has_value() && use == kUsageGenerateVerifyMac);
  if (!implemented) {
    return Unsupported(absl::StrCat("KeySpec ", spec, " with KeyUsage ", use,
                                    " is not supported by this server."));
  }
  return KeySpecAndUsage{spec, use};
}

bool IsSymmetricEncryptionKey(std::string_view key_spec, std::string_view key_usage) {
  return key_spec == kSymmetricDefault && key_usage == kUsageEncryptDecrypt;
}

bool IsAsymmetricKeySpec(std::string_view key_spec) {
  return RsaBits(key_spec) != 0 || key_spec.rfind("ECC_", 0) == 0;
}

bool IsHmacKeySpec(std::string_view key_spec) { return key_spec.rfind("HMAC_", 0) == 0; }

std::vector<std::string> MacAlgorithmsFor(std::string_view key_spec, std::string_view key_usage) {
  if (key_usage != kUsageGenerateVerifyMac || !IsHmacKeySpec(key_spec)) return {};
  return {absl::StrCat("HMAC_SHA_", std::string(key_spec.substr(5)))};
}

std::vector<std::string> EncryptionAlgorithmsFor(std::string_view key_spec,
                                                 std::string_view key_usage) {
  if (key_usage != kUsageEncryptDecrypt) return {};
  if (key_spec == kSymmetricDefault) return {"SYMMETRIC_DEFAULT"};
  if (RsaBits(key_spec) != 0) return {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"};
  return {};
}

std::vector<std::string> SigningAlgorithmsFor(std::string_view key_spec,
                                              std::string_view key_usage) {
  if (key_usage != kUsageSignVerify) return {};
  if (RsaBits(key_spec) != 0) {
    return {"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
            "RSASSA_PSS_SHA_256",        "RSASSA_PSS_SHA_384",        "RSASSA_PSS_SHA_512"};
  }
  if (key_spec == "ECC_NIST_P256" || key_spec == "ECC_SECG_P256K1") return {"ECDSA_SHA_256"};
  if (key_spec == "ECC_NIST_P384") return {"ECDSA_SHA_384"};
  if (key_spec == "ECC_NIST_P521") return {"ECDSA_SHA_512"};
  return {};
}

absl::StatusOr<SecretBytes> GenerateKeyMaterial(std::string_view key_spec) {
  if (key_spec == kSymmetricDefault) return crypto::RandomSecret(32);
  if (int bits = RsaBits(key_spec); bits != 0) {
    ASSIGN_OR_RETURN(crypto::RsaPrivateKey key, crypto::RsaPrivateKey::Generate(bits));
    return key.Pkcs8Der();
  }
  if (auto curve = EccCurve(key_spec)) {
    ASSIGN_OR_RETURN(crypto::EcdsaPrivateKey key, crypto::EcdsaPrivateKey::Generate(*curve));
    return key.Pkcs8Der();
  }
  if (auto hash = HmacHash(key_spec)) {
    // AWS's HMAC key lengths equal the hash length (HMAC_256: 256 bits).
    return crypto::RandomSecret(crypto::DigestLen(*hash));
  }
  return absl::InvalidArgumentError("key spec has no material generator");
}

absl::StatusOr<Bytes> PublicKeyOf(std::string_view key_spec, const SecretBytes& material) {
  if (int bits = RsaBits(key_spec); bits != 0) {
    auto key = crypto::RsaPrivateKey::FromPkcs8Der(material.ExposeSecret());
    if (!key.ok() || key->ModulusBits() != bits) return CorruptMaterial();
    return key->PublicKey().SpkiDer();
  }
  if (auto curve = EccCurve(key_spec)) {
    auto key = crypto::EcdsaPrivateKey::FromPkcs8Der(material.ExposeSecret());
    if (!key.ok() || key->curve() != *curve) return CorruptMaterial();
    return key->PublicKey().SpkiDer();
  }
  return absl::InternalError("key spec has no public key");
}

absl::StatusOr<SignatureRequest> CheckSigningAlgorithm(
    std::string_view key_spec, const std::optional<std::string>& algorithm,
    const std::optional<std::string>& message_type) {
  if (!algorithm || algorithm->empty()) return Validation("SigningAlgorithm is required.");
  if (!In(*algorithm, SigningAlgorithmEnum())) {
    return EnumError(*algorithm, "signingAlgorithm", SigningAlgorithmEnum());
  }
  const std::string type = message_type.value_or("RAW");
  if (!In(type, MessageTypeEnum())) return EnumError(type, "messageType", MessageTypeEnum());
  bool compatible = false;
  for (const std::string& a : SigningAlgorithmsFor(key_spec, kUsageSignVerify)) {
    compatible = compatible || a == *algorithm;
  }
  if (!compatible || !ParseAlgorithm(*algorithm)) {
    return AwsError(absl::StatusCode::kInvalidArgument, "InvalidKeyUsageException",
                    absl::StrCat("Algorithm ", *algorithm, " is incompatible with key spec ",
                                 std::string(key_spec), "."));
  }
  if (type == "EXTERNAL_MU") {
    return AwsError(absl::StatusCode::kInvalidArgument, "InvalidKeyUsageException",
                    absl::StrCat("MessageType EXTERNAL_MU is incompatible with key spec ",
                                 std::string(key_spec), "."));
  }
  return SignatureRequest{*algorithm, type == "DIGEST"};
}

absl::StatusOr<Bytes> SignWith(std::string_view key_spec, const SecretBytes& material,
                               const SignatureRequest& request, ByteSpan message) {
  RETURN_IF_ERROR(CheckDigestLength(request, message));
  auto alg = ParseAlgorithm(request.algorithm);
  if (!alg) return absl::InternalError("unchecked signing algorithm");
  if (alg->rsa) {
    auto key = crypto::RsaPrivateKey::FromPkcs8Der(material.ExposeSecret());
    if (!key.ok() || key->ModulusBits() != RsaBits(key_spec)) return CorruptMaterial();
    return request.digest ? key->SignDigest(alg->padding, alg->hash, message)
                          : key->Sign(alg->padding, alg->hash, message);
  }
  auto curve = EccCurve(key_spec);
  auto key = crypto::EcdsaPrivateKey::FromPkcs8Der(material.ExposeSecret());
  if (!curve || !key.ok() || key->curve() != *curve) return CorruptMaterial();
  //= https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
  //# When used with the supported ECDSA signing algorithms, the Signature is DER-encoded
  //# (ASN.1 ECDSA-Sig-Value).
  return request.digest ? key->SignDigest(message, crypto::SignatureFormat::kDer)
                        : key->Sign(message, crypto::SignatureFormat::kDer);
}

absl::Status VerifyWith(std::string_view key_spec, const SecretBytes& material,
                        const SignatureRequest& request, ByteSpan message, ByteSpan signature) {
  RETURN_IF_ERROR(CheckDigestLength(request, message));
  auto alg = ParseAlgorithm(request.algorithm);
  if (!alg) return absl::InternalError("unchecked signing algorithm");
  absl::Status verified;
  if (alg->rsa) {
    auto key = crypto::RsaPrivateKey::FromPkcs8Der(material.ExposeSecret());
    if (!key.ok() || key->ModulusBits() != RsaBits(key_spec)) return CorruptMaterial();
    const crypto::RsaPublicKey pub = key->PublicKey();
    verified = request.digest ? pub.VerifyDigest(alg->padding, alg->hash, message, signature)
                              : pub.Verify(alg->padding, alg->hash, message, signature);
  } else {
    auto curve = EccCurve(key_spec);
    auto key = crypto::EcdsaPrivateKey::FromPkcs8Der(material.ExposeSecret());
    if (!curve || !key.ok() || key->curve() != *curve) return CorruptMaterial();
    const crypto::EcdsaPublicKey pub = key->PublicKey();
    verified = request.digest ? pub.VerifyDigest(message, signature, crypto::SignatureFormat::kDer)
                              : pub.Verify(message, signature, crypto::SignatureFormat::kDer);
  }
  if (verified.code() == absl::StatusCode::kUnauthenticated) {
    return AwsError(absl::StatusCode::kInvalidArgument, "KMSInvalidSignatureException", "");
  }
  return verified;
}

absl::StatusOr<std::string> CheckMacAlgorithm(std::string_view key_spec,
                                              const std::optional<std::string>& algorithm) {
  if (!algorithm || algorithm->empty()) return Validation("MacAlgorithm is required.");
  if (!In(*algorithm, MacAlgorithmEnum())) {
    return EnumError(*algorithm, "macAlgorithm", MacAlgorithmEnum());
  }
  const auto allowed = MacAlgorithmsFor(key_spec, kUsageGenerateVerifyMac);
  if (allowed.empty() || allowed[0] != *algorithm) {
    return AwsError(absl::StatusCode::kInvalidArgument, "InvalidKeyUsageException",
                    absl::StrCat("Algorithm ", *algorithm, " is incompatible with key spec ",
                                 std::string(key_spec), "."));
  }
  return *algorithm;
}

absl::StatusOr<Bytes> GenerateMacWith(std::string_view key_spec, const SecretBytes& material,
                                      ByteSpan message) {
  auto hash = HmacHash(key_spec);
  if (!hash || material.size() != crypto::DigestLen(*hash)) return CorruptMaterial();
  //= https://www.rfc-editor.org/rfc/rfc2104#section-2
  //# H(K XOR opad, H(K XOR ipad, text))
  return crypto::Hmac(*hash, material.ExposeSecret(), message);
}

absl::Status VerifyMacWith(std::string_view key_spec, const SecretBytes& material, ByteSpan message,
                           ByteSpan mac) {
  auto hash = HmacHash(key_spec);
  if (!hash || material.size() != crypto::DigestLen(*hash)) return CorruptMaterial();
  if (!crypto::HmacVerify(*hash, material.ExposeSecret(), message, mac).ok()) {
    return AwsError(absl::StatusCode::kInvalidArgument, "KMSInvalidMacException", "");
  }
  return absl::OkStatus();
}

absl::StatusOr<DataKeyPair> GenerateDataKeyPairMaterial(
    const std::optional<std::string>& key_pair_spec) {
  if (!key_pair_spec || key_pair_spec->empty()) return Validation("KeyPairSpec is required.");
  const std::string& spec = *key_pair_spec;
  if (!In(spec, DataKeyPairSpecEnum())) {
    return EnumError(spec, "keyPairSpec", DataKeyPairSpecEnum());
  }
  DataKeyPair out;
  if (int bits = RsaBits(spec); bits != 0) {
    ASSIGN_OR_RETURN(crypto::RsaPrivateKey key, crypto::RsaPrivateKey::Generate(bits));
    out.private_key_pkcs8 = key.Pkcs8Der();
    out.public_key_spki = key.PublicKey().SpkiDer();
    return out;
  }
  if (auto curve = EccCurve(spec)) {
    ASSIGN_OR_RETURN(crypto::EcdsaPrivateKey key, crypto::EcdsaPrivateKey::Generate(*curve));
    out.private_key_pkcs8 = key.Pkcs8Der();
    out.public_key_spki = key.PublicKey().SpkiDer();
    return out;
  }
  return Unsupported(absl::StrCat("KeyPairSpec ", spec, " is not supported by this server."));
}

}  // namespace confide::kms
