// confide::guard policy: a guardrail configuration in the JSON shape of Bedrock's
// CreateGuardrail request, validated against Bedrock's limits, with a canonical digest that the
// enclave puts into its measured configuration.
#ifndef CONFIDE_GUARD_POLICY_H_
#define CONFIDE_GUARD_POLICY_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "guard/pii_types.h"

namespace confide::guard {

// kMaxPolicyBytes caps the JSON text ParsePolicy accepts (10,000 words of 100 characters fit).
inline constexpr size_t kMaxPolicyBytes = 4 * 1024 * 1024;

// Strength is a content filter strength (GuardrailFilterStrength).
enum class Strength { kNone, kLow, kMedium, kHigh };

// ContentFilterType is a content filter category (GuardrailContentFilterType).
enum class ContentFilterType { kHate, kInsults, kSexual, kViolence, kMisconduct, kPromptAttack };

// PiiAction is what a sensitive-information rule does with a match
// (GuardrailSensitiveInformationAction).
enum class PiiAction { kBlock, kAnonymize, kNone };

// GroundingType is a contextual grounding filter type.
enum class GroundingType { kGrounding, kRelevance };

// ContentFilter is one entry of contentPolicyConfig.filtersConfig.
struct ContentFilter {
  ContentFilterType type = ContentFilterType::kHate;
  Strength input_strength = Strength::kNone;
  Strength output_strength = Strength::kNone;
};

// DeniedTopic is one entry of topicPolicyConfig.topicsConfig (type is always DENY).
struct DeniedTopic {
  std::string name;
  std::string definition;
  std::vector<std::string> examples;
};

// PiiRule is one entry of piiEntitiesConfig. `action` is required; input/output actions default
// to it, and input/output are enabled unless the policy says otherwise.
struct PiiRule {
  PiiType type = PiiType::kEmail;
  PiiAction action = PiiAction::kNone;
  PiiAction input_action = PiiAction::kNone;
  PiiAction output_action = PiiAction::kNone;
  bool input_enabled = true;
  bool output_enabled = true;
};

// RegexRule is one entry of regexesConfig. The pattern is RE2 syntax, compiled at validation
// (ValidateRegexPattern) and matched by RegexFilter.
struct RegexRule {
  std::string name;
  std::string description;
  std::string pattern;
  PiiAction action = PiiAction::kNone;
  PiiAction input_action = PiiAction::kNone;
  PiiAction output_action = PiiAction::kNone;
  bool input_enabled = true;
  bool output_enabled = true;
};

// GroundingFilter is one entry of contextualGroundingPolicyConfig.filtersConfig.
struct GroundingFilter {
  GroundingType type = GroundingType::kGrounding;
  double threshold = 0;
};

// Policy is a validated guardrail policy. Optional sections are empty when absent.
struct Policy {
  std::string name;
  std::string description;
  std::string blocked_input_messaging;
  std::string blocked_outputs_messaging;
  std::vector<ContentFilter> content_filters;
  std::vector<DeniedTopic> denied_topics;
  std::vector<std::string> words;
  bool managed_profanity = false;
  std::vector<PiiRule> pii_rules;
  std::vector<RegexRule> regexes;
  std::vector<GroundingFilter> grounding_filters;
};

// ParsePolicy parses and validates a CreateGuardrail-shaped JSON policy. InvalidArgument, with
// a message naming the field and the limit, for: text over kMaxPolicyBytes, malformed JSON,
// duplicate keys, nesting deeper than 8, unknown fields, wrong types, a value outside Bedrock's
// limits or enums, duplicate filter/entity types, a PROMPT_ATTACK output strength other than
// NONE, or a regex pattern RE2 rejects (the message names RE2's reason). Messages never quote
// policy text.
absl::StatusOr<Policy> ParsePolicy(std::string_view json_text);

// CanonicalPolicyJson returns the canonical form of `policy`: JSON with every per-entry default
// made explicit (inputAction, outputAction, inputEnabled, outputEnabled), empty sections and an
// empty description left out, duplicate words dropped, object keys sorted, no insignificant
// whitespace, order-free lists sorted (filters and entities by type, words by bytes, topics and
// regexes by name). Two policies that behave the same serialise the same.
// ParsePolicy(CanonicalPolicyJson(p)) gives back p (normalised).
std::string CanonicalPolicyJson(const Policy& policy);

// PolicyDigest returns SHA-256 of CanonicalPolicyJson(policy) (32 bytes).
Bytes PolicyDigest(const Policy& policy);

// StrengthName / ContentFilterTypeName / PiiActionName return Bedrock's spelling.
std::string_view StrengthName(Strength s);
std::string_view ContentFilterTypeName(ContentFilterType t);
std::string_view PiiActionName(PiiAction a);

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_POLICY_H_
