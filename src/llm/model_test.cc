#include "llm/model.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "llm/generate.h"
#include "llm/prompt.h"
#include "llm/synth.h"
#include "llm/tokenizer.h"
#include "testing/testdata.h"

namespace confide::llm {
namespace {

// ---- Goldens: ../shared/models/golden (llama.cpp and llama2.c agree token for token) ----

struct Golden {
  std::vector<int> prompt_ids;
  std::vector<std::pair<int, float>> top5;
  std::vector<int> greedy_ids;
  std::string greedy_text;
};

std::vector<int> ParseIds(const std::string& s) {
  std::istringstream in(s);
  std::vector<int> ids;
  int id;
  while (in >> id) ids.push_back(id);
  return ids;
}

// ReadGolden parses the llama.cpp golden format described in ../shared/models/SOURCES.md: four
// "name: value" lines, greedy_text running to the end of the file (minus one final newline).
std::optional<Golden> ReadGolden(const std::filesystem::path& path) {
  auto bytes = testing::ReadFile(path);
  if (!bytes) return std::nullopt;
  std::string s(bytes->begin(), bytes->end());
  Golden g;
  auto field = [&](const std::string& name) -> std::string {
    size_t at = s.find(name + ": ");
    if (at == std::string::npos) return "";
    at += name.size() + 2;
    return s.substr(at, s.find('\n', at) - at);
  };
  g.prompt_ids = ParseIds(field("prompt_ids"));
  g.greedy_ids = ParseIds(field("greedy_ids"));
  std::istringstream top(field("step0_top5"));
  std::string item;
  while (top >> item) {
    size_t colon = item.find(':');
    g.top5.emplace_back(std::stoi(item.substr(0, colon)), std::stof(item.substr(colon + 1)));
  }
  size_t at = s.find("greedy_text: ");
  if (at == std::string::npos) return std::nullopt;
  g.greedy_text = s.substr(at + 13);
  if (!g.greedy_text.empty() && g.greedy_text.back() == '\n') g.greedy_text.pop_back();
  return g;
}

class GoldenTest : public ::testing::TestWithParam<const char*> {};

// TokenizerOf returns the model's own tokenizer (VocabFromGguf + Tokenizer::Create).
absl::StatusOr<Tokenizer> TokenizerOf(const GgufFile& f) {
  ASSIGN_OR_RETURN(TokenizerVocab vocab, VocabFromGguf(f));
  return Tokenizer::Create(vocab);
}

// The text prompts the llama.cpp goldens were made from (SOURCES.md; the files hold the ids).
std::string GoldenPrompt(const std::string& name) {
  if (name == "once-upon-a-time") return "Once upon a time";
  if (name == "lily-and-tom") return "Lily and Tom went to the park";
  return "";
}

TEST_P(GoldenTest, GreedyMatchesLlamaCpp) {
  CONFIDE_SHARED_FILE_OR_SKIP(model_path, "models/stories260K.gguf");
  CONFIDE_SHARED_FILE_OR_SKIP(
      golden_path,
      std::string("models/golden/stories260K_llamacpp_greedy_prompt-") + GetParam() + ".txt");
  auto golden = ReadGolden(golden_path);
  ASSERT_TRUE(golden.has_value());
  ASSERT_FALSE(golden->prompt_ids.empty());
  ASSERT_EQ(golden->top5.size(), 5u);
  ASSERT_FALSE(golden->greedy_ids.empty());

  auto model = Model::Open(model_path.string());
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<float> step0;
  std::vector<int> streamed;
  GenerateOptions options;
  options.max_new_tokens = golden->greedy_ids.size();
  options.step0_logits = &step0;
  auto ids = GenerateGreedy(**model, golden->prompt_ids, options, [&](int t) {
    streamed.push_back(t);
    return true;
  });
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(*ids, golden->greedy_ids);
  EXPECT_EQ(streamed, *ids);
  for (const auto& [id, logit] : golden->top5) EXPECT_NEAR(step0[id], logit, 1e-4) << id;

  auto tok = TokenizerOf((*model)->gguf());
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(*tok->Decode(*ids, {.continuation = true}), golden->greedy_text);
}

// The whole text path, as `confide model run -p` takes it: text -> the model's tokenizer (BOS
// and space prefix as the vocabulary says) -> greedy generation stopping at end-of-generation
// ids -> text streamed piece by piece.
TEST_P(GoldenTest, TextPromptReproducesGolden) {
  CONFIDE_SHARED_FILE_OR_SKIP(model_path, "models/stories260K.gguf");
  CONFIDE_SHARED_FILE_OR_SKIP(
      golden_path,
      std::string("models/golden/stories260K_llamacpp_greedy_prompt-") + GetParam() + ".txt");
  auto golden = ReadGolden(golden_path);
  ASSERT_TRUE(golden.has_value());
  auto model = Model::Open(model_path.string());
  ASSERT_TRUE(model.ok()) << model.status();
  auto tok = TokenizerOf((*model)->gguf());
  ASSERT_TRUE(tok.ok()) << tok.status();
  auto prompt = EncodePrompt(*tok, "", GoldenPrompt(GetParam()));
  ASSERT_TRUE(prompt.ok()) << prompt.status();
  EXPECT_EQ(*prompt, golden->prompt_ids);
  GenerateOptions options;
  options.max_new_tokens = golden->greedy_ids.size();
  options.stop_tokens = EndOfGenerationIds(*tok);
  EXPECT_EQ(options.stop_tokens, std::vector<int>({2}));
  std::string streamed;
  auto ids = GenerateGreedy(**model, *prompt, options, [&](int t) {
    auto piece = tok->TokenToPiece(t);
    EXPECT_TRUE(piece.ok());
    streamed += piece.ok() ? *piece : "";
    return true;
  });
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(*ids, golden->greedy_ids);
  EXPECT_EQ(streamed, golden->greedy_text);
}

INSTANTIATE_TEST_SUITE_P(Prompts, GoldenTest,
                         ::testing::Values("empty", "once-upon-a-time", "lily-and-tom"),
                         [](const auto& p) {
                           std::string n = p.param;
                           for (char& c : n) c = c == '-' ? '_' : c;
                           return n;
                         });

// llama2.c's run.c, temperature 0, 256 steps from BOS: same ids; it prints pieces without the
// space after BOS, then a newline.
TEST(GoldenTest, GreedyMatchesLlama2c) {
  CONFIDE_SHARED_FILE_OR_SKIP(model_path, "models/stories260K.gguf");
  CONFIDE_SHARED_FILE_OR_SKIP(golden_path, "models/golden/stories260K_llama2c_t0_n256.txt");
  auto expected = testing::ReadFile(golden_path);
  ASSERT_TRUE(expected.has_value());
  auto model = Model::Open(model_path.string(), {.num_threads = 2});  // threaded path too
  ASSERT_TRUE(model.ok()) << model.status();
  GenerateOptions options;
  options.max_new_tokens = 256;
  options.stop_tokens = {1};  // llama2.c stops at BOS
  const int bos = 1;
  auto ids = GenerateGreedy(**model, std::span<const int>(&bos, 1), options);
  ASSERT_TRUE(ids.ok()) << ids.status();
  auto tok = TokenizerOf((*model)->gguf());
  ASSERT_TRUE(tok.ok()) << tok.status();
  // Decode drops the SentencePiece space prefix at the start, as run.c does after BOS.
  EXPECT_EQ(*tok->Decode(*ids) + "\n", std::string(expected->begin(), expected->end()));
}

// ---- A straightforward reference forward pass (double precision, dequantised weights) ----

std::vector<double> Dense(const GgufFile& f, const std::string& name, size_t* rows, size_t* cols) {
  const GgufTensor* t = f.FindTensor(name);
  EXPECT_NE(t, nullptr) << name;
  *cols = t->dims[0];
  *rows = t->num_elements / *cols;
  const size_t row_bytes = t->size_bytes / *rows;
  std::vector<double> out;
  std::vector<float> row(*cols);
  for (size_t r = 0; r < *rows; ++r) {
    DequantizeRow(t->type, t->data.data() + r * row_bytes, row);
    out.insert(out.end(), row.begin(), row.end());
  }
  return out;
}

class Reference {
 public:
  Reference(const GgufFile& f, const Config& c) : f_(f), c_(c) {
    kc_.assign(c.num_layers, {});
    vc_.assign(c.num_layers, {});
  }

  std::vector<double> W(const std::string& name) {
    size_t r, cols;
    return Dense(f_, name, &r, &cols);
  }
  static std::vector<double> MatVec(const std::vector<double>& w, const std::vector<double>& x,
                                    size_t rows) {
    std::vector<double> out(rows, 0.0);
    const size_t cols = x.size();
    for (size_t r = 0; r < rows; ++r) {
      for (size_t i = 0; i < cols; ++i) out[r] += w[r * cols + i] * x[i];
    }
    return out;
  }
  std::vector<double> Norm(const std::vector<double>& x, const std::string& name) {
    std::vector<double> w = W(name);
    double ss = 0;
    for (double v : x) ss += v * v;
    double s = 1.0 / std::sqrt(ss / x.size() + c_.rms_eps);
    std::vector<double> out(x.size());
    for (size_t i = 0; i < x.size(); ++i) out[i] = x[i] * s * w[i];
    return out;
  }
  void RopeHeads(std::vector<double>& v, size_t heads, size_t pos) {
    const size_t hd = c_.head_dim, n = c_.rope_dims;
    for (size_t h = 0; h < heads; ++h) {
      for (size_t j = 0; j < n / 2; ++j) {
        double theta = pos * c_.rope_freq_scale * std::pow(c_.rope_freq_base, -2.0 * j / n);
        size_t a = c_.rope_style == RopeStyle::kNormal ? 2 * j : j;
        size_t b = c_.rope_style == RopeStyle::kNormal ? 2 * j + 1 : j + n / 2;
        double x0 = v[h * hd + a], x1 = v[h * hd + b];
        v[h * hd + a] = x0 * std::cos(theta) - x1 * std::sin(theta);
        v[h * hd + b] = x0 * std::sin(theta) + x1 * std::cos(theta);
      }
    }
  }

  std::vector<double> Forward(int token, size_t pos) {
    const size_t dim = c_.dim, hd = c_.head_dim;
    std::vector<double> emb = W("token_embd.weight");
    std::vector<double> x(emb.begin() + token * dim, emb.begin() + (token + 1) * dim);
    for (size_t l = 0; l < c_.num_layers; ++l) {
      const std::string b = "blk." + std::to_string(l) + ".";
      std::vector<double> xb = Norm(x, b + "attn_norm.weight");
      std::vector<double> q = MatVec(W(b + "attn_q.weight"), xb, c_.q_dim());
      std::vector<double> k = MatVec(W(b + "attn_k.weight"), xb, c_.kv_dim());
      std::vector<double> v = MatVec(W(b + "attn_v.weight"), xb, c_.kv_dim());
      if (c_.qkv_bias) {
        auto bq = W(b + "attn_q.bias"), bk = W(b + "attn_k.bias"), bv = W(b + "attn_v.bias");
        for (size_t i = 0; i < q.size(); ++i) q[i] += bq[i];
        for (size_t i = 0; i < k.size(); ++i) k[i] += bk[i], v[i] += bv[i];
      }
      RopeHeads(q, c_.num_heads, pos);
      RopeHeads(k, c_.num_kv_heads, pos);
      kc_[l].push_back(k);
      vc_[l].push_back(v);
      std::vector<double> att_out(c_.q_dim(), 0.0);
      for (size_t h = 0; h < c_.num_heads; ++h) {
        size_t kvh = h / (c_.num_heads / c_.num_kv_heads);
        std::vector<double> s(pos + 1);
        double mx = -1e300, sum = 0;
        for (size_t t = 0; t <= pos; ++t) {
          double d = 0;
          for (size_t i = 0; i < hd; ++i) d += q[h * hd + i] * kc_[l][t][kvh * hd + i];
          s[t] = d / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[t]);
        }
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (size_t t = 0; t <= pos; ++t) {
          for (size_t i = 0; i < hd; ++i)
            att_out[h * hd + i] += s[t] / sum * vc_[l][t][kvh * hd + i];
        }
      }
      std::vector<double> o = MatVec(W(b + "attn_output.weight"), att_out, dim);
      for (size_t i = 0; i < dim; ++i) x[i] += o[i];
      xb = Norm(x, b + "ffn_norm.weight");
      auto g = MatVec(W(b + "ffn_gate.weight"), xb, c_.hidden_dim);
      auto u = MatVec(W(b + "ffn_up.weight"), xb, c_.hidden_dim);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
      auto d = MatVec(W(b + "ffn_down.weight"), g, dim);
      for (size_t i = 0; i < dim; ++i) x[i] += d[i];
    }
    x = Norm(x, "output_norm.weight");
    return MatVec(W(c_.tied_output ? "token_embd.weight" : "output.weight"), x, c_.vocab_size);
  }

 private:
  const GgufFile& f_;
  const Config& c_;
  std::vector<std::vector<std::vector<double>>> kc_, vc_;
};

struct ForwardCase {
  const char* name;
  SynthSpec spec;
};

class ReferenceForwardTest : public ::testing::TestWithParam<ForwardCase> {};

TEST_P(ReferenceForwardTest, MatchesReference) {
  const SynthSpec& spec = GetParam().spec;
  auto file = SynthesizeModel(spec);
  ASSERT_TRUE(file.ok()) << file.status();
  for (KvCacheType kv : {KvCacheType::kF32, KvCacheType::kF16}) {
    auto model = Model::FromBuffer(*file, {.kv_cache = kv, .quantize_activations = false});
    ASSERT_TRUE(model.ok()) << model.status();
    const Config& c = (*model)->config();
    EXPECT_EQ(c.arch, spec.arch);
    EXPECT_EQ(c.tied_output, spec.tied_output);
    EXPECT_EQ(c.qkv_bias, spec.arch == Architecture::kQwen2);
    Reference ref((*model)->gguf(), c);
    // The f16 cache rounds k, v, q and probabilities to 11 significant bits.
    const double tol = kv == KvCacheType::kF32 ? 1e-4 : 2e-2;
    const int tokens[] = {1, 77, 5, 260, 299, 3, 42, 42};
    for (size_t pos = 0; pos < std::size(tokens); ++pos) {
      auto logits = (*model)->Forward(tokens[pos], pos);
      ASSERT_TRUE(logits.ok()) << logits.status();
      std::vector<double> want = ref.Forward(tokens[pos], pos);
      ASSERT_EQ(logits->size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_NEAR((*logits)[i], want[i], tol + tol * std::fabs(want[i]))
            << "pos " << pos << " logit " << i << " f16 cache " << (kv == KvCacheType::kF16);
      }
    }
  }
}

// A prompt run as a matrix (ForwardBatch, in steps of batch_size tokens, from any position)
// gives exactly the logits and KV cache of running it token by token, for every architecture,
// type, cache type, activation numerics and thread count.
TEST_P(ReferenceForwardTest, BatchMatchesTokenByToken) {
  const SynthSpec& spec = GetParam().spec;
  auto file = SynthesizeModel(spec);
  ASSERT_TRUE(file.ok()) << file.status();
  const int tokens[] = {1, 77, 5, 260, 299, 3, 42, 42, 7, 100, 258};
  for (KvCacheType kv : {KvCacheType::kF32, KvCacheType::kF16}) {
    for (bool q8 : {false, true}) {
      auto seq = Model::FromBuffer(*file, {.kv_cache = kv, .quantize_activations = q8});
      ASSERT_TRUE(seq.ok()) << seq.status();
      std::vector<std::vector<float>> want;
      for (size_t pos = 0; pos < std::size(tokens); ++pos) {
        auto logits = (*seq)->Forward(tokens[pos], pos);
        ASSERT_TRUE(logits.ok()) << logits.status();
        want.emplace_back(logits->begin(), logits->end());
      }
      for (size_t threads : {1u, 2u}) {
        auto batched = Model::FromBuffer(
            *file,
            {.kv_cache = kv, .num_threads = threads, .quantize_activations = q8, .batch_size = 3});
        ASSERT_TRUE(batched.ok()) << batched.status();
        // 7 tokens in steps of 3, 3, 1; then 3 more from position 7; then one at a time.
        std::span<const int> all(tokens);
        auto a = (*batched)->ForwardBatch(all.subspan(0, 7), 0);
        ASSERT_TRUE(a.ok()) << a.status();
        EXPECT_EQ(std::vector<float>(a->begin(), a->end()), want[6]) << q8 << threads;
        auto b = (*batched)->ForwardBatch(all.subspan(7, 3), 7);
        ASSERT_TRUE(b.ok()) << b.status();
        EXPECT_EQ(std::vector<float>(b->begin(), b->end()), want[9]) << q8 << threads;
        auto c = (*batched)->Forward(tokens[10], 10);  // reads the cache the batches wrote
        ASSERT_TRUE(c.ok()) << c.status();
        EXPECT_EQ(std::vector<float>(c->begin(), c->end()), want[10]) << q8 << threads;
      }
    }
  }
}

SynthSpec Spec(Architecture arch, GgmlType type, bool tied, size_t kv_heads, size_t rope_dims) {
  SynthSpec s;
  s.arch = arch;
  s.type = type;
  s.tied_output = tied;
  s.num_kv_heads = kv_heads;
  s.rope_dims = rope_dims;
  s.seed = static_cast<uint64_t>(type) * 31 + kv_heads + (tied ? 100 : 0);
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Models, ReferenceForwardTest,
    ::testing::Values(
        ForwardCase{"llama_f32_gqa", Spec(Architecture::kLlama, GgmlType::kF32, false, 2, 0)},
        ForwardCase{"llama_f16_tied", Spec(Architecture::kLlama, GgmlType::kF16, true, 4, 0)},
        ForwardCase{"llama_bf16_mqa", Spec(Architecture::kLlama, GgmlType::kBF16, false, 1, 8)},
        ForwardCase{"llama_q8_0", Spec(Architecture::kLlama, GgmlType::kQ8_0, false, 2, 0)},
        ForwardCase{"qwen2_f32_tied", Spec(Architecture::kQwen2, GgmlType::kF32, true, 2, 0)},
        ForwardCase{"qwen2_f16", Spec(Architecture::kQwen2, GgmlType::kF16, false, 2, 0)},
        ForwardCase{"llama_q4_0", Spec(Architecture::kLlama, GgmlType::kQ4_0, false, 2, 0)},
        ForwardCase{"qwen2_q5_0", Spec(Architecture::kQwen2, GgmlType::kQ5_0, true, 1, 0)},
        ForwardCase{"qwen2_q8_0", Spec(Architecture::kQwen2, GgmlType::kQ8_0, true, 2, 8)}),
    [](const auto& p) { return std::string(p.param.name); });

// With Q8_0 activations (llama.cpp's numerics for Q8_0 weights) the logits stay close to the
// float reference and greedy choices mostly agree.
TEST(ModelTest, QuantizedActivationsStayCloseToFloat) {
  for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ5_0}) {
    SynthSpec spec;
    spec.type = type;
    auto file = SynthesizeModel(spec);
    ASSERT_TRUE(file.ok());
    auto exact = Model::FromBuffer(*file, {.quantize_activations = false});
    auto quant = Model::FromBuffer(*file, {.quantize_activations = true});
    ASSERT_TRUE(exact.ok() && quant.ok());
    for (size_t pos = 0; pos < 6; ++pos) {
      auto a = (*exact)->Forward(static_cast<int>(11 * pos + 2), pos);
      ASSERT_TRUE(a.ok());
      std::vector<float> want(a->begin(), a->end());
      auto b = (*quant)->Forward(static_cast<int>(11 * pos + 2), pos);
      ASSERT_TRUE(b.ok());
      double max_abs = 0, max_err = 0;
      for (size_t i = 0; i < want.size(); ++i) {
        max_abs = std::max(max_abs, std::fabs(static_cast<double>(want[i])));
        max_err = std::max(max_err, std::fabs(static_cast<double>((*b)[i]) - want[i]));
      }
      EXPECT_LT(max_err, 0.05 * max_abs + 1e-3) << GgmlTypeName(type) << " " << pos;
    }
  }
}

// q4_k_m: llama.cpp's mix (Q4_K; Q6_K attn_v/ffn_down in use_more_bits layers and output;
// rows of 256-indivisible length fall back to Q5_0/Q8_0) loads and runs close to the float path.
TEST(ModelTest, Q4_K_MMixLoadsAndRuns) {
  SynthSpec spec;
  spec.dim = 256;
  spec.hidden_dim = 352;  // ffn_down rows (352) are not a multiple of 256: Q5_0 / Q8_0 fallback
  spec.num_layers = 8;
  spec.q4_k_m = true;
  auto file = SynthesizeModel(spec);
  ASSERT_TRUE(file.ok()) << file.status();
  auto f = GgufFile::Parse(*file);
  ASSERT_TRUE(f.ok());
  auto type_of = [&](const std::string& name) { return f->FindTensor(name)->type; };
  EXPECT_EQ(type_of("token_embd.weight"), GgmlType::kQ4_K);
  EXPECT_EQ(type_of("output.weight"), GgmlType::kQ6_K);
  EXPECT_EQ(type_of("output_norm.weight"), GgmlType::kF32);
  EXPECT_EQ(type_of("blk.0.attn_q.weight"), GgmlType::kQ4_K);
  EXPECT_EQ(type_of("blk.0.attn_v.weight"), GgmlType::kQ6_K);  // first eighth
  EXPECT_EQ(type_of("blk.1.attn_v.weight"), GgmlType::kQ4_K);
  EXPECT_EQ(type_of("blk.3.attn_v.weight"), GgmlType::kQ6_K);    // (3 - 1) % 3 == 2
  EXPECT_EQ(type_of("blk.7.attn_v.weight"), GgmlType::kQ6_K);    // last eighth
  EXPECT_EQ(type_of("blk.0.ffn_down.weight"), GgmlType::kQ8_0);  // 352 % 256 != 0
  EXPECT_EQ(type_of("blk.1.ffn_down.weight"), GgmlType::kQ5_0);
  EXPECT_EQ(type_of("blk.1.ffn_up.weight"), GgmlType::kQ4_K);
  auto exact = Model::FromBuffer(*file, {.quantize_activations = false});
  auto quant = Model::FromBuffer(*file, {.quantize_activations = true});
  ASSERT_TRUE(exact.ok() && quant.ok());
  for (size_t pos = 0; pos < 4; ++pos) {
    auto a = (*exact)->Forward(static_cast<int>(11 * pos + 2), pos);
    ASSERT_TRUE(a.ok());
    std::vector<float> want(a->begin(), a->end());
    auto b = (*quant)->Forward(static_cast<int>(11 * pos + 2), pos);
    ASSERT_TRUE(b.ok());
    double max_abs = 0, max_err = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_TRUE(std::isfinite(want[i]));
      max_abs = std::max(max_abs, std::fabs(static_cast<double>(want[i])));
      max_err = std::max(max_err, std::fabs(static_cast<double>((*b)[i]) - want[i]));
    }
    EXPECT_GT(max_abs, 0.0);
    EXPECT_LT(max_err, 0.05 * max_abs + 1e-3) << pos;
  }
}

TEST(ModelTest, ThreadsGiveIdenticalLogits) {
  SynthSpec spec;
  spec.type = GgmlType::kQ8_0;
  auto file = SynthesizeModel(spec);
  ASSERT_TRUE(file.ok());
  auto one = Model::FromBuffer(*file, {.num_threads = 1});
  auto three = Model::FromBuffer(*file, {.num_threads = 3});
  ASSERT_TRUE(one.ok() && three.ok());
  for (size_t pos = 0; pos < 6; ++pos) {
    auto a = (*one)->Forward(static_cast<int>(7 * pos + 1), pos);
    ASSERT_TRUE(a.ok());
    std::vector<float> first(a->begin(), a->end());
    auto b = (*three)->Forward(static_cast<int>(7 * pos + 1), pos);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(first, std::vector<float>(b->begin(), b->end())) << pos;
  }
}

// ---- Load and run errors ----

TEST(ModelTest, RejectsBadModels) {
  SynthSpec spec;
  auto good = SynthesizeModel(spec);
  ASSERT_TRUE(good.ok());
  auto f = GgufFile::Parse(*good);
  ASSERT_TRUE(f.ok());

  auto rebuild = [&](auto edit) {
    auto w = GgufWriter::FromFile(*f);
    EXPECT_TRUE(w.ok());
    GgufWriter out;
    edit(*w, out);
    return out.Finish();
  };
  auto expect_error = [](const Bytes& b, const std::string& needle) {
    auto m = Model::FromBuffer(b);
    ASSERT_FALSE(m.ok()) << needle;
    EXPECT_NE(std::string(m.status().message()).find(needle), std::string::npos)
        << m.status().message();
  };
  // Copies metadata (possibly edited) and all tensors but `skip`, optionally retyped.
  auto copy = [&](const std::string& skip, const std::string& key, GgufValue value) {
    return rebuild([&](GgufWriter&, GgufWriter& out) {
      for (const auto& [k, v] : f->metadata()) out.Set(k, k == key ? value : v);
      for (const auto& t : f->tensors()) {
        if (t.name == skip) continue;
        std::vector<uint64_t> dims(t.dims.begin(), t.dims.begin() + t.num_dims);
        EXPECT_TRUE(out.AddTensor(t.name, t.type, dims, t.data).ok());
      }
    });
  };
  expect_error(copy("blk.1.ffn_up.weight", "", {}), "tensor blk.1.ffn_up.weight is missing");
  expect_error(copy("", "general.architecture", GgufValue::String("gpt2")), "architecture");
  expect_error(copy("", "llama.embedding_length", GgufValue::Uint(GgufType::kUint32, 32)),
               "rope.dimension_count");  // head_dim 8 < 16 rotated dims
  expect_error(copy("", "llama.attention.head_count_kv", GgufValue::Uint(GgufType::kUint32, 3)),
               "head_count_kv");
  expect_error(copy("", "llama.block_count", GgufValue::Uint(GgufType::kUint32, 0)),
               "llama.block_count");
  expect_error(copy("", "llama.block_count", GgufValue::String("2")), "llama.block_count");
  expect_error(copy("", "llama.rope.freq_base", GgufValue::Float(GgufType::kFloat32, -1)),
               "freq_base");
  expect_error(copy("", "llama.feed_forward_length", GgufValue::Uint(GgufType::kUint32, 95)),
               "blk.0.ffn_gate.weight");

  // An unsupported weight type is named.
  Bytes q4 = rebuild([&](GgufWriter&, GgufWriter& out) {
    for (const auto& [k, v] : f->metadata()) out.Set(k, v);
    for (const auto& t : f->tensors()) {
      std::vector<uint64_t> dims(t.dims.begin(), t.dims.begin() + t.num_dims);
      if (t.name == "blk.0.attn_q.weight") {
        EXPECT_TRUE(out.AddTensor(t.name, GgmlType::kQ4_1, dims, Bytes(64 * 64 / 32 * 20)).ok());
      } else {
        EXPECT_TRUE(out.AddTensor(t.name, t.type, dims, t.data).ok());
      }
    }
  });
  expect_error(q4, "blk.0.attn_q.weight has type Q4_1");

  auto m = Model::FromBuffer(*good, {.max_context = 16});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->config().context_length, 16u);
  EXPECT_EQ((*m)->config().model_context_length, 64u);
  EXPECT_FALSE((*m)->Forward(-1, 0).ok());
  EXPECT_FALSE((*m)->Forward(300, 0).ok());
  EXPECT_FALSE((*m)->Forward(1, 16).ok());
  EXPECT_TRUE((*m)->Forward(1, 15).ok());
  const int three[] = {1, 2, 3}, bad[] = {1, 300};
  EXPECT_FALSE((*m)->ForwardBatch({}, 0).ok());
  EXPECT_FALSE((*m)->ForwardBatch(three, 14).ok());  // positions 14..16 of a 16-position cache
  EXPECT_FALSE((*m)->ForwardBatch(bad, 0).ok());
  EXPECT_TRUE((*m)->ForwardBatch(three, 13).ok());
  std::vector<int> long_prompt(16, 5);
  EXPECT_FALSE(GenerateGreedy(**m, long_prompt, {}).ok());
  EXPECT_FALSE(GenerateGreedy(**m, {}, {}).ok());
}

TEST(GenerateTest, StopsAtLimitsAndOnRequest) {
  auto file = SynthesizeModel({});
  ASSERT_TRUE(file.ok());
  auto m = Model::FromBuffer(*file, {.max_context = 10});
  ASSERT_TRUE(m.ok());
  const int prompt[] = {1, 300 - 1};
  GenerateOptions o;
  o.max_new_tokens = 100;
  o.stop_tokens = {-5};  // never produced
  auto ids = GenerateGreedy(**m, prompt, o);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 9u);  // positions 2..9 run, plus the last token that needs none
  int calls = 0;
  ids = GenerateGreedy(**m, prompt, o, [&](int) { return ++calls < 3; });
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 3u);
  // A stop token ends the generation without being emitted.
  o.stop_tokens = {(*ids)[0]};
  ids = GenerateGreedy(**m, prompt, o);
  ASSERT_TRUE(ids.ok());
  EXPECT_TRUE(ids->empty());
  EXPECT_EQ(ArgMax(std::vector<float>{1, 3, 3, 2}), 1);
  EXPECT_EQ(ArgMax({}), -1);
}

TEST(SynthTest, VocabularyIsAWorkingSentencePieceTokenizer) {
  auto file = SynthesizeModel({});
  ASSERT_TRUE(file.ok());
  auto f = GgufFile::Parse(*file);
  ASSERT_TRUE(f.ok());
  auto tok = TokenizerOf(*f);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(tok->n_vocab(), 300);
  EXPECT_EQ(*tok->TokenToPiece(1), "");         // control
  EXPECT_EQ(*tok->TokenToPiece(3 + 'A'), "A");  // <0x41>
  EXPECT_EQ(*tok->TokenToPiece(3 + 0xE2), "\xE2");
  EXPECT_EQ(*tok->TokenToPiece(259), " t259");  // U+2581 -> space
  EXPECT_FALSE(tok->TokenToPiece(999).ok());
  const int ids[] = {1, 259, 3 + '!', 3 + '\n'};
  EXPECT_EQ(*tok->Decode(ids), "t259!\n");
  EXPECT_EQ(*tok->Decode(ids, {.continuation = true}), "t259!\n");  // after BOS: still removed
  EXPECT_EQ(*tok->Decode(std::span<const int>(ids + 1, 3), {.continuation = true}), " t259!\n");
  EXPECT_TRUE(tok->IsEndOfGeneration(2));
}

}  // namespace
}  // namespace confide::llm
