// confide::client trust policy: what a client requires of an enclave before it sends a byte.
//
// A trust policy file is JSON:
//   {
//     "roots": ["aws_nitro_root_g1.pem"],          // PEM files (relative to the policy file)
//                                                  // or inline PEM text; at least one
//     "allow_simulation_root": false,              // trust confide's emulated module (dev only)
//     "pcrs": {"0": "<96 hex>", "2": "<96 hex>"},  // expected PCRs
//     "image": "app.describe.json",                // and/or: PCR0/1/2/8 from the JSON that
//                                                  // `confide enclave describe-image` (or
//                                                  // `nitro-cli describe-eif`) prints
//     "max_document_age_seconds": 300              // default 300
//   }
// Unknown fields are rejected (a typo must not silently weaken the policy).
#ifndef CONFIDE_CLIENT_TRUST_POLICY_H_
#define CONFIDE_CLIENT_TRUST_POLICY_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "attest/pcr.h"
#include "attest/verifier.h"
#include "base/bytes.h"
#include "base/status.h"
#include "ohttp/ohttp.h"

namespace confide::client {

struct TrustPolicy {
  std::vector<Bytes> roots;  // PEM or DER certificates
  bool allow_simulation_root = false;
  attest::PcrMap pcrs;
  absl::Duration max_document_age = absl::Minutes(5);
};

// kMaxPolicyBytes bounds a policy file and each file it references.
inline constexpr size_t kMaxPolicyBytes = 256 * 1024;

// ParseTrustPolicy parses policy JSON; relative file names resolve against `base_dir`.
// InvalidArgument naming the offending field for malformed JSON, unknown fields, no roots, bad
// PCR indices or values, an unreadable referenced file, or an image description without
// Measurements.
absl::StatusOr<TrustPolicy> ParseTrustPolicy(std::string_view json, const std::string& base_dir);
// LoadTrustPolicy reads and parses the policy file at `path`.
absl::StatusOr<TrustPolicy> LoadTrustPolicy(const std::string& path);

// PolicyWarnings returns human-readable warnings about a weak policy, e.g. one that pins no
// image measurement (PCR0/1/2/8), so any enclave signed by a trusted root would be accepted.
std::vector<std::string> PolicyWarnings(const TrustPolicy& policy);

// AttestedEnclave is what a client learns from a verified attestation: the document and the
// OHTTP key configurations bound to it.
struct AttestedEnclave {
  attest::VerifiedDocument verified;
  std::vector<ohttp::KeyConfig> key_configs;
};

// VerifyEnclave checks `document` against `policy` at `now` with the client's `nonce`, then
// checks that the document's user_data is SHA-256 of `key_config_list` (application/ohttp-keys)
// and decodes it. The Status of a rejection names the failed check. Tries each root in the
// policy; a document must chain to one of them.
absl::StatusOr<AttestedEnclave> VerifyEnclave(const TrustPolicy& policy, ByteSpan document,
                                              ByteSpan key_config_list, ByteSpan nonce,
                                              absl::Time now);

}  // namespace confide::client

#endif  // CONFIDE_CLIENT_TRUST_POLICY_H_
