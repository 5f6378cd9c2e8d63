// confide kms: the KMS server command.
#ifndef CONFIDE_CLI_KMS_COMMANDS_H_
#define CONFIDE_CLI_KMS_COMMANDS_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace confide::cli {

// AddKmsCommands adds `confide kms serve` to `app`; the chosen command's action is stored in
// *run.
void AddKmsCommands(CLI::App& app, std::function<int()>* run);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_KMS_COMMANDS_H_
