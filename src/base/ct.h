// confide::ConstantTimeEquals: compare MACs, tags, tokens and nonces without a timing oracle.
#ifndef CONFIDE_BASE_CT_H_
#define CONFIDE_BASE_CT_H_

#include "base/bytes.h"

namespace confide {

// ConstantTimeEquals returns true when `a` and `b` hold the same bytes. The time taken depends
// only on the lengths (which are treated as public), never on where the contents differ.
bool ConstantTimeEquals(ByteSpan a, ByteSpan b);

}  // namespace confide

#endif  // CONFIDE_BASE_CT_H_
