// confide::base byte buffers: owned Bytes, borrowed ByteSpan, and small conversions.
#ifndef CONFIDE_BASE_BYTES_H_
#define CONFIDE_BASE_BYTES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace confide {

// Bytes is an owned, growable byte buffer. Use SecretBytes (secret_bytes.h) for key material.
using Bytes = std::vector<uint8_t>;
// ByteSpan is a borrowed, read-only view of bytes; the owner must outlive it.
using ByteSpan = std::span<const uint8_t>;

// ToBytes copies the characters of `s` into a Bytes.
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// AsBytes views the characters of `s` as bytes without copying.
inline ByteSpan AsBytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// AsStringView views `b` as characters without copying.
inline std::string_view AsStringView(ByteSpan b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

// Append appends `tail` to `out`.
inline void Append(Bytes& out, ByteSpan tail) { out.insert(out.end(), tail.begin(), tail.end()); }

// Concat returns the concatenation of `parts`.
inline Bytes Concat(std::initializer_list<ByteSpan> parts) {
  size_t total = 0;
  for (ByteSpan p : parts) total += p.size();
  Bytes out;
  out.reserve(total);
  for (ByteSpan p : parts) Append(out, p);
  return out;
}

}  // namespace confide

#endif  // CONFIDE_BASE_BYTES_H_
