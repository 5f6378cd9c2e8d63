// Envelope decryption throughput (kms/envelope.h) against the floor of one raw AES-256-GCM pass
// over the same number of bytes (crypto::AeadOpenInto on a single 64 MiB message), measured in
// the same run and printed as ratios. The envelope adds per-segment key setup, nonces and tags
// (1 MiB segments) and, with 2 threads, runs segments in parallel; the incremental decryptor
// additionally copies the stream into segment buffers (64 KiB chunks, as from a socket).
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "kms/envelope.h"

namespace {

using confide::Bytes;
using confide::ByteSpan;

constexpr size_t kPlaintextLen = 64 << 20;
constexpr size_t kChunk = 64 << 10;

struct Data {
  confide::SecretBytes key;
  confide::kms::EnvelopeHeader header;
  Bytes envelope;
  Bytes raw_nonce;
  Bytes raw_sealed;
};

const Data& Get() {
  static const Data* d = [] {
    auto* data = new Data;
    data->key = *confide::crypto::RandomSecret(32);
    Bytes pt = *confide::crypto::RandomBytes(kPlaintextLen);
    data->header = *confide::kms::NewEnvelopeHeader(Bytes(100, 1), {{"confide:purpose", "model"}},
                                                    kPlaintextLen);
    data->envelope = *confide::kms::SealEnvelope(data->header, data->key, pt);
    data->raw_nonce = Bytes(12, 7);
    data->raw_sealed = *confide::crypto::AeadSeal(
        confide::crypto::AeadAlg::kAes256Gcm, data->key.ExposeSecret(), data->raw_nonce, {}, pt);
    return data;
  }();
  return *d;
}

void BM_RawAesGcm(benchmark::State& state) {
  const Data& d = Get();
  Bytes out(kPlaintextLen);
  for (auto _ : state) {
    auto s =
        confide::crypto::AeadOpenInto(confide::crypto::AeadAlg::kAes256Gcm, d.key.ExposeSecret(),
                                      d.raw_nonce, {}, d.raw_sealed, out);
    if (!s.ok()) state.SkipWithError("raw open failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPlaintextLen));
}
BENCHMARK(BM_RawAesGcm)->Name("raw_aes256gcm")->MinTime(1.0)->UseRealTime();

void BM_DecryptToMemory(benchmark::State& state) {
  const Data& d = Get();
  const int threads = static_cast<int>(state.range(0));
  Bytes out(kPlaintextLen);
  ByteSpan ct = ByteSpan(d.envelope).subspan(d.header.encoded.size());
  for (auto _ : state) {
    if (!confide::kms::DecryptToMemory(d.header, d.key, ct, out, threads).ok()) {
      state.SkipWithError("decrypt failed");
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPlaintextLen));
}
BENCHMARK(BM_DecryptToMemory)->Name("envelope_memory")->Arg(1)->Arg(2)->MinTime(1.0)->UseRealTime();

void BM_Incremental(benchmark::State& state) {
  const Data& d = Get();
  const int threads = static_cast<int>(state.range(0));
  Bytes out(kPlaintextLen);
  ByteSpan ct = ByteSpan(d.envelope).subspan(d.header.encoded.size());
  for (auto _ : state) {
    auto dec = confide::kms::EnvelopeDecryptor::Create(d.header, d.key, out, threads);
    bool ok = dec.ok();
    for (size_t off = 0; ok && off < ct.size(); off += kChunk) {
      ok = (*dec)->Update(ct.subspan(off, std::min(kChunk, ct.size() - off))).ok();
    }
    if (!ok || !(*dec)->Finish().ok()) state.SkipWithError("incremental decrypt failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kPlaintextLen));
}
BENCHMARK(BM_Incremental)->Name("envelope_stream")->Arg(1)->Arg(2)->MinTime(1.0)->UseRealTime();

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred || r.iterations == 0) continue;
      if (r.run_type == Run::RT_Aggregate) {
        if (r.aggregate_name == "median") {
          seconds_[r.run_name.str()] = r.GetAdjustedRealTime() / 1e9;
          from_median_.insert(r.run_name.str());
        }
        continue;
      }
      if (!from_median_.count(r.run_name.str())) {
        seconds_[r.run_name.str()] = r.GetAdjustedRealTime() / 1e9;
      }
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
  const double mib = static_cast<double>(kPlaintextLen) / (1 << 20);
  std::string base;
  for (const auto& [name, secs] : s) {
    if (name.rfind("raw_aes256gcm", 0) == 0) base = name;
  }
  if (base.empty()) return 0;
  std::printf("\n%-40s %10s %14s\n", "decrypt 64 MiB (1 MiB segments)", "MiB/s", "vs raw GCM");
  for (const auto& [name, secs] : s) {
    std::printf("%-40s %10.0f %13.2fx\n", name.c_str(), mib / secs, s[base] / secs);
  }
  return 0;
}
