// Contextual grounding and relevance on constructed cases: answers that copy the sources'
// facts score high; answers with contradicting or unsupported numbers, names or negations, or
// off-topic answers, score low.
#include "guard/grounding.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "guard/guardrail.h"
#include "guard/policy.h"
#include "nlohmann/json.hpp"

namespace confide::guard {
namespace {

const std::vector<std::string> kSources = {
    "The Eiffel Tower in Paris was completed in 1889 for the World's Fair. It is 330 metres "
    "tall and was designed by the engineering company of Gustave Eiffel.",
    "Paris is the capital of France. About 2.1 million people live in the city proper."};

struct Case {
  const char* answer;
  const char* query;
  bool grounded;
  bool relevant;
};

TEST(Grounding, ConstructedCases) {
  const std::vector<Case> cases = {
      {"The Eiffel Tower was completed in 1889 and is 330 metres tall.",
       "When was the Eiffel Tower completed?", true, true},
      {"It was designed by Gustave Eiffel's engineering company for the World's Fair.",
       "Who designed the Eiffel Tower?", true, true},
      {"Paris.", "What is the capital of France?", true, true},
      {"About 2.1 million people live in Paris.", "How many people live in Paris?", true, true},
      // Contradicting or unsupported numbers and names.
      {"The Eiffel Tower was completed in 1901 and is 450 metres tall.",
       "When was the Eiffel Tower completed?", false, true},
      {"The tower was designed by Le Corbusier.", "Who designed the Eiffel Tower?", false, true},
      {"About 9.5 million people live in Paris.", "How many people live in Paris?", false, true},
      // Negation flipped.
      {"Paris is not the capital of France.", "What is the capital of France?", false, true},
      // Off-topic.
      {"Bananas are rich in potassium and grow in tropical climates.",
       "When was the Eiffel Tower completed?", false, false},
      {"The stock market rose sharply on Tuesday.", "What is the capital of France?", false, false},
  };
  int correct = 0;
  for (const auto& c : cases) {
    GroundingScore s = ScoreGrounding(c.answer, kSources, c.query);
    EXPECT_GE(s.grounding, 0.0);
    EXPECT_LE(s.grounding, 1.0);
    EXPECT_GE(s.relevance, 0.0);
    EXPECT_LE(s.relevance, 1.0);
    bool g_ok = (s.grounding >= 0.7) == c.grounded;
    bool r_ok = (s.relevance >= 0.5) == c.relevant;
    EXPECT_TRUE(g_ok) << c.answer << " grounding " << s.grounding;
    EXPECT_TRUE(r_ok) << c.answer << " relevance " << s.relevance;
    correct += g_ok && r_ok;
  }
  EXPECT_EQ(correct, 10);
}

TEST(Grounding, EdgeCases) {
  EXPECT_EQ(ScoreGrounding("anything at all", {}, "").grounding, 0.0);
  EXPECT_EQ(ScoreGrounding("", kSources, "").grounding, 1.0);
  EXPECT_EQ(ScoreGrounding("the a of", kSources, "what is it").relevance, 1.0);
  EXPECT_EQ(ScoreGrounding("", kSources, "When was it built?").relevance, 0.0);
  // Deterministic.
  auto a = ScoreGrounding("The tower is 330 metres tall.", kSources, "How tall is it?");
  auto b = ScoreGrounding("The tower is 330 metres tall.", kSources, "How tall is it?");
  EXPECT_EQ(a.grounding, b.grounding);
  EXPECT_EQ(a.relevance, b.relevance);
}

TEST(Guardrail, ContextualGroundingBlocksBelowThresholdOnOutput) {
  nlohmann::json j{{"name", "g"},
                   {"blockedInputMessaging", "in"},
                   {"blockedOutputsMessaging", "out"},
                   {"contextualGroundingPolicyConfig",
                    {{"filtersConfig",
                      {{{"type", "GROUNDING"}, {"threshold", 0.7}},
                       {{"type", "RELEVANCE"}, {"threshold", 0.5}}}}}}};
  auto p = ParsePolicy(j.dump());
  ASSERT_TRUE(p.ok()) << p.status();
  auto g = Guardrail::Create(*p);
  ASSERT_TRUE(g.ok()) << g.status();
  nlohmann::json content = nlohmann::json::array();
  content.push_back({{"text", {{"text", kSources[0]}, {"qualifiers", {"grounding_source"}}}}});
  content.push_back(
      {{"text", {{"text", "How tall is the Eiffel Tower?"}, {"qualifiers", {"query"}}}}});
  content.push_back(
      {{"text", {{"text", "It is 330 metres tall."}, {"qualifiers", {"guard_content"}}}}});
  auto in = ParseApplyGuardrailContent(content);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->guard_content, "It is 330 metres tall.");
  ASSERT_EQ(in->grounding_sources.size(), 1u);
  EXPECT_TRUE(in->has_query);
  auto ok = (*g)->Apply(*in, Source::kOutput);
  EXPECT_FALSE(ok.blocked);
  ASSERT_EQ(ok.grounding.size(), 2u);
  auto js = ToApplyGuardrailJson(ok);
  EXPECT_EQ(js["action"], "NONE");
  EXPECT_EQ(js["assessments"][0]["contextualGroundingPolicy"]["filters"][0]["type"], "GROUNDING");
  EXPECT_EQ(js["assessments"][0]["contextualGroundingPolicy"]["filters"][0]["action"], "NONE");

  in->guard_content = "It is 512 metres tall and was built in 1920.";
  auto bad = (*g)->Apply(*in, Source::kOutput);
  EXPECT_TRUE(bad.blocked);
  EXPECT_EQ(bad.output, "out");
  auto jb = ToApplyGuardrailJson(bad);
  EXPECT_EQ(jb["assessments"][0]["contextualGroundingPolicy"]["filters"][0]["action"], "BLOCKED");
  // INPUT and texts without sources or query skip the check.
  EXPECT_FALSE((*g)->Apply(*in, Source::kInput).intervened);
  EXPECT_FALSE((*g)->Apply("It is 512 metres tall.", Source::kOutput).intervened);
  EXPECT_TRUE((*g)->GuardsOutput());
}

TEST(Guardrail, ParseApplyGuardrailContentRejectsBadShapes) {
  using J = nlohmann::json;
  int rejected = 0;
  for (const J& bad :
       {J::array(), J::object(), J::parse(R"([{"text": "x"}])"),
        J::parse(R"([{"text": {"text": 1}}])"),
        J::parse(R"([{"text": {"text": "x", "qualifiers": ["other"]}}])"),
        J::parse(R"([{"text": {"text": "x", "qualifiers": "query"}}])"),
        J::parse(R"([{"text": {"text": "x", "extra": 1}}])"), J::parse(R"([{"image": {}}])")}) {
    EXPECT_FALSE(ParseApplyGuardrailContent(bad).ok()) << bad.dump();
    ++rejected;
  }
  EXPECT_EQ(rejected, 8);
  auto two =
      ParseApplyGuardrailContent(J::parse(R"([{"text": {"text": "a"}}, {"text": {"text": "b"}}])"));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->guard_content, "a\nb");
  EXPECT_FALSE(two->has_query);
}

}  // namespace
}  // namespace confide::guard
