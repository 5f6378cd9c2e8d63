#include "cbor/internal/utf8.h"

namespace confide::cbor::internal {

//= https://www.rfc-editor.org/rfc/rfc3629#section-4
//# UTF8-2 = %xC2-DF UTF8-tail
//# UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
//#          %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
//# UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
//#          %xF4 %x80-8F 2( UTF8-tail )
bool IsValidUtf8(ByteSpan s) {
  size_t i = 0;
  const size_t n = s.size();
  auto tail = [&](size_t at) { return at < n && (s[at] & 0xc0) == 0x80; };
  while (i < n) {
    const uint8_t b = s[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint8_t lo = 0x80;
    uint8_t hi = 0xbf;  // allowed range of the second byte
    if (b >= 0xc2 && b <= 0xdf) {
      len = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      if (b == 0xe0) lo = 0xa0;  // overlong
      if (b == 0xed) hi = 0x9f;  // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      if (b == 0xf0) lo = 0x90;  // overlong
      if (b == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return false;  // continuation byte, C0/C1 (overlong) or F5..FF
    }
    if (i + 1 >= n || s[i + 1] < lo || s[i + 1] > hi) {
      return false;
    }
    for (size_t k = 2; k < len; ++k) {
      if (!tail(i + k)) {
        return false;
      }
    }
    i += len;
  }
  return true;
}

}  // namespace confide::cbor::internal
