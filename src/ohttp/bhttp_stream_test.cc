#include "ohttp/bhttp_stream.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ohttp/bhttp.h"

namespace confide::ohttp {
namespace {

struct Decoded {
  BhttpResponse response;
  size_t content_pieces = 0;
  bool head_seen = false;
};

void Merge(const BhttpResponseEvents& e, Decoded& d) {
  if (e.head) {
    ASSERT_FALSE(d.head_seen) << "head reported twice";
    d.head_seen = true;
    d.response = *e.head;
  }
  for (const Bytes& piece : e.content) {
    ASSERT_FALSE(piece.empty());
    ASSERT_TRUE(d.head_seen) << "content before head";
    Append(d.response.content, piece);
    ++d.content_pieces;
  }
  if (e.trailers) d.response.trailers = *e.trailers;
}

// DecodeInSteps feeds `data` `step` bytes at a time.
absl::StatusOr<Decoded> DecodeInSteps(ByteSpan data, size_t step) {
  BhttpResponseStreamDecoder dec;
  Decoded d;
  for (size_t i = 0; i < data.size(); i += step) {
    ASSIGN_OR_RETURN(auto e, dec.Feed(data.subspan(i, std::min(step, data.size() - i))));
    Merge(e, d);
  }
  ASSIGN_OR_RETURN(auto e, dec.Finish());
  Merge(e, d);
  return d;
}

Bytes Streamed(const std::vector<std::string>& pieces, std::vector<Field> trailers = {}) {
  Bytes out = *EncodeIndeterminateResponseHead(
      200, {{"content-type", "text/event-stream"}, {"x-request-id", "r1"}});
  for (const std::string& p : pieces) Append(out, EncodeIndeterminateContentChunk(AsBytes(p)));
  Append(out, *EncodeIndeterminateResponseEnd(trailers));
  return out;
}

TEST(BhttpStreamTest, EncoderOutputDecodesWithTheWholeMessageDecoder) {
  Bytes msg = Streamed({"data: a\n\n", "", "data: bb\n\n"}, {{"x-done", "1"}});
  auto whole = DecodeResponse(msg);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(AsStringView(whole->content), "data: a\n\ndata: bb\n\n");
  ASSERT_EQ(whole->trailers.size(), 1u);
  EXPECT_FALSE(EncodeIndeterminateResponseHead(99, {}).ok());
  EXPECT_FALSE(EncodeIndeterminateResponseHead(200, {{"Bad", "x"}}).ok());
  EXPECT_FALSE(EncodeIndeterminateResponseEnd({{"x", "a\r\nb"}}).ok());
  EXPECT_TRUE(EncodeIndeterminateContentChunk({}).empty());
}

TEST(BhttpStreamTest, EveryFeedSizeGivesTheSameMessage) {
  Bytes msg = Streamed({"data: {\"x\":1}\n\n", std::string(300, 'y'), "data: [DONE]\n\n"},
                       {{"x-tokens", "3"}});
  msg.push_back(0);  // padding
  msg.push_back(0);
  auto want = DecodeResponse(msg);
  ASSERT_TRUE(want.ok());
  for (size_t step : {size_t{1}, size_t{2}, size_t{7}, size_t{64}, msg.size()}) {
    auto got = DecodeInSteps(msg, step);
    ASSERT_TRUE(got.ok()) << step << ": " << got.status();
    EXPECT_EQ(got->response, *want) << step;
    if (step == msg.size()) {
      EXPECT_EQ(got->content_pieces, 3u);
    }
  }
}

TEST(BhttpStreamTest, HeadAndContentArriveBeforeTheEnd) {
  Bytes head = *EncodeIndeterminateResponseHead(200, {{"content-type", "text/event-stream"}});
  BhttpResponseStreamDecoder dec;
  auto e1 = dec.Feed(head);
  ASSERT_TRUE(e1.ok());
  ASSERT_TRUE(e1->head.has_value());
  EXPECT_EQ(e1->head->Header("content-type"), "text/event-stream");
  // A chunk split in two: its first half is reported before the rest arrives.
  Bytes chunk = EncodeIndeterminateContentChunk(AsBytes(std::string("hello world")));
  auto e2 = dec.Feed(ByteSpan(chunk).first(6));
  ASSERT_TRUE(e2.ok());
  ASSERT_EQ(e2->content.size(), 1u);
  EXPECT_EQ(AsStringView(e2->content[0]), "hello");
  auto e3 = dec.Feed(ByteSpan(chunk).subspan(6));
  ASSERT_TRUE(e3.ok());
  ASSERT_EQ(e3->content.size(), 1u);
  EXPECT_EQ(AsStringView(e3->content[0]), " world");
  EXPECT_FALSE(dec.complete());
  auto e4 = dec.Feed(*EncodeIndeterminateResponseEnd());
  ASSERT_TRUE(e4.ok());
  EXPECT_TRUE(e4->trailers.has_value());
  EXPECT_TRUE(dec.complete());
  EXPECT_TRUE(dec.Finish().ok());
}

// Truncation at every length: the streamed decoder accepts exactly what the whole-message
// decoder accepts (RFC 9292 §3.8: only empty trailing sections may be omitted), with the same
// result.
TEST(BhttpStreamTest, TruncationAtEveryLengthMatchesTheWholeMessageDecoder) {
  Bytes msg = Streamed({"data: one\n\n", "data: two\n\n"}, {{"x-t", "v"}});
  int accepted = 0, truncated = 0;
  for (size_t len = 0; len < msg.size(); ++len) {
    ByteSpan prefix = ByteSpan(msg).first(len);
    auto whole = DecodeResponse(prefix);
    auto got = DecodeInSteps(prefix, 1);
    ASSERT_EQ(whole.ok(), got.ok()) << len << ": " << got.status();
    if (got.ok()) {
      EXPECT_EQ(got->response, *whole) << len;
      ++accepted;
    } else {
      EXPECT_TRUE(absl::StrContains(got.status().message(), "truncated")) << got.status();
      ++truncated;
    }
  }
  EXPECT_GT(accepted, 0);
  EXPECT_GT(truncated, 20);
  auto mid = DecodeInSteps(ByteSpan(msg).first(msg.size() - 8), 3);
  EXPECT_TRUE(absl::StrContains(mid.status().message(), "response truncated inside its content"))
      << mid.status();
}

TEST(BhttpStreamTest, KnownLengthAndInformationalResponses) {
  BhttpResponse r;
  r.informational.push_back({103, {{"link", "</a>"}}});
  r.status = 422;
  r.headers = {{"content-type", "application/json"}};
  r.content = ToBytes(std::string(R"({"error":{}})"));
  Bytes known = *EncodeResponse(r);
  for (size_t step : {size_t{1}, known.size()}) {
    auto got = DecodeInSteps(known, step);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->response, r);
  }
  // Indeterminate form with an informational response.
  Bytes ind = {3, 0x40, 103, 4, 'l', 'i', 'n', 'k', 4, '<', '/', 'a', '>', 0};
  Bytes final_head = *EncodeIndeterminateResponseHead(200, {});
  ind.insert(ind.end(), final_head.begin() + 1, final_head.end());  // without framing
  Append(ind, *EncodeIndeterminateResponseEnd());
  auto got = DecodeInSteps(ind, 1);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->response.informational.size(), 1u);
  EXPECT_EQ(got->response.informational[0].headers[0].value, "</a>");
}

TEST(BhttpStreamTest, MalformedInputIsRejectedAndStaysRejected) {
  struct Case {
    Bytes data;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{0}, "request"},
      {{2}, "request"},
      {{4}, "not a response"},
      {{3, 0x40, 99}, "status code out of range"},
      {{3, 0x40, 200, 1, 'A', 0}, "lower-case token"},
      {{3, 0x40, 200, 1, 'a', 1, '\n'}, "CR, LF or NUL"},
      {{3, 0x40, 200, 0, 0, 0, 7}, "non-zero byte"},
  };
  for (const Case& c : cases) {
    BhttpResponseStreamDecoder dec;
    auto r = dec.Feed(c.data);
    ASSERT_FALSE(r.ok()) << c.want;
    EXPECT_TRUE(absl::StrContains(r.status().message(), c.want)) << r.status();
    EXPECT_FALSE(dec.Feed(Bytes{0}).ok());
    EXPECT_FALSE(dec.Finish().ok());
  }
  // Limits: too many fields, an oversized field, content over the message cap.
  BhttpLimits small;
  small.max_fields = 2;
  small.max_field_section_bytes = 32;
  small.max_message_bytes = 64;
  BhttpResponseStreamDecoder fields(small);
  Bytes many = *EncodeIndeterminateResponseHead(200, {{"a", "1"}, {"b", "2"}, {"c", "3"}});
  EXPECT_TRUE(absl::StrContains(fields.Feed(many).status().message(), "too many fields"));
  BhttpResponseStreamDecoder big(small);
  EXPECT_TRUE(absl::StrContains(
      big.Feed(*EncodeIndeterminateResponseHead(200, {{"a", std::string(40, 'x')}}))
          .status()
          .message(),
      "too long"));
  BhttpResponseStreamDecoder content(small);
  ASSERT_TRUE(content.Feed(*EncodeIndeterminateResponseHead(200, {})).ok());
  EXPECT_FALSE(content.Feed(EncodeIndeterminateContentChunk(Bytes(80, 'x'))).ok());
}

}  // namespace
}  // namespace confide::ohttp
