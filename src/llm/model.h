// confide::llm model: llama-family transformers (llama, qwen2) loaded from GGUF, llama2.c-style.
//
// Config holds the hyperparameters, Weights borrows the tensors (views into the GGUF bytes),
// RunState owns every activation buffer and the KV cache, allocated once at load. Forward()
// allocates nothing. The llm module never sees keys: weights come from a mapped file or from a
// buffer another module decrypted.
#ifndef CONFIDE_LLM_MODEL_H_
#define CONFIDE_LLM_MODEL_H_

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "llm/gguf.h"
#include "llm/kernels.h"
#include "llm/mapped_file.h"
#include "llm/thread_pool.h"

namespace confide::llm {

// Architecture is the model family (general.architecture).
enum class Architecture { kLlama, kQwen2 };

// ArchitectureName returns "llama" or "qwen2".
const char* ArchitectureName(Architecture arch);

// Config is a model's hyperparameters, read from GGUF metadata and tensor shapes.
struct Config {
  Architecture arch = Architecture::kLlama;
  size_t dim = 0;             // embedding width (n_embd)
  size_t hidden_dim = 0;      // feed-forward width (n_ff)
  size_t num_layers = 0;      // transformer blocks
  size_t num_heads = 0;       // query heads
  size_t num_kv_heads = 0;    // key/value heads (GQA: num_heads % num_kv_heads == 0)
  size_t head_dim = 0;        // per-head width (attention.key_length, default dim / num_heads)
  size_t vocab_size = 0;      // rows of token_embd
  size_t context_length = 0;  // positions the KV cache holds (model's, capped by options)
  size_t model_context_length = 0;  // {arch}.context_length as stored
  size_t rope_dims = 0;             // rotated dimensions per head (rope.dimension_count)
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // 1 / rope.scaling.factor for linear scaling
  RopeStyle rope_style = RopeStyle::kNormal;
  float rms_eps = 1e-5f;
  bool qkv_bias = false;     // qwen2: q/k/v projections have biases
  bool tied_output = false;  // no output.weight: logits use token_embd
  int bos_token = -1;        // tokenizer.ggml.bos_token_id, -1 if absent
  int eos_token = -1;        // tokenizer.ggml.eos_token_id
  int eot_token = -1;        // tokenizer.ggml.eot_token_id

  size_t q_dim() const { return num_heads * head_dim; }
  size_t kv_dim() const { return num_kv_heads * head_dim; }
};

// LayerWeights borrows one block's tensors. WeightView rows x cols is out x in.
struct LayerWeights {
  std::span<const float> attn_norm;   // [dim]
  WeightView wq;                      // [q_dim x dim]
  WeightView wk;                      // [kv_dim x dim]
  WeightView wv;                      // [kv_dim x dim]
  WeightView wo;                      // [dim x q_dim]
  std::span<const float> bq, bk, bv;  // [q_dim], [kv_dim], [kv_dim]; empty unless qkv_bias
  std::span<const float> ffn_norm;    // [dim]
  WeightView w_gate;                  // [hidden_dim x dim]
  WeightView w_up;                    // [hidden_dim x dim]
  WeightView w_down;                  // [dim x hidden_dim]
};

// Weights borrows every tensor of a model from its GGUF bytes.
struct Weights {
  WeightView token_embd;               // [vocab_size x dim]
  std::vector<LayerWeights> layers;    // [num_layers]
  std::span<const float> output_norm;  // [dim]
  WeightView output;                   // [vocab_size x dim] (token_embd when tied)
};

// KvCacheType is the element type of the KV cache.
enum class KvCacheType {
  // kF16 halves the cache and matches llama.cpp's default numerics: k and v are stored as
  // binary16, and (as ggml's CPU mul_mat converts src1 to the f16 weights' dot type) q and the
  // attention probabilities are rounded to binary16 before their dot products.
  kF16,
  // kF32 keeps everything in float (the reference numerics).
  kF32,
};

// RunState owns the activations and KV cache for one sequence; sized once at load. The
// per-token buffers hold `batch` rows (ModelOptions::batch_size): ForwardBatch runs up to that
// many prompt tokens through each layer together, row i being token i of the step.
struct RunState {
  size_t batch = 1;                     // rows of the per-token buffers
  std::vector<float> x;                 // [batch x dim] residual stream
  std::vector<float> xb;                // [batch x dim] normalised input / block output
  std::vector<float> xq;                // [batch x q_dim] attention output before wo
  std::vector<float> q;                 // [batch x q_dim]
  std::vector<float> k;                 // [batch x kv_dim] the step's keys (after RoPE)
  std::vector<float> v;                 // [batch x kv_dim] the step's values
  std::vector<float> hb;                // [batch x hidden_dim] gate
  std::vector<float> hb2;               // [batch x hidden_dim] up
  std::vector<float> att;               // [num_heads x context_length] scores
  std::vector<float> logits;            // [vocab_size] of the last token of a step
  std::vector<uint8_t> xq8;             // [batch x max(dim, q_dim, hidden_dim) / 32 x 34] as Q8_0
  std::vector<Q8_0BlockInfo> xq8_info;  // [batch x max(...) / 32] Q8_0BlockInfos of xq8
  // Exactly one pair of caches is sized, by KvCacheType.
  std::vector<float> key_cache;         // [num_layers x context_length x kv_dim] (kF32)
  std::vector<float> value_cache;       // [num_layers x context_length x kv_dim] (kF32)
  std::vector<uint16_t> key_cache16;    // [num_layers x context_length x kv_dim] (kF16)
  std::vector<uint16_t> value_cache16;  // [num_layers x context_length x kv_dim] (kF16)
};

// ModelOptions tunes loading.
struct ModelOptions {
  // max_context caps the KV cache (the model's context_length can be 32k+); 0 = the model's.
  size_t max_context = 4096;
  // lock mlocks a mapped file (Open) and the packed weight copies (Open and FromBuffer) so
  // weights never reach swap; loading fails if the kernel refuses.
  bool lock = false;
  // pack_weights makes an interleaved copy (PackWeights) of every Q4_0/Q8_0 matrix at load
  // when the CPU has the AVX2 kernels, which read it 16 rows at a time (faster; costs the
  // copy's memory, kept in a WeightBuffer). The file bytes stay the source of truth; off reads
  // them directly.
  bool pack_weights = true;
  // kv_cache selects the KV cache precision.
  KvCacheType kv_cache = KvCacheType::kF16;
  // num_threads splits every matrix-vector product by rows (results are identical for any
  // count: each row is computed by one thread in the same order).
  size_t num_threads = 1;
  // quantize_activations multiplies Q8_0 weights with activations quantised to Q8_0 in exact
  // integers, as llama.cpp does (faster; off gives the float reference numerics).
  bool quantize_activations = true;
  // batch_size is how many prompt tokens ForwardBatch runs through the layers together (each
  // weight block is read once per step for all of them); 1..512, larger costs activation memory
  // ((2 * hidden_dim + 4 * dim) floats per token).
  size_t batch_size = 64;
};

// Model is a loaded transformer. Not thread-safe: one sequence at a time (Forward mutates the
// RunState).
class Model {
 public:
  // Open maps the GGUF file at `path` and loads it. Errors of MappedFile::Open, GgufFile::Parse
  // and FromGguf.
  static absl::StatusOr<std::unique_ptr<Model>> Open(const std::string& path,
                                                     const ModelOptions& options = {});
  // FromBuffer parses and loads a GGUF held in `bytes`, which it BORROWS: the caller keeps
  // them alive (and locked, if they are decrypted weights) for the model's lifetime.
  static absl::StatusOr<std::unique_ptr<Model>> FromBuffer(ByteSpan bytes,
                                                           const ModelOptions& options = {});

  // LoadConfig reads the Config of `file` without loading weights. InvalidArgument naming the
  // key or tensor when the architecture is not llama/qwen2, a key has a bad value, or shapes
  // disagree; NotFound for a missing required key.
  static absl::StatusOr<Config> LoadConfig(const GgufFile& file, const ModelOptions& options);

  const Config& config() const { return config_; }
  const GgufFile& gguf() const { return gguf_; }

  // Forward runs `token` at position `pos` (0-based; earlier positions must have been run) and
  // returns the logits [vocab_size], valid until the next call. InvalidArgument if the token is
  // out of range or pos >= context_length. Allocates nothing.
  absl::StatusOr<std::span<const float>> Forward(int token, size_t pos);

  // ForwardBatch runs tokens[i] at position pos + i for every i (positions before pos must have
  // been run) and returns the logits of the last token, valid until the next call: a prompt as
  // a matrix, batch_size tokens per step. The logits and the KV cache are bit-identical to
  // calling Forward for each token in turn (tests check this), so goldens hold either way.
  // InvalidArgument if `tokens` is empty, a token is out of range or pos + tokens.size() exceeds
  // context_length (nothing is run then). Allocates nothing.
  absl::StatusOr<std::span<const float>> ForwardBatch(std::span<const int> tokens, size_t pos);

 private:
  Model() = default;
  absl::Status Init(const ModelOptions& options);
  // PackMatrices fills packed_ with PackWeights copies of the Q4_0/Q8_0 matrices the forward
  // pass multiplies and points their views at them.
  absl::Status PackMatrices(bool lock);
  // MatJob is one product of a MatMulShared call: out row t (out + t * out_stride) = W x_t.
  struct MatJob {
    const WeightView* w;
    float* out;
    size_t out_stride;
  };
  // MatMulShared computes every job's W x_t for the `num_tokens` rows x_t of `x` (row t at
  // x + t * x_stride, w->cols floats, the same for every job) in one pool dispatch, quantising x
  // to Q8_0 once for the weights that take Q8_0 activations; rows of all jobs form one range
  // split over the threads, each thread doing its rows for every token.
  void MatMulShared(const float* x, size_t x_stride, size_t num_tokens,
                    std::initializer_list<MatJob> jobs);
  // Step runs tokens (at most state_.batch) at positions pos.. and, if `logits`, computes the
  // last one's logits. Arguments already checked.
  void Step(std::span<const int> tokens, size_t pos, bool logits);

  std::optional<MappedFile> mapped_;
  WeightBuffer packed_;  // PackWeights copies, when ModelOptions::pack_weights
  GgufFile gguf_;
  Config config_;
  KvCacheType kv_cache_ = KvCacheType::kF16;
  bool quantize_activations_ = true;
  Weights weights_;
  RunState state_;
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace confide::llm

#endif  // CONFIDE_LLM_MODEL_H_
