#include "ohttp/ohttp.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "base/cursor.h"
#include "crypto/aead.h"
#include "crypto/hkdf.h"
#include "crypto/random.h"

namespace confide::ohttp {
namespace {

using crypto::HpkeKemId;
using crypto::HpkeSuite;

constexpr size_t kHeaderLen = 7;  // key id (1), kem (2), kdf (2), aead (2)

absl::Status DecryptionFailed() { return absl::UnauthenticatedError("OHTTP decryption failed"); }

bool SupportedKem(uint16_t kem_id) { return kem_id == 0x0010 || kem_id == 0x0020; }

void AppendU16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

//= https://www.rfc-editor.org/rfc/rfc9458#section-4.3
//# hdr = concat(encode(1, key_id), encode(2, kem_id), encode(2, kdf_id), encode(2, aead_id))
Bytes Header(uint8_t key_id, const HpkeSuite& suite) {
  Bytes hdr{key_id};
  AppendU16(hdr, suite.kem_id());
  AppendU16(hdr, suite.kdf_id());
  AppendU16(hdr, suite.aead_id());
  return hdr;
}

//# info = concat(encode_str("message/bhttp request"), encode(1, 0), hdr)
Bytes Info(const std::string& label, ByteSpan hdr) {
  Bytes info = ToBytes(label);
  info.push_back(0);
  Append(info, hdr);
  return info;
}

size_t ResponseSecretLen(const HpkeSuite& suite) {
  return std::max(crypto::HpkeAeadNonceLen(suite.aead), crypto::HpkeAeadKeyLen(suite.aead));
}

absl::StatusOr<HpkeSuite> SuiteFor(const KeyConfig& config, const SymmetricAlgorithm& alg) {
  if (std::find(config.algorithms.begin(), config.algorithms.end(), alg) ==
      config.algorithms.end()) {
    return absl::InvalidArgumentError("OHTTP: the key configuration does not offer this algorithm");
  }
  ASSIGN_OR_RETURN(HpkeSuite suite, HpkeSuite::FromIds(config.kem_id, alg.kdf_id, alg.aead_id));
  if (suite.aead == crypto::HpkeAeadId::kExportOnly) {
    return absl::InvalidArgumentError("OHTTP: export-only AEAD cannot carry messages");
  }
  return suite;
}

// ResponseKeys derives the response AEAD key and nonce (§4.4):
//   salt = concat(enc, response_nonce); prk = Extract(salt, secret)
//   aead_key = Expand(prk, "key", Nk); aead_nonce = Expand(prk, "nonce", Nn)
absl::StatusOr<std::pair<SecretBytes, Bytes>> ResponseKeys(const HpkeSuite& suite, ByteSpan enc,
                                                           ByteSpan response_nonce,
                                                           const SecretBytes& secret) {
  const crypto::HashAlg hash = crypto::HpkeKdfHash(suite.kdf);
  Bytes salt = Concat({enc, response_nonce});
  SecretBytes prk = crypto::HkdfExtract(hash, salt, secret.ExposeSecret());
  ASSIGN_OR_RETURN(SecretBytes key, crypto::HkdfExpand(hash, prk.ExposeSecret(), AsBytes("key"),
                                                       crypto::HpkeAeadKeyLen(suite.aead)));
  ASSIGN_OR_RETURN(SecretBytes nonce, crypto::HkdfExpand(hash, prk.ExposeSecret(), AsBytes("nonce"),
                                                         crypto::HpkeAeadNonceLen(suite.aead)));
  Bytes nonce_bytes(nonce.ExposeSecret().begin(), nonce.ExposeSecret().end());
  return std::make_pair(std::move(key), std::move(nonce_bytes));
}

absl::StatusOr<ClientRequest> Encapsulate(const KeyConfig& config,
                                          const SymmetricAlgorithm& algorithm, ByteSpan request,
                                          const SecretBytes* ephemeral_key, const Labels& labels) {
  ASSIGN_OR_RETURN(HpkeSuite suite, SuiteFor(config, algorithm));
  const Bytes hdr = Header(config.key_id, suite);
  const Bytes info = Info(labels.request, hdr);
  crypto::HpkeSetupParams params;
  params.info = info;
  auto ctx = ephemeral_key ? crypto::HpkeSetupSenderWithEphemeralKeyForTesting(
                                 suite, config.public_key, params, *ephemeral_key)
                           : crypto::HpkeSetupSender(suite, config.public_key, params);
  if (!ctx.ok()) return ctx.status();
  //# ct = sctxt.Seal("", request)
  ASSIGN_OR_RETURN(Bytes ct, ctx->Seal({}, request));
  //# secret = context.Export("message/bhttp response", Nk)  (with L = max(Nn, Nk), §4.4)
  ASSIGN_OR_RETURN(SecretBytes secret,
                   ctx->Export(AsBytes(labels.response), ResponseSecretLen(suite)));
  //# enc_request = concat(hdr, enc, ct)
  Bytes out = Concat({hdr, ctx->enc(), ct});
  return ClientRequest{std::move(out), ClientResponseContext(suite, ctx->enc(), std::move(secret))};
}

absl::StatusOr<Bytes> SealResponse(const HpkeSuite& suite, ByteSpan enc, const SecretBytes& secret,
                                   ByteSpan response, ByteSpan response_nonce) {
  if (response_nonce.size() != ResponseSecretLen(suite)) {
    return absl::InvalidArgumentError("OHTTP: response nonce has the wrong length");
  }
  ASSIGN_OR_RETURN(auto keys, ResponseKeys(suite, enc, response_nonce, secret));
  ASSIGN_OR_RETURN(crypto::AeadAlg alg, crypto::HpkeAeadAlg(suite.aead));
  ASSIGN_OR_RETURN(Bytes ct,
                   crypto::AeadSeal(alg, keys.first.ExposeSecret(), keys.second, {}, response));
  //# enc_response = concat(response_nonce, ct)
  return Concat({response_nonce, ct});
}

}  // namespace

absl::StatusOr<Bytes> EncodeKeyConfig(const KeyConfig& config) {
  ASSIGN_OR_RETURN(HpkeSuite probe, HpkeSuite::FromIds(config.kem_id, 0x0001, 0x0001));
  if (config.public_key.size() != crypto::HpkeKemPublicKeyLen(probe.kem)) {
    return absl::InvalidArgumentError("OHTTP key configuration: public key has the wrong length");
  }
  if (config.algorithms.empty() || config.algorithms.size() > 16383) {
    return absl::InvalidArgumentError("OHTTP key configuration needs 1..16383 algorithms");
  }
  Bytes out{config.key_id};
  AppendU16(out, config.kem_id);
  Append(out, config.public_key);
  AppendU16(out, static_cast<uint16_t>(4 * config.algorithms.size()));
  for (const SymmetricAlgorithm& a : config.algorithms) {
    AppendU16(out, a.kdf_id);
    AppendU16(out, a.aead_id);
  }
  return out;
}

absl::StatusOr<KeyConfig> DecodeKeyConfig(ByteSpan data) {
  base::ByteCursor in(data);
  KeyConfig config;
  uint16_t algs_len = 0;
  if (!in.ReadU8(&config.key_id) || !in.ReadU16BE(&config.kem_id)) {
    return absl::InvalidArgumentError("OHTTP key configuration is truncated");
  }
  if (!SupportedKem(config.kem_id)) {
    return absl::InvalidArgumentError("OHTTP key configuration uses an unsupported KEM");
  }
  const size_t npk = crypto::HpkeKemPublicKeyLen(static_cast<HpkeKemId>(config.kem_id));
  ByteSpan pk;
  if (!in.ReadBytes(npk, &pk) || !in.ReadU16BE(&algs_len)) {
    return absl::InvalidArgumentError("OHTTP key configuration is truncated");
  }
  //= https://www.rfc-editor.org/rfc/rfc9458#section-3.1
  //# HPKE Symmetric Algorithms Length (16) = 4..65532,
  if (algs_len < 4 || algs_len % 4 != 0 || in.remaining() != algs_len) {
    return absl::InvalidArgumentError(
        "OHTTP key configuration has a bad algorithms length or trailing bytes");
  }
  config.public_key.assign(pk.begin(), pk.end());
  RETURN_IF_ERROR(
      crypto::HpkeValidatePublicKey(static_cast<HpkeKemId>(config.kem_id), config.public_key));
  while (!in.empty()) {
    SymmetricAlgorithm a;
    if (!in.ReadU16BE(&a.kdf_id) || !in.ReadU16BE(&a.aead_id)) {
      return absl::InvalidArgumentError("OHTTP key configuration is truncated");
    }
    config.algorithms.push_back(a);
  }
  return config;
}

absl::StatusOr<Bytes> EncodeKeyConfigList(std::span<const KeyConfig> configs) {
  Bytes out;
  for (const KeyConfig& c : configs) {
    ASSIGN_OR_RETURN(Bytes one, EncodeKeyConfig(c));
    if (one.size() > 0xffff) return absl::InvalidArgumentError("OHTTP key configuration too long");
    AppendU16(out, static_cast<uint16_t>(one.size()));
    Append(out, one);
  }
  return out;
}

absl::StatusOr<std::vector<KeyConfig>> DecodeKeyConfigList(ByteSpan data) {
  base::ByteCursor in(data);
  std::vector<KeyConfig> out;
  constexpr size_t kMaxConfigs = 256;
  size_t seen = 0;
  while (!in.empty()) {
    uint16_t len;
    ByteSpan one;
    if (!in.ReadU16BE(&len) || !in.ReadBytes(len, &one)) {
      return absl::InvalidArgumentError("OHTTP key configuration list is truncated");
    }
    if (++seen > kMaxConfigs) {
      return absl::InvalidArgumentError("OHTTP key configuration list is too long");
    }
    uint16_t kem = 0;
    base::ByteCursor peek(one);
    uint8_t id;
    if (!peek.ReadU8(&id) || !peek.ReadU16BE(&kem)) {
      return absl::InvalidArgumentError("OHTTP key configuration is truncated");
    }
    //= https://www.rfc-editor.org/rfc/rfc9458#section-3.2
    //# ... clients can skip any key configurations that they do not support
    if (!SupportedKem(kem)) continue;
    ASSIGN_OR_RETURN(KeyConfig c, DecodeKeyConfig(one));
    out.push_back(std::move(c));
  }
  if (out.empty()) {
    return absl::InvalidArgumentError("OHTTP key configuration list has no supported key");
  }
  return out;
}

absl::StatusOr<Bytes> ClientResponseContext::DecapsulateResponse(
    ByteSpan encapsulated_response) const {
  const size_t nonce_len = ResponseSecretLen(suite_);
  if (encapsulated_response.size() < nonce_len + crypto::HpkeAeadTagLen(suite_.aead)) {
    return DecryptionFailed();
  }
  ByteSpan response_nonce = encapsulated_response.first(nonce_len);
  ByteSpan ct = encapsulated_response.subspan(nonce_len);
  auto keys = ResponseKeys(suite_, enc_, response_nonce, secret_);
  auto alg = crypto::HpkeAeadAlg(suite_.aead);
  if (!keys.ok() || !alg.ok()) return DecryptionFailed();
  auto pt = crypto::AeadOpen(*alg, keys->first.ExposeSecret(), keys->second, {}, ct);
  if (!pt.ok()) return DecryptionFailed();
  return pt;
}

absl::StatusOr<ClientRequest> EncapsulateRequest(const KeyConfig& config,
                                                 const SymmetricAlgorithm& algorithm,
                                                 ByteSpan request, const Labels& labels) {
  return Encapsulate(config, algorithm, request, nullptr, labels);
}

absl::StatusOr<ClientRequest> EncapsulateRequestForTesting(const KeyConfig& config,
                                                           const SymmetricAlgorithm& algorithm,
                                                           ByteSpan request,
                                                           const SecretBytes& ephemeral_key,
                                                           const Labels& labels) {
  return Encapsulate(config, algorithm, request, &ephemeral_key, labels);
}

absl::StatusOr<GatewayKey> GatewayKey::Generate(uint8_t key_id, uint16_t kem_id,
                                                std::vector<SymmetricAlgorithm> algorithms) {
  if (!SupportedKem(kem_id)) return absl::InvalidArgumentError("OHTTP: unsupported KEM");
  ASSIGN_OR_RETURN(auto pair, crypto::HpkeGenerateKeyPair(static_cast<HpkeKemId>(kem_id)));
  return FromPrivateKey(key_id, kem_id, std::move(pair.private_key), std::move(algorithms));
}

absl::StatusOr<GatewayKey> GatewayKey::FromPrivateKey(uint8_t key_id, uint16_t kem_id,
                                                      SecretBytes private_key,
                                                      std::vector<SymmetricAlgorithm> algorithms) {
  if (!SupportedKem(kem_id)) return absl::InvalidArgumentError("OHTTP: unsupported KEM");
  for (const SymmetricAlgorithm& a : algorithms) {
    RETURN_IF_ERROR(SuiteFor(KeyConfig{key_id, kem_id, {}, {a}}, a).status());
  }
  KeyConfig config;
  config.key_id = key_id;
  config.kem_id = kem_id;
  config.algorithms = std::move(algorithms);
  ASSIGN_OR_RETURN(config.public_key,
                   crypto::HpkePublicKeyFromPrivate(static_cast<HpkeKemId>(kem_id), private_key));
  RETURN_IF_ERROR(EncodeKeyConfig(config).status());
  return GatewayKey(std::move(config), std::move(private_key));
}

absl::StatusOr<Gateway> Gateway::Create(std::vector<GatewayKey> keys) {
  if (keys.empty()) return absl::InvalidArgumentError("OHTTP gateway needs at least one key");
  std::set<uint8_t> ids;
  std::vector<KeyConfig> configs;
  for (const GatewayKey& k : keys) {
    if (!ids.insert(k.config().key_id).second) {
      return absl::InvalidArgumentError("OHTTP gateway keys must have distinct key ids");
    }
    configs.push_back(k.config());
  }
  ASSIGN_OR_RETURN(Bytes encoded, EncodeKeyConfigList(configs));
  return Gateway(std::move(keys), std::move(encoded));
}

std::vector<KeyConfig> Gateway::Configs() const {
  std::vector<KeyConfig> out;
  for (const GatewayKey& k : keys_) out.push_back(k.config());
  return out;
}

absl::StatusOr<DecapsulatedRequest> Gateway::DecapsulateRequest(ByteSpan encapsulated,
                                                                const Labels& labels) const {
  base::ByteCursor in(encapsulated);
  uint8_t key_id;
  uint16_t kem_id, kdf_id, aead_id;
  if (!in.ReadU8(&key_id) || !in.ReadU16BE(&kem_id) || !in.ReadU16BE(&kdf_id) ||
      !in.ReadU16BE(&aead_id)) {
    return absl::InvalidArgumentError("OHTTP request header is truncated");
  }
  const GatewayKey* key = nullptr;
  for (const GatewayKey& k : keys_) {
    if (k.config().key_id == key_id) key = &k;
  }
  //= https://www.rfc-editor.org/rfc/rfc9458#section-5.2
  //# ... a key identifier that the gateway does not recognize ... 400 (Bad Request)
  if (key == nullptr || key->config().kem_id != kem_id) {
    return absl::InvalidArgumentError("OHTTP request names an unknown key");
  }
  ASSIGN_OR_RETURN(HpkeSuite suite, SuiteFor(key->config(), SymmetricAlgorithm{kdf_id, aead_id}));
  ByteSpan enc, ct;
  if (!in.ReadBytes(crypto::HpkeKemEncLen(suite.kem), &enc)) {
    return absl::InvalidArgumentError("OHTTP request is truncated");
  }
  ct = in.rest();
  const Bytes hdr(encapsulated.begin(), encapsulated.begin() + kHeaderLen);
  const Bytes info = Info(labels.request, hdr);
  crypto::HpkeSetupParams params;
  params.info = info;
  auto ctx = crypto::HpkeSetupRecipient(suite, enc, key->private_key(), params);
  if (!ctx.ok()) return DecryptionFailed();
  auto request = ctx->Open({}, ct);
  if (!request.ok()) return DecryptionFailed();
  ASSIGN_OR_RETURN(SecretBytes secret,
                   ctx->Export(AsBytes(labels.response), ResponseSecretLen(suite)));
  return DecapsulatedRequest{
      *std::move(request), key_id,
      ServerResponseContext(suite, Bytes(enc.begin(), enc.end()), std::move(secret))};
}

absl::StatusOr<Bytes> ServerResponseContext::EncapsulateResponse(ByteSpan response) const {
  ASSIGN_OR_RETURN(Bytes nonce, crypto::RandomBytes(ResponseSecretLen(suite_)));
  return SealResponse(suite_, enc_, secret_, response, nonce);
}

absl::StatusOr<Bytes> ServerResponseContext::EncapsulateResponseForTesting(
    ByteSpan response, ByteSpan response_nonce) const {
  return SealResponse(suite_, enc_, secret_, response, response_nonce);
}

}  // namespace confide::ohttp
