// confide encrypt / decrypt / model seal / kms call: the KMS client side of the CLI.
#ifndef CONFIDE_CLI_ENVELOPE_COMMANDS_H_
#define CONFIDE_CLI_ENVELOPE_COMMANDS_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace confide::cli {

// AddEnvelopeCommands adds `confide encrypt`, `confide decrypt`, and — when `app` already has the
// `model` and `kms` subcommands — `confide model seal` and `confide kms call`. The chosen
// command's action is stored in *run.
void AddEnvelopeCommands(CLI::App& app, std::function<int()>* run);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_ENVELOPE_COMMANDS_H_
