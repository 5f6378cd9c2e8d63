#include "kms/policy.h"

#include <string>
#include <utility>
#include <vector>

#include "base/encoding.h"
#include "gtest/gtest.h"
#include "kms/errors.h"

namespace confide::kms {
namespace {

constexpr char kKeyArn[] =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
constexpr char kParent[] = "arn:aws:iam::111122223333:role/parent";
constexpr char kAdmin[] = "arn:aws:iam::111122223333:user/admin";
constexpr char kOutsider[] = "arn:aws:iam::444455556666:role/other";

using Ctx = std::vector<std::pair<std::string, std::vector<std::string>>>;

struct CondCase {
  std::string condition;  // the Condition element's JSON
  Ctx ctx;
  bool holds;
};

// ConditionHolds evaluates `condition` through a one-statement Allow policy.
bool ConditionHolds(const std::string& condition, const Ctx& ctx) {
  std::string policy = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":)" +
                       condition + "}]}";
  absl::StatusOr<KeyPolicy> p = KeyPolicy::Parse(policy);
  EXPECT_TRUE(p.ok()) << condition << ": " << p.status();
  if (!p.ok()) {
    return false;
  }
  AuthzRequest req{kParent, "kms:Decrypt", kKeyArn, {}};
  for (const auto& [k, v] : ctx) {
    req.context.SetMulti(k, v);
  }
  return p->Evaluate(req) == Decision::kAllow;
}

void RunTable(const std::vector<CondCase>& cases) {
  for (size_t i = 0; i < cases.size(); ++i) {
    const CondCase& c = cases[i];
    EXPECT_EQ(ConditionHolds(c.condition, c.ctx), c.holds) << "case " << i << ": " << c.condition;
  }
}

const Ctx kNone = {};

TEST(PolicyConditionTest, StringOperators) {
  RunTable({
      {R"({"StringEquals":{"k":"v"}})", {{"k", {"v"}}}, true},
      {R"({"StringEquals":{"k":"v"}})", {{"k", {"V"}}}, false},  // values case-sensitive
      {R"({"StringEquals":{"K":"v"}})", {{"k", {"v"}}}, true},   // keys case-insensitive
      {R"({"StringEquals":{"k":"v"}})", {{"K", {"v"}}}, true},
      {R"({"StringEquals":{"k":["a","v"]}})", {{"k", {"v"}}}, true},     // values ORed
      {R"({"StringEquals":{"k":"v"}})", kNone, false},                   // missing: false
      {R"({"StringEquals":{"k":"v","j":"w"}})", {{"k", {"v"}}}, false},  // keys ANDed
      {R"({"StringEquals":{"k":"v","j":"w"}})", {{"k", {"v"}}, {"j", {"w"}}}, true},
      {R"({"StringEquals":{"k":"v*"}})", {{"k", {"vx"}}}, false},  // no wildcards
      {R"({"StringNotEquals":{"k":"v"}})", {{"k", {"v"}}}, false},
      {R"({"StringNotEquals":{"k":"v"}})", {{"k", {"w"}}}, true},
      {R"({"StringNotEquals":{"k":["v","w"]}})", {{"k", {"w"}}}, false},  // NOR
      {R"({"StringNotEquals":{"k":"v"}})", kNone, true},  // negated on missing: true
      {R"({"StringEqualsIgnoreCase":{"k":"VaLuE"}})", {{"k", {"value"}}}, true},
      {R"({"StringEqualsIgnoreCase":{"k":"v"}})", {{"k", {"w"}}}, false},
      {R"({"StringEqualsIgnoreCase":{"k":"v"}})", kNone, false},
      {R"({"StringNotEqualsIgnoreCase":{"k":"V"}})", {{"k", {"v"}}}, false},
      {R"({"StringNotEqualsIgnoreCase":{"k":"V"}})", {{"k", {"w"}}}, true},
      {R"({"StringNotEqualsIgnoreCase":{"k":"V"}})", kNone, true},
      {R"({"StringLike":{"k":"a*c"}})", {{"k", {"abbbc"}}}, true},
      {R"({"StringLike":{"k":"a?c"}})", {{"k", {"abc"}}}, true},
      {R"({"StringLike":{"k":"a?c"}})", {{"k", {"abbc"}}}, false},
      {R"({"StringLike":{"k":"A*"}})", {{"k", {"abc"}}}, false},  // case-sensitive
      {R"({"StringLike":{"k":"*"}})", {{"k", {""}}}, true},
      {R"({"StringLike":{"k":"*"}})", kNone, false},
      {R"({"StringNotLike":{"k":"a*"}})", {{"k", {"abc"}}}, false},
      {R"({"StringNotLike":{"k":"a*"}})", {{"k", {"xbc"}}}, true},
      {R"({"StringNotLike":{"k":"a*"}})", kNone, true},
  });
}

TEST(PolicyConditionTest, IfExists) {
  RunTable({
      {R"({"StringEqualsIfExists":{"k":"v"}})", kNone, true},
      {R"({"StringEqualsIfExists":{"k":"v"}})", {{"k", {"v"}}}, true},
      {R"({"StringEqualsIfExists":{"k":"v"}})", {{"k", {"w"}}}, false},
      {R"({"StringNotEqualsIfExists":{"k":"v"}})", kNone, true},
      {R"({"StringNotEqualsIfExists":{"k":"v"}})", {{"k", {"v"}}}, false},
      {R"({"StringLikeIfExists":{"k":"a*"}})", {{"k", {"b"}}}, false},
      {R"({"NumericLessThanIfExists":{"k":"5"}})", kNone, true},
      {R"({"NumericLessThanIfExists":{"k":"5"}})", {{"k", {"6"}}}, false},
      {R"({"BoolIfExists":{"k":"true"}})", kNone, true},
      {R"({"ArnLikeIfExists":{"k":"arn:aws:iam::*:role/*"}})", kNone, true},
      {R"({"IpAddressIfExists":{"k":"10.0.0.0/8"}})", {{"k", {"11.0.0.1"}}}, false},
  });
}

TEST(PolicyConditionTest, SetQualifiers) {
  const Ctx two = {{"kms:EncryptionContextKeys", {"dept", "project"}}};
  RunTable({
      {R"({"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"dept"}})", two, true},
      {R"({"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"x"}})", two, false},
      {R"({"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"dept"}})", kNone, false},
      {R"({"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["dept","project"]}})", two,
       true},
      {R"({"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":"dept"}})", two, false},
      // Vacuous truth: no values, so all of them match.
      {R"({"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":"dept"}})", kNone, true},
      {R"({"ForAllValues:StringLike":{"kms:EncryptionContextKeys":["d*","p*"]}})", two, true},
      {R"({"ForAnyValue:StringNotEquals":{"kms:EncryptionContextKeys":"dept"}})", two, true},
      {R"({"ForAnyValue:StringNotEquals":{"kms:EncryptionContextKeys":["dept","project"]}})", two,
       false},
      {R"({"ForAnyValue:StringNotEquals":{"kms:EncryptionContextKeys":"dept"}})", kNone, false},
      {R"({"ForAllValues:StringNotEquals":{"kms:EncryptionContextKeys":"x"}})", two, true},
      {R"({"ForAllValues:StringNotEquals":{"kms:EncryptionContextKeys":"dept"}})", two, false},
      {R"({"ForAllValues:StringNotEquals":{"kms:EncryptionContextKeys":"dept"}})", kNone, true},
      // Without a qualifier a multi-valued key matches when any value does.
      {R"({"StringEquals":{"kms:EncryptionContextKeys":"project"}})", two, true},
      {R"({"StringNotEquals":{"kms:EncryptionContextKeys":"project"}})", two, false},
      {R"({"ForAnyValue:StringEqualsIfExists":{"k":"v"}})", kNone, true},
  });
}

TEST(PolicyConditionTest, NumericOperators) {
  RunTable({
      {R"({"NumericEquals":{"k":"10"}})", {{"k", {"10"}}}, true},
      {R"({"NumericEquals":{"k":10}})", {{"k", {"10.0"}}}, true},
      {R"({"NumericEquals":{"k":"10"}})", {{"k", {"11"}}}, false},
      {R"({"NumericEquals":{"k":"10"}})", {{"k", {"ten"}}}, false},
      {R"({"NumericEquals":{"k":"10"}})", kNone, false},
      {R"({"NumericNotEquals":{"k":"10"}})", {{"k", {"11"}}}, true},
      {R"({"NumericNotEquals":{"k":"10"}})", {{"k", {"10"}}}, false},
      {R"({"NumericNotEquals":{"k":"10"}})", kNone, true},
      {R"({"NumericLessThan":{"k":"10"}})", {{"k", {"9"}}}, true},
      {R"({"NumericLessThan":{"k":"10"}})", {{"k", {"10"}}}, false},
      {R"({"NumericLessThan":{"k":"10"}})", kNone, false},
      {R"({"NumericLessThanEquals":{"k":"10"}})", {{"k", {"10"}}}, true},
      {R"({"NumericLessThanEquals":{"k":"10"}})", {{"k", {"11"}}}, false},
      {R"({"NumericGreaterThan":{"k":"10"}})", {{"k", {"11"}}}, true},
      {R"({"NumericGreaterThan":{"k":"10"}})", {{"k", {"10"}}}, false},
      {R"({"NumericGreaterThan":{"k":"-1.5"}})", {{"k", {"-1"}}}, true},
      {R"({"NumericGreaterThanEquals":{"k":"10"}})", {{"k", {"10"}}}, true},
      {R"({"NumericGreaterThanEquals":{"k":"10"}})", {{"k", {"9.99"}}}, false},
      {R"({"NumericGreaterThanEquals":{"k":"10"}})", kNone, false},
  });
}

TEST(PolicyConditionTest, DateOperators) {
  RunTable({
      {R"({"DateEquals":{"t":"2026-01-01T00:00:00Z"}})", {{"t", {"2026-01-01T00:00:00Z"}}}, true},
      {R"({"DateEquals":{"t":"2026-01-01T00:00:00Z"}})", {{"t", {"1767225600"}}}, true},
      {R"({"DateEquals":{"t":"2026-01-01T01:00:00+01:00"}})",
       {{"t", {"2026-01-01T00:00:00Z"}}},
       true},
      {R"({"DateEquals":{"t":"2026-01-01T00:00:00Z"}})", {{"t", {"not a date"}}}, false},
      {R"({"DateEquals":{"t":"2026-01-01T00:00:00Z"}})", kNone, false},
      {R"({"DateNotEquals":{"t":"2026-01-01T00:00:00Z"}})",
       {{"t", {"2026-01-02T00:00:00Z"}}},
       true},
      {R"({"DateNotEquals":{"t":"2026-01-01T00:00:00Z"}})", kNone, true},
      {R"({"DateLessThan":{"t":"2026-01-01T00:00:00Z"}})", {{"t", {"2025-12-31T23:59:59Z"}}}, true},
      {R"({"DateLessThan":{"t":"2026-01-01T00:00:00Z"}})",
       {{"t", {"2026-01-01T00:00:00Z"}}},
       false},
      {R"({"DateLessThanEquals":{"t":"2026-01-01T00:00:00Z"}})",
       {{"t", {"2026-01-01T00:00:00Z"}}},
       true},
      {R"({"DateGreaterThan":{"t":"2026-01-01"}})", {{"t", {"2026-01-01T00:00:01Z"}}}, true},
      {R"({"DateGreaterThan":{"t":"2026-01-01"}})", {{"t", {"2026-01-01T00:00:00Z"}}}, false},
      {R"({"DateGreaterThanEquals":{"t":"2026-01-01"}})", {{"t", {"2026-01-01T00:00:00Z"}}}, true},
      {R"({"DateGreaterThanEquals":{"t":"2026-01-01"}})", kNone, false},
  });
}

TEST(PolicyConditionTest, BoolNullIpArn) {
  RunTable({
      {R"({"Bool":{"b":"true"}})", {{"b", {"true"}}}, true},
      {R"({"Bool":{"b":true}})", {{"b", {"TRUE"}}}, true},
      {R"({"Bool":{"b":"true"}})", {{"b", {"false"}}}, false},
      {R"({"Bool":{"b":"false"}})", kNone, false},
      {R"({"Null":{"k":"true"}})", kNone, true},
      {R"({"Null":{"k":"true"}})", {{"k", {"v"}}}, false},
      {R"({"Null":{"k":"false"}})", {{"k", {"v"}}}, true},
      {R"({"Null":{"k":"false"}})", kNone, false},
      {R"({"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}})",
       {{"aws:SourceIp", {"203.0.113.9"}}},
       true},
      {R"({"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}})",
       {{"aws:SourceIp", {"203.0.114.9"}}},
       false},
      {R"({"IpAddress":{"aws:SourceIp":["10.0.0.0/8","203.0.113.7"]}})",
       {{"aws:SourceIp", {"203.0.113.7"}}},
       true},
      {R"({"IpAddress":{"aws:SourceIp":"2001:db8::/32"}})",
       {{"aws:SourceIp", {"2001:db8::1"}}},
       true},
      {R"({"IpAddress":{"aws:SourceIp":"2001:db8::/32"}})",
       {{"aws:SourceIp", {"10.0.0.1"}}},
       false},
      {R"({"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}})", {{"aws:SourceIp", {"garbage"}}}, false},
      {R"({"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}})", kNone, false},
      {R"({"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}})", {{"aws:SourceIp", {"11.0.0.1"}}}, true},
      {R"({"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}})",
       {{"aws:SourceIp", {"10.9.0.1"}}},
       false},
      {R"({"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}})", kNone, true},
      {R"({"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/parent"}})",
       {{"aws:PrincipalArn", {kParent}}},
       true},
      {R"({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/par*"}})",
       {{"aws:PrincipalArn", {kParent}}},
       true},
      {R"({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/*"}})",
       {{"aws:PrincipalArn", {kParent}}},
       false},
      {R"({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}})",
       {{"aws:PrincipalArn", {"not-an-arn"}}},
       false},
      {R"({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}})", kNone, false},
      {R"({"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/parent"}})",
       {{"aws:PrincipalArn", {kAdmin}}},
       true},
      {R"({"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}})",
       {{"aws:PrincipalArn", {kParent}}},
       false},
      {R"({"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}})", kNone, true},
      // Several operators are ANDed.
      {R"({"StringEquals":{"a":"1"},"Bool":{"b":"true"}})", {{"a", {"1"}}, {"b", {"true"}}}, true},
      {R"({"StringEquals":{"a":"1"},"Bool":{"b":"true"}})",
       {{"a", {"1"}}, {"b", {"false"}}},
       false},
  });
}

std::string Policy(const std::string& statements) {
  return R"({"Version":"2012-10-17","Id":"test","Statement":[)" + statements + "]}";
}

Decision Eval(const KeyPolicy& p, const std::string& principal, const std::string& action,
              RequestContext ctx = {}) {
  AuthzRequest req{principal, action, kKeyArn, std::move(ctx)};
  return p.Evaluate(req);
}

TEST(PolicyTest, DefaultPolicyAllowsAccountOnly) {
  std::string text = DefaultKeyPolicy("111122223333");
  EXPECT_NE(text.find("\"Id\" : \"key-default-1\""), std::string::npos);
  EXPECT_NE(text.find("Enable IAM User Permissions"), std::string::npos);
  absl::StatusOr<KeyPolicy> p = KeyPolicy::Parse(text);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(Eval(*p, kParent, "kms:Decrypt"), Decision::kAllow);
  EXPECT_EQ(Eval(*p, kAdmin, "kms:PutKeyPolicy"), Decision::kAllow);
  EXPECT_EQ(Eval(*p, kOutsider, "kms:Decrypt"), Decision::kImplicitDeny);
  EXPECT_EQ(p->text(), text);
}

TEST(PolicyTest, DenyWinsAndDefaultDeny) {
  absl::StatusOr<KeyPolicy> p = KeyPolicy::Parse(Policy(R"(
    {"Sid":"all","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"},
    {"Sid":"no-decrypt","Effect":"Deny","Principal":{"AWS":["arn:aws:iam::111122223333:role/parent"]},
     "Action":["kms:Decrypt","kms:ReEncrypt*"],"Resource":"*"})"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(Eval(*p, kParent, "kms:Decrypt"), Decision::kExplicitDeny);
  EXPECT_EQ(Eval(*p, kParent, "kms:ReEncryptFrom"), Decision::kExplicitDeny);
  EXPECT_EQ(Eval(*p, kParent, "kms:Encrypt"), Decision::kAllow);
  EXPECT_EQ(Eval(*p, kAdmin, "kms:Decrypt"), Decision::kAllow);
  EXPECT_EQ(Eval(*p, kOutsider, "kms:Encrypt"), Decision::kImplicitDeny);
}

TEST(PolicyTest, ActionsPrincipalsResources) {
  absl::StatusOr<KeyPolicy> p = KeyPolicy::Parse(Policy(R"(
    {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/admin"},
     "Action":["kms:Describe*","kms:Get?eyPolicy"],"Resource":"*"},
    {"Effect":"Allow","Principal":"*","NotAction":["kms:Decrypt","kms:Sign"],
     "Resource":"arn:aws:kms:us-east-1:111122223333:key/*"},
    {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Sign",
     "NotResource":"arn:aws:kms:*:111122223333:key/*"})"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(Eval(*p, kAdmin, "kms:DescribeKey"), Decision::kAllow);
  EXPECT_EQ(Eval(*p, kAdmin, "KMS:describekey"), Decision::kAllow);  // actions ignore case
  EXPECT_EQ(Eval(*p, kAdmin, "kms:GetKeyPolicy"), Decision::kAllow);
  EXPECT_EQ(Eval(*p, kOutsider, "kms:Encrypt"), Decision::kAllow);  // NotAction
  EXPECT_EQ(Eval(*p, kOutsider, "kms:Decrypt"), Decision::kImplicitDeny);
  EXPECT_EQ(Eval(*p, kOutsider, "kms:Sign"), Decision::kImplicitDeny);  // NotResource excludes
  AuthzRequest other{kOutsider,
                     "kms:Encrypt",
                     "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                     {}};
  EXPECT_EQ(p->Evaluate(other), Decision::kImplicitDeny);  // Resource pattern
  other.action = "kms:Sign";
  EXPECT_EQ(p->Evaluate(other), Decision::kImplicitDeny);
  other.resource = "arn:aws:kms:eu-west-1:999999999999:key/x";
  EXPECT_EQ(p->Evaluate(other), Decision::kAllow);
}

TEST(PolicyTest, ServicePrincipalsNeverMatch) {
  absl::StatusOr<KeyPolicy> p = KeyPolicy::Parse(Policy(
      R"({"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},"Action":"kms:*","Resource":"*"})"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(Eval(*p, kParent, "kms:Decrypt"), Decision::kImplicitDeny);
}

TEST(PolicyTest, ValidationErrors) {
  const std::string ok_stmt =
      R"("Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*")";
  std::vector<std::string> bad = {
      "",
      "[]",
      "{",
      R"({"Statement":[]})",
      R"({"Version":"2013-01-01","Statement":[{)" + ok_stmt + "}]}",
      R"({"Statement":[{)" + ok_stmt + R"(}],"Extra":1})",
      R"({"Statement":[{)" + ok_stmt + R"(,"Effect":"Allow"}]})",  // duplicate key
      R"({"Statement":[{"Effect":"Permit","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]})",
      R"({"Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]})",
      R"({"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*"}]})",
      R"({"Statement":[{"Effect":"Allow","Principal":"arn:aws:iam::111122223333:root","Action":"kms:Decrypt","Resource":"*"}]})",
      R"({"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:root"},"Action":"kms:Decrypt","Resource":"*"}]})",
      R"({"Statement":[{"Effect":"Allow","Principal":{"Alien":"x"},"Action":"kms:Decrypt","Resource":"*"}]})",
      R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]})",
      R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":[],"Resource":"*"}]})",
      R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","NotAction":"kms:Sign","Resource":"*"}]})",
      R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt"}]})",
      R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"key"}]})",
      R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Colour":"red"}]})",
      R"({"Statement":[{"Sid":"a",)" + ok_stmt + R"(},{"Sid":"a",)" + ok_stmt + "}]}",
      R"({"Statement":[{)" + ok_stmt + R"(,"Condition":{"StringEqualz":{"k":"v"}}}]})",
      R"({"Statement":[{)" + ok_stmt + R"(,"Condition":{"NumericEquals":{"k":"ten"}}}]})",
      R"({"Statement":[{)" + ok_stmt + R"(,"Condition":{"DateEquals":{"k":"yesterday"}}}]})",
      R"({"Statement":[{)" + ok_stmt + R"(,"Condition":{"IpAddress":{"k":"10.0.0.0/33"}}}]})",
      R"({"Statement":[{)" + ok_stmt + R"(,"Condition":{"Bool":{"k":"yes"}}}]})",
      R"({"Statement":[{)" + ok_stmt + R"(,"Condition":{"NullIfExists":{"k":"true"}}}]})",
      R"({"Statement":[{)" + ok_stmt + R"(,"Condition":{"ForAnyValue:Null":{"k":"true"}}}]})",
      R"({"Statement":[{)" + ok_stmt + R"(,"Condition":{"StringEquals":{"k":[]}}}]})",
      R"({"Statement":[{)" + ok_stmt + R"(,"Condition":{"StringEquals":{"k":{"x":1}}}}]})",
      R"({"Statement":[{)" + ok_stmt + R"(,"Condition":{"StringEquals":"k"}}]})",
      std::string(40, '[') + std::string(40, ']'),
      Policy(R"({"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Sid":")" +
             std::string(kMaxKeyPolicyBytes, 'x') + "\"}"),
  };
  for (const std::string& text : bad) {
    absl::StatusOr<KeyPolicy> p = KeyPolicy::Parse(text);
    EXPECT_FALSE(p.ok()) << text.substr(0, 200);
    EXPECT_EQ(AwsErrorType(p.status()), "MalformedPolicyDocumentException");
  }
  // Error messages name the statement.
  absl::StatusOr<KeyPolicy> p = KeyPolicy::Parse(
      R"({"Statement":[{"Sid":"decrypt-for-enclave","Effect":"Allow","Principal":"*","Action":"kms:Decrypt"}]})");
  EXPECT_NE(std::string(p.status().message()).find("statement 'decrypt-for-enclave'"),
            std::string::npos)
      << p.status();
}

// The seeds' scenario: the parent's principal may Decrypt only with a verified Recipient whose
// image hash (PCR0) matches; everything else the account may do stays allowed to admins.
class AttestationPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    good_pcr0_ = Bytes(48, 0xab);
    std::string image = base::HexEncode(good_pcr0_);
    std::string text = Policy(R"(
      {"Sid":"Enable admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/admin"},
       "Action":"kms:*","Resource":"*"},
      {"Sid":"Enclave decrypt","Effect":"Allow",
       "Principal":{"AWS":"arn:aws:iam::111122223333:role/parent"},
       "Action":"kms:Decrypt","Resource":"*",
       "Condition":{"StringEqualsIgnoreCase":{"kms:RecipientAttestation:ImageSha384":")" +
                              image + R"("}}},
      {"Sid":"Enclave decrypt by PCR0","Effect":"Allow",
       "Principal":{"AWS":"arn:aws:iam::111122223333:role/parent"},
       "Action":"kms:GenerateDataKey","Resource":"*",
       "Condition":{"StringEquals":{"kms:RecipientAttestation:PCR0":")" +
                              image + R"("}}})");
    absl::StatusOr<KeyPolicy> p = KeyPolicy::Parse(text);
    ASSERT_TRUE(p.ok()) << p.status();
    policy_ = std::make_unique<KeyPolicy>(std::move(*p));
  }

  Decision Decide(const std::string& action, const std::map<uint32_t, Bytes>* pcrs) {
    KmsRequestFacts facts;
    facts.principal_arn = kParent;
    facts.caller_account = "111122223333";
    facts.key_spec = "SYMMETRIC_DEFAULT";
    facts.attested_pcrs = pcrs;
    return Eval(*policy_, kParent, action, BuildKmsRequestContext(facts));
  }

  Bytes good_pcr0_;
  std::unique_ptr<KeyPolicy> policy_;
};

TEST_F(AttestationPolicyTest, PlainDecryptByParentIsDenied) {
  EXPECT_EQ(Decide("kms:Decrypt", nullptr), Decision::kImplicitDeny);
  EXPECT_EQ(Decide("kms:GenerateDataKey", nullptr), Decision::kImplicitDeny);
}

TEST_F(AttestationPolicyTest, MatchingRecipientIsAllowed) {
  std::map<uint32_t, Bytes> pcrs = {{0, good_pcr0_}, {1, Bytes(48, 1)}, {2, Bytes(48, 2)}};
  EXPECT_EQ(Decide("kms:Decrypt", &pcrs), Decision::kAllow);
  EXPECT_EQ(Decide("kms:GenerateDataKey", &pcrs), Decision::kAllow);
  EXPECT_EQ(Decide("kms:Encrypt", &pcrs), Decision::kImplicitDeny);
}

TEST_F(AttestationPolicyTest, WrongOrDebugRecipientIsDenied) {
  Bytes wrong = good_pcr0_;
  wrong.back() ^= 1;
  std::map<uint32_t, Bytes> pcrs = {{0, wrong}};
  EXPECT_EQ(Decide("kms:Decrypt", &pcrs), Decision::kImplicitDeny);
  // A debug-mode enclave reports all-zero PCRs.
  std::map<uint32_t, Bytes> debug = {{0, Bytes(48, 0)}, {1, Bytes(48, 0)}, {2, Bytes(48, 0)}};
  EXPECT_EQ(Decide("kms:Decrypt", &debug), Decision::kImplicitDeny);
}

TEST_F(AttestationPolicyTest, NoLintWarnings) { EXPECT_TRUE(policy_->Lint().empty()); }

TEST(PolicyTest, ContextKeysFromFacts) {
  std::map<uint32_t, Bytes> pcrs = {{0, Bytes{0xAB, 0x01}}, {8, Bytes{0x02}}, {40, Bytes{1}}};
  KmsRequestFacts facts;
  facts.principal_arn = kParent;
  facts.caller_account = "111122223333";
  facts.key_spec = "SYMMETRIC_DEFAULT";
  facts.source_ip = "127.0.0.1";
  facts.encryption_context = {{"Dept", "Eng"}, {"project", "x"}};
  facts.attested_pcrs = &pcrs;
  RequestContext ctx = BuildKmsRequestContext(facts);
  ASSERT_NE(ctx.Find("kms:recipientattestation:imagesha384"), nullptr);
  EXPECT_EQ(ctx.Find("kms:RecipientAttestation:ImageSha384")->at(0), "ab01");
  EXPECT_EQ(ctx.Find("kms:RecipientAttestation:PCR8")->at(0), "02");
  EXPECT_EQ(ctx.Find("kms:RecipientAttestation:PCR40"), nullptr);
  EXPECT_EQ(ctx.Find("kms:EncryptionContext:Dept")->at(0), "Eng");
  EXPECT_EQ(ctx.Find("kms:EncryptionContextKeys")->size(), 2u);
  EXPECT_EQ(ctx.Find("kms:CallerAccount")->at(0), "111122223333");
  EXPECT_EQ(ctx.Find("aws:PrincipalArn")->at(0), kParent);
  EXPECT_EQ(ctx.Find("aws:SourceIp")->at(0), "127.0.0.1");
  EXPECT_EQ(ctx.Find("kms:ViaService"), nullptr);
  facts.attested_pcrs = nullptr;
  RequestContext plain = BuildKmsRequestContext(facts);
  EXPECT_EQ(plain.Find("kms:RecipientAttestation:ImageSha384"), nullptr);
  EXPECT_EQ(plain.Find("kms:RecipientAttestation:PCR0"), nullptr);
}

TEST(PolicyLintTest, WarnsOnSilentBypass) {
  const std::string attested = R"(
      {"Sid":"Enclave","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/parent"},
       "Action":"kms:Decrypt","Resource":"*",
       "Condition":{"StringEquals":{"kms:RecipientAttestation:PCR0":"aa"}}})";
  struct Case {
    std::string other;
    size_t warnings;
  };
  std::vector<Case> cases = {
      // The default key policy statement: root allows kms:* to everyone in the account.
      {R"({"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"})",
       1},
      {R"({"Sid":"Any","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"})", 1},
      {R"({"Sid":"Same","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/parent"},"Action":["kms:Decrypt"],"Resource":"*"})",
       1},
      // A different principal, or an action that is not Decrypt: no bypass.
      {R"({"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/admin"},"Action":"kms:*","Resource":"*"})",
       0},
      {R"({"Sid":"Enc","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"NotAction":"kms:Decrypt","Resource":"*"})",
       0},
      {R"({"Sid":"Outside","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"kms:*","Resource":"*"})",
       0},
  };
  for (const Case& c : cases) {
    absl::StatusOr<KeyPolicy> p = KeyPolicy::Parse(Policy(attested + "," + c.other));
    ASSERT_TRUE(p.ok()) << p.status();
    std::vector<std::string> w = p->Lint();
    EXPECT_EQ(w.size(), c.warnings) << c.other;
    if (!w.empty()) {
      EXPECT_NE(w[0].find("bypass"), std::string::npos) << w[0];
    }
  }
  // A Deny closing the gap silences the warning, and evaluation agrees.
  absl::StatusOr<KeyPolicy> closed = KeyPolicy::Parse(Policy(attested + R"(,
      {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"},
      {"Sid":"Require","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:role/parent"},
       "Action":"kms:Decrypt","Resource":"*",
       "Condition":{"StringNotEquals":{"kms:RecipientAttestation:PCR0":"aa"}}})"));
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_TRUE(closed->Lint().empty());
  EXPECT_EQ(Eval(*closed, kParent, "kms:Decrypt"), Decision::kExplicitDeny);
  RequestContext ctx;
  ctx.Set("kms:RecipientAttestation:PCR0", "aa");
  EXPECT_EQ(Eval(*closed, kParent, "kms:Decrypt", std::move(ctx)), Decision::kAllow);
}

TEST(PolicyLintTest, WarnsOnWeakAttestationCondition) {
  for (const char* cond :
       {R"({"StringEqualsIfExists":{"kms:RecipientAttestation:PCR0":"aa"}})",
        R"({"ForAllValues:StringEquals":{"kms:RecipientAttestation:PCR0":"aa"}})",
        R"({"StringNotEquals":{"kms:RecipientAttestation:PCR0":"bb"}})"}) {
    absl::StatusOr<KeyPolicy> p = KeyPolicy::Parse(Policy(
        std::string(
            R"({"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":)") +
        cond + "}"));
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->Lint().size(), 1u) << cond;
    // And indeed a request without a Recipient passes it.
    EXPECT_EQ(Eval(*p, kParent, "kms:Decrypt"), Decision::kAllow) << cond;
  }
}

TEST(PolicyLintTest, WarnsOnUppercaseHexCompare) {
  absl::StatusOr<KeyPolicy> p = KeyPolicy::Parse(Policy(
      R"({"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":)"
      R"({"StringEquals":{"kms:RecipientAttestation:PCR0":"ABCD"}}})"));
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->Lint().size(), 1u);
  EXPECT_NE(p->Lint()[0].find("lowercase"), std::string::npos);
  RequestContext ctx;
  ctx.Set("kms:RecipientAttestation:PCR0", "abcd");
  EXPECT_EQ(Eval(*p, kParent, "kms:Decrypt", std::move(ctx)), Decision::kImplicitDeny);
  absl::StatusOr<KeyPolicy> ok = KeyPolicy::Parse(Policy(
      R"({"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":)"
      R"({"StringEqualsIgnoreCase":{"kms:RecipientAttestation:PCR0":"ABCD"}}})"));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->Lint().empty());
}

TEST(PolicyTest, GlobMatch) {
  EXPECT_TRUE(GlobMatch("", "", false));
  EXPECT_FALSE(GlobMatch("", "a", false));
  EXPECT_TRUE(GlobMatch("*", "", false));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXbYc", false));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXbY", false));
  EXPECT_TRUE(GlobMatch("a**", "a", false));
  EXPECT_TRUE(GlobMatch("?", "x", false));
  EXPECT_FALSE(GlobMatch("?", "", false));
  EXPECT_TRUE(GlobMatch("KMS:*", "kms:Decrypt", true));
  EXPECT_FALSE(GlobMatch("KMS:*", "kms:Decrypt", false));
  // Pathological pattern stays fast (iterative matcher).
  EXPECT_FALSE(GlobMatch(std::string(100, '*') + "b", std::string(10000, 'a'), false));
}

}  // namespace
}  // namespace confide::kms
