#include "cli/kms_commands.h"

#include <signal.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/kms_bench.h"
#include "kms/server.h"

namespace confide::cli {
namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:4600";
  std::string tls_cert;
  std::string tls_key;
  kms::KmsServerConfig config;
};

int RunServe(ServeArgs& a) {
  size_t colon = a.listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "error: --listen must be HOST:PORT\n";
    return 2;
  }
  a.config.listen_host = a.listen.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(a.listen.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    std::cerr << "error: --listen port must be 0..65535\n";
    return 2;
  }
  a.config.listen_port = static_cast<uint16_t>(port);
  if (a.tls_cert.empty() != a.tls_key.empty()) {
    std::cerr << "error: --tls-cert and --tls-key go together\n";
    return 2;
  }
  if (!a.tls_cert.empty()) a.config.tls = http::TlsServerOptions{a.tls_cert, a.tls_key};
  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto server = kms::RunningKmsServer::Start(a.config);
  if (!server.ok()) {
    std::cerr << "error: " << server.status().message() << "\n";
    return 1;
  }
  std::cout << "kms listening on " << (a.config.tls ? "https://" : "http://")
            << a.config.listen_host << ":" << (*server)->port() << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  (*server)->Stop();
  return 0;
}

}  // namespace

void AddKmsCommands(CLI::App& app, std::function<int()>* run) {
  CLI::App* kms = app.add_subcommand("kms", "AWS-KMS-compatible key management service");
  auto args = std::make_shared<ServeArgs>();
  CLI::App* serve = kms->add_subcommand("serve", "Serve the AWS KMS JSON 1.1 protocol");
  serve->add_option("--listen", args->listen, "HOST:PORT to listen on (port 0: any)");
  serve
      ->add_option("--data-dir", args->config.data_dir,
                   "Directory for kms.db, root.key, audit.log (must exist)")
      ->required();
  serve
      ->add_option("--identities", args->config.identities_path,
                   "Identities file (TOML subset or JSON)")
      ->required();
  serve->add_option("--trust-root", args->config.trust_root_paths,
                    "Attestation root (PEM/DER) for Recipient documents; repeatable");
  serve->add_flag("--allow-simulation-root", args->config.allow_simulation_root,
                  "Accept a confide simulation root as --trust-root (testing only)");
  serve->add_option("--region", args->config.region, "Region in ARNs and SigV4 scopes");
  serve->add_option("--threads", args->config.threads, "I/O threads");
  serve->add_option("--handler-threads", args->config.handler_threads,
                    "Request threads (default 64; they share audit fdatasyncs)");
  serve->add_option("--tls-cert", args->tls_cert,
                    "PEM certificate chain (leaf first): serve HTTPS only (TLS 1.2+)");
  serve->add_option("--tls-key", args->tls_key, "PEM private key of --tls-cert");
  serve->callback([run, args] { *run = [args] { return RunServe(*args); }; });
  AddKmsBenchCommand(kms, run);
}

}  // namespace confide::cli
