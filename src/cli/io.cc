#include "cli/io.h"

#include <cctype>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/file.h"

namespace confide::cli {

absl::StatusOr<Bytes> ReadInput(const std::string& path) {
  return base::ReadFileBounded(path, kMaxInputFileBytes);
}

absl::StatusOr<Bytes> DecodeBinaryInput(ByteSpan data) {
  if (!data.empty() && (data[0] == 0x84 || data[0] == 0xd2)) {
    return Bytes(data.begin(), data.end());
  }
  std::string_view text = AsStringView(data);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (auto hex = base::HexDecode(text); hex.ok()) return hex;
  if (auto b64 = base::Base64Decode(text); b64.ok()) return b64;
  if (auto b64u = base::Base64UrlDecode(text); b64u.ok()) return b64u;
  return absl::InvalidArgumentError(
      "input is neither raw CBOR (starting 0x84 or 0xd2), hex, base64 nor base64url");
}

absl::StatusOr<absl::Time> ParseTime(const std::string& text) {
  std::string_view v = text;
  bool millis = false;
  if (v.size() > 2 && v.substr(v.size() - 2) == "ms") {
    millis = true;
    v.remove_suffix(2);
  }
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec == std::errc() && ptr == v.data() + v.size()) {
    return millis ? absl::FromUnixMillis(n) : absl::FromUnixSeconds(n);
  }
  absl::Time t;
  std::string err;
  if (!millis && absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
    return t;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("cannot parse time '", text,
                   "': use RFC 3339 (2024-11-05T07:47:43Z), Unix seconds, or Unix ms with 'ms'"));
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

}  // namespace confide::cli
