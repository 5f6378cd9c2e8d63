// confide::cli `confide model bench`: decode speed and memory bandwidth of a GGUF model.
#ifndef CONFIDE_CLI_MODEL_BENCH_COMMANDS_H_
#define CONFIDE_CLI_MODEL_BENCH_COMMANDS_H_

#include <functional>
#include <string>

#include "CLI/CLI.hpp"
#include "base/status.h"

namespace confide::cli {

// LlamaBenchFigures are llama.cpp's llama-bench results for one model: mean tokens/s of its
// prompt-processing test (n_prompt > 0, n_gen == 0) and of its generation test (n_prompt == 0,
// n_gen > 0), with their standard deviations, thread count and build.
struct LlamaBenchFigures {
  double pp_tps = 0, pp_stddev = 0;
  double tg_tps = 0, tg_stddev = 0;
  int pp_tokens = 0, tg_tokens = 0, threads = 0;
  std::string build;  // "<build_commit> (<build_number>)"
};

// ParseLlamaBenchJson reads llama-bench's `-o json` output (an array of test objects with
// n_prompt, n_gen, n_threads, avg_ts, stddev_ts, build_commit, build_number). InvalidArgument if
// it is not such an array or lacks the generation test (the prompt test is optional: pp_tokens
// stays 0 without it).
absl::StatusOr<LlamaBenchFigures> ParseLlamaBenchJson(const std::string& json);

// AddModelBenchCommands registers `model bench` under the `model` command (which
// AddModelCommands must have added first; otherwise it adds nothing). The action stored in
// `*run` returns 0 ok, 1 failed, 2 usage.
void AddModelBenchCommands(CLI::App& app, std::function<int()>* run);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_MODEL_BENCH_COMMANDS_H_
