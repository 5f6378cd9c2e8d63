#include "app/runtime.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "attest/emulated_nsm.h"
#include "attest/pcr.h"
#include "attest/verifier.h"
#include "base/encoding.h"
#include "crypto/sha.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "ohttp/bhttp.h"
#include "ohttp/bhttp_stream.h"
#include "ohttp/chunked.h"

namespace confide::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void WriteText(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

TEST(RuntimeTest, LoadServeConfigRequiresThePin) {
  char tmpl[] = "/tmp/capXXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  EXPECT_EQ(LoadServeConfig(dir).status().code(), absl::StatusCode::kNotFound);
  WriteText(dir / "enclave.json", R"({"model": {"name": "m"}, "guardrail": "g.json"})");
  WriteText(dir / "confide.meta", "name=x\n");
  EXPECT_EQ(LoadServeConfig(dir).status().code(), absl::StatusCode::kFailedPrecondition);
  WriteText(dir / "confide.meta", "name=x\nmodel_sha256=" + std::string(64, '0') + "\n");
  EXPECT_EQ(LoadServeConfig(dir).status().code(), absl::StatusCode::kNotFound);  // no g.json
  WriteText(dir / "g.json",
            R"({"name":"g","blockedInputMessaging":"no","blockedOutputsMessaging":"no",
    "wordPolicyConfig":{"wordsConfig":[{"text":"dragon"}]}})");
  auto o = LoadServeConfig(dir);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_NE(o->guardrail, nullptr);
  EXPECT_EQ(o->model_sha256, Bytes(32, 0));
  WriteText(dir / "g.json", "{}");
  EXPECT_EQ(LoadServeConfig(dir).status().code(), absl::StatusCode::kInvalidArgument);
  fs::remove_all(dir);
}

// ServeTest runs `confide-enclave serve` in-process: an emulated vsock directory, the enclave
// at CID 21, a fake parent provisioning service at (3, 7123) and the emulated secure module.
class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cvsXXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "app");
    WriteText(dir_ / "app" / "enclave.json", R"({"model": {"name": "m"}, "provision_port": 7123})");
    WriteText(dir_ / "app" / "confide.meta", "model_sha256=" + std::string(64, 'a') + "\n");
    auto parent = enclave::NewEmulatedVsockTransport((dir_ / "v").string(), enclave::kParentCid);
    auto encl = enclave::NewEmulatedVsockTransport((dir_ / "v").string(), 21);
    ASSERT_TRUE(parent.ok() && encl.ok());
    parent_ = *std::move(parent);
    enclave_ = *std::move(encl);

    auto ca = attest::SimulationCa::Create(absl::Now());
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_shared<attest::SimulationCa>(*std::move(ca));
    pcrs_[0] = attest::MeasureBytes(Bytes{1});
    nsm_ = std::make_unique<attest::EmulatedNsm>(ca_, "i-test-enc0000000000000021", pcrs_);
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    nsm_fd_ = fds[1];
    nsm_thread_ = std::thread([this] { (void)attest::ServeNsm(*nsm_, nsm_fd_, absl::Now); });
    auto client = attest::NewDescriptorNsmClient(fds[0]);
    ASSERT_TRUE(client.ok());
    nsm_client_ = *std::move(client);

    // The fake parent: credentials and a "sealed model" that is not one.
    auto listener = parent_->Listen(7123);
    ASSERT_TRUE(listener.ok());
    auto shared = std::make_shared<enclave::VsockListener>(*std::move(listener));
    http::AcceptFn accept = [shared](absl::Duration t) -> absl::StatusOr<http::AcceptedConnection> {
      ASSIGN_OR_RETURN(enclave::VsockStream s, shared->Accept(t));
      return http::AcceptedConnection{::dup(s.fd()), s.peer().ToString()};
    };
    auto server = http::Server::StartWithAcceptor(accept, {}, [this](const http::Request& r) {
      if (r.target == "/v1/credentials") {
        ++credential_calls_;
        return http::Response::Json(200, R"({"AccessKeyId":"AKIA","SecretAccessKey":"canary"})");
      }
      if (r.target == "/v1/model") {
        ++model_calls_;
        http::Response m;
        m.headers.Set("Content-Type", "application/octet-stream");
        m.stream = [](http::BodyWriter& w) {
          for (int i = 0; i < 4; ++i) w.Write(std::string(1000, 'x'));
        };
        return m;
      }
      return http::Response::Text(404, "no");
    });
    ASSERT_TRUE(server.ok()) << server.status();
    provision_ = *std::move(server);

    ServeOptions so;
    so.app_dir = (dir_ / "app").string();
    so.provision_timeout = absl::Seconds(20);
    serve_ = std::thread([this, so] {
      serve_status_ = RunServe(*enclave_, *nsm_client_, so, &stop_, [this] { ready_ = true; });
      ready_ = true;
    });
    for (int i = 0; i < 200 && !ready_; ++i) absl::SleepFor(absl::Milliseconds(50));
    ASSERT_TRUE(ready_);
    http::ClientOptions co;
    co.timeout = absl::Seconds(20);
    client_ = std::make_unique<http::Client>(VsockConnectFn(*parent_, {21, kServePort}), co);
  }

  void TearDown() override {
    stop_ = true;
    if (serve_.joinable()) serve_.join();
    client_.reset();
    if (provision_) provision_->Stop();
    nsm_client_.reset();
    if (nsm_thread_.joinable()) nsm_thread_.join();
    ::close(nsm_fd_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  http::Response Get(const std::string& target) {
    http::Request r;
    r.method = "GET";
    r.target = target;
    auto resp = client_->Send(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : http::Response{};
  }

  fs::path dir_;
  std::unique_ptr<enclave::VsockTransport> parent_, enclave_;
  std::shared_ptr<attest::SimulationCa> ca_;
  attest::PcrMap pcrs_;
  std::unique_ptr<attest::EmulatedNsm> nsm_;
  int nsm_fd_ = -1;
  std::thread nsm_thread_;
  std::unique_ptr<attest::NsmClient> nsm_client_;
  std::unique_ptr<http::Server> provision_;
  std::atomic<int> credential_calls_{0}, model_calls_{0};
  std::atomic<bool> stop_{false}, ready_{false};
  absl::Status serve_status_;
  std::thread serve_;
  std::unique_ptr<http::Client> client_;
};

TEST_F(ServeTest, ServesKeysAttestationAndReportsAFailedProvisioning) {
  ASSERT_TRUE(serve_status_.ok()) << serve_status_;
  http::Response keys = Get("/ohttp-keys");
  ASSERT_EQ(keys.status, 200);
  auto configs = ohttp::DecodeKeyConfigList(AsBytes(keys.body));
  ASSERT_TRUE(configs.ok());
  EXPECT_EQ((*configs)[0].key_id, 21);  // local CID & 0xff

  http::Response att = Get("/attestation?nonce=abcd");
  ASSERT_EQ(att.status, 200);
  attest::VerifierOptions vo;
  vo.allow_simulation_root = true;
  auto v = attest::Verifier::Create(ca_->RootDer(), vo);
  ASSERT_TRUE(v.ok());
  attest::Expectations e;
  e.nonce = Bytes{0xab, 0xcd};
  e.user_data = crypto::Sha256(AsBytes(keys.body));
  auto verified = v->Verify(AsBytes(att.body), e, absl::Now());
  ASSERT_TRUE(verified.ok()) << verified.status();
  ASSERT_TRUE(verified->document.public_key.has_value());
  EXPECT_TRUE(crypto::RsaPublicKey::FromSpkiDer(*verified->document.public_key).ok());

  // The provisioning fetches credentials and the model, then cannot open it: failed.
  std::string status;
  json health;
  for (int i = 0; i < 200; ++i) {
    http::Response h = Get("/health");
    health = json::parse(h.body, nullptr, false);
    status = health.value("status", "");
    if (status == "failed") break;
    EXPECT_EQ(h.status, 503);
    EXPECT_EQ(status, "loading");
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(status, "failed");
  EXPECT_EQ(credential_calls_.load(), 1);
  EXPECT_EQ(model_calls_.load(), 1);
  EXPECT_EQ(health.dump().find("canary"), std::string::npos);

  // A chunked sealed request through the real server: the sealed answer is a 503.
  auto sender = ohttp::ChunkedRequestSender::Create((*configs)[0], {1, 2});
  ASSERT_TRUE(sender.ok());
  ohttp::BhttpRequest inner;
  inner.method = "POST";
  inner.path = "/v1/chat/completions";
  inner.content = ToBytes(R"({"messages":[{"role":"user","content":"hi"}],"stream":true})");
  Bytes body = sender->header();
  Append(body, *sender->SealChunk(*ohttp::EncodeRequest(inner), true));
  http::Request outer;
  outer.method = "POST";
  outer.target = "/ohttp";
  outer.headers.Set("Content-Type", "message/ohttp-chunked-req");
  outer.body.assign(body.begin(), body.end());
  auto receiver = sender->ResponseReceiver();
  ASSERT_TRUE(receiver.ok());
  Bytes plaintext;
  int head_status = 0;
  absl::Status s = client_->SendStreaming(
      outer,
      [&](const http::Response& head) {
        head_status = head.status;
        return true;
      },
      [&](std::string_view piece) {
        auto chunks = receiver->Feed(AsBytes(piece));
        EXPECT_TRUE(chunks.ok());
        if (chunks.ok()) {
          for (const Bytes& c : *chunks) Append(plaintext, c);
        }
        return chunks.ok();
      });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(head_status, 200);
  auto last = receiver->Finish();
  ASSERT_TRUE(last.ok()) << last.status();
  Append(plaintext, *last);
  auto resp = ohttp::DecodeResponse(plaintext);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 503);
  EXPECT_EQ(json::parse(AsStringView(resp->content))["error"]["code"], "model_failed");
}

}  // namespace
}  // namespace confide::app
