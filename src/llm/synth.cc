#include "llm/synth.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "llm/kernels.h"

namespace confide::llm {
namespace {

// SplitMix64: small, seedable, good enough for weights.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform returns a float in [-1, 1).
  float Uniform() { return static_cast<float>(Next() >> 40) / static_cast<float>(1 << 23) - 1.0f; }

 private:
  uint64_t s_;
};

Bytes Encode(GgmlType type, const std::vector<float>& v, size_t cols) {
  Bytes out;
  switch (type) {
    case GgmlType::kF32:
      out.resize(v.size() * 4);
      std::memcpy(out.data(), v.data(), out.size());
      break;
    case GgmlType::kF16:
    case GgmlType::kBF16:
      out.resize(v.size() * 2);
      for (size_t i = 0; i < v.size(); ++i) {
        uint16_t h;
        if (type == GgmlType::kF16) {
          h = F32ToF16(v[i]);
        } else {
          uint32_t bits;
          std::memcpy(&bits, &v[i], 4);
          h = static_cast<uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
        }
        std::memcpy(out.data() + 2 * i, &h, 2);
      }
      break;
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_0:
    case GgmlType::kQ5_0: {
      const size_t rows = v.size() / cols;
      const size_t row_bytes = static_cast<size_t>(*GgmlRowBytes(type, cols));
      out.resize(rows * row_bytes);
      auto quantize = type == GgmlType::kQ8_0   ? QuantizeRowQ8_0
                      : type == GgmlType::kQ4_0 ? QuantizeRowQ4_0
                                                : QuantizeRowQ5_0;
      for (size_t r = 0; r < rows; ++r) {
        quantize(std::span<const float>(v.data() + r * cols, cols),
                 std::span<uint8_t>(out.data() + r * row_bytes, row_bytes));
      }
      break;
    }
    case GgmlType::kQ4_K:
    case GgmlType::kQ6_K: {
      const size_t rows = v.size() / cols;
      const size_t row_bytes = static_cast<size_t>(*GgmlRowBytes(type, cols));
      out.resize(rows * row_bytes);
      auto quantize = type == GgmlType::kQ4_K ? QuantizeRowQ4_K : QuantizeRowQ6_K;
      for (size_t r = 0; r < rows; ++r) {
        quantize(std::span<const float>(v.data() + r * cols, cols),
                 std::span<uint8_t>(out.data() + r * row_bytes, row_bytes));
      }
      break;
    }
    default:
      break;
  }
  return out;
}

}  // namespace

absl::StatusOr<Bytes> SynthesizeModel(const SynthSpec& s) {
  if (s.num_heads == 0 || s.num_kv_heads == 0 || s.num_heads % s.num_kv_heads != 0 ||
      s.dim % s.num_heads != 0 || s.vocab_size < 259 || s.num_layers == 0 || s.hidden_dim == 0 ||
      s.context_length == 0) {
    return absl::InvalidArgumentError("synth: inconsistent shape");
  }
  if (!SupportsMatVec(s.type)) return absl::InvalidArgumentError("synth: unsupported type");
  const bool blocked = s.q4_k_m || s.type == GgmlType::kQ8_0 || s.type == GgmlType::kQ4_0 ||
                       s.type == GgmlType::kQ5_0;
  if (blocked && (s.dim % 32 != 0 || s.hidden_dim % 32 != 0)) {
    return absl::InvalidArgumentError("synth: quantised types need dims multiples of 32");
  }
  const size_t head_dim = s.dim / s.num_heads;
  const size_t kv_dim = s.num_kv_heads * head_dim;
  const std::string arch = ArchitectureName(s.arch);
  Rng rng(s.seed);

  GgufWriter w;
  w.SetString("general.architecture", arch);
  w.SetString("general.name", "confide-synth");
  w.SetUint32(arch + ".context_length", static_cast<uint32_t>(s.context_length));
  w.SetUint32(arch + ".embedding_length", static_cast<uint32_t>(s.dim));
  w.SetUint32(arch + ".feed_forward_length", static_cast<uint32_t>(s.hidden_dim));
  w.SetUint32(arch + ".block_count", static_cast<uint32_t>(s.num_layers));
  w.SetUint32(arch + ".attention.head_count", static_cast<uint32_t>(s.num_heads));
  w.SetUint32(arch + ".attention.head_count_kv", static_cast<uint32_t>(s.num_kv_heads));
  w.SetUint32(arch + ".rope.dimension_count",
              static_cast<uint32_t>(s.rope_dims ? s.rope_dims : head_dim));
  w.SetFloat32(arch + ".rope.freq_base", s.rope_freq_base);
  w.SetFloat32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);

  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int64_t> types = {2, 3, 3};
  std::vector<double> scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    tokens.push_back(absl::StrFormat("<0x%02X>", b));
    types.push_back(6);
    scores.push_back(0);
  }
  for (size_t i = tokens.size(); i < s.vocab_size; ++i) {
    tokens.push_back(absl::StrCat("\xE2\x96\x81t", i));
    types.push_back(1);
    scores.push_back(-static_cast<double>(i));
  }
  w.SetString("tokenizer.ggml.model", "llama");
  w.Set("tokenizer.ggml.tokens", GgufValue::StringArray(std::move(tokens)));
  w.Set("tokenizer.ggml.scores", GgufValue::FloatArray(GgufType::kFloat32, std::move(scores)));
  w.Set("tokenizer.ggml.token_type", GgufValue::IntArray(GgufType::kInt32, std::move(types)));
  w.SetUint32("tokenizer.ggml.bos_token_id", 1);
  w.SetUint32("tokenizer.ggml.eos_token_id", 2);

  // TypeFor picks the Q4_K_M type of a matrix (llama.cpp llama_tensor_get_type, simplified).
  auto type_for = [&](const std::string& name, size_t layer, size_t cols) {
    if (!s.q4_k_m) return s.type;
    const size_t n = s.num_layers;
    const bool more_bits = layer < n / 8 || layer >= 7 * n / 8 || (layer - n / 8) % 3 == 2;
    const bool six =
        name == "output.weight" ||
        ((name.ends_with("attn_v.weight") || name.ends_with("ffn_down.weight")) && more_bits);
    if (cols % 256 != 0) return six ? GgmlType::kQ8_0 : GgmlType::kQ5_0;
    return six ? GgmlType::kQ6_K : GgmlType::kQ4_K;
  };
  size_t cur_layer = 0;
  auto matrix = [&](const std::string& name, size_t rows, size_t cols) -> absl::Status {
    std::vector<float> v(rows * cols);
    const float scale = 1.0f / std::sqrt(static_cast<float>(cols));
    for (float& x : v) x = rng.Uniform() * scale;
    const GgmlType t = type_for(name, cur_layer, cols);
    return w.AddTensor(name, t, {cols, rows}, Encode(t, v, cols));
  };
  auto vec = [&](const std::string& name, size_t n, float center, float spread) {
    std::vector<float> v(n);
    for (float& x : v) x = center + spread * rng.Uniform();
    return w.AddTensor(name, GgmlType::kF32, {n}, Encode(GgmlType::kF32, v, n));
  };

  RETURN_IF_ERROR(matrix("token_embd.weight", s.vocab_size, s.dim));
  for (size_t l = 0; l < s.num_layers; ++l) {
    const std::string b = absl::StrCat("blk.", l, ".");
    cur_layer = l;
    RETURN_IF_ERROR(vec(b + "attn_norm.weight", s.dim, 1.0f, 0.2f));
    RETURN_IF_ERROR(matrix(b + "attn_q.weight", s.dim, s.dim));
    RETURN_IF_ERROR(matrix(b + "attn_k.weight", kv_dim, s.dim));
    RETURN_IF_ERROR(matrix(b + "attn_v.weight", kv_dim, s.dim));
    if (s.arch == Architecture::kQwen2) {
      RETURN_IF_ERROR(vec(b + "attn_q.bias", s.dim, 0.0f, 0.5f));
      RETURN_IF_ERROR(vec(b + "attn_k.bias", kv_dim, 0.0f, 0.5f));
      RETURN_IF_ERROR(vec(b + "attn_v.bias", kv_dim, 0.0f, 0.5f));
    }
    RETURN_IF_ERROR(matrix(b + "attn_output.weight", s.dim, s.dim));
    RETURN_IF_ERROR(vec(b + "ffn_norm.weight", s.dim, 1.0f, 0.2f));
    RETURN_IF_ERROR(matrix(b + "ffn_gate.weight", s.hidden_dim, s.dim));
    RETURN_IF_ERROR(matrix(b + "ffn_up.weight", s.hidden_dim, s.dim));
    RETURN_IF_ERROR(matrix(b + "ffn_down.weight", s.dim, s.hidden_dim));
  }
  RETURN_IF_ERROR(vec("output_norm.weight", s.dim, 1.0f, 0.2f));
  if (!s.tied_output) RETURN_IF_ERROR(matrix("output.weight", s.vocab_size, s.dim));
  return w.Finish();
}

}  // namespace confide::llm
