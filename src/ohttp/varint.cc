#include "ohttp/varint.h"

#include <cstdlib>

namespace confide::ohttp {

//= https://www.rfc-editor.org/rfc/rfc9000#section-16
//# The QUIC variable-length integer encoding reserves the two most significant bits of the
//# first byte to encode the base-2 logarithm of the integer encoding length in bytes.
bool ReadVarint(base::ByteCursor& in, uint64_t* out) {
  uint8_t first;
  if (!in.PeekU8(&first)) return false;
  const size_t len = size_t{1} << (first >> 6);
  ByteSpan bytes;
  base::ByteCursor probe = in;
  if (!probe.ReadBytes(len, &bytes)) return false;
  uint64_t v = bytes[0] & 0x3f;
  for (size_t i = 1; i < len; ++i) v = (v << 8) | bytes[i];
  in = probe;
  *out = v;
  return true;
}

size_t VarintLen(uint64_t v) {
  if (v < (1u << 6)) return 1;
  if (v < (1u << 14)) return 2;
  if (v < (uint64_t{1} << 30)) return 4;
  return 8;
}

void AppendVarint(Bytes& out, uint64_t v) {
  if (v > kMaxVarint) std::abort();
  const size_t len = VarintLen(v);
  const uint8_t prefix = len == 1 ? 0x00 : len == 2 ? 0x40 : len == 4 ? 0x80 : 0xc0;
  for (size_t i = len; i > 0; --i) {
    uint8_t b = static_cast<uint8_t>(v >> (8 * (i - 1)));
    if (i == len) b |= prefix;
    out.push_back(b);
  }
}

}  // namespace confide::ohttp
