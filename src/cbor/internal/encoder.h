// Private to confide::cbor: encoder entry points shared by the decoder.
#ifndef CONFIDE_CBOR_INTERNAL_ENCODER_H_
#define CONFIDE_CBOR_INTERNAL_ENCODER_H_

#include <cstdint>

#include "base/bytes.h"
#include "cbor/codec.h"
#include "cbor/value.h"

namespace confide::cbor::internal {

// AppendHead appends the shortest head for `major` (0..7) with argument `arg`.
void AppendHead(uint8_t major, uint64_t arg, Bytes& out);

// AppendKeyIdentity appends the encoding used to compare map keys for equality: the
// deterministic encoding with every float narrowed to its shortest exact width, so that two
// keys are the same exactly when they are the same value in the generic data model.
void AppendKeyIdentity(const Value& key, Bytes& out);

}  // namespace confide::cbor::internal

#endif  // CONFIDE_CBOR_INTERNAL_ENCODER_H_
