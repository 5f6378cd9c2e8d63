#include "llm/kernels.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "llm/internal/kernels_simd.h"

namespace confide::llm {
namespace {

std::vector<float> RandomVec(std::mt19937& rng, size_t n, float scale = 1.0f) {
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Naive references, in double precision.

double RefF16(uint16_t h) {
  const int sign = (h >> 15) ? -1 : 1;
  const int exp = (h >> 10) & 0x1f;
  const int mant = h & 0x3ff;
  if (exp == 0) return sign * std::ldexp(mant, -24);
  if (exp == 31) return mant ? NAN : sign * INFINITY;
  return sign * std::ldexp(1024 + mant, exp - 25);
}

std::vector<float> RefDequant(GgmlType type, const Bytes& data, size_t n) {
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    if (type == GgmlType::kF32) {
      std::memcpy(&out[i], data.data() + 4 * i, 4);
    } else if (type == GgmlType::kF16) {
      uint16_t h;
      std::memcpy(&h, data.data() + 2 * i, 2);
      out[i] = static_cast<float>(RefF16(h));
    } else if (type == GgmlType::kBF16) {
      uint16_t h;
      std::memcpy(&h, data.data() + 2 * i, 2);
      uint32_t bits = static_cast<uint32_t>(h) << 16;
      std::memcpy(&out[i], &bits, 4);
    } else if (type == GgmlType::kQ4_0) {  // block = f16 d, 16 bytes of nibbles
      const uint8_t* blk = data.data() + (i / 32) * 18;
      uint16_t d;
      std::memcpy(&d, blk, 2);
      const size_t j = i % 32;
      const int q = j < 16 ? (blk[2 + j] & 0xF) : (blk[2 + j - 16] >> 4);
      out[i] = static_cast<float>(RefF16(d) * (q - 8));
    } else if (type == GgmlType::kQ5_0) {  // block = f16 d, u32 high bits, 16 bytes of nibbles
      const uint8_t* blk = data.data() + (i / 32) * 22;
      uint16_t d;
      std::memcpy(&d, blk, 2);
      const size_t j = i % 32;
      const int lo = j < 16 ? (blk[6 + j] & 0xF) : (blk[6 + j - 16] >> 4);
      const int hi = (blk[2 + j / 8] >> (j % 8)) & 1;
      out[i] = static_cast<float>(RefF16(d) * (lo + 16 * hi - 16));
    } else if (type == GgmlType::kQ4_K) {
      // block_q4_K: d, dmin (f16), 12 bytes of 6-bit scales/mins, 128 bytes of nibbles.
      const uint8_t* blk = data.data() + (i / 256) * 144;
      uint16_t d, dmin;
      std::memcpy(&d, blk, 2);
      std::memcpy(&dmin, blk + 2, 2);
      const uint8_t* sc = blk + 4;
      const size_t e = i % 256, sub = e / 32, chunk = e / 64, l = e % 32;
      int scale, min;
      if (sub < 4) {
        scale = sc[sub] & 63;
        min = sc[sub + 4] & 63;
      } else {
        scale = (sc[sub + 4] & 15) + 16 * (sc[sub - 4] >> 6);
        min = (sc[sub + 4] >> 4) + 16 * (sc[sub] >> 6);
      }
      const uint8_t byte = blk[16 + 32 * chunk + l];
      const int q = (sub % 2 == 0) ? (byte & 15) : (byte >> 4);
      out[i] = static_cast<float>(RefF16(d) * scale * q - RefF16(dmin) * min);
    } else if (type == GgmlType::kQ6_K) {
      // block_q6_K: ql[128], qh[64], int8 scales[16], f16 d.
      const uint8_t* blk = data.data() + (i / 256) * 210;
      uint16_t d;
      std::memcpy(&d, blk + 208, 2);
      const size_t e = i % 256, half = e / 128, quarter = (e % 128) / 32, l = e % 32;
      const uint8_t lo_byte = blk[64 * half + l + (quarter % 2 == 1 ? 32 : 0)];
      const int lo = quarter < 2 ? (lo_byte & 15) : (lo_byte >> 4);
      const int hi = (blk[128 + 32 * half + l] >> (2 * quarter)) & 3;
      const int scale = static_cast<int8_t>(blk[192 + 8 * half + l / 16 + 2 * quarter]);
      out[i] = static_cast<float>(RefF16(d) * scale * (lo + 16 * hi - 32));
    } else {  // Q8_0: block = f16 d, 32 x int8
      const uint8_t* blk = data.data() + (i / 32) * 34;
      uint16_t d;
      std::memcpy(&d, blk, 2);
      out[i] = static_cast<float>(RefF16(d) * static_cast<int8_t>(blk[2 + i % 32]));
    }
  }
  return out;
}

Bytes Encode(GgmlType type, const std::vector<float>& v) {
  Bytes out;
  if (type == GgmlType::kF32) {
    out.resize(v.size() * 4);
    std::memcpy(out.data(), v.data(), out.size());
  } else if (type == GgmlType::kF16 || type == GgmlType::kBF16) {
    out.resize(v.size() * 2);
    for (size_t i = 0; i < v.size(); ++i) {
      uint16_t h;
      if (type == GgmlType::kF16) {
        h = F32ToF16(v[i]);
      } else {
        uint32_t bits;
        std::memcpy(&bits, &v[i], 4);
        h = static_cast<uint16_t>(bits >> 16);
      }
      std::memcpy(out.data() + 2 * i, &h, 2);
    }
  } else if (type == GgmlType::kQ4_0) {
    out.resize(v.size() / 32 * 18);
    QuantizeRowQ4_0(v, out);
  } else if (type == GgmlType::kQ5_0) {
    out.resize(v.size() / 32 * 22);
    QuantizeRowQ5_0(v, out);
  } else {
    out.resize(v.size() / 32 * 34);
    QuantizeRowQ8_0(v, out);
  }
  return out;
}

TEST(KernelsTest, F16ConversionIsExactForAllHalves) {
  int checked = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = F16ToF32(static_cast<uint16_t>(h));
    const float t = F16ToF32Table()[h];
    ASSERT_EQ(std::memcmp(&f, &t, 4), 0) << h;
    const double ref = RefF16(static_cast<uint16_t>(h));
    if (std::isnan(ref)) {
      EXPECT_TRUE(std::isnan(f));
      EXPECT_TRUE(F32ToF16(f) & 0x7c00);
      continue;
    }
    ASSERT_EQ(static_cast<double>(f), ref) << h;
    ASSERT_EQ(F32ToF16(f), h) << h;  // round trip
    ++checked;
  }
  EXPECT_EQ(checked, 65536 - 2 * 1023);
  // Rounding: to nearest, ties to even, overflow to infinity.
  EXPECT_EQ(F32ToF16(1.0f + 1.0f / 2048), F32ToF16(1.0f));      // tie -> even
  EXPECT_EQ(F32ToF16(1.0f + 3.0f / 2048), F32ToF16(1.0f) + 2);  // tie -> even (up)
  EXPECT_EQ(F32ToF16(65520.0f), 0x7c00);
  EXPECT_EQ(F32ToF16(65519.0f), 0x7bff);
  EXPECT_EQ(F32ToF16(1e-8f), 0);
}

TEST(KernelsTest, QuantizeQ8_0MatchesNaiveReference) {
  std::mt19937 rng(1);
  std::vector<float> x = RandomVec(rng, 256, 3.0f);
  x[5] = 0;
  std::fill(x.begin() + 64, x.begin() + 96, 0.0f);  // all-zero block
  Bytes q(256 / 32 * 34);
  QuantizeRowQ8_0(x, q);
  std::vector<float> back = RefDequant(GgmlType::kQ8_0, q, 256);
  for (size_t b = 0; b < 8; ++b) {
    float amax = 0;
    for (size_t i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
    for (size_t i = 0; i < 32; ++i) {
      // Error at most half a step (plus the f16 rounding of the scale).
      EXPECT_NEAR(back[b * 32 + i], x[b * 32 + i], amax / 127 * 0.5 + amax * 1e-3);
    }
  }
  std::vector<float> deq(256);
  DequantizeRow(GgmlType::kQ8_0, q.data(), deq);
  EXPECT_EQ(deq, back);
}

TEST(KernelsTest, QuantizeQ4_0AndQ5_0WithinOneStep) {
  std::mt19937 rng(5);
  for (GgmlType type : {GgmlType::kQ4_0, GgmlType::kQ5_0}) {
    const float levels = type == GgmlType::kQ4_0 ? 8.0f : 16.0f;
    std::vector<float> x = RandomVec(rng, 128, 2.0f);
    std::fill(x.begin() + 32, x.begin() + 64, 0.0f);  // all-zero block
    Bytes q = Encode(type, x);
    std::vector<float> back = RefDequant(type, q, 128), deq(128);
    DequantizeRow(type, q.data(), deq);
    EXPECT_EQ(deq, back);
    for (size_t b = 0; b < 4; ++b) {
      float amax = 0;
      for (size_t i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
      for (size_t i = 0; i < 32; ++i) {
        EXPECT_NEAR(back[b * 32 + i], x[b * 32 + i], amax / levels * 1.01f) << b << " " << i;
      }
    }
  }
}

// The K-quant encoders round-trip through the existing reader within the format's step: Q4_K
// 15 levels per 32-element sub-block (plus the 6-bit quantised scale and min), Q6_K 63 levels
// per 16 elements (plus the int8 scale); zero and constant rows come back exactly / closely.
TEST(KernelsTest, QuantizeQ4_KAndQ6_KRoundTrip) {
  std::mt19937 rng(11);
  for (GgmlType type : {GgmlType::kQ4_K, GgmlType::kQ6_K}) {
    const size_t n = 1024, block_bytes = type == GgmlType::kQ4_K ? 144 : 210;
    std::vector<float> x = RandomVec(rng, n, 2.0f);
    for (size_t i = 0; i < 256; ++i) x[256 + i] *= 0.01f * static_cast<float>(i % 7);
    std::fill(x.begin() + 512, x.begin() + 768, 0.0f);  // all-zero block
    std::fill(x.begin() + 768, x.end(), 0.75f);         // constant block
    Bytes q(n / 256 * block_bytes);
    if (type == GgmlType::kQ4_K) {
      QuantizeRowQ4_K(x, q);
    } else {
      QuantizeRowQ6_K(x, q);
    }
    std::vector<float> back(n);
    DequantizeRow(type, q.data(), back);
    for (size_t b = 0; b < n / 256; ++b) {
      float lo = 0, hi = 0, amax = 0;
      for (size_t i = 0; i < 256; ++i) {
        lo = std::min(lo, x[b * 256 + i]);
        hi = std::max(hi, x[b * 256 + i]);
        amax = std::max(amax, std::fabs(x[b * 256 + i]));
      }
      const float range = hi - lo;
      const float bound =
          type == GgmlType::kQ4_K ? range / 15 * 0.6f + range / 63 : amax / 31 * 0.6f + amax / 127;
      for (size_t i = 0; i < 256; ++i) {
        EXPECT_NEAR(back[b * 256 + i], x[b * 256 + i], bound + 1e-6f) << b << " " << i;
      }
    }
    for (size_t i = 512; i < 768; ++i) EXPECT_EQ(back[i], 0.0f) << i;
    for (size_t i = 768; i < n; ++i) EXPECT_NEAR(back[i], 0.75f, 0.75f / 63) << i;
  }
}

TEST(KernelsTest, QuantizedTimesQ8_0MatchesNaiveIntegerReference) {
  std::mt19937 rng(7);
  for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ5_0}) {
    ASSERT_TRUE(SupportsQ8Activations(type));
    const size_t rows = 9, cols = 128;
    std::vector<float> wf = RandomVec(rng, rows * cols), x = RandomVec(rng, cols, 3.0f);
    Bytes w = Encode(type, wf), xq = Encode(GgmlType::kQ8_0, x);
    const size_t row_bytes = w.size() / rows;
    std::vector<float> out(rows);
    MatVecRowsQ8_0(WeightView{type, w.data(), rows, cols, row_bytes}, xq, out, 0, rows);
    std::vector<float> xd = RefDequant(GgmlType::kQ8_0, xq, cols);
    for (size_t r = 0; r < rows; ++r) {
      Bytes row(w.begin() + r * row_bytes, w.begin() + (r + 1) * row_bytes);
      std::vector<float> wd = RefDequant(type, row, cols);
      double ref = 0, mag = 0, exact = 0;
      for (size_t c = 0; c < cols; ++c) {
        ref += static_cast<double>(wd[c]) * xd[c];
        mag += std::fabs(static_cast<double>(wd[c]) * xd[c]);
        exact += static_cast<double>(wf[r * cols + c]) * x[c];
      }
      EXPECT_NEAR(out[r], ref, 1e-5 * mag + 1e-6) << GgmlTypeName(type) << " " << r;
      // Against the unquantised product the error stays within a few quantisation steps.
      EXPECT_NEAR(out[r], exact, 0.2 * mag + 1e-3) << GgmlTypeName(type) << " " << r;
    }
  }
}

// Random bytes as quants (Q8_0 weights may hold -128; Q5_0 high bits all patterns) with small
// finite F16 scales; activations from QuantizeRowQ8_0. The SIMD and portable kernels must agree
// with each other and with a double-precision sum of the dequantised values.
TEST(KernelsTest, SimdQ8ActivationKernelsMatchPortable) {
  if (!internal::HaveAvx2Kernels()) GTEST_SKIP() << "no AVX2/FMA/F16C on this CPU or build";
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ5_0}) {
    const size_t block_bytes = type == GgmlType::kQ8_0 ? 34 : type == GgmlType::kQ4_0 ? 18 : 22;
    for (size_t cols : {32u, 64u, 96u, 576u, 1536u}) {
      const size_t rows = 7, row_bytes = cols / 32 * block_bytes;
      Bytes w(rows * row_bytes);
      for (auto& v : w) v = static_cast<uint8_t>(byte(rng));
      for (size_t b = 0; b < w.size() / block_bytes; ++b) {
        const uint16_t d = F32ToF16(scale(rng));
        std::memcpy(&w[b * block_bytes], &d, 2);
      }
      std::vector<float> x = RandomVec(rng, cols, 2.0f);
      Bytes xq(cols / 32 * 34);
      QuantizeRowQ8_0(x, xq);
      const WeightView view{type, w.data(), rows, cols, row_bytes};
      std::vector<float> simd(rows), portable(rows);
      MatVecRowsQ8_0(view, xq, simd, 0, rows);
      internal::SetPortableKernelsForTesting(true);
      MatVecRowsQ8_0(view, xq, portable, 0, rows);
      internal::SetPortableKernelsForTesting(false);
      std::vector<float> xd(cols), wd(cols);
      DequantizeRow(GgmlType::kQ8_0, xq.data(), xd);
      for (size_t r = 0; r < rows; ++r) {
        DequantizeRow(type, w.data() + r * row_bytes, wd);
        double ref = 0, mag = 0;
        for (size_t c = 0; c < cols; ++c) {
          ref += static_cast<double>(wd[c]) * xd[c];
          mag += std::fabs(static_cast<double>(wd[c]) * xd[c]);
        }
        EXPECT_NEAR(simd[r], ref, 1e-5 * mag + 1e-6) << GgmlTypeName(type) << " " << cols;
        EXPECT_NEAR(simd[r], portable[r], 2e-5 * mag + 1e-6) << GgmlTypeName(type) << " " << cols;
      }
    }
  }
}

// Q4_K and Q6_K weights (random bytes: every scale/min/high-bit pattern) with Q8_0 activations:
// the SIMD and portable kernels against a double sum of the dequantised products, and the
// batched kernel with and without Q8_0BlockInfos giving the single-token values exactly.
TEST(KernelsTest, KQuantsTimesQ8_0MatchReference) {
  std::mt19937 rng(13);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  size_t checked = 0;
  for (GgmlType type : {GgmlType::kQ4_K, GgmlType::kQ6_K}) {
    ASSERT_TRUE(SupportsQ8Activations(type));
    const size_t block_bytes = type == GgmlType::kQ4_K ? 144 : 210;
    for (size_t cols : {256u, 512u, 1536u}) {
      const size_t rows = 5, row_bytes = cols / 256 * block_bytes, nb = cols / 32;
      Bytes w(rows * row_bytes);
      for (auto& v : w) v = static_cast<uint8_t>(byte(rng));
      for (size_t b = 0; b < w.size() / block_bytes; ++b) {
        const uint16_t d = F32ToF16(scale(rng)), dmin = F32ToF16(scale(rng));
        if (type == GgmlType::kQ4_K) {
          std::memcpy(&w[b * block_bytes], &d, 2);
          std::memcpy(&w[b * block_bytes + 2], &dmin, 2);
        } else {
          std::memcpy(&w[b * block_bytes + 208], &d, 2);
        }
      }
      const WeightView view{type, w.data(), rows, cols, row_bytes};
      const size_t tokens = 6;
      std::vector<float> x = RandomVec(rng, tokens * cols, 2.0f);
      Bytes xq(tokens * nb * 34);
      std::vector<Q8_0BlockInfo> info(tokens * nb);
      for (size_t t = 0; t < tokens; ++t) {
        const std::span<uint8_t> row = std::span<uint8_t>(xq).subspan(t * nb * 34, nb * 34);
        QuantizeRowQ8_0(std::span<const float>(x).subspan(t * cols, cols), row);
        Q8_0BlockInfos(row, std::span<Q8_0BlockInfo>(info).subspan(t * nb, nb));
      }
      std::vector<float> batched(tokens * rows), batched_no_info(tokens * rows);
      MatMulRowsQ8_0(view, xq, nb * 34, tokens, batched, rows, 0, rows, info, nb);
      MatMulRowsQ8_0(view, xq, nb * 34, tokens, batched_no_info, rows, 0, rows);
      ASSERT_EQ(batched, batched_no_info);
      std::vector<float> xd(cols), wd(cols), simd(rows), portable(rows);
      for (size_t t = 0; t < tokens; ++t) {
        const std::span<const uint8_t> xt = std::span<const uint8_t>(xq).subspan(t * nb * 34);
        MatVecRowsQ8_0(view, xt, simd, 0, rows);
        internal::SetPortableKernelsForTesting(true);
        MatVecRowsQ8_0(view, xt, portable, 0, rows);
        internal::SetPortableKernelsForTesting(false);
        DequantizeRow(GgmlType::kQ8_0, xt.data(), xd);
        for (size_t r = 0; r < rows; ++r) {
          DequantizeRow(type, w.data() + r * row_bytes, wd);
          double ref = 0, mag = 0;
          for (size_t c = 0; c < cols; ++c) {
            ref += static_cast<double>(wd[c]) * xd[c];
            mag += std::fabs(static_cast<double>(wd[c]) * xd[c]);
          }
          EXPECT_NEAR(simd[r], ref, 1e-5 * mag + 1e-6) << GgmlTypeName(type) << cols << " " << r;
          EXPECT_NEAR(portable[r], ref, 1e-5 * mag + 1e-6)
              << GgmlTypeName(type) << cols << " " << r;
          ASSERT_EQ(batched[t * rows + r], simd[r])
              << GgmlTypeName(type) << cols << " t=" << t << " r=" << r;
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 2u * 3u * 6u * 5u);
}

TEST(KernelsTest, SimdFloatKernelsMatchPortable) {
  if (!internal::HaveAvx2Kernels()) GTEST_SKIP() << "no AVX2/FMA/F16C on this CPU or build";
  std::mt19937 rng(12);
  for (GgmlType type : {GgmlType::kF32, GgmlType::kF16}) {
    for (size_t cols : {1u, 7u, 8u, 15u, 16u, 33u, 100u, 576u}) {
      const size_t rows = 5;
      std::vector<float> wf = RandomVec(rng, rows * cols), x = RandomVec(rng, cols);
      Bytes data(rows * cols * (type == GgmlType::kF32 ? 4 : 2));
      if (type == GgmlType::kF32) {
        std::memcpy(data.data(), wf.data(), data.size());
      } else {
        for (size_t i = 0; i < wf.size(); ++i) {
          const uint16_t h = F32ToF16(wf[i]);
          std::memcpy(&data[2 * i], &h, 2);
        }
      }
      const WeightView view{type, data.data(), rows, cols, data.size() / rows};
      std::vector<float> simd(rows), portable(rows);
      MatVecRows(view, x, simd, 0, rows);
      internal::SetPortableKernelsForTesting(true);
      MatVecRows(view, x, portable, 0, rows);
      internal::SetPortableKernelsForTesting(false);
      std::vector<float> wd(cols);
      for (size_t r = 0; r < rows; ++r) {
        DequantizeRow(type, data.data() + r * view.row_bytes, wd);
        double ref = 0, mag = 0;
        for (size_t c = 0; c < cols; ++c) {
          ref += static_cast<double>(wd[c]) * x[c];
          mag += std::fabs(static_cast<double>(wd[c]) * x[c]);
        }
        EXPECT_NEAR(simd[r], ref, 1e-5 * mag + 1e-6) << GgmlTypeName(type) << " " << cols;
        EXPECT_NEAR(simd[r], portable[r], 2e-5 * mag + 1e-6) << GgmlTypeName(type) << " " << cols;
      }
    }
  }
}

class MatVecTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(MatVecTest, MatchesNaiveReference) {
  const GgmlType type = GetParam();
  std::mt19937 rng(static_cast<unsigned>(type) + 7);
  for (size_t cols : {32u, 64u, 96u, 288u}) {
    const size_t rows = 19;
    std::vector<float> wf = RandomVec(rng, rows * cols);
    std::vector<float> x = RandomVec(rng, cols);
    Bytes data = Encode(type, wf);
    const size_t row_bytes = data.size() / rows;
    WeightView w{type, data.data(), rows, cols, row_bytes};
    std::vector<float> out(rows);
    MatVec(w, x, out);
    for (size_t r = 0; r < rows; ++r) {
      Bytes row(data.begin() + r * row_bytes, data.begin() + (r + 1) * row_bytes);
      std::vector<float> wr = RefDequant(type, row, cols);
      double ref = 0, mag = 0;
      for (size_t c = 0; c < cols; ++c) {
        ref += static_cast<double>(wr[c]) * x[c];
        mag += std::fabs(static_cast<double>(wr[c]) * x[c]);
      }
      EXPECT_NEAR(out[r], ref, 1e-5 * mag + 1e-6) << "cols " << cols << " row " << r;
      std::vector<float> deq(cols);
      DequantizeRow(type, row.data(), deq);
      EXPECT_EQ(deq, wr);
    }
  }
}

// K-quant blocks of random bytes with small, finite scales (no K quantiser exists yet).
TEST(KernelsTest, KQuantMatVecMatchesNaiveReference) {
  std::mt19937 rng(6);
  std::uniform_int_distribution<int> byte(0, 255);
  for (GgmlType type : {GgmlType::kQ4_K, GgmlType::kQ6_K}) {
    const size_t rows = 5, cols = 512, block_bytes = type == GgmlType::kQ4_K ? 144 : 210;
    const size_t row_bytes = cols / 256 * block_bytes;
    Bytes data(rows * row_bytes);
    for (uint8_t& b : data) b = static_cast<uint8_t>(byte(rng));
    for (size_t blk = 0; blk < rows * cols / 256; ++blk) {
      uint8_t* p = data.data() + blk * block_bytes;
      const uint16_t d = F32ToF16(0.001f * static_cast<float>(byte(rng) + 1));
      const uint16_t dmin = F32ToF16(0.0005f * static_cast<float>(byte(rng)));
      if (type == GgmlType::kQ4_K) {
        std::memcpy(p, &d, 2);
        std::memcpy(p + 2, &dmin, 2);
      } else {
        std::memcpy(p + 208, &d, 2);
      }
    }
    std::vector<float> x = RandomVec(rng, cols);
    WeightView w{type, data.data(), rows, cols, row_bytes};
    std::vector<float> out(rows);
    MatVec(w, x, out);
    for (size_t r = 0; r < rows; ++r) {
      Bytes row(data.begin() + r * row_bytes, data.begin() + (r + 1) * row_bytes);
      std::vector<float> wr = RefDequant(type, row, cols), deq(cols);
      DequantizeRow(type, row.data(), deq);
      double ref = 0, mag = 0;
      for (size_t c = 0; c < cols; ++c) {
        EXPECT_NEAR(deq[c], wr[c], 1e-6 * std::fabs(wr[c]) + 1e-9) << GgmlTypeName(type) << c;
        ref += static_cast<double>(wr[c]) * x[c];
        mag += std::fabs(static_cast<double>(wr[c]) * x[c]);
      }
      EXPECT_NEAR(out[r], ref, 1e-5 * mag + 1e-6) << GgmlTypeName(type) << " row " << r;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, MatVecTest,
                         ::testing::Values(GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16,
                                           GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ5_0),
                         [](const auto& p) { return std::string(GgmlTypeName(p.param)); });

TEST(KernelsTest, RmsNormMatchesNaiveReference) {
  std::mt19937 rng(2);
  for (size_t n : {1u, 7u, 64u, 1000u}) {
    std::vector<float> x = RandomVec(rng, n, 4.0f), w = RandomVec(rng, n), out(n);
    RmsNorm(out, x, w, 1e-5f);
    double ss = 0;
    for (float v : x) ss += static_cast<double>(v) * v;
    const double scale = 1.0 / std::sqrt(ss / n + 1e-5);
    for (size_t i = 0; i < n; ++i) EXPECT_NEAR(out[i], x[i] * scale * w[i], 1e-5);
    RmsNorm(x, x, w, 1e-5f);  // in place
    EXPECT_EQ(x, out);
  }
}

TEST(KernelsTest, SoftmaxMatchesNaiveReference) {
  std::mt19937 rng(3);
  for (size_t n : {1u, 5u, 300u}) {
    std::vector<float> x = RandomVec(rng, n, 30.0f);
    x[0] = 1000.0f;  // would overflow a naive exp
    std::vector<float> y = x;
    Softmax(y);
    double max = *std::max_element(x.begin(), x.end()), sum = 0;
    for (float v : x) sum += std::exp(v - max);
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      EXPECT_NEAR(y[i], std::exp(x[i] - max) / sum, 1e-6);
      total += y[i];
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
}

TEST(KernelsTest, RopeMatchesNaiveReference) {
  std::mt19937 rng(4);
  const size_t heads = 3, head_dim = 16;
  for (RopeStyle style : {RopeStyle::kNormal, RopeStyle::kNeox}) {
    for (size_t rope_dims : {16u, 8u}) {
      for (int pos : {0, 1, 17, 500}) {
        for (float scale : {1.0f, 0.25f}) {
          std::vector<float> x = RandomVec(rng, heads * head_dim), y = x;
          Rope(y, heads, head_dim, rope_dims, pos, 10000.0f, scale, style);
          for (size_t h = 0; h < heads; ++h) {
            const float* in = x.data() + h * head_dim;
            const float* out = y.data() + h * head_dim;
            std::vector<double> ref(in, in + head_dim);
            for (size_t j = 0; j < rope_dims / 2; ++j) {
              const double theta =
                  pos * scale * std::pow(10000.0, -2.0 * j / static_cast<double>(rope_dims));
              const size_t a = style == RopeStyle::kNormal ? 2 * j : j;
              const size_t b = style == RopeStyle::kNormal ? 2 * j + 1 : j + rope_dims / 2;
              ref[a] = in[a] * std::cos(theta) - in[b] * std::sin(theta);
              ref[b] = in[a] * std::sin(theta) + in[b] * std::cos(theta);
            }
            for (size_t i = 0; i < head_dim; ++i) {
              EXPECT_NEAR(out[i], ref[i], 2e-4) << "pos " << pos << " i " << i;
            }
          }
        }
      }
    }
  }
}

// The quantiser of the SIMD path gives the portable path's bytes exactly, ties included (x * id
// landing on k + 0.5 rounds away from zero, as lround does).
TEST(KernelsTest, SimdQuantizeQ8_0MatchesPortableBytes) {
  if (!internal::HaveAvx2Kernels()) GTEST_SKIP() << "no AVX2/FMA/F16C on this CPU or build";
  std::mt19937 rng(21);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<float> x = RandomVec(rng, 32 * 24, trial % 2 ? 100.0f : 0.01f);
    std::fill(x.begin() + 64, x.begin() + 96, 0.0f);  // all-zero block
    // A block whose scale is exactly 1 (max 127) holding halves: every x * id is k + 0.5.
    for (size_t i = 0; i < 32; ++i) x[128 + i] = static_cast<float>(i) - 15.5f;
    x[128] = 127.0f;
    x[160] = -127.0f;
    for (size_t i = 1; i < 32; ++i) x[160 + i] = -static_cast<float>(i) - 0.5f;
    Bytes simd(x.size() / 32 * 34), portable(simd.size());
    QuantizeRowQ8_0(x, simd);
    internal::SetPortableKernelsForTesting(true);
    QuantizeRowQ8_0(x, portable);
    internal::SetPortableKernelsForTesting(false);
    ASSERT_EQ(simd, portable) << trial;
  }
}

// Batched products (a prompt's tokens as one matrix) give exactly the per-token products, for
// every weight type, token count (groups of four and remainders) and kernel set.
TEST(KernelsTest, MatMulMatchesPerTokenMatVecExactly) {
  std::mt19937 rng(22);
  std::uniform_int_distribution<int> byte(0, 255);
  for (bool portable : {false, true}) {
    internal::SetPortableKernelsForTesting(portable);
    for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0,
                          GgmlType::kQ4_0, GgmlType::kQ5_0, GgmlType::kQ4_K, GgmlType::kQ6_K}) {
      const bool k_quant = type == GgmlType::kQ4_K || type == GgmlType::kQ6_K;
      const size_t cols = k_quant ? 512 : 96, rows = 37;
      Bytes data;
      if (k_quant) {
        const size_t block_bytes = type == GgmlType::kQ4_K ? 144 : 210;
        data.resize(rows * cols / 256 * block_bytes);
        for (auto& v : data) v = static_cast<uint8_t>(byte(rng));
        for (size_t b = 0; b < data.size() / block_bytes; ++b) {
          const uint16_t d = F32ToF16(0.01f), dmin = F32ToF16(0.002f);
          std::memcpy(&data[b * block_bytes + (type == GgmlType::kQ4_K ? 0 : 208)], &d, 2);
          if (type == GgmlType::kQ4_K) std::memcpy(&data[b * block_bytes + 2], &dmin, 2);
        }
      } else {
        data = Encode(type, RandomVec(rng, rows * cols));
      }
      const WeightView w{type, data.data(), rows, cols, data.size() / rows};
      for (size_t tokens : {1u, 2u, 3u, 4u, 5u, 8u, 11u}) {
        const size_t x_stride = cols + 32, out_stride = rows + 3;  // strides wider than rows
        std::vector<float> x = RandomVec(rng, tokens * x_stride, 2.0f);
        std::vector<float> batched(tokens * out_stride, -1.0f), single(rows);
        MatMulRows(w, x, x_stride, tokens, batched, out_stride, 0, rows);
        for (size_t t = 0; t < tokens; ++t) {
          MatVecRows(w, std::span<const float>(x).subspan(t * x_stride, cols), single, 0, rows);
          for (size_t r = 0; r < rows; ++r) {
            ASSERT_EQ(batched[t * out_stride + r], single[r])
                << GgmlTypeName(type) << " float t=" << t << " r=" << r << " p=" << portable;
          }
        }
        if (!SupportsQ8Activations(type)) continue;
        const size_t q_bytes = cols / 32 * 34, xq_stride = q_bytes + 34;
        Bytes xq(tokens * xq_stride);
        for (size_t t = 0; t < tokens; ++t) {
          QuantizeRowQ8_0(std::span<const float>(x).subspan(t * x_stride, cols),
                          std::span<uint8_t>(xq).subspan(t * xq_stride, q_bytes));
        }
        // Rows 5..30 only: a partial range, as a thread's share is.
        std::fill(batched.begin(), batched.end(), -1.0f);
        MatMulRowsQ8_0(w, xq, xq_stride, tokens, batched, out_stride, 5, 30);
        for (size_t t = 0; t < tokens; ++t) {
          MatVecRowsQ8_0(w, std::span<const uint8_t>(xq).subspan(t * xq_stride, q_bytes), single, 0,
                         rows);
          for (size_t r = 0; r < rows; ++r) {
            if (r < 5 || r >= 30) {
              ASSERT_EQ(batched[t * out_stride + r], -1.0f) << "wrote outside its rows";
              continue;
            }
            ASSERT_EQ(batched[t * out_stride + r], single[r])
                << GgmlTypeName(type) << " q8 t=" << t << " r=" << r << " p=" << portable;
          }
        }
      }
    }
  }
  internal::SetPortableKernelsForTesting(false);
}

// SiluMul against a double reference on both kernel sets (wide range, odd lengths, the
// saturating tails), and RoundTripF16 bit-identical to the scalar conversions.
TEST(KernelsTest, SiluMulAndRoundTripF16MatchReferences) {
  std::mt19937 rng(41);
  std::uniform_real_distribution<float> wide(-100.0f, 100.0f);
  for (bool portable : {false, true}) {
    internal::SetPortableKernelsForTesting(portable);
    for (size_t n : {1u, 7u, 8u, 33u, 1000u}) {
      std::vector<float> gate(n), up = RandomVec(rng, n, 3.0f);
      for (size_t i = 0; i < n; ++i)
        gate[i] = i % 3 == 0 ? wide(rng) : 8.0f * (RandomVec(rng, 1)[0]);
      if (n > 8) gate[1] = -1000.0f, gate[2] = 1000.0f, gate[3] = 0.0f;
      std::vector<float> got = gate;
      SiluMul(got, up);
      for (size_t i = 0; i < n; ++i) {
        const double g = gate[i];
        const double want = g / (1.0 + std::exp(-g)) * up[i];
        EXPECT_NEAR(got[i], want, 4e-7 * std::fabs(want) + 1e-30) << i << " g=" << g;
      }
      std::vector<float> round = RandomVec(rng, n, 70000.0f);  // some overflow to infinity
      if (n > 8) round[1] = 1e-7f, round[2] = -6.1e-5f;        // half subnormals
      std::vector<float> want = round;
      for (float& v : want) v = F16ToF32(F32ToF16(v));
      RoundTripF16(round);
      ASSERT_EQ(round, want) << n << " portable=" << portable;
    }
  }
  internal::SetPortableKernelsForTesting(false);
}

// PackWeights's interleaved copy through MatMulRowsQ8_0: random-byte quants (Q8_0 weights
// holding -128, every nibble) with rows in whole groups of 16 and a remainder; the values must
// match a double sum of the dequantised products, the portable kernels up to float order, each
// other exactly for every token count and row range, and the AVX-512 and AVX2 paths exactly.
TEST(KernelsTest, PackedKernelsMatchReferenceAndAreExactAcrossBatchesAndRanges) {
  if (!internal::HaveAvx2Kernels()) GTEST_SKIP() << "no AVX2/FMA/F16C on this CPU or build";
  std::mt19937 rng(31);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  size_t checked = 0;
  for (GgmlType type : {GgmlType::kQ4_0, GgmlType::kQ8_0}) {
    const size_t block_bytes = type == GgmlType::kQ8_0 ? 34 : 18;
    for (size_t cols : {32u, 96u, 576u, 1536u}) {
      const size_t rows = 37, row_bytes = cols / 32 * block_bytes, nb = cols / 32;
      Bytes data(rows * row_bytes);
      for (auto& v : data) v = static_cast<uint8_t>(byte(rng));
      for (size_t b = 0; b < data.size() / block_bytes; ++b) {
        const uint16_t d = F32ToF16(scale(rng));
        std::memcpy(&data[b * block_bytes], &d, 2);
      }
      WeightView w{type, data.data(), rows, cols, row_bytes};
      ASSERT_EQ(PackedWeightBytes(w), 32 * row_bytes);
      Bytes packed(PackedWeightBytes(w));
      PackWeights(w, packed);
      const WeightView plain = w;
      w.packed = packed.data();

      const size_t tokens = 11, xq_stride = (nb + 1) * 34, info_stride = nb + 2;
      std::vector<float> x = RandomVec(rng, tokens * cols, 2.0f);
      Bytes xq(tokens * xq_stride);
      std::vector<Q8_0BlockInfo> info(tokens * info_stride);
      for (size_t t = 0; t < tokens; ++t) {
        const std::span<uint8_t> row = std::span<uint8_t>(xq).subspan(t * xq_stride, nb * 34);
        QuantizeRowQ8_0(std::span<const float>(x).subspan(t * cols, cols), row);
        Q8_0BlockInfos(row, std::span<Q8_0BlockInfo>(info).subspan(t * info_stride, nb));
      }
      const size_t out_stride = rows + 3;
      std::vector<float> full(tokens * out_stride, -1.0f);
      MatMulRowsQ8_0(w, xq, xq_stride, tokens, full, out_stride, 0, rows, info, info_stride);
      std::vector<float> portable(tokens * out_stride, -1.0f);
      internal::SetPortableKernelsForTesting(true);
      MatMulRowsQ8_0(w, xq, xq_stride, tokens, portable, out_stride, 0, rows, info, info_stride);
      internal::SetPortableKernelsForTesting(false);
      std::vector<float> avx2_only(tokens * out_stride, -1.0f);
      internal::SetNoVnniForTesting(true);
      MatMulRowsQ8_0(w, xq, xq_stride, tokens, avx2_only, out_stride, 0, rows, info, info_stride);
      internal::SetNoVnniForTesting(false);
      ASSERT_EQ(full, avx2_only) << GgmlTypeName(type) << " " << cols;
      std::vector<float> unpacked(tokens * out_stride, -1.0f);
      MatMulRowsQ8_0(plain, xq, xq_stride, tokens, unpacked, out_stride, 0, rows, info,
                     info_stride);

      std::vector<float> xd(cols), wd(cols);
      for (size_t t = 0; t < tokens; ++t) {
        DequantizeRow(GgmlType::kQ8_0, xq.data() + t * xq_stride, xd);
        for (size_t r = 0; r < rows; ++r) {
          DequantizeRow(type, data.data() + r * row_bytes, wd);
          double ref = 0, mag = 0;
          for (size_t c = 0; c < cols; ++c) {
            ref += static_cast<double>(wd[c]) * xd[c];
            mag += std::fabs(static_cast<double>(wd[c]) * xd[c]);
          }
          const float v = full[t * out_stride + r];
          EXPECT_NEAR(v, ref, 1e-5 * mag + 1e-6) << GgmlTypeName(type) << " " << cols << " " << r;
          EXPECT_NEAR(v, portable[t * out_stride + r], 2e-5 * mag + 1e-6);
          EXPECT_NEAR(v, unpacked[t * out_stride + r], 2e-5 * mag + 1e-6);
          ++checked;
        }
      }
      // Any token count and any row range (splitting groups) gives the same bits.
      for (size_t n : {1u, 2u, 3u, 4u, 5u}) {
        for (auto [lo, hi] :
             {std::pair<size_t, size_t>{0, rows}, {3, 13}, {16, 32}, {15, 37}, {30, 35}}) {
          std::vector<float> part(tokens * out_stride, -1.0f);
          MatMulRowsQ8_0(w, xq, xq_stride, n, part, out_stride, lo, hi, info, info_stride);
          for (size_t t = 0; t < n; ++t) {
            for (size_t r = 0; r < rows; ++r) {
              const float want = r >= lo && r < hi ? full[t * out_stride + r] : -1.0f;
              ASSERT_EQ(part[t * out_stride + r], want)
                  << GgmlTypeName(type) << " n=" << n << " [" << lo << "," << hi << ") t=" << t
                  << " r=" << r;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 2u * 4u * 11u * 37u);
}

// The attention helpers (scores against an F16 or F32 cache, weighted sums of values, rounding
// to F16) against naive double-precision references, on both kernel sets.
TEST(KernelsTest, AttentionHelpersMatchNaiveReference) {
  std::mt19937 rng(23);
  for (bool portable : {false, true}) {
    internal::SetPortableKernelsForTesting(portable);
    for (size_t n : {1u, 7u, 8u, 9u, 64u, 100u}) {
      std::vector<float> q = RandomVec(rng, n), k = RandomVec(rng, n), out0 = RandomVec(rng, n);
      std::vector<uint16_t> k16(n);
      RoundToF16(k, k16.data());
      double dot16 = 0, dot32 = 0, mag = 0;
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(k16[i], F32ToF16(k[i])) << i;
        dot16 += static_cast<double>(q[i]) * RefF16(k16[i]);
        dot32 += static_cast<double>(q[i]) * k[i];
        mag += std::fabs(static_cast<double>(q[i]) * k[i]);
      }
      EXPECT_NEAR(AttentionDotF16(k16.data(), q.data(), n), dot16, 1e-5 * mag + 1e-6) << n;
      EXPECT_NEAR(AttentionDotF32(k.data(), q.data(), n), dot32, 1e-5 * mag + 1e-6) << n;
      const float a = 0.37f;
      std::vector<float> o16 = out0, o32 = out0;
      AttentionAxpyF16(a, k16.data(), o16.data(), n);
      AttentionAxpyF32(a, k.data(), o32.data(), n);
      for (size_t i = 0; i < n; ++i) {
        EXPECT_NEAR(o16[i], out0[i] + a * RefF16(k16[i]), 1e-6) << n << " " << i;
        EXPECT_NEAR(o32[i], out0[i] + static_cast<double>(a) * k[i], 1e-6) << n << " " << i;
      }
    }
  }
  internal::SetPortableKernelsForTesting(false);
}

}  // namespace
}  // namespace confide::llm
