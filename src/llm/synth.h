// confide::llm synth: random-weight GGUF models with a chosen shape (tests, fuzz seeds, tools).
#ifndef CONFIDE_LLM_SYNTH_H_
#define CONFIDE_LLM_SYNTH_H_

#include <cstddef>
#include <cstdint>

#include "base/bytes.h"
#include "base/status.h"
#include "llm/gguf.h"
#include "llm/model.h"

namespace confide::llm {

// SynthSpec is the shape and encoding of a random model.
struct SynthSpec {
  Architecture arch = Architecture::kLlama;
  size_t dim = 64;
  size_t hidden_dim = 96;
  size_t num_layers = 2;
  size_t num_heads = 4;
  size_t num_kv_heads = 2;
  size_t vocab_size = 300;  // >= 259: <unk>, <s>, </s> and 256 byte tokens come first
  size_t context_length = 64;
  size_t rope_dims = 0;  // 0: head_dim
  float rope_freq_base = 10000.0f;
  GgmlType type = GgmlType::kF32;  // of the matrices (norms and biases stay F32)
  bool tied_output = false;
  // q4_k_m: ignore `type` for the matrices and use llama.cpp's Q4_K_M mix: Q4_K, with attn_v and
  // ffn_down Q6_K in the first and last eighth of the layers and every third layer between
  // (llama.cpp's use_more_bits), output.weight Q6_K; rows not a multiple of 256 fall back as
  // llama.cpp does (Q4_K -> Q5_0, Q6_K -> Q8_0).
  bool q4_k_m = false;
  uint64_t seed = 1;
};

// SynthesizeModel returns a GGUF file with random weights (uniform, scaled by 1/sqrt(fan-in))
// and a SentencePiece-style vocabulary of placeholder pieces. InvalidArgument if the shape is
// inconsistent or `type` is not F32/F16/BF16/Q8_0/Q4_0/Q5_0 (quantised types need dims that are
// multiples of 32).
absl::StatusOr<Bytes> SynthesizeModel(const SynthSpec& spec);

}  // namespace confide::llm

#endif  // CONFIDE_LLM_SYNTH_H_
