// attest_verify_benchmark: attestation documents verified per second, next to raw ECDSA P-384
// verifications per second measured in the same run, printed as a cost ratio.
//
// Goal (issue 2): once a document's chain is cached, verifying it costs at most 1.25x one
// P-384 verification. Cases:
//   emulated/cached    documents from the emulated secure module, chain cached (steady state
//                      of a client talking to one enclave: a new nonce, same leaf)
//   emulated/uncached  the same with the chain cache disabled (first contact)
//   nitro/cached       the real AWS Nitro document at its own time, chain cached
//   nitro/uncached     the real AWS Nitro document, cache disabled (5 certificates)
//   ecdsa_p384_verify  the baseline: one raw P-384 signature over a message of the same size
//                      as the document's COSE Sig_structure
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "attest/emulated_nsm.h"
#include "attest/verifier.h"
#include "base/encoding.h"
#include "crypto/ecdsa.h"

namespace {

using namespace confide;  // NOLINT: benchmark file

struct Fixture {
  attest::EmulatedNsm* nsm = nullptr;
  Bytes emulated_doc;
  Bytes sim_root_der;
  Bytes nitro_doc;
  Bytes nitro_root_pem;
  absl::Time nitro_time;
  absl::Time now;
};

Fixture& F() {
  static Fixture* f = [] {
    auto* fx = new Fixture();
    fx->now = absl::Now();
    auto ca = attest::SimulationCa::Create(fx->now);
    if (!ca.ok()) std::abort();
    fx->sim_root_der = ca->RootDer();
    attest::PcrMap pcrs;
    for (uint32_t i = 0; i < 16; ++i) pcrs[i] = attest::MeasureBytes(ToBytes(std::to_string(i)));
    fx->nsm = new attest::EmulatedNsm(std::make_shared<attest::SimulationCa>(*std::move(ca)),
                                      "i-0bench-enc0000000000000001", pcrs);
    auto doc = fx->nsm->Attest(Bytes(32, 1), Bytes(32, 2), Bytes(294, 3), fx->now);
    if (!doc.ok()) std::abort();
    fx->emulated_doc = *doc;

    std::string dir = std::string(CONFIDE_SHARED_DIR) + "/testdata/nitro/";
    std::ifstream hex_in(dir + "attestation_ic_tee_2024-11-05.hex");
    std::string hex((std::istreambuf_iterator<char>(hex_in)), std::istreambuf_iterator<char>());
    std::ifstream root_in(dir + "aws_nitro_root_g1.pem");
    std::string root((std::istreambuf_iterator<char>(root_in)), std::istreambuf_iterator<char>());
    if (auto d = base::HexDecode(hex); d.ok() && !root.empty()) {
      fx->nitro_doc = *d;
      fx->nitro_root_pem = ToBytes(root);
    }
    fx->nitro_time = absl::FromUnixMillis(1730792863352);
    return fx;
  }();
  return *f;
}

void VerifyLoop(benchmark::State& state, const attest::Verifier& v, const Bytes& doc,
                absl::Time at) {
  attest::Expectations expect;
  for (auto _ : state) {
    auto r = v.Verify(doc, expect, at);
    if (!r.ok()) {
      state.SkipWithError("verification failed");
      return;
    }
    benchmark::DoNotOptimize(r);
  }
}

void BM_EmulatedCached(benchmark::State& state) {
  attest::VerifierOptions o;
  o.allow_simulation_root = true;
  auto v = attest::Verifier::Create(F().sim_root_der, o);
  VerifyLoop(state, *v, F().emulated_doc, F().now);
}
void BM_EmulatedUncached(benchmark::State& state) {
  attest::VerifierOptions o;
  o.allow_simulation_root = true;
  o.chain_cache_capacity = 0;
  auto v = attest::Verifier::Create(F().sim_root_der, o);
  VerifyLoop(state, *v, F().emulated_doc, F().now);
}
void BM_NitroCached(benchmark::State& state) {
  if (F().nitro_doc.empty()) {
    state.SkipWithError("../shared/testdata/nitro not found");
    return;
  }
  auto v = attest::Verifier::Create(F().nitro_root_pem);
  VerifyLoop(state, *v, F().nitro_doc, F().nitro_time);
}
void BM_NitroUncached(benchmark::State& state) {
  if (F().nitro_doc.empty()) {
    state.SkipWithError("../shared/testdata/nitro not found");
    return;
  }
  attest::VerifierOptions o;
  o.chain_cache_capacity = 0;
  auto v = attest::Verifier::Create(F().nitro_root_pem, o);
  VerifyLoop(state, *v, F().nitro_doc, F().nitro_time);
}
void BM_EcdsaP384Verify(benchmark::State& state) {
  auto key = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384);
  // Same size as the emulated document's Sig_structure, so hashing costs the same.
  Bytes msg(F().emulated_doc.size(), 0x5a);
  auto sig = key->Sign(msg, crypto::SignatureFormat::kRaw);
  crypto::EcdsaPublicKey pub = key->PublicKey();
  for (auto _ : state) {
    auto s = pub.Verify(msg, *sig, crypto::SignatureFormat::kRaw);
    if (!s.ok()) {
      state.SkipWithError("baseline verification failed");
      return;
    }
  }
}

BENCHMARK(BM_EcdsaP384Verify)->Name("ecdsa_p384_verify")->MinTime(1.0);
BENCHMARK(BM_EmulatedCached)->Name("attest_verify/emulated/cached")->MinTime(1.0);
BENCHMARK(BM_EmulatedUncached)->Name("attest_verify/emulated/uncached")->MinTime(1.0);
BENCHMARK(BM_NitroCached)->Name("attest_verify/nitro/cached")->MinTime(1.0);
BENCHMARK(BM_NitroUncached)->Name("attest_verify/nitro/uncached")->MinTime(1.0);

// Collects per-benchmark mean times so main can print ops/s and ratios.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred || r.iterations == 0) continue;
      seconds_[r.benchmark_name()] = r.GetAdjustedRealTime() / 1e9;  // default unit: ns
    }
  }
  std::map<std::string, double> seconds_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto& s = reporter.seconds_;
  auto it = s.find("ecdsa_p384_verify/min_time:1.000");
  if (it == s.end()) return 0;
  double base = it->second;
  std::printf("\n%-34s %12s %14s\n", "case", "ops/s", "cost vs P-384");
  std::printf("%-34s %12.0f %13.2fx\n", "ecdsa_p384_verify (baseline)", 1 / base, 1.0);
  for (const auto& [name, secs] : s) {
    if (name.rfind("attest_verify/", 0) != 0) continue;
    std::string shown = name.substr(0, name.find("/min_time"));
    std::printf("%-34s %12.0f %13.2fx\n", shown.c_str(), 1 / secs, secs / base);
  }
  return 0;
}
