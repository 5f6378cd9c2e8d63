#include "crypto/rsa.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <string>

#include "crypto/internal/openssl_util.h"
#include "crypto/internal/pkey.h"

namespace confide::crypto {
namespace {

using internal::BioPtr;
using internal::Error;
using internal::EvpPkeyCtxPtr;
using internal::PkeyHolder;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kInternal = absl::StatusCode::kInternal;
constexpr size_t kSha256Len = 32;
constexpr char kDecryptFailed[] = "RSA-OAEP decryption failed";

// CheckRsaPublic accepts only plain RSA keys of an accepted size that pass OpenSSL's SP 800-56B
// public-key checks (odd modulus, 65537 <= e < 2^256, no small factors, not a prime power).
absl::Status CheckRsaPublic(EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
    return Error(kInvalid, "key is not an RSA (rsaEncryption) key");
  }
  const int bits = EVP_PKEY_get_bits(pkey);
  if (bits < kRsaMinModulusBits || bits > kRsaMaxModulusBits) {
    return Error(kInvalid, "RSA modulus size is outside the accepted range");
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx) return Error(kInternal, "EVP_PKEY_CTX allocation failed");
  if (EVP_PKEY_public_check(ctx.get()) != 1) {
    return Error(kInvalid, "RSA public key failed validation");
  }
  internal::ClearErrors();
  return absl::OkStatus();
}

// OaepParams returns the parameters that select RSAES-OAEP with SHA-256 and MGF1-SHA-256 and
// the given label. OSSL_PARAM only points at the strings and label; they must outlive use.
struct OaepParams {
  explicit OaepParams(ByteSpan label) {
    static char kPad[] = OSSL_PKEY_RSA_PAD_MODE_OAEP;
    static char kSha256[] = "SHA256";
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, kPad, 0);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, kSha256, 0);
    params[2] = OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, kSha256, 0);
    // An empty label is OpenSSL's default; a non-empty one is copied by OpenSSL.
    if (label.empty()) {
      params[3] = OSSL_PARAM_construct_end();
    } else {
      params[3] = OSSL_PARAM_construct_octet_string(
          OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, const_cast<uint8_t*>(label.data()), label.size());
      params[4] = OSSL_PARAM_construct_end();
    }
  }
  OSSL_PARAM params[5];
};

size_t PkeyModulusLen(const PkeyHolder& key) {
  return static_cast<size_t>(EVP_PKEY_get_size(key.get()));
}

// SetSignaturePadding configures a sign or verify context for `padding` over `hash`.
//= https://www.rfc-editor.org/rfc/rfc8017#section-9.1
//# Typical salt lengths in octets are hLen (the length of the output of the hash function Hash)
//# and 0.
// AWS KMS (and this wrapper) use sLen = hLen for PSS, and MGF1 with the message hash; a verifier
// requires exactly that salt length (RSA_PSS_SALTLEN_DIGEST).
bool SetSignaturePadding(EVP_PKEY_CTX* ctx, RsaSignaturePadding padding, HashAlg hash) {
  const EVP_MD* md = internal::Md(hash);
  if (EVP_PKEY_CTX_set_signature_md(ctx, md) != 1) return false;
  if (padding == RsaSignaturePadding::kPkcs1v15) {
    return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
  }
  return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) == 1;
}

}  // namespace

size_t RsaOaepMaxPlaintextLen(size_t modulus_len) {
  //= https://www.rfc-editor.org/rfc/rfc8017#section-7.1.1
  //# If mLen > k - 2hLen - 2, output "message too long" and stop.
  return modulus_len < 2 * kSha256Len + 2 ? 0 : modulus_len - 2 * kSha256Len - 2;
}

// ---------------------------------------------------------------- RsaPublicKey

absl::StatusOr<RsaPublicKey> RsaPublicKey::FromSpkiDer(ByteSpan der) {
  const uint8_t* p = der.data();
  EVP_PKEY* raw = der.empty() ? nullptr : d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (raw == nullptr || p != der.data() + der.size()) {
    EVP_PKEY_free(raw);
    return Error(kInvalid, "public key is not a valid DER SubjectPublicKeyInfo");
  }
  auto holder = std::make_shared<const PkeyHolder>(raw);
  RETURN_IF_ERROR(CheckRsaPublic(raw));
  return RsaPublicKey(std::move(holder));
}

absl::StatusOr<RsaPublicKey> RsaPublicKey::FromPem(std::string_view pem) {
  BioPtr bio = internal::ReadOnlyMemBio(pem);
  EVP_PKEY* raw = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (raw == nullptr) {
    return Error(kInvalid, "not a PEM PUBLIC KEY");
  }
  auto holder = std::make_shared<const PkeyHolder>(raw);
  RETURN_IF_ERROR(CheckRsaPublic(raw));
  return RsaPublicKey(std::move(holder));
}

int RsaPublicKey::ModulusBits() const { return EVP_PKEY_get_bits(key_->get()); }
size_t RsaPublicKey::ModulusLen() const { return PkeyModulusLen(*key_); }

Bytes RsaPublicKey::SpkiDer() const { return internal::SpkiDerOf(key_->get()); }

std::string RsaPublicKey::Pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  internal::CheckOk(bio && PEM_write_bio_PUBKEY(bio.get(), key_->get()) == 1 ? 1 : 0,
                    "PEM_write_bio_PUBKEY");
  return internal::MemBioString(bio.get());
}

absl::StatusOr<Bytes> RsaPublicKey::OaepEncrypt(ByteSpan plaintext, ByteSpan label) const {
  const size_t k = ModulusLen();
  if (plaintext.size() > RsaOaepMaxPlaintextLen(k)) {
    return absl::InvalidArgumentError("RSA-OAEP plaintext is too long for the key");
  }
  OaepParams params(label);
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_->get(), nullptr));
  if (!ctx || EVP_PKEY_encrypt_init_ex(ctx.get(), params.params) != 1) {
    return Error(kInternal, "RSA-OAEP encrypt setup failed");
  }
  static const uint8_t kNothing[1] = {0};
  const uint8_t* in = plaintext.empty() ? kNothing : plaintext.data();
  Bytes out(k);
  size_t out_len = out.size();
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &out_len, in, plaintext.size()) != 1 ||
      out_len != k) {
    return Error(kInternal, "RSA-OAEP encryption failed");
  }
  return out;
}

absl::Status RsaPublicKey::Verify(RsaSignaturePadding padding, HashAlg hash, ByteSpan message,
                                  ByteSpan signature) const {
  const Bytes digest = Hash(hash, message);
  return VerifyDigest(padding, hash, digest, signature);
}

absl::Status RsaPublicKey::VerifyDigest(RsaSignaturePadding padding, HashAlg hash, ByteSpan digest,
                                        ByteSpan signature) const {
  if (digest.size() != DigestLen(hash)) {
    return absl::InvalidArgumentError("digest length does not match the hash");
  }
  //= https://www.rfc-editor.org/rfc/rfc8017#section-8.2.2
  //# If the length of the signature S is not k octets, output "invalid signature" and stop.
  if (signature.size() != ModulusLen()) {
    return absl::UnauthenticatedError("RSA signature invalid");
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_->get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
      !SetSignaturePadding(ctx.get(), padding, hash)) {
    return Error(kInternal, "RSA verify setup failed");
  }
  const int rc =
      EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(), digest.size());
  internal::ClearErrors();
  if (rc != 1) return absl::UnauthenticatedError("RSA signature invalid");
  return absl::OkStatus();
}

// ---------------------------------------------------------------- RsaPrivateKey

absl::StatusOr<RsaPrivateKey> RsaPrivateKey::FromPkeyChecked(
    std::shared_ptr<const PkeyHolder> key) {
  RETURN_IF_ERROR(CheckRsaPublic(key->get()));
  // Pairwise check: n = p*q, d*e = 1 mod lcm(p-1, q-1), CRT values consistent. A key that is
  // inconsistent would make decryption fail in ways that are hard to diagnose (or leak p, q
  // through CRT faults), so it is refused here.
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key->get(), nullptr));
  if (!ctx) return Error(kInternal, "EVP_PKEY_CTX allocation failed");
  if (EVP_PKEY_pairwise_check(ctx.get()) != 1) {
    return Error(kInvalid, "RSA private key failed its consistency check");
  }
  internal::ClearErrors();
  return RsaPrivateKey(std::move(key));
}

absl::StatusOr<RsaPrivateKey> RsaPrivateKey::Generate(int modulus_bits) {
  if (modulus_bits != 2048 && modulus_bits != 3072 && modulus_bits != 4096) {
    return absl::InvalidArgumentError("RSA key size must be 2048, 3072 or 4096 bits");
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), modulus_bits) != 1 ||
      EVP_PKEY_generate(ctx.get(), &raw) != 1 || raw == nullptr) {
    EVP_PKEY_free(raw);
    return Error(kInternal, "RSA key generation failed");
  }
  return RsaPrivateKey(std::make_shared<const PkeyHolder>(raw));
}

absl::StatusOr<RsaPrivateKey> RsaPrivateKey::FromPkcs8Der(ByteSpan der) {
  using P8Ptr = std::unique_ptr<PKCS8_PRIV_KEY_INFO, internal::Deleter<PKCS8_PRIV_KEY_INFO_free>>;
  const uint8_t* p = der.data();
  P8Ptr p8(der.empty() ? nullptr
                       : d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size())));
  if (!p8 || p != der.data() + der.size()) {
    return Error(kInvalid, "private key is not valid PKCS#8 DER");
  }
  EVP_PKEY* raw = EVP_PKCS82PKEY(p8.get());
  if (raw == nullptr) {
    return Error(kInvalid, "private key is not valid PKCS#8 DER");
  }
  return FromPkeyChecked(std::make_shared<const PkeyHolder>(raw));
}

absl::StatusOr<RsaPrivateKey> RsaPrivateKey::FromPem(std::string_view pem) {
  BioPtr bio = internal::ReadOnlyMemBio(pem);
  EVP_PKEY* raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (raw == nullptr) {
    return Error(kInvalid, "not a PEM private key");
  }
  return FromPkeyChecked(std::make_shared<const PkeyHolder>(raw));
}

int RsaPrivateKey::ModulusBits() const { return EVP_PKEY_get_bits(key_->get()); }
size_t RsaPrivateKey::ModulusLen() const { return PkeyModulusLen(*key_); }

RsaPublicKey RsaPrivateKey::PublicKey() const {
  // Re-encode as SPKI so the public key object holds no private material.
  const Bytes der = internal::SpkiDerOf(key_->get());
  const uint8_t* q = der.data();
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &q, static_cast<long>(der.size()));
  internal::CheckOk(raw != nullptr ? 1 : 0, "d2i_PUBKEY");
  return RsaPublicKey(std::make_shared<const PkeyHolder>(raw));
}

SecretBytes RsaPrivateKey::Pkcs8Der() const { return internal::Pkcs8DerOf(key_->get()); }

SecretBytes RsaPrivateKey::Pem() const { return internal::PrivateKeyPemOf(key_->get()); }

absl::StatusOr<SecretBytes> RsaPrivateKey::OaepDecrypt(ByteSpan ciphertext, ByteSpan label) const {
  const size_t k = ModulusLen();
  //= https://www.rfc-editor.org/rfc/rfc8017#section-7.1.2
  //# If the length of the ciphertext C is not k octets, output "decryption error" and stop.
  if (ciphertext.size() != k) {
    return absl::InvalidArgumentError(kDecryptFailed);
  }
  OaepParams params(label);
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_->get(), nullptr));
  if (!ctx || EVP_PKEY_decrypt_init_ex(ctx.get(), params.params) != 1) {
    return Error(kInternal, "RSA-OAEP decrypt setup failed");
  }
  SecretBytes buf(k);
  size_t out_len = buf.size();
  const int rc = EVP_PKEY_decrypt(ctx.get(), buf.MutableSecret().data(), &out_len,
                                  ciphertext.data(), ciphertext.size());
  // One error for every failure: the cause (padding, label, range) must not be observable.
  if (rc != 1 || out_len > k) {
    return Error(kInvalid, kDecryptFailed);
  }
  return SecretBytes::CopyFrom(buf.ExposeSecret().first(out_len));
}

absl::StatusOr<Bytes> RsaPrivateKey::Sign(RsaSignaturePadding padding, HashAlg hash,
                                          ByteSpan message) const {
  const Bytes digest = Hash(hash, message);
  return SignDigest(padding, hash, digest);
}

absl::StatusOr<Bytes> RsaPrivateKey::SignDigest(RsaSignaturePadding padding, HashAlg hash,
                                                ByteSpan digest) const {
  if (digest.size() != DigestLen(hash)) {
    return absl::InvalidArgumentError("digest length does not match the hash");
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_->get(), nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      !SetSignaturePadding(ctx.get(), padding, hash)) {
    return Error(kInternal, "RSA sign setup failed");
  }
  Bytes out(ModulusLen());
  size_t out_len = out.size();
  if (EVP_PKEY_sign(ctx.get(), out.data(), &out_len, digest.data(), digest.size()) != 1 ||
      out_len != out.size()) {
    return Error(kInternal, "RSA signing failed");
  }
  return out;
}

}  // namespace confide::crypto
