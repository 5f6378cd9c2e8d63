// confide::proxy allowlist: the destinations vsock-proxy may forward to, in the YAML shape of
// AWS Nitro Enclaves' vsock-proxy configuration (/etc/nitro_enclaves/vsock-proxy.yaml):
//
//   allowlist:
//   - {address: kms.us-east-1.amazonaws.com, port: 443}
//   - address: kms-fips.us-east-1.amazonaws.com
//     port: 443
//
// Only this subset of YAML is accepted (strict, bounded): a top-level `allowlist:` key, then
// list items, each either a flow mapping `{address: A, port: P}` or a block mapping with the
// keys `address` and `port` (in either order) on consecutive, more-indented lines. Scalars may
// be plain or single/double quoted (no escapes). Comments (`#` at line start or after a space)
// and blank lines are ignored. Anything else — other keys, anchors, tags, multi-documents, tabs,
// duplicate keys, missing keys — is InvalidArgument naming the line.
#ifndef CONFIDE_PROXY_ALLOWLIST_H_
#define CONFIDE_PROXY_ALLOWLIST_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace confide::proxy {

// kMaxAllowlistBytes caps the configuration file; kMaxAllowlistEntries its entries;
// kMaxAddressLen one address (a DNS name's maximum length).
inline constexpr size_t kMaxAllowlistBytes = 64 * 1024;
inline constexpr size_t kMaxAllowlistEntries = 1024;
inline constexpr size_t kMaxAddressLen = 253;

// AllowlistEntry is one allowed destination.
struct AllowlistEntry {
  std::string address;  // host name or IP literal, as written (compared case-insensitively)
  uint16_t port = 0;    // 1..65535
  bool operator==(const AllowlistEntry&) const = default;
};

// ParseAllowlist parses the YAML subset above. InvalidArgument "line N: ..." on any deviation,
// an address that is empty, too long or has characters outside [A-Za-z0-9.:_-], a port outside
// 1..65535, more than kMaxAllowlistEntries entries or more than kMaxAllowlistBytes of input.
// An empty list (`allowlist: []` or no items) is allowed and allows nothing.
absl::StatusOr<std::vector<AllowlistEntry>> ParseAllowlist(std::string_view yaml);

// EncodeAllowlist writes `entries` in the flow form above (what ParseAllowlist reads back).
std::string EncodeAllowlist(const std::vector<AllowlistEntry>& entries);

// IsAllowed returns OK when (address, port) is listed, PermissionDenied naming the destination
// otherwise.
absl::Status IsAllowed(const std::vector<AllowlistEntry>& entries, std::string_view address,
                       uint16_t port);

}  // namespace confide::proxy

#endif  // CONFIDE_PROXY_ALLOWLIST_H_
