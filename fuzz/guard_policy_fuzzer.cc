// Fuzzes confide::guard::ParsePolicy on untrusted JSON and checks the canonical form:
//  1. a policy that parses has a canonical form that parses again;
//  2. the canonical form is a fixed point (Canonical(Parse(Canonical(p))) == Canonical(p));
//  3. the digest is SHA-256 sized and equal for both parses;
//  4. a policy that parses compiles (its regexes were validated by the parser; only an absent
//     built-in model may refuse it) and applying it to a fixed text keeps the result shape.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "guard/guardrail.h"
#include "guard/policy.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "guard_policy_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confide::guard;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto p = ParsePolicy(in);
  if (!p.ok()) return 0;
  std::string canonical = CanonicalPolicyJson(*p);
  auto again = ParsePolicy(canonical);
  Check(again.ok(), "canonical form does not parse");
  Check(CanonicalPolicyJson(*again) == canonical, "canonical form is not a fixed point");
  auto d1 = PolicyDigest(*p), d2 = PolicyDigest(*again);
  Check(d1.size() == 32 && d1 == d2, "digest differs between parses");
  auto g = Guardrail::Create(*std::move(p));
  Check(g.ok() || g.status().code() == absl::StatusCode::kFailedPrecondition,
        "a parsed policy does not compile");
  if (!g.ok()) return 0;
  GuardrailInput input;
  input.guard_content = "Call ORD-123 at ann@example.com: which stock should I buy? It is 330 m.";
  input.grounding_sources = {"The tower is 330 metres tall."};
  input.query = "How tall is the tower?";
  input.has_query = true;
  for (Source s : {Source::kInput, Source::kOutput}) {
    GuardrailResult r = (*g)->Apply(input, s);
    Check(r.intervened || r.output.empty(), "output without intervention");
    Check(!r.blocked || r.intervened, "blocked without intervention");
    for (const auto& f : r.grounding) Check(f.score >= 0 && f.score <= 1, "grounding score");
  }
  return 0;
}
