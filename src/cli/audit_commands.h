// confide::cli `confide audit ...` commands.
#ifndef CONFIDE_CLI_AUDIT_COMMANDS_H_
#define CONFIDE_CLI_AUDIT_COMMANDS_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace confide::cli {

// AddAuditCommands registers `audit verify` on `app`.
void AddAuditCommands(CLI::App& app, std::function<int()>* run);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_AUDIT_COMMANDS_H_
