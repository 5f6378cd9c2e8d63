#include "client/chat.h"

#include "absl/strings/match.h"
#include "client/internal/test_peer.h"
#include "gtest/gtest.h"

namespace confide::client {
namespace {

TEST(ChatTest, RequestBodyCarriesTheParameters) {
  ChatParams p;
  p.model = "m";
  p.max_tokens = 16;
  p.temperature = 0.5;
  p.stream = false;
  auto j = nlohmann::json::parse(ChatRequestBody({{"system", "be brief"}, {"user", "hi"}}, p));
  EXPECT_EQ(j["model"], "m");
  EXPECT_EQ(j["max_tokens"], 16);
  EXPECT_EQ(j["temperature"], 0.5);
  EXPECT_EQ(j["stream"], false);
  ASSERT_EQ(j["messages"].size(), 2u);
  EXPECT_EQ(j["messages"][1]["content"], "hi");
  auto d = nlohmann::json::parse(ChatRequestBody({{"user", "x"}}, ChatParams{}));
  EXPECT_FALSE(d.contains("model"));
  EXPECT_FALSE(d.contains("max_tokens"));
  EXPECT_EQ(d["stream"], true);
}

TEST(ChatTest, AnswersAndErrors) {
  EXPECT_EQ(*ChatAnswer(R"({"choices":[{"message":{"role":"assistant","content":"ok"}}]})"), "ok");
  auto e = ChatAnswer(R"({"error":{"message":"model not loaded","type":"server_error"}})");
  EXPECT_TRUE(absl::StrContains(e.status().message(), "enclave: model not loaded"));
  EXPECT_FALSE(ChatAnswer("[]").ok());
  EXPECT_FALSE(ChatAnswer(R"({"choices":[]})").ok());
}

TEST(ChatTest, StreamDecoderCollectsDeltasUntilDone) {
  std::string body;
  for (int i = 0; i < 3; ++i) body += testing::TestPeer::StreamChunk(i);
  body +=
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
      "data: [DONE]\n\n";
  for (size_t step : {size_t{1}, size_t{9}, body.size()}) {
    ChatStreamDecoder d;
    std::string text;
    for (size_t i = 0; i < body.size(); i += step) {
      auto t = d.Feed(std::string_view(body).substr(i, step));
      ASSERT_TRUE(t.ok()) << t.status();
      text += *t;
    }
    EXPECT_EQ(text, "tok0 tok1 tok2 ");
    EXPECT_TRUE(d.done());
    EXPECT_EQ(d.finish_reason(), "stop");
    EXPECT_TRUE(d.Finish().ok());
  }
  ChatStreamDecoder cut;
  ASSERT_TRUE(cut.Feed(testing::TestPeer::StreamChunk(0)).ok());
  EXPECT_EQ(cut.Finish().code(), absl::StatusCode::kDataLoss);
  ChatStreamDecoder err;
  auto s = err.Feed("data: {\"error\":{\"message\":\"rate limited\"}}\n\n");
  EXPECT_TRUE(absl::StrContains(s.status().message(), "enclave: rate limited"));
  ChatStreamDecoder junk;
  EXPECT_FALSE(junk.Feed("data: not json\n\n").ok());
}

}  // namespace
}  // namespace confide::client
