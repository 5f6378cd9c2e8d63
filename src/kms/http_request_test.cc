#include "kms/http_request.h"

#include <string>

#include "gtest/gtest.h"

namespace confide::kms {
namespace {

absl::StatusOr<HttpRequest> Parse(std::string_view text, HttpParseLimits limits = {}) {
  return ParseHttpRequest(AsBytes(text), limits);
}

TEST(HttpRequestTest, ParsesKmsRequest) {
  std::string text =
      "POST / HTTP/1.1\r\nHost: localhost:4600\r\nX-Amz-Target: TrentService.ListKeys\r\n"
      "Content-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\r\n{}";
  absl::StatusOr<HttpRequest> r = Parse(text);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->target, "/");
  EXPECT_EQ(r->headers.size(), 4u);
  EXPECT_EQ(*r->FindHeader("x-amz-target"), "TrentService.ListKeys");
  EXPECT_EQ(AsStringView(r->body), "{}");
  // Round trip.
  absl::StatusOr<HttpRequest> again = Parse(SerializeHttpRequest(*r));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(SerializeHttpRequest(*again), SerializeHttpRequest(*r));
}

TEST(HttpRequestTest, IncrementalAndPipelined) {
  std::string one = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
  std::string two = one + "GET /x?y=1 HTTP/1.1\r\nHost: a\r\n\r\n";
  for (size_t n = 0; n < one.size(); ++n) {
    absl::StatusOr<HttpParseResult> r =
        ParseHttpRequestPrefix(AsBytes(std::string_view(one).substr(0, n)), {});
    ASSERT_TRUE(r.ok()) << n;
    EXPECT_FALSE(r->complete) << n;
  }
  absl::StatusOr<HttpParseResult> r = ParseHttpRequestPrefix(AsBytes(two), {});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->complete);
  EXPECT_EQ(r->consumed, one.size());
  absl::StatusOr<HttpParseResult> r2 =
      ParseHttpRequestPrefix(AsBytes(std::string_view(two).substr(r->consumed)), {});
  ASSERT_TRUE(r2.ok());
  ASSERT_TRUE(r2->complete);
  EXPECT_EQ(r2->request.Path(), "/x");
  EXPECT_EQ(r2->request.Query(), "y=1");
  EXPECT_FALSE(Parse(two).ok());  // trailing bytes
}

TEST(HttpRequestTest, RejectsMalformed) {
  const char* bad[] = {
      "POST  HTTP/1.1\r\nHost: a\r\n\r\n",
      "POST / HTTP/2.0\r\nHost: a\r\n\r\n",
      "PO ST / HTTP/1.1\r\nHost: a\r\n\r\n",
      "POST /a b HTTP/1.1\r\nHost: a\r\n\r\n",
      "POST / HTTP/1.1\r\nHost : a\r\n\r\n",
      "POST / HTTP/1.1\r\nHost a\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\x01\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
      "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
  };
  for (const char* text : bad) {
    EXPECT_FALSE(Parse(text).ok()) << text;
  }
  absl::StatusOr<HttpRequest> te =
      Parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(te.status().code(), absl::StatusCode::kUnimplemented);
}

TEST(HttpRequestTest, Limits) {
  HttpParseLimits limits;
  limits.max_head_bytes = 64;
  limits.max_headers = 2;
  limits.max_body_bytes = 4;
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).ok());
  EXPECT_FALSE(Parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde", limits).ok());
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nA: " + std::string(100, 'x') + "\r\n\r\n", limits).ok());
  // An endless head is rejected once it passes the limit, not buffered forever.
  absl::StatusOr<HttpParseResult> r =
      ParseHttpRequestPrefix(AsBytes("GET / HTTP/1.1\r\nA: " + std::string(100, 'x')), limits);
  EXPECT_FALSE(r.ok());
}

TEST(HttpRequestTest, FixtureOptions) {
  HttpParseLimits limits;
  limits.allow_obs_fold = true;
  limits.allow_raw_target = true;
  limits.body_is_rest = true;
  absl::StatusOr<HttpRequest> r = Parse("GET /a b HTTP/1.1\nH:v1\n  v2\n\tv3\n\nrest", limits);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->target, "/a b");
  EXPECT_EQ(*r->FindHeader("h"), "v1 v2 v3");
  EXPECT_EQ(AsStringView(r->body), "rest");
}

}  // namespace
}  // namespace confide::kms
