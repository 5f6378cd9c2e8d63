// confide::ohttp variable-length integers (RFC 9000 §16), as Binary HTTP (RFC 9292) and
// chunked OHTTP use them: 1, 2, 4 or 8 bytes, the two high bits of the first byte give the
// length, values up to 2^62 - 1.
#ifndef CONFIDE_OHTTP_VARINT_H_
#define CONFIDE_OHTTP_VARINT_H_

#include <cstdint>

#include "base/bytes.h"
#include "base/cursor.h"

namespace confide::ohttp {

// kMaxVarint is the largest value a varint can carry.
inline constexpr uint64_t kMaxVarint = (uint64_t{1} << 62) - 1;

// ReadVarint reads one varint; false (cursor unmoved) when the input ends inside it.
[[nodiscard]] bool ReadVarint(base::ByteCursor& in, uint64_t* out);

// AppendVarint appends `v` in its shortest encoding. `v` must be at most kMaxVarint
// (larger values are a caller bug and abort).
void AppendVarint(Bytes& out, uint64_t v);

// VarintLen returns the length of the shortest encoding of `v` (1, 2, 4 or 8).
size_t VarintLen(uint64_t v);

}  // namespace confide::ohttp

#endif  // CONFIDE_OHTTP_VARINT_H_
