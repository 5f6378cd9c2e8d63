// Private to confide::cbor: strict UTF-8 validation (RFC 3629 §4).
#ifndef CONFIDE_CBOR_INTERNAL_UTF8_H_
#define CONFIDE_CBOR_INTERNAL_UTF8_H_

#include "base/bytes.h"

namespace confide::cbor::internal {

// IsValidUtf8 returns true when `s` is well-formed UTF-8: no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence.
bool IsValidUtf8(ByteSpan s);

}  // namespace confide::cbor::internal

#endif  // CONFIDE_CBOR_INTERNAL_UTF8_H_
