#include "guard/policy.h"

#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "gtest/gtest.h"
#include "guard/guardrail.h"
#include "nlohmann/json.hpp"

namespace confide::guard {
namespace {

using nlohmann::json;

json Minimal() {
  return json{{"name", "support-bot"},
              {"blockedInputMessaging", "Sorry, I can't take that."},
              {"blockedOutputsMessaging", "Sorry, I can't answer that."}};
}

json Full() {
  json j = Minimal();
  j["description"] = "guardrail for the support bot";
  j["contentPolicyConfig"] = {
      {"filtersConfig",
       {{{"type", "HATE"}, {"inputStrength", "HIGH"}, {"outputStrength", "MEDIUM"}},
        {{"type", "PROMPT_ATTACK"}, {"inputStrength", "HIGH"}, {"outputStrength", "NONE"}}}}};
  j["topicPolicyConfig"] = {{"topicsConfig",
                             {{{"name", "Investment advice"},
                               {"definition", "Recommendations about investing money."},
                               {"examples", {"Which stocks should I buy?"}},
                               {"type", "DENY"}}}}};
  j["wordPolicyConfig"] = {{"wordsConfig", {{{"text", "competitor"}}, {{"text", "acme corp"}}}},
                           {"managedWordListsConfig", {{{"type", "PROFANITY"}}}}};
  j["sensitiveInformationPolicyConfig"] = {
      {"piiEntitiesConfig",
       {{{"type", "EMAIL"}, {"action", "ANONYMIZE"}},
        {{"type", "US_SOCIAL_SECURITY_NUMBER"},
         {"action", "BLOCK"},
         {"outputAction", "ANONYMIZE"}}}},
      {"regexesConfig",
       {{{"name", "order"}, {"pattern", "ORD-[0-9]{6}"}, {"action", "ANONYMIZE"}}}}};
  j["contextualGroundingPolicyConfig"] = {
      {"filtersConfig", {{{"type", "GROUNDING"}, {"threshold", 0.75}}}}};
  return j;
}

TEST(Policy, ParsesFullPolicyAndRoundTripsCanonicalForm) {
  auto p = ParsePolicy(Full().dump());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->content_filters.size(), 2u);
  EXPECT_EQ(p->pii_rules[1].input_action, PiiAction::kBlock);
  EXPECT_EQ(p->pii_rules[1].output_action, PiiAction::kAnonymize);
  EXPECT_TRUE(p->managed_profanity);
  std::string canonical = CanonicalPolicyJson(*p);
  auto again = ParsePolicy(canonical);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(CanonicalPolicyJson(*again), canonical);
  EXPECT_EQ(PolicyDigest(*again), PolicyDigest(*p));
  EXPECT_EQ(canonical.find(' '), canonical.find(' '));  // keys sorted, compact: spot-check
  EXPECT_EQ(canonical.rfind("{\"blockedInputMessaging\"", 0), 0u);
}

TEST(Policy, DigestIgnoresOrderAndWhitespaceButNotContent) {
  json a = Full();
  json b = Full();
  std::swap(b["wordPolicyConfig"]["wordsConfig"][0], b["wordPolicyConfig"]["wordsConfig"][1]);
  std::swap(b["contentPolicyConfig"]["filtersConfig"][0],
            b["contentPolicyConfig"]["filtersConfig"][1]);
  auto pa = ParsePolicy(a.dump());
  auto pb = ParsePolicy(b.dump(4));
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_EQ(PolicyDigest(*pa), PolicyDigest(*pb));
  // Explicit defaults digest like omitted ones.
  json c = Full();
  c["sensitiveInformationPolicyConfig"]["piiEntitiesConfig"][0]["inputAction"] = "ANONYMIZE";
  c["sensitiveInformationPolicyConfig"]["piiEntitiesConfig"][0]["outputEnabled"] = true;
  auto pc = ParsePolicy(c.dump());
  ASSERT_TRUE(pc.ok());
  EXPECT_EQ(PolicyDigest(*pc), PolicyDigest(*pa));
  json d = Full();
  d["blockedInputMessaging"] = "Sorry, I can't take that!";
  auto pd = ParsePolicy(d.dump());
  ASSERT_TRUE(pd.ok());
  EXPECT_NE(PolicyDigest(*pd), PolicyDigest(*pa));
  EXPECT_EQ(PolicyDigest(*pa).size(), 32u);
}

struct BadCase {
  const char* what;
  std::function<void(json&)> mutate;
  const char* error_part;
};

TEST(Policy, RejectsWithPreciseErrors) {
  std::vector<BadCase> cases = {
      {"no name", [](json& j) { j.erase("name"); }, "name: is required"},
      {"long name", [](json& j) { j["name"] = std::string(51, 'a'); },
       "name: length must be 1 to 50"},
      {"name chars", [](json& j) { j["name"] = "a b"; }, "^[0-9a-zA-Z-_]+$"},
      {"long message", [](json& j) { j["blockedInputMessaging"] = std::string(501, 'x'); },
       "blockedInputMessaging: length must be 1 to 500"},
      {"unknown field", [](json& j) { j["extra"] = 1; }, "policy: unknown field"},
      {"bad strength",
       [](json& j) { j["contentPolicyConfig"]["filtersConfig"][0]["inputStrength"] = "MAX"; },
       "inputStrength: must be one of NONE|LOW|MEDIUM|HIGH"},
      {"prompt attack output",
       [](json& j) { j["contentPolicyConfig"]["filtersConfig"][1]["outputStrength"] = "LOW"; },
       "must be NONE for PROMPT_ATTACK"},
      {"dup filter", [](json& j) { j["contentPolicyConfig"]["filtersConfig"][1]["type"] = "HATE"; },
       "duplicate filter type"},
      {"6 examples",
       [](json& j) {
         j["topicPolicyConfig"]["topicsConfig"][0]["examples"] = {"a", "b", "c", "d", "e", "f"};
       },
       "examples: must hold 0 to 5 items"},
      {"long definition",
       [](json& j) {
         j["topicPolicyConfig"]["topicsConfig"][0]["definition"] = std::string(201, 'd');
       },
       "definition: length must be 1 to 200"},
      {"too many words",
       [](json& j) {
         json w = json::array();
         for (int i = 0; i < 10001; ++i) w.push_back({{"text", absl::StrCat("w", i)}});
         j["wordPolicyConfig"]["wordsConfig"] = w;
       },
       "wordsConfig: must hold 1 to 10000 items"},
      {"long word",
       [](json& j) { j["wordPolicyConfig"]["wordsConfig"][0]["text"] = std::string(101, 'w'); },
       "text: length must be 1 to 100"},
      {"bad managed",
       [](json& j) { j["wordPolicyConfig"]["managedWordListsConfig"][0]["type"] = "SLURS"; },
       "must be one of PROFANITY"},
      {"bad pii type",
       [](json& j) {
         j["sensitiveInformationPolicyConfig"]["piiEntitiesConfig"][0]["type"] = "DOB";
       },
       "piiEntitiesConfig[0].type: must be one of"},
      {"dup pii",
       [](json& j) {
         j["sensitiveInformationPolicyConfig"]["piiEntitiesConfig"][1]["type"] = "EMAIL";
       },
       "duplicate entity type"},
      {"threshold",
       [](json& j) { j["contextualGroundingPolicyConfig"]["filtersConfig"][0]["threshold"] = 1.0; },
       "threshold: must be 0 to 0.99"},
      {"regex pattern",
       [](json& j) {
         j["sensitiveInformationPolicyConfig"]["regexesConfig"][0]["pattern"] =
             std::string(501, 'x');
       },
       "pattern: length must be 1 to 500"},
      {"wrong type", [](json& j) { j["wordPolicyConfig"] = "x"; }, "must be an object"},
  };
  for (const auto& c : cases) {
    json j = Full();
    c.mutate(j);
    auto p = ParsePolicy(j.dump());
    ASSERT_FALSE(p.ok()) << c.what;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(std::string(p.status().message()).find(c.error_part), std::string::npos)
        << c.what << ": " << p.status().message();
  }
  EXPECT_EQ(cases.size(), 18u);
}

TEST(Policy, RejectsMalformedJsonDuplicateKeysAndDepth) {
  EXPECT_FALSE(ParsePolicy("{").ok());
  EXPECT_FALSE(ParsePolicy("").ok());
  auto dup = ParsePolicy(R"({"name":"a","name":"b","blockedInputMessaging":"x",
                             "blockedOutputsMessaging":"y"})");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(std::string(dup.status().message()).find("duplicate key"), std::string::npos);
  std::string deep = std::string(50, '[') + std::string(50, ']');
  EXPECT_FALSE(ParsePolicy(deep).ok());
  EXPECT_FALSE(ParsePolicy(std::string(kMaxPolicyBytes + 1, ' ')).ok());
}

TEST(Guardrail, AppliesWordsAndPiiLikeApplyGuardrail) {
  json j = Minimal();
  j["wordPolicyConfig"] = {{"wordsConfig", {{{"text", "acme corp"}}}}};
  j["sensitiveInformationPolicyConfig"] = {
      {"piiEntitiesConfig",
       {{{"type", "EMAIL"}, {"action", "ANONYMIZE"}},
        {{"type", "US_SOCIAL_SECURITY_NUMBER"}, {"action", "BLOCK"}},
        {{"type", "PHONE"}, {"action", "ANONYMIZE"}, {"inputEnabled", false}}}}};
  auto p = ParsePolicy(j.dump());
  ASSERT_TRUE(p.ok()) << p.status();
  auto g = Guardrail::Create(*p);
  ASSERT_TRUE(g.ok()) << g.status();

  auto r = (*g)->Apply("mail ann@example.com or call +1 415 555 0100", Source::kInput);
  EXPECT_TRUE(r.intervened);
  EXPECT_FALSE(r.blocked);
  EXPECT_EQ(r.output, "mail {EMAIL} or call +1 415 555 0100");
  ASSERT_EQ(r.anonymization.size(), 1u);
  EXPECT_EQ(r.anonymization[0].original, "ann@example.com");
  EXPECT_EQ(r.anonymization[0].output_offset, 5u);
  auto out = (*g)->Apply("mail ann@example.com or call +1 415 555 0100", Source::kOutput);
  EXPECT_EQ(out.output, "mail {EMAIL} or call {PHONE}");
  json js = ToApplyGuardrailJson(out);
  EXPECT_EQ(js["action"], "GUARDRAIL_INTERVENED");
  EXPECT_EQ(js["assessments"][0]["sensitiveInformationPolicy"]["piiEntities"][1]["type"], "PHONE");
  EXPECT_EQ(js.dump().find("anonymization"), std::string::npos);

  auto blocked = (*g)->Apply("my ssn is 123-45-6789", Source::kInput);
  EXPECT_TRUE(blocked.blocked);
  EXPECT_EQ(blocked.output, "Sorry, I can't take that.");
  auto word = (*g)->Apply("I prefer ACME   Corp products", Source::kOutput);
  EXPECT_EQ(word.output, "Sorry, I can't answer that.");
  auto none = (*g)->Apply("hello there", Source::kInput);
  EXPECT_FALSE(none.intervened);
  EXPECT_EQ(ToApplyGuardrailJson(none)["action"], "NONE");
}

TEST(Guardrail, CompilesEveryFilterOfTheFullPolicy) {
  auto p = ParsePolicy(Full().dump());
  ASSERT_TRUE(p.ok());
  auto g = Guardrail::Create(*p);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE((*g)->GuardsOutput());
  auto r = (*g)->Apply("Which stocks should I buy for my retirement?", Source::kInput);
  EXPECT_TRUE(r.blocked);
  ASSERT_EQ(r.topics.size(), 1u);
  EXPECT_EQ(ToApplyGuardrailJson(r)["assessments"][0]["topicPolicy"]["topics"][0]["name"],
            "Investment advice");
  auto o = (*g)->Apply("Your order ORD-123456 has shipped.", Source::kOutput);
  EXPECT_FALSE(o.blocked);
  EXPECT_EQ(o.output, "Your order {order} has shipped.");
  json js = ToApplyGuardrailJson(o);
  auto rx = js["assessments"][0]["sensitiveInformationPolicy"]["regexes"][0];
  EXPECT_EQ(rx["name"], "order");
  EXPECT_EQ(rx["match"], "ORD-123456");
  EXPECT_EQ(rx["regex"], "ORD-[0-9]{6}");
  EXPECT_EQ(rx["action"], "ANONYMIZED");
}

TEST(Policy, RejectsInvalidRegexPatternsPrecisely) {
  int cases = 0;
  for (const auto& [pattern, reason] : std::vector<std::pair<std::string, std::string>>{
           {"ORD-(", "missing closing )"},
           {"a)", "unexpected closing )"},
           {"[a-", "missing closing ]"},
           {"(?<=a)b", "unsupported Perl syntax"},
           {"(a)\\1", "bad escape"},
           {"a{2000}", "bad repetition count"},
           {"*a", "repetition operator without an argument"},
           {"(((a{1000}){1000}){1000})", "bad repetition count"},
       }) {
    json j = Minimal();
    j["sensitiveInformationPolicyConfig"] = {
        {"regexesConfig", {{{"name", "r"}, {"pattern", pattern}, {"action", "BLOCK"}}}}};
    auto p = ParsePolicy(j.dump());
    ASSERT_FALSE(p.ok()) << pattern;
    std::string msg(p.status().message());
    EXPECT_NE(msg.find("sensitiveInformationPolicyConfig.regexesConfig[0].pattern: "),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find(reason), std::string::npos) << pattern << " -> " << msg;
    ++cases;
  }
  EXPECT_EQ(cases, 8);
  // A pattern whose compiled program exceeds the memory bound is refused, not truncated.
  json j = Minimal();
  j["sensitiveInformationPolicyConfig"] = {
      {"regexesConfig", {{{"name", "big"}, {"pattern", "\\pL{1000}"}, {"action", "BLOCK"}}}}};
  auto big = ParsePolicy(j.dump());
  ASSERT_FALSE(big.ok());
  EXPECT_NE(std::string(big.status().message()).find("memory bound"), std::string::npos)
      << big.status();
}

}  // namespace
}  // namespace confide::guard
