#include "app/openai_api.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "guard/policy.h"
#include "llm/generate.h"
#include "llm/prompt.h"
#include "nlohmann/json.hpp"
#include "testing/testdata.h"

namespace confide::app {
namespace {

using nlohmann::json;

http::Request Post(const std::string& path, const json& body) {
  http::Request r;
  r.method = "POST";
  r.target = path;
  r.body = body.dump();
  return r;
}

http::Request Get(const std::string& path) {
  http::Request r;
  r.method = "GET";
  r.target = path;
  return r;
}

json Body(const http::Response& r) { return json::parse(r.body, nullptr, false); }

// SseEvents splits a text/event-stream body into its data payloads.
std::vector<std::string> SseEvents(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos) << "unterminated event";
    if (end == std::string::npos) break;
    std::string ev = body.substr(pos, end - pos);
    EXPECT_EQ(ev.rfind("data: ", 0), 0u);
    out.push_back(ev.substr(6));
    pos = end + 2;
  }
  return out;
}

std::shared_ptr<const guard::Guardrail> MakeGuardrail(const json& policy) {
  auto p = guard::ParsePolicy(policy.dump());
  EXPECT_TRUE(p.ok()) << p.status();
  auto g = guard::Guardrail::Create(*p);
  EXPECT_TRUE(g.ok()) << g.status();
  return std::shared_ptr<const guard::Guardrail>(std::move(*g));
}

TEST(TextReleaserTest, HoldsBackIncompleteUtf8) {
  TextReleaser r({});
  EXPECT_EQ(r.Push("a\xC3"), "a");
  EXPECT_EQ(r.Push("\xA9"), "\xC3\xA9");
  EXPECT_EQ(r.Push("\xE2\x82"), "");
  EXPECT_EQ(r.Push("\xAC!"), "\xE2\x82\xAC!");
  EXPECT_EQ(r.Push("\xF0\x9F"), "");
  EXPECT_EQ(r.Finish(), "\xF0\x9F");  // an unfinished sequence still leaves at the end
}

TEST(TextReleaserTest, CutsAtStopSequenceSplitAcrossPieces) {
  TextReleaser r({"END", "xy"});
  std::string out;
  out += r.Push("hello E");
  out += r.Push("N");
  EXPECT_FALSE(r.stopped());
  out += r.Push("D and more");
  EXPECT_TRUE(r.stopped());
  EXPECT_EQ(out, "hello ");
  EXPECT_EQ(r.Push("again"), "");
  EXPECT_EQ(r.Finish(), "");
}

TEST(TextReleaserTest, EarliestStopWinsAndNoStopsReleaseEverything) {
  TextReleaser r({"bbb", "a"});
  EXPECT_EQ(r.Push("xxbbba"), "xx");
  TextReleaser all({});
  EXPECT_EQ(all.Push("abc"), "abc");
  TextReleaser partial({"stop"});
  EXPECT_EQ(partial.Push("so st"), "so");
  EXPECT_EQ(partial.Finish(), " st");
}

TEST(OpenAiErrorTest, Shape) {
  http::Response r = OpenAiError(429, "requests", "busy", "", "rate_limit_exceeded");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers.Get("Retry-After").value_or(""), "1");
  json j = Body(r);
  EXPECT_EQ(j["error"]["message"], "busy");
  EXPECT_EQ(j["error"]["type"], "requests");
  EXPECT_TRUE(j["error"]["param"].is_null());
  EXPECT_EQ(j["error"]["code"], "rate_limit_exceeded");
}

class ApiServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::confide::testing::SharedPath("models/stories260K.gguf");
    if (!std::filesystem::exists(path_)) {
      GTEST_SKIP() << "shared model not found: " << path_.string()
                   << " (set CONFIDE_SHARED_DIR or place ../shared beside the repository)";
    }
  }

  std::unique_ptr<ApiService> Make(ApiOptions options = {},
                                   std::shared_ptr<const guard::Guardrail> guardrail = nullptr,
                                   size_t context = 256) {
    if (options.model_name == "model") options.model_name = "stories260K";
    auto model = llm::Model::Open(path_.string(), {.max_context = context});
    EXPECT_TRUE(model.ok()) << model.status();
    auto s = ApiService::Create(std::move(*model), std::move(guardrail), options);
    EXPECT_TRUE(s.ok()) << s.status();
    return std::move(*s);
  }

  // Greedy reference: the chat prompt's completion by llm::GenerateGreedy directly.
  std::string Reference(const std::string& user, size_t max_tokens, size_t* prompt_tokens) {
    auto model = llm::Model::Open(path_.string(), {.max_context = 256});
    auto vocab = llm::VocabFromGguf((*model)->gguf());
    auto tok = llm::Tokenizer::Create(*vocab);
    const llm::ChatMessage m{"user", user};
    auto ids = llm::EncodeChat(*tok, "", std::span(&m, 1), "chatml");
    EXPECT_TRUE(ids.ok());
    *prompt_tokens = ids->size();
    llm::GenerateOptions g;
    g.max_new_tokens = max_tokens;
    g.stop_tokens = llm::EndOfGenerationIds(*tok);
    auto out = llm::GenerateGreedy(**model, *ids, g);
    std::string text;
    for (int t : *out) text += *tok->TokenToPiece(t);
    return text;
  }

  static json Chat(const std::string& user, json extra = json::object()) {
    json j = {{"model", "stories260K"}, {"messages", {{{"role", "user"}, {"content", user}}}}};
    for (auto& [k, v] : extra.items()) j[k] = v;
    return j;
  }

  std::filesystem::path path_;
};

TEST_F(ApiServiceTest, ListsModels) {
  auto s = Make();
  http::Response r = s->HandleBuffered(Get("/v1/models"));
  ASSERT_EQ(r.status, 200);
  json j = Body(r);
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 1u);
  EXPECT_EQ(j["data"][0]["id"], "stories260K");
  EXPECT_EQ(s->HandleBuffered(Get("/v1/models/stories260K")).status, 200);
  EXPECT_EQ(s->HandleBuffered(Get("/v1/models/gpt-4")).status, 404);
  EXPECT_EQ(s->HandleBuffered(Post("/v1/models", json::object())).status, 405);
}

TEST_F(ApiServiceTest, GreedyChatMatchesReferenceWithUsage) {
  auto s = Make();
  size_t prompt_tokens = 0;
  const std::string expected = Reference("Once upon a time", 40, &prompt_tokens);
  http::Response r = s->HandleBuffered(
      Post("/v1/chat/completions",
           Chat("Once upon a time",
                {{"temperature", 0}, {"max_tokens", 40}, {"unknown_field", {1, 2}}})));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "application/json");
  json j = Body(r);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "stories260K");
  EXPECT_EQ(j["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], expected);
  const std::string finish = j["choices"][0]["finish_reason"];
  const size_t completion = j["usage"]["completion_tokens"];
  EXPECT_EQ(j["usage"]["prompt_tokens"], prompt_tokens);
  EXPECT_EQ(j["usage"]["total_tokens"], prompt_tokens + completion);
  EXPECT_LE(completion, 40u);
  EXPECT_EQ(finish, completion == 40 ? "length" : "stop");
}

TEST_F(ApiServiceTest, MaxTokensGivesLengthAndIsCapped) {
  auto s = Make({.max_tokens = 5});
  json j = Body(s->HandleBuffered(
      Post("/v1/chat/completions", Chat("Tom and", {{"temperature", 0}, {"max_tokens", 100000}}))));
  EXPECT_EQ(j["usage"]["completion_tokens"], 5);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  j = Body(s->HandleBuffered(
      Post("/v1/chat/completions", Chat("Tom and", {{"max_completion_tokens", 2}}))));
  EXPECT_EQ(j["usage"]["completion_tokens"], 2);
}

TEST_F(ApiServiceTest, SeedMakesSamplingReproducible) {
  auto s = Make();
  auto run = [&](int seed) {
    json j = Body(s->HandleBuffered(
        Post("/v1/chat/completions",
             Chat("Lily", {{"temperature", 1.0}, {"seed", seed}, {"max_tokens", 30}}))));
    return j["choices"][0]["message"]["content"].get<std::string>();
  };
  EXPECT_EQ(run(1234), run(1234));
  // Different seeds give different stories (over a few tries at least one differs).
  const std::string a = run(1);
  bool differs = false;
  for (int seed = 2; seed < 6 && !differs; ++seed) differs = run(seed) != a;
  EXPECT_TRUE(differs);
}

TEST_F(ApiServiceTest, StreamSendsOneChunkPerPieceThenDone) {
  auto s = Make();
  const json req = Chat("Once upon a time", {{"temperature", 0}, {"max_tokens", 24}});
  json whole = Body(s->HandleBuffered(Post("/v1/chat/completions", req)));
  json sreq = req;
  sreq["stream"] = true;
  sreq["stream_options"] = {{"include_usage", true}};
  ApiReply reply = s->Handle(Post("/v1/chat/completions", sreq));
  ASSERT_EQ(reply.response.status, 200);
  ASSERT_TRUE(reply.stream);
  EXPECT_EQ(reply.response.headers.Get("Content-Type").value_or(""), "text/event-stream");
  std::vector<std::string> writes;
  reply.stream([&](std::string_view p) {
    writes.emplace_back(p);
    return true;
  });
  std::string body;
  for (const auto& w : writes) body += w;
  std::vector<std::string> events = SseEvents(body);
  ASSERT_EQ(events.size(), writes.size());  // each write is exactly one event
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back(), "[DONE]");
  json first = json::parse(events[0]);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  size_t content_chunks = 0;
  for (size_t i = 1; i + 3 < events.size(); ++i) {
    json c = json::parse(events[i]);
    EXPECT_TRUE(c["choices"][0]["finish_reason"].is_null());
    text += c["choices"][0]["delta"]["content"].get<std::string>();
    ++content_chunks;
  }
  json fin = json::parse(events[events.size() - 3]);
  EXPECT_EQ(fin["choices"][0]["finish_reason"], whole["choices"][0]["finish_reason"]);
  json usage = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"], whole["usage"]);
  EXPECT_EQ(text, whole["choices"][0]["message"]["content"]);
  // stories260K's pieces are ASCII: one chunk per generated token.
  EXPECT_EQ(content_chunks, whole["usage"]["completion_tokens"].get<size_t>());
}

TEST_F(ApiServiceTest, StreamStopsWhenReceiverGoes) {
  auto s = Make();
  ApiReply reply =
      s->Handle(Post("/v1/chat/completions", Chat("Once", {{"stream", true}, {"max_tokens", 50}})));
  ASSERT_TRUE(reply.stream);
  int writes = 0;
  reply.stream([&](std::string_view) { return ++writes < 3; });
  EXPECT_EQ(writes, 3);
}

TEST_F(ApiServiceTest, CompletionsPlainAndStreamed) {
  auto s = Make();
  json req = {{"model", "stories260K"},
              {"prompt", "Once upon a time"},
              {"max_tokens", 16},
              {"temperature", 0}};
  http::Response r = s->HandleBuffered(Post("/v1/completions", req));
  ASSERT_EQ(r.status, 200) << r.body;
  json j = Body(r);
  EXPECT_EQ(j["object"], "text_completion");
  const std::string text = j["choices"][0]["text"];
  EXPECT_FALSE(text.empty());
  req["stream"] = true;
  r = s->HandleBuffered(Post("/v1/completions", req));
  auto events = SseEvents(r.body);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string streamed;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    streamed += json::parse(events[i])["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(streamed, text);
  req["prompt"] = json::array({"Once upon a time"});
  req["stream"] = false;
  EXPECT_EQ(Body(s->HandleBuffered(Post("/v1/completions", req)))["choices"][0]["text"], text);
}

TEST_F(ApiServiceTest, StopSequenceCutsTheAnswer) {
  auto s = Make();
  const json base = Chat("Once upon a time", {{"temperature", 0}, {"max_tokens", 40}});
  const std::string full = Body(
      s->HandleBuffered(Post("/v1/chat/completions", base)))["choices"][0]["message"]["content"];
  ASSERT_GT(full.size(), 12u);
  const std::string stop = full.substr(8, 3);
  json req = base;
  req["stop"] = {stop, "zzzzzz"};
  json j = Body(s->HandleBuffered(Post("/v1/chat/completions", req)));
  EXPECT_EQ(j["choices"][0]["message"]["content"], full.substr(0, full.find(stop)));
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  req["stop"] = stop;
  req["stream"] = true;
  http::Response r = s->HandleBuffered(Post("/v1/chat/completions", req));
  std::string streamed;
  for (const std::string& e : SseEvents(r.body)) {
    if (e == "[DONE]") continue;
    const json d = json::parse(e)["choices"][0]["delta"];
    if (d.contains("content")) streamed += d["content"].get<std::string>();
  }
  EXPECT_EQ(streamed, full.substr(0, full.find(stop)));
}

TEST_F(ApiServiceTest, ClientErrorsHaveOpenAiShapeAndStatus) {
  auto s = Make({.max_body_bytes = 4096, .max_messages = 3});
  struct Case {
    std::string name;
    http::Request request;
    int status;
    std::string code;
  };
  http::Request bad_json = Post("/v1/chat/completions", json::object());
  bad_json.body = "{\"messages\": [";
  http::Request deep = Post("/v1/chat/completions", json::object());
  deep.body = std::string(100, '[') + std::string(100, ']');
  http::Request big = Post("/v1/chat/completions", Chat(std::string(5000, 'a')));
  json many = Chat("hi");
  for (int i = 0; i < 3; ++i) many["messages"].push_back({{"role", "user"}, {"content", "x"}});
  std::vector<Case> cases = {
      {"bad json", bad_json, 400, "invalid_json"},
      {"too deep", deep, 400, "invalid_json"},
      {"not object", Post("/v1/chat/completions", json::array()), 400, "invalid_json"},
      {"too big", big, 413, "request_too_large"},
      {"wrong model", Post("/v1/chat/completions", Chat("hi", {{"model", "gpt-4o"}})), 404,
       "model_not_found"},
      {"model type", Post("/v1/chat/completions", Chat("hi", {{"model", 3}})), 400, "invalid_type"},
      {"no messages", Post("/v1/chat/completions", {{"model", "stories260K"}}), 400,
       "invalid_type"},
      {"empty messages", Post("/v1/chat/completions", {{"messages", json::array()}}), 400,
       "invalid_type"},
      {"too many messages", Post("/v1/chat/completions", many), 400, "too_many_messages"},
      {"n=2", Post("/v1/chat/completions", Chat("hi", {{"n", 2}})), 422, "unsupported_value"},
      {"n float", Post("/v1/chat/completions", Chat("hi", {{"n", 1.5}})), 400, "invalid_type"},
      {"tool role",
       Post("/v1/chat/completions", {{"messages", {{{"role", "tool"}, {"content", "x"}}}}}), 422,
       "unsupported_value"},
      {"image part",
       Post("/v1/chat/completions",
            {{"messages",
              {{{"role", "user"}, {"content", {{{"type", "image_url"}, {"image_url", "x"}}}}}}}}),
       422, "unsupported_content"},
      {"temperature", Post("/v1/chat/completions", Chat("hi", {{"temperature", 3}})), 400,
       "invalid_value"},
      {"temperature type", Post("/v1/chat/completions", Chat("hi", {{"temperature", "hot"}})), 400,
       "invalid_type"},
      {"top_p", Post("/v1/chat/completions", Chat("hi", {{"top_p", 0}})), 400, "invalid_value"},
      {"max_tokens 0", Post("/v1/chat/completions", Chat("hi", {{"max_tokens", 0}})), 400,
       "invalid_type"},
      {"stop 5", Post("/v1/chat/completions", Chat("hi", {{"stop", {"a", "b", "c", "d", "e"}}})),
       400, "invalid_type"},
      {"stream type", Post("/v1/chat/completions", Chat("hi", {{"stream", "yes"}})), 400,
       "invalid_type"},
      {"logprobs", Post("/v1/chat/completions", Chat("hi", {{"logprobs", true}})), 422,
       "unsupported_value"},
      {"prompt type", Post("/v1/completions", {{"prompt", 5}}), 400, "invalid_type"},
      {"unknown path", Post("/v1/embeddings", json::object()), 404, "not_found"},
      {"wrong method", Get("/v1/chat/completions"), 405, "method_not_allowed"},
  };
  for (const Case& c : cases) {
    http::Response r = s->HandleBuffered(c.request);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    json j = Body(r);
    ASSERT_TRUE(j.contains("error")) << c.name;
    EXPECT_EQ(j["error"]["code"], c.code) << c.name;
    EXPECT_TRUE(j["error"]["message"].is_string()) << c.name;
    EXPECT_TRUE(j["error"].contains("param")) << c.name;
    EXPECT_TRUE(j["error"]["type"].is_string()) << c.name;
  }
}

TEST_F(ApiServiceTest, PromptLongerThanContextIs400) {
  auto s = Make({}, nullptr, /*context=*/32);
  std::string longtext;
  for (int i = 0; i < 40; ++i) longtext += "the cat sat on the mat ";
  http::Response r = s->HandleBuffered(Post("/v1/chat/completions", Chat(longtext)));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["error"]["code"], "context_length_exceeded");
  EXPECT_EQ(r.body.find("cat sat"), std::string::npos);  // content never echoed
}

TEST_F(ApiServiceTest, TooManyPendingGets429) {
  auto s = Make({.max_pending = 1});
  // A stream not yet produced holds its place.
  ApiReply held = s->Handle(Post("/v1/chat/completions", Chat("a", {{"stream", true}})));
  ASSERT_TRUE(held.stream);
  http::Response r = s->HandleBuffered(Post("/v1/chat/completions", Chat("b")));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(Body(r)["error"]["code"], "rate_limit_exceeded");
  EXPECT_TRUE(r.headers.Get("Retry-After").has_value());
  held = ApiReply{};  // dropping the producer frees the place
  EXPECT_EQ(s->HandleBuffered(Post("/v1/chat/completions", Chat("b", {{"max_tokens", 2}}))).status,
            200);
}

TEST_F(ApiServiceTest, ConcurrentRequestsAreSerialised) {
  auto s = Make();
  const json req = Chat("Once upon a time", {{"temperature", 0}, {"max_tokens", 20}});
  const std::string expected = Body(
      s->HandleBuffered(Post("/v1/chat/completions", req)))["choices"][0]["message"]["content"];
  std::vector<std::thread> threads;
  std::vector<std::string> got(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      got[i] = Body(
          s->HandleBuffered(Post("/v1/chat/completions", req)))["choices"][0]["message"]["content"];
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, expected);
}

json GuardPolicy() {
  return {{"name", "test"},
          {"blockedInputMessaging", "Input blocked."},
          {"blockedOutputsMessaging", "Output blocked."},
          {"wordPolicyConfig", {{"wordsConfig", {{{"text", "dragon"}}}}}},
          {"sensitiveInformationPolicyConfig",
           {{"piiEntitiesConfig", {{{"type", "EMAIL"}, {"action", "ANONYMIZE"}}}}}}};
}

TEST_F(ApiServiceTest, InputGuardrailBlocksBeforeGeneration) {
  auto s = Make({}, MakeGuardrail(GuardPolicy()));
  json j = Body(s->HandleBuffered(
      Post("/v1/chat/completions", Chat("tell me about the dragon", {{"temperature", 0}}))));
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Input blocked.");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "content_filter");
  EXPECT_EQ(j["usage"]["completion_tokens"], 0);
  // Streamed: the blocked message as the content, finish content_filter.
  http::Response r =
      s->HandleBuffered(Post("/v1/chat/completions", Chat("the dragon", {{"stream", true}})));
  auto events = SseEvents(r.body);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(json::parse(events[1])["choices"][0]["delta"]["content"], "Input blocked.");
  EXPECT_EQ(json::parse(events[2])["choices"][0]["finish_reason"], "content_filter");
}

TEST_F(ApiServiceTest, OutputGuardrailChecksTheAnswer) {
  auto plain = Make();
  const json req = Chat("Once upon a time", {{"temperature", 0}, {"max_tokens", 40}});
  const std::string answer = Body(
      plain->HandleBuffered(Post("/v1/chat/completions", req)))["choices"][0]["message"]["content"];
  // Block a word the model is known to say (greedy is deterministic).
  std::string word;
  for (size_t i = 0, j = 0; i <= answer.size(); ++i) {
    if (i == answer.size() || !std::isalpha(static_cast<unsigned char>(answer[i]))) {
      if (i - j >= 4) {
        word = answer.substr(j, i - j);
        break;
      }
      j = i + 1;
    }
  }
  ASSERT_FALSE(word.empty()) << answer;
  json policy = GuardPolicy();
  policy["wordPolicyConfig"]["wordsConfig"] = {{{"text", word}}};
  auto s = Make({}, MakeGuardrail(policy));
  json j = Body(s->HandleBuffered(Post("/v1/chat/completions", req)));
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Output blocked.");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "content_filter");
  json sreq = req;
  sreq["stream"] = true;
  http::Response r = s->HandleBuffered(Post("/v1/chat/completions", sreq));
  EXPECT_EQ(r.body.find(word), std::string::npos);  // nothing of the answer left the service
  EXPECT_NE(r.body.find("Output blocked."), std::string::npos);
  EXPECT_NE(r.body.find("\"content_filter\""), std::string::npos);
}

TEST(GuardedReleaserTest, BlocksBeforeTheWordLeaves) {
  auto g = MakeGuardrail({{"name", "t"},
                          {"blockedInputMessaging", "in"},
                          {"blockedOutputsMessaging", "Output blocked."},
                          {"wordPolicyConfig", {{"wordsConfig", {{{"text", "dragon"}}}}}}});
  GuardedReleaser r(*g, 16);
  std::string sent;
  for (const char* piece : {"Once upon a time there ", "was a small and very ", "friendly ", "dra",
                            "gon who", " lived"}) {
    sent += r.Push(piece);
    if (r.blocked()) break;
  }
  EXPECT_TRUE(r.blocked());
  EXPECT_EQ(r.blocked_message(), "Output blocked.");
  EXPECT_FALSE(sent.empty());  // clean text before the word was streamed
  EXPECT_EQ(sent.find("dra"), std::string::npos);
  EXPECT_EQ(r.Finish(), "");
}

TEST(GuardedReleaserTest, MasksEntitiesSplitAcrossPieces) {
  auto g =
      MakeGuardrail({{"name", "t"},
                     {"blockedInputMessaging", "in"},
                     {"blockedOutputsMessaging", "out"},
                     {"sensitiveInformationPolicyConfig",
                      {{"piiEntitiesConfig", {{{"type", "EMAIL"}, {"action", "ANONYMIZE"}}}}}}});
  GuardedReleaser r(*g, 32);
  std::string sent;
  for (const char* piece :
       {"Write to me at ", "jane.", "doe@exa", "mple.com", " any time you like, ",
        "it is a pleasure to hear from friends and readers alike."}) {
    sent += r.Push(piece);
  }
  sent += r.Finish();
  EXPECT_FALSE(r.blocked());
  EXPECT_EQ(sent,
            "Write to me at {EMAIL} any time you like, it is a pleasure to hear from friends "
            "and readers alike.");
}

TEST_F(ApiServiceTest, GuardedStreamStillStreams) {
  json policy = GuardPolicy();  // words + email masking: output-side filters
  auto s = Make({}, MakeGuardrail(policy));
  json req = Chat("Once upon a time", {{"temperature", 0}, {"max_tokens", 120}, {"stream", true}});
  http::Response r = s->HandleBuffered(Post("/v1/chat/completions", req));
  auto events = SseEvents(r.body);
  size_t content_events = 0;
  std::string text;
  for (const auto& e : events) {
    if (e == "[DONE]") continue;
    json d = json::parse(e)["choices"][0]["delta"];
    if (d.contains("content") && !d["content"].get<std::string>().empty()) {
      ++content_events;
      text += d["content"].get<std::string>();
    }
  }
  req["stream"] = false;
  json whole = Body(s->HandleBuffered(Post("/v1/chat/completions", req)));
  EXPECT_EQ(text, whole["choices"][0]["message"]["content"]);
  if (text.size() > kGuardHoldback + 20) {
    EXPECT_GT(content_events, 2u);  // streamed, not one burst at the end
  }
}

TEST_F(ApiServiceTest, GuardrailsApplyEndpoint) {
  auto none = Make();
  json req = {{"source", "INPUT"}, {"content", {{{"text", {{"text", "mail a@b.example"}}}}}}};
  EXPECT_EQ(none->HandleBuffered(Post("/v1/guardrails/apply", req)).status, 404);
  auto s = Make({}, MakeGuardrail(GuardPolicy()));
  http::Response r = s->HandleBuffered(Post("/v1/guardrails/apply", req));
  ASSERT_EQ(r.status, 200) << r.body;
  json j = Body(r);
  EXPECT_EQ(j["action"], "GUARDRAIL_INTERVENED");
  EXPECT_EQ(j["outputs"][0]["text"], "mail {EMAIL}");
  req["source"] = "SIDEWAYS";
  EXPECT_EQ(s->HandleBuffered(Post("/v1/guardrails/apply", req)).status, 400);
  req["source"] = "OUTPUT";
  req["content"] = {{{"text", 5}}};
  EXPECT_EQ(s->HandleBuffered(Post("/v1/guardrails/apply", req)).status, 400);
}

TEST_F(ApiServiceTest, ChatHelperIsGreedy) {
  auto s = Make();
  size_t prompt_tokens = 0;
  const std::string expected = Reference("Once upon a time", 20, &prompt_tokens);
  auto r = s->Chat("Once upon a time", 20);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->content, expected);
  EXPECT_EQ(r->prompt_tokens, prompt_tokens);
}

}  // namespace
}  // namespace confide::app
