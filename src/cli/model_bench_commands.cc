#include "cli/model_bench_commands.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "llm/kernels.h"
#include "llm/model.h"

namespace confide::cli {
namespace {

struct BenchArgs {
  std::string model;
  size_t threads = 1;
  size_t gen_tokens = 64;
  size_t prompt_tokens = 32;
  size_t bandwidth_mib = 512;
  bool portable = false;
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// ReadBandwidth returns the best of three passes, in bytes per second, of `threads` threads
// each summing its share of a `bytes` buffer (a STREAM-style read test; the sum is consumed so
// the reads cannot be optimised away).
double ReadBandwidth(size_t bytes, size_t threads) {
  const size_t words = bytes / sizeof(uint64_t);
  std::vector<uint64_t> buf(words);
  for (size_t i = 0; i < words; ++i) buf[i] = i * 0x9E3779B97F4A7C15ULL;
  std::vector<uint64_t> sums(threads * 8);  // a cache line apart
  double best = 0;
  for (int pass = 0; pass < 3; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const size_t begin = words * t / threads, end = words * (t + 1) / threads;
        uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        size_t i = begin;
        for (; i + 4 <= end; i += 4) {
          a0 += buf[i], a1 += buf[i + 1], a2 += buf[i + 2], a3 += buf[i + 3];
        }
        for (; i < end; ++i) a0 += buf[i];
        sums[t * 8] += a0 + a1 + a2 + a3;
      });
    }
    for (auto& th : pool) th.join();
    best = std::max(best, static_cast<double>(words * sizeof(uint64_t)) / Seconds(start));
  }
  uint64_t total = 0;
  for (uint64_t s : sums) total += s;
  if (total == 42) std::fprintf(stderr, " ");  // keeps the sums live
  return best;
}

// Argmax returns the index of the largest logit.
int Argmax(std::span<const float> logits) {
  return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

int RunBench(const BenchArgs& a) {
  llm::ForcePortableKernels(a.portable);
  llm::ModelOptions options;
  options.num_threads = a.threads;
  options.max_context = a.prompt_tokens + a.gen_tokens + 2;
  auto model = llm::Model::Open(a.model, options);
  if (!model.ok()) {
    std::cerr << "error: loading the model: " << model.status().message() << "\n";
    return 1;
  }
  llm::Model& m = **model;
  const llm::Config& c = m.config();
  // Bytes read per generated token: every weight tensor once, except the embedding table (one
  // row) unless it doubles as the output matrix.
  uint64_t weight_bytes = 0;
  for (const auto& t : m.gguf().tensors()) {
    if (t.name == "token_embd.weight" && !c.tied_output) continue;
    weight_bytes += t.size_bytes;
  }

  // Warm-up (page faults of the mapping, thread start): one token, not timed.
  auto warm = m.Forward(1, 0);
  if (!warm.ok()) {
    std::cerr << "error: forward: " << warm.status().message() << "\n";
    return 1;
  }
  // Prompt processing: tokens run one after another (no batched prompt path yet).
  auto start = std::chrono::steady_clock::now();
  size_t pos = 0;
  int next = 1;
  for (size_t i = 0; i < a.prompt_tokens; ++i, ++pos) {
    const int token = static_cast<int>((i * 7919 + 1) % c.vocab_size);
    auto logits = m.Forward(token, pos);
    if (!logits.ok()) {
      std::cerr << "error: forward: " << logits.status().message() << "\n";
      return 1;
    }
    next = Argmax(*logits);
  }
  const double pp_s = Seconds(start);
  start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < a.gen_tokens; ++i, ++pos) {
    auto logits = m.Forward(next, pos);
    if (!logits.ok()) {
      std::cerr << "error: forward: " << logits.status().message() << "\n";
      return 1;
    }
    next = Argmax(*logits);
  }
  const double tg_s = Seconds(start);
  const double pp_tps = a.prompt_tokens > 0 ? static_cast<double>(a.prompt_tokens) / pp_s : 0;
  const double tg_tps = a.gen_tokens > 0 ? static_cast<double>(a.gen_tokens) / tg_s : 0;
  const double used = static_cast<double>(weight_bytes) * tg_tps;
  const double bw = ReadBandwidth(a.bandwidth_mib << 20, a.threads);

  std::printf("model            %s\n", a.model.c_str());
  std::printf("threads          %zu\n", a.threads);
  std::printf("kernels          %s\n", llm::KernelSetName());
  std::printf("weights/token    %.1f MiB\n", static_cast<double>(weight_bytes) / (1 << 20));
  std::printf("prompt (pp%zu)    %.2f tok/s (sequential)\n", a.prompt_tokens, pp_tps);
  std::printf("generate (tg%zu)  %.2f tok/s\n", a.gen_tokens, tg_tps);
  std::printf("read bandwidth   %.2f GB/s measured (%zu MiB, %zu threads)\n", bw / 1e9,
              a.bandwidth_mib, a.threads);
  std::printf("generation reads %.2f GB/s = %.0f%% of the measured ceiling\n", used / 1e9,
              bw > 0 ? 100.0 * used / bw : 0.0);
  return 0;
}

}  // namespace

void AddModelBenchCommands(CLI::App& app, std::function<int()>* run) {
  CLI::App* model = nullptr;
  for (CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == "model") model = sub;
  }
  if (model == nullptr) return;
  auto args = std::make_shared<BenchArgs>();
  CLI::App* bench = model->add_subcommand(
      "bench", "Prompt and generation tokens/s and memory read bandwidth of a GGUF model");
  bench->add_option("-m,--model", args->model, "GGUF file")->required();
  bench->add_option("-t,--threads", args->threads, "Threads")->check(CLI::Range(1, 256));
  bench->add_option("-n,--tokens", args->gen_tokens, "Tokens to generate (default 64)")
      ->check(CLI::Range(1, 100000));
  bench
      ->add_option("-p,--prompt-tokens", args->prompt_tokens,
                   "Prompt tokens run first (default 32)")
      ->check(CLI::Range(0, 100000));
  bench
      ->add_option("--bandwidth-mib", args->bandwidth_mib,
                   "Buffer of the read-bandwidth test (default 512)")
      ->check(CLI::Range(16, 16384));
  bench->add_flag("--portable-kernels", args->portable,
                  "Use the portable kernels even where AVX2 ones exist (for comparison)");
  bench->callback([run, args] { *run = [args] { return RunBench(*args); }; });
}

}  // namespace confide::cli
