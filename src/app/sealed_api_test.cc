#include "app/sealed_api.h"

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "ohttp/bhttp.h"
#include "ohttp/bhttp_stream.h"
#include "ohttp/chunked.h"
#include "testing/testdata.h"

namespace confide::app {
namespace {

using nlohmann::json;

const std::vector<ohttp::SymmetricAlgorithm> kAlgorithms = {
    {0x0001, 0x0001}, {0x0001, 0x0002}, {0x0001, 0x0003}};

ohttp::Gateway MakeGateway(uint8_t key_id = 7) {
  auto key = ohttp::GatewayKey::Generate(key_id, 0x0020, kAlgorithms);
  EXPECT_TRUE(key.ok());
  std::vector<ohttp::GatewayKey> keys;
  keys.push_back(*std::move(key));
  auto g = ohttp::Gateway::Create(std::move(keys));
  EXPECT_TRUE(g.ok());
  return *std::move(g);
}

// Echo answers with the inner request's method, path, a header and body; /stream streams
// five pieces.
ApiReply Echo(const http::Request& r) {
  if (r.target == "/stream") {
    http::Response head;
    head.headers.Set("Content-Type", "text/event-stream");
    return {std::move(head), [](const StreamWriter& write) {
              for (int i = 0; i < 5; ++i) {
                if (!write("data: piece " + std::to_string(i) + "\n\n")) return;
              }
              write("data: [DONE]\n\n");
            }};
  }
  json j = {{"method", r.method},
            {"path", r.target},
            {"auth", std::string(r.headers.Get("Authorization").value_or(""))},
            {"body", r.body}};
  http::Response resp = http::Response::Json(201, j.dump());
  resp.headers.Set("Connection", "keep-alive");  // hop-by-hop: must not be sealed through
  return {std::move(resp), nullptr};
}

Bytes InnerRequest(const std::string& method, const std::string& path, const std::string& body) {
  ohttp::BhttpRequest b;
  b.method = method;
  b.authority = "enclave";
  b.path = path;
  b.headers = {{"authorization", "Bearer secret-token"}, {"content-type", "application/json"}};
  b.content = ToBytes(body);
  auto enc = ohttp::EncodeRequest(b);
  EXPECT_TRUE(enc.ok());
  return *enc;
}

http::Request Outer(const std::string& type, ByteSpan body) {
  http::Request r;
  r.method = "POST";
  r.target = "/ohttp";
  r.headers.Set("Content-Type", type);
  r.body.assign(body.begin(), body.end());
  return r;
}

TEST(SealedApiTest, SingleRoundTrip) {
  SealedApi api(MakeGateway(), Echo);
  const ohttp::KeyConfig config = api.gateway().Configs()[0];
  for (const auto& alg : kAlgorithms) {
    auto req = ohttp::EncapsulateRequest(config, alg, InnerRequest("POST", "/v1/x", "{\"a\":1}"));
    ASSERT_TRUE(req.ok());
    ApiReply reply = api.HandleOhttp(Outer("message/ohttp-req", req->encapsulated));
    ASSERT_EQ(reply.response.status, 200);
    ASSERT_FALSE(reply.stream);
    EXPECT_EQ(reply.response.headers.Get("Content-Type").value_or(""), "message/ohttp-res");
    auto opened = req->context.DecapsulateResponse(AsBytes(reply.response.body));
    ASSERT_TRUE(opened.ok()) << opened.status();
    auto resp = ohttp::DecodeResponse(*opened);
    ASSERT_TRUE(resp.ok()) << resp.status();
    EXPECT_EQ(resp->status, 201);
    EXPECT_EQ(resp->Header("content-type"), "application/json");
    EXPECT_FALSE(resp->Header("connection").has_value());
    json j = json::parse(AsStringView(resp->content));
    EXPECT_EQ(j["method"], "POST");
    EXPECT_EQ(j["path"], "/v1/x");
    EXPECT_EQ(j["auth"], "Bearer secret-token");
    EXPECT_EQ(j["body"], "{\"a\":1}");
    // The parent sees ciphertext only.
    EXPECT_EQ(reply.response.body.find("secret-token"), std::string::npos);
  }
}

TEST(SealedApiTest, SingleRequestForStreamGetsWholeBody) {
  SealedApi api(MakeGateway(), Echo);
  auto req = ohttp::EncapsulateRequest(api.gateway().Configs()[0], kAlgorithms[0],
                                       InnerRequest("GET", "/stream", ""));
  ASSERT_TRUE(req.ok());
  ApiReply reply = api.HandleOhttp(Outer("message/ohttp-req", req->encapsulated));
  ASSERT_EQ(reply.response.status, 200);
  auto resp =
      ohttp::DecodeResponse(*req->context.DecapsulateResponse(AsBytes(reply.response.body)));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(AsStringView(resp->content).substr(0, 17), "data: piece 0\n\nda");
  EXPECT_NE(AsStringView(resp->content).find("[DONE]"), std::string_view::npos);
}

// ChunkedCall sends `inner` as a chunked request and returns the sealed writes of the reply.
struct ChunkedCall {
  std::vector<std::string> writes;
  std::optional<ohttp::ChunkedResponseReceiver> receiver;
  ApiReply reply;
};

ChunkedCall CallChunked(const SealedApi& api, const Bytes& inner, bool split) {
  ChunkedCall call;
  auto sender = ohttp::ChunkedRequestSender::Create(api.gateway().Configs()[0], kAlgorithms[1]);
  EXPECT_TRUE(sender.ok());
  Bytes body = sender->header();
  if (split && inner.size() > 4) {
    Append(body, *sender->SealChunk(ByteSpan(inner).first(4), false));
    Append(body, *sender->SealChunk(ByteSpan(inner).subspan(4), true));
  } else {
    Append(body, *sender->SealChunk(inner, true));
  }
  call.receiver.emplace(*sender->ResponseReceiver());
  call.reply = api.HandleOhttp(Outer("message/ohttp-chunked-req", body));
  if (call.reply.stream) {
    call.reply.stream([&](std::string_view w) {
      call.writes.emplace_back(w);
      return true;
    });
  } else {
    call.writes.push_back(call.reply.response.body);
  }
  return call;
}

TEST(SealedApiTest, ChunkedStreamSealsOnePiecePerChunk) {
  SealedApi api(MakeGateway(), Echo);
  ChunkedCall call = CallChunked(api, InnerRequest("POST", "/stream", "{}"), /*split=*/true);
  ASSERT_EQ(call.reply.response.status, 200);
  EXPECT_EQ(call.reply.response.headers.Get("Content-Type").value_or(""),
            "message/ohttp-chunked-res");
  // nonce + head, five pieces, [DONE], final.
  ASSERT_EQ(call.writes.size(), 8u);
  Bytes plaintext;
  for (size_t i = 0; i < call.writes.size(); ++i) {
    auto chunks = call.receiver->Feed(AsBytes(call.writes[i]));
    ASSERT_TRUE(chunks.ok()) << i << ": " << chunks.status();
    if (i + 1 < call.writes.size()) {
      ASSERT_EQ(chunks->size(), 1u) << "write " << i << " must be exactly one sealed chunk";
      if (i >= 1 && i <= 5) {
        const std::string piece = "data: piece " + std::to_string(i - 1) + "\n\n";
        EXPECT_EQ((*chunks)[0], ohttp::EncodeIndeterminateContentChunk(AsBytes(piece)));
      }
      Append(plaintext, (*chunks)[0]);
    } else {
      EXPECT_TRUE(chunks->empty());  // the final chunk opens at Finish
    }
  }
  auto last = call.receiver->Finish();
  ASSERT_TRUE(last.ok()) << last.status();
  Append(plaintext, *last);
  auto resp = ohttp::DecodeResponse(plaintext);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->Header("content-type"), "text/event-stream");
  std::string expected;
  for (int i = 0; i < 5; ++i) expected += "data: piece " + std::to_string(i) + "\n\n";
  expected += "data: [DONE]\n\n";
  EXPECT_EQ(AsStringView(resp->content), expected);
}

TEST(SealedApiTest, ChunkedNonStreamIsOneFinalKnownLengthChunk) {
  SealedApi api(MakeGateway(), Echo);
  ChunkedCall call = CallChunked(api, InnerRequest("POST", "/v1/x", "hi"), false);
  ASSERT_EQ(call.writes.size(), 1u);
  auto chunks = call.receiver->Feed(AsBytes(call.writes[0]));
  ASSERT_TRUE(chunks.ok());
  EXPECT_TRUE(chunks->empty());
  auto last = call.receiver->Finish();
  ASSERT_TRUE(last.ok());
  auto resp = ohttp::DecodeResponse(*last);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 201);
  EXPECT_EQ(json::parse(AsStringView(resp->content))["body"], "hi");
}

TEST(SealedApiTest, TruncatedStreamIsDetectedByTheClient) {
  SealedApi api(MakeGateway(), Echo);
  ChunkedCall call = CallChunked(api, InnerRequest("GET", "/stream", ""), false);
  ASSERT_EQ(call.writes.size(), 8u);
  for (size_t i = 0; i + 1 < call.writes.size(); ++i) {
    ASSERT_TRUE(call.receiver->Feed(AsBytes(call.writes[i])).ok());
  }
  // The parent drops the final chunk and closes: the receiver must not accept the end.
  EXPECT_FALSE(call.receiver->Finish().ok());
}

TEST(SealedApiTest, StreamStopsWhenOuterWriterFails) {
  SealedApi api(MakeGateway(), Echo);
  auto sender = ohttp::ChunkedRequestSender::Create(api.gateway().Configs()[0], kAlgorithms[0]);
  Bytes body = sender->header();
  Append(body, *sender->SealChunk(InnerRequest("GET", "/stream", ""), true));
  ApiReply reply = api.HandleOhttp(Outer("message/ohttp-chunked-req", body));
  ASSERT_TRUE(reply.stream);
  int writes = 0;
  reply.stream([&](std::string_view) { return ++writes < 3; });
  EXPECT_EQ(writes, 3);
}

TEST(SealedApiTest, UnknownKeyIdGetsOhttpKeyProblem) {
  SealedApi api(MakeGateway(7), Echo);
  ohttp::KeyConfig other = api.gateway().Configs()[0];
  other.key_id = 8;
  auto req = ohttp::EncapsulateRequest(other, kAlgorithms[0], InnerRequest("GET", "/", ""));
  ASSERT_TRUE(req.ok());
  for (const char* type : {"message/ohttp-req", "message/ohttp-chunked-req"}) {
    ApiReply reply = api.HandleOhttp(Outer(type, req->encapsulated));
    EXPECT_EQ(reply.response.status, 400) << type;
    EXPECT_EQ(reply.response.headers.Get("Content-Type").value_or(""), "application/problem+json");
    json j = json::parse(reply.response.body);
    EXPECT_EQ(j["type"], kOhttpKeyProblemType);
  }
  // An AEAD the key does not offer is a key problem too.
  Bytes bad_aead = req->encapsulated;
  bad_aead[0] = 7;
  bad_aead[6] = 0x09;
  ApiReply reply = api.HandleOhttp(Outer("message/ohttp-req", bad_aead));
  EXPECT_EQ(reply.response.headers.Get("Content-Type").value_or(""), "application/problem+json");
}

TEST(SealedApiTest, TamperedOrTruncatedRequestGets400WithoutDetail) {
  SealedApi api(MakeGateway(), Echo);
  auto req = ohttp::EncapsulateRequest(api.gateway().Configs()[0], kAlgorithms[2],
                                       InnerRequest("POST", "/v1/x", "hello"));
  ASSERT_TRUE(req.ok());
  const Bytes good = req->encapsulated;
  for (size_t i = 7; i < good.size(); i += 5) {
    Bytes bad = good;
    bad[i] ^= 0x01;
    ApiReply reply = api.HandleOhttp(Outer("message/ohttp-req", bad));
    EXPECT_EQ(reply.response.status, 400) << i;
    EXPECT_TRUE(reply.response.body.empty()) << i;
  }
  for (size_t len : {size_t{0}, size_t{3}, size_t{7}, size_t{20}, good.size() - 1}) {
    ApiReply reply = api.HandleOhttp(Outer("message/ohttp-req", ByteSpan(good).first(len)));
    EXPECT_EQ(reply.response.status, 400) << len;
  }
  // Chunked: tampered and truncated (no final chunk) requests.
  auto sender = ohttp::ChunkedRequestSender::Create(api.gateway().Configs()[0], kAlgorithms[0]);
  Bytes body = sender->header();
  Append(body, *sender->SealChunk(InnerRequest("GET", "/", ""), false));
  ApiReply truncated = api.HandleOhttp(Outer("message/ohttp-chunked-req", body));
  EXPECT_EQ(truncated.response.status, 400);
  Append(body, *sender->SealChunk(AsBytes("x"), true));
  body[body.size() - 3] ^= 0x80;
  ApiReply tampered = api.HandleOhttp(Outer("message/ohttp-chunked-req", body));
  EXPECT_EQ(tampered.response.status, 400);
  EXPECT_TRUE(tampered.response.body.empty());
}

TEST(SealedApiTest, MalformedInnerMessageIsASealedError) {
  SealedApi api(MakeGateway(), Echo);
  auto req = ohttp::EncapsulateRequest(api.gateway().Configs()[0], kAlgorithms[0],
                                       AsBytes("not binary http"));
  ASSERT_TRUE(req.ok());
  ApiReply reply = api.HandleOhttp(Outer("message/ohttp-req", req->encapsulated));
  ASSERT_EQ(reply.response.status, 200);  // outside: an ordinary sealed response
  auto resp =
      ohttp::DecodeResponse(*req->context.DecapsulateResponse(AsBytes(reply.response.body)));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 400);
}

TEST(SealedApiTest, WrongMediaTypeOrMethod) {
  SealedApi api(MakeGateway(), Echo);
  EXPECT_EQ(api.HandleOhttp(Outer("application/json", AsBytes("{}"))).response.status, 415);
  http::Request get = Outer("message/ohttp-req", {});
  get.method = "GET";
  EXPECT_EQ(api.HandleOhttp(get).response.status, 405);
  // Parameters and case in the media type are tolerated.
  auto req = ohttp::EncapsulateRequest(api.gateway().Configs()[0], kAlgorithms[0],
                                       InnerRequest("GET", "/", ""));
  EXPECT_EQ(api.HandleOhttp(Outer("Message/OHTTP-req; x=1", req->encapsulated)).response.status,
            200);
}

TEST(SealedApiTest, StreamedChatThroughTheSealWithRealModel) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "models/stories260K.gguf");
  auto model = llm::Model::Open(path.string(), {.max_context = 256});
  ASSERT_TRUE(model.ok());
  auto service = ApiService::Create(std::move(*model), nullptr, {.model_name = "stories260K"});
  ASSERT_TRUE(service.ok());
  SealedApi api(MakeGateway(), [&](const http::Request& r) { return (*service)->Handle(r); });
  json body = {{"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}},
               {"stream", true},
               {"temperature", 0},
               {"max_tokens", 12}};
  ChunkedCall call =
      CallChunked(api, InnerRequest("POST", "/v1/chat/completions", body.dump()), false);
  // nonce+head, role chunk, one chunk per token piece, finish chunk, [DONE], final.
  Bytes plaintext;
  size_t events = 0;
  for (size_t i = 0; i < call.writes.size(); ++i) {
    auto chunks = call.receiver->Feed(AsBytes(call.writes[i]));
    ASSERT_TRUE(chunks.ok());
    for (const Bytes& c : *chunks) Append(plaintext, c);
    if (i > 0 && i + 1 < call.writes.size()) ++events;
  }
  Append(plaintext, *call.receiver->Finish());
  auto resp = ohttp::DecodeResponse(plaintext);
  ASSERT_TRUE(resp.ok());
  const std::string sse(AsStringView(resp->content));
  size_t count = 0;
  for (size_t p = sse.find("data: "); p != std::string::npos; p = sse.find("data: ", p + 1)) {
    ++count;
  }
  EXPECT_EQ(events, count);  // every SSE event travelled in its own sealed chunk
  EXPECT_NE(sse.find("chat.completion.chunk"), std::string::npos);
  EXPECT_TRUE(sse.ends_with("data: [DONE]\n\n"));
}

}  // namespace
}  // namespace confide::app
