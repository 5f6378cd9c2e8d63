#include "guard/policy.h"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crypto/sha.h"
#include "guard/regex_filter.h"
#include "nlohmann/json.hpp"

namespace confide::guard {
namespace {

using Json = nlohmann::json;

// Limits of the CreateGuardrail request, from the Amazon Bedrock API reference:
//= https://docs.aws.amazon.com/bedrock/latest/APIReference/API_CreateGuardrail.html
//# name: Length Constraints: Minimum length of 1. Maximum length of 50.
//#   Pattern: ^[0-9a-zA-Z-_]+$
//# description: Minimum length of 1. Maximum length of 200.
//# blockedInputMessaging / blockedOutputsMessaging: Minimum length of 1. Maximum length of 500.
constexpr size_t kMaxNameChars = 50;
constexpr size_t kMaxDescriptionChars = 200;
constexpr size_t kMaxMessagingChars = 500;
//= https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GuardrailContentPolicyConfig.html
//# filtersConfig: Array Members: Minimum number of 1 item. Maximum number of 6 items.
constexpr size_t kMaxContentFilters = 6;
//= https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GuardrailTopicConfig.html
//# name: Minimum length of 1. Maximum length of 100. Pattern: ^[0-9a-zA-Z-_ !?.]+$
//# definition: Minimum length of 1. Maximum length of 200.
//# examples: Minimum number of 0 items. Maximum number of 5 items; each 1 to 100 characters.
//# (Bedrock quotas: 30 denied topics per guardrail.)
constexpr size_t kMaxTopics = 30;
constexpr size_t kMaxTopicNameChars = 100;
constexpr size_t kMaxTopicDefinitionChars = 200;
constexpr size_t kMaxTopicExamples = 5;
constexpr size_t kMaxTopicExampleChars = 100;
//= https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GuardrailWordPolicyConfig.html
//# wordsConfig: Minimum number of 1 item. Maximum number of 10000 items.
//= https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GuardrailWordConfig.html
//# text: Minimum length of 1. Maximum length of 100.
constexpr size_t kMaxWords = 10000;
constexpr size_t kMaxWordChars = 100;
//= https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GuardrailRegexConfig.html
//# name: 1 to 100 characters; description: 1 to 1000; pattern: 1 to 500.
//# (regexesConfig: Minimum number of 1 item; Bedrock quotas: 10 regexes per guardrail.)
constexpr size_t kMaxRegexes = 10;
constexpr size_t kMaxRegexNameChars = 100;
constexpr size_t kMaxRegexDescriptionChars = 1000;
constexpr size_t kMaxRegexPatternChars = 500;
//=
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GuardrailContextualGroundingFilterConfig.html
//# threshold: Valid Range: Minimum value of 0. Maximum value of 0.99 (values are doubles).
constexpr double kMaxGroundingThreshold = 0.99;
constexpr int kMaxDepth = 8;

constexpr std::array<std::string_view, 4> kStrengthNames = {"NONE", "LOW", "MEDIUM", "HIGH"};
constexpr std::array<std::string_view, 6> kContentTypeNames = {
    "HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT", "PROMPT_ATTACK"};
constexpr std::array<std::string_view, 3> kActionNames = {"BLOCK", "ANONYMIZE", "NONE"};
constexpr std::array<std::string_view, 2> kGroundingNames = {"GROUNDING", "RELEVANCE"};

absl::Status Invalid(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("guard policy: ", where, ": ", what));
}

// Utf8Chars counts code points (nlohmann has already validated the UTF-8).
size_t Utf8Chars(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Fields walks one JSON object: it hands out fields by name and, at the end, rejects any field
// that was not asked for.
class Fields {
 public:
  Fields(const Json& j, std::string where) : j_(j), where_(std::move(where)) {}

  absl::Status CheckObject() const {
    if (!j_.is_object()) return Invalid(where_, "must be an object");
    return absl::OkStatus();
  }
  const Json* Get(const std::string& key) {
    seen_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  absl::Status Done() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!seen_.count(it.key())) return Invalid(where_, "unknown field");
    }
    return absl::OkStatus();
  }
  const std::string& where() const { return where_; }

 private:
  const Json& j_;
  std::string where_;
  std::set<std::string> seen_;
};

absl::StatusOr<std::string> String(const Json* v, const std::string& where, size_t max_chars,
                                   bool required) {
  if (v == nullptr) {
    if (required) return Invalid(where, "is required");
    return std::string();
  }
  if (!v->is_string()) return Invalid(where, "must be a string");
  std::string s = v->get<std::string>();
  size_t n = Utf8Chars(s);
  if (n < 1 || n > max_chars) {
    return Invalid(where, absl::StrCat("length must be 1 to ", max_chars, " characters"));
  }
  return s;
}

template <size_t N>
absl::StatusOr<int> Enum(const Json* v, const std::string& where,
                         const std::array<std::string_view, N>& names) {
  if (v == nullptr) return Invalid(where, "is required");
  if (!v->is_string()) return Invalid(where, "must be a string");
  const std::string& s = v->get_ref<const std::string&>();
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<int>(i);
  }
  std::string allowed;
  for (auto n : names) absl::StrAppend(&allowed, allowed.empty() ? "" : "|", std::string(n));
  return Invalid(where, absl::StrCat("must be one of ", allowed));
}

absl::StatusOr<bool> OptionalBool(const Json* v, const std::string& where, bool dflt) {
  if (v == nullptr) return dflt;
  if (!v->is_boolean()) return Invalid(where, "must be a boolean");
  return v->get<bool>();
}

absl::Status Array(const Json* v, const std::string& where, size_t min_items, size_t max_items) {
  if (v == nullptr) {
    if (min_items > 0) return Invalid(where, "is required");
    return absl::OkStatus();
  }
  if (!v->is_array()) return Invalid(where, "must be an array");
  if (v->size() < min_items || v->size() > max_items) {
    return Invalid(where, absl::StrCat("must hold ", min_items, " to ", max_items, " items"));
  }
  return absl::OkStatus();
}

bool NameChars(const std::string& s, std::string_view extra) {
  for (unsigned char c : s) {
    if (!(std::isalnum(c) || extra.find(static_cast<char>(c)) != std::string_view::npos)) {
      return false;
    }
  }
  return true;
}

// Shared by piiEntitiesConfig and regexesConfig entries: action, inputAction, outputAction,
// inputEnabled, outputEnabled.
template <typename Rule>
absl::Status ParseActions(Fields& f, Rule* rule, bool allow_none) {
  ASSIGN_OR_RETURN(int action, Enum(f.Get("action"), f.where() + ".action", kActionNames));
  rule->action = static_cast<PiiAction>(action);
  if (!allow_none && rule->action == PiiAction::kNone) {
    return Invalid(f.where() + ".action", "must be BLOCK or ANONYMIZE");
  }
  rule->input_action = rule->action;
  rule->output_action = rule->action;
  if (const Json* v = f.Get("inputAction")) {
    ASSIGN_OR_RETURN(int a, Enum(v, f.where() + ".inputAction", kActionNames));
    rule->input_action = static_cast<PiiAction>(a);
  }
  if (const Json* v = f.Get("outputAction")) {
    ASSIGN_OR_RETURN(int a, Enum(v, f.where() + ".outputAction", kActionNames));
    rule->output_action = static_cast<PiiAction>(a);
  }
  ASSIGN_OR_RETURN(rule->input_enabled,
                   OptionalBool(f.Get("inputEnabled"), f.where() + ".inputEnabled", true));
  ASSIGN_OR_RETURN(rule->output_enabled,
                   OptionalBool(f.Get("outputEnabled"), f.where() + ".outputEnabled", true));
  return absl::OkStatus();
}

absl::Status ParseContent(const Json& j, Policy* p) {
  Fields f(j, "contentPolicyConfig");
  RETURN_IF_ERROR(f.CheckObject());
  const Json* filters = f.Get("filtersConfig");
  RETURN_IF_ERROR(Array(filters, "contentPolicyConfig.filtersConfig", 1, kMaxContentFilters));
  std::set<int> types;
  for (size_t i = 0; i < filters->size(); ++i) {
    std::string where = absl::StrCat("contentPolicyConfig.filtersConfig[", i, "]");
    Fields e((*filters)[i], where);
    RETURN_IF_ERROR(e.CheckObject());
    ContentFilter cf;
    ASSIGN_OR_RETURN(int t, Enum(e.Get("type"), where + ".type", kContentTypeNames));
    cf.type = static_cast<ContentFilterType>(t);
    if (!types.insert(t).second) return Invalid(where + ".type", "duplicate filter type");
    ASSIGN_OR_RETURN(int in,
                     Enum(e.Get("inputStrength"), where + ".inputStrength", kStrengthNames));
    ASSIGN_OR_RETURN(int out,
                     Enum(e.Get("outputStrength"), where + ".outputStrength", kStrengthNames));
    cf.input_strength = static_cast<Strength>(in);
    cf.output_strength = static_cast<Strength>(out);
    //= https://docs.aws.amazon.com/bedrock/latest/userguide/guardrails-prompt-attack.html
    //# Prompt attack filters ... apply only to the input; the output strength must be NONE.
    if (cf.type == ContentFilterType::kPromptAttack && cf.output_strength != Strength::kNone) {
      return Invalid(where + ".outputStrength", "must be NONE for PROMPT_ATTACK");
    }
    RETURN_IF_ERROR(e.Done());
    p->content_filters.push_back(cf);
  }
  return f.Done();
}

absl::Status ParseTopics(const Json& j, Policy* p) {
  Fields f(j, "topicPolicyConfig");
  RETURN_IF_ERROR(f.CheckObject());
  const Json* topics = f.Get("topicsConfig");
  RETURN_IF_ERROR(Array(topics, "topicPolicyConfig.topicsConfig", 1, kMaxTopics));
  std::set<std::string> names;
  for (size_t i = 0; i < topics->size(); ++i) {
    std::string where = absl::StrCat("topicPolicyConfig.topicsConfig[", i, "]");
    Fields e((*topics)[i], where);
    RETURN_IF_ERROR(e.CheckObject());
    DeniedTopic t;
    ASSIGN_OR_RETURN(t.name, String(e.Get("name"), where + ".name", kMaxTopicNameChars, true));
    if (!NameChars(t.name, "-_ !?.")) {
      return Invalid(where + ".name", "must match ^[0-9a-zA-Z-_ !?.]+$");
    }
    if (!names.insert(t.name).second) return Invalid(where + ".name", "duplicate topic name");
    ASSIGN_OR_RETURN(t.definition, String(e.Get("definition"), where + ".definition",
                                          kMaxTopicDefinitionChars, true));
    const Json* ex = e.Get("examples");
    RETURN_IF_ERROR(Array(ex, where + ".examples", 0, kMaxTopicExamples));
    if (ex != nullptr) {
      for (size_t k = 0; k < ex->size(); ++k) {
        ASSIGN_OR_RETURN(std::string s,
                         String(&(*ex)[k], where + absl::StrCat(".examples[", k, "]"),
                                kMaxTopicExampleChars, true));
        t.examples.push_back(std::move(s));
      }
    }
    ASSIGN_OR_RETURN(int type,
                     Enum(e.Get("type"), where + ".type", std::array<std::string_view, 1>{"DENY"}));
    (void)type;
    RETURN_IF_ERROR(e.Done());
    p->denied_topics.push_back(std::move(t));
  }
  return f.Done();
}

absl::Status ParseWords(const Json& j, Policy* p) {
  Fields f(j, "wordPolicyConfig");
  RETURN_IF_ERROR(f.CheckObject());
  const Json* words = f.Get("wordsConfig");
  const Json* managed = f.Get("managedWordListsConfig");
  if (words == nullptr && managed == nullptr) {
    return Invalid("wordPolicyConfig", "needs wordsConfig or managedWordListsConfig");
  }
  if (words != nullptr) {
    RETURN_IF_ERROR(Array(words, "wordPolicyConfig.wordsConfig", 1, kMaxWords));
    std::set<std::string> seen;
    for (size_t i = 0; i < words->size(); ++i) {
      std::string where = absl::StrCat("wordPolicyConfig.wordsConfig[", i, "]");
      Fields e((*words)[i], where);
      RETURN_IF_ERROR(e.CheckObject());
      ASSIGN_OR_RETURN(std::string text,
                       String(e.Get("text"), where + ".text", kMaxWordChars, true));
      RETURN_IF_ERROR(e.Done());
      if (seen.insert(text).second) p->words.push_back(std::move(text));
    }
  }
  if (managed != nullptr) {
    RETURN_IF_ERROR(Array(managed, "wordPolicyConfig.managedWordListsConfig", 1, 1));
    std::string where = "wordPolicyConfig.managedWordListsConfig[0]";
    Fields e((*managed)[0], where);
    RETURN_IF_ERROR(e.CheckObject());
    ASSIGN_OR_RETURN(
        int t, Enum(e.Get("type"), where + ".type", std::array<std::string_view, 1>{"PROFANITY"}));
    (void)t;
    RETURN_IF_ERROR(e.Done());
    p->managed_profanity = true;
  }
  return f.Done();
}

absl::Status ParseSensitive(const Json& j, Policy* p) {
  Fields f(j, "sensitiveInformationPolicyConfig");
  RETURN_IF_ERROR(f.CheckObject());
  const Json* pii = f.Get("piiEntitiesConfig");
  const Json* regexes = f.Get("regexesConfig");
  if (pii == nullptr && regexes == nullptr) {
    return Invalid("sensitiveInformationPolicyConfig", "needs piiEntitiesConfig or regexesConfig");
  }
  if (pii != nullptr) {
    RETURN_IF_ERROR(
        Array(pii, "sensitiveInformationPolicyConfig.piiEntitiesConfig", 1, kNumPiiTypes));
    std::set<int> types;
    for (size_t i = 0; i < pii->size(); ++i) {
      std::string where =
          absl::StrCat("sensitiveInformationPolicyConfig.piiEntitiesConfig[", i, "]");
      Fields e((*pii)[i], where);
      RETURN_IF_ERROR(e.CheckObject());
      ASSIGN_OR_RETURN(int t, Enum(e.Get("type"), where + ".type", kPiiTypeNames));
      if (!types.insert(t).second) return Invalid(where + ".type", "duplicate entity type");
      PiiRule rule;
      rule.type = static_cast<PiiType>(t);
      RETURN_IF_ERROR(ParseActions(e, &rule, /*allow_none=*/true));
      RETURN_IF_ERROR(e.Done());
      p->pii_rules.push_back(rule);
    }
  }
  if (regexes != nullptr) {
    RETURN_IF_ERROR(
        Array(regexes, "sensitiveInformationPolicyConfig.regexesConfig", 1, kMaxRegexes));
    std::set<std::string> names;
    for (size_t i = 0; i < regexes->size(); ++i) {
      std::string where = absl::StrCat("sensitiveInformationPolicyConfig.regexesConfig[", i, "]");
      Fields e((*regexes)[i], where);
      RETURN_IF_ERROR(e.CheckObject());
      RegexRule r;
      ASSIGN_OR_RETURN(r.name, String(e.Get("name"), where + ".name", kMaxRegexNameChars, true));
      if (!names.insert(r.name).second) return Invalid(where + ".name", "duplicate regex name");
      ASSIGN_OR_RETURN(r.description, String(e.Get("description"), where + ".description",
                                             kMaxRegexDescriptionChars, false));
      ASSIGN_OR_RETURN(r.pattern,
                       String(e.Get("pattern"), where + ".pattern", kMaxRegexPatternChars, true));
      // Compiled here (RE2, bounded memory) so an invalid pattern fails validation, not use.
      RETURN_IF_ERROR(ValidateRegexPattern(r.pattern, "guard policy: " + where + ".pattern"));
      RETURN_IF_ERROR(ParseActions(e, &r, /*allow_none=*/true));
      RETURN_IF_ERROR(e.Done());
      p->regexes.push_back(std::move(r));
    }
  }
  return f.Done();
}

absl::Status ParseGrounding(const Json& j, Policy* p) {
  Fields f(j, "contextualGroundingPolicyConfig");
  RETURN_IF_ERROR(f.CheckObject());
  const Json* filters = f.Get("filtersConfig");
  RETURN_IF_ERROR(Array(filters, "contextualGroundingPolicyConfig.filtersConfig", 1, 2));
  std::set<int> types;
  for (size_t i = 0; i < filters->size(); ++i) {
    std::string where = absl::StrCat("contextualGroundingPolicyConfig.filtersConfig[", i, "]");
    Fields e((*filters)[i], where);
    RETURN_IF_ERROR(e.CheckObject());
    GroundingFilter g;
    ASSIGN_OR_RETURN(int t, Enum(e.Get("type"), where + ".type", kGroundingNames));
    if (!types.insert(t).second) return Invalid(where + ".type", "duplicate filter type");
    g.type = static_cast<GroundingType>(t);
    const Json* th = e.Get("threshold");
    if (th == nullptr) return Invalid(where + ".threshold", "is required");
    if (!th->is_number()) return Invalid(where + ".threshold", "must be a number");
    g.threshold = th->get<double>();
    if (!(g.threshold >= 0 && g.threshold <= kMaxGroundingThreshold)) {
      return Invalid(where + ".threshold", "must be 0 to 0.99");
    }
    RETURN_IF_ERROR(e.Done());
    p->grounding_filters.push_back(g);
  }
  return f.Done();
}

// ParseStrict parses JSON without exceptions, rejecting duplicate keys and deep nesting.
absl::StatusOr<Json> ParseStrict(std::string_view text) {
  std::vector<std::set<std::string>> keys;
  bool duplicate = false;
  bool too_deep = false;
  Json::parser_callback_t cb = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth > kMaxDepth) too_deep = true;
    switch (event) {
      case Json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!keys.empty() && parsed.is_string() &&
            !keys.back().insert(parsed.get<std::string>()).second) {
          duplicate = true;
        }
        break;
      default:
        break;
    }
    return true;
  };
  Json j = Json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Invalid("json", "malformed");
  if (too_deep) return Invalid("json", absl::StrCat("nested deeper than ", kMaxDepth));
  if (duplicate) return Invalid("json", "duplicate key");
  return j;
}

Json ActionsJson(const auto& r) {
  return Json{{"action", PiiActionName(r.action)},
              {"inputAction", PiiActionName(r.input_action)},
              {"outputAction", PiiActionName(r.output_action)},
              {"inputEnabled", r.input_enabled},
              {"outputEnabled", r.output_enabled}};
}

}  // namespace

std::string_view StrengthName(Strength s) { return kStrengthNames[static_cast<int>(s)]; }
std::string_view ContentFilterTypeName(ContentFilterType t) {
  return kContentTypeNames[static_cast<int>(t)];
}
std::string_view PiiActionName(PiiAction a) { return kActionNames[static_cast<int>(a)]; }

absl::StatusOr<Policy> ParsePolicy(std::string_view json_text) {
  if (json_text.size() > kMaxPolicyBytes) {
    return Invalid("json", absl::StrCat("longer than ", kMaxPolicyBytes, " bytes"));
  }
  ASSIGN_OR_RETURN(Json j, ParseStrict(json_text));
  Fields f(j, "policy");
  RETURN_IF_ERROR(f.CheckObject());
  Policy p;
  ASSIGN_OR_RETURN(p.name, String(f.Get("name"), "name", kMaxNameChars, true));
  if (!NameChars(p.name, "-_")) return Invalid("name", "must match ^[0-9a-zA-Z-_]+$");
  ASSIGN_OR_RETURN(p.description,
                   String(f.Get("description"), "description", kMaxDescriptionChars, false));
  ASSIGN_OR_RETURN(
      p.blocked_input_messaging,
      String(f.Get("blockedInputMessaging"), "blockedInputMessaging", kMaxMessagingChars, true));
  ASSIGN_OR_RETURN(p.blocked_outputs_messaging,
                   String(f.Get("blockedOutputsMessaging"), "blockedOutputsMessaging",
                          kMaxMessagingChars, true));
  if (const Json* v = f.Get("contentPolicyConfig")) RETURN_IF_ERROR(ParseContent(*v, &p));
  if (const Json* v = f.Get("topicPolicyConfig")) RETURN_IF_ERROR(ParseTopics(*v, &p));
  if (const Json* v = f.Get("wordPolicyConfig")) RETURN_IF_ERROR(ParseWords(*v, &p));
  if (const Json* v = f.Get("sensitiveInformationPolicyConfig")) {
    RETURN_IF_ERROR(ParseSensitive(*v, &p));
  }
  if (const Json* v = f.Get("contextualGroundingPolicyConfig")) {
    RETURN_IF_ERROR(ParseGrounding(*v, &p));
  }
  RETURN_IF_ERROR(f.Done());
  return p;
}

std::string CanonicalPolicyJson(const Policy& policy) {
  Json j = Json::object();  // std::map keys: sorted by bytes.
  j["name"] = policy.name;
  if (!policy.description.empty()) j["description"] = policy.description;
  j["blockedInputMessaging"] = policy.blocked_input_messaging;
  j["blockedOutputsMessaging"] = policy.blocked_outputs_messaging;

  auto filters = policy.content_filters;
  std::sort(filters.begin(), filters.end(),
            [](const auto& a, const auto& b) { return a.type < b.type; });
  Json cf = Json::array();
  for (const auto& f : filters) {
    cf.push_back({{"type", ContentFilterTypeName(f.type)},
                  {"inputStrength", StrengthName(f.input_strength)},
                  {"outputStrength", StrengthName(f.output_strength)}});
  }
  if (!cf.empty()) j["contentPolicyConfig"] = {{"filtersConfig", cf}};

  auto topics = policy.denied_topics;
  std::sort(topics.begin(), topics.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  Json tc = Json::array();
  for (const auto& t : topics) {
    tc.push_back({{"name", t.name},
                  {"definition", t.definition},
                  {"examples", t.examples},
                  {"type", "DENY"}});
  }
  if (!tc.empty()) j["topicPolicyConfig"] = {{"topicsConfig", tc}};

  auto words = policy.words;
  std::sort(words.begin(), words.end());
  Json wc = Json::array();
  for (const auto& w : words) wc.push_back({{"text", w}});
  Json managed = Json::array();
  if (policy.managed_profanity) managed.push_back({{"type", "PROFANITY"}});
  Json wp = Json::object();
  if (!wc.empty()) wp["wordsConfig"] = wc;
  if (!managed.empty()) wp["managedWordListsConfig"] = managed;
  if (!wp.empty()) j["wordPolicyConfig"] = wp;

  auto pii = policy.pii_rules;
  std::sort(pii.begin(), pii.end(), [](const auto& a, const auto& b) { return a.type < b.type; });
  Json pc = Json::array();
  for (const auto& r : pii) {
    Json e = ActionsJson(r);
    e["type"] = PiiTypeName(r.type);
    pc.push_back(std::move(e));
  }
  auto regexes = policy.regexes;
  std::sort(regexes.begin(), regexes.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  Json rc = Json::array();
  for (const auto& r : regexes) {
    Json e = ActionsJson(r);
    e["name"] = r.name;
    if (!r.description.empty()) e["description"] = r.description;
    e["pattern"] = r.pattern;
    rc.push_back(std::move(e));
  }
  Json sp = Json::object();
  if (!pc.empty()) sp["piiEntitiesConfig"] = pc;
  if (!rc.empty()) sp["regexesConfig"] = rc;
  if (!sp.empty()) j["sensitiveInformationPolicyConfig"] = sp;

  auto grounding = policy.grounding_filters;
  std::sort(grounding.begin(), grounding.end(),
            [](const auto& a, const auto& b) { return a.type < b.type; });
  Json gc = Json::array();
  for (const auto& g : grounding) {
    gc.push_back({{"type", kGroundingNames[static_cast<int>(g.type)]}, {"threshold", g.threshold}});
  }
  if (!gc.empty()) j["contextualGroundingPolicyConfig"] = {{"filtersConfig", gc}};
  // ensure_ascii=false keeps UTF-8 as is; error_handler strict (input was validated UTF-8).
  return j.dump(-1, ' ', false, Json::error_handler_t::strict);
}

Bytes PolicyDigest(const Policy& policy) {
  std::string canonical = CanonicalPolicyJson(policy);
  return crypto::Sha256(AsBytes(canonical));
}

}  // namespace confide::guard
