// `confide vsock-proxy`: forward an enclave's vsock connections to one allowlisted TCP
// destination (AWS Nitro's vsock-proxy).
#ifndef CONFIDE_CLI_PROXY_COMMANDS_H_
#define CONFIDE_CLI_PROXY_COMMANDS_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace confide::cli {

// AddProxyCommands registers `vsock-proxy LOCAL_PORT HOST PORT --config allowlist.yaml`.
void AddProxyCommands(CLI::App& app, std::function<int()>* run);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_PROXY_COMMANDS_H_
