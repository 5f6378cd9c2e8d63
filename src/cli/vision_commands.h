// confide::cli `confide vision ...` commands.
#ifndef CONFIDE_CLI_VISION_COMMANDS_H_
#define CONFIDE_CLI_VISION_COMMANDS_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace confide::cli {

// AddVisionCommands registers `vision detect` on `app`. The chosen command's action is stored
// in `*run` and returns the exit code (0 ok, 1 failed, 2 usage).
void AddVisionCommands(CLI::App& app, std::function<int()>* run);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_VISION_COMMANDS_H_
