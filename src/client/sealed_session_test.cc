#include "client/sealed_session.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "client/internal/test_peer.h"
#include "gtest/gtest.h"

namespace confide::client {
namespace {

using testing::TestPeer;

http::Request Chat(const std::string& text, bool stream) {
  http::Request r;
  r.method = "POST";
  r.target = "/v1/chat/completions";
  r.headers.Add("Content-Type", "application/json");
  r.headers.Add("Authorization", "Bearer sk-test");
  r.headers.Add("Host", "localhost:8080");
  r.body = nlohmann::json({{"model", "test-model"},
                           {"stream", stream},
                           {"messages", {{{"role", "user"}, {"content", text}}}}})
               .dump();
  return r;
}

class SealedSessionTest : public ::testing::Test {
 protected:
  std::shared_ptr<TestPeer> peer_ = std::make_shared<TestPeer>();

  std::unique_ptr<SealedSession> Session(TrustPolicy policy, SessionOptions options = {}) {
    return std::make_unique<SealedSession>(peer_, std::move(policy), std::move(options));
  }
  std::unique_ptr<SealedSession> Session() { return Session(peer_->Policy()); }

  // Stream runs a streamed chat and returns the body, or the error.
  absl::StatusOr<std::string> Stream(SealedSession& s) {
    std::string body;
    int status = 0;
    absl::Status r = s.SendStreaming(
        Chat("hi", true),
        [&](const http::Response& head) {
          status = head.status;
          return true;
        },
        [&](std::string_view piece) {
          body.append(piece);
          return true;
        });
    if (!r.ok()) return r;
    EXPECT_EQ(status, 200);
    return body;
  }
};

void ExpectRefused(const absl::Status& s, const std::string& want) {
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), want)) << "want '" << want << "', got " << s;
}

TEST_F(SealedSessionTest, RoundTrip) {
  auto s = Session();
  auto a = s->Attest();
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE((*a)->enclave.verified.simulation);
  EXPECT_EQ((*a)->key_config.key_id, 17);
  EXPECT_EQ((*a)->algorithm.aead_id, 0x0002);  // the strongest the peer offers
  EXPECT_EQ((*a)->enclave_id, "16");

  auto r = s->Send(Chat("hello", false));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "echo(1): hello");
  EXPECT_EQ(peer_->last_authorization(), "Bearer sk-test");  // travels sealed
  // Inner errors are ordinary responses.
  http::Request missing;
  missing.method = "GET";
  missing.target = "/v1/nothing";
  auto nf = s->Send(missing);
  ASSERT_TRUE(nf.ok());
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(peer_->attestations, 1);  // one attestation serves every request while fresh
}

TEST_F(SealedSessionTest, StreamingPiecesArriveIncrementally) {
  auto s = Session();
  std::vector<std::string> pieces;
  peer_->stream_pieces = 4;
  // Before sealing piece i, the peer checks that the caller already received piece i-1: the
  // client must hand each piece over as its sealed chunk opens, not at the end.
  std::vector<size_t> seen_before;
  peer_->before_piece = [&](int) { seen_before.push_back(pieces.size()); };
  std::string content_type;
  absl::Status r = s->SendStreaming(
      Chat("hi", true),
      [&](const http::Response& head) {
        content_type = std::string(head.headers.Get("content-type").value_or(""));
        return true;
      },
      [&](std::string_view piece) {
        pieces.emplace_back(piece);
        return true;
      });
  ASSERT_TRUE(r.ok()) << r;
  EXPECT_EQ(content_type, "text/event-stream");
  ASSERT_EQ(pieces.size(), 5u);  // 4 chunks + [DONE]
  EXPECT_EQ(pieces[0], TestPeer::StreamChunk(0));
  EXPECT_EQ(pieces[4], "data: [DONE]\n\n");
  EXPECT_EQ(seen_before, (std::vector<size_t>{0, 1, 2, 3}));
  // A caller that stops reading cancels.
  int n = 0;
  absl::Status cancelled = s->SendStreaming(
      Chat("hi", true), [](const http::Response&) { return true; },
      [&](std::string_view) { return ++n < 2; });
  EXPECT_EQ(cancelled.code(), absl::StatusCode::kCancelled) << cancelled;
}

TEST_F(SealedSessionTest, WrongPcrIsRefused) {
  TrustPolicy p = peer_->Policy();
  p.pcrs[2] = attest::MeasureBytes(AsBytes("another app"));
  auto s = Session(p);
  ExpectRefused(s->Send(Chat("secret", false)).status(), "attestation: PCRs: PCR2 does not match");
  EXPECT_EQ(peer_->sealed_requests, 0);  // nothing was sent
}

TEST_F(SealedSessionTest, SimulationRootNeedsConsent) {
  TrustPolicy p = peer_->Policy();
  p.allow_simulation_root = false;
  ExpectRefused(Session(p)->Attest().status(),
                "attestation: the pinned root is a confide "
                "simulation root");
}

TEST_F(SealedSessionTest, SwappedKeyConfigIsRefused) {
  peer_->swap_key_config = true;
  auto s = Session();
  ExpectRefused(s->Send(Chat("secret", false)).status(),
                "attestation: key configuration: not bound to the attestation document");
  EXPECT_EQ(peer_->sealed_requests, 0);
}

TEST_F(SealedSessionTest, WrongNonceIsRefused) {
  peer_->wrong_nonce = true;
  ExpectRefused(Session()->Attest().status(), "attestation: nonce");
}

TEST_F(SealedSessionTest, StaleDocumentIsRefusedAndFreshnessTriggersReattestation) {
  absl::Time now = absl::Now();
  SessionOptions options;
  options.clock = [&now] { return now; };
  peer_->clock = options.clock;
  TrustPolicy p = peer_->Policy();
  p.max_document_age = absl::Minutes(5);
  auto s = Session(p, options);
  // A document from 10 minutes ago (the peer's clock lags): refused.
  peer_->document_skew_s = -600;
  ExpectRefused(s->Attest().status(), "attestation: freshness: document is older");
  peer_->document_skew_s = 0;
  ASSERT_TRUE(s->Send(Chat("a", false)).ok());
  EXPECT_EQ(peer_->attestations, 2);
  now += absl::Minutes(2);
  ASSERT_TRUE(s->Send(Chat("b", false)).ok());
  EXPECT_EQ(peer_->attestations, 2);  // still fresh
  now += absl::Minutes(4);
  ASSERT_TRUE(s->Send(Chat("c", false)).ok());
  EXPECT_EQ(peer_->attestations, 3);  // older than the max age: attested again
}

TEST_F(SealedSessionTest, ReplayedResponseIsRefused) {
  auto s = Session();
  ASSERT_TRUE(s->Send(Chat("first", false)).ok());
  peer_->replay_response = true;  // the next request gets the first request's sealed response
  ExpectRefused(s->Send(Chat("second", false)).status(), "response: OHTTP decryption failed");
}

TEST_F(SealedSessionTest, TruncatedChunkedResponseIsRefused) {
  auto s = Session();
  peer_->truncate_stream = true;  // everything but the final chunk
  auto r = Stream(*s);
  ExpectRefused(r.status(), "response truncated: the sealed stream ended before its final chunk");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  peer_->truncate_after_pieces = 1;  // and mid-stream
  ExpectRefused(Stream(*s).status(), "response truncated");
  peer_->truncate_stream = false;
  peer_->truncate_after_pieces = -1;
  auto ok = Stream(*s);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(absl::EndsWith(*ok, "data: [DONE]\n\n"));
}

TEST_F(SealedSessionTest, RotatedKeyTriggersOneReattestation) {
  auto s = Session();
  ASSERT_TRUE(s->Send(Chat("a", false)).ok());
  peer_->RotateKey(18);  // the enclave restarted with a new key: ohttp-key problem
  auto r = s->Send(Chat("b", false));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(peer_->attestations, 2);
  peer_->RotateKey(19);
  auto st = Stream(*s);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(peer_->attestations, 3);
}

TEST_F(SealedSessionTest, ConcurrentRequestsShareOneAttestation) {
  auto s = Session();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        bool stream = (t + i) % 2 == 0;
        if (stream ? Stream(*s).ok() : s->Send(Chat("x", false)).ok()) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 12);
  EXPECT_EQ(peer_->attestations, 1);
}

TEST_F(SealedSessionTest, ErrorsNeverCarryContent) {
  const std::string canary = "CANARY-7f3a9";
  std::vector<absl::Status> errors;
  {
    peer_->replay_response = false;
    auto s = Session();
    ASSERT_TRUE(s->Send(Chat(canary, false)).ok());
    peer_->replay_response = true;
    errors.push_back(s->Send(Chat(canary, false)).status());
    peer_->replay_response = false;
    peer_->truncate_stream = true;
    errors.push_back(Stream(*s).status());
    peer_->truncate_stream = false;
  }
  http::Request bad = Chat(canary, false);
  bad.headers.Add("X-Bad", canary + "\r\ninjected");
  errors.push_back(Session()->Send(bad).status());
  for (const absl::Status& e : errors) {
    EXPECT_FALSE(e.ok());
    EXPECT_FALSE(absl::StrContains(e.message(), canary)) << e;
  }
}

TEST(SealedSessionHelpersTest, AlgorithmChoiceAndConversion) {
  ohttp::KeyConfig c;
  c.algorithms = {{0x0001, 0x0001}};
  EXPECT_EQ(ChooseAlgorithm(c)->aead_id, 0x0001);
  c.algorithms = {{0x0001, 0x0001}, {0x0001, 0x0003}};
  EXPECT_EQ(ChooseAlgorithm(c)->aead_id, 0x0003);
  c.algorithms = {{0x0002, 0x0001}};  // HKDF-SHA384 only: not supported
  EXPECT_FALSE(ChooseAlgorithm(c).ok());

  http::Request r = Chat("x", false);
  r.headers.Add("Connection", "keep-alive");
  r.headers.Add("Content-Length", "12");
  auto b = ToBinaryHttp(r);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->path, "/v1/chat/completions");
  EXPECT_FALSE(b->Header("host").has_value());
  EXPECT_FALSE(b->Header("connection").has_value());
  EXPECT_FALSE(b->Header("content-length").has_value());
  EXPECT_EQ(b->Header("authorization"), "Bearer sk-test");
  http::Request absolute = r;
  absolute.target = "http://evil/v1/models";
  EXPECT_FALSE(ToBinaryHttp(absolute).ok());
}

}  // namespace
}  // namespace confide::client
