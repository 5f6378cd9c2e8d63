// confide::base::ByteCursor: bounds-checked reads over untrusted bytes (BoringSSL's CBS).
//
// Every read checks the bytes left before touching memory and returns false, without moving,
// when there are too few. Parsers turn a false into a Status naming what they were reading.
#ifndef CONFIDE_BASE_CURSOR_H_
#define CONFIDE_BASE_CURSOR_H_

#include <cstddef>
#include <cstdint>

#include "base/bytes.h"

namespace confide::base {

// ByteCursor reads forward through a borrowed span. Not thread-safe; cheap to copy (a copy is
// an independent cursor over the same bytes).
class ByteCursor {
 public:
  explicit ByteCursor(ByteSpan data) : data_(data) {}

  // remaining returns how many bytes are left to read.
  size_t remaining() const { return data_.size() - offset_; }
  // empty returns true when no bytes are left.
  bool empty() const { return remaining() == 0; }
  // offset returns how many bytes have been consumed since construction.
  size_t offset() const { return offset_; }
  // rest returns the unread bytes without consuming them.
  ByteSpan rest() const { return data_.subspan(offset_); }

  // PeekU8 reads one byte without consuming it; false when empty.
  [[nodiscard]] bool PeekU8(uint8_t* out) const;
  // ReadU8 / ReadU16BE / ReadU32BE / ReadU64BE read a big-endian unsigned integer.
  [[nodiscard]] bool ReadU8(uint8_t* out);
  [[nodiscard]] bool ReadU16BE(uint16_t* out);
  [[nodiscard]] bool ReadU32BE(uint32_t* out);
  [[nodiscard]] bool ReadU64BE(uint64_t* out);
  // ReadU16LE / ReadU32LE / ReadU64LE read a little-endian unsigned integer.
  [[nodiscard]] bool ReadU16LE(uint16_t* out);
  [[nodiscard]] bool ReadU32LE(uint32_t* out);
  [[nodiscard]] bool ReadU64LE(uint64_t* out);
  // ReadBytes sets *out to a view of the next `len` bytes and consumes them.
  [[nodiscard]] bool ReadBytes(size_t len, ByteSpan* out);
  // Skip consumes `len` bytes.
  [[nodiscard]] bool Skip(size_t len);

 private:
  template <typename T>
  bool ReadBig(T* out);
  template <typename T>
  bool ReadLittle(T* out);

  ByteSpan data_;
  size_t offset_ = 0;
};

}  // namespace confide::base

#endif  // CONFIDE_BASE_CURSOR_H_
