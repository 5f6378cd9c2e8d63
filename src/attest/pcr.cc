#include "attest/pcr.h"

#include <charconv>
#include <string>

#include "base/encoding.h"
#include "crypto/sha.h"

namespace confide::attest {

Bytes ZeroPcr() { return Bytes(kPcrLen, 0); }

absl::StatusOr<Bytes> ExtendPcr(ByteSpan pcr, ByteSpan data) {
  if (pcr.size() != kPcrLen) {
    return absl::InvalidArgumentError("PCR to extend must be 48 bytes (SHA-384)");
  }
  return crypto::Sha384(Concat({pcr, data}));
}

Bytes MeasureBytes(ByteSpan data) {
  Bytes digest = crypto::Sha384(data);
  return crypto::Sha384(Concat({ZeroPcr(), digest}));
}

Bytes MeasureParent(std::string_view value) {
  if (value.empty()) return ZeroPcr();
  return crypto::Sha384(Concat({ZeroPcr(), AsBytes(value)}));
}

absl::StatusOr<std::pair<uint32_t, Bytes>> ParsePcrArg(std::string_view arg) {
  size_t eq = arg.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError("PCR expectation must look like N=HEX");
  }
  uint32_t index = 0;
  std::string_view num = arg.substr(0, eq);
  auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), index);
  if (ec != std::errc() || ptr != num.data() + num.size() || index > kMaxPcrIndex) {
    return absl::InvalidArgumentError("PCR index must be an integer in 0..31");
  }
  auto value = base::HexDecode(arg.substr(eq + 1));
  if (!value.ok()) {
    return absl::InvalidArgumentError("PCR value is not valid hex");
  }
  if (value->size() != 32 && value->size() != 48 && value->size() != 64) {
    return absl::InvalidArgumentError("PCR value must be 32, 48 or 64 bytes");
  }
  return std::make_pair(index, *std::move(value));
}

bool IsDebugPcr(uint32_t index) { return index == 0 || index == 1 || index == 2 || index == 8; }

}  // namespace confide::attest
