#include "client/openai_proxy.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "client/chat.h"
#include "client/http_transport.h"
#include "client/internal/test_peer.h"
#include "gtest/gtest.h"

namespace confide::client {
namespace {

using testing::TestPeer;

http::Request ChatRequest(bool stream) {
  http::Request r;
  r.method = "POST";
  r.target = "/v1/chat/completions";
  r.headers.Add("Content-Type", "application/json");
  r.headers.Add("Authorization", "Bearer sk-local");
  r.body = ChatRequestBody({{"user", "hello"}}, ChatParams{"test-model", {}, {}, stream});
  return r;
}

class OpenAiProxyTest : public ::testing::Test {
 protected:
  void Start(TrustPolicy policy) {
    session_ = std::make_shared<SealedSession>(peer_, std::move(policy));
    http::ServerOptions o;
    o.handler_threads = 4;
    auto s = http::Server::Start(o, ProxyHandler(session_));
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
  }
  http::Client Client() { return http::Client("127.0.0.1", server_->port(), absl::Seconds(10)); }

  std::shared_ptr<TestPeer> peer_ = std::make_shared<TestPeer>();
  std::shared_ptr<SealedSession> session_;
  std::unique_ptr<http::Server> server_;
};

TEST_F(OpenAiProxyTest, ForwardsSealedRequestsAndStreams) {
  Start(peer_->Policy());
  auto c = Client();
  auto r = c.Send(ChatRequest(false));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(*ChatAnswer(r->body), "echo(1): hello");
  EXPECT_EQ(peer_->last_authorization(), "Bearer sk-local");

  std::vector<std::string> pieces;
  int status = 0;
  std::string type;
  absl::Status s = c.SendStreaming(
      ChatRequest(true),
      [&](const http::Response& head) {
        status = head.status;
        type = std::string(head.headers.Get("content-type").value_or(""));
        return true;
      },
      [&](std::string_view p) {
        pieces.emplace_back(p);
        return true;
      });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(status, 200);
  EXPECT_EQ(type, "text/event-stream");
  std::string body;
  for (const auto& p : pieces) body += p;
  ChatStreamDecoder d;
  EXPECT_EQ(*d.Feed(body), "tok0 tok1 tok2 ");
  EXPECT_TRUE(d.Finish().ok());

  http::Request models;
  models.method = "GET";
  models.target = "/v1/models";
  auto m = c.Send(models);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(absl::StrContains(m->body, "test-model"));
  http::Request enclave;
  enclave.method = "GET";
  enclave.target = "/confide/enclave";
  auto e = c.Send(enclave);
  ASSERT_TRUE(e.ok());
  auto j = nlohmann::json::parse(e->body);
  EXPECT_EQ(j["simulation"], true);
  EXPECT_EQ(j["pcrs"]["0"], base::HexEncode(peer_->pcrs().at(0)));
}

TEST_F(OpenAiProxyTest, VerificationFailureIs502NamingTheCheck) {
  TrustPolicy p = peer_->Policy();
  p.pcrs[0] = attest::MeasureBytes(AsBytes("other image"));
  Start(p);
  auto c = Client();
  for (bool stream : {false, true}) {
    auto r = c.Send(ChatRequest(stream));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 502);
    auto j = nlohmann::json::parse(r->body);
    EXPECT_EQ(j["error"]["type"], "confide_attestation_error");
    EXPECT_TRUE(absl::StrContains(j["error"]["message"].get<std::string>(), "PCR0")) << j.dump();
  }
  EXPECT_EQ(peer_->sealed_requests, 0);
}

TEST_F(OpenAiProxyTest, TruncatedStreamEndsWithAnErrorEvent) {
  Start(peer_->Policy());
  peer_->truncate_stream = true;
  peer_->truncate_after_pieces = 1;  // cut after the first token
  auto r = Client().Send(ChatRequest(true));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);  // the head had gone out
  EXPECT_TRUE(absl::StrContains(r->body, "response truncated")) << r->body;
  EXPECT_FALSE(absl::StrContains(r->body, "[DONE]"));
  ChatStreamDecoder d;
  EXPECT_FALSE(d.Feed(r->body).ok());
}

// The session over a real socket: HttpTransport to an http::Server that serves the test peer,
// relaying chunked responses with Response::stream.
TEST(HttpTransportTest, SessionOverHttpStreamsIncrementally) {
  auto peer = std::make_shared<TestPeer>();
  http::ServerOptions o;
  o.handler_threads = 2;
  auto server = http::Server::Start(o, [peer](const http::Request& req) {
    if (req.headers.Get("content-type") == "message/ohttp-chunked-req") {
      http::Response r;
      r.headers.Add("Content-Type", "message/ohttp-chunked-res");
      r.stream = [peer, req](http::BodyWriter& w) {
        (void)peer->Serve(
            req, [](const http::Response&) { return true; },
            [&w](std::string_view piece) { return w.Write(piece); });
      };
      return r;
    }
    auto r = peer->Send(req);
    return r.ok() ? *r : http::Response::Text(500, "");
  });
  ASSERT_TRUE(server.ok()) << server.status();
  auto session = ConnectSession(absl::StrCat("http://127.0.0.1:", (*server)->port(), "/"),
                                peer->Policy(), http::ClientOptions{});
  ASSERT_TRUE(session.ok()) << session.status();
  auto r = (*session)->Send(ChatRequest(false));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*ChatAnswer(r->body), "echo(1): hello");

  // Piece i is sealed only once the client has opened piece i-1 (bounded wait, so a client
  // that buffers the whole answer fails the check instead of hanging).
  std::atomic<int> received{0};
  std::atomic<int> in_order{0};
  peer->before_piece = [&](int i) {
    for (int waited = 0; received.load() < i + 1 && waited < 500; ++waited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (received.load() == i + 1) ++in_order;  // head piece + i content pieces
  };
  int pieces = 0;
  absl::Status s = (*session)->SendStreaming(
      ChatRequest(true),
      [&](const http::Response&) {
        ++received;
        return true;
      },
      [&](std::string_view) {
        ++received;
        ++pieces;
        return true;
      });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(pieces, 4);
  EXPECT_EQ(in_order.load(), 3);
  EXPECT_EQ(peer->attestations, 1);
}

TEST(HttpTransportTest, UrlsAreChecked) {
  EXPECT_FALSE(HttpTransport("ftp://x", {}).ok());
  EXPECT_FALSE(ConnectSession("http://x:80/p?q=1", {}, {}).ok());
  EXPECT_TRUE(ConnectSession("https://gateway.example:8443/confide/", {}, {}).ok());
}

}  // namespace
}  // namespace confide::client
