// gateway_overhead_benchmark: what the gateway adds to a sealed request, measured against the
// same enclave reached directly over vsock in the same run, printed as ratios.
//
// The enclave is the test peer of the gateway's tests (src/gateway/internal/test_enclave.h):
// the §1 API on the vsock emulation with the real OHTTP gateway; its inner application echoes,
// so the enclave side costs one HPKE open and one response seal per request. Every case sends
// the same 1 KiB sealed request (message/ohttp-req) and reads the sealed answer.
//
// Cases:
//   ohttp/direct_keepalive   HTTP/1.1 over one kept-alive vsock connection to the enclave
//                            (baseline: the cheapest way to reach it)
//   ohttp/direct_fresh       a new vsock connection per request (what the gateway does
//                            upstream)
//   ohttp/gateway            HTTP/1.1 keep-alive over TCP to the gateway, which routes by key
//                            id, admits, dials the enclave and relays
//   Each with 1 client thread (latency) and 4 client threads (requests/s).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gateway/gateway.h"
#include "gateway/internal/test_enclave.h"
#include "gateway/upstream.h"

namespace {

using namespace confide;  // NOLINT: benchmark file

struct Fixture {
  std::string dir;
  std::shared_ptr<attest::SimulationCa> ca;
  std::unique_ptr<gateway::testing::TestEnclave> enclave;
  std::unique_ptr<enclave::VsockTransport> parent;
  std::unique_ptr<gateway::GatewayServer> gateway;
  std::string sealed;

  Fixture() {
    char tmpl[] = "/tmp/cgwb-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    dir = tmpl;
    ca = std::make_shared<attest::SimulationCa>(*attest::SimulationCa::Create(absl::Now()));
    gateway::testing::TestEnclave::Options o;
    o.vsock_dir = dir;
    o.cid = 16;
    o.ca = ca;
    enclave = *gateway::testing::TestEnclave::Start(o);
    parent = *enclave::NewEmulatedVsockTransport(dir, enclave::kParentCid);
    gateway::GatewayServerOptions go;
    go.enclaves = {enclave->address()};
    go.health_interval = absl::Hours(1);
    go.io_threads = 2;
    gateway = *gateway::GatewayServer::Start(*parent, go);
    auto configs = *ohttp::DecodeKeyConfigList(enclave->keys());
    auto req = *ohttp::EncapsulateRequest(configs.front(), {0x0001, 0x0001}, Bytes(1024, 'q'));
    sealed = std::string(AsStringView(req.encapsulated));
  }
  ~Fixture() {
    gateway.reset();
    enclave.reset();
    std::filesystem::remove_all(dir);
  }
};

Fixture& F() {
  static Fixture* f = new Fixture();  // shared by all cases; lives until exit
  return *f;
}

http::Request SealedRequest(const std::string& target) {
  http::Request r;
  r.method = "POST";
  r.target = target;
  r.headers.Add("Content-Type", "message/ohttp-req");
  r.body = F().sealed;
  return r;
}

void Check(benchmark::State& state, const absl::StatusOr<http::Response>& r) {
  if (!r.ok() || r->status != 200) state.SkipWithError("exchange failed");
}

void BM_DirectKeepAlive(benchmark::State& state) {
  Fixture& f = F();
  http::ClientOptions co;
  http::Client client(gateway::VsockConnectFn(*f.parent, f.enclave->address()), co);
  const http::Request req = SealedRequest("/ohttp");
  for (auto _ : state) Check(state, client.Send(req));
  state.SetItemsProcessed(state.iterations());
}

void BM_DirectFresh(benchmark::State& state) {
  Fixture& f = F();
  const http::Request req = SealedRequest("/ohttp");
  for (auto _ : state) {
    http::ClientOptions co;
    http::Client client(gateway::VsockConnectFn(*f.parent, f.enclave->address()), co);
    Check(state, client.Send(req));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Gateway(benchmark::State& state) {
  Fixture& f = F();
  http::Client client("127.0.0.1", f.gateway->port());
  const http::Request req = SealedRequest("/v1/ohttp");
  for (auto _ : state) Check(state, client.Send(req));
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_DirectKeepAlive)->Name("ohttp/direct_keepalive")->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_DirectFresh)->Name("ohttp/direct_fresh")->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_Gateway)->Name("ohttp/gateway")->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_DirectKeepAlive)
    ->Name("ohttp/direct_keepalive")
    ->MinTime(1.0)
    ->UseRealTime()
    ->Threads(4);
BENCHMARK(BM_DirectFresh)->Name("ohttp/direct_fresh")->MinTime(1.0)->UseRealTime()->Threads(4);
BENCHMARK(BM_Gateway)->Name("ohttp/gateway")->MinTime(1.0)->UseRealTime()->Threads(4);

// RatioReporter keeps each case's time per request (medians with --benchmark_repetitions).
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred || r.iterations == 0) continue;
      const std::string key =
          r.run_name.function_name + (r.threads > 1 ? absl::StrCat("/threads:", r.threads) : "");
      // With threads, iterations are the total and real_accumulated_time the wall time, so
      // the adjusted time is wall time per request across threads.
      const double rps = static_cast<double>(r.iterations) / r.real_accumulated_time;
      const double latency_s = r.GetAdjustedRealTime() / 1e9 * static_cast<double>(r.threads);
      if (r.run_type == Run::RT_Aggregate) {
        if (r.aggregate_name == "median") {
          from_median_.insert(key);
          latency_[key] = latency_s;
          rps_[key] = static_cast<double>(r.threads) / latency_s;
        }
        continue;
      }
      if (!from_median_.count(key)) {
        latency_[key] = latency_s;
        rps_[key] = rps;
      }
    }
  }
  std::map<std::string, double> latency_;
  std::map<std::string, double> rps_;
  std::set<std::string> from_median_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto& lat = reporter.latency_;
  auto& rps = reporter.rps_;
  std::printf("\n%-24s %14s %14s %16s\n", "", "latency", "requests/s", "vs keep-alive");
  for (const char* threads : {"1", "4"}) {
    const std::string suffix = std::string(threads) == "1" ? "" : "/threads:4";
    const std::string base = "ohttp/direct_keepalive" + suffix;
    for (const char* c : {"direct_keepalive", "direct_fresh", "gateway"}) {
      const std::string key = std::string("ohttp/") + c + suffix;
      if (!lat.count(key) || !lat.count(base)) continue;
      std::printf("%-16s %s thr %11.1f us %14.0f %15.2fx\n", c, threads, lat[key] * 1e6, rps[key],
                  lat[key] / lat[base]);
    }
  }
  return 0;
}
