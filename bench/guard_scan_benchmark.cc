// Guardrail scanning throughput on synthetic mixed text (prose, numbers, an e-mail, a few
// profanities), bytes/s per filter. Baselines in the same run: memchr over the text (a floor:
// the cost of touching every byte) and the naive word search (std::string_view::find for every
// managed word over the normalised text), which Aho-Corasick replaces. The classifiers (prompt
// attack, content) score each line as one text, against the reference feature path they
// replaced (internal/reference_features.h: substrings, one search per phrase, a vector per
// text) on the same model; the reference phrase list is the prompt-attack filter's size (28).
#include <cstring>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "guard/content.h"
#include "guard/internal/reference_features.h"
#include "guard/linear_model.h"
#include "guard/pii.h"
#include "guard/prompt_attack.h"
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

std::vector<std::string_view> Lines() {
  std::vector<std::string_view> out;
  std::string_view t = Text();
  while (!t.empty()) {
    size_t nl = t.find('\n');
    out.push_back(t.substr(0, nl));
    t = nl == std::string_view::npos ? std::string_view() : t.substr(nl + 1);
  }
  return out;
}

void BM_PromptAttackScore(benchmark::State& state) {
  auto lines = Lines();
  const auto* m = confide::guard::PromptAttackModel::Default();
  for (auto _ : state) {
    double sum = 0;
    for (auto l : lines) sum += m->Score(l);
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(state.iterations() * Text().size());
}
BENCHMARK(BM_PromptAttackScore);

void BM_PromptAttackReferenceBaseline(benchmark::State& state) {
  auto lines = Lines();
  const auto* m = confide::guard::PromptAttackModel::Default();
  // 28 phrases of typical length, as the prompt-attack filter has.
  std::vector<std::string> phrase_text;
  for (int i = 0; i < 28; ++i) phrase_text.push_back(" phrase " + std::to_string(i) + " ");
  std::vector<std::string_view> phrases(phrase_text.begin(), phrase_text.end());
  for (auto _ : state) {
    double sum = 0;
    for (auto l : lines) {
      confide::guard::Features f;
      confide::guard::internal::ReferenceHashedTextFeatures(
          confide::guard::internal::ReferenceNormaliseForFeatures(l), m->bits(), phrases, 1, &f);
      sum += m->linear_model().Score(f, 0);
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(state.iterations() * Text().size());
}
BENCHMARK(BM_PromptAttackReferenceBaseline);

void BM_ContentScores(benchmark::State& state) {
  auto lines = Lines();
  const auto* m = confide::guard::ContentModel::Default();
  if (m == nullptr) {
    state.SkipWithError("no content model");
    return;
  }
  for (auto _ : state) {
    double sum = 0;
    for (auto l : lines) sum += m->Scores(l)[0];
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(state.iterations() * Text().size());
}
BENCHMARK(BM_ContentScores);

// BM_FeaturesOnly: TextFeaturizer::Extract alone (no scoring), 28 phrases, 18 bits.
void BM_FeaturesOnly(benchmark::State& state) {
  auto lines = Lines();
  std::vector<std::string> phrase_text;
  for (int i = 0; i < 28; ++i) phrase_text.push_back(" phrase " + std::to_string(i) + " ");
  std::vector<std::string_view> phrases(phrase_text.begin(), phrase_text.end());
  confide::guard::TextFeaturizer fz(phrases, 1);
  confide::guard::HashedFeatures f;
  std::string norm;
  for (auto _ : state) {
    size_t n = 0;
    for (auto l : lines) {
      confide::guard::NormaliseForFeaturesInto(l, &norm);
      fz.Extract(norm, 18, &f);
      n += f.size();
    }
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(state.iterations() * Text().size());
}
BENCHMARK(BM_FeaturesOnly);

}  // namespace

BENCHMARK_MAIN();
