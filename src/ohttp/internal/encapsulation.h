// Private to confide::ohttp: the pieces of RFC 9458 §4 shared by the plain and chunked
// variants.
#ifndef CONFIDE_OHTTP_INTERNAL_ENCAPSULATION_H_
#define CONFIDE_OHTTP_INTERNAL_ENCAPSULATION_H_

#include <string>
#include <utility>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/hpke.h"
#include "ohttp/ohttp.h"

namespace confide::ohttp::internal {

// kHeaderLen is the length of hdr: key id (1), kem (2), kdf (2), aead (2).
inline constexpr size_t kHeaderLen = 7;

absl::Status DecryptionFailed();

// Header returns hdr (RFC 9458 §4.3).
Bytes Header(uint8_t key_id, const crypto::HpkeSuite& suite);
// Info returns concat(label, 0x00, hdr).
Bytes Info(const std::string& label, ByteSpan hdr);
// ResponseSecretLen returns max(Nn, Nk).
size_t ResponseSecretLen(const crypto::HpkeSuite& suite);
// SuiteFor returns the HPKE suite of `config` with `alg`, which the configuration must offer.
absl::StatusOr<crypto::HpkeSuite> SuiteFor(const KeyConfig& config, const SymmetricAlgorithm& alg);
// ResponseKeys derives (aead_key, aead_nonce) from the exported secret (§4.4).
absl::StatusOr<std::pair<SecretBytes, Bytes>> ResponseKeys(const crypto::HpkeSuite& suite,
                                                           ByteSpan enc, ByteSpan response_nonce,
                                                           const SecretBytes& secret);

// ParsedRequestHeader is hdr || enc of an encapsulated request, checked against a gateway.
struct ParsedRequestHeader {
  uint8_t key_id;
  crypto::HpkeSuite suite;
  ByteSpan hdr;
  ByteSpan enc;
  const SecretBytes* private_key;
};
// ParseRequestHeader reads hdr || enc from the start of `data` for one of `keys`.
// InvalidArgument when truncated, for an unknown key, or an unoffered algorithm.
absl::StatusOr<ParsedRequestHeader> ParseRequestHeader(ByteSpan data,
                                                       const std::vector<GatewayKey>& keys);

}  // namespace confide::ohttp::internal

#endif  // CONFIDE_OHTTP_INTERNAL_ENCAPSULATION_H_
