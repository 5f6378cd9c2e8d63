#include "base/cursor.h"

namespace confide::base {

template <typename T>
bool ByteCursor::ReadBig(T* out) {
  if (remaining() < sizeof(T)) {
    return false;
  }
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    v = static_cast<T>((v << 8) | data_[offset_ + i]);
  }
  offset_ += sizeof(T);
  *out = v;
  return true;
}

template <typename T>
bool ByteCursor::ReadLittle(T* out) {
  if (remaining() < sizeof(T)) {
    return false;
  }
  T v = 0;
  for (size_t i = sizeof(T); i > 0; --i) {
    v = static_cast<T>((v << 8) | data_[offset_ + i - 1]);
  }
  offset_ += sizeof(T);
  *out = v;
  return true;
}

bool ByteCursor::PeekU8(uint8_t* out) const {
  if (empty()) {
    return false;
  }
  *out = data_[offset_];
  return true;
}

bool ByteCursor::ReadU8(uint8_t* out) { return ReadBig(out); }
bool ByteCursor::ReadU16BE(uint16_t* out) { return ReadBig(out); }
bool ByteCursor::ReadU32BE(uint32_t* out) { return ReadBig(out); }
bool ByteCursor::ReadU64BE(uint64_t* out) { return ReadBig(out); }
bool ByteCursor::ReadU16LE(uint16_t* out) { return ReadLittle(out); }
bool ByteCursor::ReadU32LE(uint32_t* out) { return ReadLittle(out); }
bool ByteCursor::ReadU64LE(uint64_t* out) { return ReadLittle(out); }

bool ByteCursor::ReadBytes(size_t len, ByteSpan* out) {
  if (remaining() < len) {
    return false;
  }
  *out = data_.subspan(offset_, len);
  offset_ += len;
  return true;
}

bool ByteCursor::Skip(size_t len) {
  if (remaining() < len) {
    return false;
  }
  offset_ += len;
  return true;
}

}  // namespace confide::base
