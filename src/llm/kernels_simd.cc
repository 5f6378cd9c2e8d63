// AVX2/FMA/F16C dot products (see llm/internal/kernels_simd.h). Compiled with per-function
// target attributes so the rest of the library stays baseline x86-64; kernels.cc calls these
// only when HaveAvx2Kernels().
#include "llm/internal/kernels_simd.h"

#include <atomic>
#include <cmath>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(CONFIDE_NO_TARGET_CLONES)
#define CONFIDE_HAVE_AVX2_KERNELS 1
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace confide::llm::internal {
namespace {
std::atomic<bool> force_portable{false};
std::atomic<bool> force_no_vnni{false};
}  // namespace

void SetPortableKernelsForTesting(bool portable) { force_portable.store(portable); }
void SetNoVnniForTesting(bool no_vnni) { force_no_vnni.store(no_vnni); }

bool UseAvx2Kernels() {
  static const bool have = HaveAvx2Kernels();
  return have && !force_portable.load(std::memory_order_relaxed);
}

#if CONFIDE_HAVE_AVX2_KERNELS

#define CONFIDE_AVX2 __attribute__((target("avx2,fma,f16c")))

bool HaveAvx2Kernels() {
  __builtin_cpu_init();
  // F16C from CPUID leaf 1, ECX bit 29 (not every compiler's __builtin_cpu_supports knows it);
  // AVX2 implies the OS saves YMM state (libgcc/compiler-rt check XGETBV for it).
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & (1u << 29)) != 0;
  return f16c && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

namespace {

constexpr size_t kQ8Bytes = 34;
constexpr size_t kQ4Bytes = 18;
constexpr size_t kQ5Bytes = 22;

CONFIDE_AVX2 inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

CONFIDE_AVX2 inline float HalfToFloat(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// SignedDot returns 8 int32 lanes summing to sum_i a[i] * b[i] over 32 signed bytes, via
// maddubs (unsigned x signed): |a| times b with a's sign moved onto b. Pair sums stay below
// 2 * 128 * 127 < 32768, so the 16-bit step cannot saturate while b avoids -128.
CONFIDE_AVX2 inline __m256i SignedDot(__m256i a, __m256i b) {
  const __m256i abs_a = _mm256_sign_epi8(a, a);
  const __m256i signed_b = _mm256_sign_epi8(b, a);
  const __m256i pairs = _mm256_maddubs_epi16(abs_a, signed_b);
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

// BlockStep adds d * (the 8 int32 partial sums) into acc.
CONFIDE_AVX2 inline __m256 BlockStep(__m256 acc, float d, __m256i sums) {
  return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sums), acc);
}

// UnpackNibbles returns the 32 nibbles of 16 bytes: low nibbles in bytes 0..15, high in 16..31.
CONFIDE_AVX2 inline __m256i UnpackNibbles(const uint8_t* p) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// ExpandBits returns 32 bytes, byte j being 0xFF where bit j of `bits` is set and 0 elsewhere.
CONFIDE_AVX2 inline __m256i ExpandBits(uint32_t bits) {
  const __m256i rep = _mm256_set1_epi32(static_cast<int>(bits));
  // Bytes 0..7 of each lane take source byte 0 (low lane) or 2 (high lane), bytes 8..15 byte 1
  // or 3; set1 put all four source bytes in both lanes.
  const __m256i pick = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                        2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i spread = _mm256_shuffle_epi8(rep, pick);
  const __m256i mask = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ULL));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, mask), mask);
}

}  // namespace

CONFIDE_AVX2 float Avx2DotF32(const float* w, const float* x, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 16), _mm256_loadu_ps(x + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 24), _mm256_loadu_ps(x + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), acc0);
  }
  float sum = HorizontalSum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) sum += w[i] * x[i];
  return sum;
}

CONFIDE_AVX2 float Avx2DotF16(const uint8_t* w, const float* x, size_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2 * i)));
    const __m256 w1 =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2 * i + 16)));
    acc0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), acc1);
  }
  float sum = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += HalfToFloat(w + 2 * i) * x[i];
  return sum;
}

CONFIDE_AVX2 float Avx2DotQ8_0Q8_0(const uint8_t* w, const uint8_t* x, size_t n) {
  const size_t nb = n / 32;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const uint8_t* w0 = w + b * kQ8Bytes;
    const uint8_t* x0 = x + b * kQ8Bytes;
    const uint8_t* w1 = w0 + kQ8Bytes;
    const uint8_t* x1 = x0 + kQ8Bytes;
    const __m256i s0 = SignedDot(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w0 + 2)),
                                 _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x0 + 2)));
    const __m256i s1 = SignedDot(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w1 + 2)),
                                 _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x1 + 2)));
    acc0 = BlockStep(acc0, HalfToFloat(w0) * HalfToFloat(x0), s0);
    acc1 = BlockStep(acc1, HalfToFloat(w1) * HalfToFloat(x1), s1);
  }
  for (; b < nb; ++b) {
    const uint8_t* w0 = w + b * kQ8Bytes;
    const uint8_t* x0 = x + b * kQ8Bytes;
    const __m256i s0 = SignedDot(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w0 + 2)),
                                 _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x0 + 2)));
    acc0 = BlockStep(acc0, HalfToFloat(w0) * HalfToFloat(x0), s0);
  }
  return HorizontalSum(_mm256_add_ps(acc0, acc1));
}

CONFIDE_AVX2 float Avx2DotQ4_0Q8_0(const uint8_t* w, const uint8_t* x, size_t n) {
  const size_t nb = n / 32;
  const __m256i eight = _mm256_set1_epi8(8);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const uint8_t* w0 = w + b * kQ4Bytes;
    const uint8_t* x0 = x + b * kQ8Bytes;
    const uint8_t* w1 = w0 + kQ4Bytes;
    const uint8_t* x1 = x0 + kQ8Bytes;
    const __m256i q0 = _mm256_sub_epi8(UnpackNibbles(w0 + 2), eight);
    const __m256i q1 = _mm256_sub_epi8(UnpackNibbles(w1 + 2), eight);
    const __m256i s0 = SignedDot(q0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x0 + 2)));
    const __m256i s1 = SignedDot(q1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x1 + 2)));
    acc0 = BlockStep(acc0, HalfToFloat(w0) * HalfToFloat(x0), s0);
    acc1 = BlockStep(acc1, HalfToFloat(w1) * HalfToFloat(x1), s1);
  }
  for (; b < nb; ++b) {
    const uint8_t* w0 = w + b * kQ4Bytes;
    const uint8_t* x0 = x + b * kQ8Bytes;
    const __m256i q0 = _mm256_sub_epi8(UnpackNibbles(w0 + 2), eight);
    const __m256i s0 = SignedDot(q0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x0 + 2)));
    acc0 = BlockStep(acc0, HalfToFloat(w0) * HalfToFloat(x0), s0);
  }
  return HorizontalSum(_mm256_add_ps(acc0, acc1));
}

CONFIDE_AVX2 float Avx2DotQ5_0Q8_0(const uint8_t* w, const uint8_t* x, size_t n) {
  const size_t nb = n / 32;
  const __m256i high = _mm256_set1_epi8(static_cast<char>(0xF0));
  __m256 acc = _mm256_setzero_ps();
  for (size_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * kQ5Bytes;
    const uint8_t* xb = x + b * kQ8Bytes;
    uint32_t qh;
    std::memcpy(&qh, wb + 2, 4);
    // q - 16 as a signed byte: the nibble when the fifth bit is set, else nibble - 16, which is
    // the nibble with the top four bits set.
    const __m256i q =
        _mm256_or_si256(UnpackNibbles(wb + 6), _mm256_andnot_si256(ExpandBits(qh), high));
    const __m256i s = SignedDot(q, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 2)));
    acc = BlockStep(acc, HalfToFloat(wb) * HalfToFloat(xb), s);
  }
  return HorizontalSum(acc);
}

namespace {

// Block decoders for the multi-row kernels: Quants returns the 32 signed quants of a weight
// block exactly as the single-row kernels above compute them; kTwoAccumulators says whether
// that kernel alternates two accumulators between even and odd blocks.
struct Q8Block {
  static constexpr size_t kBytes = kQ8Bytes;
  static constexpr bool kTwoAccumulators = true;
  CONFIDE_AVX2 static __m256i Quants(const uint8_t* blk) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
  }
};
struct Q4Block {
  static constexpr size_t kBytes = kQ4Bytes;
  static constexpr bool kTwoAccumulators = true;
  CONFIDE_AVX2 static __m256i Quants(const uint8_t* blk) {
    return _mm256_sub_epi8(UnpackNibbles(blk + 2), _mm256_set1_epi8(8));
  }
};
struct Q5Block {
  static constexpr size_t kBytes = kQ5Bytes;
  static constexpr bool kTwoAccumulators = false;
  CONFIDE_AVX2 static __m256i Quants(const uint8_t* blk) {
    uint32_t qh;
    std::memcpy(&qh, blk + 2, 4);
    return _mm256_or_si256(UnpackNibbles(blk + 6),
                           _mm256_andnot_si256(ExpandBits(qh), _mm256_set1_epi8(0xF0 - 256)));
  }
};

// MatStep adds block b of the weight row times block b of each of the N activation rows into
// acc[t]: SignedDot split so that |q| is computed once for all rows.
template <typename Block, int N>
CONFIDE_AVX2 inline void MatStep(const uint8_t* w, const uint8_t* x, size_t x_stride, size_t b,
                                 __m256* acc) {
  const uint8_t* wb = w + b * Block::kBytes;
  const __m256i q = Block::Quants(wb);
  const __m256i abs_q = _mm256_sign_epi8(q, q);
  const float dw = HalfToFloat(wb);
  const __m256i ones = _mm256_set1_epi16(1);
  for (int t = 0; t < N; ++t) {
    const uint8_t* xb = x + t * x_stride + b * kQ8Bytes;
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 2));
    const __m256i pairs = _mm256_maddubs_epi16(abs_q, _mm256_sign_epi8(xv, q));
    acc[t] = BlockStep(acc[t], dw * HalfToFloat(xb), _mm256_madd_epi16(pairs, ones));
  }
}

template <typename Block, int N>
CONFIDE_AVX2 void MatRow(const uint8_t* w, const uint8_t* x, size_t x_stride, size_t n, float* out,
                         size_t out_stride) {
  const size_t nb = n / 32;
  __m256 acc0[N], acc1[N];
  for (int t = 0; t < N; ++t) acc0[t] = acc1[t] = _mm256_setzero_ps();
  size_t b = 0;
  if constexpr (Block::kTwoAccumulators) {
    for (; b + 2 <= nb; b += 2) {
      MatStep<Block, N>(w, x, x_stride, b, acc0);
      MatStep<Block, N>(w, x, x_stride, b + 1, acc1);
    }
  }
  for (; b < nb; ++b) MatStep<Block, N>(w, x, x_stride, b, acc0);
  for (int t = 0; t < N; ++t) {
    out[t * out_stride] = Block::kTwoAccumulators ? HorizontalSum(_mm256_add_ps(acc0[t], acc1[t]))
                                                  : HorizontalSum(acc0[t]);
  }
}

// The same with vpdpbusd (AVX512-VNNI on 256-bit vectors): dpbusd(0, |q|, sign(x, q)) equals
// madd(maddubs(|q|, sign(x, q)), 1) exactly, since no pair sum reaches the 16-bit limit.
#define CONFIDE_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))

template <typename Block, int N>
CONFIDE_VNNI inline void MatStepVnni(const uint8_t* w, const uint8_t* x, size_t x_stride, size_t b,
                                     __m256* acc) {
  const uint8_t* wb = w + b * Block::kBytes;
  const __m256i q = Block::Quants(wb);
  const __m256i abs_q = _mm256_sign_epi8(q, q);
  const float dw = HalfToFloat(wb);
  for (int t = 0; t < N; ++t) {
    const uint8_t* xb = x + t * x_stride + b * kQ8Bytes;
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 2));
    const __m256i sums =
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), abs_q, _mm256_sign_epi8(xv, q));
    acc[t] = BlockStep(acc[t], dw * HalfToFloat(xb), sums);
  }
}

template <typename Block, int N>
CONFIDE_VNNI void MatRowVnni(const uint8_t* w, const uint8_t* x, size_t x_stride, size_t n,
                             float* out, size_t out_stride) {
  const size_t nb = n / 32;
  __m256 acc0[N], acc1[N];
  for (int t = 0; t < N; ++t) acc0[t] = acc1[t] = _mm256_setzero_ps();
  size_t b = 0;
  if constexpr (Block::kTwoAccumulators) {
    for (; b + 2 <= nb; b += 2) {
      MatStepVnni<Block, N>(w, x, x_stride, b, acc0);
      MatStepVnni<Block, N>(w, x, x_stride, b + 1, acc1);
    }
  }
  for (; b < nb; ++b) MatStepVnni<Block, N>(w, x, x_stride, b, acc0);
  for (int t = 0; t < N; ++t) {
    out[t * out_stride] = Block::kTwoAccumulators ? HorizontalSum(_mm256_add_ps(acc0[t], acc1[t]))
                                                  : HorizontalSum(acc0[t]);
  }
}

template <typename Block>
CONFIDE_AVX2 void MatRows(const uint8_t* w, const uint8_t* x, size_t x_stride, size_t num_tokens,
                          size_t n, float* out, size_t out_stride) {
  static const bool vnni = HaveVnniKernels();
  if (vnni) {
    switch (num_tokens) {
      case 1:
        return MatRowVnni<Block, 1>(w, x, x_stride, n, out, out_stride);
      case 2:
        return MatRowVnni<Block, 2>(w, x, x_stride, n, out, out_stride);
      case 3:
        return MatRowVnni<Block, 3>(w, x, x_stride, n, out, out_stride);
      default:
        return MatRowVnni<Block, 4>(w, x, x_stride, n, out, out_stride);
    }
  }
  switch (num_tokens) {
    case 1:
      return MatRow<Block, 1>(w, x, x_stride, n, out, out_stride);
    case 2:
      return MatRow<Block, 2>(w, x, x_stride, n, out, out_stride);
    case 3:
      return MatRow<Block, 3>(w, x, x_stride, n, out, out_stride);
    default:
      return MatRow<Block, 4>(w, x, x_stride, n, out, out_stride);
  }
}

}  // namespace

CONFIDE_AVX2 void Avx2MatQ8_0Q8_0(const uint8_t* w, const uint8_t* x, size_t x_stride,
                                  size_t num_tokens, size_t n, float* out, size_t out_stride) {
  MatRows<Q8Block>(w, x, x_stride, num_tokens, n, out, out_stride);
}
CONFIDE_AVX2 void Avx2MatQ4_0Q8_0(const uint8_t* w, const uint8_t* x, size_t x_stride,
                                  size_t num_tokens, size_t n, float* out, size_t out_stride) {
  MatRows<Q4Block>(w, x, x_stride, num_tokens, n, out, out_stride);
}
CONFIDE_AVX2 void Avx2MatQ5_0Q8_0(const uint8_t* w, const uint8_t* x, size_t x_stride,
                                  size_t num_tokens, size_t n, float* out, size_t out_stride) {
  MatRows<Q5Block>(w, x, x_stride, num_tokens, n, out, out_stride);
}

namespace {

// Packed-group kernels (PackWeights's layout): each 64-byte piece of a block holds 4 weight
// bytes of each of the 16 rows, one row per 32-bit lane, so broadcasting the 4 matching
// activation bytes and one vpdpbusd on 512 bits (or, per half of 8 rows, maddubs + madd on 256)
// gives every row's partial sum in its own lane. The weights are taken as unsigned bytes
// u = q + offset (Q4_0: the nibble, offset 8; Q8_0: q ^ 0x80, offset 128), so the exact block
// sum is sum(u * x) - offset * sum(x), with sum(x) from Q8_0BlockInfos.
constexpr size_t kPackRows16 = 16;
constexpr size_t kPrefetchBytes = 4096;

CONFIDE_AVX2 inline __m256i Broadcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

struct PackedQ4 {
  static constexpr size_t kQuantBytes = 256;  // per block: 4 pieces of 64 bytes
  static constexpr int32_t kOffset = 8;
  // XOffset is where in the activation block's quants the bytes of weight vector j start:
  // vector j < 4 holds the low nibbles of piece j (elements 4j..4j+3), j >= 4 the high nibbles
  // of piece j - 4 (elements 16 + 4(j-4)...).
  static constexpr size_t XOffset(int j) { return j < 4 ? 4 * j : 16 + 4 * (j - 4); }
  // LoadHalf returns the 8 unsigned weight vectors of rows 8h..8h+7 of a block.
  CONFIDE_AVX2 static void LoadHalf(const uint8_t* q, int h, __m256i* w) {
    const __m256i m = _mm256_set1_epi8(0x0F);
    for (int j = 0; j < 4; ++j) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 64 * j + 32 * h));
      w[j] = _mm256_and_si256(raw, m);
      w[j + 4] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m);
    }
  }
  // SumAvx2: u <= 15 and |x| <= 128, so each maddubs pair is below 3840 and eight of them stay
  // below 32768 in 16 bits.
  CONFIDE_AVX2 static __m256i SumAvx2(const __m256i* w, const uint8_t* xq, int32_t xsum) {
    __m256i p = _mm256_maddubs_epi16(w[0], Broadcast4(xq + XOffset(0)));
    for (int j = 1; j < 8; ++j) {
      p = _mm256_add_epi16(p, _mm256_maddubs_epi16(w[j], Broadcast4(xq + XOffset(j))));
    }
    return _mm256_add_epi32(_mm256_madd_epi16(p, _mm256_set1_epi16(1)),
                            _mm256_set1_epi32(-kOffset * xsum));
  }
};

struct PackedQ8 {
  static constexpr size_t kQuantBytes = 512;  // per block: 8 pieces of 64 bytes
  static constexpr int32_t kOffset = 128;
  static constexpr size_t XOffset(int j) { return 4 * j; }
  // LoadHalf returns the raw signed weights of rows 8h..8h+7 (SumAvx2 takes them signed).
  CONFIDE_AVX2 static void LoadHalf(const uint8_t* q, int h, __m256i* w) {
    for (int j = 0; j < 8; ++j) {
      w[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 64 * j + 32 * h));
    }
  }
  // SumAvx2: u * x can exceed 16 bits in maddubs, so the signed weights go through the sign
  // trick of SignedDot instead (no offset then).
  CONFIDE_AVX2 static __m256i SumAvx2(const __m256i* w, const uint8_t* xq, int32_t) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i s = _mm256_setzero_si256();
    for (int j = 0; j < 8; ++j) {
      const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(w[j], w[j]),
                                                 _mm256_sign_epi8(Broadcast4(xq + 4 * j), w[j]));
      s = _mm256_add_epi32(s, _mm256_madd_epi16(pairs, ones));
    }
    return s;
  }
};

// PackedGroupAvx2 computes the 16 rows as two halves of 8 on 256-bit vectors.
template <typename P, int N>
CONFIDE_AVX2 void PackedGroupAvx2(const uint8_t* group, size_t nb, const uint8_t* x,
                                  size_t x_stride, const Q8_0BlockInfo* info, size_t info_stride,
                                  float* out) {
  const uint8_t* scales = group + nb * P::kQuantBytes;
  for (int h = 0; h < 2; ++h) {
    __m256 acc[N];
    for (int t = 0; t < N; ++t) acc[t] = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; ++b) {
      if (h == 0) {
        for (size_t l = 0; l < P::kQuantBytes; l += 64) {
          _mm_prefetch(
              reinterpret_cast<const char*>(group + b * P::kQuantBytes + kPrefetchBytes + l),
              _MM_HINT_T0);
        }
      }
      __m256i w[8];
      P::LoadHalf(group + b * P::kQuantBytes, h, w);
      const __m256 dw = _mm256_cvtph_ps(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + 32 * b + 16 * h)));
      for (int t = 0; t < N; ++t) {
        const Q8_0BlockInfo& in = info[t * info_stride + b];
        const __m256i isum = P::SumAvx2(w, x + t * x_stride + b * kQ8Bytes + 2, in.sum);
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, _mm256_set1_ps(in.d)),
                                 acc[t]);
      }
    }
    for (int t = 0; t < N; ++t) _mm256_storeu_ps(out + kPackRows16 * t + 8 * h, acc[t]);
  }
}

#define CONFIDE_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

CONFIDE_AVX512 inline __m512i Broadcast4x16(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// Load16 returns the 8 unsigned weight vectors of all 16 rows of a block.
CONFIDE_AVX512 inline void Load16(PackedQ4, const uint8_t* q, __m512i* w) {
  const __m512i m = _mm512_set1_epi8(0x0F);
  for (int j = 0; j < 4; ++j) {
    const __m512i raw = _mm512_loadu_si512(q + 64 * j);
    w[j] = _mm512_and_si512(raw, m);
    w[j + 4] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m);
  }
}
CONFIDE_AVX512 inline void Load16(PackedQ8, const uint8_t* q, __m512i* w) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int j = 0; j < 8; ++j) w[j] = _mm512_xor_si512(_mm512_loadu_si512(q + 64 * j), flip);
}

// PackedGroupAvx512 does all 16 rows at once with vpdpbusd on 512 bits: the same integer sums
// and the same float operations per row as PackedGroupAvx2.
template <typename P, int N>
CONFIDE_AVX512 void PackedGroupAvx512(const uint8_t* group, size_t nb, const uint8_t* x,
                                      size_t x_stride, const Q8_0BlockInfo* info,
                                      size_t info_stride, float* out) {
  const uint8_t* scales = group + nb * P::kQuantBytes;
  __m512 acc[N];
  for (int t = 0; t < N; ++t) acc[t] = _mm512_setzero_ps();
  for (size_t b = 0; b < nb; ++b) {
    // The hardware prefetcher alone leaves a core short of the memory bandwidth here: ask for
    // the quants kPrefetchBytes ahead (harmless past the end: prefetches do not fault).
    for (size_t l = 0; l < P::kQuantBytes; l += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(group + b * P::kQuantBytes + kPrefetchBytes + l),
                   _MM_HINT_T0);
    }
    __m512i w[8];
    Load16(P{}, group + b * P::kQuantBytes, w);
    // The masked forms with an all-ones mask are the plain instructions; GCC 12 warns falsely
    // (maybe-uninitialized) on the unmasked intrinsics' undefined source.
    const __m512 dw =
        _mm512_mask_cvtph_ps(_mm512_setzero_ps(), 0xFFFF,
                             _mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales + 32 * b)));
    for (int t = 0; t < N; ++t) {
      const Q8_0BlockInfo& in = info[t * info_stride + b];
      const uint8_t* xq = x + t * x_stride + b * kQ8Bytes + 2;
      __m512i s0 = _mm512_set1_epi32(-P::kOffset * in.sum), s1 = _mm512_setzero_si512();
      for (int j = 0; j < 8; j += 2) {
        s0 = _mm512_dpbusd_epi32(s0, w[j], Broadcast4x16(xq + P::XOffset(j)));
        s1 = _mm512_dpbusd_epi32(s1, w[j + 1], Broadcast4x16(xq + P::XOffset(j + 1)));
      }
      const __m512 sum =
          _mm512_mask_cvtepi32_ps(_mm512_setzero_ps(), 0xFFFF, _mm512_add_epi32(s0, s1));
      acc[t] = _mm512_fmadd_ps(sum, _mm512_mul_ps(dw, _mm512_set1_ps(in.d)), acc[t]);
    }
  }
  for (int t = 0; t < N; ++t) _mm512_storeu_ps(out + kPackRows16 * t, acc[t]);
}

bool HaveAvx512PackedKernels() {
  __builtin_cpu_init();
  return HaveVnniKernels() && __builtin_cpu_supports("avx512bw");
}

template <typename P>
void PackedGroup(const uint8_t* group, size_t nb, const uint8_t* x, size_t x_stride,
                 const Q8_0BlockInfo* info, size_t info_stride, size_t num_tokens, float* out) {
  static const bool have_avx512 = HaveAvx512PackedKernels();
  if (have_avx512 && !force_no_vnni.load(std::memory_order_relaxed)) {
    switch (num_tokens) {
      case 1:
        return PackedGroupAvx512<P, 1>(group, nb, x, x_stride, info, info_stride, out);
      case 2:
        return PackedGroupAvx512<P, 2>(group, nb, x, x_stride, info, info_stride, out);
      case 3:
        return PackedGroupAvx512<P, 3>(group, nb, x, x_stride, info, info_stride, out);
      default:
        return PackedGroupAvx512<P, 4>(group, nb, x, x_stride, info, info_stride, out);
    }
  }
  switch (num_tokens) {
    case 1:
      return PackedGroupAvx2<P, 1>(group, nb, x, x_stride, info, info_stride, out);
    case 2:
      return PackedGroupAvx2<P, 2>(group, nb, x, x_stride, info, info_stride, out);
    case 3:
      return PackedGroupAvx2<P, 3>(group, nb, x, x_stride, info, info_stride, out);
    default:
      return PackedGroupAvx2<P, 4>(group, nb, x, x_stride, info, info_stride, out);
  }
}

}  // namespace

void Avx2PackedQ4_0Q8_0(const uint8_t* group, size_t nb, const uint8_t* x, size_t x_stride,
                        const Q8_0BlockInfo* info, size_t info_stride, size_t num_tokens,
                        float* out) {
  PackedGroup<PackedQ4>(group, nb, x, x_stride, info, info_stride, num_tokens, out);
}
void Avx2PackedQ8_0Q8_0(const uint8_t* group, size_t nb, const uint8_t* x, size_t x_stride,
                        const Q8_0BlockInfo* info, size_t info_stride, size_t num_tokens,
                        float* out) {
  PackedGroup<PackedQ8>(group, nb, x, x_stride, info, info_stride, num_tokens, out);
}

namespace {

// ScaleMinK4 unpacks the 6-bit scale and min of sub-block j of block_q4_K's 12 scale bytes
// (ggml get_scale_min_k4; the same as kernels.cc's).
inline void ScaleMinK4(size_t j, const uint8_t* q, int* scale, int* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

template <int N>
CONFIDE_AVX2 void MatRowQ4_K(const uint8_t* w, const uint8_t* x, size_t x_stride,
                             const Q8_0BlockInfo* info, size_t info_stride, size_t n, float* out,
                             size_t out_stride) {
  constexpr size_t kQ4KBytes = 144;
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[N];
  float mins[N];
  for (int t = 0; t < N; ++t) acc[t] = _mm256_setzero_ps(), mins[t] = 0;
  for (size_t b = 0; b < n / 256; ++b) {
    const uint8_t* blk = w + b * kQ4KBytes;
    const float d = HalfToFloat(blk), dmin = HalfToFloat(blk + 2);
    float fsc[8], fmin[8];
    for (size_t j = 0; j < 8; ++j) {
      int sc, m;
      ScaleMinK4(j, blk + 4, &sc, &m);
      fsc[j] = d * static_cast<float>(sc);
      fmin[j] = dmin * static_cast<float>(m);
    }
    for (size_t c = 0; c < 4; ++c) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16 + 32 * c));
      const __m256i q[2] = {_mm256_and_si256(raw, m4),
                            _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4)};
      for (int t = 0; t < N; ++t) {
        for (size_t h = 0; h < 2; ++h) {
          const size_t j = 2 * c + h, k = 8 * b + j;
          const uint8_t* xb = x + t * x_stride + k * kQ8Bytes;
          const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 2));
          // q <= 15, |x| <= 128: maddubs pairs stay far below 16-bit saturation.
          const __m256i sums = _mm256_madd_epi16(_mm256_maddubs_epi16(q[h], xv), ones);
          float dx;
          int32_t xsum;
          if (info != nullptr) {
            dx = info[t * info_stride + k].d;
            xsum = info[t * info_stride + k].sum;
          } else {
            dx = HalfToFloat(xb);
            xsum = 0;
            for (size_t i = 0; i < 32; ++i) xsum += static_cast<int8_t>(xb[2 + i]);
          }
          acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(fsc[j] * dx), acc[t]);
          mins[t] += fmin[j] * dx * static_cast<float>(xsum);
        }
      }
    }
  }
  for (int t = 0; t < N; ++t) out[t * out_stride] = HorizontalSum(acc[t]) - mins[t];
}

}  // namespace

namespace {

// Q6_K (ggml block_q6_K { ql[128]; qh[64]; int8 scales[16]; half d; }): in half h (128
// elements) element 32k + l takes its low 4 bits from ql[64h + 32(k&1) + l] (low nibble for
// k < 2, high for k >= 2) and its high 2 bits from bits 2k..2k+1 of qh[32h + l], minus 32;
// elements l < 16 and l >= 16 of run k use scales[8h + 2k] and scales[8h + 2k + 1].
template <int N>
CONFIDE_AVX2 void MatRowQ6_K(const uint8_t* w, const uint8_t* x, size_t x_stride, size_t n,
                             float* out, size_t out_stride) {
  constexpr size_t kQ6KBytes = 210;
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
  const __m256i m32 = _mm256_set1_epi8(32);
  __m256 acc[N];
  for (int t = 0; t < N; ++t) acc[t] = _mm256_setzero_ps();
  for (size_t b = 0; b < n / 256; ++b) {
    const uint8_t* blk = w + b * kQ6KBytes;
    const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
    const float d = HalfToFloat(blk + 208);
    for (size_t m = 0; m < 8; ++m) {
      const size_t h = m / 4, k = m % 4;
      __m256i lo =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 64 * h + 32 * (k & 1)));
      if (k >= 2) lo = _mm256_srli_epi16(lo, 4);
      lo = _mm256_and_si256(lo, m4);
      __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 128 + 32 * h));
      hi = _mm256_and_si256(_mm256_srli_epi16(hi, static_cast<int>(2 * k)), m2);
      const __m256i q = _mm256_sub_epi8(_mm256_or_si256(lo, _mm256_slli_epi16(hi, 4)), m32);
      const __m256i abs_q = _mm256_sign_epi8(q, q);
      // 16-bit lanes 0..7 hold elements 0..15 (scale a), lanes 8..15 elements 16..31 (b).
      const __m256i scales = _mm256_setr_m128i(_mm_set1_epi16(sc[8 * h + 2 * k]),
                                               _mm_set1_epi16(sc[8 * h + 2 * k + 1]));
      for (int t = 0; t < N; ++t) {
        const uint8_t* xb = x + t * x_stride + (8 * b + m) * kQ8Bytes;
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 2));
        // |q - 32| <= 32, |x| <= 127: pairs below 8200; times |scale| <= 128 and paired, far
        // inside int32.
        const __m256i pairs = _mm256_maddubs_epi16(abs_q, _mm256_sign_epi8(xv, q));
        const __m256i sums = _mm256_madd_epi16(pairs, scales);
        acc[t] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(d * HalfToFloat(xb)), acc[t]);
      }
    }
  }
  for (int t = 0; t < N; ++t) out[t * out_stride] = HorizontalSum(acc[t]);
}

}  // namespace

CONFIDE_AVX2 void Avx2MatQ6_KQ8_0(const uint8_t* w, const uint8_t* x, size_t x_stride,
                                  size_t num_tokens, size_t n, float* out, size_t out_stride) {
  switch (num_tokens) {
    case 1:
      return MatRowQ6_K<1>(w, x, x_stride, n, out, out_stride);
    case 2:
      return MatRowQ6_K<2>(w, x, x_stride, n, out, out_stride);
    case 3:
      return MatRowQ6_K<3>(w, x, x_stride, n, out, out_stride);
    default:
      return MatRowQ6_K<4>(w, x, x_stride, n, out, out_stride);
  }
}

CONFIDE_AVX2 void Avx2MatQ4_KQ8_0(const uint8_t* w, const uint8_t* x, size_t x_stride,
                                  const Q8_0BlockInfo* info, size_t info_stride, size_t num_tokens,
                                  size_t n, float* out, size_t out_stride) {
  switch (num_tokens) {
    case 1:
      return MatRowQ4_K<1>(w, x, x_stride, info, info_stride, n, out, out_stride);
    case 2:
      return MatRowQ4_K<2>(w, x, x_stride, info, info_stride, n, out, out_stride);
    case 3:
      return MatRowQ4_K<3>(w, x, x_stride, info, info_stride, n, out, out_stride);
    default:
      return MatRowQ4_K<4>(w, x, x_stride, info, info_stride, n, out, out_stride);
  }
}

bool HaveVnniKernels() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl");
}

CONFIDE_AVX2 void Avx2AxpyF16(float a, const uint16_t* v, float* out, size_t n) {
  const __m256 va = _mm256_set1_ps(a);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + i)));
    _mm256_storeu_ps(out + i, _mm256_fmadd_ps(va, x, _mm256_loadu_ps(out + i)));
  }
  for (; i < n; ++i) out[i] += a * _cvtsh_ss(v[i]);
}

CONFIDE_AVX2 void Avx2AxpyF32(float a, const float* v, float* out, size_t n) {
  const __m256 va = _mm256_set1_ps(a);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i,
                     _mm256_fmadd_ps(va, _mm256_loadu_ps(v + i), _mm256_loadu_ps(out + i)));
  }
  for (; i < n; ++i) out[i] += a * v[i];
}

CONFIDE_AVX2 void Avx2F32ToF16(const float* x, size_t n, uint16_t* out) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i) out[i] = static_cast<uint16_t>(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
}

CONFIDE_AVX2 void Avx2RoundTripF16(float* x, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_ps(x + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i)
    x[i] = _cvtsh_ss(static_cast<uint16_t>(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT)));
}

namespace {

// Exp8 returns exp(x) per lane (Cephes expf: x = n ln2 + r with |r| <= ln2/2, a degree-6
// polynomial for e^r, times 2^n built in the exponent bits; x clamped to [-87.3, 88.3] so 2^n
// stays a normal float).
CONFIDE_AVX2 inline __m256 Exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

}  // namespace

CONFIDE_AVX2 void Avx2SiluMul(float* gate, const float* up, size_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = Exp8(_mm256_xor_ps(g, sign));
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

CONFIDE_AVX2 void Avx2QuantizeRowQ8_0(const float* x, size_t n, uint8_t* out) {
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  const __m256 half = _mm256_set1_ps(0.5f);
  const __m256 one = _mm256_set1_ps(1.0f);
  for (size_t b = 0; b < n / 32; ++b) {
    const float* xb = x + b * 32;
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(xb + 8 * k);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, v[k]));
    }
    // Horizontal max (order-free, so equal to the portable loop's).
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float d = _mm_cvtss_f32(m) / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    uint8_t* blk = out + b * kQ8Bytes;
    const uint16_t dh = static_cast<uint16_t>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
    std::memcpy(blk, &dh, 2);
    __m256i q[4];
    for (int k = 0; k < 4; ++k) {
      // lround: truncate, then step away from zero when the dropped part is at least a half
      // (v - trunc(v) is exact for |v| < 2^23).
      const __m256 s = _mm256_mul_ps(v[k], _mm256_set1_ps(id));
      const __m256 t = _mm256_round_ps(s, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m256 frac = _mm256_andnot_ps(sign_bit, _mm256_sub_ps(s, t));
      const __m256 step = _mm256_or_ps(_mm256_and_ps(s, sign_bit), one);
      const __m256 r = _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(frac, half, _CMP_GE_OQ), step));
      q[k] = _mm256_cvtps_epi32(r);
    }
    // Pack 32 int32 to 32 int8 in order (packs work per 128-bit lane; permute restores order).
    const __m256i p01 = _mm256_packs_epi32(q[0], q[1]);
    const __m256i p23 = _mm256_packs_epi32(q[2], q[3]);
    __m256i p = _mm256_packs_epi16(p01, p23);
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(blk + 2), p);
  }
}

#else  // !CONFIDE_HAVE_AVX2_KERNELS

bool HaveAvx2Kernels() { return false; }
float Avx2DotF32(const float*, const float*, size_t) { return 0; }
float Avx2DotF16(const uint8_t*, const float*, size_t) { return 0; }
float Avx2DotQ8_0Q8_0(const uint8_t*, const uint8_t*, size_t) { return 0; }
float Avx2DotQ4_0Q8_0(const uint8_t*, const uint8_t*, size_t) { return 0; }
float Avx2DotQ5_0Q8_0(const uint8_t*, const uint8_t*, size_t) { return 0; }
void Avx2MatQ8_0Q8_0(const uint8_t*, const uint8_t*, size_t, size_t, size_t, float*, size_t) {}
void Avx2MatQ4_0Q8_0(const uint8_t*, const uint8_t*, size_t, size_t, size_t, float*, size_t) {}
void Avx2MatQ5_0Q8_0(const uint8_t*, const uint8_t*, size_t, size_t, size_t, float*, size_t) {}
void Avx2PackedQ4_0Q8_0(const uint8_t*, size_t, const uint8_t*, size_t, const Q8_0BlockInfo*,
                        size_t, size_t, float*) {}
void Avx2PackedQ8_0Q8_0(const uint8_t*, size_t, const uint8_t*, size_t, const Q8_0BlockInfo*,
                        size_t, size_t, float*) {}
void Avx2QuantizeRowQ8_0(const float*, size_t, uint8_t*) {}
bool HaveVnniKernels() { return false; }
void Avx2AxpyF16(float, const uint16_t*, float*, size_t) {}
void Avx2AxpyF32(float, const float*, float*, size_t) {}
void Avx2F32ToF16(const float*, size_t, uint16_t*) {}
void Avx2RoundTripF16(float*, size_t) {}
void Avx2MatQ6_KQ8_0(const uint8_t*, const uint8_t*, size_t, size_t, size_t, float*, size_t) {}
void Avx2MatQ4_KQ8_0(const uint8_t*, const uint8_t*, size_t, const Q8_0BlockInfo*, size_t, size_t,
                     size_t, float*, size_t) {}
void Avx2SiluMul(float*, const float*, size_t) {}

#endif  // CONFIDE_HAVE_AVX2_KERNELS

}  // namespace confide::llm::internal
