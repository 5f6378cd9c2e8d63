// Fuzzes the guard scanners (PII detectors, word filter, guardrail apply) on arbitrary bytes:
//  1. every match lies inside the text, matches are sorted and do not overlap;
//  2. anonymisation replaces exactly the reported spans (masked text re-expands to the input);
//  3. nothing crashes or reads out of bounds on invalid UTF-8;
//  4. with custom regexes masking too, PII and regex masks never overlap (re-expansion holds);
//  5. content, topic and grounding scores are in [0, 1], deterministic, and content blocking
//     is monotone in strength (a lower strength never blocks what a higher one lets through).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "guard/content.h"
#include "guard/grounding.h"
#include "guard/guardrail.h"
#include "guard/pii.h"
#include "guard/topics.h"
#include "guard/words.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "guard_scan_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

const confide::guard::Guardrail& Anonymizer() {
  using namespace confide::guard;
  static const Guardrail* g = [] {
    Policy p;
    p.name = "fuzz";
    p.blocked_input_messaging = "blocked";
    p.blocked_outputs_messaging = "blocked";
    for (const char* pat : {"[0-9]{3,}", "(?i)acme[a-z]*", "x+y"}) {
      RegexRule rx;
      rx.name = std::string("rx") + pat[1];
      rx.pattern = pat;
      rx.action = rx.input_action = rx.output_action = PiiAction::kAnonymize;
      p.regexes.push_back(rx);
    }
    for (int t = 0; t < kNumPiiTypes; ++t) {
      PiiRule r;
      r.type = static_cast<PiiType>(t);
      r.action = r.input_action = r.output_action = PiiAction::kAnonymize;
      p.pii_rules.push_back(r);
    }
    return Guardrail::Create(p)->release();
  }();
  return *g;
}

const confide::guard::TopicMatcher& Topics() {
  static const confide::guard::TopicMatcher m(
      {{"Investing", "Advice on which stocks or funds to buy.", {"Which stock should I buy?"}},
       {"Health", "Diagnosing illness from symptoms.", {}}});
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confide::guard;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t last_end = 0;
  for (const auto& m : PiiDetector::Default().Detect(text)) {
    Check(m.begin < m.end && m.end <= text.size(), "PII match out of bounds");
    Check(m.begin >= last_end, "PII matches overlap or are unsorted");
    last_end = m.end;
  }
  static const std::unique_ptr<WordFilter> words =
      *WordFilter::Create({"darn", "heck off"}, /*managed_profanity=*/true);
  last_end = 0;
  for (const auto& m : words->Find(text)) {
    Check(m.begin < m.end && m.end <= text.size(), "word match out of bounds");
    Check(m.begin >= last_end, "word matches overlap or are unsorted");
    last_end = m.end;
  }
  GuardrailResult r = Anonymizer().Apply(text, Source::kInput);
  if (r.intervened) {
    // Re-expand the tags from their recorded offsets: the masked text restores to the input.
    std::string restored;
    size_t pos = 0;
    for (const auto& v : r.anonymization) {
      Check(v.output_offset >= pos && r.output.compare(v.output_offset, v.tag.size(), v.tag) == 0,
            "anonymization tag not at its offset");
      restored.append(r.output, pos, v.output_offset - pos);
      restored.append(v.original);
      pos = v.output_offset + v.tag.size();
    }
    restored.append(r.output, pos, std::string::npos);
    Check(restored == text, "anonymized text does not restore to the input");
  }
  if (const ContentModel* cm = ContentModel::Default()) {
    // Guardrail's shared pass (one normalisation and n-gram hashing for both classifiers)
    // equals the separate calls.
    if (const PromptAttackModel* pa = PromptAttackModel::Default()) {
      ClassifierScores both = ScoreClassifiers(text, pa, cm, ProfanityHint::kUnknown);
      Check(both.attack == pa->Score(text) && both.content == cm->Scores(text),
            "shared classifier pass differs from separate calls");
    }
    auto scores = cm->Scores(text);
    Check(scores == cm->Scores(text), "content scores not deterministic");
    for (int c = 0; c < kNumContentCategories; ++c) {
      Check(scores[c] >= 0 && scores[c] <= 1, "content score out of [0,1]");
      auto type = static_cast<ContentFilterType>(c);
      bool prev = false;
      for (Strength st : {Strength::kNone, Strength::kLow, Strength::kMedium, Strength::kHigh}) {
        bool b = scores[c] >= cm->Threshold(type, st);
        Check(!prev || b, "content strengths not monotone");
        prev = b;
      }
    }
  }
  for (const auto& ts : Topics().Score(text)) {
    Check(ts.score >= 0 && ts.score <= 1, "topic score out of [0,1]");
  }
  // Grounding: the input split at the first two NUL bytes into answer, source and query.
  size_t a = text.find('\0');
  size_t b = a == std::string_view::npos ? a : text.find('\0', a + 1);
  std::string_view answer = text.substr(0, a);
  std::string source =
      a == std::string_view::npos ? "" : std::string(text.substr(a + 1, b - a - 1));
  std::string_view query = b == std::string_view::npos ? "" : text.substr(b + 1);
  GroundingScore gs = ScoreGrounding(answer, {source}, query);
  Check(gs.grounding >= 0 && gs.grounding <= 1 && gs.relevance >= 0 && gs.relevance <= 1,
        "grounding score out of [0,1]");
  GroundingScore again = ScoreGrounding(answer, {source}, query);
  Check(gs.grounding == again.grounding && gs.relevance == again.relevance,
        "grounding not deterministic");
  return 0;
}
