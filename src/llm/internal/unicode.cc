#include "llm/internal/unicode.h"

#include <algorithm>
#include <array>
#include <iterator>

namespace confide::llm::internal {
namespace {

struct Run {
  uint32_t first;
  uint8_t flags;
};

constexpr Run kRuns[] = {
#include "llm/internal/unicode_tables.inc"
};

}  // namespace

uint8_t CategoryOf(uint32_t cp) {
  if (cp == kInvalidCodepoint) return kCatSymbol;
  if (cp > 0x10FFFF) return kCatUndefined;
  // The last run whose first code point is <= cp.
  auto it = std::upper_bound(std::begin(kRuns), std::end(kRuns), cp,
                             [](uint32_t v, const Run& r) { return v < r.first; });
  return std::prev(it)->flags;
}

bool IsWhitespace(uint32_t cp) {
  // Unicode PropList.txt, White_Space.
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

namespace {

// DecodeOne decodes the sequence at text[pos]; returns its length (0 when invalid).
size_t DecodeOne(std::string_view text, size_t pos, uint32_t* cp) {
  const auto b = [&](size_t i) { return static_cast<uint8_t>(text[pos + i]); };
  const size_t left = text.size() - pos;
  const uint8_t lead = b(0);
  if (lead < 0x80) {
    *cp = lead;
    return 1;
  }
  size_t len;
  uint32_t value;
  uint32_t min;
  if ((lead & 0xE0) == 0xC0) {
    len = 2, value = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    len = 3, value = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    len = 4, value = lead & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (left < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
    value = (value << 6) | (b(i) & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *cp = value;
  return len;
}

}  // namespace

std::vector<Codepoint> DecodeUtf8(std::string_view text) {
  std::vector<Codepoint> out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cp = 0;
    size_t len = DecodeOne(text, pos, &cp);
    if (len == 0) {
      cp = kInvalidCodepoint;
      len = 1;
    }
    out.push_back(Codepoint{cp, static_cast<uint32_t>(pos), static_cast<uint32_t>(len)});
    pos += len;
  }
  return out;
}

bool IsValidUtf8(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cp = 0;
    const size_t len = DecodeOne(text, pos, &cp);
    if (len == 0) return false;
    pos += len;
  }
  return true;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace confide::llm::internal
