#include "guard/regex_filter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace confide::guard {
namespace {

RE2::Options FilterOptions() {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(kRegexMaxMemBytes);
  o.set_encoding(RE2::Options::EncodingUTF8);
  return o;
}

const char* Reason(RE2::ErrorCode code) {
  switch (code) {
    case RE2::ErrorBadEscape:
      return "bad escape sequence (RE2 has no backreferences)";
    case RE2::ErrorBadCharClass:
      return "bad character class";
    case RE2::ErrorBadCharRange:
      return "bad character class range";
    case RE2::ErrorMissingBracket:
      return "missing closing ]";
    case RE2::ErrorMissingParen:
      return "missing closing )";
    case RE2::ErrorUnexpectedParen:
      return "unexpected closing )";
    case RE2::ErrorTrailingBackslash:
      return "trailing backslash";
    case RE2::ErrorRepeatArgument:
      return "repetition operator without an argument";
    case RE2::ErrorRepeatSize:
      return "bad repetition count (RE2 allows at most 1000)";
    case RE2::ErrorRepeatOp:
      return "bad repetition operator";
    case RE2::ErrorBadPerlOp:
      return "invalid or unsupported Perl syntax (RE2 has no lookaround or backreferences)";
    case RE2::ErrorBadUTF8:
      return "invalid UTF-8";
    case RE2::ErrorBadNamedCapture:
      return "bad named capture group";
    case RE2::ErrorPatternTooLarge:
      return "pattern too large for the memory bound";
    default:
      return "invalid pattern";
  }
}

}  // namespace

struct RegexFilter::Impl {
  std::vector<std::unique_ptr<RE2>> res;
};

RegexFilter::RegexFilter() : impl_(std::make_unique<Impl>()) {}
RegexFilter::~RegexFilter() = default;

absl::Status ValidateRegexPattern(std::string_view pattern, const std::string& where) {
  RE2 re(re2::StringPiece(pattern.data(), pattern.size()), FilterOptions());
  if (!re.ok())
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", Reason(re.error_code())));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RegexFilter>> RegexFilter::Create(std::vector<RegexRule> rules) {
  std::unique_ptr<RegexFilter> f(new RegexFilter());
  for (size_t i = 0; i < rules.size(); ++i) {
    auto re = std::make_unique<RE2>(
        re2::StringPiece(rules[i].pattern.data(), rules[i].pattern.size()), FilterOptions());
    if (!re->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("guard: regexesConfig[", i, "].pattern: ", Reason(re->error_code())));
    }
    f->impl_->res.push_back(std::move(re));
  }
  f->rules_ = std::move(rules);
  return f;
}

std::vector<RegexMatch> RegexFilter::Find(std::string_view text, bool input) const {
  std::vector<RegexMatch> all;
  re2::StringPiece whole(text.data(), text.size());
  for (size_t r = 0; r < rules_.size(); ++r) {
    if (!(input ? rules_[r].input_enabled : rules_[r].output_enabled)) continue;
    const RE2& re = *impl_->res[r];
    size_t pos = 0, found = 0;
    re2::StringPiece m;
    while (pos <= text.size() && found < kMaxRegexMatches &&
           re.Match(whole, pos, text.size(), RE2::UNANCHORED, &m, 1)) {
      size_t b = static_cast<size_t>(m.data() - text.data());
      size_t e = b + m.size();
      if (e > b) {
        all.push_back(RegexMatch{r, b, e});
        ++found;
        pos = e;
      } else {
        pos = b + 1;  // empty match: step past it
      }
    }
  }
  std::sort(all.begin(), all.end(), [](const RegexMatch& a, const RegexMatch& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end > b.end;
    return a.rule < b.rule;
  });
  std::vector<RegexMatch> out;
  for (const auto& m : all) {
    if (!out.empty() && m.begin < out.back().end) continue;
    out.push_back(m);
  }
  return out;
}

}  // namespace confide::guard
