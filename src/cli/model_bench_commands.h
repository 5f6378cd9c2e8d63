// confide::cli `confide model bench`: decode speed and memory bandwidth of a GGUF model.
#ifndef CONFIDE_CLI_MODEL_BENCH_COMMANDS_H_
#define CONFIDE_CLI_MODEL_BENCH_COMMANDS_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace confide::cli {

// AddModelBenchCommands registers `model bench` under the `model` command (which
// AddModelCommands must have added first; otherwise it adds nothing). The action stored in
// `*run` returns 0 ok, 1 failed, 2 usage.
void AddModelBenchCommands(CLI::App& app, std::function<int()>* run);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_MODEL_BENCH_COMMANDS_H_
