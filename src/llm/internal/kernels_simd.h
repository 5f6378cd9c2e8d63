// confide::llm internal SIMD kernels: AVX2/FMA/F16C versions of the hot dot products, chosen at
// run time by kernels.cc when the CPU has them. Each one computes the same value as the
// portable version in kernels.cc up to float summation order (the integer block sums are exact
// and identical); kernels_test.cc checks both against a naive reference on random inputs.
#ifndef CONFIDE_LLM_INTERNAL_KERNELS_SIMD_H_
#define CONFIDE_LLM_INTERNAL_KERNELS_SIMD_H_

#include <cstddef>
#include <cstdint>

#include "llm/kernels.h"

namespace confide::llm::internal {

// HaveAvx2Kernels returns true when the kernels below were compiled in and the CPU supports
// AVX2, FMA and F16C.
bool HaveAvx2Kernels();

// SetPortableKernelsForTesting(true) makes MatVecRows / MatVecRowsQ8_0 use the portable kernels
// even where the SIMD ones are available (tests compare the two); false restores the default.
void SetPortableKernelsForTesting(bool portable);
// UseAvx2Kernels returns HaveAvx2Kernels() unless SetPortableKernelsForTesting(true) is in force.
bool UseAvx2Kernels();

// Avx2DotF32 / Avx2DotF16: sum_i w[i] * x[i] for F32 / F16 weights (n any size).
float Avx2DotF32(const float* w, const float* x, size_t n);
float Avx2DotF16(const uint8_t* w, const float* x, size_t n);
// Avx2DotQ8_0Q8_0 / Avx2DotQ4_0Q8_0 / Avx2DotQ5_0Q8_0: the dot product of n elements (a multiple
// of 32) of Q8_0 / Q4_0 / Q5_0 weights with Q8_0 activations from QuantizeRowQ8_0, whose
// quants lie in [-127, 127] (the sign trick below needs that; -128 never occurs).
float Avx2DotQ8_0Q8_0(const uint8_t* w, const uint8_t* x, size_t n);
float Avx2DotQ4_0Q8_0(const uint8_t* w, const uint8_t* x, size_t n);
float Avx2DotQ5_0Q8_0(const uint8_t* w, const uint8_t* x, size_t n);

// Avx2MatQ8_0Q8_0 / Avx2MatQ4_0Q8_0 / Avx2MatQ5_0Q8_0 compute the dot products of one weight row
// `w` (n elements, n a multiple of 32) with `num_tokens` (1..4) Q8_0 activation rows, row t at
// x + t * x_stride, writing row t's result to out[t * out_stride]. Each weight block is decoded
// once and used for every row; every result is bit-identical to the Avx2Dot* kernel's for that
// row alone (same block order, same accumulators, same float operations).
void Avx2MatQ8_0Q8_0(const uint8_t* w, const uint8_t* x, size_t x_stride, size_t num_tokens,
                     size_t n, float* out, size_t out_stride);
void Avx2MatQ4_0Q8_0(const uint8_t* w, const uint8_t* x, size_t x_stride, size_t num_tokens,
                     size_t n, float* out, size_t out_stride);
void Avx2MatQ5_0Q8_0(const uint8_t* w, const uint8_t* x, size_t x_stride, size_t num_tokens,
                     size_t n, float* out, size_t out_stride);

// Avx2MatQ4_KQ8_0 is Avx2MatQ4_0Q8_0 for Q4_K weights (n a multiple of 256) with Q8_0
// activations: sub-block j of 32 elements of a Q4_K block meets Q8_0 activation block k, and
// adds d_x * (d * scale_j * sum(q * x) - dmin * min_j * sum(x)) (integer sums exact; sum(x) and
// d_x from `info` (Q8_0BlockInfos, row t at info + t * info_stride) or, if info is null,
// computed from x: the same values). Results are identical for any num_tokens (1..4).
void Avx2MatQ4_KQ8_0(const uint8_t* w, const uint8_t* x, size_t x_stride, const Q8_0BlockInfo* info,
                     size_t info_stride, size_t num_tokens, size_t n, float* out,
                     size_t out_stride);

// Avx2MatQ6_KQ8_0 is the same for Q6_K weights: activation block k (32 elements) meets the two
// 16-element sub-blocks of one 32-element run of a Q6_K block and adds
// d * d_x * (scale_a * sum_a((q - 32) * x) + scale_b * sum_b((q - 32) * x)) (exact integers).
void Avx2MatQ6_KQ8_0(const uint8_t* w, const uint8_t* x, size_t x_stride, size_t num_tokens,
                     size_t n, float* out, size_t out_stride);

// HaveVnniKernels returns true when the CPU also has AVX512-VNNI with AVX512-VL, for which
// Avx2Mat* use vpdpbusd on 256-bit vectors (the same exact integer sums, one instruction
// fewer per block and token). UseAvx2Kernels() must hold too.
bool HaveVnniKernels();

// Avx2PackedQ4_0Q8_0 / Avx2PackedQ8_0Q8_0 compute the 16 rows of one PackWeights group
// (`group`, nb blocks per row) times `num_tokens` (1..4) Q8_0 activation rows (row t at
// x + t * x_stride, its Q8_0BlockInfos at info + t * info_stride), writing row i of token t to
// out[16t + i]. The integer block sums are exact (the unsigned weight bytes times the signed
// activations, minus offset times the activation block sum); each row then accumulates
// d_w * d_x * sum with one FMA per block in block order: the same operations for any num_tokens
// and on either path (512-bit vpdpbusd where the CPU has AVX512-VNNI+BW, else 256-bit AVX2).
void Avx2PackedQ4_0Q8_0(const uint8_t* group, size_t nb, const uint8_t* x, size_t x_stride,
                        const Q8_0BlockInfo* info, size_t info_stride, size_t num_tokens,
                        float* out);
void Avx2PackedQ8_0Q8_0(const uint8_t* group, size_t nb, const uint8_t* x, size_t x_stride,
                        const Q8_0BlockInfo* info, size_t info_stride, size_t num_tokens,
                        float* out);
// SetNoVnniForTesting(true) makes the kernels above take their AVX2-only path even where
// AVX512-VNNI exists (tests cover both); false restores the default.
void SetNoVnniForTesting(bool no_vnni);

// Avx2AxpyF16 / Avx2AxpyF32: out[i] += a * v[i] (n any size); Avx2F32ToF16: out[i] = f16(x[i]).
void Avx2AxpyF16(float a, const uint16_t* v, float* out, size_t n);
void Avx2AxpyF32(float a, const float* v, float* out, size_t n);
void Avx2F32ToF16(const float* x, size_t n, uint16_t* out);
// Avx2RoundTripF16: x[i] = f32(f16(x[i])); Avx2SiluMul: gate[i] = silu(gate[i]) * up[i].
void Avx2RoundTripF16(float* x, size_t n);
void Avx2SiluMul(float* gate, const float* up, size_t n);

// Avx2QuantizeRowQ8_0 is QuantizeRowQ8_0 (same bytes: round half away from zero as lround).
void Avx2QuantizeRowQ8_0(const float* x, size_t n, uint8_t* out);

}  // namespace confide::llm::internal

#endif  // CONFIDE_LLM_INTERNAL_KERNELS_SIMD_H_
