#include "ohttp/ohttp.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "base/cursor.h"
#include "crypto/aead.h"
#include "crypto/hkdf.h"
#include "crypto/random.h"
#include "ohttp/internal/encapsulation.h"

namespace confide::ohttp {
namespace {

using crypto::HpkeKemId;
using crypto::HpkeSuite;
using internal::DecryptionFailed;
using internal::Header;
using internal::Info;
using internal::ResponseKeys;
using internal::ResponseSecretLen;
using internal::SuiteFor;

bool SupportedKem(uint16_t kem_id) { return kem_id == 0x0010 || kem_id == 0x0020; }

void AppendU16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
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
  ASSIGN_OR_RETURN(internal::ParsedRequestHeader h,
                   internal::ParseRequestHeader(encapsulated, keys_));
  ByteSpan ct = encapsulated.subspan(internal::kHeaderLen + h.enc.size());
  const Bytes info = Info(labels.request, h.hdr);
  crypto::HpkeSetupParams params;
  params.info = info;
  auto ctx = crypto::HpkeSetupRecipient(h.suite, h.enc, *h.private_key, params);
  if (!ctx.ok()) return DecryptionFailed();
  auto request = ctx->Open({}, ct);
  if (!request.ok()) return DecryptionFailed();
  ASSIGN_OR_RETURN(SecretBytes secret,
                   ctx->Export(AsBytes(labels.response), ResponseSecretLen(h.suite)));
  return DecapsulatedRequest{
      *std::move(request), h.key_id,
      ServerResponseContext(h.suite, Bytes(h.enc.begin(), h.enc.end()), std::move(secret))};
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
