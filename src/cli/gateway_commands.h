// `confide gateway`: the parent's HTTP(S) front door to a pool of enclaves (sealed-path.md §2,
// docs/gateway.md).
#ifndef CONFIDE_CLI_GATEWAY_COMMANDS_H_
#define CONFIDE_CLI_GATEWAY_COMMANDS_H_

#include <functional>
#include <string>

#include "CLI/CLI.hpp"
#include "base/status.h"

namespace confide::cli {

// AddGatewayCommands registers `gateway --listen ADDR:PORT --enclave CID:PORT ...`.
void AddGatewayCommands(CLI::App& app, std::function<int()>* run);

// ParseListenAddress splits "host:port" or "[v6]:port" into host and port (0..65535).
// InvalidArgument otherwise.
absl::Status ParseListenAddress(const std::string& text, std::string* out_host, uint16_t* out_port);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_GATEWAY_COMMANDS_H_
