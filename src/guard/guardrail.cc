#include "guard/guardrail.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "guard/grounding.h"

namespace confide::guard {

absl::StatusOr<std::unique_ptr<Guardrail>> Guardrail::Create(Policy policy) {
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
    int c = static_cast<int>(f.type);
    g->content_input_[c] = f.input_strength;
    g->content_output_[c] = f.output_strength;
    if (f.input_strength == Strength::kNone && f.output_strength == Strength::kNone) continue;
    g->content_model_ = ContentModel::Default();
    if (g->content_model_ == nullptr) {
      return absl::FailedPreconditionError("guard: built-in content model did not load");
    }
  }
  if (!policy.denied_topics.empty()) {
    g->topics_ = std::make_unique<TopicMatcher>(policy.denied_topics);
  }
  if (!policy.regexes.empty()) {
    ASSIGN_OR_RETURN(g->regexes_, RegexFilter::Create(policy.regexes));
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

bool Guardrail::GuardsOutput() const {
  if (words_ || topics_ || !policy_.grounding_filters.empty()) return true;
  for (const auto& r : policy_.pii_rules) {
    if (r.output_enabled && r.output_action != PiiAction::kNone) return true;
  }
  for (const auto& r : policy_.regexes) {
    if (r.output_enabled && r.output_action != PiiAction::kNone) return true;
  }
  for (Strength s : content_output_) {
    if (s != Strength::kNone) return true;
  }
  return false;
}

GuardrailResult Guardrail::Apply(std::string_view text, Source source) const {
  return Apply(text, nullptr, source);
}

GuardrailResult Guardrail::Apply(const GuardrailInput& input, Source source) const {
  return Apply(input.guard_content, &input, source);
}

GuardrailResult Guardrail::Apply(std::string_view text, const GuardrailInput* context,
                                 Source source) const {
  GuardrailResult r;
  // The word filter runs first: when it includes the managed list, the content gate reuses
  // whether a managed word matched instead of scanning the text again.
  std::vector<WordMatch> word_matches;
  ProfanityHint hint = ProfanityHint::kUnknown;
  if (words_) {
    bool managed_hit = false;
    word_matches = words_->Find(text, &managed_hit);
    if (policy_.managed_profanity) {
      hint = managed_hit ? ProfanityHint::kFound : ProfanityHint::kNotFound;
    }
  }
  const PromptAttackModel* attack = source == Source::kInput ? attack_model_ : nullptr;
  const ContentModel* content = nullptr;
  const Strength* strengths = source == Source::kInput ? content_input_ : content_output_;
  if (content_model_ != nullptr && std::any_of(strengths, strengths + kNumContentCategories,
                                               [](Strength s) { return s != Strength::kNone; })) {
    content = content_model_;
  }
  // One normalisation and n-gram pass for both classifiers.
  ClassifierScores scores;
  if (attack != nullptr || content != nullptr) {
    scores = ScoreClassifiers(text, attack, content, hint);
  }
  if (attack != nullptr) {
    double score = scores.attack;
    Strength confidence = attack_model_->Confidence(score);
    bool blocked = score >= attack_model_->Threshold(attack_strength_);
    if (confidence != Strength::kNone) {
      r.content.push_back(ContentFinding{ContentFilterType::kPromptAttack, confidence,
                                         attack_strength_, score, blocked});
    }
    if (blocked) r.blocked = true;
  }
  if (content != nullptr) {
    for (int c = 0; c < kNumContentCategories; ++c) {
      if (strengths[c] == Strength::kNone) continue;
      auto type = static_cast<ContentFilterType>(c);
      double score = scores.content[c];
      Strength confidence = content->Confidence(type, score);
      bool blocked = score >= content->Threshold(type, strengths[c]);
      if (confidence != Strength::kNone) {
        r.content.push_back(ContentFinding{type, confidence, strengths[c], score, blocked});
      }
      if (blocked) r.blocked = true;
    }
  }
  if (topics_) {
    for (const auto& s : topics_->Score(text)) {
      if (s.score < kTopicThreshold) continue;
      r.topics.push_back(TopicFinding{policy_.denied_topics[s.topic].name, s.score});
      r.blocked = true;
    }
  }
  if (words_) {
    for (const auto& m : word_matches) {
      r.words.push_back(WordFinding{std::string(text.substr(m.begin, m.end - m.begin)),
                                    words_->entry(m.entry).managed});
      r.blocked = true;
    }
  }
  // Spans to mask: [begin, end) and the tag, from PII entities and custom regexes.
  struct Mask {
    size_t begin, end;
    std::string tag;
  };
  std::vector<Mask> masks;
  const PiiTypeSet& types = source == Source::kInput ? input_types_ : output_types_;
  const PiiAction* actions = source == Source::kInput ? input_action_ : output_action_;
  if (types.any()) {
    for (const auto& m : PiiDetector::Default().Detect(text, types)) {
      PiiAction a = actions[static_cast<int>(m.type)];
      r.pii.push_back(PiiFinding{m.type, std::string(text.substr(m.begin, m.end - m.begin)), a});
      if (a == PiiAction::kBlock) r.blocked = true;
      if (a == PiiAction::kAnonymize) {
        masks.push_back(
            Mask{m.begin, m.end, absl::StrCat("{", std::string(PiiTypeName(m.type)), "}")});
      }
    }
  }
  if (regexes_) {
    for (const auto& m : regexes_->Find(text, source == Source::kInput)) {
      const RegexRule& rule = regexes_->rule(m.rule);
      PiiAction a = source == Source::kInput ? rule.input_action : rule.output_action;
      r.regexes.push_back(RegexFinding{
          rule.name, std::string(text.substr(m.begin, m.end - m.begin)), rule.pattern, a});
      if (a == PiiAction::kBlock) r.blocked = true;
      if (a == PiiAction::kAnonymize) masks.push_back(Mask{m.begin, m.end, "{" + rule.name + "}"});
    }
  }
  if (source == Source::kOutput && context != nullptr) {
    const GuardrailInput& input = *context;
    bool have_sources = !input.grounding_sources.empty();
    if (have_sources || input.has_query) {
      GroundingScore gs =
          ScoreGrounding(text, input.grounding_sources, input.has_query ? input.query : "");
      for (const auto& f : policy_.grounding_filters) {
        bool grounding = f.type == GroundingType::kGrounding;
        // Grounding needs sources and relevance a query; a check without its input is skipped.
        if (grounding ? !have_sources : !input.has_query) continue;
        double score = grounding ? gs.grounding : gs.relevance;
        bool blocked = score < f.threshold;
        r.grounding.push_back(GroundingFinding{f.type, f.threshold, score, blocked});
        if (blocked) r.blocked = true;
      }
    }
  }
  if (r.blocked) {
    r.intervened = true;
    r.output = source == Source::kInput ? policy_.blocked_input_messaging
                                        : policy_.blocked_outputs_messaging;
    return r;
  }
  if (!masks.empty()) {
    // PII and regex spans may overlap: the earlier-starting (then longer) one is masked.
    std::stable_sort(masks.begin(), masks.end(), [](const Mask& a, const Mask& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
    });
    r.intervened = true;
    size_t pos = 0;
    for (const auto& m : masks) {
      if (m.begin < pos) continue;
      r.output.append(text.substr(pos, m.begin - pos));
      r.anonymization.push_back(
          MaskedValue{m.tag, r.output.size(), std::string(text.substr(m.begin, m.end - m.begin))});
      r.output.append(m.tag);
      pos = m.end;
    }
    r.output.append(text.substr(pos));
  }
  return r;
}

absl::StatusOr<GuardrailInput> ParseApplyGuardrailContent(const nlohmann::json& content) {
  constexpr size_t kMaxBlocks = 1000;
  if (!content.is_array() || content.empty() || content.size() > kMaxBlocks) {
    return absl::InvalidArgumentError("guard: content must be an array of 1 to 1000 blocks");
  }
  GuardrailInput in;
  bool any_guarded = false;
  for (size_t i = 0; i < content.size(); ++i) {
    auto bad = [i](const char* what) {
      return absl::InvalidArgumentError(absl::StrCat("guard: content[", i, "]: ", what));
    };
    const auto& block = content[i];
    if (!block.is_object() || block.size() != 1 || !block.contains("text")) {
      return bad("must be {\"text\": {...}}");
    }
    const auto& t = block["text"];
    if (!t.is_object() || !t.contains("text") || !t["text"].is_string()) {
      return bad("text.text must be a string");
    }
    bool guarded = false, source = false, query = false;
    for (auto it = t.begin(); it != t.end(); ++it) {
      if (it.key() == "text") continue;
      if (it.key() != "qualifiers") return bad("unknown field in text");
      if (!it->is_array()) return bad("text.qualifiers must be an array");
      for (const auto& q : *it) {
        if (!q.is_string()) return bad("qualifier must be a string");
        const std::string& s = q.get_ref<const std::string&>();
        if (s == "guard_content") {
          guarded = true;
        } else if (s == "grounding_source") {
          source = true;
        } else if (s == "query") {
          query = true;
        } else {
          return bad("qualifier must be grounding_source, query or guard_content");
        }
      }
    }
    const std::string& text = t["text"].get_ref<const std::string&>();
    // Unqualified blocks are guarded, as ApplyGuardrail does.
    if (guarded || (!source && !query)) {
      if (any_guarded) in.guard_content += "\n";
      in.guard_content += text;
      any_guarded = true;
    }
    if (source) in.grounding_sources.push_back(text);
    if (query) {
      if (in.has_query) in.query += "\n";
      in.query += text;
      in.has_query = true;
    }
  }
  return in;
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
  J regexes = J::array();
  for (const auto& x : result.regexes) {
    const char* action = x.action == PiiAction::kBlock       ? "BLOCKED"
                         : x.action == PiiAction::kAnonymize ? "ANONYMIZED"
                                                             : "NONE";
    regexes.push_back(
        {{"name", x.name}, {"match", x.match}, {"regex", x.regex}, {"action", action}});
  }
  if (!pii.empty() || !regexes.empty()) {
    assessment["sensitiveInformationPolicy"] = {{"piiEntities", pii}, {"regexes", regexes}};
  }
  if (!result.topics.empty()) {
    J topics = J::array();
    for (const auto& t : result.topics) {
      topics.push_back({{"name", t.name}, {"type", "DENY"}, {"action", "BLOCKED"}});
    }
    assessment["topicPolicy"] = {{"topics", topics}};
  }
  if (!result.grounding.empty()) {
    J filters = J::array();
    for (const auto& g : result.grounding) {
      filters.push_back({{"type", g.type == GroundingType::kGrounding ? "GROUNDING" : "RELEVANCE"},
                         {"threshold", g.threshold},
                         {"score", g.score},
                         {"action", g.blocked ? "BLOCKED" : "NONE"}});
    }
    assessment["contextualGroundingPolicy"] = {{"filters", filters}};
  }
  out["assessments"] = J::array();
  out["assessments"].push_back(assessment);
  return out;
}

}  // namespace confide::guard
