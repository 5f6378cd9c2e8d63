// Fuzzes the guard scanners (PII detectors, word filter, guardrail apply) on arbitrary bytes:
//  1. every match lies inside the text, matches are sorted and do not overlap;
//  2. anonymisation replaces exactly the reported spans (masked text re-expands to the input);
//  3. nothing crashes or reads out of bounds on invalid UTF-8.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "guard/guardrail.h"
#include "guard/pii.h"
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
  return 0;
}
