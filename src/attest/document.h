// confide::attest attestation documents in the AWS Nitro Enclaves format.
//
// A document is a COSE_Sign1 (ES384) whose payload is a CBOR map with, in this order:
//   module_id: text, digest: "SHA384", timestamp: uint (ms since the Unix epoch),
//   pcrs: {uint index 0..31 => bstr of 32/48/64 bytes}, certificate: bstr (DER leaf),
//   cabundle: [bstr DER, root first], public_key: bstr / nil, user_data: bstr / nil,
//   nonce: bstr / nil.
// (aws-nitro-enclaves-nsm-api, docs/attestation_process.md §3.) In confide, public_key carries
// the enclave's RSA key for KMS Recipient, user_data SHA-256 of its OHTTP key configuration,
// and nonce the client's challenge (DESIGN.md §4).
#ifndef CONFIDE_ATTEST_DOCUMENT_H_
#define CONFIDE_ATTEST_DOCUMENT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attest/pcr.h"
#include "base/bytes.h"
#include "base/status.h"

namespace confide::attest {

//=
// https://github.com/aws/aws-nitro-enclaves-nsm-api/blob/main/docs/attestation_process.md#32-syntactical-validation
//# user_data, nonce and public_key ... up to 1024 bytes; cabundle entries and certificate
//# 1..1024 bytes; pcrs 1..32 entries with values of 32, 48 or 64 bytes.
inline constexpr size_t kMaxUserDataLen = 1024;
inline constexpr size_t kMaxNonceLen = 1024;
inline constexpr size_t kMaxPublicKeyLen = 1024;
inline constexpr size_t kMaxCertificateLen = 1024;
inline constexpr size_t kMaxCabundleLen = 16;
inline constexpr size_t kMaxModuleIdLen = 256;
// kMaxDocumentLen bounds a whole COSE_Sign1 document before any parsing.
inline constexpr size_t kMaxDocumentLen = 64 * 1024;

// AttestationDocument is the decoded payload of a Nitro attestation document.
struct AttestationDocument {
  std::string module_id;
  std::string digest = "SHA384";
  uint64_t timestamp_ms = 0;
  PcrMap pcrs;
  Bytes certificate;            // DER of the signing (leaf) certificate
  std::vector<Bytes> cabundle;  // DER, root first, then each intermediate toward the leaf
  std::optional<Bytes> public_key;
  std::optional<Bytes> user_data;
  std::optional<Bytes> nonce;
};

// ParsePayload decodes and syntactically validates a document payload. InvalidArgument naming
// the first offending field: not a map, a missing or duplicate field, an unknown field (fail
// closed), a wrong type, digest other than "SHA384", timestamp 0, a PCR index above 31, a PCR
// value not 32/48/64 bytes, no PCRs, an empty or oversized certificate or cabundle entry, an
// empty cabundle, or public_key / user_data / nonce longer than 1024 bytes.
absl::StatusOr<AttestationDocument> ParsePayload(ByteSpan payload);

// EncodePayload encodes `doc` as a payload in Nitro's field order (absent optional fields are
// written as CBOR null, as the Nitro secure module does). InvalidArgument if `doc` breaks one
// of the rules ParsePayload enforces, so every encoded payload parses back.
absl::StatusOr<Bytes> EncodePayload(const AttestationDocument& doc);

}  // namespace confide::attest

#endif  // CONFIDE_ATTEST_DOCUMENT_H_
