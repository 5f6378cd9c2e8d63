// confide::guard custom regex filter (sensitiveInformationPolicyConfig.regexesConfig), on RE2:
// linear-time matching, no backtracking, bounded memory per pattern.
#ifndef CONFIDE_GUARD_REGEX_FILTER_H_
#define CONFIDE_GUARD_REGEX_FILTER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "guard/policy.h"

namespace confide::guard {

// kRegexMaxMemBytes bounds the memory RE2 may use for one compiled pattern (its DFA cache
// included); a pattern that needs more fails validation.
inline constexpr int64_t kRegexMaxMemBytes = 1 << 20;

// kMaxRegexMatches caps the matches one pattern reports in one text.
inline constexpr size_t kMaxRegexMatches = 4096;

// ValidateRegexPattern compiles `pattern` as RE2 would for the filter. InvalidArgument
// "<where>: <reason>" where reason names RE2's error class (e.g. "missing closing )",
// "invalid or unsupported Perl syntax (RE2 has no lookaround or backreferences)", "pattern
// too large for the memory bound"); never quotes the pattern.
absl::Status ValidateRegexPattern(std::string_view pattern, const std::string& where);

// RegexMatch is one match of the rule with index `rule`, bytes [begin, end) of the text.
struct RegexMatch {
  size_t rule;
  size_t begin, end;
};

// RegexFilter matches a policy's custom regexes. Immutable after Create; Find is const and
// thread-safe (RE2 objects are).
class RegexFilter {
 public:
  // Create compiles every rule (InvalidArgument as ValidateRegexPattern, naming the rule).
  static absl::StatusOr<std::unique_ptr<RegexFilter>> Create(std::vector<RegexRule> rules);
  ~RegexFilter();

  // Find returns the non-empty, leftmost-first matches of the rules enabled for the source
  // (`input` true: inputEnabled rules, else outputEnabled), sorted by begin and
  // non-overlapping (an earlier-starting match wins; on a tie the longer one, then the lower
  // rule index).
  std::vector<RegexMatch> Find(std::string_view text, bool input) const;

  const RegexRule& rule(size_t i) const { return rules_[i]; }
  size_t size() const { return rules_.size(); }

 private:
  struct Impl;
  RegexFilter();
  std::vector<RegexRule> rules_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_REGEX_FILTER_H_
