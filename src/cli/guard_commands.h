// confide::cli `confide guard ...` commands.
#ifndef CONFIDE_CLI_GUARD_COMMANDS_H_
#define CONFIDE_CLI_GUARD_COMMANDS_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace confide::cli {

// AddGuardCommands registers `guard apply|eval|digest` on `app`. The chosen command's action
// is stored in `*run` and returns the exit code.
void AddGuardCommands(CLI::App& app, std::function<int()>* run);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_GUARD_COMMANDS_H_
