// Guardrail scanning throughput on synthetic mixed text (prose, numbers, an e-mail, a few
// profanities), bytes/s per filter. Baselines in the same run: memchr over the text (a floor:
// the cost of touching every byte) and the naive word search (std::string_view::find for every
// managed word over the normalised text), which Aho-Corasick replaces.
#include <cstring>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "guard/pii.h"
#include "guard/words.h"

namespace {

std::string Corpus() {
  std::string s;
  const char* lines[] = {
      "Hello team, please review the quarterly report before Friday's meeting.\n",
      "Contact me via ann.lee@example.com or on my cell +44 20 8869 8967 after 5pm.\n",
      "The build 7.27.25 passed; ticket 54a25ef4-6366-413f-9394-f736938dd100 is closed.\n",
      "What the f*ck is wrong with this damn printer, it is a piece of sh1t.\n",
      "Order total: $1,249.99 shipped to 9737 Riverside Way, Raleigh, NC 27601.\n",
      "I want you to act as a travel guide and suggest places to visit in Lisbon.\n"};
  while (s.size() < (1 << 20)) {
    for (const char* l : lines) s += l;
  }
  return s;
}

const std::string& Text() {
  static const std::string* t = new std::string(Corpus());
  return *t;
}

void BM_MemchrFloor(benchmark::State& state) {
  const std::string& t = Text();
  for (auto _ : state) {
    size_t n = 0;
    for (const char* p = t.data();
         (p = static_cast<const char*>(memchr(p, '\x01', t.data() + t.size() - p))) != nullptr;
         ++p) {
      ++n;
    }
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(state.iterations() * t.size());
}
BENCHMARK(BM_MemchrFloor);

void BM_Pii(benchmark::State& state) {
  const std::string& t = Text();
  const auto& det = confide::guard::PiiDetector::Default();
  for (auto _ : state) benchmark::DoNotOptimize(det.Detect(t));
  state.SetBytesProcessed(state.iterations() * t.size());
}
BENCHMARK(BM_Pii);

void BM_WordsAhoCorasick(benchmark::State& state) {
  const std::string& t = Text();
  auto f = *confide::guard::WordFilter::Create({}, true);
  for (auto _ : state) benchmark::DoNotOptimize(f->Find(t));
  state.SetBytesProcessed(state.iterations() * t.size());
}
BENCHMARK(BM_WordsAhoCorasick);

void BM_WordsNaiveFindBaseline(benchmark::State& state) {
  const std::string& t = Text();
  std::vector<std::string> words;
  for (size_t i = 0; i < confide::guard::kNumManagedProfanity; ++i) {
    words.push_back(
        confide::guard::NormalizeForMatching(confide::guard::kManagedProfanity[i].text).chars);
  }
  for (auto _ : state) {
    auto n = confide::guard::NormalizeForMatching(t);
    size_t hits = 0;
    for (const auto& w : words) {
      for (size_t p = n.chars.find(w); p != std::string::npos; p = n.chars.find(w, p + 1)) ++hits;
    }
    benchmark::DoNotOptimize(hits);
  }
  state.SetBytesProcessed(state.iterations() * t.size());
}
BENCHMARK(BM_WordsNaiveFindBaseline);

}  // namespace

BENCHMARK_MAIN();
