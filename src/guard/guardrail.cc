#include "guard/guardrail.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace confide::guard {

absl::StatusOr<std::unique_ptr<Guardrail>> Guardrail::Create(Policy policy) {
  if (!policy.regexes.empty()) {
    return absl::UnimplementedError("guard: regexesConfig is not enforced by this build");
  }
  std::unique_ptr<Guardrail> g(new Guardrail());
  for (const auto& f : policy.content_filters) {
    if (f.type == ContentFilterType::kPromptAttack) {
      // PROMPT_ATTACK applies to input only (the parser rejects another output strength).
      if (f.input_strength == Strength::kNone) continue;
      g->attack_model_ = PromptAttackModel::Default();
      if (g->attack_model_ == nullptr) {
        return absl::FailedPreconditionError("guard: built-in prompt attack model did not load");
      }
      g->attack_strength_ = f.input_strength;
      continue;
    }
    if (f.input_strength != Strength::kNone || f.output_strength != Strength::kNone) {
      return absl::UnimplementedError(
          "guard: contentPolicyConfig other than PROMPT_ATTACK is not enforced by this build");
    }
  }
  if (!policy.denied_topics.empty()) {
    return absl::UnimplementedError("guard: topicPolicyConfig is not enforced by this build");
  }
  if (!policy.grounding_filters.empty()) {
    return absl::UnimplementedError(
        "guard: contextualGroundingPolicyConfig is not enforced by this build");
  }
  if (!policy.words.empty() || policy.managed_profanity) {
    ASSIGN_OR_RETURN(g->words_, WordFilter::Create(policy.words, policy.managed_profanity));
  }
  for (const auto& r : policy.pii_rules) {
    int t = static_cast<int>(r.type);
    g->input_types_.set(t, r.input_enabled);
    g->output_types_.set(t, r.output_enabled);
    g->input_action_[t] = r.input_action;
    g->output_action_[t] = r.output_action;
  }
  g->digest_ = PolicyDigest(policy);
  g->policy_ = std::move(policy);
  return g;
}

GuardrailResult Guardrail::Apply(std::string_view text, Source source) const {
  GuardrailResult r;
  if (source == Source::kInput && attack_model_ != nullptr) {
    double score = attack_model_->Score(text);
    Strength confidence = Strength::kNone;
    for (Strength s : {Strength::kHigh, Strength::kMedium, Strength::kLow}) {
      // The LOW strength's threshold is the highest: reaching it is HIGH confidence.
      Strength level = s == Strength::kHigh  ? Strength::kLow
                       : s == Strength::kLow ? Strength::kHigh
                                             : Strength::kMedium;
      if (score >= attack_model_->Threshold(s)) confidence = level;
    }
    bool blocked = score >= attack_model_->Threshold(attack_strength_);
    if (confidence != Strength::kNone) {
      r.content.push_back(ContentFinding{ContentFilterType::kPromptAttack, confidence,
                                         attack_strength_, score, blocked});
    }
    if (blocked) r.blocked = true;
  }
  if (words_) {
    for (const auto& m : words_->Find(text)) {
      r.words.push_back(WordFinding{std::string(text.substr(m.begin, m.end - m.begin)),
                                    words_->entry(m.entry).managed});
      r.blocked = true;
    }
  }
  const PiiTypeSet& types = source == Source::kInput ? input_types_ : output_types_;
  const PiiAction* actions = source == Source::kInput ? input_action_ : output_action_;
  std::vector<PiiMatch> masks;
  if (types.any()) {
    for (const auto& m : PiiDetector::Default().Detect(text, types)) {
      PiiAction a = actions[static_cast<int>(m.type)];
      r.pii.push_back(PiiFinding{m.type, std::string(text.substr(m.begin, m.end - m.begin)), a});
      if (a == PiiAction::kBlock) r.blocked = true;
      if (a == PiiAction::kAnonymize) masks.push_back(m);
    }
  }
  if (r.blocked) {
    r.intervened = true;
    r.output = source == Source::kInput ? policy_.blocked_input_messaging
                                        : policy_.blocked_outputs_messaging;
    return r;
  }
  if (!masks.empty()) {
    r.intervened = true;
    size_t pos = 0;
    for (const auto& m : masks) {
      std::string tag = absl::StrCat("{", std::string(PiiTypeName(m.type)), "}");
      r.output.append(text.substr(pos, m.begin - pos));
      r.anonymization.push_back(
          MaskedValue{tag, r.output.size(), std::string(text.substr(m.begin, m.end - m.begin))});
      r.output.append(tag);
      pos = m.end;
    }
    r.output.append(text.substr(pos));
  }
  return r;
}

nlohmann::ordered_json ToApplyGuardrailJson(const GuardrailResult& result) {
  using J = nlohmann::ordered_json;
  J out;
  out["action"] = result.intervened ? "GUARDRAIL_INTERVENED" : "NONE";
  out["outputs"] = J::array();
  if (result.intervened) out["outputs"].push_back({{"text", result.output}});
  J custom = J::array(), managed = J::array(), pii = J::array();
  for (const auto& w : result.words) {
    if (w.managed) {
      managed.push_back({{"match", w.match}, {"type", "PROFANITY"}, {"action", "BLOCKED"}});
    } else {
      custom.push_back({{"match", w.match}, {"action", "BLOCKED"}});
    }
  }
  for (const auto& p : result.pii) {
    const char* action = p.action == PiiAction::kBlock       ? "BLOCKED"
                         : p.action == PiiAction::kAnonymize ? "ANONYMIZED"
                                                             : "NONE";
    pii.push_back({{"match", p.match}, {"type", PiiTypeName(p.type)}, {"action", action}});
  }
  J assessment = J::object();
  if (!result.content.empty()) {
    J filters = J::array();
    for (const auto& c : result.content) {
      filters.push_back({{"type", ContentFilterTypeName(c.type)},
                         {"confidence", StrengthName(c.confidence)},
                         {"filterStrength", StrengthName(c.filter_strength)},
                         {"action", c.blocked ? "BLOCKED" : "NONE"}});
    }
    assessment["contentPolicy"] = {{"filters", filters}};
  }
  if (!custom.empty() || !managed.empty()) {
    assessment["wordPolicy"] = {{"customWords", custom}, {"managedWordLists", managed}};
  }
  if (!pii.empty()) {
    assessment["sensitiveInformationPolicy"] = {{"piiEntities", pii}, {"regexes", J::array()}};
  }
  out["assessments"] = J::array();
  out["assessments"].push_back(assessment);
  return out;
}

}  // namespace confide::guard
