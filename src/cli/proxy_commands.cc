#include "cli/proxy_commands.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <string>

#include "base/file.h"
#include "enclave/vsock.h"
#include "proxy/allowlist.h"
#include "proxy/vsock_proxy.h"

namespace confide::cli {
namespace {

struct ProxyArgs {
  uint32_t local_port = 0;
  std::string host;
  uint16_t port = 0;
  std::string config = "/etc/nitro_enclaves/vsock-proxy.yaml";
  size_t max_connections = 64;
  int idle_timeout_s = 60;
};

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

int Fail(const std::string& what, const absl::Status& s) {
  std::cerr << "error: " << what << ": " << s.message() << "\n";
  return 1;
}

int RunProxy(const ProxyArgs& a) {
  auto text = base::ReadFileBounded(a.config, proxy::kMaxAllowlistBytes);
  if (!text.ok()) return Fail("reading " + a.config, text.status());
  auto allowlist = proxy::ParseAllowlist(std::string(text->begin(), text->end()));
  if (!allowlist.ok()) return Fail(a.config, allowlist.status());
  auto transport = enclave::DefaultVsockTransport();
  if (!transport.ok()) return Fail("vsock", transport.status());
  proxy::VsockProxyOptions o;
  o.local_port = a.local_port;
  o.host = a.host;
  o.port = a.port;
  o.allowlist = std::move(*allowlist);
  o.max_connections = a.max_connections;
  o.idle_timeout = absl::Seconds(a.idle_timeout_s);
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  auto p = proxy::VsockProxy::Start(**transport, o);
  if (!p.ok()) return Fail("starting vsock-proxy", p.status());
  while (!g_stop.load()) ::usleep(100000);
  (*p)->Stop();
  return 0;
}

}  // namespace

void AddProxyCommands(CLI::App& app, std::function<int()>* run) {
  auto a = std::make_shared<ProxyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "vsock-proxy",
      "Forward connections to a parent vsock port to one TCP destination on the allowlist "
      "(Nitro's vsock-proxy YAML); refuses other destinations at start-up");
  cmd->add_option("local_port", a->local_port, "vsock port to listen on")->required();
  cmd->add_option("host", a->host, "Destination host")->required();
  cmd->add_option("port", a->port, "Destination port")->required();
  cmd->add_option("--config", a->config, "Allowlist YAML (default Nitro's path)");
  cmd->add_option("--max-connections", a->max_connections, "Concurrent connections (64)");
  cmd->add_option("--idle-timeout", a->idle_timeout_s, "Seconds before an idle connection closes");
  cmd->callback([run, a] { *run = [a] { return RunProxy(*a); }; });
}

}  // namespace confide::cli
