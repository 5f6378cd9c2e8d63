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
#include "guard/pii.h"
#include "guard/policy.h"
#include "guard/prompt_attack.h"
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

// ContentFinding is one content-filter assessment (only PROMPT_ATTACK in this build):
// `confidence` is the highest strength whose threshold the score reaches (kNone below all),
// as Bedrock's filter confidence; `blocked` when the policy's strength blocks it.
struct ContentFinding {
  ContentFilterType type;
  Strength confidence;
  Strength filter_strength;
  double score;
  bool blocked;
};

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
  std::vector<MaskedValue> anonymization;
};

// Guardrail applies a policy's word and sensitive-information filters. Immutable after
// Create; Apply is const and safe to call from several threads.
class Guardrail {
 public:
  // Create compiles `policy`. Unimplemented (fail closed) if the policy asks for a filter this
  // build does not enforce yet: custom regexes, content filters other than PROMPT_ATTACK with
  // a strength other than NONE, denied topics or contextual grounding; FailedPrecondition if
  // PROMPT_ATTACK is on and the built-in model did not load. InvalidArgument from
  // WordFilter::Create.
  static absl::StatusOr<std::unique_ptr<Guardrail>> Create(Policy policy);

  // Apply evaluates `text` as `source`. A prompt attack scoring at or above the INPUT
  // strength's threshold (PromptAttackModel::Threshold), word matches and BLOCK entities block
  // (output = the policy's blocked message); otherwise ANONYMIZE entities are replaced by "{TYPE}"
  // tags.
  GuardrailResult Apply(std::string_view text, Source source) const;

  // policy returns the compiled policy; digest its PolicyDigest (computed once).
  const Policy& policy() const { return policy_; }
  const Bytes& digest() const { return digest_; }

 private:
  Guardrail() = default;
  Policy policy_;
  Bytes digest_;
  std::unique_ptr<WordFilter> words_;
  const PromptAttackModel* attack_model_ = nullptr;
  Strength attack_strength_ = Strength::kNone;
  PiiTypeSet input_types_, output_types_;
  PiiAction input_action_[kNumPiiTypes] = {};
  PiiAction output_action_[kNumPiiTypes] = {};
};

// ToApplyGuardrailJson returns the result in ApplyGuardrail's response shape:
// {"action": "NONE"|"GUARDRAIL_INTERVENED", "outputs": [{"text": ...}], "assessments": [
//   {"wordPolicy": {"customWords": [...], "managedWordLists": [...]},
//    "sensitiveInformationPolicy": {"piiEntities": [...], "regexes": []},
//    "contentPolicy": {"filters": [{"type", "confidence", "filterStrength", "action"}]}}]};
// each policy key appears only when it has entries.
nlohmann::ordered_json ToApplyGuardrailJson(const GuardrailResult& result);

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_GUARDRAIL_H_
