// Fuzzes confide::kms::KeyPolicy (parser, evaluator and lint) on untrusted policy documents.
// Properties:
//  1. Parse never crashes; rejections carry MalformedPolicyDocumentException;
//  2. a parsed policy re-parses from text() and decides every probe request identically;
//  3. explicit deny wins: the same policy with an unconditional Deny of everything appended
//     denies every probe request explicitly (when the appended document still parses);
//  4. an Allow needs a matching Allow statement: the policy with every Allow turned into a Deny
//     never allows anything.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kms/errors.h"
#include "kms/policy.h"
#include "nlohmann/json.hpp"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "kms_policy_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

std::vector<confide::kms::AuthzRequest> Probes() {
  using confide::kms::AuthzRequest;
  const char* key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  std::vector<AuthzRequest> out;
  for (const char* principal :
       {"arn:aws:iam::111122223333:role/parent", "arn:aws:iam::444455556666:user/x"}) {
    for (const char* action : {"kms:Decrypt", "kms:Encrypt", "kms:PutKeyPolicy"}) {
      AuthzRequest plain{principal, action, key, {}};
      out.push_back(plain);
      AuthzRequest rich{principal, action, key, {}};
      rich.context.Set("kms:RecipientAttestation:PCR0", std::string(96, 'a'));
      rich.context.Set("kms:RecipientAttestation:ImageSha384", std::string(96, 'a'));
      rich.context.Set("aws:SourceIp", "10.1.2.3");
      rich.context.Set("kms:EncryptionContext:dept", "eng");
      rich.context.SetMulti("kms:EncryptionContextKeys", {"dept", "project"});
      rich.context.Set("t", "2026-01-01T00:00:00Z");
      rich.context.Set("n", "42");
      out.push_back(std::move(rich));
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<confide::kms::AuthzRequest> probes = Probes();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto policy = confide::kms::KeyPolicy::Parse(text);
  if (!policy.ok()) {
    Check(confide::kms::AwsErrorType(policy.status()) == "MalformedPolicyDocumentException",
          "rejection without MalformedPolicyDocumentException");
    return 0;
  }
  (void)policy->Lint();
  auto again = confide::kms::KeyPolicy::Parse(policy->text());
  Check(again.ok(), "text() does not re-parse");
  for (const auto& probe : probes) {
    Check(policy->Evaluate(probe) == again->Evaluate(probe), "evaluation not deterministic");
  }

  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("Statement")) {
    return 0;
  }
  nlohmann::json statements = doc["Statement"];
  if (statements.is_object()) {
    statements = nlohmann::json::array({statements});
  }
  nlohmann::json with_deny = doc;
  nlohmann::json deny_all = {
      {"Effect", "Deny"}, {"Principal", "*"}, {"Action", "*"}, {"Resource", "*"}};
  with_deny["Statement"] = statements;
  with_deny["Statement"].push_back(deny_all);
  auto denied = confide::kms::KeyPolicy::Parse(with_deny.dump());
  if (denied.ok()) {
    for (const auto& probe : probes) {
      Check(denied->Evaluate(probe) == confide::kms::Decision::kExplicitDeny,
            "appended Deny * did not win");
    }
  }
  nlohmann::json all_deny = doc;
  all_deny["Statement"] = statements;
  for (auto& st : all_deny["Statement"]) {
    if (st.is_object()) {
      st["Effect"] = "Deny";
    }
  }
  auto denies_only = confide::kms::KeyPolicy::Parse(all_deny.dump());
  if (denies_only.ok()) {
    for (const auto& probe : probes) {
      Check(denies_only->Evaluate(probe) != confide::kms::Decision::kAllow,
            "a policy without Allow allowed");
    }
  }
  return 0;
}
