// enclave_vsock_benchmark: round-trip latency and throughput of the emulated vsock transport,
// next to a plain Unix socketpair(2) measured in the same run, printed as ratios.
//
// Cases (each side in its own thread, echo/ack peer):
//   rtt/socketpair      64-byte ping-pong over socketpair with plain read/write (baseline)
//   rtt/emulated_vsock  the same through VsockTransport::Connect/Listen/Accept and VsockStream
//   tput/socketpair     1 MiB writes, peer reads them and acks each with one byte (baseline)
//   tput/emulated_vsock the same through the emulated transport
//   connect/emulated_vsock  Connect + Accept + close of one emulated connection
// Anchor (issue 3): real Nitro vsock RTT is about 124 us median.
#include <benchmark/benchmark.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "enclave/vsock.h"

namespace {

using namespace confide;  // NOLINT: benchmark file
using enclave::VsockStream;

constexpr size_t kPing = 64;
constexpr size_t kChunk = 1 << 20;
const absl::Duration kTimeout = absl::Seconds(30);
constexpr int kWarmup = 200;

// EchoPeer echoes kPing-byte messages (rtt) or acks each kChunk with one byte (tput) until EOF.
void EchoPeer(VsockStream s, bool tput) {
  std::vector<uint8_t> buf(tput ? kChunk : kPing);
  for (;;) {
    if (!s.ReadExact(buf, kTimeout).ok()) return;
    ByteSpan reply = tput ? ByteSpan(buf.data(), 1) : ByteSpan(buf);
    if (!s.WriteAll(reply, kTimeout).ok()) return;
  }
}

void RawEchoPeer(int fd, bool tput) {
  std::vector<uint8_t> buf(tput ? kChunk : kPing);
  for (;;) {
    size_t got = 0;
    while (got < buf.size()) {
      ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
      if (n <= 0) return;
      got += static_cast<size_t>(n);
    }
    size_t want = tput ? 1 : buf.size();
    if (::write(fd, buf.data(), want) != static_cast<ssize_t>(want)) return;
  }
}

bool RawExchange(int fd, const std::vector<uint8_t>& out, std::vector<uint8_t>& in, size_t in_len) {
  size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = ::write(fd, out.data() + sent, out.size() - sent);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  size_t got = 0;
  while (got < in_len) {
    ssize_t n = ::read(fd, in.data() + got, in_len - got);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

void BM_SocketPair(benchmark::State& state, bool tput) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  std::thread peer(RawEchoPeer, fds[1], tput);
  std::vector<uint8_t> out(tput ? kChunk : kPing, 0x5a), in(out.size());
  size_t in_len = tput ? 1 : kPing;
  // Warm up (thread wake-ups, page faults, CPU frequency) before timing.
  for (int i = 0; i < kWarmup; ++i) RawExchange(fds[0], out, in, in_len);
  for (auto _ : state) {
    if (!RawExchange(fds[0], out, in, in_len)) state.SkipWithError("socketpair exchange failed");
  }
  ::shutdown(fds[0], SHUT_RDWR);
  peer.join();
  ::close(fds[0]);
  ::close(fds[1]);
  if (tput) state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}

struct Emulated {
  std::string dir;
  std::unique_ptr<enclave::VsockTransport> parent, enclave;
  Emulated() {
    char tmpl[] = "/tmp/cvsbXXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    dir = tmpl;
    parent = *enclave::NewEmulatedVsockTransport(dir, enclave::kParentCid);
    enclave = *enclave::NewEmulatedVsockTransport(dir, 16);
  }
  ~Emulated() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

void BM_Emulated(benchmark::State& state, bool tput) {
  Emulated e;
  auto listener = e.enclave->Listen(5000);
  if (!listener.ok()) std::abort();
  std::thread peer([&] {
    auto s = listener->Accept(kTimeout);
    if (s.ok()) EchoPeer(*std::move(s), tput);
  });
  auto c = e.parent->Connect({16, 5000}, kTimeout);
  if (!c.ok()) std::abort();
  std::vector<uint8_t> out(tput ? kChunk : kPing, 0x5a), in(tput ? 1 : kPing);
  for (int i = 0; i < kWarmup; ++i) {
    if (!c->WriteAll(out, kTimeout).ok() || !c->ReadExact(in, kTimeout).ok()) std::abort();
  }
  for (auto _ : state) {
    if (!c->WriteAll(out, kTimeout).ok() || !c->ReadExact(in, kTimeout).ok()) {
      state.SkipWithError("emulated exchange failed");
    }
  }
  c->Close();
  peer.join();
  if (tput) state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}

void BM_EmulatedConnect(benchmark::State& state) {
  Emulated e;
  auto listener = e.enclave->Listen(5001);
  if (!listener.ok()) std::abort();
  for (auto _ : state) {
    auto c = e.parent->Connect({16, 5001}, kTimeout);
    auto s = listener->Accept(kTimeout);
    if (!c.ok() || !s.ok()) state.SkipWithError("connect failed");
  }
}

BENCHMARK_CAPTURE(BM_SocketPair, rtt, false)->Name("rtt/socketpair")->MinTime(1.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_Emulated, rtt, false)->Name("rtt/emulated_vsock")->MinTime(1.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_SocketPair, tput, true)->Name("tput/socketpair")->MinTime(1.0)->UseRealTime();
BENCHMARK_CAPTURE(BM_Emulated, tput, true)
    ->Name("tput/emulated_vsock")
    ->MinTime(1.0)
    ->UseRealTime();
BENCHMARK(BM_EmulatedConnect)->Name("connect/emulated_vsock")->MinTime(1.0)->UseRealTime();

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred || r.iterations == 0) continue;
      std::string name = r.run_name.function_name;
      // With --benchmark_repetitions, the median wins; single runs are taken as they are.
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
  auto show = [&](const char* what, const std::string& a, const std::string& base, bool tput) {
    if (!s.count(a) || !s.count(base)) return;
    if (tput) {
      std::printf("%-12s %12.0f MiB/s %12.0f MiB/s   ratio %.2fx\n", what, 1 / s[a], 1 / s[base],
                  s[base] / s[a]);
    } else {
      std::printf("%-12s %12.1f us   %12.1f us      ratio %.2fx (Nitro vsock anchor: 124 us)\n",
                  what, s[a] * 1e6, s[base] * 1e6, s[a] / s[base]);
    }
  };
  std::printf("\n%-12s %18s %18s\n", "", "emulated vsock", "socketpair");
  show("round trip", "rtt/emulated_vsock", "rtt/socketpair", false);
  show("throughput", "tput/emulated_vsock", "tput/socketpair", true);
  if (s.count("connect/emulated_vsock")) {
    std::printf("%-12s %12.1f us (connect + accept, emulated)\n", "connect",
                s["connect/emulated_vsock"] * 1e6);
  }
  return 0;
}
