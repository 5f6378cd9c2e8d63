// confide::cli `confide chat` and `confide proxy`: the client side of the sealed path.
#ifndef CONFIDE_CLI_CHAT_COMMANDS_H_
#define CONFIDE_CLI_CHAT_COMMANDS_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace confide::cli {

// AddChatCommands registers `chat` (verify an enclave, then chat with it sealed) and `proxy`
// (a local OpenAI-compatible server forwarding sealed) on `app`. The chosen command's action is
// stored in `*run` and returns the exit code: 0 ok, 1 a failed check or request (the message
// names it), 2 usage.
void AddChatCommands(CLI::App& app, std::function<int()>* run);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_CHAT_COMMANDS_H_
