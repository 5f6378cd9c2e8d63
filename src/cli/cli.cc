#include "cli/cli.h"

#include <functional>
#include <iostream>

#include "CLI/CLI.hpp"
#include "cli/attest_commands.h"
#include "cli/audit_commands.h"
#include "cli/chat_commands.h"
#include "cli/enclave_commands.h"
#include "cli/envelope_commands.h"
#include "cli/gateway_commands.h"
#include "cli/guard_commands.h"
#include "cli/kms_commands.h"
#include "cli/model_bench_commands.h"
#include "cli/model_commands.h"
#include "cli/model_pull.h"
#include "cli/proxy_commands.h"
#include "cli/tls_commands.h"
#include "cli/vision_commands.h"

namespace confide::cli {

int RunConfide(int argc, char** argv) {
  CLI::App app{"confide: confidential AI inference with attested enclaves"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "confide 0.1.0");
  std::function<int()> run;
  AddAttestCommands(app, &run);
  AddAuditCommands(app, &run);
  AddChatCommands(app, &run);
  AddEnclaveCommands(app, &run);
  AddModelCommands(app, &run);
  AddModelBenchCommands(app, &run);
  AddModelPullCommands(app, &run);
  AddGuardCommands(app, &run);
  AddProxyCommands(app, &run);
  AddGatewayCommands(app, &run);
  AddKmsCommands(app, &run);
  AddVisionCommands(app, &run);
  AddTlsCommands(app, &run);
  AddEnvelopeCommands(app, &run);  // after model and kms: adds `model seal` and `kms call`
  // CLI11 reports usage errors by throwing; this is the boundary where we catch them.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (!run) {
    std::cerr << app.help();
    return 2;
  }
  return run();
}

}  // namespace confide::cli
