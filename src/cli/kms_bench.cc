#include "cli/kms_bench.h"

#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/encoding.h"
#include "base/file.h"
#include "crypto/random.h"
#include "http/http.h"
#include "kms/client.h"
#include "kms/server.h"

namespace confide::cli {
namespace {

constexpr char kAccessKeyId[] = "AKIABENCH00000000001";
constexpr char kPrincipal[] = "arn:aws:iam::111122223333:role/kms-bench";
constexpr char kRegion[] = "us-east-1";

struct BenchArgs {
  int clients = 32;
  double duration_s = 5;
  double warmup_s = 0.5;
  int io_threads = 2;
  int handler_threads = 0;  // 0: the KMS server's default
  std::string data_dir;     // empty: a temporary directory, removed afterwards
};

struct PhaseResult {
  std::string name;
  uint64_t ops = 0;
  uint64_t errors = 0;
  double seconds = 0;
  double cpu_seconds = 0;  // process CPU time (clients + servers) inside the measured window
  std::string first_error;
  std::vector<float> latency_us;

  double CpuMicrosPerOp() const {
    return ops > 0 ? cpu_seconds * 1e6 / static_cast<double>(ops) : 0;
  }
  double OpsPerSecond() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
  double Percentile(double p) const {
    if (latency_us.empty()) return 0;
    size_t i = static_cast<size_t>(p * static_cast<double>(latency_us.size() - 1));
    return latency_us[i] / 1000.0;
  }
};

// ProcessCpuSeconds returns the user + system CPU time of this process so far.
double ProcessCpuSeconds() {
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
  auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

// ClientFactory returns a client with its own keep-alive connection.
using ClientFactory = std::function<kms::KmsClient()>;
// Operation performs one signed request with `client`.
using Operation = std::function<absl::Status(const kms::KmsClient& client)>;

// RunPhase runs `op` on `args.clients` threads, each with its own client (connection), for
// warmup + duration, and counts the operations that completed inside the measured window.
PhaseResult RunPhase(const std::string& name, const BenchArgs& args, const ClientFactory& make,
                     const Operation& op) {
  using Clock = std::chrono::steady_clock;
  PhaseResult result;
  result.name = name;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::mutex mu;
  const auto warmup = std::chrono::duration<double>(args.warmup_s);
  const auto duration = std::chrono::duration<double>(args.duration_s);
  Clock::time_point start;
  std::vector<std::thread> threads;
  for (int t = 0; t < args.clients; ++t) {
    threads.emplace_back([&] {
      kms::KmsClient client = make();
      std::vector<float> lat;
      uint64_t ops = 0;
      uint64_t errors = 0;
      std::string first_error;
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      const Clock::time_point measure_from =
          start + std::chrono::duration_cast<Clock::duration>(warmup);
      const Clock::time_point stop_at =
          measure_from + std::chrono::duration_cast<Clock::duration>(duration);
      for (;;) {
        const Clock::time_point t0 = Clock::now();
        if (t0 >= stop_at) break;
        absl::Status s = op(client);
        const Clock::time_point t1 = Clock::now();
        if (t0 < measure_from || t1 > stop_at) continue;
        if (s.ok()) {
          ++ops;
          lat.push_back(static_cast<float>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count() / 1000.0));
        } else {
          ++errors;
          if (first_error.empty()) first_error = std::string(s.message());
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      result.ops += ops;
      result.errors += errors;
      if (result.first_error.empty()) result.first_error = first_error;
      result.latency_us.insert(result.latency_us.end(), lat.begin(), lat.end());
    });
  }
  while (ready.load() < args.clients) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  start = Clock::now();
  go.store(true);
  // CPU time of the whole process over the measured window: whether a slower phase spends more
  // CPU per operation (CPU-bound) or waits (latency-bound, e.g. on the audit log's fdatasync).
  std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(warmup));
  const double cpu_from = ProcessCpuSeconds();
  std::this_thread::sleep_until(start +
                                std::chrono::duration_cast<Clock::duration>(warmup + duration));
  result.cpu_seconds = ProcessCpuSeconds() - cpu_from;
  for (auto& t : threads) t.join();
  result.seconds = args.duration_s;
  std::sort(result.latency_us.begin(), result.latency_us.end());
  return result;
}

std::string LoadAverage() {
  double l[3] = {0, 0, 0};
  if (getloadavg(l, 3) != 3) return "unknown";
  return absl::StrFormat("%.2f %.2f %.2f", l[0], l[1], l[2]);
}

void Print(const PhaseResult& r) {
  std::cout << absl::StrFormat(
      "%-18s %10.0f ops/s   p50 %7.2f ms   p99 %7.2f ms   cpu %5.0f us/op   errors %llu\n", r.name,
      r.OpsPerSecond(), r.Percentile(0.5), r.Percentile(0.99), r.CpuMicrosPerOp(),
      static_cast<unsigned long long>(r.errors));
}

int RunBench(const BenchArgs& a) {
  if (a.clients < 1 || a.clients > 1024 || a.duration_s <= 0 || a.duration_s > 3600 ||
      a.warmup_s < 0 || a.io_threads < 1 || a.handler_threads < 0) {
    std::cerr << "error: --clients 1..1024, --duration-s > 0, --io-threads >= 1\n";
    return 2;
  }
  // A private data directory with one identity whose secret is random.
  std::string dir = a.data_dir;
  bool remove_dir = false;
  if (dir.empty()) {
    const char* tmp = getenv("TMPDIR");
    std::string templ =
        absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/confide-kms-bench-XXXXXX");
    if (mkdtemp(templ.data()) == nullptr) {
      std::cerr << "error: cannot create a temporary directory\n";
      return 1;
    }
    dir = templ;
    remove_dir = true;
  }
  auto cleanup = [&] {
    if (remove_dir) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  };
  auto secret_bytes = crypto::RandomBytes(24);
  if (!secret_bytes.ok()) {
    cleanup();
    std::cerr << "error: " << secret_bytes.status().message() << "\n";
    return 1;
  }
  const std::string secret = base::HexEncode(*secret_bytes);
  const std::string identities_path = dir + "/bench-identities.toml";
  absl::Status written =
      base::WriteFileAtomic(identities_path,
                            ToBytes(absl::StrCat("[[identity]]\naccess_key_id = \"", kAccessKeyId,
                                                 "\"\nsecret_access_key = \"", secret,
                                                 "\"\nprincipal_arn = \"", kPrincipal, "\"\n")),
                            0600);
  if (!written.ok()) {
    cleanup();
    std::cerr << "error: " << written.message() << "\n";
    return 1;
  }

  kms::KmsServerConfig config;
  config.listen_host = "127.0.0.1";
  config.listen_port = 0;
  config.data_dir = dir;
  config.identities_path = identities_path;
  config.region = kRegion;
  config.threads = a.io_threads;
  if (a.handler_threads > 0) config.handler_threads = a.handler_threads;
  auto server = kms::RunningKmsServer::Start(config);
  if (!server.ok()) {
    cleanup();
    std::cerr << "error: kms server: " << server.status().message() << "\n";
    return 1;
  }
  // The baseline: the same HTTP server class and options, a handler that answers a fixed body.
  http::ServerOptions noop_options;
  noop_options.host = "127.0.0.1";
  noop_options.port = 0;
  noop_options.threads = config.threads;
  noop_options.handler_threads = config.handler_threads;
  auto noop = http::Server::Start(noop_options, [](const http::Request&) {
    http::Response r;
    r.status = 200;
    r.headers.Set("Content-Type", "application/x-amz-json-1.1");
    r.headers.Set("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000");
    r.body = "{}";
    return r;
  });
  if (!noop.ok()) {
    (*server)->Stop();
    cleanup();
    std::cerr << "error: no-op server: " << noop.status().message() << "\n";
    return 1;
  }

  auto make_factory = [&](uint16_t port) -> ClientFactory {
    return [port, secret] {
      kms::KmsCredentials creds;
      creds.access_key_id = kAccessKeyId;
      creds.secret_access_key = SecretBytes::CopyFrom(ToBytes(secret));
      return kms::KmsClient(kms::NewTcpKmsTransport("127.0.0.1", port), std::move(creds), kRegion,
                            absl::StrCat("127.0.0.1:", port));
    };
  };
  const ClientFactory kms_clients = make_factory((*server)->port());
  const ClientFactory noop_clients = make_factory((*noop)->port());

  int rc = 0;
  {
    kms::KmsClient setup = kms_clients();
    auto key_id = setup.CreateKey("kms bench", std::nullopt);
    const kms::EncryptionContext ctx = {{"purpose", "bench"}};
    absl::StatusOr<Bytes> blob = key_id.ok()
                                     ? setup.Encrypt(*key_id, ToBytes(std::string(32, 'k')), ctx)
                                     : absl::StatusOr<Bytes>(key_id.status());
    if (!blob.ok()) {
      std::cerr << "error: setup: " << blob.status().message() << "\n";
      rc = 1;
    } else {
      std::cout << absl::StrFormat(
          "kms bench: %d clients (SigV4-signed, keep-alive), %.1f s per phase after %.1f s "
          "warm-up; server: %d I/O threads, %d handler threads; data dir %s\n",
          a.clients, a.duration_s, a.warmup_s, config.threads, config.handler_threads, dir);
      std::cout << "load average before: " << LoadAverage() << "\n";
      const kms::AuditLogStats audit_before = (*server)->audit_stats();
      std::vector<PhaseResult> results;
      results.push_back(RunPhase("noop", a, noop_clients, [](const kms::KmsClient& c) {
        return c.Call("Noop", nlohmann::json::object()).status();
      }));
      Print(results.back());
      results.push_back(RunPhase("Decrypt", a, kms_clients, [&](const kms::KmsClient& c) {
        return c.Decrypt(*blob, ctx).status();
      }));
      Print(results.back());
      results.push_back(RunPhase("GenerateDataKey", a, kms_clients, [&](const kms::KmsClient& c) {
        return c.GenerateDataKey(*key_id, ctx).status();
      }));
      Print(results.back());
      results.push_back(RunPhase("noop (again)", a, noop_clients, [](const kms::KmsClient& c) {
        return c.Call("Noop", nlohmann::json::object()).status();
      }));
      Print(results.back());
      const kms::AuditLogStats audit_after = (*server)->audit_stats();
      const double baseline = (results[0].OpsPerSecond() + results[3].OpsPerSecond()) / 2;
      std::cout << absl::StrFormat("ratio Decrypt/noop          %.2f\n",
                                   baseline > 0 ? results[1].OpsPerSecond() / baseline : 0);
      std::cout << absl::StrFormat("ratio GenerateDataKey/noop  %.2f\n",
                                   baseline > 0 ? results[2].OpsPerSecond() / baseline : 0);
      const uint64_t lines = audit_after.lines_synced - audit_before.lines_synced;
      const uint64_t syncs = audit_after.syncs - audit_before.syncs;
      std::cout << absl::StrFormat(
          "audit: %llu lines made durable with %llu fdatasync calls (%.1f lines per sync)\n",
          static_cast<unsigned long long>(lines), static_cast<unsigned long long>(syncs),
          syncs > 0 ? static_cast<double>(lines) / static_cast<double>(syncs) : 0.0);
      std::cout << "load average after: " << LoadAverage() << "\n";
      for (const PhaseResult& r : results) {
        if (r.errors > 0) {
          std::cerr << "error: " << r.name << ": " << r.errors
                    << " failed requests, first: " << r.first_error << "\n";
          rc = 1;
        }
      }
    }
  }
  (*noop)->Stop();
  (*server)->Stop();
  cleanup();
  return rc;
}

}  // namespace

void AddKmsBenchCommand(CLI::App* kms, std::function<int()>* run) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* bench = kms->add_subcommand(
      "bench",
      "Measure Decrypt and GenerateDataKey throughput of an in-process KMS against a no-op "
      "endpoint on the same HTTP stack");
  bench->add_option("--clients", args->clients, "Concurrent keep-alive clients (default 32)");
  bench->add_option("--duration-s", args->duration_s, "Measured seconds per phase (default 5)");
  bench->add_option("--warmup-s", args->warmup_s, "Unmeasured seconds per phase (default 0.5)");
  bench->add_option("--io-threads", args->io_threads, "Server I/O threads (default 2)");
  bench->add_option("--handler-threads", args->handler_threads,
                    "Server handler threads (default: the KMS server's default)");
  bench->add_option("--data-dir", args->data_dir,
                    "Existing empty directory for the store and audit log (default: a temporary "
                    "directory, removed afterwards)");
  bench->callback([run, args] { *run = [args] { return RunBench(*args); }; });
}

}  // namespace confide::cli
