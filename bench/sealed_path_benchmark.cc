// sealed_path_benchmark: what the sealed path (issue 7) adds to a request, measured against the
// same enclave API called in plaintext on loopback, in one process and one run.
//
// Sealed:    client::SealedSession (attested: simulation root, pinned PCRs) --HTTPS keep-alive-->
//            gateway::GatewayServer (TLS, admission, routing) --emulated vsock-->
//            http::Server over the vsock listener (as `confide-enclave serve`, app/runtime.cc)
//            --> app::EnclaveApp (OHTTP open, Binary HTTP) --> ApiService (stories260K)
// Plaintext: http::Client (keep-alive) --HTTP on 127.0.0.1--> http::Server --> the same
//            ApiService object (EnclaveApp::api()): no TLS, no OHTTP, no gateway, no vsock.
//
// Cases (sealed and plaintext requests alternate one by one, so both see the same load):
//   zero-token   GET /v1/models
//   64-token     POST /v1/chat/completions, max_tokens 64, temperature 0 (the tokens actually
//                generated are printed; /v1/completions is used if chat stops early)
//   streamed     the same with "stream": true: time to the first body piece and to the end
//   requests/s   GET /v1/models from 32 client threads for a fixed time; sealed with one
//                session per thread (each its own keep-alive TLS connection) and with one
//                session shared by all threads
//
// A plain main(), not Google Benchmark: the figures are medians and p90 of N requests.
//   sealed_path_benchmark [--n0 200] [--n64 20] [--nstream 10] [--threads 32] [--seconds 3]
//                         [--model PATH]
// The model comes from $CONFIDE_SHARED_DIR/models/stories260K.gguf (default: ../shared beside
// the repository); without it the program prints SKIP and exits 0. No timing is asserted.
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "app/enclave_app.h"
#include "app/runtime.h"
#include "attest/emulated_nsm.h"
#include "attest/nsm_client.h"
#include "attest/pcr.h"
#include "base/file.h"
#include "base/log.h"
#include "cli/tls_commands.h"
#include "client/http_transport.h"
#include "client/sealed_session.h"
#include "crypto/sha.h"
#include "enclave/vsock.h"
#include "gateway/gateway.h"
#include "http/http.h"
#include "nlohmann/json.hpp"

namespace {

using namespace confide;  // NOLINT: benchmark file
using Clock = std::chrono::steady_clock;
using nlohmann::json;

[[noreturn]] void Die(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "sealed_path_benchmark: %s: %s\n", what.c_str(),
               std::string(s.message()).c_str());
  std::exit(1);
}

template <typename T>
T Must(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Die(what, v.status());
  return *std::move(v);
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Stats {
  double median = 0;
  double p90 = 0;
};

Stats Summarize(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  s.p90 = v[std::min(v.size() - 1, static_cast<size_t>(0.9 * static_cast<double>(v.size())))];
  return s;
}

std::filesystem::path ModelPath() {
  const char* env = std::getenv("CONFIDE_SHARED_DIR");
  std::filesystem::path dir = env != nullptr && *env != '\0' ? env : CONFIDE_SHARED_DIR;
  return dir / "models" / "stories260K.gguf";
}

http::Request Get(const std::string& target) {
  http::Request r;
  r.method = "GET";
  r.target = target;
  return r;
}

http::Request PostJson(const std::string& target, const json& body) {
  http::Request r;
  r.method = "POST";
  r.target = target;
  r.headers.Set("Content-Type", "application/json");
  r.body = body.dump();
  return r;
}

// World is every component of both paths, in this process.
struct World {
  std::string dir;
  std::shared_ptr<attest::SimulationCa> ca;
  attest::PcrMap pcrs;
  std::unique_ptr<attest::EmulatedNsm> nsm;
  int nsm_fd = -1;
  std::thread nsm_thread;
  std::unique_ptr<attest::NsmClient> nsm_client;
  std::unique_ptr<app::EnclaveApp> app;
  std::unique_ptr<enclave::VsockTransport> enclave_transport;
  std::unique_ptr<http::Server> enclave_server;
  std::unique_ptr<enclave::VsockTransport> parent;
  std::unique_ptr<gateway::GatewayServer> gateway;
  std::string gateway_url;
  http::ClientOptions gateway_client;
  client::TrustPolicy policy;
  std::unique_ptr<http::Server> plain_server;

  void Start(const Bytes& model) {
    char tmpl[] = "/tmp/csealb-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    dir = tmpl;
    // The secure module, emulated, behind its descriptor protocol as in the enclave.
    ca = std::make_shared<attest::SimulationCa>(
        Must(attest::SimulationCa::Create(absl::Now()), "simulation CA"));
    for (uint32_t i = 0; i < 3; ++i) pcrs[i] = attest::MeasureBytes(Bytes{uint8_t(i)});
    nsm = std::make_unique<attest::EmulatedNsm>(ca, "i-bench-enc000000000000001", pcrs);
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
    nsm_fd = fds[1];
    nsm_thread = std::thread([this] { (void)attest::ServeNsm(*nsm, nsm_fd, absl::Now); });
    nsm_client = Must(attest::NewDescriptorNsmClient(fds[0]), "nsm client");

    // The enclave application with the model installed.
    constexpr uint32_t kCid = 16;
    app::EnclaveAppOptions ao;
    ao.config.model.name = "stories260K";
    ao.config.model.context = 512;
    ao.config.model.max_tokens = 256;
    ao.model_sha256 = crypto::Sha256(model);
    ao.local_cid = kCid;
    app = Must(app::EnclaveApp::Create(std::move(ao), nsm_client.get()), "enclave app");
    auto buf = Must(app::LockedBuffer::Create(model.size()), "locked buffer");
    std::copy(model.begin(), model.end(), buf.mutable_bytes().begin());
    if (absl::Status s = app->InstallModel(std::move(buf)); !s.ok()) Die("install model", s);

    // Its port 5000 API on the vsock emulation, served as `confide-enclave serve` does.
    enclave_transport = Must(enclave::NewEmulatedVsockTransport(dir, kCid), "enclave vsock");
    auto listener = std::make_shared<enclave::VsockListener>(
        Must(enclave_transport->Listen(app::kServePort), "vsock listen"));
    http::AcceptFn accept =
        [listener](absl::Duration timeout) -> absl::StatusOr<http::AcceptedConnection> {
      ASSIGN_OR_RETURN(enclave::VsockStream stream, listener->Accept(timeout));
      const int fd = ::dup(stream.fd());
      if (fd < 0) return absl::UnavailableError("vsock: dup failed");
      return http::AcceptedConnection{fd, stream.peer().ToString()};
    };
    http::ServerOptions so;
    so.threads = 2;
    so.handler_threads = 12;
    so.max_body_bytes = 2 * 1024 * 1024;
    app::EnclaveApp* raw = app.get();
    enclave_server =
        Must(http::Server::StartWithAcceptor(
                 accept, so,
                 [raw](const http::Request& r) { return app::ToHttpResponse(raw->Handle(r)); }),
             "enclave server");

    // The gateway on the parent side, HTTPS on loopback.
    cli::SelfSignedTlsOptions to;
    to.out_dir = dir + "/tls";
    to.hosts = {"localhost"};
    to.ips = {"127.0.0.1"};
    std::filesystem::create_directories(to.out_dir);
    if (absl::Status s = cli::WriteSelfSignedTls(to, absl::Now()); !s.ok()) Die("tls", s);
    parent = Must(enclave::NewEmulatedVsockTransport(dir, enclave::kParentCid), "parent vsock");
    gateway::GatewayServerOptions go;
    go.enclaves = {{kCid, app::kServePort}};
    go.tls = http::TlsServerOptions{to.out_dir + "/cert.pem", to.out_dir + "/key.pem"};
    gateway = Must(gateway::GatewayServer::Start(*parent, go), "gateway");
    gateway_url = absl::StrCat("https://127.0.0.1:", gateway->port(), "/");
    gateway_client.tls = http::TlsClientOptions{to.out_dir + "/ca.pem", "localhost"};
    policy.roots = {ca->RootDer()};
    policy.allow_simulation_root = true;
    policy.pcrs = pcrs;

    // The plaintext baseline: the same ApiService on plain HTTP.
    std::shared_ptr<app::ApiService> api = app->api();
    if (api == nullptr) Die("api", absl::InternalError("no ApiService after InstallModel"));
    http::ServerOptions po;
    po.threads = 2;
    po.handler_threads = 12;
    plain_server =
        Must(http::Server::Start(
                 po, [api](const http::Request& r) { return app::ToHttpResponse(api->Handle(r)); }),
             "plaintext server");
  }

  std::unique_ptr<client::SealedSession> Session() {
    auto s = Must(client::ConnectSession(gateway_url, policy, gateway_client), "session");
    if (auto a = s->Attest(); !a.ok()) Die("attest", a.status());
    return s;
  }

  ~World() {
    plain_server.reset();
    gateway.reset();
    enclave_server.reset();
    app.reset();
    nsm_client.reset();
    if (nsm_thread.joinable()) nsm_thread.join();
    if (nsm_fd >= 0) ::close(nsm_fd);
    std::filesystem::remove_all(dir);
  }
};

using Call = std::function<absl::StatusOr<http::Response>(const http::Request&)>;

// Paired runs `n` rounds of (sealed, plaintext) after `warmup` rounds; returns latencies in ms.
void Paired(const Call& sealed, const Call& plain, const http::Request& req, int warmup, int n,
            std::vector<double>* s_ms, std::vector<double>* p_ms) {
  for (int i = 0; i < warmup + n; ++i) {
    for (int which = 0; which < 2; ++which) {
      const Call& call = which == 0 ? sealed : plain;
      const auto t0 = Clock::now();
      auto r = call(req);
      const double ms = Ms(Clock::now() - t0);
      if (!r.ok()) Die(which == 0 ? "sealed request" : "plaintext request", r.status());
      if (r->status != 200) {
        Die(which == 0 ? "sealed request" : "plaintext request",
            absl::InternalError(absl::StrCat("HTTP ", r->status)));
      }
      if (i >= warmup) (which == 0 ? s_ms : p_ms)->push_back(ms);
    }
  }
}

int CompletionTokens(const http::Response& r) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("usage")) return -1;
  return j["usage"].value("completion_tokens", -1);
}

struct StreamTimes {
  double first_ms = 0;
  double total_ms = 0;
};

using StreamCall = std::function<absl::Status(const http::Request&, const client::HeadCallback&,
                                              const client::BodyCallback&)>;

// CarriesText tells whether an SSE piece holds a non-empty chat delta or completion text.
bool CarriesText(std::string_view piece) {
  for (std::string_view key :
       {std::string_view("\"content\":\""), std::string_view("\"text\":\"")}) {
    for (size_t at = piece.find(key); at != std::string_view::npos; at = piece.find(key, at + 1)) {
      const size_t next = at + key.size();
      if (next < piece.size() && piece[next] != '"') return true;
    }
  }
  return false;
}

StreamTimes StreamOnce(const StreamCall& call, const http::Request& req) {
  StreamTimes t;
  bool first = true;
  const auto t0 = Clock::now();
  absl::Status s = call(
      req, [](const http::Response& head) { return head.status == 200; },
      [&](std::string_view piece) {
        // The first piece carrying generated text (the role-only opening chunk does not).
        if (first && CarriesText(piece)) {
          t.first_ms = Ms(Clock::now() - t0);
          first = false;
        }
        return true;
      });
  t.total_ms = Ms(Clock::now() - t0);
  if (!s.ok()) Die("stream", s);
  if (first) t.first_ms = t.total_ms;
  return t;
}

// Throughput runs `threads` threads calling `call(thread_index)` for `seconds`; requests/s.
double Throughput(int threads, double seconds, const std::function<bool(int)>& call,
                  int* failures) {
  std::atomic<bool> stop{false};
  std::atomic<long> done{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> pool;
  const auto t0 = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      while (!stop.load()) {
        if (call(t)) {
          done.fetch_add(1);
        } else {
          failed.fetch_add(1);
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  *failures = failed.load();
  return static_cast<double>(done.load()) / elapsed;
}

int IntFlag(int argc, char** argv, const char* name, int def) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  }
  return def;
}

void Row(const char* name, const Stats& s, const Stats& p) {
  std::printf("%-28s %9.2f %9.2f %9.2f %9.2f %9.2f %8.3fx\n", name, s.median, s.p90, p.median,
              p.p90, s.median - p.median, p.median > 0 ? s.median / p.median : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  const int n0 = IntFlag(argc, argv, "--n0", 200);
  const int n64 = IntFlag(argc, argv, "--n64", 20);
  const int nstream = IntFlag(argc, argv, "--nstream", 10);
  const int threads = IntFlag(argc, argv, "--threads", 32);
  const int seconds = IntFlag(argc, argv, "--seconds", 3);
  // --model PATH measures another GGUF (e.g. `confide model synth` of a production-sized shape:
  // the fixed cost of the seal is then a far smaller share of a 64-token request).
  std::filesystem::path model_path = ModelPath();
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--model") == 0) model_path = argv[i + 1];
  }
  if (!std::filesystem::exists(model_path)) {
    std::printf("SKIP: %s is absent (set CONFIDE_SHARED_DIR)\n", model_path.c_str());
    return 0;
  }
  log::SetLevel(log::Level::kError);
  const Bytes model =
      Must(base::ReadFileBounded(model_path.string(), size_t{4} << 30), "read model");

  World w;
  w.Start(model);
  std::unique_ptr<client::SealedSession> session = w.Session();
  http::Client plain("127.0.0.1", w.plain_server->port());
  Call sealed_call = [&](const http::Request& r) { return session->Send(r); };
  Call plain_call = [&](const http::Request& r) { return plain.Send(r); };

  // The 64-token request: chat if it runs 64 tokens, else a plain completion.
  json chat = {{"messages", json::array({{{"role", "user"}, {"content", "Tell me a story."}}})},
               {"max_tokens", 64},
               {"temperature", 0}};
  std::string gen_target = "/v1/chat/completions";
  json gen_body = chat;
  int tokens = CompletionTokens(Must(plain.Send(PostJson(gen_target, gen_body)), "probe chat"));
  if (tokens != 64) {
    gen_target = "/v1/completions";
    gen_body = {{"prompt", "Once upon a time"}, {"max_tokens", 64}, {"temperature", 0}};
    tokens = CompletionTokens(Must(plain.Send(PostJson(gen_target, gen_body)), "probe"));
  }
  const int sealed_tokens =
      CompletionTokens(Must(session->Send(PostJson(gen_target, gen_body)), "sealed probe"));

  std::vector<double> s0, p0, s64, p64;
  Paired(sealed_call, plain_call, Get("/v1/models"), 20, n0, &s0, &p0);
  Paired(sealed_call, plain_call, PostJson(gen_target, gen_body), 2, n64, &s64, &p64);

  // Streamed.
  json stream_body = gen_body;
  stream_body["stream"] = true;
  const http::Request stream_req = PostJson(gen_target, stream_body);
  StreamCall sealed_stream = [&](const http::Request& r, const client::HeadCallback& h,
                                 const client::BodyCallback& b) {
    return session->SendStreaming(r, h, b);
  };
  StreamCall plain_stream = [&](const http::Request& r, const client::HeadCallback& h,
                                const client::BodyCallback& b) {
    return plain.SendStreaming(r, h, b);
  };
  std::vector<double> sf, st, pf, pt;
  for (int i = 0; i < 1 + nstream; ++i) {
    StreamTimes a = StreamOnce(sealed_stream, stream_req);
    StreamTimes b = StreamOnce(plain_stream, stream_req);
    if (i == 0) continue;  // warm-up
    sf.push_back(a.first_ms);
    st.push_back(a.total_ms);
    pf.push_back(b.first_ms);
    pt.push_back(b.total_ms);
  }

  // Requests/s with `threads` concurrent clients.
  std::vector<std::unique_ptr<client::SealedSession>> sessions;
  std::vector<std::unique_ptr<http::Client>> plains;
  for (int t = 0; t < threads; ++t) {
    sessions.push_back(w.Session());
    plains.push_back(std::make_unique<http::Client>("127.0.0.1", w.plain_server->port()));
  }
  const http::Request models = Get("/v1/models");
  auto ok = [](const absl::StatusOr<http::Response>& r) { return r.ok() && r->status == 200; };
  int f_plain = 0, f_sealed = 0, f_shared = 0;
  // Warm every connection first.
  (void)Throughput(
      threads, 0.5, [&](int t) { return ok(plains[t]->Send(models)); }, &f_plain);
  (void)Throughput(
      threads, 0.5, [&](int t) { return ok(sessions[t]->Send(models)); }, &f_sealed);
  const double rps_plain = Throughput(
      threads, seconds, [&](int t) { return ok(plains[t]->Send(models)); }, &f_plain);
  const double rps_sealed = Throughput(
      threads, seconds, [&](int t) { return ok(sessions[t]->Send(models)); }, &f_sealed);
  const double rps_shared = Throughput(
      threads, seconds, [&](int) { return ok(session->Send(models)); }, &f_shared);

  std::printf(
      "\nsealed path vs plaintext (same ApiService), ms; added = sealed - plaintext "
      "medians\n");
  std::printf("generation: %s, completion_tokens plaintext %d, sealed %d\n", gen_target.c_str(),
              tokens, sealed_tokens);
  std::printf("%-28s %9s %9s %9s %9s %9s %9s\n", "case", "sealed", "p90", "plain", "p90", "added",
              "ratio");
  Row(absl::StrCat("zero-token GET /v1/models n=", n0).c_str(), Summarize(s0), Summarize(p0));
  Row(absl::StrCat("64-token n=", n64).c_str(), Summarize(s64), Summarize(p64));
  Row(absl::StrCat("streamed first token n=", nstream).c_str(), Summarize(sf), Summarize(pf));
  Row(absl::StrCat("streamed total n=", nstream).c_str(), Summarize(st), Summarize(pt));
  std::printf("%-28s %9s %9s %9s\n", "requests/s GET /v1/models", "sealed", "plain", "ratio");
  std::printf("%-28s %9.0f %9.0f %8.3fx  (failures %d/%d)\n",
              absl::StrCat(threads, " thr, session each").c_str(), rps_sealed, rps_plain,
              rps_sealed / rps_plain, f_sealed, f_plain);
  std::printf("%-28s %9.0f %9.0f %8.3fx  (failures %d)\n",
              absl::StrCat(threads, " thr, one session").c_str(), rps_shared, rps_plain,
              rps_shared / rps_plain, f_shared);
  const Stats a0 = Summarize(s0), b0 = Summarize(p0), a64 = Summarize(s64), b64 = Summarize(p64);
  std::printf("goal <= 1 ms added (zero-token): %.2f ms, %s\n", a0.median - b0.median,
              a0.median - b0.median <= 1.0 ? "met" : "NOT met");
  std::printf("goal <= 1 ms added (64-token):   %.2f ms, %s\n", a64.median - b64.median,
              a64.median - b64.median <= 1.0 ? "met" : "NOT met");
  const double pct = (a64.median / b64.median - 1) * 100;
  std::printf("goal <= 3%% on 64-token:          %+.2f%%, %s\n", pct,
              pct <= 3.0 ? "met" : "NOT met");
  return 0;
}
