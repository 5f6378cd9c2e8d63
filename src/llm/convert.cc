#include "llm/convert.h"

#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/cursor.h"
#include "llm/kernels.h"

namespace confide::llm {
namespace {

// Caps on llama2.c header values (a hostile header must not ask for absurd buffers; the sizes
// they imply are then checked against the file length exactly).
constexpr int32_t kMaxDim = 1 << 16;
constexpr int32_t kMaxLayers = 1024;
constexpr int32_t kMaxVocab = 1 << 20;
constexpr int32_t kMaxSeqLen = 1 << 20;
constexpr int32_t kMaxTokenBytes = 1 << 16;

absl::Status Bad(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("llama2.c: ", what));
}

bool ReadI32(base::ByteCursor& c, int32_t* out) {
  uint32_t u;
  if (!c.ReadU32LE(&u)) return false;
  std::memcpy(out, &u, 4);
  return true;
}

// Llama2cHeader is the legacy checkpoint header.
struct Llama2cHeader {
  int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
};

// llama.cpp's llama_ftype values (general.file_type) for the pure types.
uint32_t FileType(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
      return 0;
    case GgmlType::kF16:
      return 1;
    case GgmlType::kQ4_0:
      return 2;
    case GgmlType::kQ8_0:
      return 7;
    case GgmlType::kQ5_0:
      return 8;
    case GgmlType::kBF16:
      return 32;
    default:
      return 0;
  }
}

// EncodeRows writes `rows` rows of `cols` floats as `type`.
Bytes EncodeRows(GgmlType type, std::span<const float> v, size_t cols) {
  const size_t rows = v.size() / cols;
  const size_t row_bytes = static_cast<size_t>(*GgmlRowBytes(type, cols));
  Bytes out(rows * row_bytes);
  for (size_t r = 0; r < rows; ++r) {
    std::span<const float> x = v.subspan(r * cols, cols);
    uint8_t* dst = out.data() + r * row_bytes;
    switch (type) {
      case GgmlType::kF32:
        std::memcpy(dst, x.data(), cols * 4);
        break;
      case GgmlType::kF16:
      case GgmlType::kBF16:
        for (size_t i = 0; i < cols; ++i) {
          uint16_t h;
          if (type == GgmlType::kF16) {
            h = F32ToF16(x[i]);
          } else {
            // Round to nearest even, as ggml's GGML_FP32_TO_BF16 (NaN kept quiet).
            uint32_t bits;
            std::memcpy(&bits, &x[i], 4);
            h = (bits & 0x7fffffff) > 0x7f800000
                    ? static_cast<uint16_t>((bits >> 16) | 64)
                    : static_cast<uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
          }
          std::memcpy(dst + 2 * i, &h, 2);
        }
        break;
      case GgmlType::kQ8_0:
        QuantizeRowQ8_0(x, std::span<uint8_t>(dst, row_bytes));
        break;
      case GgmlType::kQ4_0:
        QuantizeRowQ4_0(x, std::span<uint8_t>(dst, row_bytes));
        break;
      case GgmlType::kQ5_0:
        QuantizeRowQ5_0(x, std::span<uint8_t>(dst, row_bytes));
        break;
      default:
        break;
    }
  }
  return out;
}

// Llama2cPiece maps a llama2.c tokenizer piece back to the SentencePiece piece and token type
// (1 normal, 2 unknown, 3 control, 6 byte) that GGUF's llama vocabulary stores.
std::pair<std::string, int64_t> Llama2cPiece(const std::string& piece) {
  if (piece == "\n<s>\n") return {"<s>", 3};
  if (piece == "\n</s>\n") return {"</s>", 3};
  if (piece == "<unk>") return {"<unk>", 2};
  if (piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && piece[5] == '>') {
    return {piece, 6};
  }
  std::string out;
  for (char ch : piece) {
    if (ch == ' ') {
      out += "\xE2\x96\x81";  // U+2581, SentencePiece's space
    } else {
      out += ch;
    }
  }
  return {out, 1};
}

}  // namespace

absl::StatusOr<GgmlType> QuantizableType(const std::string& name) {
  if (name == "f32") return GgmlType::kF32;
  if (name == "f16") return GgmlType::kF16;
  if (name == "bf16") return GgmlType::kBF16;
  if (name == "q8_0") return GgmlType::kQ8_0;
  if (name == "q4_0") return GgmlType::kQ4_0;
  if (name == "q5_0") return GgmlType::kQ5_0;
  return absl::InvalidArgumentError("type must be f32, f16, bf16, q8_0, q4_0 or q5_0");
}

absl::StatusOr<Bytes> ConvertLlama2c(ByteSpan checkpoint, ByteSpan tokenizer,
                                     const ProgressFn& progress) {
  base::ByteCursor c(checkpoint);
  uint32_t magic = 0;
  if (checkpoint.size() >= 4) std::memcpy(&magic, checkpoint.data(), 4);
  if (magic == 0x616b3432) {
    return Bad("versioned (\"ak42\") checkpoints are not supported; export with the legacy format");
  }
  Llama2cHeader h;
  int32_t* fields[] = {&h.dim,        &h.hidden_dim, &h.n_layers, &h.n_heads,
                       &h.n_kv_heads, &h.vocab_size, &h.seq_len};
  for (int32_t* f : fields) {
    if (!ReadI32(c, f)) return Bad("checkpoint header is truncated");
  }
  const bool shared = h.vocab_size > 0;
  const int64_t vocab = shared ? h.vocab_size : -static_cast<int64_t>(h.vocab_size);
  if (h.dim <= 0 || h.dim > kMaxDim) return Bad("dim is out of range");
  if (h.hidden_dim <= 0 || h.hidden_dim > 4 * kMaxDim) return Bad("hidden_dim is out of range");
  if (h.n_layers <= 0 || h.n_layers > kMaxLayers) return Bad("n_layers is out of range");
  if (h.n_heads <= 0 || h.n_heads > h.dim || h.dim % h.n_heads != 0) {
    return Bad("n_heads does not divide dim");
  }
  if (h.n_kv_heads <= 0 || h.n_kv_heads > h.n_heads || h.n_heads % h.n_kv_heads != 0) {
    return Bad("n_kv_heads does not divide n_heads");
  }
  if (vocab < 3 || vocab > kMaxVocab) return Bad("vocab_size is out of range");
  if (h.seq_len <= 0 || h.seq_len > kMaxSeqLen) return Bad("seq_len is out of range");
  const size_t dim = static_cast<size_t>(h.dim), hidden = static_cast<size_t>(h.hidden_dim);
  const size_t layers = static_cast<size_t>(h.n_layers), nv = static_cast<size_t>(vocab);
  const size_t head_dim = dim / static_cast<size_t>(h.n_heads);
  const size_t kv_dim = head_dim * static_cast<size_t>(h.n_kv_heads);
  const size_t freq = static_cast<size_t>(h.seq_len) * head_dim;  // real + imag halves
  // Every float the checkpoint must hold (all values above are capped, so this cannot overflow
  // 64 bits).
  const uint64_t floats = static_cast<uint64_t>(nv) * dim +
                          layers * (2 * dim + 2 * dim * dim + 2 * kv_dim * dim + 3 * hidden * dim) +
                          dim + freq + (shared ? 0 : static_cast<uint64_t>(nv) * dim);
  if (c.remaining() != floats * 4) {
    return Bad(absl::StrCat("checkpoint holds ", c.remaining(), " bytes of weights, the header ",
                            "implies ", floats * 4));
  }
  // The floats start at byte 28: copy them out (the span need not be 4-byte aligned).
  std::vector<float> all(floats);
  std::memcpy(all.data(), c.rest().data(), floats * 4);
  size_t at = 0;
  auto take = [&](size_t n) {
    std::span<const float> s(all.data() + at, n);
    at += n;
    return s;
  };

  // Tokenizer: max_token_length, then vocab x {score, length, bytes}.
  base::ByteCursor t(tokenizer);
  int32_t max_len = 0;
  if (!ReadI32(t, &max_len) || max_len < 0 || max_len > kMaxTokenBytes) {
    return Bad("tokenizer max_token_length is missing or out of range");
  }
  std::vector<std::string> pieces;
  std::vector<double> scores;
  std::vector<int64_t> types;
  pieces.reserve(nv);
  for (size_t i = 0; i < nv; ++i) {
    uint32_t score_bits;
    int32_t len;
    ByteSpan bytes;
    if (!t.ReadU32LE(&score_bits) || !ReadI32(t, &len) || len < 0 || len > max_len ||
        !t.ReadBytes(static_cast<size_t>(len), &bytes)) {
      return Bad(absl::StrCat("tokenizer entry ", i, " is truncated or too long"));
    }
    float score;
    std::memcpy(&score, &score_bits, 4);
    auto [piece, type] = Llama2cPiece(std::string(bytes.begin(), bytes.end()));
    pieces.push_back(std::move(piece));
    scores.push_back(score);
    types.push_back(type);
  }
  if (!t.empty()) return Bad("tokenizer has bytes after the last token");

  GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.SetString("general.name", "llama2.c");
  w.SetUint32("general.file_type", 0);
  w.SetUint32("llama.context_length", static_cast<uint32_t>(h.seq_len));
  w.SetUint32("llama.embedding_length", static_cast<uint32_t>(dim));
  w.SetUint32("llama.feed_forward_length", static_cast<uint32_t>(hidden));
  w.SetUint32("llama.block_count", static_cast<uint32_t>(layers));
  w.SetUint32("llama.attention.head_count", static_cast<uint32_t>(h.n_heads));
  w.SetUint32("llama.attention.head_count_kv", static_cast<uint32_t>(h.n_kv_heads));
  w.SetUint32("llama.rope.dimension_count", static_cast<uint32_t>(head_dim));
  // run.c: rsqrtf(ss / size + 1e-5f), theta 10000.
  w.SetFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.SetFloat32("llama.rope.freq_base", 10000.0f);
  w.SetString("tokenizer.ggml.model", "llama");
  w.Set("tokenizer.ggml.tokens", GgufValue::StringArray(std::move(pieces)));
  w.Set("tokenizer.ggml.scores", GgufValue::FloatArray(GgufType::kFloat32, std::move(scores)));
  w.Set("tokenizer.ggml.token_type", GgufValue::IntArray(GgufType::kInt32, std::move(types)));
  w.SetUint32("tokenizer.ggml.unknown_token_id", 0);
  w.SetUint32("tokenizer.ggml.bos_token_id", 1);
  w.SetUint32("tokenizer.ggml.eos_token_id", 2);

  const size_t total = 2 + 9 * layers + (shared ? 0 : 1);
  size_t done = 0;
  auto add = [&](const std::string& name, std::span<const float> v, size_t cols) {
    if (progress) progress(done, total, name);
    ++done;
    std::vector<uint64_t> dims = {cols};
    if (v.size() != cols) dims.push_back(v.size() / cols);
    return w.AddTensor(name, GgmlType::kF32, dims, EncodeRows(GgmlType::kF32, v, cols));
  };
  RETURN_IF_ERROR(add("token_embd.weight", take(nv * dim), dim));
  // llama2.c stores each kind for all layers together.
  std::vector<std::span<const float>> att_norm, wq, wk, wv, wo, ffn_norm, w1, w2, w3;
  for (size_t l = 0; l < layers; ++l) att_norm.push_back(take(dim));
  for (size_t l = 0; l < layers; ++l) wq.push_back(take(dim * dim));
  for (size_t l = 0; l < layers; ++l) wk.push_back(take(kv_dim * dim));
  for (size_t l = 0; l < layers; ++l) wv.push_back(take(kv_dim * dim));
  for (size_t l = 0; l < layers; ++l) wo.push_back(take(dim * dim));
  for (size_t l = 0; l < layers; ++l) ffn_norm.push_back(take(dim));
  for (size_t l = 0; l < layers; ++l) w1.push_back(take(hidden * dim));
  for (size_t l = 0; l < layers; ++l) w2.push_back(take(dim * hidden));
  for (size_t l = 0; l < layers; ++l) w3.push_back(take(hidden * dim));
  std::span<const float> final_norm = take(dim);
  take(freq);  // freq_cis_real / freq_cis_imag: RoPE is computed, not read
  for (size_t l = 0; l < layers; ++l) {
    const std::string b = absl::StrCat("blk.", l, ".");
    RETURN_IF_ERROR(add(b + "attn_norm.weight", att_norm[l], dim));
    RETURN_IF_ERROR(add(b + "attn_q.weight", wq[l], dim));
    RETURN_IF_ERROR(add(b + "attn_k.weight", wk[l], dim));
    RETURN_IF_ERROR(add(b + "attn_v.weight", wv[l], dim));
    RETURN_IF_ERROR(add(b + "attn_output.weight", wo[l], dim));
    RETURN_IF_ERROR(add(b + "ffn_norm.weight", ffn_norm[l], dim));
    RETURN_IF_ERROR(add(b + "ffn_gate.weight", w1[l], dim));
    RETURN_IF_ERROR(add(b + "ffn_down.weight", w2[l], hidden));
    RETURN_IF_ERROR(add(b + "ffn_up.weight", w3[l], dim));
  }
  RETURN_IF_ERROR(add("output_norm.weight", final_norm, dim));
  if (!shared) RETURN_IF_ERROR(add("output.weight", take(nv * dim), dim));
  if (progress) progress(total, total, "done");
  return w.Finish();
}

absl::StatusOr<Bytes> QuantizeGguf(const GgufFile& in, GgmlType type, const ProgressFn& progress) {
  if (type != GgmlType::kQ8_0 && type != GgmlType::kQ4_0 && type != GgmlType::kQ5_0 &&
      type != GgmlType::kF16 && type != GgmlType::kBF16 && type != GgmlType::kF32) {
    return absl::InvalidArgumentError("quantize: type must be F32, F16, BF16, Q8_0, Q4_0 or Q5_0");
  }
  GgufWriter w(in.alignment());
  for (const auto& [key, value] : in.metadata()) {
    if (key == "general.alignment") continue;  // the writer sets it from the alignment
    w.Set(key, value);
  }
  w.SetUint32("general.file_type", FileType(type));
  w.SetUint32("general.quantization_version", 2);
  const size_t total = in.tensors().size();
  std::vector<float> row;
  for (size_t i = 0; i < total; ++i) {
    const GgufTensor& t = in.tensors()[i];
    if (progress) progress(i, total, t.name);
    const bool source_float =
        t.type == GgmlType::kF32 || t.type == GgmlType::kF16 || t.type == GgmlType::kBF16;
    const bool convert = source_float && t.num_dims == 2 && t.dims[0] % 32 == 0 && t.type != type;
    std::vector<uint64_t> dims(t.dims.begin(), t.dims.begin() + t.num_dims);
    if (!convert) {
      RETURN_IF_ERROR(w.AddTensor(t.name, t.type, dims, t.data));
      continue;
    }
    const size_t cols = static_cast<size_t>(t.dims[0]);
    const size_t rows = static_cast<size_t>(t.num_elements / cols);
    const size_t in_row_bytes = static_cast<size_t>(t.size_bytes / rows);
    const size_t out_row_bytes = static_cast<size_t>(*GgmlRowBytes(type, cols));
    Bytes out(rows * out_row_bytes);
    row.resize(cols);
    for (size_t r = 0; r < rows; ++r) {
      DequantizeRow(t.type, t.data.data() + r * in_row_bytes, row);
      Bytes enc = EncodeRows(type, row, cols);
      std::memcpy(out.data() + r * out_row_bytes, enc.data(), out_row_bytes);
    }
    RETURN_IF_ERROR(w.AddTensor(t.name, type, dims, out));
  }
  if (progress) progress(total, total, "done");
  return w.Finish();
}

}  // namespace confide::llm
