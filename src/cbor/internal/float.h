// Private to confide::cbor: IEEE 754 half/single/double conversions on raw bits.
//
// Conversions work on bits so that NaN payloads and signs survive exactly (a C++ float cast
// may quieten a signalling NaN, and out-of-range casts are undefined).
#ifndef CONFIDE_CBOR_INTERNAL_FLOAT_H_
#define CONFIDE_CBOR_INTERNAL_FLOAT_H_

#include <cstdint>

#include "cbor/value.h"

namespace confide::cbor::internal {

// WidenToDoubleBits returns the bits of the double equal to the float `bits` of width `w`.
// A NaN keeps its sign and its significand, shifted to the top (RFC 8949 §4.2.2: a shorter
// NaN is the longer one with the significand zero-padded on the right).
uint64_t WidenToDoubleBits(FloatWidth w, uint64_t bits);

// ShortestWidth returns the shortest width that represents the double `dbits` exactly.
FloatWidth ShortestWidth(uint64_t dbits);

// NarrowFromDoubleBits returns the bits of `dbits` at width `w`. Precondition: `w` is at least
// ShortestWidth(dbits), so the conversion is exact.
uint64_t NarrowFromDoubleBits(uint64_t dbits, FloatWidth w);

// DoubleFromBits / BitsFromDouble reinterpret between double and its bits.
double DoubleFromBits(uint64_t bits);
uint64_t BitsFromDouble(double v);

}  // namespace confide::cbor::internal

#endif  // CONFIDE_CBOR_INTERNAL_FLOAT_H_
