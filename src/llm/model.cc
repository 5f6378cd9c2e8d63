#include "llm/model.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "llm/internal/kernels_simd.h"

namespace confide::llm {
namespace {

// Caps on hyperparameters so a hostile header cannot ask for absurd buffers before the tensor
// shapes (which are checked against the file size) are compared.
constexpr uint64_t kMaxDim = 1 << 16;
constexpr uint64_t kMaxLayers = 1024;
constexpr uint64_t kMaxHeads = 1024;
constexpr uint64_t kMaxContext = 1 << 20;

absl::Status Bad(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("model: ", what));
}

absl::StatusOr<size_t> GetDim(const GgufFile& f, const std::string& key, uint64_t cap,
                              std::optional<uint64_t> fallback = std::nullopt) {
  uint64_t v = 0;
  if (fallback.has_value()) {
    ASSIGN_OR_RETURN(v, f.GetUintOr(key, *fallback));
  } else {
    ASSIGN_OR_RETURN(v, f.GetUint(key));
  }
  if (v == 0 || v > cap) return Bad(absl::StrCat("key ", key, " is out of range"));
  return static_cast<size_t>(v);
}

int OptionalToken(const GgufFile& f, const std::string& key, size_t vocab) {
  auto v = f.GetUint(key);
  if (!v.ok() || *v >= vocab) return -1;
  return static_cast<int>(*v);
}

// Matrix returns a WeightView of tensor `name`, checking it is [rows x cols] (ggml dims
// {cols, rows}) of a supported type with suitably aligned data.
absl::StatusOr<WeightView> Matrix(const GgufFile& f, const std::string& name, size_t rows,
                                  size_t cols) {
  const GgufTensor* t = f.FindTensor(name);
  if (t == nullptr) return Bad(absl::StrCat("tensor ", name, " is missing"));
  if (t->num_dims > 2 || t->dims[0] != cols || t->dims[1] != rows) {
    return Bad(absl::StrCat("tensor ", name, " has shape [", t->dims[0], ", ", t->dims[1],
                            "], expected [", cols, ", ", rows, "]"));
  }
  if (!SupportsMatVec(t->type)) {
    return Bad(absl::StrCat("tensor ", name, " has type ", GgmlTypeName(t->type),
                            ", not supported yet (F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q6_K)"));
  }
  const uintptr_t addr = reinterpret_cast<uintptr_t>(t->data.data());
  const size_t align = t->type == GgmlType::kF32 ? 4 : 2;
  if (addr % align != 0) return Bad(absl::StrCat("tensor ", name, " data is misaligned"));
  WeightView w;
  w.type = t->type;
  w.data = t->data.data();
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = static_cast<size_t>(t->size_bytes / rows);
  return w;
}

// Vector returns the F32 tensor `name` of `n` elements.
absl::StatusOr<std::span<const float>> Vector(const GgufFile& f, const std::string& name,
                                              size_t n) {
  const GgufTensor* t = f.FindTensor(name);
  if (t == nullptr) return Bad(absl::StrCat("tensor ", name, " is missing"));
  if (t->num_dims != 1 || t->dims[0] != n) {
    return Bad(absl::StrCat("tensor ", name, " has the wrong shape, expected [", n, "]"));
  }
  if (t->type != GgmlType::kF32) return Bad(absl::StrCat("tensor ", name, " is not F32"));
  if (reinterpret_cast<uintptr_t>(t->data.data()) % alignof(float) != 0) {
    return Bad(absl::StrCat("tensor ", name, " data is misaligned"));
  }
  return std::span<const float>(reinterpret_cast<const float*>(t->data.data()), n);
}

}  // namespace

const char* ArchitectureName(Architecture arch) {
  return arch == Architecture::kQwen2 ? "qwen2" : "llama";
}

absl::StatusOr<Config> Model::LoadConfig(const GgufFile& f, const ModelOptions& options) {
  Config c;
  ASSIGN_OR_RETURN(std::string arch, f.GetString("general.architecture"));
  if (arch == "llama") {
    c.arch = Architecture::kLlama;
    c.rope_style = RopeStyle::kNormal;
  } else if (arch == "qwen2") {
    c.arch = Architecture::kQwen2;
    c.rope_style = RopeStyle::kNeox;
    c.qkv_bias = true;
  } else {
    return Bad("architecture is not supported (llama, qwen2)");
  }
  const std::string p = arch + ".";
  ASSIGN_OR_RETURN(c.dim, GetDim(f, p + "embedding_length", kMaxDim));
  ASSIGN_OR_RETURN(c.hidden_dim, GetDim(f, p + "feed_forward_length", 4 * kMaxDim));
  ASSIGN_OR_RETURN(c.num_layers, GetDim(f, p + "block_count", kMaxLayers));
  ASSIGN_OR_RETURN(c.num_heads, GetDim(f, p + "attention.head_count", kMaxHeads));
  ASSIGN_OR_RETURN(c.num_kv_heads,
                   GetDim(f, p + "attention.head_count_kv", kMaxHeads, c.num_heads));
  if (c.num_heads % c.num_kv_heads != 0) {
    return Bad(absl::StrCat("key ", p, "attention.head_count_kv does not divide head_count"));
  }
  ASSIGN_OR_RETURN(c.head_dim, GetDim(f, p + "attention.key_length", kMaxDim, c.dim / c.num_heads));
  ASSIGN_OR_RETURN(size_t value_length,
                   GetDim(f, p + "attention.value_length", kMaxDim, c.head_dim));
  if (value_length != c.head_dim) {
    return Bad(absl::StrCat("key ", p, "attention.value_length differs from key_length"));
  }
  ASSIGN_OR_RETURN(c.model_context_length, GetDim(f, p + "context_length", kMaxContext, 2048));
  c.context_length = c.model_context_length;
  if (options.max_context != 0) c.context_length = std::min(c.context_length, options.max_context);
  ASSIGN_OR_RETURN(c.rope_dims, GetDim(f, p + "rope.dimension_count", c.head_dim, c.head_dim));
  if (c.rope_dims % 2 != 0) return Bad(absl::StrCat("key ", p, "rope.dimension_count is odd"));
  ASSIGN_OR_RETURN(double base, f.GetFloatOr(p + "rope.freq_base", 10000.0));
  if (!(base > 1.0) || !std::isfinite(base)) {
    return Bad(absl::StrCat("key ", p, "rope.freq_base is out of range"));
  }
  c.rope_freq_base = static_cast<float>(base);
  if (f.Find(p + "rope.scaling.type") != nullptr) {
    ASSIGN_OR_RETURN(std::string type, f.GetString(p + "rope.scaling.type"));
    if (type == "linear") {
      ASSIGN_OR_RETURN(double factor, f.GetFloat(p + "rope.scaling.factor"));
      if (!(factor >= 1.0) || !std::isfinite(factor)) {
        return Bad(absl::StrCat("key ", p, "rope.scaling.factor is out of range"));
      }
      c.rope_freq_scale = static_cast<float>(1.0 / factor);
    } else if (type != "none") {
      return Bad(absl::StrCat("key ", p, "rope.scaling.type is not supported (none, linear)"));
    }
  }
  if (f.FindTensor("rope_freqs.weight") != nullptr) {
    return Bad("tensor rope_freqs.weight (llama 3.1 rope scaling) is not supported yet");
  }
  ASSIGN_OR_RETURN(double eps, f.GetFloatOr(p + "attention.layer_norm_rms_epsilon", 1e-5));
  if (!(eps > 0 && eps < 1)) {
    return Bad(absl::StrCat("key ", p, "attention.layer_norm_rms_epsilon is out of range"));
  }
  c.rms_eps = static_cast<float>(eps);

  const GgufTensor* embd = f.FindTensor("token_embd.weight");
  if (embd == nullptr) return Bad("tensor token_embd.weight is missing");
  if (embd->num_dims != 2 || embd->dims[0] != c.dim || embd->dims[1] > (1u << 24)) {
    return Bad("tensor token_embd.weight has the wrong shape");
  }
  c.vocab_size = static_cast<size_t>(embd->dims[1]);
  c.tied_output = f.FindTensor("output.weight") == nullptr;
  c.bos_token = OptionalToken(f, "tokenizer.ggml.bos_token_id", c.vocab_size);
  c.eos_token = OptionalToken(f, "tokenizer.ggml.eos_token_id", c.vocab_size);
  c.eot_token = OptionalToken(f, "tokenizer.ggml.eot_token_id", c.vocab_size);
  return c;
}

absl::StatusOr<std::unique_ptr<Model>> Model::Open(const std::string& path,
                                                   const ModelOptions& options) {
  std::unique_ptr<Model> m(new Model());
  ASSIGN_OR_RETURN(MappedFile mapped, MappedFile::Open(path, {.lock = options.lock}));
  m->mapped_.emplace(std::move(mapped));
  ASSIGN_OR_RETURN(m->gguf_, GgufFile::Parse(m->mapped_->bytes()));
  RETURN_IF_ERROR(m->Init(options));
  return m;
}

absl::StatusOr<std::unique_ptr<Model>> Model::FromBuffer(ByteSpan bytes,
                                                         const ModelOptions& options) {
  std::unique_ptr<Model> m(new Model());
  ASSIGN_OR_RETURN(m->gguf_, GgufFile::Parse(bytes));
  RETURN_IF_ERROR(m->Init(options));
  return m;
}

absl::Status Model::Init(const ModelOptions& options) {
  ASSIGN_OR_RETURN(config_, LoadConfig(gguf_, options));
  const Config& c = config_;
  const GgufFile& f = gguf_;
  Weights& w = weights_;

  ASSIGN_OR_RETURN(w.token_embd, Matrix(f, "token_embd.weight", c.vocab_size, c.dim));
  ASSIGN_OR_RETURN(w.output_norm, Vector(f, "output_norm.weight", c.dim));
  if (c.tied_output) {
    w.output = w.token_embd;
  } else {
    ASSIGN_OR_RETURN(w.output, Matrix(f, "output.weight", c.vocab_size, c.dim));
  }
  w.layers.resize(c.num_layers);
  for (size_t l = 0; l < c.num_layers; ++l) {
    LayerWeights& lw = w.layers[l];
    const std::string b = absl::StrCat("blk.", l, ".");
    ASSIGN_OR_RETURN(lw.attn_norm, Vector(f, b + "attn_norm.weight", c.dim));
    ASSIGN_OR_RETURN(lw.wq, Matrix(f, b + "attn_q.weight", c.q_dim(), c.dim));
    ASSIGN_OR_RETURN(lw.wk, Matrix(f, b + "attn_k.weight", c.kv_dim(), c.dim));
    ASSIGN_OR_RETURN(lw.wv, Matrix(f, b + "attn_v.weight", c.kv_dim(), c.dim));
    ASSIGN_OR_RETURN(lw.wo, Matrix(f, b + "attn_output.weight", c.dim, c.q_dim()));
    if (c.qkv_bias) {
      ASSIGN_OR_RETURN(lw.bq, Vector(f, b + "attn_q.bias", c.q_dim()));
      ASSIGN_OR_RETURN(lw.bk, Vector(f, b + "attn_k.bias", c.kv_dim()));
      ASSIGN_OR_RETURN(lw.bv, Vector(f, b + "attn_v.bias", c.kv_dim()));
    }
    ASSIGN_OR_RETURN(lw.ffn_norm, Vector(f, b + "ffn_norm.weight", c.dim));
    ASSIGN_OR_RETURN(lw.w_gate, Matrix(f, b + "ffn_gate.weight", c.hidden_dim, c.dim));
    ASSIGN_OR_RETURN(lw.w_up, Matrix(f, b + "ffn_up.weight", c.hidden_dim, c.dim));
    ASSIGN_OR_RETURN(lw.w_down, Matrix(f, b + "ffn_down.weight", c.dim, c.hidden_dim));
  }

  // Only the AVX2/AVX-512 kernels read the packed copies: without them they would be dead weight.
  if (options.pack_weights && internal::HaveAvx2Kernels()) {
    RETURN_IF_ERROR(PackMatrices(options.lock));
  }

  RunState& s = state_;
  const size_t batch = std::clamp<size_t>(options.batch_size, 1, 512);
  s.batch = batch;
  s.x.assign(batch * c.dim, 0);
  s.xb.assign(batch * c.dim, 0);
  s.xq.assign(batch * c.q_dim(), 0);
  s.q.assign(batch * c.q_dim(), 0);
  s.k.assign(batch * c.kv_dim(), 0);
  s.v.assign(batch * c.kv_dim(), 0);
  s.hb.assign(batch * c.hidden_dim, 0);
  s.hb2.assign(batch * c.hidden_dim, 0);
  s.att.assign(c.num_heads * c.context_length, 0);
  s.logits.assign(c.vocab_size, 0);
  kv_cache_ = options.kv_cache;
  quantize_activations_ = options.quantize_activations;
  const size_t widest = std::max({c.dim, c.q_dim(), c.hidden_dim});
  const size_t widest_blocks = (widest + kQ8_0BlockElems - 1) / kQ8_0BlockElems;
  s.xq8.assign(batch * widest_blocks * kQ8_0BlockBytes, 0);
  s.xq8_info.assign(batch * widest_blocks, Q8_0BlockInfo{});
  pool_ = std::make_unique<ThreadPool>(std::clamp<size_t>(options.num_threads, 1, 256));
  const size_t cache_elems = c.num_layers * c.context_length * c.kv_dim();
  if (kv_cache_ == KvCacheType::kF32) {
    s.key_cache.assign(cache_elems, 0);
    s.value_cache.assign(cache_elems, 0);
  } else {
    s.key_cache16.assign(cache_elems, 0);
    s.value_cache16.assign(cache_elems, 0);
  }
  return absl::OkStatus();
}

absl::Status Model::PackMatrices(bool lock) {
  std::vector<WeightView*> views;
  for (LayerWeights& lw : weights_.layers) {
    for (WeightView* v : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w_gate, &lw.w_up, &lw.w_down}) {
      views.push_back(v);
    }
  }
  views.push_back(&weights_.output);  // token_embd itself is only read a row at a time
  constexpr size_t kAlign = 64;
  size_t total = 0;
  for (const WeightView* v : views) total += (PackedWeightBytes(*v) + kAlign - 1) / kAlign * kAlign;
  if (total == 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(packed_, WeightBuffer::Allocate(total, lock));
  size_t at = 0;
  for (WeightView* v : views) {
    const size_t bytes = PackedWeightBytes(*v);
    if (bytes == 0) continue;
    PackWeights(*v, std::span<uint8_t>(packed_.data() + at, bytes));
    v->packed = packed_.data() + at;
    at += (bytes + kAlign - 1) / kAlign * kAlign;
  }
  return absl::OkStatus();
}

void Model::MatMulShared(const float* x, size_t x_stride, size_t num_tokens,
                         std::initializer_list<MatJob> jobs) {
  bool any_q8 = false;
  size_t total_rows = 0, cols = 0;
  for (const MatJob& j : jobs) {
    any_q8 = any_q8 || SupportsQ8Activations(j.w->type);
    total_rows += j.w->rows;
    cols = j.w->cols;
  }
  const bool q8 = quantize_activations_ && any_q8;
  // Q8_0/Q4_0/Q5_0 rows have cols % 32 == 0 (checked by the reader), so x quantises whole
  // blocks; every job shares x, so once per token is enough.
  const size_t q8_stride = cols / kQ8_0BlockElems * kQ8_0BlockBytes;
  const size_t nb = cols / kQ8_0BlockElems;
  std::span<const uint8_t> xq;
  std::span<const Q8_0BlockInfo> info;
  if (q8) {
    for (size_t t = 0; t < num_tokens; ++t) {
      const std::span<uint8_t> row(state_.xq8.data() + t * q8_stride, q8_stride);
      QuantizeRowQ8_0(std::span<const float>(x + t * x_stride, cols), row);
      Q8_0BlockInfos(row, std::span<Q8_0BlockInfo>(state_.xq8_info.data() + t * nb, nb));
    }
    xq = std::span<const uint8_t>(state_.xq8.data(), num_tokens * q8_stride);
    info = std::span<const Q8_0BlockInfo>(state_.xq8_info.data(), num_tokens * nb);
  }
  const std::span<const float> xs(x, (num_tokens - 1) * x_stride + cols);
  // Chunks of 16 rows keep each thread on whole cache lines of the output; every matrix here
  // has a multiple of 16 rows or is the last job, so chunks rarely straddle two outputs.
  pool_->ParallelFor(
      total_rows,
      [&](size_t begin, size_t end) {
        size_t base = 0;
        for (const MatJob& j : jobs) {
          const size_t lo = std::max(begin, base), hi = std::min(end, base + j.w->rows);
          if (lo < hi) {
            const std::span<float> out(j.out, (num_tokens - 1) * j.out_stride + j.w->rows);
            if (q8 && SupportsQ8Activations(j.w->type)) {
              MatMulRowsQ8_0(*j.w, xq, q8_stride, num_tokens, out, j.out_stride, lo - base,
                             hi - base, info, nb);
            } else {
              MatMulRows(*j.w, xs, x_stride, num_tokens, out, j.out_stride, lo - base, hi - base);
            }
          }
          base += j.w->rows;
        }
      },
      16);
}

absl::StatusOr<std::span<const float>> Model::Forward(int token, size_t pos) {
  return ForwardBatch(std::span<const int>(&token, 1), pos);
}

absl::StatusOr<std::span<const float>> Model::ForwardBatch(std::span<const int> tokens,
                                                           size_t pos) {
  const Config& c = config_;
  if (tokens.empty()) return absl::InvalidArgumentError("no tokens to run");
  for (int token : tokens) {
    if (token < 0 || static_cast<size_t>(token) >= c.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", token, " is out of range"));
    }
  }
  if (pos >= c.context_length || tokens.size() > c.context_length - pos) {
    return absl::InvalidArgumentError(absl::StrCat("position ", pos + tokens.size() - 1,
                                                   " is beyond the context of ", c.context_length));
  }
  for (size_t i = 0; i < tokens.size(); i += state_.batch) {
    const size_t n = std::min(state_.batch, tokens.size() - i);
    Step(tokens.subspan(i, n), pos + i, i + n == tokens.size());
  }
  return std::span<const float>(state_.logits);
}

void Model::Step(std::span<const int> tokens, size_t pos, bool logits) {
  const Config& c = config_;
  RunState& s = state_;
  const size_t n = tokens.size();
  const size_t dim = c.dim, q_dim = c.q_dim(), kv_dim = c.kv_dim(), hd = c.head_dim;
  const size_t hidden = c.hidden_dim;
  const size_t group = c.num_heads / c.num_kv_heads;  // query heads per kv head
  const float att_scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool f16 = kv_cache_ == KvCacheType::kF16;
  // Row i of a [batch x width] buffer.
  auto row = [](std::vector<float>& buf, size_t width, size_t i) {
    return std::span<float>(buf.data() + i * width, width);
  };

  // x_i = token_embd[token_i]
  const WeightView& embd = weights_.token_embd;
  for (size_t i = 0; i < n; ++i) {
    DequantizeRow(embd.type, embd.data + static_cast<size_t>(tokens[i]) * embd.row_bytes,
                  row(s.x, dim, i));
  }

  for (size_t l = 0; l < c.num_layers; ++l) {
    const LayerWeights& w = weights_.layers[l];

    // Attention: xb = rmsnorm(x); q, k, v = W xb (+ b); rope(q, k); append k, v to the cache.
    for (size_t i = 0; i < n; ++i)
      RmsNorm(row(s.xb, dim, i), row(s.x, dim, i), w.attn_norm, c.rms_eps);
    MatMulShared(
        s.xb.data(), dim, n,
        {{&w.wq, s.q.data(), q_dim}, {&w.wk, s.k.data(), kv_dim}, {&w.wv, s.v.data(), kv_dim}});
    const size_t layer_base = l * c.context_length * kv_dim;  // this layer's [ctx x kv_dim]
    for (size_t i = 0; i < n; ++i) {
      std::span<float> q = row(s.q, q_dim, i), k = row(s.k, kv_dim, i), v = row(s.v, kv_dim, i);
      if (c.qkv_bias) {
        for (size_t j = 0; j < q_dim; ++j) q[j] += w.bq[j];
        for (size_t j = 0; j < kv_dim; ++j) k[j] += w.bk[j];
        for (size_t j = 0; j < kv_dim; ++j) v[j] += w.bv[j];
      }
      const int p = static_cast<int>(pos + i);
      Rope(q, c.num_heads, hd, c.rope_dims, p, c.rope_freq_base, c.rope_freq_scale, c.rope_style);
      Rope(k, c.num_kv_heads, hd, c.rope_dims, p, c.rope_freq_base, c.rope_freq_scale,
           c.rope_style);
      const size_t at = layer_base + (pos + i) * kv_dim;
      if (f16) {
        RoundToF16(k, s.key_cache16.data() + at);
        RoundToF16(v, s.value_cache16.data() + at);
        // ggml rounds q to f16 for the dot products with the f16 keys.
        RoundTripF16(q);
      } else {
        std::copy(k.begin(), k.end(), s.key_cache.begin() + at);
        std::copy(v.begin(), v.end(), s.value_cache.begin() + at);
      }
    }

    // Heads are independent: threads take whole heads (same arithmetic for any thread count),
    // and each head runs the step's tokens in order, token i seeing positions 0..pos+i.
    auto heads = [&](size_t h_begin, size_t h_end) {
      for (size_t h = h_begin; h < h_end; ++h) {
        const size_t kv_off = layer_base + (h / group) * hd;  // shared kv head (GQA)
        for (size_t i = 0; i < n; ++i) {
          const size_t last = pos + i;
          const float* qh = s.q.data() + i * q_dim + h * hd;                    // [hd]
          std::span<float> att(s.att.data() + h * c.context_length, last + 1);  // [last+1]
          for (size_t t = 0; t <= last; ++t) {
            const float dot =
                f16 ? AttentionDotF16(s.key_cache16.data() + kv_off + t * kv_dim, qh, hd)
                    : AttentionDotF32(s.key_cache.data() + kv_off + t * kv_dim, qh, hd);
            att[t] = dot * att_scale;
          }
          Softmax(att);
          if (f16) RoundTripF16(att);                     // as ggml: probabilities to f16
          float* out = s.xq.data() + i * q_dim + h * hd;  // [hd]
          std::fill(out, out + hd, 0.0f);
          for (size_t t = 0; t <= last; ++t) {
            if (f16) {
              AttentionAxpyF16(att[t], s.value_cache16.data() + kv_off + t * kv_dim, out, hd);
            } else {
              AttentionAxpyF32(att[t], s.value_cache.data() + kv_off + t * kv_dim, out, hd);
            }
          }
        }
      }
    };
    pool_->ParallelFor(c.num_heads, heads);

    MatMulShared(s.xq.data(), q_dim, n, {{&w.wo, s.xb.data(), dim}});
    for (size_t j = 0; j < n * dim; ++j) s.x[j] += s.xb[j];

    // Feed-forward (SwiGLU): x += W_down(silu(W_gate xb) * W_up xb), xb = rmsnorm(x).
    for (size_t i = 0; i < n; ++i)
      RmsNorm(row(s.xb, dim, i), row(s.x, dim, i), w.ffn_norm, c.rms_eps);
    MatMulShared(s.xb.data(), dim, n,
                 {{&w.w_gate, s.hb.data(), hidden}, {&w.w_up, s.hb2.data(), hidden}});
    SiluMul(std::span<float>(s.hb.data(), n * hidden),
            std::span<const float>(s.hb2.data(), n * hidden));
    MatMulShared(s.hb.data(), hidden, n, {{&w.w_down, s.xb.data(), dim}});
    for (size_t j = 0; j < n * dim; ++j) s.x[j] += s.xb[j];
  }

  if (!logits) return;
  std::span<float> last = row(s.x, dim, n - 1);
  RmsNorm(last, last, weights_.output_norm, c.rms_eps);
  MatMulShared(last.data(), dim, 1, {{&weights_.output, s.logits.data(), c.vocab_size}});
}

}  // namespace confide::llm
