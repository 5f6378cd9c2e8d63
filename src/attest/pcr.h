// confide::attest PCRs: platform configuration registers as AWS Nitro computes them.
//
// A PCR starts as 48 zero bytes and is extended with SHA-384: PCR' = SHA-384(PCR || data).
// Nitro's image measurements (PCR0/1/2/8) are one extension of the zero register with the
// SHA-384 of the measured bytes, so a measurement is SHA-384(48 zero bytes || SHA-384(bytes)).
#ifndef CONFIDE_ATTEST_PCR_H_
#define CONFIDE_ATTEST_PCR_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace confide::attest {

// kPcrLen is the length of a SHA-384 PCR.
inline constexpr size_t kPcrLen = 48;
// kMaxPcrIndex is the highest PCR index a Nitro document may carry (0..31).
inline constexpr uint32_t kMaxPcrIndex = 31;

// PcrMap maps PCR index to value.
using PcrMap = std::map<uint32_t, Bytes>;

// ZeroPcr returns 48 zero bytes, the initial value of every PCR.
Bytes ZeroPcr();

// ExtendPcr returns SHA-384(`pcr` || `data`). InvalidArgument if `pcr` is not 48 bytes.
absl::StatusOr<Bytes> ExtendPcr(ByteSpan pcr, ByteSpan data);

// MeasureBytes returns SHA-384(ZeroPcr() || SHA-384(`data`)): the PCR value of a register that
// was extended once with the digest of `data` (how Nitro measures image sections).
Bytes MeasureBytes(ByteSpan data);

// MeasureParent returns SHA-384(ZeroPcr() || `value`): how Nitro measures the parent
// instance into PCR3 (its IAM role ARN) and PCR4 (its instance ID). The value is extended
// directly, not its digest — AWS's user guide ("Where to get an enclave's measurements")
// computes them as sha384(b'\0' * 48 + value.encode('utf-8')). An empty value (a parent with no
// role) leaves the register at zero.
Bytes MeasureParent(std::string_view value);

// ParsePcrArg parses "N=HEX" (N in 0..31; HEX of 32, 48 or 64 bytes) as the CLI accepts it.
absl::StatusOr<std::pair<uint32_t, Bytes>> ParsePcrArg(std::string_view arg);

// IsDebugPcr returns true for the PCRs a debug-mode Nitro enclave reports as zeros (0,1,2,8).
bool IsDebugPcr(uint32_t index);

}  // namespace confide::attest

#endif  // CONFIDE_ATTEST_PCR_H_
