#include "base/encoding.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace confide::base {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Encode64(ByteSpan data, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

// Decode64 decodes `text`; `padding` says whether '=' padding is required (true), forbidden
// or optional (false: accepted when present and correct).
absl::StatusOr<Bytes> Decode64(std::string_view text, const char* alphabet, bool require_pad,
                               std::string_view name_view) {
  const std::string name(name_view);
  std::array<int8_t, 256> rev;
  rev.fill(-1);
  for (int i = 0; i < 64; ++i) rev[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);

  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  std::string_view body = text.substr(0, text.size() - pad);
  if (require_pad && text.size() % 4 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": length is not a multiple of 4"));
  }
  if (pad > 0 && text.size() % 4 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": bad padding"));
  }
  if (body.size() % 4 == 1) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": truncated input"));
  }
  if (pad > 0 && (body.size() % 4) + pad != 4) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": bad padding"));
  }
  Bytes out;
  out.reserve(body.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    int v = rev[static_cast<uint8_t>(body[i])];
    if (v < 0) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": invalid character at offset ", i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": non-zero trailing bits"));
  }
  return out;
}

}  // namespace

std::string HexEncode(ByteSpan data) {
  std::string out(data.size() * 2, '\0');
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kHexDigits[data[i] >> 4];
    out[2 * i + 1] = kHexDigits[data[i] & 15];
  }
  return out;
}

absl::StatusOr<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError("hex: odd number of digits");
  }
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("hex: invalid digit at offset ", 2 * i + (hi < 0 ? 0 : 1)));
    }
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return out;
}

std::string Base64Encode(ByteSpan data) { return Encode64(data, kStd, true); }

absl::StatusOr<Bytes> Base64Decode(std::string_view text) {
  return Decode64(text, kStd, true, "base64");
}

std::string Base64UrlEncode(ByteSpan data) { return Encode64(data, kUrl, false); }

absl::StatusOr<Bytes> Base64UrlDecode(std::string_view text) {
  return Decode64(text, kUrl, false, "base64url");
}

}  // namespace confide::base
