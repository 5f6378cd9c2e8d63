// confide::guard sensitive-information detectors for the 31 Bedrock PII entity types.
//
// Hand-written scanners, each linear in the text (every candidate is bounded in length), plus
// context keywords found with one Aho-Corasick pass. Structured identifiers are confirmed by
// their check digits or registry rules (validators.h); weakly structured ones (PIN, passport,
// account numbers, ...) are reported only next to a context keyword.
#ifndef CONFIDE_GUARD_PII_H_
#define CONFIDE_GUARD_PII_H_

#include <bitset>
#include <cstddef>
#include <string_view>
#include <vector>

#include "guard/aho_corasick.h"
#include "guard/pii_types.h"

namespace confide::guard {

// PiiMatch is one detected entity: `text.substr(begin, end - begin)` is the value (UTF-8 byte
// offsets, end exclusive).
struct PiiMatch {
  PiiType type;
  size_t begin;
  size_t end;
};

// PiiTypeSet selects entity types, indexed by PiiType.
using PiiTypeSet = std::bitset<kNumPiiTypes>;

// PiiDetector finds PII entities. Immutable after construction; Detect is const and may be
// called from several threads.
class PiiDetector {
 public:
  PiiDetector();

  // Default returns a process-wide detector (constructed on first use).
  static const PiiDetector& Default();

  // Detect returns the non-overlapping entities of the enabled types in `text`, sorted by
  // offset. Where candidates overlap, the more specific type wins (validated identifiers before
  // context-only ones, PHONE, AGE, ADDRESS and NAME last). Never fails; invalid UTF-8 is
  // scanned as bytes.
  std::vector<PiiMatch> Detect(std::string_view text, const PiiTypeSet& enabled) const;

  // Detect with every type enabled.
  std::vector<PiiMatch> Detect(std::string_view text) const;

 private:
  AhoCorasick context_;
};

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_PII_H_
