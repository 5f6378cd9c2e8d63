#include "cli/gateway_commands.h"

#include <signal.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "enclave/vsock.h"
#include "gateway/gateway.h"

namespace confide::cli {
namespace {

struct GatewayArgs {
  std::string listen = "127.0.0.1:8443";
  std::vector<std::string> enclaves;
  std::string tls_cert;
  std::string tls_key;
  size_t max_inflight = 64;
  size_t max_queue = 256;
  double max_wait_s = 10;
  size_t max_body = gateway::kDefaultMaxBodyBytes;
  double timeout_s = 300;
  double health_interval_s = 5;
  std::string vsock_dir;
};

int Usage(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return 2;
}

int RunGateway(const GatewayArgs& a) {
  gateway::GatewayServerOptions o;
  absl::Status s = ParseListenAddress(a.listen, &o.host, &o.port);
  if (!s.ok()) return Usage(std::string(s.message()));
  if (a.enclaves.empty()) return Usage("at least one --enclave CID:PORT is required");
  for (const std::string& e : a.enclaves) {
    auto addr = enclave::ParseVsockAddress(e);
    if (!addr.ok()) return Usage("--enclave must be CID:PORT");
    o.enclaves.push_back(*addr);
  }
  if (a.tls_cert.empty() != a.tls_key.empty()) {
    return Usage("--tls-cert and --tls-key go together");
  }
  if (!a.tls_cert.empty()) o.tls = http::TlsServerOptions{a.tls_cert, a.tls_key};
  if (a.max_inflight < 1 || a.timeout_s <= 0 || a.health_interval_s <= 0 || a.max_wait_s < 0) {
    return Usage("--max-inflight, --timeout and --health-interval must be positive");
  }
  if (a.max_inflight + a.max_queue > gateway::kMaxHandlerThreads - gateway::kSpareHandlerThreads) {
    return Usage("--max-inflight + --max-queue may be at most 1016 (one thread each)");
  }
  o.gateway.admission.max_inflight = a.max_inflight;
  o.gateway.admission.max_queue = a.max_queue;
  o.gateway.admission.max_wait = absl::Seconds(a.max_wait_s);
  o.gateway.max_body_bytes = a.max_body;
  o.gateway.timeout = absl::Seconds(a.timeout_s);
  o.health_interval = absl::Seconds(a.health_interval_s);

  absl::StatusOr<std::unique_ptr<enclave::VsockTransport>> transport =
      a.vsock_dir.empty() ? enclave::DefaultVsockTransport()
                          : enclave::NewEmulatedVsockTransport(a.vsock_dir, enclave::kParentCid);
  if (!transport.ok()) {
    std::cerr << "error: vsock: " << transport.status().message() << "\n";
    return 1;
  }
  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto server = gateway::GatewayServer::Start(**transport, o);
  if (!server.ok()) {
    std::cerr << "error: starting the gateway: " << server.status().message() << "\n";
    return 1;
  }
  std::cerr << "gateway: " << (*server)->pool().RoutableCount() << " of " << o.enclaves.size()
            << " enclaves healthy" << std::endl;
  // The ready line (scripts wait for "listening on" and read the port after the last colon).
  std::cout << "gateway listening on " << (o.tls ? "https" : "http") << "://"
            << (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) << ":"
            << (*server)->port() << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  (*server)->Stop();
  return 0;
}

}  // namespace

absl::Status ParseListenAddress(const std::string& text, std::string* out_host,
                                uint16_t* out_port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError("--listen must be HOST:PORT");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError("--listen port must be 0..65535");
  }
  *out_host = host;
  *out_port = static_cast<uint16_t>(port);
  return absl::OkStatus();
}

void AddGatewayCommands(CLI::App& app, std::function<int()>* run) {
  auto a = std::make_shared<GatewayArgs>();
  CLI::App* cmd = app.add_subcommand(
      "gateway",
      "Serve the public API (attestation, OHTTP relay, metrics) in front of a pool of enclaves "
      "over vsock; the gateway only ever sees ciphertext. Runs until SIGTERM/SIGINT.");
  cmd->add_option("--listen", a->listen,
                  "ADDR:PORT to listen on (port 0: any; default "
                  "127.0.0.1:8443)");
  cmd->add_option("--enclave", a->enclaves, "Enclave vsock address CID:PORT (repeatable)")
      ->required();
  cmd->add_option("--tls-cert", a->tls_cert, "TLS certificate chain (PEM); serves HTTPS");
  cmd->add_option("--tls-key", a->tls_key, "TLS private key (PEM)");
  cmd->add_option("--max-inflight", a->max_inflight, "Forwarded requests at once (64)");
  cmd->add_option("--max-queue", a->max_queue, "Requests waiting for a slot, then 429 (256)");
  cmd->add_option("--max-wait", a->max_wait_s, "Seconds a request may queue (10)");
  cmd->add_option("--max-body", a->max_body, "Request body limit in bytes, then 413 (1048576)");
  cmd->add_option("--timeout", a->timeout_s,
                  "Per-request deadline in seconds, streams "
                  "included (300)");
  cmd->add_option("--health-interval", a->health_interval_s,
                  "Seconds between enclave health checks (5)");
  cmd->add_option("--vsock-dir", a->vsock_dir,
                  "Use the vsock emulation rooted here (as CID 3) instead of the default");
  cmd->callback([run, a] { *run = [a] { return RunGateway(*a); }; });
}

}  // namespace confide::cli
