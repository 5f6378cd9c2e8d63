#include "ohttp/internal/encapsulation.h"

#include <algorithm>

#include "base/cursor.h"
#include "crypto/hkdf.h"

namespace confide::ohttp::internal {
namespace {

void AppendU16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

}  // namespace

absl::Status DecryptionFailed() { return absl::UnauthenticatedError("OHTTP decryption failed"); }

//= https://www.rfc-editor.org/rfc/rfc9458#section-4.3
//# hdr = concat(encode(1, key_id), encode(2, kem_id), encode(2, kdf_id), encode(2, aead_id))
Bytes Header(uint8_t key_id, const crypto::HpkeSuite& suite) {
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

size_t ResponseSecretLen(const crypto::HpkeSuite& suite) {
  return std::max(crypto::HpkeAeadNonceLen(suite.aead), crypto::HpkeAeadKeyLen(suite.aead));
}

absl::StatusOr<crypto::HpkeSuite> SuiteFor(const KeyConfig& config, const SymmetricAlgorithm& alg) {
  if (std::find(config.algorithms.begin(), config.algorithms.end(), alg) ==
      config.algorithms.end()) {
    return absl::InvalidArgumentError("OHTTP: the key configuration does not offer this algorithm");
  }
  ASSIGN_OR_RETURN(crypto::HpkeSuite suite,
                   crypto::HpkeSuite::FromIds(config.kem_id, alg.kdf_id, alg.aead_id));
  if (suite.aead == crypto::HpkeAeadId::kExportOnly) {
    return absl::InvalidArgumentError("OHTTP: export-only AEAD cannot carry messages");
  }
  return suite;
}

// ResponseKeys derives the response AEAD key and nonce (§4.4):
//   salt = concat(enc, response_nonce); prk = Extract(salt, secret)
//   aead_key = Expand(prk, "key", Nk); aead_nonce = Expand(prk, "nonce", Nn)
absl::StatusOr<std::pair<SecretBytes, Bytes>> ResponseKeys(const crypto::HpkeSuite& suite,
                                                           ByteSpan enc, ByteSpan response_nonce,
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

absl::StatusOr<ParsedRequestHeader> ParseRequestHeader(ByteSpan data,
                                                       const std::vector<GatewayKey>& keys) {
  base::ByteCursor in(data);
  uint8_t key_id;
  uint16_t kem_id, kdf_id, aead_id;
  if (!in.ReadU8(&key_id) || !in.ReadU16BE(&kem_id) || !in.ReadU16BE(&kdf_id) ||
      !in.ReadU16BE(&aead_id)) {
    return absl::InvalidArgumentError("OHTTP request header is truncated");
  }
  const GatewayKey* key = nullptr;
  for (const GatewayKey& k : keys) {
    if (k.config().key_id == key_id) key = &k;
  }
  //= https://www.rfc-editor.org/rfc/rfc9458#section-5.2
  //# ... a key identifier that the gateway does not recognize ... 400 (Bad Request)
  if (key == nullptr || key->config().kem_id != kem_id) {
    return absl::InvalidArgumentError("OHTTP request names an unknown key");
  }
  ASSIGN_OR_RETURN(crypto::HpkeSuite suite,
                   SuiteFor(key->config(), SymmetricAlgorithm{kdf_id, aead_id}));
  ByteSpan enc;
  if (!in.ReadBytes(crypto::HpkeKemEncLen(suite.kem), &enc)) {
    return absl::InvalidArgumentError("OHTTP request is truncated");
  }
  return ParsedRequestHeader{key_id, suite, data.first(kHeaderLen), enc, &key->private_key()};
}

}  // namespace confide::ohttp::internal
