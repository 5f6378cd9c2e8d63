// confide::llm convert / quantize: model files into GGUF, and GGUF into smaller GGUF.
//
// ConvertLlama2c reads llama2.c's legacy checkpoint and tokenizer files (Karpathy's run.c
// formats) through bounded cursors; QuantizeGguf re-encodes the matrices of a GGUF model as
// llama.cpp's quantize tool does for the pure types. Both return the new file in memory.
#ifndef CONFIDE_LLM_CONVERT_H_
#define CONFIDE_LLM_CONVERT_H_

#include <cstddef>
#include <functional>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "llm/gguf.h"

namespace confide::llm {

// ProgressFn is told (done, total, what) as a long conversion advances (total > 0; `what` names
// the tensor being written). May be empty.
using ProgressFn = std::function<void(size_t done, size_t total, const std::string& what)>;

// ConvertLlama2c returns a GGUF (architecture llama, F32 tensors, SentencePiece-style
// vocabulary) equivalent to a llama2.c legacy checkpoint and its tokenizer file:
//  checkpoint: 7 x int32 {dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative:
//   a separate classifier follows), seq_len}, then float32 arrays token_embedding[vocab][dim],
//   rms_att[L][dim], wq[L][dim][dim], wk[L][kv_dim][dim], wv[L][kv_dim][dim], wo[L][dim][dim],
//   rms_ffn[L][dim], w1[L][hidden][dim], w2[L][dim][hidden], w3[L][hidden][dim], rms_final[dim],
//   freq_cis_real/imag[seq_len][head_dim/2] (skipped), then wcls[vocab][dim] if not shared;
//  tokenizer: int32 max_token_length, then per token: float32 score, int32 length, bytes (BOS
//   and EOS written as "\n<s>\n" / "\n</s>\n", U+2581 as a space, as llama2.c's exporter does).
// The matrices are copied as they are (llama2.c's [out][in] rows are GGUF's, and its RoPE pairs
// adjacent dimensions like GGUF's llama). InvalidArgument naming the field when a header value
// is out of range, the files are truncated or too long, or the checkpoint is a versioned
// ("ak42") export, which is not supported.
absl::StatusOr<Bytes> ConvertLlama2c(ByteSpan checkpoint, ByteSpan tokenizer,
                                     const ProgressFn& progress = {});

// QuantizableType returns the GgmlType for "q8_0", "q4_0", "q5_0", "f16", "bf16" or "f32",
// InvalidArgument otherwise.
absl::StatusOr<GgmlType> QuantizableType(const std::string& name);

// QuantizeGguf returns `in` with every 2-D F32/F16/BF16 tensor whose rows are a multiple of 32
// elements re-encoded as `type` (Q8_0, Q4_0, Q5_0, F16, BF16 or F32) and every other tensor
// (norms, biases: 1-D; already quantised ones) copied unchanged, as llama.cpp keeps norms F32;
// metadata is copied with general.file_type set to llama.cpp's ftype for `type`. The quantisers
// are ggml's reference ones (QuantizeRowQ8_0 etc.). InvalidArgument for another `type`.
absl::StatusOr<Bytes> QuantizeGguf(const GgufFile& in, GgmlType type,
                                   const ProgressFn& progress = {});

}  // namespace confide::llm

#endif  // CONFIDE_LLM_CONVERT_H_
