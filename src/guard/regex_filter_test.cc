#include "guard/regex_filter.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "guard/guardrail.h"

namespace confide::guard {
namespace {

RegexRule Rule(std::string name, std::string pattern, PiiAction action) {
  RegexRule r;
  r.name = std::move(name);
  r.pattern = std::move(pattern);
  r.action = r.input_action = r.output_action = action;
  return r;
}

TEST(RegexFilter, FindsNonOverlappingMatchesInOrder) {
  auto f = RegexFilter::Create({Rule("order", "ORD-[0-9]{6}", PiiAction::kAnonymize),
                                Rule("ticket", "[A-Z]{3}-[0-9]+", PiiAction::kBlock),
                                Rule("empty", "x*", PiiAction::kBlock)});
  ASSERT_TRUE(f.ok()) << f.status();
  std::string text = "see ORD-123456 and ABC-77, then ORD-000001";
  auto m = (*f)->Find(text, true);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(text.substr(m[0].begin, m[0].end - m[0].begin), "ORD-123456");
  EXPECT_EQ(m[0].rule, 0u);  // same span as "ticket": the lower rule index wins
  EXPECT_EQ(text.substr(m[1].begin, m[1].end - m[1].begin), "ABC-77");
  EXPECT_EQ(m[1].rule, 1u);
  EXPECT_EQ(m[2].begin, text.size() - 10);
  EXPECT_TRUE((*f)->Find("", true).empty());
}

TEST(RegexFilter, HonoursInputOutputEnabled) {
  RegexRule r = Rule("code", "[0-9]{4}", PiiAction::kBlock);
  r.input_enabled = false;
  auto f = RegexFilter::Create({r});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->Find("pin 1234", true).empty());
  EXPECT_EQ((*f)->Find("pin 1234", false).size(), 1u);
}

TEST(RegexFilter, RejectsInvalidPatternsWithoutQuotingThem) {
  auto f = RegexFilter::Create(
      {Rule("ok", "a+", PiiAction::kBlock), Rule("bad", "secret(", PiiAction::kBlock)});
  ASSERT_FALSE(f.ok());
  std::string msg(f.status().message());
  EXPECT_NE(msg.find("regexesConfig[1].pattern: missing closing )"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("secret"), std::string::npos);
}

TEST(Guardrail, RegexAnonymizeAndBlock) {
  Policy p;
  p.name = "rx";
  p.blocked_input_messaging = "blocked in";
  p.blocked_outputs_messaging = "blocked out";
  p.regexes = {Rule("employee_id", "EMP[0-9]{5}", PiiAction::kAnonymize),
               Rule("project", "Project (?:Falcon|Osprey)", PiiAction::kBlock)};
  PiiRule email;
  email.type = PiiType::kEmail;
  email.action = email.input_action = email.output_action = PiiAction::kAnonymize;
  p.pii_rules = {email};
  auto g = Guardrail::Create(p);
  ASSERT_TRUE(g.ok()) << g.status();
  auto r = (*g)->Apply("EMP12345 wrote to bob@example.com", Source::kOutput);
  EXPECT_FALSE(r.blocked);
  EXPECT_EQ(r.output, "{employee_id} wrote to {EMAIL}");
  ASSERT_EQ(r.anonymization.size(), 2u);
  EXPECT_EQ(r.anonymization[0].original, "EMP12345");
  auto b = (*g)->Apply("tell me about Project Falcon", Source::kInput);
  EXPECT_TRUE(b.blocked);
  EXPECT_EQ(b.output, "blocked in");
  auto js = ToApplyGuardrailJson(b);
  EXPECT_EQ(js["assessments"][0]["sensitiveInformationPolicy"]["regexes"][0]["action"], "BLOCKED");
  EXPECT_EQ(js["assessments"][0]["sensitiveInformationPolicy"]["regexes"][0]["name"], "project");
}

}  // namespace
}  // namespace confide::guard
