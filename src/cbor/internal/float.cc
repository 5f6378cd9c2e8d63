#include "cbor/internal/float.h"

#include <cfloat>
#include <cmath>
#include <cstring>

namespace confide::cbor::internal {
namespace {

constexpr uint64_t kDoubleSignBit = uint64_t{1} << 63;
constexpr uint64_t kDoubleExpMask = uint64_t{0x7ff} << 52;
constexpr uint64_t kDoubleMantMask = (uint64_t{1} << 52) - 1;

bool IsNanOrInf(uint64_t dbits) { return (dbits & kDoubleExpMask) == kDoubleExpMask; }

// FitsHalf reports whether the finite, non-zero |v| is m * 2^k with a half-precision m and k.
bool FitsHalf(double abs_v) {
  const int e = std::ilogb(abs_v);
  if (e > 15) {
    return false;
  }
  if (e >= -14) {
    // Normal half: 1.m (10 fraction bits) * 2^e.
    const double t = std::ldexp(abs_v, 10 - e);
    return t == std::floor(t);
  }
  // Subnormal half: m * 2^-24 with 1 <= m < 1024.
  const double t = std::ldexp(abs_v, 24);
  return t >= 1 && t < 1024 && t == std::floor(t);
}

bool FitsSingle(double abs_v) {
  if (abs_v > static_cast<double>(FLT_MAX)) {
    return false;  // also avoids the undefined out-of-range cast below
  }
  const float f = static_cast<float>(abs_v);
  return static_cast<double>(f) == abs_v;
}

}  // namespace

double DoubleFromBits(uint64_t bits) {
  double v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

uint64_t BitsFromDouble(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return bits;
}

uint64_t WidenToDoubleBits(FloatWidth w, uint64_t bits) {
  switch (w) {
    case FloatWidth::kHalf: {
      const uint64_t sign = (bits >> 15) & 1;
      const uint64_t exp = (bits >> 10) & 0x1f;
      const uint64_t mant = bits & 0x3ff;
      if (exp == 0x1f) {
        return (sign << 63) | kDoubleExpMask | (mant << 42);
      }
      double v;
      if (exp == 0) {
        v = std::ldexp(static_cast<double>(mant), -24);  // subnormal or zero
      } else {
        v = std::ldexp(static_cast<double>(mant + 1024), static_cast<int>(exp) - 25);
      }
      return BitsFromDouble(v) | (sign << 63);
    }
    case FloatWidth::kSingle: {
      const uint64_t sign = (bits >> 31) & 1;
      const uint64_t exp = (bits >> 23) & 0xff;
      const uint64_t mant = bits & 0x7fffff;
      if (exp == 0xff) {
        return (sign << 63) | kDoubleExpMask | (mant << 29);
      }
      const uint32_t b32 = static_cast<uint32_t>(bits);
      float f;
      std::memcpy(&f, &b32, sizeof(f));
      return BitsFromDouble(static_cast<double>(f));  // exact for finite values
    }
    case FloatWidth::kDouble:
      return bits;
  }
  return bits;
}

FloatWidth ShortestWidth(uint64_t dbits) {
  if (IsNanOrInf(dbits)) {
    const uint64_t mant = dbits & kDoubleMantMask;
    if ((mant & ((uint64_t{1} << 42) - 1)) == 0) {
      return FloatWidth::kHalf;  // infinity, or a NaN whose payload fits 10 bits
    }
    if ((mant & ((uint64_t{1} << 29) - 1)) == 0) {
      return FloatWidth::kSingle;
    }
    return FloatWidth::kDouble;
  }
  const double abs_v = std::fabs(DoubleFromBits(dbits));
  if (abs_v == 0 || FitsHalf(abs_v)) {
    return FloatWidth::kHalf;
  }
  if (FitsSingle(abs_v)) {
    return FloatWidth::kSingle;
  }
  return FloatWidth::kDouble;
}

uint64_t NarrowFromDoubleBits(uint64_t dbits, FloatWidth w) {
  const uint64_t sign = dbits >> 63;
  const uint64_t mant = dbits & kDoubleMantMask;
  switch (w) {
    case FloatWidth::kDouble:
      return dbits;
    case FloatWidth::kSingle: {
      if (IsNanOrInf(dbits)) {
        return (sign << 31) | (uint64_t{0xff} << 23) | (mant >> 29);
      }
      const float f = static_cast<float>(DoubleFromBits(dbits));
      uint32_t b32;
      std::memcpy(&b32, &f, sizeof(b32));
      return b32;
    }
    case FloatWidth::kHalf: {
      if (IsNanOrInf(dbits)) {
        return (sign << 15) | (uint64_t{0x1f} << 10) | (mant >> 42);
      }
      const double abs_v = std::fabs(DoubleFromBits(dbits & ~kDoubleSignBit));
      if (abs_v == 0) {
        return sign << 15;
      }
      const int e = std::ilogb(abs_v);
      if (e >= -14) {
        const auto t = static_cast<uint64_t>(std::ldexp(abs_v, 10 - e));
        return (sign << 15) | (static_cast<uint64_t>(e + 15) << 10) | (t - 1024);
      }
      return (sign << 15) | static_cast<uint64_t>(std::ldexp(abs_v, 24));
    }
  }
  return dbits;
}

}  // namespace confide::cbor::internal
