// confide::attest NSM codec: the CBOR requests and responses of the Nitro Secure Module API.
//
// These are the exact encodings the real /dev/nsm driver exchanges (one CBOR request in, one
// CBOR response out, through ioctl _IOWR(0x0A, 0, struct nsm_message) with request at most
// 0x1000 bytes and response at most 0x3000 bytes), and the encodings confide's emulated module
// speaks over its inherited descriptor, so enclave code is the same in both.
//
//= https://github.com/aws/aws-nitro-enclaves-nsm-api/blob/main/src/api/mod.rs
//# pub enum Request { DescribePCR { index: u16 }, ExtendPCR { index: u16, data: Vec<u8> },
//#   LockPCR { index: u16 }, LockPCRs { range: u16 }, DescribeNSM,
//#   Attestation { user_data: Option<ByteBuf>, nonce: Option<ByteBuf>,
//#                 public_key: Option<ByteBuf> }, GetRandom }
//# pub enum Response { DescribePCR { lock: bool, data: Vec<u8> }, ExtendPCR { data: Vec<u8> },
//#   LockPCR, LockPCRs, DescribeNSM { version_major: u16, version_minor: u16,
//#   version_patch: u16, module_id: String, max_pcrs: u16, locked_pcrs: BTreeSet<u16>,
//#   digest: Digest }, Attestation { document: Vec<u8> }, GetRandom { random: Vec<u8> },
//#   Error(ErrorCode) }
// serde's default, externally tagged enum representation (as serde_cbor / ciborium write it):
//   - a unit variant is the variant name as a CBOR text string: "DescribeNSM" = 6b 4465...;
//   - a struct variant is a one-entry map {name: {field: value, ...}} with the fields in
//     declaration order (not sorted), integers in shortest form, Vec<u8>/ByteBuf (serde_bytes)
//     as byte strings, Option::None as null, BTreeSet<u16> as an ascending array;
//   - the newtype variant Error(ErrorCode) is {"Error": "<ErrorCode variant name>"}; Digest is
//     "SHA256" / "SHA384" / "SHA512".
// Decoding is stricter than serde: every field must be present exactly once (an Option may be
// null or absent, as serde allows) and unknown fields are refused (fail closed).
#ifndef CONFIDE_ATTEST_NSM_CODEC_H_
#define CONFIDE_ATTEST_NSM_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace confide::attest {

// kNsmRequestMaxLen / kNsmResponseMaxLen are the driver's buffer limits
// (aws-nitro-enclaves-nsm-api src/driver/mod.rs: NSM_REQUEST_MAX_SIZE, NSM_RESPONSE_MAX_SIZE).
inline constexpr size_t kNsmRequestMaxLen = 0x1000;
inline constexpr size_t kNsmResponseMaxLen = 0x3000;

// Requests (src/api/mod.rs `enum Request`).
struct NsmDescribePcrRequest {
  uint16_t index = 0;
  bool operator==(const NsmDescribePcrRequest&) const = default;
};
struct NsmExtendPcrRequest {
  uint16_t index = 0;
  Bytes data;
  bool operator==(const NsmExtendPcrRequest&) const = default;
};
struct NsmLockPcrRequest {
  uint16_t index = 0;
  bool operator==(const NsmLockPcrRequest&) const = default;
};
struct NsmLockPcrsRequest {
  uint16_t range = 0;  // locks PCRs [0, range)
  bool operator==(const NsmLockPcrsRequest&) const = default;
};
struct NsmDescribeNsmRequest {
  bool operator==(const NsmDescribeNsmRequest&) const = default;
};
struct NsmAttestationRequest {
  std::optional<Bytes> user_data;
  std::optional<Bytes> nonce;
  std::optional<Bytes> public_key;
  bool operator==(const NsmAttestationRequest&) const = default;
};
struct NsmGetRandomRequest {
  bool operator==(const NsmGetRandomRequest&) const = default;
};
// NsmRequest is one request to the secure module.
using NsmRequest =
    std::variant<NsmDescribePcrRequest, NsmExtendPcrRequest, NsmLockPcrRequest, NsmLockPcrsRequest,
                 NsmDescribeNsmRequest, NsmAttestationRequest, NsmGetRandomRequest>;

// NsmErrorCode mirrors `enum ErrorCode` (same names, same order).
enum class NsmErrorCode {
  kSuccess,
  kInvalidArgument,
  kInvalidIndex,
  kInvalidResponse,
  kReadOnlyIndex,
  kInvalidOperation,
  kBufferTooSmall,
  kInputTooLarge,
  kInternalError,
};
// NsmErrorCodeName returns the serde name ("InvalidArgument", ...).
const char* NsmErrorCodeName(NsmErrorCode code);

// Responses (src/api/mod.rs `enum Response`).
struct NsmDescribePcrResponse {
  bool lock = false;
  Bytes data;
  bool operator==(const NsmDescribePcrResponse&) const = default;
};
struct NsmExtendPcrResponse {
  Bytes data;
  bool operator==(const NsmExtendPcrResponse&) const = default;
};
struct NsmLockPcrResponse {
  bool operator==(const NsmLockPcrResponse&) const = default;
};
struct NsmLockPcrsResponse {
  bool operator==(const NsmLockPcrsResponse&) const = default;
};
struct NsmDescribeNsmResponse {
  uint16_t version_major = 1;
  uint16_t version_minor = 0;
  uint16_t version_patch = 0;
  std::string module_id;
  uint16_t max_pcrs = 32;
  std::vector<uint16_t> locked_pcrs;  // strictly ascending (a BTreeSet)
  std::string digest = "SHA384";      // "SHA256", "SHA384" or "SHA512"
  bool operator==(const NsmDescribeNsmResponse&) const = default;
};
struct NsmAttestationResponse {
  Bytes document;
  bool operator==(const NsmAttestationResponse&) const = default;
};
struct NsmGetRandomResponse {
  Bytes random;
  bool operator==(const NsmGetRandomResponse&) const = default;
};
struct NsmErrorResponse {
  NsmErrorCode code = NsmErrorCode::kInternalError;
  bool operator==(const NsmErrorResponse&) const = default;
};
// NsmResponse is one response from the secure module.
using NsmResponse = std::variant<NsmDescribePcrResponse, NsmExtendPcrResponse, NsmLockPcrResponse,
                                 NsmLockPcrsResponse, NsmDescribeNsmResponse,
                                 NsmAttestationResponse, NsmGetRandomResponse, NsmErrorResponse>;

// EncodeNsmRequest returns the CBOR encoding of `request` (see the file comment).
Bytes EncodeNsmRequest(const NsmRequest& request);
// DecodeNsmRequest parses a request. InvalidArgument when the input is larger than
// kNsmRequestMaxLen, is not one CBOR item, names no known variant, or has a missing, duplicate,
// unknown or mistyped field (an index above 65535 included).
absl::StatusOr<NsmRequest> DecodeNsmRequest(ByteSpan data);

// EncodeNsmResponse returns the CBOR encoding of `response`. locked_pcrs is written sorted and
// without duplicates, as a BTreeSet serialises.
Bytes EncodeNsmResponse(const NsmResponse& response);
// DecodeNsmResponse parses a response. InvalidArgument as for DecodeNsmRequest (the cap is
// kNsmResponseMaxLen), and for locked_pcrs that are not strictly ascending or a digest or error
// name that is not known.
absl::StatusOr<NsmResponse> DecodeNsmResponse(ByteSpan data);

}  // namespace confide::attest

#endif  // CONFIDE_ATTEST_NSM_CODEC_H_
