// confide::cli `confide attest ...` commands.
#ifndef CONFIDE_CLI_ATTEST_COMMANDS_H_
#define CONFIDE_CLI_ATTEST_COMMANDS_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace confide::cli {

// AddAttestCommands registers `attest verify|measure|sim-ca|emulate` on `app`. The chosen
// command's action is stored in `*run` and returns the exit code.
void AddAttestCommands(CLI::App& app, std::function<int()>* run);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_ATTEST_COMMANDS_H_
