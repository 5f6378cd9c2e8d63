#include "llm/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "llm/internal/kernels_simd.h"

namespace confide::llm {
namespace {

uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t LoadU16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// The dot products are compiled twice, for x86-64-v3 (AVX2/FMA/F16C) and the baseline, and the
// loader picks one at run time (GCC/Clang target_clones, an ifunc). The code is the same and
// -ffp-contract stays off in ISO mode, so both clones give bit-identical results.
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(CONFIDE_NO_TARGET_CLONES)
#define CONFIDE_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CONFIDE_CLONES
#endif

CONFIDE_CLONES float DotF32(const float* w, const float* x, size_t n) {
  // Eight independent partial sums let the compiler vectorise without -ffast-math.
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t k = 0; k < 8; ++k) acc[k] += w[i + k] * x[i + k];
  }
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) sum += w[i] * x[i];
  return sum;
}

CONFIDE_CLONES float DotF16(const uint8_t* w, const float* x, size_t n) {
  const float* f16 = F16ToF32Table();
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t k = 0; k < 8; ++k) acc[k] += f16[LoadU16(w + 2 * (i + k))] * x[i + k];
  }
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) sum += f16[LoadU16(w + 2 * i)] * x[i];
  return sum;
}

float DotBf16(const uint8_t* w, const float* x, size_t n) {
  float sum = 0;
  for (size_t i = 0; i < n; ++i) sum += Bf16ToF32(LoadU16(w + 2 * i)) * x[i];
  return sum;
}

CONFIDE_CLONES float DotQ8_0(const uint8_t* w, const float* x, size_t n) {
  float sum = 0;
  for (size_t b = 0; b < n / kQ8_0BlockElems; ++b) {
    const uint8_t* blk = w + b * kQ8_0BlockBytes;
    const float d = F16ToF32(LoadU16(blk));
    const int8_t* qs = reinterpret_cast<const int8_t*>(blk + 2);
    const float* xb = x + b * kQ8_0BlockElems;
    float acc[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < kQ8_0BlockElems; i += 4) {
      for (size_t k = 0; k < 4; ++k) acc[k] += static_cast<float>(qs[i + k]) * xb[i + k];
    }
    sum += d * ((acc[0] + acc[1]) + (acc[2] + acc[3]));
  }
  return sum;
}

// DotQ8_0Q8_0 is the integer dot product of two Q8_0 rows of n elements.
CONFIDE_CLONES float DotQ8_0Q8_0(const uint8_t* w, const uint8_t* x, size_t n) {
  const float* f16 = F16ToF32Table();
  float sum = 0;
  for (size_t b = 0; b < n / kQ8_0BlockElems; ++b) {
    const uint8_t* wb = w + b * kQ8_0BlockBytes;
    const uint8_t* xb = x + b * kQ8_0BlockBytes;
    const int8_t* qw = reinterpret_cast<const int8_t*>(wb + 2);
    const int8_t* qx = reinterpret_cast<const int8_t*>(xb + 2);
    int32_t isum = 0;
    for (size_t i = 0; i < kQ8_0BlockElems; ++i) {
      isum += static_cast<int32_t>(qw[i]) * static_cast<int32_t>(qx[i]);
    }
    sum += f16[LoadU16(wb)] * f16[LoadU16(xb)] * static_cast<float>(isum);
  }
  return sum;
}

constexpr size_t kQ4_0BlockBytes = 18;
constexpr size_t kQ5_0BlockBytes = 22;

// DequantBlockQ4_0 / DequantBlockQ5_0 expand one 32-element block.
void DequantBlockQ4_0(const uint8_t* blk, float* out) {
  const float d = F16ToF32(LoadU16(blk));
  const uint8_t* qs = blk + 2;
  for (size_t j = 0; j < 16; ++j) {
    out[j] = d * static_cast<float>((qs[j] & 0x0F) - 8);
    out[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
  }
}

void DequantBlockQ5_0(const uint8_t* blk, float* out) {
  const float d = F16ToF32(LoadU16(blk));
  uint32_t qh;
  std::memcpy(&qh, blk + 2, 4);
  const uint8_t* qs = blk + 6;
  for (size_t j = 0; j < 16; ++j) {
    const int x0 = ((qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10)) - 16;
    const int x1 = ((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - 16;
    out[j] = d * static_cast<float>(x0);
    out[j + 16] = d * static_cast<float>(x1);
  }
}

constexpr size_t kQ4_KBlockBytes = 144;
constexpr size_t kQ6_KBlockBytes = 210;

// ScaleMinK4 unpacks the 6-bit scale and min of sub-block j (0..7) from block_q4_K's 12 scale
// bytes: j < 4 keep them in the low 6 bits of bytes j and j+4; j >= 4 split them into the nibbles
// of byte j+4 and the top two bits of bytes j-4 (scale) and j (min). (ggml get_scale_min_k4.)
void ScaleMinK4(size_t j, const uint8_t* q, int* scale, int* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// DequantBlockQ4_K expands block_q4_K { ggml_half d, dmin; uint8_t scales[12]; uint8_t qs[128];
// } (256 elements): element 64c + 32h + l is d*scale(2c+h) * nibble h of qs[32c + l] -
// dmin*min(2c+h).
void DequantBlockQ4_K(const uint8_t* blk, float* out) {
  const float d = F16ToF32(LoadU16(blk));
  const float dmin = F16ToF32(LoadU16(blk + 2));
  const uint8_t* scales = blk + 4;
  const uint8_t* qs = blk + 16;
  for (size_t c = 0; c < 4; ++c) {
    int sc0, m0, sc1, m1;
    ScaleMinK4(2 * c, scales, &sc0, &m0);
    ScaleMinK4(2 * c + 1, scales, &sc1, &m1);
    const float d0 = d * static_cast<float>(sc0), mm0 = dmin * static_cast<float>(m0);
    const float d1 = d * static_cast<float>(sc1), mm1 = dmin * static_cast<float>(m1);
    for (size_t l = 0; l < 32; ++l) {
      out[64 * c + l] = d0 * static_cast<float>(qs[32 * c + l] & 0x0F) - mm0;
      out[64 * c + 32 + l] = d1 * static_cast<float>(qs[32 * c + l] >> 4) - mm1;
    }
  }
}

// DequantBlockQ6_K expands block_q6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16];
// ggml_half d; } (256 elements): in each half (128 elements) element 32k + l takes its low 4
// bits from ql[64*half + l + 32*(k&1)] (low nibble for k < 2, high for k >= 2), its high 2 bits
// from bits 2k..2k+1 of qh[32*half + l], minus 32, times d * scales[8*half + l/16 + 2k].
void DequantBlockQ6_K(const uint8_t* blk, float* out) {
  const uint8_t* ql = blk;
  const uint8_t* qh = blk + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
  const float d = F16ToF32(LoadU16(blk + 208));
  for (size_t half = 0; half < 2; ++half) {
    for (size_t l = 0; l < 32; ++l) {
      const uint8_t lo_a = ql[64 * half + l], lo_b = ql[64 * half + l + 32];
      const uint8_t hi = qh[32 * half + l];
      const int q[4] = {((lo_a & 0x0F) | (((hi >> 0) & 3) << 4)) - 32,
                        ((lo_b & 0x0F) | (((hi >> 2) & 3) << 4)) - 32,
                        ((lo_a >> 4) | (((hi >> 4) & 3) << 4)) - 32,
                        ((lo_b >> 4) | (((hi >> 6) & 3) << 4)) - 32};
      for (size_t k = 0; k < 4; ++k) {
        out[128 * half + 32 * k + l] =
            d * static_cast<float>(sc[8 * half + l / 16 + 2 * k]) * static_cast<float>(q[k]);
      }
    }
  }
}

// DotQ4_0Q8_0 / DotQ5_0Q8_0: integer dot products of Q4_0 / Q5_0 weights with Q8_0 activations.
CONFIDE_CLONES float DotQ4_0Q8_0(const uint8_t* w, const uint8_t* x, size_t n) {
  const float* f16 = F16ToF32Table();
  float sum = 0;
  for (size_t b = 0; b < n / 32; ++b) {
    const uint8_t* wb = w + b * kQ4_0BlockBytes;
    const uint8_t* xb = x + b * kQ8_0BlockBytes;
    const int8_t* qx = reinterpret_cast<const int8_t*>(xb + 2);
    int32_t isum = 0;
    for (size_t j = 0; j < 16; ++j) {
      isum += ((wb[2 + j] & 0x0F) - 8) * qx[j] + ((wb[2 + j] >> 4) - 8) * qx[j + 16];
    }
    sum += f16[LoadU16(wb)] * f16[LoadU16(xb)] * static_cast<float>(isum);
  }
  return sum;
}

CONFIDE_CLONES float DotQ5_0Q8_0(const uint8_t* w, const uint8_t* x, size_t n) {
  const float* f16 = F16ToF32Table();
  float sum = 0;
  for (size_t b = 0; b < n / 32; ++b) {
    const uint8_t* wb = w + b * kQ5_0BlockBytes;
    const uint8_t* xb = x + b * kQ8_0BlockBytes;
    const int8_t* qx = reinterpret_cast<const int8_t*>(xb + 2);
    uint32_t qh;
    std::memcpy(&qh, wb + 2, 4);
    const uint8_t* qs = wb + 6;
    int32_t isum = 0;
    for (size_t j = 0; j < 16; ++j) {
      const int x0 = static_cast<int>((qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10)) - 16;
      const int x1 = static_cast<int>((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - 16;
      isum += x0 * qx[j] + x1 * qx[j + 16];
    }
    sum += f16[LoadU16(wb)] * f16[LoadU16(xb)] * static_cast<float>(isum);
  }
  return sum;
}

// DotQ4_KQ8_0: Q4_K weights with Q8_0 activations, sub-block j of each Q4_K block meeting one
// activation block: d_x * (d * scale_j * sum(q * x) - dmin * min_j * sum(x)).
CONFIDE_CLONES float DotQ4_KQ8_0(const uint8_t* w, const uint8_t* x, size_t n) {
  const float* f16 = F16ToF32Table();
  float sum = 0, mins = 0;
  for (size_t b = 0; b < n / 256; ++b) {
    const uint8_t* blk = w + b * kQ4_KBlockBytes;
    const float d = f16[LoadU16(blk)], dmin = f16[LoadU16(blk + 2)];
    for (size_t j = 0; j < 8; ++j) {
      int sc, m;
      ScaleMinK4(j, blk + 4, &sc, &m);
      const uint8_t* qs = blk + 16 + 32 * (j / 2);
      const uint8_t* xb = x + (8 * b + j) * kQ8_0BlockBytes;
      const int8_t* qx = reinterpret_cast<const int8_t*>(xb + 2);
      int32_t isum = 0, xsum = 0;
      for (size_t l = 0; l < 32; ++l) {
        const int q = j % 2 == 0 ? (qs[l] & 0x0F) : (qs[l] >> 4);
        isum += q * qx[l];
        xsum += qx[l];
      }
      const float dx = f16[LoadU16(xb)];
      sum += d * static_cast<float>(sc) * dx * static_cast<float>(isum);
      mins += dmin * static_cast<float>(m) * dx * static_cast<float>(xsum);
    }
  }
  return sum - mins;
}

// DotQ6_KQ8_0: Q6_K weights with Q8_0 activations, each activation block meeting one 32-element
// run of a Q6_K block: d * d_x * (scale_a * sum_a(q * x) + scale_b * sum_b(q * x)).
CONFIDE_CLONES float DotQ6_KQ8_0(const uint8_t* w, const uint8_t* x, size_t n) {
  const float* f16 = F16ToF32Table();
  float sum = 0;
  for (size_t b = 0; b < n / 256; ++b) {
    const uint8_t* blk = w + b * kQ6_KBlockBytes;
    const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
    const float d = f16[LoadU16(blk + 208)];
    for (size_t m = 0; m < 8; ++m) {
      const size_t h = m / 4, k = m % 4;
      const uint8_t* xb = x + (8 * b + m) * kQ8_0BlockBytes;
      const int8_t* qx = reinterpret_cast<const int8_t*>(xb + 2);
      int32_t part[2] = {0, 0};
      for (size_t l = 0; l < 32; ++l) {
        const uint8_t lo = blk[64 * h + 32 * (k & 1) + l];
        const int q =
            (((k < 2 ? lo : lo >> 4) & 0x0F) | (((blk[128 + 32 * h + l] >> (2 * k)) & 3) << 4)) -
            32;
        part[l / 16] += q * qx[l];
      }
      const int32_t isum = sc[8 * h + 2 * k] * part[0] + sc[8 * h + 2 * k + 1] * part[1];
      sum += d * f16[LoadU16(xb)] * static_cast<float>(isum);
    }
  }
  return sum;
}

template <void (*Dequant)(const uint8_t*, float*), size_t kBlockBytes, size_t kBlockElems = 32>
float DotBlocks(const uint8_t* w, const float* x, size_t n) {
  float sum = 0;
  float buf[kBlockElems];
  for (size_t b = 0; b < n / kBlockElems; ++b) {
    Dequant(w + b * kBlockBytes, buf);
    const float* xb = x + b * kBlockElems;
    float acc[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < kBlockElems; i += 4) {
      for (size_t k = 0; k < 4; ++k) acc[k] += buf[i + k] * xb[i + k];
    }
    sum += (acc[0] + acc[1]) + (acc[2] + acc[3]);
  }
  return sum;
}

// MaxByMagnitude returns the element of largest |x| with its sign (first one on ties).
float MaxByMagnitude(const float* x, size_t n) {
  float amax = 0, max = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

}  // namespace

void QuantizeRowQ4_0(std::span<const float> x, std::span<uint8_t> out) {
  for (size_t b = 0; b < x.size() / 32; ++b) {
    const float* xb = x.data() + b * 32;
    const float d = MaxByMagnitude(xb, 32) / -8.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    uint8_t* blk = out.data() + b * kQ4_0BlockBytes;
    const uint16_t dh = F32ToF16(d);
    std::memcpy(blk, &dh, 2);
    for (size_t j = 0; j < 16; ++j) {
      const int x0 = std::min(15, static_cast<int>(static_cast<int8_t>(xb[j] * id + 8.5f)));
      const int x1 = std::min(15, static_cast<int>(static_cast<int8_t>(xb[j + 16] * id + 8.5f)));
      blk[2 + j] = static_cast<uint8_t>(x0 | (x1 << 4));
    }
  }
}

void QuantizeRowQ5_0(std::span<const float> x, std::span<uint8_t> out) {
  for (size_t b = 0; b < x.size() / 32; ++b) {
    const float* xb = x.data() + b * 32;
    const float d = MaxByMagnitude(xb, 32) / -16.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    uint8_t* blk = out.data() + b * kQ5_0BlockBytes;
    const uint16_t dh = F32ToF16(d);
    std::memcpy(blk, &dh, 2);
    uint32_t qh = 0;
    for (size_t j = 0; j < 16; ++j) {
      const int x0 = std::min(31, static_cast<int>(static_cast<int8_t>(xb[j] * id + 16.5f)));
      const int x1 = std::min(31, static_cast<int>(static_cast<int8_t>(xb[j + 16] * id + 16.5f)));
      blk[6 + j] = static_cast<uint8_t>((x0 & 0x0F) | ((x1 & 0x0F) << 4));
      qh |= static_cast<uint32_t>((x0 & 0x10) >> 4) << j;
      qh |= static_cast<uint32_t>((x1 & 0x10) >> 4) << (j + 16);
    }
    std::memcpy(blk + 2, &qh, 4);
  }
}

void QuantizeRowQ4_K(std::span<const float> x, std::span<uint8_t> out) {
  for (size_t b = 0; b < x.size() / 256; ++b) {
    const float* xb = x.data() + b * 256;
    uint8_t* blk = out.data() + b * kQ4_KBlockBytes;
    float scale[8], mn[8];
    float max_scale = 0, max_min = 0;
    for (size_t j = 0; j < 8; ++j) {
      float lo = 0, hi = xb[32 * j];
      for (size_t l = 0; l < 32; ++l) {
        lo = std::min(lo, xb[32 * j + l]);
        hi = std::max(hi, xb[32 * j + l]);
      }
      scale[j] = (hi - lo) / 15.0f;
      mn[j] = -lo;  // stored as a non-negative offset subtracted on dequantisation
      max_scale = std::max(max_scale, scale[j]);
      max_min = std::max(max_min, mn[j]);
    }
    const uint16_t dh = F32ToF16(max_scale / 63.0f), mh = F32ToF16(max_min / 63.0f);
    std::memcpy(blk, &dh, 2);
    std::memcpy(blk + 2, &mh, 2);
    const float d = F16ToF32(dh), dmin = F16ToF32(mh);
    uint8_t* sc = blk + 4;
    std::memset(sc, 0, 12);
    int ls[8], lm[8];
    for (size_t j = 0; j < 8; ++j) {
      // Round the scale up so that the sub-block's range still fits 0..15.
      ls[j] = d > 0 ? std::min(63, static_cast<int>(std::ceil(scale[j] / d - 1e-4f))) : 0;
      lm[j] = dmin > 0 ? std::min(63, static_cast<int>(std::lround(mn[j] / dmin))) : 0;
      if (j < 4) {
        sc[j] |= static_cast<uint8_t>(ls[j]);
        sc[j + 4] |= static_cast<uint8_t>(lm[j]);
      } else {
        sc[j + 4] = static_cast<uint8_t>((ls[j] & 0x0F) | ((lm[j] & 0x0F) << 4));
        sc[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
        sc[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
      }
    }
    uint8_t* qs = blk + 16;
    for (size_t c = 0; c < 4; ++c) {
      for (size_t l = 0; l < 32; ++l) {
        int q[2];
        for (size_t h = 0; h < 2; ++h) {
          const size_t j = 2 * c + h;
          const float step = d * static_cast<float>(ls[j]);
          const float off = dmin * static_cast<float>(lm[j]);
          const float v = step > 0 ? (xb[64 * c + 32 * h + l] + off) / step : 0.0f;
          q[h] = std::clamp(static_cast<int>(std::lround(v)), 0, 15);
        }
        qs[32 * c + l] = static_cast<uint8_t>(q[0] | (q[1] << 4));
      }
    }
  }
}

void QuantizeRowQ6_K(std::span<const float> x, std::span<uint8_t> out) {
  for (size_t b = 0; b < x.size() / 256; ++b) {
    const float* xb = x.data() + b * 256;
    uint8_t* blk = out.data() + b * kQ6_KBlockBytes;
    float scale[16];
    float max_scale = 0;
    for (size_t i = 0; i < 16; ++i) {
      float amax = 0;
      for (size_t l = 0; l < 16; ++l) amax = std::max(amax, std::fabs(xb[16 * i + l]));
      scale[i] = amax / 31.0f;
      max_scale = std::max(max_scale, scale[i]);
    }
    const uint16_t dh = F32ToF16(max_scale / 127.0f);
    std::memcpy(blk + 208, &dh, 2);
    const float d = F16ToF32(dh);
    int8_t* sc = reinterpret_cast<int8_t*>(blk + 192);
    int q[256];
    for (size_t i = 0; i < 16; ++i) {
      const int s = d > 0 ? std::min(127, static_cast<int>(std::lround(scale[i] / d))) : 0;
      sc[i] = static_cast<int8_t>(s);
      const float step = d * static_cast<float>(s);
      for (size_t l = 0; l < 16; ++l) {
        const float v = step > 0 ? xb[16 * i + l] / step : 0.0f;
        q[16 * i + l] = std::clamp(static_cast<int>(std::lround(v)), -32, 31) + 32;
      }
    }
    uint8_t* ql = blk;
    uint8_t* qh = blk + 128;
    for (size_t half = 0; half < 2; ++half) {
      for (size_t l = 0; l < 32; ++l) {
        const int* e = q + 128 * half + l;
        const int q0 = e[0], q1 = e[32], q2 = e[64], q3 = e[96];
        ql[64 * half + l] = static_cast<uint8_t>((q0 & 0x0F) | ((q2 & 0x0F) << 4));
        ql[64 * half + l + 32] = static_cast<uint8_t>((q1 & 0x0F) | ((q3 & 0x0F) << 4));
        qh[32 * half + l] = static_cast<uint8_t>((q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) |
                                                 ((q3 >> 4) << 6));
      }
    }
  }
}

const float* F16ToF32Table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t h = 0; h < 65536; ++h) t[h] = F16ToF32(static_cast<uint16_t>(h));
    return t;
  }();
  return table.data();
}

float F16ToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ff;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24.
    float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return BitsFloat(FloatBits(v) | sign);
  }
  if (exp == 31) return BitsFloat(sign | 0x7f800000u | (mant << 13));
  return BitsFloat(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t F32ToF16(float f) {
  const uint32_t x = FloatBits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // Inf or NaN
    return sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0);
  }
  if (abs >= 0x477ff000u) return sign | 0x7c00;  // rounds to >= 65520: infinity
  if (abs < 0x38800000u) {
    // Subnormal half (or zero): round abs * 2^24 to nearest even integer.
    float v = BitsFloat(abs) * 16777216.0f;
    return sign | static_cast<uint16_t>(std::nearbyint(v));
  }
  // Normal: rebias exponent, round mantissa 23 -> 10 bits to nearest even.
  uint32_t h = ((abs >> 13) - (112u << 10));
  const uint32_t rest = abs & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;
  return sign | static_cast<uint16_t>(h);
}

void QuantizeRowQ8_0(std::span<const float> x, std::span<uint8_t> out) {
  if (internal::UseAvx2Kernels()) {
    internal::Avx2QuantizeRowQ8_0(x.data(), x.size(), out.data());
    return;
  }
  const size_t nb = x.size() / kQ8_0BlockElems;
  for (size_t b = 0; b < nb; ++b) {
    const float* xb = x.data() + b * kQ8_0BlockElems;
    float amax = 0;
    for (size_t i = 0; i < kQ8_0BlockElems; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    uint8_t* blk = out.data() + b * kQ8_0BlockBytes;
    const uint16_t dh = F32ToF16(d);
    std::memcpy(blk, &dh, 2);
    for (size_t i = 0; i < kQ8_0BlockElems; ++i) {
      blk[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(std::lround(xb[i] * id)));
    }
  }
}

bool SupportsMatVec(GgmlType type) {
  return type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16 ||
         type == GgmlType::kQ8_0 || type == GgmlType::kQ4_0 || type == GgmlType::kQ5_0 ||
         type == GgmlType::kQ4_K || type == GgmlType::kQ6_K;
}

void DequantizeRow(GgmlType type, const uint8_t* row, std::span<float> out) {
  const size_t n = out.size();
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(out.data(), row, n * 4);
      return;
    case GgmlType::kF16:
      for (size_t i = 0; i < n; ++i) out[i] = F16ToF32(LoadU16(row + 2 * i));
      return;
    case GgmlType::kBF16:
      for (size_t i = 0; i < n; ++i) out[i] = Bf16ToF32(LoadU16(row + 2 * i));
      return;
    case GgmlType::kQ8_0:
      for (size_t b = 0; b < n / kQ8_0BlockElems; ++b) {
        const uint8_t* blk = row + b * kQ8_0BlockBytes;
        const float d = F16ToF32(LoadU16(blk));
        for (size_t i = 0; i < kQ8_0BlockElems; ++i) {
          out[b * kQ8_0BlockElems + i] = d * static_cast<float>(static_cast<int8_t>(blk[2 + i]));
        }
      }
      return;
    case GgmlType::kQ4_0:
      for (size_t b = 0; b < n / 32; ++b) DequantBlockQ4_0(row + b * kQ4_0BlockBytes, &out[b * 32]);
      return;
    case GgmlType::kQ5_0:
      for (size_t b = 0; b < n / 32; ++b) DequantBlockQ5_0(row + b * kQ5_0BlockBytes, &out[b * 32]);
      return;
    case GgmlType::kQ4_K:
      for (size_t b = 0; b < n / 256; ++b) {
        DequantBlockQ4_K(row + b * kQ4_KBlockBytes, &out[b * 256]);
      }
      return;
    case GgmlType::kQ6_K:
      for (size_t b = 0; b < n / 256; ++b) {
        DequantBlockQ6_K(row + b * kQ6_KBlockBytes, &out[b * 256]);
      }
      return;
    default:
      std::fill(out.begin(), out.end(), 0.0f);  // unreachable: the loader rejects other types
      return;
  }
}

void MatVec(const WeightView& w, std::span<const float> x, std::span<float> out) {
  MatVecRows(w, x, out, 0, w.rows);
}

void MatVecRows(const WeightView& w, std::span<const float> x, std::span<float> out,
                size_t row_begin, size_t row_end) {
  if (internal::UseAvx2Kernels() && (w.type == GgmlType::kF32 || w.type == GgmlType::kF16)) {
    for (size_t r = row_begin; r < row_end; ++r) {
      const uint8_t* row = w.data + r * w.row_bytes;
      out[r] = w.type == GgmlType::kF32
                   ? internal::Avx2DotF32(reinterpret_cast<const float*>(row), x.data(), w.cols)
                   : internal::Avx2DotF16(row, x.data(), w.cols);
    }
    return;
  }
  for (size_t r = row_begin; r < row_end; ++r) {
    const uint8_t* row = w.data + r * w.row_bytes;
    switch (w.type) {
      case GgmlType::kF32:
        out[r] = DotF32(reinterpret_cast<const float*>(row), x.data(), w.cols);
        break;
      case GgmlType::kF16:
        out[r] = DotF16(row, x.data(), w.cols);
        break;
      case GgmlType::kBF16:
        out[r] = DotBf16(row, x.data(), w.cols);
        break;
      case GgmlType::kQ8_0:
        out[r] = DotQ8_0(row, x.data(), w.cols);
        break;
      case GgmlType::kQ4_0:
        out[r] = DotBlocks<DequantBlockQ4_0, kQ4_0BlockBytes>(row, x.data(), w.cols);
        break;
      case GgmlType::kQ5_0:
        out[r] = DotBlocks<DequantBlockQ5_0, kQ5_0BlockBytes>(row, x.data(), w.cols);
        break;
      case GgmlType::kQ4_K:
        out[r] = DotBlocks<DequantBlockQ4_K, kQ4_KBlockBytes, 256>(row, x.data(), w.cols);
        break;
      case GgmlType::kQ6_K:
        out[r] = DotBlocks<DequantBlockQ6_K, kQ6_KBlockBytes, 256>(row, x.data(), w.cols);
        break;
      default:
        out[r] = 0;  // unreachable: the loader rejects other types
        break;
    }
  }
}

bool SupportsQ8Activations(GgmlType type) {
  return type == GgmlType::kQ8_0 || type == GgmlType::kQ4_0 || type == GgmlType::kQ5_0 ||
         type == GgmlType::kQ4_K || type == GgmlType::kQ6_K;
}

void MatVecRowsQ8_0(const WeightView& w, std::span<const uint8_t> xq, std::span<float> out,
                    size_t row_begin, size_t row_end) {
  if (w.type == GgmlType::kQ4_K || w.type == GgmlType::kQ6_K) {
    const bool q4k = w.type == GgmlType::kQ4_K;
    for (size_t r = row_begin; r < row_end; ++r) {
      const uint8_t* row = w.data + r * w.row_bytes;
      if (!internal::UseAvx2Kernels()) {
        out[r] = q4k ? DotQ4_KQ8_0(row, xq.data(), w.cols) : DotQ6_KQ8_0(row, xq.data(), w.cols);
      } else if (q4k) {
        internal::Avx2MatQ4_KQ8_0(row, xq.data(), 0, nullptr, 0, 1, w.cols, &out[r], 0);
      } else {
        internal::Avx2MatQ6_KQ8_0(row, xq.data(), 0, 1, w.cols, &out[r], 0);
      }
    }
    return;
  }
  float (*dot)(const uint8_t*, const uint8_t*, size_t) = nullptr;
  if (internal::UseAvx2Kernels()) {
    dot = w.type == GgmlType::kQ4_0   ? internal::Avx2DotQ4_0Q8_0
          : w.type == GgmlType::kQ5_0 ? internal::Avx2DotQ5_0Q8_0
                                      : internal::Avx2DotQ8_0Q8_0;
  } else {
    dot = w.type == GgmlType::kQ4_0   ? DotQ4_0Q8_0
          : w.type == GgmlType::kQ5_0 ? DotQ5_0Q8_0
                                      : DotQ8_0Q8_0;
  }
  for (size_t r = row_begin; r < row_end; ++r) {
    out[r] = dot(w.data + r * w.row_bytes, xq.data(), w.cols);
  }
}

namespace {
// Rows of a tile: kTileRows weight rows (a few KiB each) stay in L1/L2 while every group of
// tokens passes over them, and each group's activations stay in L1 for the tile.
constexpr size_t kTileRows = 16;
constexpr size_t kTokenGroup = 4;
}  // namespace

void MatMulRows(const WeightView& w, std::span<const float> x, size_t x_stride, size_t num_tokens,
                std::span<float> out, size_t out_stride, size_t row_begin, size_t row_end) {
  for (size_t r0 = row_begin; r0 < row_end; r0 += kTileRows) {
    const size_t r1 = std::min(row_end, r0 + kTileRows);
    for (size_t t = 0; t < num_tokens; ++t) {
      MatVecRows(w, x.subspan(t * x_stride, w.cols), out.subspan(t * out_stride), r0, r1);
    }
  }
}

size_t PackedWeightBytes(const WeightView& w) {
  if ((w.type != GgmlType::kQ4_0 && w.type != GgmlType::kQ8_0) || w.rows < kPackRows) return 0;
  return w.rows / kPackRows * kPackRows * w.row_bytes;
}

void PackWeights(const WeightView& w, std::span<uint8_t> out) {
  const size_t block_bytes = w.type == GgmlType::kQ4_0 ? kQ4_0BlockBytes : kQ8_0BlockBytes;
  const size_t quant_bytes = kPackRows * (block_bytes - 2);  // per block, all 16 rows
  const size_t pieces = (block_bytes - 2) / 4;
  const size_t nb = w.cols / 32;
  for (size_t g = 0; g < w.rows / kPackRows; ++g) {
    uint8_t* group = out.data() + g * kPackRows * w.row_bytes;
    uint8_t* scales = group + nb * quant_bytes;
    for (size_t i = 0; i < kPackRows; ++i) {
      const uint8_t* row = w.data + (g * kPackRows + i) * w.row_bytes;
      for (size_t b = 0; b < nb; ++b) {
        const uint8_t* blk = row + b * block_bytes;
        std::memcpy(scales + 2 * kPackRows * b + 2 * i, blk, 2);
        for (size_t j = 0; j < pieces; ++j) {
          std::memcpy(group + b * quant_bytes + 4 * kPackRows * j + 4 * i, blk + 2 + 4 * j, 4);
        }
      }
    }
  }
}

void Q8_0BlockInfos(std::span<const uint8_t> xq, std::span<Q8_0BlockInfo> info) {
  for (size_t b = 0; b < info.size(); ++b) {
    const uint8_t* blk = xq.data() + b * kQ8_0BlockBytes;
    int32_t sum = 0;
    for (size_t i = 0; i < kQ8_0BlockElems; ++i) sum += static_cast<int8_t>(blk[2 + i]);
    info[b].d = F16ToF32(LoadU16(blk));
    info[b].sum = sum;
  }
}

void MatMulRowsQ8_0(const WeightView& w, std::span<const uint8_t> xq, size_t xq_stride,
                    size_t num_tokens, std::span<float> out, size_t out_stride, size_t row_begin,
                    size_t row_end, std::span<const Q8_0BlockInfo> info, size_t info_stride) {
  const size_t row_q8_bytes = w.cols / kQ8_0BlockElems * kQ8_0BlockBytes;
  if (!internal::UseAvx2Kernels()) {
    for (size_t r0 = row_begin; r0 < row_end; r0 += kTileRows) {
      const size_t r1 = std::min(row_end, r0 + kTileRows);
      for (size_t t = 0; t < num_tokens; ++t) {
        MatVecRowsQ8_0(w, xq.subspan(t * xq_stride, row_q8_bytes), out.subspan(t * out_stride), r0,
                       r1);
      }
    }
    return;
  }
  if (w.packed != nullptr && !info.empty() && PackedWeightBytes(w) != 0) {
    // Whole groups of 16 rows from the packed copy: each group once per four tokens (its
    // 16 * row_bytes stay in L1/L2 meanwhile), rows outside [row_begin, row_end) computed and
    // dropped, so a row's value never depends on the range.
    auto group_kernel =
        w.type == GgmlType::kQ4_0 ? internal::Avx2PackedQ4_0Q8_0 : internal::Avx2PackedQ8_0Q8_0;
    const size_t packed_end = w.rows / kPackRows * kPackRows;
    const size_t nb = w.cols / kQ8_0BlockElems;
    for (size_t g0 = row_begin / kPackRows * kPackRows; g0 < std::min(row_end, packed_end);
         g0 += kPackRows) {
      const uint8_t* group = w.packed + g0 * w.row_bytes;
      const size_t lo = std::max(row_begin, g0), hi = std::min(row_end, g0 + kPackRows);
      for (size_t t = 0; t < num_tokens; t += kTokenGroup) {
        const size_t n = std::min(kTokenGroup, num_tokens - t);
        float tile[kTokenGroup * kPackRows];
        group_kernel(group, nb, xq.data() + t * xq_stride, xq_stride, info.data() + t * info_stride,
                     info_stride, n, tile);
        for (size_t i = 0; i < n; ++i) {
          for (size_t r = lo; r < hi; ++r)
            out[(t + i) * out_stride + r] = tile[i * kPackRows + r - g0];
        }
      }
    }
    if (row_end <= packed_end) return;
    row_begin = std::max(row_begin, packed_end);
  }
  if (w.type == GgmlType::kQ6_K) {
    for (size_t r0 = row_begin; r0 < row_end; r0 += kTileRows) {
      const size_t r1 = std::min(row_end, r0 + kTileRows);
      for (size_t t = 0; t < num_tokens; t += kTokenGroup) {
        const size_t group = std::min(kTokenGroup, num_tokens - t);
        for (size_t r = r0; r < r1; ++r) {
          internal::Avx2MatQ6_KQ8_0(w.data + r * w.row_bytes, xq.data() + t * xq_stride, xq_stride,
                                    group, w.cols, &out[t * out_stride + r], out_stride);
        }
      }
    }
    return;
  }
  if (w.type == GgmlType::kQ4_K) {
    for (size_t r0 = row_begin; r0 < row_end; r0 += kTileRows) {
      const size_t r1 = std::min(row_end, r0 + kTileRows);
      for (size_t t = 0; t < num_tokens; t += kTokenGroup) {
        const size_t group = std::min(kTokenGroup, num_tokens - t);
        const Q8_0BlockInfo* in = info.empty() ? nullptr : info.data() + t * info_stride;
        for (size_t r = r0; r < r1; ++r) {
          internal::Avx2MatQ4_KQ8_0(w.data + r * w.row_bytes, xq.data() + t * xq_stride, xq_stride,
                                    in, info_stride, group, w.cols, &out[t * out_stride + r],
                                    out_stride);
        }
      }
    }
    return;
  }
  void (*mat)(const uint8_t*, const uint8_t*, size_t, size_t, size_t, float*, size_t) =
      w.type == GgmlType::kQ4_0   ? internal::Avx2MatQ4_0Q8_0
      : w.type == GgmlType::kQ5_0 ? internal::Avx2MatQ5_0Q8_0
                                  : internal::Avx2MatQ8_0Q8_0;
  for (size_t r0 = row_begin; r0 < row_end; r0 += kTileRows) {
    const size_t r1 = std::min(row_end, r0 + kTileRows);
    for (size_t t = 0; t < num_tokens; t += kTokenGroup) {
      const size_t group = std::min(kTokenGroup, num_tokens - t);
      const uint8_t* x = xq.data() + t * xq_stride;
      for (size_t r = r0; r < r1; ++r) {
        mat(w.data + r * w.row_bytes, x, xq_stride, group, w.cols, &out[t * out_stride + r],
            out_stride);
      }
    }
  }
}

float AttentionDotF16(const uint16_t* k, const float* q, size_t n) {
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(k);
  return internal::UseAvx2Kernels() ? internal::Avx2DotF16(bytes, q, n) : DotF16(bytes, q, n);
}

float AttentionDotF32(const float* k, const float* q, size_t n) {
  return internal::UseAvx2Kernels() ? internal::Avx2DotF32(k, q, n) : DotF32(k, q, n);
}

void AttentionAxpyF16(float a, const uint16_t* v, float* out, size_t n) {
  if (internal::UseAvx2Kernels()) return internal::Avx2AxpyF16(a, v, out, n);
  const float* f16 = F16ToF32Table();
  for (size_t i = 0; i < n; ++i) out[i] += a * f16[v[i]];
}

void AttentionAxpyF32(float a, const float* v, float* out, size_t n) {
  if (internal::UseAvx2Kernels()) return internal::Avx2AxpyF32(a, v, out, n);
  for (size_t i = 0; i < n; ++i) out[i] += a * v[i];
}

void RoundTripF16(std::span<float> x) {
  if (internal::UseAvx2Kernels()) return internal::Avx2RoundTripF16(x.data(), x.size());
  for (float& v : x) v = F16ToF32(F32ToF16(v));
}

void SiluMul(std::span<float> gate, std::span<const float> up) {
  if (internal::UseAvx2Kernels()) return internal::Avx2SiluMul(gate.data(), up.data(), gate.size());
  for (size_t i = 0; i < gate.size(); ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void RoundToF16(std::span<const float> x, uint16_t* out) {
  if (internal::UseAvx2Kernels()) return internal::Avx2F32ToF16(x.data(), x.size(), out);
  for (size_t i = 0; i < x.size(); ++i) out[i] = F32ToF16(x[i]);
}

const char* KernelSetName() {
  if (!internal::UseAvx2Kernels()) return "portable";
  return internal::HaveVnniKernels() ? "avx2/fma/f16c+avx512vnni" : "avx2/fma/f16c";
}

void ForcePortableKernels(bool portable) { internal::SetPortableKernelsForTesting(portable); }

void RmsNorm(std::span<float> out, std::span<const float> x, std::span<const float> weight,
             float eps) {
  float ss = 0;
  for (float v : x) ss += v * v;
  const float scale = 1.0f / std::sqrt(ss / static_cast<float>(x.size()) + eps);
  for (size_t i = 0; i < x.size(); ++i) out[i] = x[i] * scale * weight[i];
}

void Softmax(std::span<float> x) {
  if (x.empty()) return;
  const float max = *std::max_element(x.begin(), x.end());
  float sum = 0;
  for (float& v : x) {
    v = std::exp(v - max);
    sum += v;
  }
  const float inv = 1.0f / sum;
  for (float& v : x) v *= inv;
}

void Rope(std::span<float> x, size_t num_heads, size_t head_dim, size_t rope_dims, int pos,
          float freq_base, float freq_scale, RopeStyle style) {
  const size_t half = rope_dims / 2;
  for (size_t j = 0; j < half; ++j) {
    // As ggml's rope: theta_j = pos * freq_scale * base^(-2j/n_dims).
    const float theta =
        static_cast<float>(pos) * freq_scale *
        std::pow(freq_base, -2.0f * static_cast<float>(j) / static_cast<float>(rope_dims));
    const float c = std::cos(theta), s = std::sin(theta);
    for (size_t h = 0; h < num_heads; ++h) {
      float* v = x.data() + h * head_dim;
      const size_t a = style == RopeStyle::kNormal ? 2 * j : j;
      const size_t b = style == RopeStyle::kNormal ? 2 * j + 1 : j + half;
      const float v0 = v[a], v1 = v[b];
      v[a] = v0 * c - v1 * s;
      v[b] = v0 * s + v1 * c;
    }
  }
}

}  // namespace confide::llm
