// http_tls_benchmark: confide::http over TLS next to plaintext HTTP measured in the same run,
// printed as ratios.
//
// Cases (server and client in one process, loopback TCP):
//   req/plain, req/tls        POST / with a 256-byte body -> 2-byte JSON, one keep-alive
//                             connection (requests/s)
//   conn/plain, conn/tls      a fresh connection (TCP connect, TLS handshake) + one request
//   chunk/plain, chunk/tls    one chunk of a streamed response, ping-pong: the client's
//                             on_body releases the producer, which writes the next chunk; the
//                             time per chunk is handler-thread wake-up + write + read
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/file.h"
#include "crypto/ecdsa.h"
#include "crypto/x509.h"
#include "http/http.h"

namespace {

using namespace confide;  // NOLINT: benchmark file

// Pki is a CA and a P-256 server certificate for 127.0.0.1 in a temporary directory.
struct Pki {
  std::string dir;
  Pki() {
    char tmpl[] = "/tmp/confide-http-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    dir = tmpl;
    crypto::CertificateSpec ca_spec;
    ca_spec.subject.common_name = "bench CA";
    ca_spec.not_before = absl::Now() - absl::Hours(1);
    ca_spec.not_after = absl::Now() + absl::Hours(24);
    ca_spec.is_ca = true;
    auto ca_key = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384);
    auto ca = crypto::CreateSelfSignedCertificate(ca_spec, *ca_key);
    crypto::CertificateSpec spec = ca_spec;
    spec.subject.common_name = "bench server";
    spec.is_ca = false;
    spec.ip_addresses = {"127.0.0.1"};
    spec.server_auth = true;
    auto key = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP256);
    auto leaf = crypto::IssueCertificate(spec, key->PublicKey(), *ca, *ca_key);
    if (!leaf.ok() || !base::WriteFileAtomic(dir + "/ca.pem", AsBytes(ca->Pem())).ok() ||
        !base::WriteFileAtomic(dir + "/chain.pem", AsBytes(leaf->Pem() + ca->Pem())).ok() ||
        !base::WriteFileAtomic(dir + "/key.pem", key->Pem().ExposeSecret(), 0600).ok()) {
      std::abort();
    }
  }
  ~Pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Pki& GetPki() {
  static Pki* pki = new Pki;
  return *pki;
}

// Gate is a counter one thread raises and another waits on.
class Gate {
 public:
  void Raise() {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    cv_.notify_all();
  }
  // Close makes every WaitFor return false.
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  bool WaitFor(long n) {  // NOLINT(runtime/int)
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return closed_ || count_ >= n; });
    return !closed_ && count_ >= n;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  long count_ = 0;  // NOLINT(runtime/int)
  bool closed_ = false;
};

struct Setup {
  std::unique_ptr<http::Server> server;
  http::ClientOptions client;
  Gate gate;  // chunk ping-pong
};

std::unique_ptr<Setup> Start(bool tls) {
  auto s = std::make_unique<Setup>();
  http::ServerOptions o;
  if (tls) {
    o.tls = http::TlsServerOptions{GetPki().dir + "/chain.pem", GetPki().dir + "/key.pem"};
    s->client.tls = http::TlsClientOptions{GetPki().dir + "/ca.pem", ""};
  }
  Setup* raw = s.get();
  auto server = http::Server::Start(o, [raw](const http::Request& r) {
    if (r.target != "/stream") return http::Response::Json(200, "{}");
    http::Response res;
    res.stream = [raw](http::BodyWriter& w) {
      const std::string chunk(64, 'c');
      for (long i = 1;; ++i) {  // NOLINT(runtime/int)
        if (!w.Write(chunk)) return;
        if (!raw->gate.WaitFor(i)) return;
      }
    };
    return res;
  });
  if (!server.ok()) std::abort();
  s->server = *std::move(server);
  return s;
}

// MakeRequest builds a request (strings constructed, not assigned from literals: GCC 12 -O3 warns
// falsely on the latter).
http::Request MakeRequest(std::string method, std::string target, std::string body) {
  http::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  return r;
}

http::Request Post() { return MakeRequest("POST", "/", std::string(256, 'b')); }

void BM_Requests(benchmark::State& state, bool tls) {
  auto setup = Start(tls);
  http::Client client("127.0.0.1", setup->server->port(), setup->client);
  const http::Request req = Post();
  for (int i = 0; i < 200; ++i) {
    if (!client.Send(req).ok()) std::abort();  // warm-up
  }
  for (auto _ : state) {
    if (!client.Send(req).ok()) state.SkipWithError("request failed");
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Connections(benchmark::State& state, bool tls) {
  auto setup = Start(tls);
  const http::Request req = Post();
  for (auto _ : state) {
    http::Client client("127.0.0.1", setup->server->port(), setup->client);
    if (!client.Send(req).ok()) state.SkipWithError("request failed");
  }
}

void BM_Chunks(benchmark::State& state, bool tls) {
  auto setup = Start(tls);
  http::Client client("127.0.0.1", setup->server->port(), setup->client);
  const http::Request req = MakeRequest("GET", "/stream", "");
  size_t pending = 0;
  absl::Status s = client.SendStreaming(
      req, [](const http::Response& h) { return h.status == 200; },
      [&](std::string_view piece) {
        pending += piece.size();
        if (pending < 64) return true;  // one whole chunk per iteration
        pending = 0;
        if (!state.KeepRunning()) return false;
        setup->gate.Raise();
        return true;
      });
  if (!absl::IsCancelled(s)) state.SkipWithError("stream failed");
  setup->gate.Close();
  setup->server->Stop();
}

BENCHMARK_CAPTURE(BM_Requests, plain, false)->Name("req/plain")->MinTime(1.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_Requests, tls, true)->Name("req/tls")->MinTime(1.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_Connections, plain, false)->Name("conn/plain")->MinTime(1.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_Connections, tls, true)->Name("conn/tls")->MinTime(1.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_Chunks, plain, false)->Name("chunk/plain")->MinTime(1.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_Chunks, tls, true)->Name("chunk/tls")->MinTime(1.0)->UseRealTime();

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred || r.iterations == 0) continue;
      std::string name = r.run_name.function_name;
      if (r.run_type == Run::RT_Aggregate) {
        if (r.aggregate_name == "median") {
          seconds_[name] = r.GetAdjustedRealTime() / 1e9;
          from_median_.insert(name);
        }
        continue;
      }
      if (!from_median_.count(name)) seconds_[name] = r.GetAdjustedRealTime() / 1e9;
    }
  }
  std::map<std::string, double> seconds_;
  std::set<std::string> from_median_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto& s = reporter.seconds_;
  std::printf("\n%-22s %14s %14s %10s\n", "", "TLS", "plaintext", "TLS/plain");
  auto show = [&](const char* what, const std::string& kind, bool rate) {
    const std::string tls = kind + "/tls", plain = kind + "/plain";
    if (!s.count(tls) || !s.count(plain)) return;
    if (rate) {
      std::printf("%-22s %10.0f /s  %10.0f /s  %9.2fx\n", what, 1 / s[tls], 1 / s[plain],
                  s[plain] / s[tls]);
    } else {
      std::printf("%-22s %10.1f us  %10.1f us  %9.2fx\n", what, s[tls] * 1e6, s[plain] * 1e6,
                  s[tls] / s[plain]);
    }
  };
  show("requests (keep-alive)", "req", true);
  show("new connection + req", "conn", false);
  show("streamed chunk", "chunk", false);
  return 0;
}
