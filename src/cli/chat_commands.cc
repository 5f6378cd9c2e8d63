#include "cli/chat_commands.h"

#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "cli/io.h"
#include "client/chat.h"
#include "client/http_transport.h"
#include "client/openai_proxy.h"
#include "client/sealed_session.h"
#include "client/trust_policy.h"
#include "http/http.h"

namespace confide::cli {
namespace {

struct GatewayArgs {
  std::string gateway;
  std::string trust;
  std::string ca;
  double timeout_s = 300;
};

struct ChatArgs {
  GatewayArgs g;
  std::string prompt;
  std::string system;
  std::string model;
  std::optional<int> max_tokens;
  std::optional<double> temperature;
  bool no_stream = false;
  bool json = false;
};

struct ClientProxyArgs {
  GatewayArgs g;
  std::string listen = "127.0.0.1:8080";
  bool allow_remote = false;
  int threads = 8;
};

int Fail(const absl::Status& s) {
  std::cerr << "error: " << s.message() << "\n";
  return 1;
}

void AddGatewayOptions(CLI::App* cmd, GatewayArgs& g) {
  cmd->add_option("--gateway", g.gateway, "Gateway URL (https://host:port)")->required();
  cmd->add_option("--trust", g.trust, "Trust policy JSON (docs/client.md)")->required();
  cmd->add_option("--ca", g.ca, "PEM CA bundle for the gateway's TLS certificate");
  cmd->add_option("--timeout", g.timeout_s, "Seconds per network read (default 300)");
}

absl::StatusOr<std::shared_ptr<client::SealedSession>> Connect(const GatewayArgs& g) {
  auto policy = client::LoadTrustPolicy(g.trust);
  if (!policy.ok()) return policy.status();
  for (const std::string& w : client::PolicyWarnings(*policy)) {
    std::cerr << "warning: " << w << "\n";
  }
  http::ClientOptions options;
  options.timeout = absl::Seconds(g.timeout_s);
  if (!g.ca.empty()) options.tls = http::TlsClientOptions{g.ca, ""};
  auto session = client::ConnectSession(g.gateway, *std::move(policy), options);
  if (!session.ok()) return session.status();
  return std::shared_ptr<client::SealedSession>(*std::move(session));
}

std::string ShortHex(const attest::PcrMap& pcrs, uint32_t i) {
  auto it = pcrs.find(i);
  if (it == pcrs.end()) return "-";
  return base::HexEncode(it->second).substr(0, 16) + "…";
}

void PrintEnclave(const client::Attestation& a) {
  const auto& doc = a.enclave.verified.document;
  std::cerr << "verified enclave " << doc.module_id << " (enclave " << a.enclave_id << ", key id "
            << static_cast<int>(a.key_config.key_id) << ", AEAD 0x" << std::hex
            << a.algorithm.aead_id << std::dec << ")\n"
            << "  document time " << FormatRfc3339(a.document_time) << "\n"
            << "  PCR0 " << ShortHex(doc.pcrs, 0) << "  PCR1 " << ShortHex(doc.pcrs, 1)
            << "\n  PCR2 " << ShortHex(doc.pcrs, 2) << "  PCR8 " << ShortHex(doc.pcrs, 8) << "\n";
  if (a.enclave.verified.simulation) {
    std::cerr << "  *** SIMULATION: this enclave is EMULATED (signed by a confide simulation "
                 "root). There is NO hardware isolation. Development only. ***\n";
  }
}

http::Request ChatHttpRequest(const std::vector<client::ChatMessage>& history, const ChatArgs& a) {
  http::Request r;
  r.method = "POST";
  r.target = "/v1/chat/completions";
  r.headers.Add("Content-Type", "application/json");
  client::ChatParams p;
  p.model = a.model;
  p.max_tokens = a.max_tokens;
  p.temperature = a.temperature;
  p.stream = !a.no_stream;
  r.body = client::ChatRequestBody(history, p);
  return r;
}

// InnerError describes a non-200 inner answer (its OpenAI error message when it has one).
absl::Status InnerError(int status, const std::string& body) {
  auto answer = client::ChatAnswer(body);
  std::string detail = answer.ok() ? "" : std::string(answer.status().message());
  return absl::FailedPreconditionError(
      absl::StrCat("the enclave answered HTTP ", status, detail.empty() ? "" : ": ", detail));
}

// Turn sends one chat turn and prints the answer; returns the answer text.
absl::StatusOr<std::string> Turn(client::SealedSession& session,
                                 const std::vector<client::ChatMessage>& history,
                                 const ChatArgs& a) {
  const http::Request req = ChatHttpRequest(history, a);
  if (a.no_stream) {
    ASSIGN_OR_RETURN(http::Response r, session.Send(req));
    if (a.json) {
      std::cout << r.body << std::endl;
      if (r.status != 200) return InnerError(r.status, r.body);
      return client::ChatAnswer(r.body);
    }
    if (r.status != 200) return InnerError(r.status, r.body);
    ASSIGN_OR_RETURN(std::string text, client::ChatAnswer(r.body));
    std::cout << text << std::endl;
    return text;
  }
  int status = 0;
  std::string error_body, text;
  client::ChatStreamDecoder decoder;
  absl::Status failed;
  absl::Status s = session.SendStreaming(
      req,
      [&](const http::Response& head) {
        status = head.status;
        return true;
      },
      [&](std::string_view piece) {
        if (status != 200) {
          constexpr size_t kMaxErrorBody = 64 * 1024;
          if (error_body.size() < kMaxErrorBody) {
            error_body.append(piece.substr(0, kMaxErrorBody - error_body.size()));
          }
          return true;
        }
        if (a.json) std::cout << piece << std::flush;
        auto delta = decoder.Feed(piece);
        if (!delta.ok()) {
          failed = delta.status();
          return false;
        }
        if (!a.json) std::cout << *delta << std::flush;
        text += *delta;
        return true;
      });
  if (!failed.ok()) return failed;
  RETURN_IF_ERROR(s);
  if (status != 200) return InnerError(status, error_body);
  if (!a.json) std::cout << std::endl;
  RETURN_IF_ERROR(decoder.Finish());
  return text;
}

int RunChat(const ChatArgs& a) {
  auto session = Connect(a.g);
  if (!session.ok()) return Fail(session.status());
  auto attested = (*session)->Attest();
  if (!attested.ok()) return Fail(attested.status());
  PrintEnclave(**attested);

  std::vector<client::ChatMessage> history;
  if (!a.system.empty()) history.push_back({"system", a.system});
  if (!a.prompt.empty()) {
    history.push_back({"user", a.prompt});
    auto r = Turn(**session, history, a);
    return r.ok() ? 0 : Fail(r.status());
  }
  // Interactive: one user message per line until EOF; the conversation is kept.
  std::string line;
  int rc = 0;
  while (true) {
    std::cerr << "> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    history.push_back({"user", line});
    auto r = Turn(**session, history, a);
    if (!r.ok()) {
      history.pop_back();
      rc = Fail(r.status());
      // A failed check of the sealed path ends the session; an inner error does not.
      if (!absl::StartsWith(r.status().message(), "the enclave answered") &&
          !absl::StartsWith(r.status().message(), "enclave:")) {
        return rc;
      }
      continue;
    }
    history.push_back({"assistant", *r});
  }
  std::cerr << "\n";
  return rc;
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

int RunClientProxy(const ClientProxyArgs& a) {
  const size_t colon = a.listen.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(a.listen.substr(colon + 1), &port) ||
      port > 65535) {
    std::cerr << "error: --listen must be HOST:PORT\n";
    return 2;
  }
  std::string host = a.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (!IsLoopback(host) && !a.allow_remote) {
    std::cerr << "error: --listen " << a.listen
              << " is not a loopback address: the proxy speaks plain HTTP and anyone who can "
                 "reach it can use it; pass --allow-remote to do so anyway\n";
    return 2;
  }
  auto session = Connect(a.g);
  if (!session.ok()) return Fail(session.status());

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  http::ServerOptions o;
  o.host = host;
  o.port = static_cast<uint16_t>(port);
  o.handler_threads = a.threads;
  o.max_body_bytes = 16 * 1024 * 1024;
  o.read_timeout = absl::Seconds(a.g.timeout_s);
  auto server = http::Server::Start(o, client::ProxyHandler(*session));
  if (!server.ok()) return Fail(server.status());
  std::cout << "proxy listening on http://"
            << (host.find(':') != std::string::npos ? absl::StrCat("[", host, "]") : host) << ":"
            << (*server)->port() << " (attestation on first use)" << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  (*server)->Stop();
  return 0;
}

}  // namespace

void AddChatCommands(CLI::App& app, std::function<int()>* run) {
  auto c = std::make_shared<ChatArgs>();
  CLI::App* chat = app.add_subcommand(
      "chat", "Chat with an attested enclave through a gateway (verifies, then seals with OHTTP)");
  AddGatewayOptions(chat, c->g);
  chat->add_option("-p,--prompt", c->prompt, "One prompt; without it, read lines from stdin");
  chat->add_option("--system", c->system, "A system message");
  chat->add_option("--model", c->model, "Model name (default: the enclave's)");
  chat->add_option("--max-tokens", c->max_tokens, "Maximum tokens to generate");
  chat->add_option("--temperature", c->temperature, "Sampling temperature");
  chat->add_flag("--no-stream", c->no_stream, "Wait for the whole answer");
  chat->add_flag("--json", c->json, "Print the raw inner response (JSON, or SSE when streaming)");
  chat->callback([run, c] { *run = [c] { return RunChat(*c); }; });

  auto p = std::make_shared<ClientProxyArgs>();
  CLI::App* proxy = app.add_subcommand(
      "proxy",
      "Serve an OpenAI-compatible API on localhost that forwards every request sealed to an "
      "attested enclave");
  AddGatewayOptions(proxy, p->g);
  proxy->add_option("--listen", p->listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
  proxy->add_flag("--allow-remote", p->allow_remote, "Allow a non-loopback --listen address");
  proxy->add_option("--threads", p->threads, "Concurrent requests (default 8)");
  proxy->callback([run, p] { *run = [p] { return RunClientProxy(*p); }; });
}

}  // namespace confide::cli
