// The gateway end to end, in process: a GatewayServer on TCP in front of test enclaves
// (internal/test_enclave.h: the §1 API with the real OHTTP gateway and an emulated NSM) on the
// vsock emulation. No timing asserts: streaming is proven with a gate that releases chunk i+1
// only once the client has decrypted chunk i.
#include "gateway/gateway.h"

#include <stdlib.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "attest/verifier.h"
#include "base/encoding.h"
#include "base/log.h"
#include "crypto/sha.h"
#include "gateway/internal/test_enclave.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "ohttp/chunked.h"
#include "ohttp/ohttp.h"

namespace confide::gateway {
namespace {

using testing::TestEnclave;

// Gate lets a test release numbered steps one by one; waits end after 20 s so that a broken
// gateway (one that buffers) fails the test instead of hanging it.
class Gate {
 public:
  void Open(int i) {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = std::max(open_, i + 1);
    cv_.notify_all();
  }
  void Wait(int i) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(20), [&] { return open_ > i; })) timed_out_ = true;
  }
  bool timed_out() {
    std::lock_guard<std::mutex> lock(mu_);
    return timed_out_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int open_ = 0;
  bool timed_out_ = false;
};

class GatewayE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cgw-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto ca = attest::SimulationCa::Create(absl::Now());
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_shared<attest::SimulationCa>(*std::move(ca));
    auto parent = enclave::NewEmulatedVsockTransport(dir_, enclave::kParentCid);
    ASSERT_TRUE(parent.ok());
    parent_ = *std::move(parent);
    log::SetSink([this](std::string_view line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      logs_ += std::string(line) + "\n";
    });
  }
  void TearDown() override {
    server_.reset();
    enclaves_.clear();
    log::SetSink(nullptr);
    std::filesystem::remove_all(dir_);
  }

  TestEnclave* AddEnclave(uint32_t cid, TestEnclave::Options o = {}) {
    o.vsock_dir = dir_;
    o.cid = cid;
    o.ca = ca_;
    auto e = TestEnclave::Start(std::move(o));
    EXPECT_TRUE(e.ok()) << e.status();
    enclaves_.push_back(*std::move(e));
    return enclaves_.back().get();
  }

  void StartGateway(GatewayOptions g = {}) {
    GatewayServerOptions o;
    for (const auto& e : enclaves_) o.enclaves.push_back(e->address());
    o.health_interval = absl::Hours(1);  // tests drive checks with CheckNow
    o.gateway = g;
    auto s = GatewayServer::Start(*parent_, o);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = *std::move(s);
    client_ = std::make_unique<http::Client>("127.0.0.1", server_->port());
  }

  http::Response Get(const std::string& target) {
    http::Request r;
    r.method = "GET";
    r.target = target;
    auto res = client_->Send(r);
    EXPECT_TRUE(res.ok()) << res.status();
    return res.ok() ? *res : http::Response{};
  }
  http::Response Post(const std::string& target, const std::string& content_type,
                      std::string body) {
    http::Request r;
    r.method = "POST";
    r.target = target;
    r.headers.Add("Content-Type", content_type);
    r.body = std::move(body);
    auto res = client_->Send(r);
    EXPECT_TRUE(res.ok()) << res.status();
    return res.ok() ? *res : http::Response{};
  }

  ohttp::KeyConfig KeyConfigFromGateway() {
    http::Response keys = Get("/ohttp-keys");
    EXPECT_EQ(keys.status, 200);
    auto configs = ohttp::DecodeKeyConfigList(AsBytes(keys.body));
    EXPECT_TRUE(configs.ok());
    return configs.ok() ? configs->front() : ohttp::KeyConfig{};
  }

  std::string logs() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return logs_;
  }

  std::string dir_;
  std::shared_ptr<attest::SimulationCa> ca_;
  std::unique_ptr<enclave::VsockTransport> parent_;
  std::vector<std::unique_ptr<TestEnclave>> enclaves_;
  std::unique_ptr<GatewayServer> server_;
  std::unique_ptr<http::Client> client_;
  std::mutex log_mu_;
  std::string logs_;
};

TEST_F(GatewayE2eTest, AttestationJsonCarriesAVerifiableDocumentAndTheSameEnclavesKeys) {
  TestEnclave* e = AddEnclave(16);
  StartGateway();
  Bytes nonce = {0xde, 0xad, 0xbe, 0xef, 0x01};
  http::Response r = Get("/v1/attestation?nonce=" + base::HexEncode(nonce));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "application/json");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["enclave"], "16");
  EXPECT_EQ(j["key_id"], 16);
  auto doc = base::Base64Decode(j["attestation_document"].get<std::string>());
  auto keys = base::Base64Decode(j["ohttp_keys"].get<std::string>());
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, e->keys());
  attest::VerifierOptions vo;
  vo.allow_simulation_root = true;
  auto v = attest::Verifier::Create(ca_->RootDer(), vo);
  ASSERT_TRUE(v.ok());
  attest::Expectations ex;
  ex.pcrs = e->pcrs();
  ex.nonce = nonce;
  ex.user_data = crypto::Sha256(*keys);
  auto verified = v->Verify(*doc, ex, absl::Now());
  EXPECT_TRUE(verified.ok()) << verified.status();
}

TEST_F(GatewayE2eTest, AttestationRejectsBadNonces) {
  AddEnclave(16);
  StartGateway();
  const int before = enclaves_[0]->requests();
  EXPECT_EQ(Get("/v1/attestation?nonce=zz").status, 400);
  EXPECT_EQ(Get("/v1/attestation?nonce=").status, 400);
  EXPECT_EQ(Get("/v1/attestation?nonce=abc").status, 400);
  EXPECT_EQ(Get("/v1/attestation").status, 400);
  EXPECT_EQ(Get("/v1/attestation?nonce=00&x=1").status, 400);
  EXPECT_EQ(Get("/v1/attestation?nonce=" + std::string(1026, 'a')).status, 400);
  EXPECT_EQ(Get("/v1/attestation?nonce=" + std::string(1024, 'a')).status, 200);
  EXPECT_EQ(enclaves_[0]->requests(), before + 2);  // only the valid one went through
}

TEST_F(GatewayE2eTest, SealedRoundTripIsRelayedByteForByte) {
  AddEnclave(16);
  AddEnclave(17);
  StartGateway();
  for (uint8_t key_id : {16, 17}) {
    auto configs = ohttp::DecodeKeyConfigList(enclaves_[key_id - 16]->keys());
    ASSERT_TRUE(configs.ok());
    ASSERT_EQ(configs->front().key_id, key_id);
    auto req = ohttp::EncapsulateRequest(configs->front(), {0x0001, 0x0001},
                                         ToBytes("CANARY-plaintext-7f3a"));
    ASSERT_TRUE(req.ok());
    const int before = enclaves_[key_id - 16]->requests();
    http::Response r =
        Post("/v1/ohttp", "message/ohttp-req", std::string(AsStringView(req->encapsulated)));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "message/ohttp-res");
    auto plain = req->context.DecapsulateResponse(AsBytes(r.body));
    ASSERT_TRUE(plain.ok()) << plain.status();
    EXPECT_EQ(std::string(AsStringView(*plain)), "echo:CANARY-plaintext-7f3a");
    EXPECT_EQ(enclaves_[key_id - 16]->requests(), before + 1);  // routed by key id
  }
  // Neither the plaintext nor the ciphertext reaches a log line or /metrics.
  const std::string metrics = Get("/metrics").body;
  EXPECT_EQ(metrics.find("CANARY"), std::string::npos);
  EXPECT_NE(metrics.find("confide_gateway_requests_total{endpoint=\"ohttp\",code=\"2xx\"} 2"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(logs().find("CANARY"), std::string::npos);
  EXPECT_NE(logs().find("gateway.request"), std::string::npos);
}

TEST_F(GatewayE2eTest, ChunkedResponseArrivesPieceByPiece) {
  auto gate = std::make_shared<Gate>();
  TestEnclave::Options o;
  o.chunks = 4;
  // Chunk 0 goes at once; chunk i > 0 only after the client decrypted chunk i-1.
  o.gate = [gate](int i) {
    if (i > 0) gate->Wait(i - 1);
  };
  AddEnclave(16, o);
  StartGateway();
  ohttp::KeyConfig config = KeyConfigFromGateway();
  auto sender = ohttp::ChunkedRequestSender::Create(config, {0x0001, 0x0001});
  ASSERT_TRUE(sender.ok());
  Bytes body = sender->header();
  auto sealed = sender->SealChunk(ToBytes("CANARY-question"), true);
  ASSERT_TRUE(sealed.ok());
  Append(body, *sealed);
  auto receiver = sender->ResponseReceiver();
  ASSERT_TRUE(receiver.ok());
  http::Request req;
  req.method = "POST";
  req.target = "/v1/ohttp";
  req.headers.Add("Content-Type", "message/ohttp-chunked-req");
  req.body = std::string(AsStringView(body));
  std::vector<std::string> plain;
  int status = 0;
  std::string content_type;
  absl::Status st = client_->SendStreaming(
      req,
      [&](const http::Response& head) {
        status = head.status;
        content_type = std::string(head.headers.Get("Content-Type").value_or(""));
        return true;
      },
      [&](std::string_view piece) {
        auto chunks = receiver->Feed(AsBytes(piece));
        EXPECT_TRUE(chunks.ok());
        if (!chunks.ok()) return false;
        for (const Bytes& c : *chunks) {
          plain.emplace_back(AsStringView(c));
          gate->Open(static_cast<int>(plain.size()) - 1);
        }
        return true;
      });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(status, 200);
  EXPECT_EQ(content_type, "message/ohttp-chunked-res");
  auto last = receiver->Finish();
  ASSERT_TRUE(last.ok()) << last.status();
  plain.emplace_back(AsStringView(*last));
  EXPECT_EQ(plain, (std::vector<std::string>{"chunk-0", "chunk-1", "chunk-2", "chunk-3"}));
  EXPECT_FALSE(gate->timed_out()) << "the gateway held chunks back instead of relaying them";
  EXPECT_EQ(logs().find("CANARY"), std::string::npos);
}

TEST_F(GatewayE2eTest, UnknownKeyIdIsAnOhttpKeyProblem) {
  AddEnclave(16);
  StartGateway();
  ohttp::KeyConfig config = KeyConfigFromGateway();
  auto req = ohttp::EncapsulateRequest(config, {0x0001, 0x0001}, ToBytes("x"));
  ASSERT_TRUE(req.ok());
  std::string body(AsStringView(req->encapsulated));
  body[0] = 99;
  const int before = enclaves_[0]->requests();
  http::Response r = Post("/v1/ohttp", "message/ohttp-req", body);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "application/problem+json");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["type"], kOhttpKeyProblemType);
  EXPECT_EQ(enclaves_[0]->requests(), before);
  // The enclave's own 400 for a request it cannot open is relayed as is.
  std::string tampered(AsStringView(req->encapsulated));
  tampered[3] ^= 0x7f;  // kdf id: the enclave's key does not offer it
  r = Post("/v1/ohttp", "message/ohttp-req", tampered);
  EXPECT_EQ(r.status, 400);
}

TEST_F(GatewayE2eTest, WrongMediaTypeIs415AndWrongMethod405) {
  AddEnclave(16);
  StartGateway();
  EXPECT_EQ(Post("/v1/ohttp", "application/json", "{}").status, 415);
  EXPECT_EQ(Post("/v1/ohttp", "message/ohttp-res", "\x10").status, 415);
  EXPECT_EQ(Post("/v1/compat/kms-chat", "text/plain", "x").status, 415);
  http::Response wrong = Get("/v1/ohttp");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.headers.Get("Allow").value_or(""), "POST");
  EXPECT_EQ(Get("/nope").status, 404);
  EXPECT_EQ(Post("/v1/ohttp", "message/ohttp-req", "").status, 400);
  // Parameters and case do not matter.
  EXPECT_NE(Post("/v1/ohttp", "Message/OHTTP-req; x=1", "\x63").status, 415);
}

TEST_F(GatewayE2eTest, OversizedBodyIs413) {
  AddEnclave(16);
  GatewayOptions g;
  g.max_body_bytes = 1000;
  StartGateway(g);
  http::Request r;
  r.method = "POST";
  r.target = "/v1/ohttp";
  r.headers.Add("Content-Type", "message/ohttp-req");
  r.body = std::string(1001, '\x10');
  auto res = client_->Send(r);
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(enclaves_[0]->requests(), 2);  // the first health check only
}

TEST_F(GatewayE2eTest, FullGatewayAnswers429WithRetryAfter) {
  auto release = std::make_shared<Gate>();
  auto entered = std::make_shared<Gate>();
  TestEnclave::Options o;
  o.hold = [release, entered] {
    entered->Open(0);
    release->Wait(0);
  };
  AddEnclave(16, o);
  GatewayOptions g;
  g.admission.max_inflight = 1;
  g.admission.max_queue = 0;
  g.admission.max_wait = absl::Seconds(2);
  StartGateway(g);
  std::thread first([&] {
    http::Client c("127.0.0.1", server_->port());
    http::Request r;
    r.method = "POST";
    r.target = "/v1/compat/kms-chat";
    r.headers.Add("Content-Type", "application/json");
    r.body = "{}";
    auto res = c.Send(r);
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(res->status, 200);
  });
  entered->Wait(0);  // the first request holds the only slot inside the enclave
  http::Response r = Post("/v1/compat/kms-chat", "application/json", "{}");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers.Get("Retry-After").value_or(""), "2");
  release->Open(0);
  first.join();
  EXPECT_EQ(Post("/v1/compat/kms-chat", "application/json", "{\"a\":1}").status, 200);
  const std::string metrics = Get("/metrics").body;
  EXPECT_NE(metrics.find("confide_gateway_rejected_total{reason=\"overloaded\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("confide_gateway_inflight_requests 0"), std::string::npos);
}

TEST_F(GatewayE2eTest, KmsChatIsForwardedUnchanged) {
  AddEnclave(16);
  StartGateway();
  const std::string body = "{\"CiphertextBlob\":\"AAAA\",\"KeyId\":\"k\",\"MaxTokens\":4}";
  http::Response r = Post("/v1/compat/kms-chat", "application/json", body);
  ASSERT_EQ(r.status, 200);
  auto j = nlohmann::json::parse(r.body);
  auto echoed = base::Base64Decode(j["CiphertextBlob"].get<std::string>());
  ASSERT_TRUE(echoed.ok());
  EXPECT_EQ(std::string(AsStringView(*echoed)), body);
}

TEST_F(GatewayE2eTest, DeadEnclaveIsRemovedAndComesBackWithNewKeys) {
  TestEnclave* e = AddEnclave(16);
  StartGateway();
  http::Response h = Get("/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(nlohmann::json::parse(h.body)["enclaves_healthy"], 1);
  ohttp::KeyConfig old_config = KeyConfigFromGateway();
  e->Stop();
  server_->pool().CheckNow();
  EXPECT_EQ(Get("/healthz").status, 503);
  EXPECT_EQ(Get("/ohttp-keys").status, 503);
  EXPECT_EQ(Get("/v1/attestation?nonce=00").status, 503);
  auto req = ohttp::EncapsulateRequest(old_config, {0x0001, 0x0001}, ToBytes("x"));
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(
      Post("/v1/ohttp", "message/ohttp-req", std::string(AsStringView(req->encapsulated))).status,
      400);
  EXPECT_NE(Get("/metrics").body.find("confide_gateway_enclave_healthy{cid=\"16\"} 0"),
            std::string::npos);
  ASSERT_TRUE(e->Restart().ok());
  server_->pool().CheckNow();
  EXPECT_EQ(Get("/healthz").status, 200);
  ohttp::KeyConfig fresh = KeyConfigFromGateway();
  EXPECT_NE(fresh.public_key, old_config.public_key);
  auto again = ohttp::EncapsulateRequest(fresh, {0x0001, 0x0001}, ToBytes("y"));
  ASSERT_TRUE(again.ok());
  http::Response r =
      Post("/v1/ohttp", "message/ohttp-req", std::string(AsStringView(again->encapsulated)));
  EXPECT_EQ(r.status, 200);
}

TEST_F(GatewayE2eTest, DeadlineCutsAStreamAndTimesOutABufferedAnswer) {
  auto never = std::make_shared<Gate>();  // opened only at the end of the test
  TestEnclave::Options o;
  o.chunks = 3;
  o.gate = [never](int i) {
    if (i > 0) never->Wait(0);
  };
  o.hold = [never] { never->Wait(0); };
  AddEnclave(16, o);
  GatewayOptions g;
  g.timeout = absl::Milliseconds(500);
  StartGateway(g);
  ohttp::KeyConfig config = KeyConfigFromGateway();
  auto sender = ohttp::ChunkedRequestSender::Create(config, {0x0001, 0x0001});
  ASSERT_TRUE(sender.ok());
  Bytes body = sender->header();
  Append(body, *sender->SealChunk(ToBytes("q"), true));
  auto receiver = sender->ResponseReceiver();
  ASSERT_TRUE(receiver.ok());
  http::Request req;
  req.method = "POST";
  req.target = "/v1/ohttp";
  req.headers.Add("Content-Type", "message/ohttp-chunked-req");
  req.body = std::string(AsStringView(body));
  std::vector<std::string> plain;
  absl::Status st = client_->SendStreaming(
      req, [](const http::Response& head) { return head.status == 200; },
      [&](std::string_view piece) {
        auto chunks = receiver->Feed(AsBytes(piece));
        if (chunks.ok()) {
          for (const Bytes& c : *chunks) plain.emplace_back(AsStringView(c));
        }
        return chunks.ok();
      });
  // However the cut shows on the wire, the client never sees a complete answer.
  if (st.ok()) {
    EXPECT_FALSE(receiver->Finish().ok()) << "a cut stream must not verify";
  }
  EXPECT_EQ(plain, (std::vector<std::string>{"chunk-0"}));
  http::Client other("127.0.0.1", server_->port());
  http::Request chat;
  chat.method = "POST";
  chat.target = "/v1/compat/kms-chat";
  chat.headers.Add("Content-Type", "application/json");
  chat.body = "{}";
  auto r = other.Send(chat);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 504);
  never->Open(0);
  const std::string metrics = Get("/metrics").body;
  EXPECT_NE(metrics.find("confide_gateway_upstream_errors_total{endpoint=\"ohttp\"} 1"),
            std::string::npos)
      << metrics;
}

TEST_F(GatewayE2eTest, StartRejectsMoreWaitersThanHandlerThreads) {
  AddEnclave(16);
  GatewayServerOptions o;
  o.enclaves = {enclaves_[0]->address()};
  o.gateway.admission.max_inflight = 1000;
  o.gateway.admission.max_queue = 100;
  EXPECT_TRUE(absl::IsInvalidArgument(GatewayServer::Start(*parent_, o).status()));
  o.gateway.admission.max_inflight = 0;
  o.gateway.admission.max_queue = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(GatewayServer::Start(*parent_, o).status()));
}

TEST_F(GatewayE2eTest, ExchangeWithAVanishedEnclaveIs502AndRemovesIt) {
  TestEnclave* e = AddEnclave(16);
  StartGateway();
  ohttp::KeyConfig config = KeyConfigFromGateway();
  e->Stop();  // the pool has not noticed yet
  auto req = ohttp::EncapsulateRequest(config, {0x0001, 0x0001}, ToBytes("x"));
  ASSERT_TRUE(req.ok());
  http::Response r =
      Post("/v1/ohttp", "message/ohttp-req", std::string(AsStringView(req->encapsulated)));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(server_->pool().RoutableCount(), 0u);
}

}  // namespace
}  // namespace confide::gateway
