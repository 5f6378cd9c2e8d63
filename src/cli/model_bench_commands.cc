#include "cli/model_bench_commands.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "llm/kernels.h"
#include "llm/model.h"
#include "nlohmann/json.hpp"

namespace confide::cli {
namespace {

struct BenchArgs {
  std::string model;
  size_t threads = 1;
  size_t gen_tokens = 64;
  size_t prompt_tokens = 32;
  size_t repetitions = 3;
  size_t batch_size = 64;
  size_t bandwidth_mib = 512;
  bool portable = false;
  std::string baseline;  // llama-bench executable, or empty
};

// kMaxBaselineOutput caps what is read from llama-bench's stdout.
constexpr size_t kMaxBaselineOutput = 1 << 20;

// MeanStd is the mean and sample standard deviation of some tokens/s figures.
struct MeanStd {
  double mean = 0, stddev = 0;
};

MeanStd Summarise(const std::vector<double>& v) {
  MeanStd m;
  if (v.empty()) return m;
  for (double x : v) m.mean += x;
  m.mean /= static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - m.mean) * (x - m.mean);
    m.stddev = std::sqrt(ss / static_cast<double>(v.size() - 1));
  }
  return m;
}

// LoadAverage returns the 1-minute load average (/proc/loadavg), or -1.
double LoadAverage() {
  std::ifstream f("/proc/loadavg");
  double one = -1;
  if (!(f >> one)) return -1;
  return one;
}

// RunCapture runs `argv` (argv[0] looked up in PATH when it has no slash) with stdin and stderr
// on /dev/null and returns its stdout (at most kMaxBaselineOutput bytes). Internal if it cannot
// start, FailedPrecondition if it exits non-zero or dies.
absl::StatusOr<std::string> RunCapture(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      ::dup2(null_fd, 0);
      ::dup2(null_fd, 2);
    }
    ::dup2(fds[1], 1);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() < kMaxBaselineOutput) out.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    return absl::FailedPreconditionError(absl::StrCat("could not run ", argv[0]));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(argv[0], " failed (status ", status, ")"));
  }
  return out;
}

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
  options.max_context = std::max(a.prompt_tokens, a.gen_tokens) + 2;
  options.batch_size = a.batch_size;
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
  auto fail = [](const absl::Status& s) {
    std::cerr << "error: forward: " << s.message() << "\n";
    return 1;
  };

  // Warm-up (page faults of the mapping, thread start): one token, not timed.
  if (auto warm = m.Forward(1, 0); !warm.ok()) return fail(warm.status());
  // As llama-bench: the prompt test runs P tokens from an empty context (here as a matrix,
  // batch_size tokens per step), the generation test N tokens one at a time from an empty
  // context; each is repeated and the mean and standard deviation reported.
  const double load_ours = LoadAverage();
  std::vector<int> prompt(a.prompt_tokens);
  for (size_t i = 0; i < prompt.size(); ++i) {
    prompt[i] = static_cast<int>((i * 7919 + 1) % c.vocab_size);
  }
  std::vector<double> pp, tg;
  for (size_t r = 0; r < a.repetitions; ++r) {
    if (!prompt.empty()) {
      const auto start = std::chrono::steady_clock::now();
      if (auto l = m.ForwardBatch(prompt, 0); !l.ok()) return fail(l.status());
      pp.push_back(static_cast<double>(prompt.size()) / Seconds(start));
    }
    const auto start = std::chrono::steady_clock::now();
    int next = 1;
    for (size_t i = 0; i < a.gen_tokens; ++i) {
      auto logits = m.Forward(next, i);
      if (!logits.ok()) return fail(logits.status());
      next = Argmax(*logits);
    }
    tg.push_back(static_cast<double>(a.gen_tokens) / Seconds(start));
  }
  const MeanStd pp_s = Summarise(pp), tg_s = Summarise(tg);
  const double used = static_cast<double>(weight_bytes) * tg_s.mean;
  const double bw = ReadBandwidth(a.bandwidth_mib << 20, a.threads);

  std::printf("model            %s\n", a.model.c_str());
  std::printf("threads          %zu\n", a.threads);
  std::printf("kernels          %s\n", llm::KernelSetName());
  std::printf("load average     %.2f (1 min, before the run)\n", load_ours);
  std::printf("weights/token    %.1f MiB\n", static_cast<double>(weight_bytes) / (1 << 20));
  if (!pp.empty()) {
    std::printf("prompt (pp%zu)    %.2f +- %.2f tok/s (%zu tokens per step, %zu runs)\n",
                a.prompt_tokens, pp_s.mean, pp_s.stddev, a.batch_size, pp.size());
  }
  std::printf("generate (tg%zu)  %.2f +- %.2f tok/s (%zu runs)\n", a.gen_tokens, tg_s.mean,
              tg_s.stddev, tg.size());
  std::printf("read bandwidth   %.2f GB/s measured (%zu MiB, %zu threads)\n", bw / 1e9,
              a.bandwidth_mib, a.threads);
  std::printf("generation reads %.2f GB/s = %.0f%% of the measured ceiling\n", used / 1e9,
              bw > 0 ? 100.0 * used / bw : 0.0);
  std::fflush(stdout);
  if (a.baseline.empty()) return 0;

  // The same model, thread count, lengths and repetitions through llama.cpp's llama-bench.
  const double load_base = LoadAverage();
  auto out = RunCapture({a.baseline, "-m", a.model, "-t", std::to_string(a.threads), "-p",
                         std::to_string(a.prompt_tokens), "-n", std::to_string(a.gen_tokens), "-r",
                         std::to_string(a.repetitions), "-o", "json"});
  if (!out.ok()) {
    std::cerr << "error: llama-bench: " << out.status().message() << "\n";
    return 1;
  }
  auto base = ParseLlamaBenchJson(*out);
  if (!base.ok()) {
    std::cerr << "error: llama-bench output: " << base.status().message() << "\n";
    return 1;
  }
  std::printf("llama-bench      %s (build %s, %d threads)\n", a.baseline.c_str(),
              base->build.c_str(), base->threads);
  std::printf("load average     %.2f (1 min, before llama-bench)\n", load_base);
  if (base->pp_tokens > 0) {
    std::printf("llama.cpp pp%d   %.2f +- %.2f tok/s\n", base->pp_tokens, base->pp_tps,
                base->pp_stddev);
  }
  std::printf("llama.cpp tg%d   %.2f +- %.2f tok/s\n", base->tg_tokens, base->tg_tps,
              base->tg_stddev);
  if (!pp.empty() && base->pp_tps > 0) {
    std::printf("ratio pp         %.2fx (confide / llama.cpp)\n", pp_s.mean / base->pp_tps);
  }
  if (base->tg_tps > 0) {
    std::printf("ratio tg         %.2fx (confide / llama.cpp)\n", tg_s.mean / base->tg_tps);
  }
  return 0;
}

}  // namespace

absl::StatusOr<LlamaBenchFigures> ParseLlamaBenchJson(const std::string& json) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array()) {
    return absl::InvalidArgumentError("llama-bench output is not a JSON array");
  }
  LlamaBenchFigures f;
  bool have_tg = false;
  for (const nlohmann::json& test : doc) {
    if (!test.is_object()) return absl::InvalidArgumentError("llama-bench test is not an object");
    auto number = [&](const char* key, double* out) {
      auto it = test.find(key);
      if (it == test.end() || !it->is_number()) return false;
      *out = it->get<double>();
      return true;
    };
    double n_prompt = 0, n_gen = 0, avg = 0, stddev = 0, threads = 0, build_number = 0;
    if (!number("n_prompt", &n_prompt) || !number("n_gen", &n_gen) || !number("avg_ts", &avg) ||
        !number("stddev_ts", &stddev)) {
      return absl::InvalidArgumentError(
          "llama-bench test lacks n_prompt, n_gen, avg_ts or stddev_ts");
    }
    number("n_threads", &threads);
    number("build_number", &build_number);
    if (auto it = test.find("build_commit"); it != test.end() && it->is_string()) {
      f.build = absl::StrCat(it->get<std::string>(), " (", static_cast<int64_t>(build_number), ")");
    }
    f.threads = static_cast<int>(threads);
    if (n_prompt > 0 && n_gen == 0) {
      f.pp_tps = avg, f.pp_stddev = stddev, f.pp_tokens = static_cast<int>(n_prompt);
    } else if (n_prompt == 0 && n_gen > 0) {
      f.tg_tps = avg, f.tg_stddev = stddev, f.tg_tokens = static_cast<int>(n_gen);
      have_tg = true;
    }
  }
  if (!have_tg) {
    return absl::InvalidArgumentError("llama-bench output lacks a generation test");
  }
  return f;
}

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
                   "Tokens of the prompt test, 0 to skip it (default 32)")
      ->check(CLI::Range(0, 100000));
  bench
      ->add_option("--bandwidth-mib", args->bandwidth_mib,
                   "Buffer of the read-bandwidth test (default 512)")
      ->check(CLI::Range(16, 16384));
  bench->add_option("-r,--repetitions", args->repetitions, "Runs of each test (default 3)")
      ->check(CLI::Range(1, 100));
  bench
      ->add_option("-b,--batch-size", args->batch_size,
                   "Prompt tokens run through the layers together (default 64)")
      ->check(CLI::Range(1, 512));
  bench
      ->add_option("--baseline-llama-bench", args->baseline,
                   "llama.cpp's llama-bench executable: run it on the same model, threads and "
                   "lengths in the same run and print both figures and the ratios (default: "
                   "$CONFIDE_LLAMA_BENCH)")
      ->envname("CONFIDE_LLAMA_BENCH");
  bench->add_flag("--portable-kernels", args->portable,
                  "Use the portable kernels even where AVX2 ones exist (for comparison)");
  bench->callback([run, args] { *run = [args] { return RunBench(*args); }; });
}

}  // namespace confide::cli
