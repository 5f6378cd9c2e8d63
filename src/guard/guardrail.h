// confide::guard Guardrail: a validated policy compiled into detectors, applied to one text
// per request, with a result shaped like Bedrock's ApplyGuardrail response.
#ifndef CONFIDE_GUARD_GUARDRAIL_H_
#define CONFIDE_GUARD_GUARDRAIL_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "guard/content.h"
#include "guard/pii.h"
#include "guard/policy.h"
#include "guard/prompt_attack.h"
#include "guard/regex_filter.h"
#include "guard/topics.h"
#include "guard/words.h"
#include "nlohmann/json.hpp"

namespace confide::guard {

// Source says whether the text is a prompt (INPUT) or a model response (OUTPUT).
enum class Source { kInput, kOutput };

// PiiFinding is one sensitive-information match and what the guardrail did with it.
struct PiiFinding {
  PiiType type;
  std::string match;
  PiiAction action;  // kBlock -> "BLOCKED", kAnonymize -> "ANONYMIZED", kNone -> "NONE"
};

// WordFinding is one word-policy match (always blocked).
struct WordFinding {
  std::string match;
  bool managed;
};

// ContentFinding is one content-filter assessment (a category or PROMPT_ATTACK): `confidence`
// is Bedrock's filter confidence (LinearModel::Confidence); `blocked` when the policy's
// strength for the source blocks that confidence. Reported when the confidence is not NONE.
struct ContentFinding {
  ContentFilterType type;
  Strength confidence;
  Strength filter_strength;
  double score;
  bool blocked;
};

// RegexFinding is one custom-regex match and what the guardrail did with it.
struct RegexFinding {
  std::string name;
  std::string match;
  std::string regex;
  PiiAction action;
};

// TopicFinding is one denied topic the text is on (always blocked).
struct TopicFinding {
  std::string name;
  double score;
};

// GroundingFinding is one contextual grounding check: blocked when score < threshold.
struct GroundingFinding {
  GroundingType type;
  double threshold;
  double score;
  bool blocked;
};

// GuardrailInput is ApplyGuardrail's content with its qualifiers: the text to guard (blocks
// qualified guard_content or unqualified), the grounding sources and the query (used only by
// contextual grounding, never filtered themselves).
struct GuardrailInput {
  std::string guard_content;
  std::vector<std::string> grounding_sources;
  std::string query;
  bool has_query = false;
};

// ParseApplyGuardrailContent reads ApplyGuardrail's `content` list:
// [{"text": {"text": "...", "qualifiers": ["grounding_source"|"query"|"guard_content"]}}, ...].
// Guarded blocks are joined with "\n", as are query blocks. InvalidArgument (naming the index)
// for a block that is not of that shape, an unknown qualifier, or more than 1,000 blocks.
absl::StatusOr<GuardrailInput> ParseApplyGuardrailContent(const nlohmann::json& content);

// MaskedValue is one anonymised value: `tag` ("{EMAIL}") sits at byte `output_offset` of the
// masked output in place of `original`.
struct MaskedValue {
  std::string tag;
  size_t output_offset;
  std::string original;
};

// GuardrailResult is the outcome of Guardrail::Apply. `anonymization` maps each mask tag
// occurrence, in text order, to the original value; it exists only in this object (request
// memory) and ToApplyGuardrailJson never serialises it.
struct GuardrailResult {
  bool intervened = false;
  bool blocked = false;
  std::string output;  // blocked message, masked text, or empty when nothing intervened
  std::vector<PiiFinding> pii;
  std::vector<WordFinding> words;
  std::vector<ContentFinding> content;
  std::vector<RegexFinding> regexes;
  std::vector<TopicFinding> topics;
  std::vector<GroundingFinding> grounding;
  std::vector<MaskedValue> anonymization;
};

// Guardrail applies a policy's filters: content categories and prompt attacks, denied topics,
// words, sensitive information (PII and custom regexes) and contextual grounding. Immutable
// after Create; Apply is const and safe to call from several threads.
class Guardrail {
 public:
  // Create compiles `policy`. FailedPrecondition if PROMPT_ATTACK (or a content category) is
  // on and the built-in prompt-attack (content) model did not load; InvalidArgument from
  // WordFilter::Create or RegexFilter::Create.
  static absl::StatusOr<std::unique_ptr<Guardrail>> Create(Policy policy);

  // Apply evaluates `text` as `source` (no grounding sources, no query: contextual grounding
  // is skipped). Equivalent to Apply(GuardrailInput{text}, source).
  GuardrailResult Apply(std::string_view text, Source source) const;

  // Apply evaluates `input.guard_content` as `source`. Blocking: a content category or prompt
  // attack whose confidence the source's strength blocks, a denied topic, a word match, a
  // BLOCK PII entity or regex, or (OUTPUT only, when the input has grounding sources / a query)
  // a grounding / relevance score below its threshold; output = the policy's blocked message.
  // Otherwise ANONYMIZE entities and regexes are replaced by "{TYPE}" / "{name}" tags.
  GuardrailResult Apply(const GuardrailInput& input, Source source) const;

  // GuardsOutput returns whether any filter of the policy can change or block OUTPUT text, so
  // a streaming caller knows whether it must hold back and re-check the answer.
  bool GuardsOutput() const;

  // policy returns the compiled policy; digest its PolicyDigest (computed once).
  const Policy& policy() const { return policy_; }
  const Bytes& digest() const { return digest_; }

 private:
  Guardrail() = default;
  // Apply evaluates `text`; `context` (may be null) supplies grounding sources and the query.
  GuardrailResult Apply(std::string_view text, const GuardrailInput* context, Source source) const;
  Policy policy_;
  Bytes digest_;
  std::unique_ptr<WordFilter> words_;
  std::unique_ptr<RegexFilter> regexes_;
  std::unique_ptr<TopicMatcher> topics_;
  const ContentModel* content_model_ = nullptr;
  Strength content_input_[kNumContentCategories] = {};
  Strength content_output_[kNumContentCategories] = {};
  const PromptAttackModel* attack_model_ = nullptr;
  Strength attack_strength_ = Strength::kNone;
  PiiTypeSet input_types_, output_types_;
  PiiAction input_action_[kNumPiiTypes] = {};
  PiiAction output_action_[kNumPiiTypes] = {};
};

// ToApplyGuardrailJson returns the result in ApplyGuardrail's response shape:
// {"action": "NONE"|"GUARDRAIL_INTERVENED", "outputs": [{"text": ...}], "assessments": [
//   {"wordPolicy": {"customWords": [...], "managedWordLists": [...]},
//    "sensitiveInformationPolicy": {"piiEntities": [...], "regexes": [{"name", "match", "regex",
//      "action"}]},
//    "contentPolicy": {"filters": [{"type", "confidence", "filterStrength", "action"}]},
//    "topicPolicy": {"topics": [{"name", "type": "DENY", "action": "BLOCKED"}]},
//    "contextualGroundingPolicy": {"filters": [{"type", "threshold", "score", "action"}]}}]};
// each policy key appears only when it has entries.
nlohmann::ordered_json ToApplyGuardrailJson(const GuardrailResult& result);

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_GUARDRAIL_H_
