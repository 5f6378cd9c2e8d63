// Fuzzes the vsock-proxy allowlist parser: never crashes, and whatever it accepts re-encodes to
// text that parses back to the same entries, each within the documented bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/allowlist.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto l = confide::proxy::ParseAllowlist(text);
  if (!l.ok()) return 0;
  if (l->size() > confide::proxy::kMaxAllowlistEntries) std::abort();
  for (const auto& e : *l) {
    if (e.port == 0 || e.address.empty() || e.address.size() > confide::proxy::kMaxAddressLen) {
      std::abort();
    }
  }
  auto back = confide::proxy::ParseAllowlist(confide::proxy::EncodeAllowlist(*l));
  if (!back.ok() || *back != *l) std::abort();
  return 0;
}
