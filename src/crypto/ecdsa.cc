#include "crypto/ecdsa.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>
#include <string>

#include "crypto/internal/openssl_util.h"
#include "crypto/internal/pkey.h"

namespace confide::crypto {
namespace {

using internal::BignumPtr;
using internal::BnCtxPtr;
using internal::ClearErrors;
using internal::Error;
using internal::PkeyHolder;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

int CurveNid(Curve curve) { return curve == Curve::kP256 ? NID_X9_62_prime256v1 : NID_secp384r1; }
const char* CurveGroupName(Curve curve) {
  return curve == Curve::kP256 ? "prime256v1" : "secp384r1";
}

using internal::BioPtr;
using EcGroupPtr = std::unique_ptr<EC_GROUP, internal::Deleter<EC_GROUP_free>>;
using EcPointPtr = std::unique_ptr<EC_POINT, internal::Deleter<EC_POINT_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, internal::Deleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, internal::Deleter<OSSL_PARAM_free>>;

// CurveOf returns the curve of an EC key, rejecting anything but named P-256/P-384.
absl::StatusOr<Curve> CurveOf(EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
    return Error(kInvalid, "key is not an EC key");
  }
  char name[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) !=
      1) {
    return Error(kInvalid, "EC key has no named curve (explicit parameters are not accepted)");
  }
  std::string_view n(name, len);
  if (n == "prime256v1" || n == "P-256") return Curve::kP256;
  if (n == "secp384r1" || n == "P-384") return Curve::kP384;
  return Error(kInvalid, "EC key is not on P-256 or P-384");
}

BignumPtr Bn(ByteSpan b) {
  return BignumPtr(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
}

}  // namespace

const char* CurveName(Curve curve) { return curve == Curve::kP256 ? "P-256" : "P-384"; }
HashAlg CurveHash(Curve curve) {
  return curve == Curve::kP256 ? HashAlg::kSha256 : HashAlg::kSha384;
}
size_t CurveFieldLen(Curve curve) { return curve == Curve::kP256 ? 32 : 48; }

absl::StatusOr<Bytes> EcdsaRawToDer(Curve curve, ByteSpan raw) {
  const size_t n = CurveFieldLen(curve);
  if (raw.size() != 2 * n) {
    return absl::InvalidArgumentError("raw ECDSA signature has the wrong length");
  }
  internal::EcdsaSigPtr sig(ECDSA_SIG_new());
  BignumPtr r = Bn(raw.first(n));
  BignumPtr s = Bn(raw.subspan(n));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return Error(absl::StatusCode::kInternal, "ECDSA_SIG allocation failed");
  }
  r.release();  // owned by sig now
  s.release();
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return Error(absl::StatusCode::kInternal, "ECDSA_SIG encoding failed");
  Bytes der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) {
    return Error(absl::StatusCode::kInternal, "ECDSA_SIG encoding failed");
  }
  return der;
}

absl::StatusOr<Bytes> EcdsaDerToRaw(Curve curve, ByteSpan der) {
  const uint8_t* p = der.data();
  internal::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != der.data() + der.size()) {
    return Error(kInvalid, "ECDSA signature is not valid DER");
  }
  // Strict DER: re-encoding must give back the input.
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  Bytes again(len > 0 ? static_cast<size_t>(len) : 0);
  uint8_t* q = again.data();
  if (len <= 0 || i2d_ECDSA_SIG(sig.get(), &q) != len || again.size() != der.size() ||
      std::memcmp(again.data(), der.data(), der.size()) != 0) {
    return Error(kInvalid, "ECDSA signature is not strict DER");
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  const size_t n = CurveFieldLen(curve);
  Bytes raw(2 * n);
  if (BN_bn2binpad(r, raw.data(), static_cast<int>(n)) < 0 ||
      BN_bn2binpad(s, raw.data() + n, static_cast<int>(n)) < 0) {
    return Error(kInvalid, "ECDSA signature values are too large for the curve");
  }
  return raw;
}

absl::StatusOr<EcdsaPublicKey> EcdsaPublicKey::FromHolder(std::shared_ptr<const PkeyHolder> h) {
  ASSIGN_OR_RETURN(Curve curve, CurveOf(h->get()));
  return EcdsaPublicKey(curve, std::move(h));
}

absl::StatusOr<EcdsaPublicKey> EcdsaPublicKey::FromSpkiDer(ByteSpan der) {
  const uint8_t* p = der.data();
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (raw == nullptr || p != der.data() + der.size()) {
    EVP_PKEY_free(raw);
    return Error(kInvalid, "public key is not a valid DER SubjectPublicKeyInfo");
  }
  return FromHolder(std::make_shared<const PkeyHolder>(raw));
}

absl::StatusOr<EcdsaPublicKey> EcdsaPublicKey::FromPem(std::string_view pem) {
  BioPtr bio = internal::ReadOnlyMemBio(pem);
  EVP_PKEY* raw = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (raw == nullptr) {
    return Error(kInvalid, "not a PEM PUBLIC KEY");
  }
  return FromHolder(std::make_shared<const PkeyHolder>(raw));
}

absl::StatusOr<EcdsaPublicKey> EcdsaPublicKey::FromUncompressedPoint(Curve curve, ByteSpan point) {
  const size_t n = CurveFieldLen(curve);
  if (point.size() != 1 + 2 * n || point[0] != 0x04) {
    return absl::InvalidArgumentError("EC point is not an uncompressed point of the curve size");
  }
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, CurveGroupName(curve),
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Error(absl::StatusCode::kInternal, "OSSL_PARAM build failed");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Error(kInvalid, "EC point is not on the curve");
  }
  auto holder = std::make_shared<const PkeyHolder>(raw);
  // fromdata decodes the point; make sure it is really on the curve.
  internal::EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, raw, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return Error(kInvalid, "EC point is not on the curve");
  }
  return EcdsaPublicKey(curve, std::move(holder));
}

namespace {
// SignatureDer returns `signature` as DER (converting raw r||s); Unauthenticated when a raw
// signature has the wrong length for `curve`.
absl::StatusOr<Bytes> SignatureDer(Curve curve, ByteSpan signature, SignatureFormat format) {
  if (format != SignatureFormat::kRaw) return Bytes(signature.begin(), signature.end());
  auto converted = EcdsaRawToDer(curve, signature);
  if (!converted.ok()) return absl::UnauthenticatedError("ECDSA signature invalid: wrong length");
  return converted;
}
}  // namespace

absl::Status EcdsaPublicKey::Verify(ByteSpan message, ByteSpan signature,
                                    SignatureFormat format) const {
  auto der_or = SignatureDer(curve_, signature, format);
  if (!der_or.ok()) return der_or.status();
  ByteSpan der = *der_or;
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, internal::Md(CurveHash(curve_)), nullptr,
                                   key_->get()) != 1) {
    return Error(absl::StatusCode::kInternal, "ECDSA verify setup failed");
  }
  int rc = EVP_DigestVerify(ctx.get(), der.data(), der.size(), message.data(), message.size());
  ClearErrors();
  if (rc != 1) {
    return absl::UnauthenticatedError("ECDSA signature invalid");
  }
  return absl::OkStatus();
}

absl::Status EcdsaPublicKey::VerifyDigest(ByteSpan digest, ByteSpan signature,
                                          SignatureFormat format) const {
  if (digest.size() != DigestLen(CurveHash(curve_))) {
    return absl::InvalidArgumentError("digest length does not match the curve's hash");
  }
  auto der_or = SignatureDer(curve_, signature, format);
  if (!der_or.ok()) return der_or.status();
  ByteSpan der = *der_or;
  // Strict DER only (OpenSSL's ECDSA verify also re-encodes and compares; checked here too so the
  // rule does not depend on the OpenSSL version): a BER variant is not the same signature.
  if (!EcdsaDerToRaw(curve_, der).ok()) {
    return absl::UnauthenticatedError("ECDSA signature invalid");
  }
  internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_->get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) {
    return Error(absl::StatusCode::kInternal, "ECDSA verify setup failed");
  }
  int rc = EVP_PKEY_verify(ctx.get(), der.data(), der.size(), digest.data(), digest.size());
  ClearErrors();
  if (rc != 1) {
    return absl::UnauthenticatedError("ECDSA signature invalid");
  }
  return absl::OkStatus();
}

Bytes EcdsaPublicKey::SpkiDer() const { return internal::SpkiDerOf(key_->get()); }

Bytes EcdsaPublicKey::UncompressedPoint() const {
  Bytes out(1 + 2 * CurveFieldLen(curve_));
  size_t len = 0;
  internal::CheckOk(EVP_PKEY_get_octet_string_param(key_->get(), OSSL_PKEY_PARAM_PUB_KEY,
                                                    out.data(), out.size(), &len),
                    "get pub key");
  out.resize(len);
  return out;
}

absl::StatusOr<EcdsaPrivateKey> EcdsaPrivateKey::FromHolderChecked(
    std::shared_ptr<const PkeyHolder> h) {
  ASSIGN_OR_RETURN(Curve curve, CurveOf(h->get()));
  return EcdsaPrivateKey(curve, std::move(h));
}

absl::StatusOr<EcdsaPrivateKey> EcdsaPrivateKey::Generate(Curve curve) {
  EVP_PKEY* raw = EVP_EC_gen(CurveGroupName(curve));
  if (raw == nullptr) {
    return Error(absl::StatusCode::kInternal, "EC key generation failed");
  }
  return EcdsaPrivateKey(curve, std::make_shared<const PkeyHolder>(raw));
}

absl::StatusOr<EcdsaPrivateKey> EcdsaPrivateKey::FromPkcs8Der(ByteSpan der) {
  const uint8_t* p = der.data();
  EVP_PKEY* raw = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size()));
  if (raw == nullptr || p != der.data() + der.size()) {
    EVP_PKEY_free(raw);
    return Error(kInvalid, "private key is not valid PKCS#8 DER");
  }
  return FromHolderChecked(std::make_shared<const PkeyHolder>(raw));
}

absl::StatusOr<EcdsaPrivateKey> EcdsaPrivateKey::FromPem(std::string_view pem) {
  BioPtr bio = internal::ReadOnlyMemBio(pem);
  EVP_PKEY* raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (raw == nullptr) {
    return Error(kInvalid, "not a PEM private key");
  }
  return FromHolderChecked(std::make_shared<const PkeyHolder>(raw));
}

absl::StatusOr<EcdsaPrivateKey> EcdsaPrivateKey::FromScalar(Curve curve, ByteSpan d) {
  if (d.size() != CurveFieldLen(curve)) {
    return absl::InvalidArgumentError("EC private scalar has the wrong length");
  }
  EcGroupPtr group(EC_GROUP_new_by_curve_name(CurveNid(curve)));
  BignumPtr priv = Bn(d);
  BnCtxPtr bn_ctx(BN_CTX_new());
  if (!group || !priv || !bn_ctx) {
    return Error(absl::StatusCode::kInternal, "allocation failed");
  }
  if (BN_is_zero(priv.get()) || BN_cmp(priv.get(), EC_GROUP_get0_order(group.get())) >= 0) {
    return absl::InvalidArgumentError("EC private scalar is out of range");
  }
  EcPointPtr pub(EC_POINT_new(group.get()));
  if (!pub ||
      EC_POINT_mul(group.get(), pub.get(), priv.get(), nullptr, nullptr, bn_ctx.get()) != 1) {
    return Error(absl::StatusCode::kInternal, "EC point multiplication failed");
  }
  Bytes pub_bytes(1 + 2 * CurveFieldLen(curve));
  if (EC_POINT_point2oct(group.get(), pub.get(), POINT_CONVERSION_UNCOMPRESSED, pub_bytes.data(),
                         pub_bytes.size(), bn_ctx.get()) != pub_bytes.size()) {
    return Error(absl::StatusCode::kInternal, "EC point encoding failed");
  }
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, CurveGroupName(curve),
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub_bytes.data(),
                                       pub_bytes.size()) != 1) {
    return Error(absl::StatusCode::kInternal, "OSSL_PARAM build failed");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) != 1) {
    return Error(kInvalid, "EC private key import failed");
  }
  BN_clear(priv.get());
  return EcdsaPrivateKey(curve, std::make_shared<const PkeyHolder>(raw));
}

absl::StatusOr<Bytes> EcdsaPrivateKey::Sign(ByteSpan message, SignatureFormat format) const {
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, internal::Md(CurveHash(curve_)), nullptr,
                                 key_->get()) != 1) {
    return Error(absl::StatusCode::kInternal, "ECDSA sign setup failed");
  }
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1) {
    return Error(absl::StatusCode::kInternal, "ECDSA sign failed");
  }
  Bytes der(len);
  if (EVP_DigestSign(ctx.get(), der.data(), &len, message.data(), message.size()) != 1) {
    return Error(absl::StatusCode::kInternal, "ECDSA sign failed");
  }
  der.resize(len);
  if (format == SignatureFormat::kDer) return der;
  return EcdsaDerToRaw(curve_, der);
}

absl::StatusOr<Bytes> EcdsaPrivateKey::SignDigest(ByteSpan digest, SignatureFormat format) const {
  if (digest.size() != DigestLen(CurveHash(curve_))) {
    return absl::InvalidArgumentError("digest length does not match the curve's hash");
  }
  internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_->get(), nullptr));
  size_t len = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) != 1) {
    return Error(absl::StatusCode::kInternal, "ECDSA sign setup failed");
  }
  Bytes der(len);
  if (EVP_PKEY_sign(ctx.get(), der.data(), &len, digest.data(), digest.size()) != 1) {
    return Error(absl::StatusCode::kInternal, "ECDSA sign failed");
  }
  der.resize(len);
  if (format == SignatureFormat::kDer) return der;
  return EcdsaDerToRaw(curve_, der);
}

EcdsaPublicKey EcdsaPrivateKey::PublicKey() const {
  // Re-encode as SPKI so the public key holds no private material.
  const Bytes der = internal::SpkiDerOf(key_->get());
  auto pub = EcdsaPublicKey::FromSpkiDer(der);
  internal::CheckOk(pub.ok() ? 1 : 0, "public key round trip");
  return *std::move(pub);
}

SecretBytes EcdsaPrivateKey::Pkcs8Der() const { return internal::Pkcs8DerOf(key_->get()); }

SecretBytes EcdsaPrivateKey::Pem() const { return internal::PrivateKeyPemOf(key_->get()); }

}  // namespace confide::crypto
