#include "client/sse.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace confide::client {
namespace {

using namespace std::string_view_literals;

std::vector<SseEvent> ParseAll(std::string_view text, size_t step) {
  SseParser p;
  std::vector<SseEvent> all;
  for (size_t i = 0; i < text.size(); i += step) {
    auto e = p.Feed(text.substr(i, step));
    EXPECT_TRUE(e.ok()) << e.status();
    if (!e.ok()) return all;
    all.insert(all.end(), e->begin(), e->end());
  }
  EXPECT_TRUE(p.Finish().ok());
  return all;
}

TEST(SseTest, OpenAiChunksInAnySplit) {
  const std::string stream =
      "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
      ": keep-alive comment\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\r\n\r\n"
      "data: [DONE]\r\r";
  for (size_t step : {size_t{1}, size_t{2}, size_t{5}, stream.size()}) {
    auto events = ParseAll(stream, step);
    ASSERT_EQ(events.size(), 3u) << step;
    EXPECT_EQ(events[0].data, "{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}");
    EXPECT_EQ(events[0].event, "message");
    EXPECT_EQ(events[2].data, "[DONE]");
  }
}

TEST(SseTest, FieldsFollowTheWhatwgRules) {
  auto events = ParseAll(
      "\xEF\xBB\xBF"  // a leading BOM is ignored
      "event: add\ndata:a\ndata:  b\nid: 7\nretry: 10\nunknown: x\n\n"
      "data\n\n"         // a field with no colon: empty value
      "event: only\n\n"  // no data: nothing dispatched
      "id: 8\0\ndata: c\n\n"sv,
      3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0], (SseEvent{"add", "a\n b", "7"}));
  EXPECT_EQ(events[1], (SseEvent{"message", "", "7"}));
  EXPECT_EQ(events[2].data, "c");
  EXPECT_EQ(events[2].id, "7");  // an id with NUL is ignored
}

TEST(SseTest, UnterminatedEventIsReportedAndDiscarded) {
  SseParser p;
  auto e = p.Feed("data: partial\n");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->empty());
  bool incomplete = false;
  ASSERT_TRUE(p.Finish(&incomplete).ok());
  EXPECT_TRUE(incomplete);
}

TEST(SseTest, LinesAndEventsAreBounded) {
  SseParser lines(SseLimits{16, 64});
  auto r = lines.Feed("data: 0123456789abcdef");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "line is longer than 16"));
  EXPECT_FALSE(lines.Feed("\n\n").ok());  // stays failed
  EXPECT_FALSE(lines.Finish().ok());
  SseParser events(SseLimits{16, 20});
  auto r2 = events.Feed("data: 0123456\ndata: 0123456\ndata: 0123456\n");
  ASSERT_FALSE(r2.ok());
  EXPECT_TRUE(absl::StrContains(r2.status().message(), "event is larger than 20"));
}

}  // namespace
}  // namespace confide::client
