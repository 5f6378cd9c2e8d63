#include "cli/model_commands.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "base/file.h"
#include "llm/convert.h"
#include "llm/generate.h"
#include "llm/gguf.h"
#include "llm/mapped_file.h"
#include "llm/model.h"
#include "llm/prompt.h"
#include "llm/synth.h"
#include "llm/tokenizer.h"

namespace confide::cli {
namespace {

struct RunArgs {
  std::string model;
  std::string prompt;
  std::string prompt_ids;
  bool chat = false;
  std::string template_name;
  std::string system;
  size_t max_tokens = 256;
  size_t context = 4096;
  size_t threads = 1;
  bool f32_cache = false;
  bool lock = false;
};

int Fail(const std::string& what, const absl::Status& s) {
  std::cerr << "error: " << what << ": " << s.message() << "\n";
  return 1;
}

int RunInfo(const std::string& path) {
  auto mapped = llm::MappedFile::Open(path);
  if (!mapped.ok()) return Fail("opening the model", mapped.status());
  auto f = llm::GgufFile::Parse(mapped->bytes());
  if (!f.ok()) return Fail("reading GGUF", f.status());
  std::cout << "file: " << path << "\n"
            << "gguf_version: " << f->version() << "\n"
            << "bytes: " << mapped->bytes().size() << "\n"
            << "alignment: " << f->alignment() << "\n"
            << "metadata_keys: " << f->metadata().size() << "\n";
  if (auto name = f->GetString("general.name"); name.ok()) std::cout << "name: " << *name << "\n";
  auto arch = f->GetString("general.architecture");
  std::cout << "architecture: " << (arch.ok() ? *arch : std::string("(missing)")) << "\n";

  std::map<std::string, std::pair<size_t, uint64_t>> by_type;  // type -> (count, bytes)
  uint64_t params = 0;
  for (const auto& t : f->tensors()) {
    auto& e = by_type[llm::GgmlTypeName(t.type)];
    ++e.first;
    e.second += t.size_bytes;
    params += t.num_elements;
  }
  std::cout << "tensors: " << f->tensors().size() << "\n"
            << "parameters: " << params << "\n";
  for (const auto& [type, e] : by_type) {
    std::cout << "tensor_type: " << type << " count=" << e.first << " bytes=" << e.second << "\n";
  }
  auto c = llm::Model::LoadConfig(*f, {.max_context = 0});
  if (c.ok()) {
    std::cout << "embedding_length: " << c->dim << "\n"
              << "feed_forward_length: " << c->hidden_dim << "\n"
              << "block_count: " << c->num_layers << "\n"
              << "head_count: " << c->num_heads << "\n"
              << "head_count_kv: " << c->num_kv_heads << "\n"
              << "head_dim: " << c->head_dim << "\n"
              << "context_length: " << c->model_context_length << "\n"
              << "rope: " << (c->rope_style == llm::RopeStyle::kNeox ? "neox" : "normal")
              << " dims=" << c->rope_dims << " freq_base=" << c->rope_freq_base
              << " freq_scale=" << c->rope_freq_scale << "\n"
              << "rms_eps: " << c->rms_eps << "\n"
              << "qkv_bias: " << (c->qkv_bias ? "yes" : "no") << "\n"
              << "tied_output: " << (c->tied_output ? "yes" : "no") << "\n"
              << "vocab_size: " << c->vocab_size << "\n"
              << "bos_token: " << c->bos_token << "\n"
              << "eos_token: " << c->eos_token << "\n";
  } else {
    std::cout << "config: unsupported (" << c.status().message() << ")\n";
  }
  if (auto tm = f->GetString("tokenizer.ggml.model"); tm.ok()) {
    std::cout << "tokenizer: " << *tm << "\n";
  }
  if (auto tokens = f->GetStringArray("tokenizer.ggml.tokens"); tokens.ok()) {
    std::cout << "tokenizer_tokens: " << (*tokens)->size() << "\n";
  }
  std::cout << "chat_template: "
            << (f->Find("tokenizer.chat_template") != nullptr ? "present" : "absent") << "\n";
  return 0;
}

absl::StatusOr<std::vector<int>> ParseIds(const std::string& text) {
  std::vector<int> ids;
  for (absl::string_view part : absl::StrSplit(text, absl::ByAnyChar(", "), absl::SkipEmpty())) {
    int id = 0;
    if (!absl::SimpleAtoi(part, &id) || id < 0) {
      return absl::InvalidArgumentError("--prompt-ids must be comma-separated token ids");
    }
    ids.push_back(id);
  }
  if (ids.empty()) return absl::InvalidArgumentError("--prompt-ids is empty");
  return ids;
}

int RunGenerate(const RunArgs& a, bool have_prompt) {
  if (have_prompt == !a.prompt_ids.empty()) {
    std::cerr << "error: give exactly one of -p/--prompt and --prompt-ids\n";
    return 2;
  }
  if ((a.chat || !a.template_name.empty() || !a.system.empty()) && !have_prompt) {
    std::cerr << "error: --chat, --template and --system need a text prompt (-p)\n";
    return 2;
  }
  if ((!a.template_name.empty() || !a.system.empty()) && !a.chat) {
    std::cerr << "error: --template and --system only apply with --chat\n";
    return 2;
  }
  std::vector<int> ids;
  if (!have_prompt) {
    auto parsed = ParseIds(a.prompt_ids);
    if (!parsed.ok()) {
      std::cerr << "error: " << parsed.status().message() << "\n";
      return 2;
    }
    ids = std::move(*parsed);
  }
  llm::ModelOptions options;
  options.max_context = a.context;
  options.lock = a.lock;
  options.num_threads = a.threads;
  options.kv_cache = a.f32_cache ? llm::KvCacheType::kF32 : llm::KvCacheType::kF16;
  auto model = llm::Model::Open(a.model, options);
  if (!model.ok()) return Fail("loading the model", model.status());
  auto vocab = llm::VocabFromGguf((*model)->gguf());
  if (!vocab.ok()) return Fail("reading the vocabulary", vocab.status());
  auto tokenizer = llm::Tokenizer::Create(*vocab);
  if (!tokenizer.ok()) return Fail("building the tokenizer", tokenizer.status());
  if (have_prompt) {
    llm::PromptOptions prompt_options;
    prompt_options.chat = a.chat;
    prompt_options.template_name = a.template_name;
    prompt_options.system = a.system;
    auto encoded = llm::EncodePrompt(*tokenizer, vocab->chat_template, a.prompt, prompt_options);
    if (!encoded.ok()) {
      // An unknown or undetectable template is a usage error: the message lists the names.
      const bool usage = encoded.status().code() == absl::StatusCode::kNotFound;
      std::cerr << "error: " << encoded.status().message() << "\n";
      return usage ? 2 : 1;
    }
    ids = std::move(*encoded);
  }

  llm::GenerateOptions gen;
  gen.max_new_tokens = a.max_tokens;
  gen.stop_tokens = llm::EndOfGenerationIds(*tokenizer);
  const auto start = std::chrono::steady_clock::now();
  // Stream each token's bytes as it arrives (llama.cpp's output: pieces appended as they are).
  auto out = llm::GenerateGreedy(**model, ids, gen, [&](int token) {
    if (auto piece = tokenizer->TokenToPiece(token); piece.ok()) std::cout << *piece << std::flush;
    return true;
  });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "\n";
  if (!out.ok()) return Fail("generating", out.status());
  std::cerr << "prompt_ids:";
  for (int id : ids) std::cerr << " " << id;
  std::cerr << "\nids:";
  for (int id : *out) std::cerr << " " << id;
  std::cerr << "\n"
            << out->size() << " tokens from a prompt of " << ids.size() << " in " << seconds
            << " s\n";
  return 0;
}

struct SynthArgs {
  std::string shape = "tiny";
  std::string type = "q8_0";
  std::string out;
  uint64_t seed = 1;
};

// Shapes of real models (their config.json), for random-weight benchmarks.
absl::StatusOr<llm::SynthSpec> ShapeSpec(const std::string& name) {
  llm::SynthSpec s;
  if (name == "tiny") return s;
  if (name == "smollm2-135m") {
    s.arch = llm::Architecture::kLlama;
    s.dim = 576, s.hidden_dim = 1536, s.num_layers = 30, s.num_heads = 9, s.num_kv_heads = 3;
    s.vocab_size = 49152, s.context_length = 8192, s.rope_freq_base = 100000.0f;
    s.tied_output = true;
    return s;
  }
  if (name == "qwen2.5-0.5b") {
    s.arch = llm::Architecture::kQwen2;
    s.dim = 896, s.hidden_dim = 4864, s.num_layers = 24, s.num_heads = 14, s.num_kv_heads = 2;
    s.vocab_size = 151936, s.context_length = 32768, s.rope_freq_base = 1000000.0f;
    s.tied_output = true;
    return s;
  }
  return absl::InvalidArgumentError("--shape must be tiny, smollm2-135m or qwen2.5-0.5b");
}

absl::StatusOr<llm::GgmlType> TypeArg(const std::string& name) {
  if (name == "f32") return llm::GgmlType::kF32;
  if (name == "f16") return llm::GgmlType::kF16;
  if (name == "bf16") return llm::GgmlType::kBF16;
  if (name == "q8_0") return llm::GgmlType::kQ8_0;
  if (name == "q4_0") return llm::GgmlType::kQ4_0;
  if (name == "q5_0") return llm::GgmlType::kQ5_0;
  return absl::InvalidArgumentError("--type must be f32, f16, bf16, q8_0, q4_0 or q5_0");
}

int RunSynth(const SynthArgs& a) {
  auto spec = ShapeSpec(a.shape);
  // q4_k_m is a mix (llama.cpp's Q4_K_M rules, SynthSpec::q4_k_m), not one tensor type.
  const bool k_mix = a.type == "q4_k_m";
  auto type = TypeArg(k_mix ? "q8_0" : a.type);
  if (!spec.ok() || !type.ok()) {
    std::cerr << "error: " << (spec.ok() ? type.status() : spec.status()).message() << "\n";
    return 2;
  }
  spec->type = *type;
  spec->q4_k_m = k_mix;
  spec->seed = a.seed;
  auto bytes = llm::SynthesizeModel(*spec);
  if (!bytes.ok()) return Fail("synthesizing", bytes.status());
  if (auto s = base::WriteFileAtomic(a.out, *bytes); !s.ok()) return Fail("writing -o", s);
  std::cerr << "wrote " << bytes->size() << " bytes to " << a.out << "\n";
  return 0;
}

// TerminalProgress returns a ProgressFn that redraws one line on stderr when stderr is a
// terminal (and does nothing otherwise, so logs and pipes stay clean).
llm::ProgressFn TerminalProgress(const std::string& verb) {
  if (::isatty(2) == 0) return {};
  return [verb](size_t done, size_t total, const std::string& what) {
    std::fprintf(stderr, "\r\033[K%s [%zu/%zu] %s", verb.c_str(), done, total, what.c_str());
    if (done == total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  };
}

struct QuantizeArgs {
  std::string in, out, type;
};

int RunQuantize(const QuantizeArgs& a) {
  auto type = llm::QuantizableType(a.type);
  if (!type.ok()) {
    std::cerr << "error: --type: " << type.status().message() << "\n";
    return 2;
  }
  auto mapped = llm::MappedFile::Open(a.in);
  if (!mapped.ok()) return Fail("opening the model", mapped.status());
  auto f = llm::GgufFile::Parse(mapped->bytes());
  if (!f.ok()) return Fail("reading GGUF", f.status());
  auto bytes = llm::QuantizeGguf(*f, *type, TerminalProgress("quantizing"));
  if (!bytes.ok()) return Fail("quantizing", bytes.status());
  if (auto s = base::WriteFileAtomic(a.out, *bytes); !s.ok()) return Fail("writing the output", s);
  std::cerr << "wrote " << bytes->size() << " bytes to " << a.out << "\n";
  return 0;
}

struct ConvertArgs {
  std::string checkpoint, tokenizer, out, type = "f32";
};

int RunConvert(const ConvertArgs& a) {
  auto type = llm::QuantizableType(a.type);
  if (!type.ok()) {
    std::cerr << "error: --type: " << type.status().message() << "\n";
    return 2;
  }
  auto ckpt = llm::MappedFile::Open(a.checkpoint);
  if (!ckpt.ok()) return Fail("opening the checkpoint", ckpt.status());
  auto tok = llm::MappedFile::Open(a.tokenizer);
  if (!tok.ok()) return Fail("opening the tokenizer", tok.status());
  auto bytes = llm::ConvertLlama2c(ckpt->bytes(), tok->bytes(), TerminalProgress("converting"));
  if (!bytes.ok()) return Fail("converting", bytes.status());
  if (*type != llm::GgmlType::kF32) {
    auto f = llm::GgufFile::Parse(*bytes);
    if (!f.ok()) return Fail("reading the converted GGUF", f.status());
    auto q = llm::QuantizeGguf(*f, *type, TerminalProgress("quantizing"));
    if (!q.ok()) return Fail("quantizing", q.status());
    *bytes = std::move(*q);
  }
  if (auto s = base::WriteFileAtomic(a.out, *bytes); !s.ok()) return Fail("writing -o", s);
  std::cerr << "wrote " << bytes->size() << " bytes to " << a.out << "\n";
  return 0;
}

}  // namespace

void AddModelCommands(CLI::App& app, std::function<int()>* run) {
  CLI::App* model = app.add_subcommand("model", "GGUF language models");
  model->require_subcommand(1);

  auto info_path = std::make_shared<std::string>();
  CLI::App* info = model->add_subcommand(
      "info", "Print a GGUF model's architecture, shapes, tensor types and vocabulary");
  info->add_option("model", *info_path, "GGUF file")->required();
  info->callback([run, info_path] { *run = [info_path] { return RunInfo(*info_path); }; });

  auto args = std::make_shared<RunArgs>();
  CLI::App* gen = model->add_subcommand(
      "run",
      "Generate greedily from a prompt until an end-of-generation token or -n; prints the text "
      "as it is produced (stdout) and the prompt and generated ids (stderr)");
  gen->add_option("-m,--model", args->model, "GGUF file")->required();
  CLI::Option* prompt = gen->add_option(
      "-p,--prompt", args->prompt,
      "Text prompt, tokenized with the model's own tokenizer (BOS as its vocabulary says)");
  gen->add_option("--prompt-ids", args->prompt_ids,
                  "Prompt as comma-separated token ids, BOS included (e.g. 1,403,407)");
  gen->add_flag("--chat", args->chat,
                "Send -p as a user turn in the model's chat template (control tokens in the "
                "text stay plain text)");
  gen->add_option("--template", args->template_name,
                  "Chat template to use instead of the model's: chatml, llama2, llama2-sys, "
                  "llama2-sys-bos, llama2-sys-strip, llama3, mistral-v1, mistral-v3, "
                  "mistral-v3-tekken, mistral-v7, phi3, gemma, zephyr");
  gen->add_option("--system", args->system, "System message (with --chat)");
  gen->add_option("-n,--max-tokens", args->max_tokens, "Tokens to generate at most")
      ->check(CLI::Range(1, 1 << 20));
  gen->add_option("--ctx", args->context, "Context length cap (KV cache positions)")
      ->check(CLI::Range(1, 1 << 20));
  gen->add_option("-t,--threads", args->threads, "Threads")->check(CLI::Range(1, 256));
  gen->add_flag("--f32-kv-cache", args->f32_cache, "Keep the KV cache in float32");
  gen->add_flag("--mlock", args->lock, "Lock the model in RAM (never swapped)");
  gen->callback([run, args, prompt] {
    const bool have_prompt = prompt->count() > 0;  // -p "" is a valid (empty) prompt
    *run = [args, have_prompt] { return RunGenerate(*args, have_prompt); };
  });

  auto synth_args = std::make_shared<SynthArgs>();
  CLI::App* synth = model->add_subcommand(
      "synth", "Write a random-weight GGUF with a real model's shape (for benchmarks and tests)");
  synth->add_option("--shape", synth_args->shape, "tiny, smollm2-135m or qwen2.5-0.5b");
  synth->add_option("--type", synth_args->type,
                    "f32, f16, bf16, q8_0, q4_0, q5_0 or q4_k_m (llama.cpp's Q4_K_M mix)");
  synth->add_option("--seed", synth_args->seed, "Random seed");
  synth->add_option("-o,--out", synth_args->out, "Output GGUF file")->required();
  synth->callback([run, synth_args] { *run = [synth_args] { return RunSynth(*synth_args); }; });

  auto quantize_args = std::make_shared<QuantizeArgs>();
  CLI::App* quantize = model->add_subcommand(
      "quantize",
      "Re-encode a GGUF model's F32/F16/BF16 matrices as another type (norms and other 1-D "
      "tensors stay F32, as llama.cpp keeps them)");
  quantize->add_option("input", quantize_args->in, "Input GGUF file")->required();
  quantize->add_option("output", quantize_args->out, "Output GGUF file")->required();
  quantize->add_option("--type", quantize_args->type, "q8_0, q4_0, q5_0, f16, bf16 or f32")
      ->required();
  quantize->callback(
      [run, quantize_args] { *run = [quantize_args] { return RunQuantize(*quantize_args); }; });

  auto convert_args = std::make_shared<ConvertArgs>();
  CLI::App* convert = model->add_subcommand(
      "convert", "Convert a llama2.c checkpoint and its tokenizer file into a GGUF model");
  convert->add_option("--llama2c", convert_args->checkpoint, "llama2.c checkpoint (legacy format)")
      ->required();
  convert->add_option("--tokenizer", convert_args->tokenizer, "llama2.c tokenizer file (tok*.bin)")
      ->required();
  convert->add_option("-o,--out", convert_args->out, "Output GGUF file")->required();
  convert->add_option("--type", convert_args->type,
                      "Matrix type of the output: f32 (default, as stored), f16, bf16, q8_0, "
                      "q4_0 or q5_0");
  convert->callback(
      [run, convert_args] { *run = [convert_args] { return RunConvert(*convert_args); }; });
}

}  // namespace confide::cli
