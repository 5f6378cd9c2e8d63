#include "llm/model.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"

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

float Silu(float x) { return x / (1.0f + std::exp(-x)); }

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

  RunState& s = state_;
  s.x.assign(c.dim, 0);
  s.xb.assign(c.dim, 0);
  s.xq.assign(c.q_dim(), 0);
  s.q.assign(c.q_dim(), 0);
  s.k.assign(c.kv_dim(), 0);
  s.v.assign(c.kv_dim(), 0);
  s.hb.assign(c.hidden_dim, 0);
  s.hb2.assign(c.hidden_dim, 0);
  s.att.assign(c.num_heads * c.context_length, 0);
  s.logits.assign(c.vocab_size, 0);
  kv_cache_ = options.kv_cache;
  quantize_activations_ = options.quantize_activations;
  const size_t widest = std::max({c.dim, c.q_dim(), c.hidden_dim});
  s.xq8.assign((widest + kQ8_0BlockElems - 1) / kQ8_0BlockElems * kQ8_0BlockBytes, 0);
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

void Model::MatVec(const WeightView& w, std::span<const float> x, std::span<float> out) {
  MatVecShared(x, {MatVecJob{&w, out}});
}

void Model::MatVecShared(std::span<const float> x, std::initializer_list<MatVecJob> jobs) {
  bool any_q8 = false;
  size_t total_rows = 0;
  for (const MatVecJob& j : jobs) {
    any_q8 = any_q8 || SupportsQ8Activations(j.w->type);
    total_rows += j.w->rows;
  }
  const bool q8 = quantize_activations_ && any_q8;
  std::span<uint8_t> xq;
  if (q8) {
    // Q8_0/Q4_0/Q5_0 rows have cols % 32 == 0 (checked by the reader), so x quantises whole
    // blocks; every job shares x, so once is enough.
    xq = std::span<uint8_t>(state_.xq8.data(), x.size() / kQ8_0BlockElems * kQ8_0BlockBytes);
    QuantizeRowQ8_0(x, xq);
  }
  // Chunks of 16 rows keep each thread on whole cache lines of the output; every matrix here
  // has a multiple of 16 rows or is the last job, so chunks rarely straddle two outputs.
  pool_->ParallelFor(
      total_rows,
      [&](size_t begin, size_t end) {
        size_t base = 0;
        for (const MatVecJob& j : jobs) {
          const size_t lo = std::max(begin, base), hi = std::min(end, base + j.w->rows);
          if (lo < hi) {
            if (q8 && SupportsQ8Activations(j.w->type)) {
              MatVecRowsQ8_0(*j.w, xq, j.out, lo - base, hi - base);
            } else {
              MatVecRows(*j.w, x, j.out, lo - base, hi - base);
            }
          }
          base += j.w->rows;
        }
      },
      16);
}

absl::StatusOr<std::span<const float>> Model::Forward(int token, size_t pos) {
  const Config& c = config_;
  RunState& s = state_;
  if (token < 0 || static_cast<size_t>(token) >= c.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("token id ", token, " is out of range"));
  }
  if (pos >= c.context_length) {
    return absl::InvalidArgumentError(
        absl::StrCat("position ", pos, " is beyond the context of ", c.context_length));
  }
  const size_t dim = c.dim, kv_dim = c.kv_dim(), hd = c.head_dim;
  const size_t group = c.num_heads / c.num_kv_heads;  // query heads per kv head
  const float att_scale = 1.0f / std::sqrt(static_cast<float>(hd));

  // x = token_embd[token]
  DequantizeRow(
      weights_.token_embd.type,
      weights_.token_embd.data + static_cast<size_t>(token) * weights_.token_embd.row_bytes, s.x);

  for (size_t l = 0; l < c.num_layers; ++l) {
    const LayerWeights& w = weights_.layers[l];
    std::span<float> k(s.k), v(s.v);  // [kv_dim] each

    // Attention: xb = rmsnorm(x); q, k, v = W xb (+ b); rope(q, k); append k, v to the cache.
    RmsNorm(s.xb, s.x, w.attn_norm, c.rms_eps);
    MatVecShared(s.xb, {{&w.wq, s.q}, {&w.wk, k}, {&w.wv, v}});
    if (c.qkv_bias) {
      for (size_t i = 0; i < c.q_dim(); ++i) s.q[i] += w.bq[i];
      for (size_t i = 0; i < kv_dim; ++i) k[i] += w.bk[i];
      for (size_t i = 0; i < kv_dim; ++i) v[i] += w.bv[i];
    }
    Rope(s.q, c.num_heads, hd, c.rope_dims, static_cast<int>(pos), c.rope_freq_base,
         c.rope_freq_scale, c.rope_style);
    Rope(k, c.num_kv_heads, hd, c.rope_dims, static_cast<int>(pos), c.rope_freq_base,
         c.rope_freq_scale, c.rope_style);
    const size_t layer_base = l * c.context_length * kv_dim;  // this layer's [ctx x kv_dim]
    const bool f16 = kv_cache_ == KvCacheType::kF16;
    if (f16) {
      for (size_t i = 0; i < kv_dim; ++i) {
        s.key_cache16[layer_base + pos * kv_dim + i] = F32ToF16(k[i]);
        s.value_cache16[layer_base + pos * kv_dim + i] = F32ToF16(v[i]);
      }
      // ggml rounds q to f16 for the dot products with the f16 keys.
      for (float& qv : s.q) qv = F16ToF32(F32ToF16(qv));
    } else {
      std::copy(k.begin(), k.end(), s.key_cache.begin() + layer_base + pos * kv_dim);
      std::copy(v.begin(), v.end(), s.value_cache.begin() + layer_base + pos * kv_dim);
    }

    // Heads are independent: threads take whole heads (same arithmetic for any thread count).
    const float* f16_table = F16ToF32Table();
    auto heads = [&](size_t h_begin, size_t h_end) {
      for (size_t h = h_begin; h < h_end; ++h) {
        const float* qh = s.q.data() + h * hd;                               // [hd]
        const size_t kv_off = layer_base + (h / group) * hd;                 // shared kv head (GQA)
        std::span<float> att(s.att.data() + h * c.context_length, pos + 1);  // [pos+1]
        for (size_t t = 0; t <= pos; ++t) {
          float dot = 0;
          if (f16) {
            const uint16_t* kt = s.key_cache16.data() + kv_off + t * kv_dim;
            for (size_t i = 0; i < hd; ++i) dot += qh[i] * f16_table[kt[i]];
          } else {
            const float* kt = s.key_cache.data() + kv_off + t * kv_dim;
            for (size_t i = 0; i < hd; ++i) dot += qh[i] * kt[i];
          }
          att[t] = dot * att_scale;
        }
        Softmax(att);
        float* out = s.xq.data() + h * hd;  // [hd]
        std::fill(out, out + hd, 0.0f);
        for (size_t t = 0; t <= pos; ++t) {
          if (f16) {
            const uint16_t* vt = s.value_cache16.data() + kv_off + t * kv_dim;
            const float a = F16ToF32(F32ToF16(att[t]));  // as ggml: probabilities to f16
            for (size_t i = 0; i < hd; ++i) out[i] += a * f16_table[vt[i]];
          } else {
            const float* vt = s.value_cache.data() + kv_off + t * kv_dim;
            const float a = att[t];
            for (size_t i = 0; i < hd; ++i) out[i] += a * vt[i];
          }
        }
      }
    };
    pool_->ParallelFor(c.num_heads, heads);

    MatVec(w.wo, s.xq, s.xb);
    for (size_t i = 0; i < dim; ++i) s.x[i] += s.xb[i];

    // Feed-forward (SwiGLU): x += W_down(silu(W_gate xb) * W_up xb), xb = rmsnorm(x).
    RmsNorm(s.xb, s.x, w.ffn_norm, c.rms_eps);
    MatVecShared(s.xb, {{&w.w_gate, s.hb}, {&w.w_up, s.hb2}});
    for (size_t i = 0; i < c.hidden_dim; ++i) s.hb[i] = Silu(s.hb[i]) * s.hb2[i];
    MatVec(w.w_down, s.hb, s.xb);
    for (size_t i = 0; i < dim; ++i) s.x[i] += s.xb[i];
  }

  RmsNorm(s.x, s.x, weights_.output_norm, c.rms_eps);
  MatVec(weights_.output, s.x, s.logits);
  return std::span<const float>(s.logits);
}

}  // namespace confide::llm
