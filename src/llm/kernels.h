// confide::llm kernels: the numeric building blocks of the forward pass.
//
// Plain, portable C++ (the compiler vectorises the inner loops), plus explicit AVX2/FMA/F16C
// versions of the hot dot products (internal/kernels_simd.h) chosen at run time; every kernel
// has a naive reference in kernels_test.cc that it is checked against on random inputs, and
// the SIMD ones are checked against the portable ones. None allocates.
#ifndef CONFIDE_LLM_KERNELS_H_
#define CONFIDE_LLM_KERNELS_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "llm/gguf.h"

namespace confide::llm {

// F16ToF32 converts an IEEE 754 binary16 to float (exact; NaN payloads kept, subnormals too).
float F16ToF32(uint16_t h);
// F16ToF32Table returns a table of all 65536 F16ToF32 results (256 KiB, built once on first
// use, thread-safe), for hot loops.
const float* F16ToF32Table();
// F32ToF16 converts a float to binary16 with round-to-nearest-even (overflow gives infinity).
uint16_t F32ToF16(float f);
// Bf16ToF32 converts a bfloat16 to float (exact).
inline float Bf16ToF32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

// kQ8_0BlockElems / kQ8_0BlockBytes: ggml's block_q8_0 { ggml_half d; int8_t qs[32]; }, the
// value of element i being d * qs[i].
inline constexpr size_t kQ8_0BlockElems = 32;
inline constexpr size_t kQ8_0BlockBytes = 34;

// QuantizeRowQ8_0 writes x.size()/32 Q8_0 blocks to `out` (x.size() must be a multiple of 32;
// out.size() == x.size()/32*34), as ggml's quantize_row_q8_0_ref: d = max|x|/127,
// q = round(x/d).
void QuantizeRowQ8_0(std::span<const float> x, std::span<uint8_t> out);

// QuantizeRowQ4_0 writes x.size()/32 blocks of ggml's block_q4_0 { ggml_half d; uint8_t
// qs[16]; } (element j: low nibble of qs[j], element j+16: high nibble, value d * (q - 8)), as
// quantize_row_q4_0_ref: d = max / -8 where max is the element of largest magnitude.
void QuantizeRowQ4_0(std::span<const float> x, std::span<uint8_t> out);
// QuantizeRowQ5_0 writes blocks of block_q5_0 { ggml_half d; uint8_t qh[4]; uint8_t qs[16]; }
// (5-bit q: low nibbles as Q4_0, bit 4 of element j in bit j of the little-endian qh; value
// d * (q - 16)), as quantize_row_q5_0_ref: d = max / -16.
void QuantizeRowQ5_0(std::span<const float> x, std::span<uint8_t> out);
// QuantizeRowQ4_K writes x.size()/256 blocks of ggml's block_q4_K { ggml_half d, dmin; uint8_t
// scales[12]; uint8_t qs[128]; } (x.size() must be a multiple of 256; out.size() ==
// x.size()/256*144), the inverse of DequantizeRow's reader. A simple quantiser, not ggml's
// search-based make_qkx2_quants (output differs bit for bit, the format is the same): each
// 32-element sub-block takes min m = min(0, min x) and scale (max x - m)/15, both quantised to
// 6 bits against d = max scale/63 and dmin = max |m|/63; q = round((x - m)/scale) in 0..15.
void QuantizeRowQ4_K(std::span<const float> x, std::span<uint8_t> out);
// QuantizeRowQ6_K writes x.size()/256 blocks of ggml's block_q6_K { uint8_t ql[128]; uint8_t
// qh[64]; int8_t scales[16]; ggml_half d; } (x.size() a multiple of 256; out.size() ==
// x.size()/256*210). Simple quantiser (not ggml's make_qx_quants search): each 16-element
// sub-block takes scale max|x|/31 quantised to int8 against d = max scale/127, q = round(x /
// (d*scale)) in -32..31.
void QuantizeRowQ6_K(std::span<const float> x, std::span<uint8_t> out);

// SupportsMatVec returns true for the weight types MatVec and DequantizeRow handle
// (F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q6_K; the K types read ggml's layouts).
bool SupportsMatVec(GgmlType type);

// DequantizeRow writes the `out.size()` elements of one row of `type` starting at `row` (which
// must hold GgmlRowBytes(type, out.size()) bytes). Supported types only (DCHECKed).
void DequantizeRow(GgmlType type, const uint8_t* row, std::span<float> out);

// WeightView is a borrowed 2-D weight matrix: `rows` rows of `cols` elements of `type`, row r
// starting at data + r * row_bytes.
struct WeightView {
  GgmlType type = GgmlType::kF32;
  const uint8_t* data = nullptr;
  size_t rows = 0;
  size_t cols = 0;
  size_t row_bytes = 0;
  // packed, when set, is PackWeights's interleaved copy of `data` (derived from it; `data` stays
  // the source of truth and serves every row outside the copy and the portable kernels).
  const uint8_t* packed = nullptr;
};

// kPackRows is how many weight rows PackWeights interleaves.
inline constexpr size_t kPackRows = 16;

// PackedWeightBytes returns the size of PackWeights's copy of `w`: row_bytes per row of the
// whole groups of kPackRows rows (the last rows % 16 are not copied), for Q4_0 and Q8_0 weights;
// 0 for other types or fewer than 16 rows.
size_t PackedWeightBytes(const WeightView& w);

// PackWeights writes the interleaved copy of Q4_0/Q8_0 `w` that MatMulRowsQ8_0's SIMD kernels
// read (out.size() == PackedWeightBytes(w)). Group g (rows 16g..16g+15, nb = cols/32 blocks)
// takes 16 * row_bytes at g * 16 * row_bytes: first the quants of every block b in turn, as
// 4-byte pieces j = 0..(Q4_0: 3, Q8_0: 7) of rows 0..15 (piece j of row i at b * Q + 64j + 4i,
// Q = 256 or 512: bytes qs[4j..4j+3] of that row's block b, unchanged), then the 16 F16 scales
// of each block b at nb * Q + 32b (row i's at + 2i). A 512-bit load thus holds one piece of
// each of the 16 rows, one per 32-bit lane (a 256-bit load, 8 of them).
void PackWeights(const WeightView& w, std::span<uint8_t> out);

// MatVec computes out[r] = sum_c W[r][c] * x[c] for r < w.rows (x.size() == w.cols,
// out.size() == w.rows). F32 data must be 4-byte aligned, F16/BF16 2-byte (the model loader
// checks). Does not allocate.
void MatVec(const WeightView& w, std::span<const float> x, std::span<float> out);
// MatVecRows computes rows [row_begin, row_end) of MatVec (the unit threads split).
void MatVecRows(const WeightView& w, std::span<const float> x, std::span<float> out,
                size_t row_begin, size_t row_end);

// SupportsQ8Activations returns true for the weight types MatVecRowsQ8_0 takes (Q8_0, Q4_0,
// Q5_0: ggml's vec_dot_type for them is Q8_0; and Q4_K/Q6_K, whose 32-element runs each meet
// one Q8_0 activation block, where ggml would use Q8_K activations).
bool SupportsQ8Activations(GgmlType type);

// MatVecRowsQ8_0 computes rows [row_begin, row_end) of W x for the SupportsQ8Activations types
// with the activations already quantised to Q8_0 (`xq`: w.cols/32 blocks from QuantizeRowQ8_0),
// as ggml does: per block d_w * d_x * sum(q_w * q_x) in exact integers (Q4_K: per sub-block j
// d_x * (d * scale_j * sum(q * q_x) - dmin * min_j * sum(q_x)); Q6_K: per 32-element run
// d * d_x * (scale_a * sum_a(q * q_x) + scale_b * sum_b(q * q_x))).
void MatVecRowsQ8_0(const WeightView& w, std::span<const uint8_t> xq, std::span<float> out,
                    size_t row_begin, size_t row_end);

// MatMulRows computes rows [row_begin, row_end) of W x_t for `num_tokens` activation rows x_t
// (x_t = x[t * x_stride, t * x_stride + w.cols)), writing out[t * out_stride + r]: a prompt's
// tokens as one matrix, each block of weight rows read once for all of them. Every value is
// bit-identical to MatVecRows's for that row and token alone. Does not allocate.
void MatMulRows(const WeightView& w, std::span<const float> x, size_t x_stride, size_t num_tokens,
                std::span<float> out, size_t out_stride, size_t row_begin, size_t row_end);

// Q8_0BlockInfo is what the packed kernels read of a Q8_0 activation block besides its quants:
// its scale as float and the sum of its 32 quants.
struct Q8_0BlockInfo {
  float d = 0;
  int32_t sum = 0;
};

// Q8_0BlockInfos fills info[b] for each Q8_0 block b of `xq` (info.size() == xq.size() / 34).
void Q8_0BlockInfos(std::span<const uint8_t> xq, std::span<Q8_0BlockInfo> info);

// MatMulRowsQ8_0 is MatMulRows with the activations already quantised to Q8_0 (row t at
// xq[t * xq_stride], w.cols/32 blocks) for the weight types of SupportsQ8Activations; the AVX2
// kernels decode each weight block once for up to four tokens. Without w.packed (or `info`),
// every value is bit-identical to MatVecRowsQ8_0's for that row and token alone. With w.packed
// and `info` (Q8_0BlockInfos of each row t at info[t * info_stride]) the SIMD kernels read the
// packed copy for the rows of whole groups of 16 (same exact integer block sums, one float
// accumulator per row in block order: within float summation order of MatVecRowsQ8_0); every
// value is then bit-identical to MatMulRowsQ8_0's for that row and token alone, whatever the
// token count and row range.
void MatMulRowsQ8_0(const WeightView& w, std::span<const uint8_t> xq, size_t xq_stride,
                    size_t num_tokens, std::span<float> out, size_t out_stride, size_t row_begin,
                    size_t row_end, std::span<const Q8_0BlockInfo> info = {},
                    size_t info_stride = 0);

// AttentionDotF16 returns sum_i q[i] * k[i] for keys stored as binary16 (an F16 KV cache row);
// AttentionDotF32 the same for float keys. n is any size. The SIMD and portable versions differ
// only in float summation order.
float AttentionDotF16(const uint16_t* k, const float* q, size_t n);
float AttentionDotF32(const float* k, const float* q, size_t n);
// AttentionAxpyF16 adds a * v[i] to out[i] for i < n, v stored as binary16; AttentionAxpyF32 the
// same for float v.
void AttentionAxpyF16(float a, const uint16_t* v, float* out, size_t n);
void AttentionAxpyF32(float a, const float* v, float* out, size_t n);
// RoundToF16 stores x[i] as binary16 in out[i] (round to nearest even, as F32ToF16).
void RoundToF16(std::span<const float> x, uint16_t* out);
// RoundTripF16 replaces each x[i] by F16ToF32(F32ToF16(x[i])) (bit-identical for non-NaN x; a
// NaN stays a NaN).
void RoundTripF16(std::span<float> x);

// SiluMul sets gate[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)) (SwiGLU). The SIMD
// version evaluates exp with a polynomial (within 2 ulp of std::exp; tests bound the result
// against a double reference); the portable one calls std::exp.
void SiluMul(std::span<float> gate, std::span<const float> up);

// KernelSetName returns the dot-product kernels MatVecRows / MatVecRowsQ8_0 use now:
// "avx2/fma/f16c" when the CPU has them (chosen at run time), else "portable".
const char* KernelSetName();
// ForcePortableKernels(true) makes every later MatVec use the portable kernels even where SIMD
// ones exist (benchmarks compare the two in one run; tests check they agree); false restores
// the run-time choice. Process-wide; not for use while another thread runs kernels.
void ForcePortableKernels(bool portable);

// RmsNorm computes out = x / sqrt(mean(x^2) + eps) * weight. out may alias x.
void RmsNorm(std::span<float> out, std::span<const float> x, std::span<const float> weight,
             float eps);

// Softmax replaces x by exp(x - max) / sum, in place (stable for large logits).
void Softmax(std::span<float> x);

// RopeStyle selects which dimensions RoPE rotates together.
enum class RopeStyle {
  kNormal,  // pairs (2i, 2i+1): llama (GGUF's q/k are permuted by the converter to fit this)
  kNeox,    // pairs (i, i + rope_dims/2): qwen2, GPT-NeoX
};

// Rope rotates each of the `num_heads` heads of `head_dim` floats in `x` by position `pos`:
// for the first `rope_dims` dimensions, pair j is rotated by
// theta_j = pos * freq_scale * freq_base^(-2j/rope_dims); the rest are left alone.
void Rope(std::span<float> x, size_t num_heads, size_t head_dim, size_t rope_dims, int pos,
          float freq_base, float freq_scale, RopeStyle style);

}  // namespace confide::llm

#endif  // CONFIDE_LLM_KERNELS_H_
