#include "app/enclave_app.h"

#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "app/enclave_config.h"
#include "app/flows.h"
#include "app/runtime.h"
#include "attest/emulated_nsm.h"
#include "attest/pcr.h"
#include "attest/verifier.h"
#include "base/encoding.h"
#include "base/file.h"
#include "crypto/sha.h"
#include "gtest/gtest.h"
#include "kms/envelope.h"
#include "kms/recipient.h"
#include "nlohmann/json.hpp"
#include "ohttp/bhttp.h"
#include "testing/testdata.h"
#include "vision/detect.h"

namespace confide::app {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// enclave.json and confide.meta

constexpr char kFullConfig[] = R"({
  "model": {"name": "stories260K", "max_tokens": 128, "threads": 2, "context": 512,
            "chat_template": "chatml"},
  "kms": {"vsock_port": 8001, "region": "eu-west-1", "host": "kms.example"},
  "provision_port": 7001,
  "guardrail": "guardrail.json",
  "vision": {"yolo_cfg": "y.cfg", "yolo_weights": "y.weights", "coco_names": "coco.names",
             "ultraface_onnx": "uf.onnx"}
})";

TEST(EnclaveConfigTest, ParsesEveryField) {
  auto c = ParseEnclaveConfig(kFullConfig);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->model.name, "stories260K");
  EXPECT_EQ(c->model.max_tokens, 128u);
  EXPECT_EQ(c->model.threads, 2u);
  EXPECT_EQ(c->model.context, 512u);
  EXPECT_EQ(c->model.chat_template, "chatml");
  EXPECT_EQ(c->kms.vsock_port, 8001u);
  EXPECT_EQ(c->kms.region, "eu-west-1");
  EXPECT_EQ(c->kms.host, "kms.example");
  EXPECT_EQ(c->provision_port, 7001u);
  EXPECT_EQ(c->guardrail, "guardrail.json");
  ASSERT_TRUE(c->vision.has_value());
  EXPECT_EQ(c->vision->ultraface_onnx, "uf.onnx");
}

TEST(EnclaveConfigTest, DefaultsForTheMinimalConfig) {
  auto c = ParseEnclaveConfig(R"({"model": {"name": "m"}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->model.max_tokens, 256u);
  EXPECT_EQ(c->kms.vsock_port, 8000u);
  EXPECT_EQ(c->kms.host, "kms.confide.local");
  EXPECT_EQ(c->provision_port, 7000u);
  EXPECT_TRUE(c->guardrail.empty());
  EXPECT_FALSE(c->vision.has_value());
}

TEST(EnclaveConfigTest, RejectsWhatIsNotInTheContract) {
  const std::vector<std::string> bad = {
      "",
      "[]",
      "{",
      R"({})",
      R"({"model": {}})",
      R"({"model": {"name": ""}})",
      R"({"model": {"name": "a b"}})",
      R"({"model": {"name": "m", "extra": 1}})",
      R"({"model": {"name": "m"}, "extra": 1})",
      R"({"model": {"name": "m"}, "kms": {"vsock_port": 8000, "endpoint": "x"}})",
      R"({"model": {"name": "m"}, "vision": {"yolo_cfg": "a", "other": "b"}})",
      R"({"model": {"name": "m", "name": "n"}})",
      R"({"model": {"name": "m", "max_tokens": 0}})",
      R"({"model": {"name": "m", "max_tokens": 1.5}})",
      R"({"model": {"name": "m", "max_tokens": -1}})",
      R"({"model": {"name": "m", "threads": "1"}})",
      R"({"model": {"name": "m", "context": 8}})",
      R"({"model": {"name": "m"}, "provision_port": 0})",
      R"({"model": {"name": "m"}, "provision_port": 4294967296})",
      R"({"model": {"name": "m"}, "kms": {"region": ""}})",
      R"({"model": {"name": "m"}, "guardrail": "/etc/passwd"})",
      R"({"model": {"name": "m"}, "guardrail": "../x.json"})",
      R"({"model": {"name": "m"}, "guardrail": "a//b"})",
      R"({"model": {"name": "m"}, "guardrail": ""})",
      R"({"model": {"name": "m"}, "guardrail": 5})",
      R"({"model": {"name": "m"}, "vision": []})",
      R"({"model": {"name": "m"}, "kms": {"x": {"y": {"z": {"w": 1}}}}})",
  };
  for (const std::string& text : bad) {
    auto c = ParseEnclaveConfig(text);
    EXPECT_FALSE(c.ok()) << text;
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << text;
    }
  }
  EXPECT_EQ(bad.size(), 27u);
  EXPECT_FALSE(ParseEnclaveConfig(std::string(kMaxConfigBytes + 1, ' ')).ok());
}

TEST(EnclaveConfigTest, RealImageConfigParses) {
  // The shape scripts/build-enclave-image.sh writes.
  auto c = ParseEnclaveConfig(R"({
  "model": {"name": "stories260K", "max_tokens": 256, "threads": 1},
  "kms": {"vsock_port": 8000, "region": "us-east-1", "host": "kms.confide.local"},
  "provision_port": 7000,
  "guardrail": "guardrail.json"
})");
  EXPECT_TRUE(c.ok()) << c.status();
}

TEST(ImageMetadataTest, ParsesNameAndDigest) {
  const std::string hex(64, 'a');
  auto m = ParseImageMetadata("name=confide-x\nmodel_sha256=" + hex + "\nfuture=1\n");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->name, "confide-x");
  ASSERT_TRUE(m->model_sha256.has_value());
  EXPECT_EQ(m->model_sha256->size(), 32u);
  EXPECT_FALSE(ParseImageMetadata("name=x\nname=y\n").ok());
  EXPECT_FALSE(ParseImageMetadata("model_sha256=abcd\n").ok());
  EXPECT_FALSE(ParseImageMetadata("garbage\n").ok());
  auto none = ParseImageMetadata("name=x\n");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->model_sha256.has_value());
}

TEST(LockedBufferTest, HoldsZeroedMemory) {
  auto b = LockedBuffer::Create(4096 * 3 + 5);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size(), 4096u * 3 + 5);
  for (uint8_t x : b->bytes()) ASSERT_EQ(x, 0);
  b->mutable_bytes()[7] = 9;
  LockedBuffer moved = *std::move(b);
  EXPECT_EQ(moved.bytes()[7], 9);
  EXPECT_FALSE(LockedBuffer::Create(0).ok());
}

// ---------------------------------------------------------------------------------------------
// EnclaveApp

class EnclaveAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = attest::SimulationCa::Create(absl::Now());
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_shared<attest::SimulationCa>(*std::move(ca));
    for (uint32_t i = 0; i < 3; ++i) pcrs_[i] = attest::MeasureBytes(Bytes{uint8_t(i)});
    nsm_ = std::make_unique<attest::EmulatedNsm>(ca_, "i-test-enc0000000000000001", pcrs_);
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    server_fd_ = fds[1];
    server_ = std::thread([this] { (void)attest::ServeNsm(*nsm_, server_fd_, absl::Now); });
    auto client = attest::NewDescriptorNsmClient(fds[0]);
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
  }
  void TearDown() override {
    app_.reset();
    client_.reset();
    if (server_.joinable()) server_.join();
    ::close(server_fd_);
  }

  EnclaveApp& Make(Bytes sha = Bytes(32, 0), uint32_t cid = 0x1234) {
    EnclaveAppOptions o;
    o.config.model.name = "stories260K";
    o.config.model.context = 256;
    o.model_sha256 = std::move(sha);
    o.local_cid = cid;
    auto app = EnclaveApp::Create(std::move(o), client_.get());
    EXPECT_TRUE(app.ok()) << app.status();
    app_ = std::move(*app);
    return *app_;
  }

  static http::Request Get(const std::string& target) {
    http::Request r;
    r.method = "GET";
    r.target = target;
    return r;
  }

  // SealedChat sends a chat completion through /ohttp and returns the inner response.
  ohttp::BhttpResponse SealedCall(EnclaveApp& app, const std::string& path, const json& body) {
    auto configs = ohttp::DecodeKeyConfigList(app.ohttp_key_configs());
    EXPECT_TRUE(configs.ok());
    ohttp::BhttpRequest b;
    b.method = "POST";
    b.path = path;
    b.headers = {{"content-type", "application/json"}};
    b.content = ToBytes(body.dump());
    auto req = ohttp::EncapsulateRequest((*configs)[0], {1, 1}, *ohttp::EncodeRequest(b));
    EXPECT_TRUE(req.ok());
    http::Request outer;
    outer.method = "POST";
    outer.target = "/ohttp";
    outer.headers.Set("Content-Type", "message/ohttp-req");
    outer.body.assign(req->encapsulated.begin(), req->encapsulated.end());
    ApiReply reply = app.Handle(outer);
    EXPECT_EQ(reply.response.status, 200);
    auto opened = req->context.DecapsulateResponse(AsBytes(reply.response.body));
    EXPECT_TRUE(opened.ok());
    auto resp = ohttp::DecodeResponse(*opened);
    EXPECT_TRUE(resp.ok());
    return *resp;
  }

  std::shared_ptr<attest::SimulationCa> ca_;
  attest::PcrMap pcrs_;
  std::unique_ptr<attest::EmulatedNsm> nsm_;
  int server_fd_ = -1;
  std::thread server_;
  std::unique_ptr<attest::NsmClient> client_;
  std::unique_ptr<EnclaveApp> app_;
};

TEST_F(EnclaveAppTest, KeyIdIsLowByteOfCid) {
  EnclaveApp& app = Make(Bytes(32, 0), 0x1234);
  EXPECT_EQ(app.key_id(), 0x34);
  auto configs = ohttp::DecodeKeyConfigList(app.ohttp_key_configs());
  ASSERT_TRUE(configs.ok());
  ASSERT_EQ(configs->size(), 1u);
  EXPECT_EQ((*configs)[0].key_id, 0x34);
  EXPECT_EQ((*configs)[0].kem_id, 0x0020);
  EXPECT_EQ((*configs)[0].algorithms.size(), 3u);
}

TEST_F(EnclaveAppTest, HealthIsLoadingThenFailed) {
  EnclaveApp& app = Make();
  http::Response r = app.Handle(Get("/health")).response;
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json::parse(r.body)["status"], "loading");
  app.SetFailed("provisioning: the parent is unreachable");
  r = app.Handle(Get("/health")).response;
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json::parse(r.body)["status"], "failed");
  EXPECT_EQ(json::parse(r.body)["error"], "provisioning: the parent is unreachable");
}

TEST_F(EnclaveAppTest, AttestationBindsRsaKeyAndOhttpKeys) {
  EnclaveApp& app = Make();
  http::Response r = app.Handle(Get("/attestation?nonce=00ff10")).response;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "application/cbor");
  attest::VerifierOptions vo;
  vo.allow_simulation_root = true;
  auto v = attest::Verifier::Create(ca_->RootDer(), vo);
  ASSERT_TRUE(v.ok());
  attest::Expectations e;
  e.pcrs = pcrs_;
  e.nonce = Bytes{0x00, 0xff, 0x10};
  e.user_data = crypto::Sha256(app.ohttp_key_configs());
  e.public_key = app.rsa_public_key_der();
  auto verified = v->Verify(AsBytes(r.body), e, absl::Now());
  ASSERT_TRUE(verified.ok()) << verified.status();
  // The RSA key is a 2048-bit SPKI.
  auto pub = crypto::RsaPublicKey::FromSpkiDer(app.rsa_public_key_der());
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(app.rsa_key().ModulusBits(), 2048);
  // Bad nonces.
  for (const std::string& t :
       {std::string("/attestation"), std::string("/attestation?nonce="),
        std::string("/attestation?nonce=zz"), "/attestation?nonce=" + std::string(1026, 'a')}) {
    EXPECT_EQ(app.Handle(Get(t)).response.status, 400) << t;
  }
}

TEST_F(EnclaveAppTest, OhttpKeysAndRouting) {
  EnclaveApp& app = Make();
  http::Response r = app.Handle(Get("/ohttp-keys")).response;
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "application/ohttp-keys");
  EXPECT_EQ(ToBytes(r.body), app.ohttp_key_configs());
  EXPECT_EQ(app.Handle(Get("/nope")).response.status, 404);
  http::Request post = Get("/health");
  post.method = "POST";
  EXPECT_EQ(app.Handle(post).response.status, 405);
  post.target = "/compat/kms-chat";
  EXPECT_EQ(app.Handle(post).response.status, 501);
  app.set_kms_chat([](const http::Request&) { return http::Response::Json(200, "{}"); });
  EXPECT_EQ(app.Handle(post).response.status, 200);
}

TEST_F(EnclaveAppTest, SealedRequestWhileLoadingIsSealed503) {
  EnclaveApp& app = Make();
  ohttp::BhttpResponse r = SealedCall(app, "/v1/chat/completions", json::object());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json::parse(AsStringView(r.content))["error"]["code"], "model_loading");
}

TEST_F(EnclaveAppTest, InnerRouteServesExtraPaths) {
  EnclaveApp& app = Make();
  app.set_inner_route([](const http::Request& r) -> std::optional<ApiReply> {
    if (r.target != "/v1/detect") return std::nullopt;
    return ApiReply{http::Response::Json(200, "{\"detections\":[]}"), nullptr};
  });
  ohttp::BhttpResponse r = SealedCall(app, "/v1/detect", json::object());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(AsStringView(r.content), "{\"detections\":[]}");
}

TEST_F(EnclaveAppTest, ModelWithWrongDigestIsRefused) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "models/stories260K.gguf");
  auto bytes = base::ReadFileBounded(path.string(), 64 << 20);
  ASSERT_TRUE(bytes.ok());
  Bytes wrong = crypto::Sha256(*bytes);
  wrong[0] ^= 1;
  EnclaveApp& app = Make(wrong);
  auto buf = LockedBuffer::Create(bytes->size());
  ASSERT_TRUE(buf.ok());
  std::copy(bytes->begin(), bytes->end(), buf->mutable_bytes().begin());
  absl::Status s = app.InstallModel(*std::move(buf));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(app.state(), EnclaveApp::State::kFailed);
  http::Response h = app.Handle(Get("/health")).response;
  EXPECT_EQ(json::parse(h.body)["error"], "model digest mismatch");
  ohttp::BhttpResponse r = SealedCall(app, "/v1/models", json::object());
  EXPECT_EQ(r.status, 503);
}

TEST_F(EnclaveAppTest, InstalledModelServesSealedChat) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "models/stories260K.gguf");
  auto bytes = base::ReadFileBounded(path.string(), 64 << 20);
  ASSERT_TRUE(bytes.ok());
  EnclaveApp& app = Make(crypto::Sha256(*bytes));
  auto buf = LockedBuffer::Create(bytes->size());
  ASSERT_TRUE(buf.ok());
  std::copy(bytes->begin(), bytes->end(), buf->mutable_bytes().begin());
  ASSERT_TRUE(app.InstallModel(*std::move(buf)).ok());
  EXPECT_EQ(app.state(), EnclaveApp::State::kReady);
  http::Response h = app.Handle(Get("/health")).response;
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(json::parse(h.body)["model"], "stories260K");
  json body = {{"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}},
               {"temperature", 0},
               {"max_tokens", 8}};
  ohttp::BhttpResponse r = SealedCall(app, "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << AsStringView(r.content);
  json j = json::parse(AsStringView(r.content));
  EXPECT_EQ(j["usage"]["completion_tokens"], 8);
  EXPECT_EQ(j["model"], "stories260K");
}

// A fake KMS for flow A: Decrypt answers CiphertextForRecipient to the enclave's RSA key (after
// checking a Recipient came), Encrypt returns "ENC:" + plaintext and records it.
struct FakeKms {
  Bytes rsa_spki;
  std::string question = "Once upon a time";
  std::string encrypted;
  std::string access_key_seen;
  bool deny = false;
  kms::KmsTransport Transport() {
    return [this](const http::Request& r) -> absl::StatusOr<http::Response> {
      const std::string target(r.headers.Get("X-Amz-Target").value_or(""));
      json req = json::parse(r.body);
      const std::string auth(r.headers.Get("Authorization").value_or(""));
      access_key_seen = auth.find("AKIAFLOWA") != std::string::npos ? "AKIAFLOWA" : "";
      if (deny) {
        return http::Response::Json(
            400, R"({"__type":"AccessDeniedException","message":"not for you"})");
      }
      if (target == "TrentService.Decrypt") {
        EXPECT_TRUE(req.contains("Recipient"));
        kms::VerifiedRecipient v;
        v.public_key_spki = rsa_spki;
        auto cms = kms::CiphertextForRecipient(v, SecretBytes::CopyFrom(AsBytes(question)));
        EXPECT_TRUE(cms.ok());
        return http::Response::Json(
            200, json{{"KeyId", "k"}, {"CiphertextForRecipient", base::Base64Encode(*cms)}}.dump());
      }
      if (target == "TrentService.Encrypt") {
        auto p = base::Base64Decode(req["Plaintext"].get<std::string>());
        encrypted = std::string(AsStringView(*p));
        return http::Response::Json(
            200, json{{"KeyId", req["KeyId"]},
                      {"CiphertextBlob", base::Base64Encode(ToBytes("ENC:" + encrypted))}}
                     .dump());
      }
      return http::Response::Json(400, R"({"__type":"UnknownOperationException","message":""})");
    };
  }
};

http::Request KmsChatRequest(const json& body) {
  http::Request r;
  r.method = "POST";
  r.target = "/compat/kms-chat";
  r.body = body.dump();
  return r;
}

TEST_F(EnclaveAppTest, KmsChatFlowA) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "models/stories260K.gguf");
  auto bytes = base::ReadFileBounded(path.string(), 64 << 20);
  ASSERT_TRUE(bytes.ok());
  EnclaveApp& app = Make(crypto::Sha256(*bytes));
  FakeKms fake;
  fake.rsa_spki = app.rsa_public_key_der();
  KmsConfig kc;
  const json good = {{"CiphertextBlob", base::Base64Encode(ToBytes("blob"))},
                     {"KeyId", "alias/answers"},
                     {"Credentials", {{"AccessKeyId", "AKIAFLOWA"}, {"SecretAccessKey", "sek"}}},
                     {"MaxTokens", 12}};
  // While loading: 503.
  EXPECT_EQ(HandleKmsChat(KmsChatRequest(good), app, fake.Transport(), kc).status, 503);
  auto buf = LockedBuffer::Create(bytes->size());
  std::copy(bytes->begin(), bytes->end(), buf->mutable_bytes().begin());
  ASSERT_TRUE(app.InstallModel(*std::move(buf)).ok());
  http::Response r = HandleKmsChat(KmsChatRequest(good), app, fake.Transport(), kc);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(fake.access_key_seen, "AKIAFLOWA");  // signed with the caller's credentials
  auto expected = app.api()->Chat("Once upon a time", 12);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(fake.encrypted, expected->content);
  auto blob = base::Base64Decode(json::parse(r.body)["CiphertextBlob"].get<std::string>());
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(AsStringView(*blob), "ENC:" + expected->content);
  EXPECT_EQ(r.body.find(expected->content), std::string::npos);  // the answer leaves sealed
  // KMS refusal: the AWS error type, nothing else.
  fake.deny = true;
  r = HandleKmsChat(KmsChatRequest(good), app, fake.Transport(), kc);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["__type"], "AccessDeniedException");
  fake.deny = false;
  // Malformed requests.
  for (const json& bad :
       {json::array(), json{{"KeyId", "k"}},
        json{{"CiphertextBlob", "!!"}, {"KeyId", "k"}, {"Credentials", good["Credentials"]}},
        json{{"CiphertextBlob", "YQ=="}, {"KeyId", "k"}, {"Credentials", {{"AccessKeyId", "A"}}}},
        json{{"CiphertextBlob", "YQ=="},
             {"KeyId", "k"},
             {"Credentials", good["Credentials"]},
             {"Extra", 1}},
        json{{"CiphertextBlob", "YQ=="},
             {"KeyId", "k"},
             {"Credentials", good["Credentials"]},
             {"MaxTokens", 0}}}) {
    http::Response b = HandleKmsChat(KmsChatRequest(bad), app, fake.Transport(), kc);
    EXPECT_EQ(b.status, 400) << bad.dump();
    EXPECT_EQ(json::parse(b.body)["__type"], "ValidationException") << bad.dump();
    EXPECT_EQ(b.body.find("sek"), std::string::npos);
  }
}

TEST_F(EnclaveAppTest, DetectRouteChecksRequests) {
  EnclaveApp& app = Make();
  vision::DetectorSet empty;
  FakeKms fake;
  auto call = [&](const json& body) {
    http::Request r;
    r.method = "POST";
    r.target = "/v1/detect";
    r.body = body.dump();
    auto reply = DetectRoute(r, app, empty, fake.Transport(), KmsConfig{});
    EXPECT_TRUE(reply.has_value());
    return reply ? reply->response : http::Response{};
  };
  http::Request other;
  other.method = "POST";
  other.target = "/v1/chat/completions";
  EXPECT_FALSE(DetectRoute(other, app, empty, fake.Transport(), KmsConfig{}).has_value());
  EXPECT_EQ(call(json::array()).status, 400);
  EXPECT_EQ(call({{"image", "YQ=="}}).status, 400);  // no model
  EXPECT_EQ(call({{"model", "m"}}).status, 400);     // no image
  EXPECT_EQ(call({{"model", "m"}, {"image", "YQ=="}, {"envelope", "YQ=="}}).status, 400);
  EXPECT_EQ(call({{"model", "m"}, {"image", "***"}}).status, 400);
  EXPECT_EQ(call({{"model", "m"}, {"image", "YQ=="}, {"draw_boxes", "yes"}}).status, 400);
  http::Response r = call({{"model", "nope"}, {"image", "YQ=="}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "model_not_found");
}

TEST_F(EnclaveAppTest, DetectRouteRunsARealDetector) {
  CONFIDE_SHARED_FILE_OR_SKIP(models, "models/vision/yolo-fastest");
  CONFIDE_SHARED_FILE_OR_SKIP(image, "models/vision/images/dog.jpg");
  auto set = vision::DetectorSet::FromDirectory(models.parent_path(), {vision::kYoloFastestXl});
  if (!set.ok()) GTEST_SKIP() << "vision models do not load here: " << set.status();
  EnclaveApp& app = Make();
  FakeKms fake;
  auto bytes = base::ReadFileBounded(image.string(), 16 << 20);
  ASSERT_TRUE(bytes.ok());
  http::Request r;
  r.method = "POST";
  r.target = "/v1/detect";
  r.body = json{{"model", vision::kYoloFastestXl}, {"image", base::Base64Encode(*bytes)}}.dump();
  auto reply = DetectRoute(r, app, *set, fake.Transport(), KmsConfig{});
  ASSERT_TRUE(reply.has_value());
  ASSERT_EQ(reply->response.status, 200) << reply->response.body;
  json j = json::parse(reply->response.body);
  EXPECT_FALSE(j["detections"].empty());
  r.body = json{{"model", vision::kYoloFastestXl}, {"image", base::Base64Encode(ToBytes("nope"))}}
               .dump();
  EXPECT_EQ(DetectRoute(r, app, *set, fake.Transport(), KmsConfig{})->response.status, 422);
}

TEST_F(EnclaveAppTest, SealedModelSinkOpensStreamedEnvelope) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "models/stories260K.gguf");
  auto model = base::ReadFileBounded(path.string(), 64 << 20);
  ASSERT_TRUE(model.ok());
  const Bytes data_key(32, 0x5a);
  auto seal = [&](kms::EncryptionContext ctx) {
    auto header = kms::NewEnvelopeHeader(ToBytes("blob"), std::move(ctx), model->size(), 64 * 1024);
    EXPECT_TRUE(header.ok()) << header.status();
    auto sealed = kms::SealEnvelope(*header, SecretBytes::CopyFrom(data_key), *model);
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    return *sealed;
  };
  const Bytes sealed = seal({{"confide:purpose", "model"}});
  struct Case {
    std::string name;
    Bytes file;
    bool deny;
    bool ok;
    std::string reason;  // substring of /health's error
  };
  Bytes tampered = sealed;
  tampered[tampered.size() / 2] ^= 1;
  Bytes truncated(sealed.begin(), sealed.end() - 100);
  std::vector<Case> cases = {
      {"good", sealed, false, true, ""},
      {"tampered", tampered, false, false, "did not authenticate"},
      {"truncated", truncated, false, false, "truncated"},
      {"wrong purpose", seal({{"confide:purpose", "image"}}), false, false, "encryption context"},
      {"kms denies", sealed, true, false, "AccessDeniedException"},
      {"not an envelope", ToBytes(std::string(100, 'x')), false, false, "not an envelope"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    app_.reset();
    EnclaveApp& app = Make(crypto::Sha256(*model));
    FakeKms fake;
    fake.rsa_spki = app.rsa_public_key_der();
    fake.question = std::string(data_key.begin(), data_key.end());
    fake.deny = c.deny;
    kms::KmsCredentials creds;
    creds.access_key_id = "AKIAENCLAVE";
    creds.secret_access_key = SecretBytes::CopyFrom(AsBytes("s"));
    kms::KmsClient kms(fake.Transport(), std::move(creds), "us-east-1", "kms.confide.local");
    auto sink = NewSealedModelSink(app, kms, 2);
    absl::Status s;
    // Odd piece sizes: the header and segments arrive split anywhere.
    for (size_t off = 0; off < c.file.size() && s.ok(); off += 7777) {
      s = sink->Update(ByteSpan(c.file).subspan(off, std::min<size_t>(7777, c.file.size() - off)));
    }
    if (s.ok()) s = sink->Finish();
    EXPECT_EQ(s.ok(), c.ok) << s;
    if (c.ok) {
      EXPECT_EQ(app.state(), EnclaveApp::State::kReady);
    } else {
      EXPECT_EQ(app.state(), EnclaveApp::State::kFailed);
      http::Response h = app.Handle(Get("/health")).response;
      EXPECT_NE(h.body.find(c.reason), std::string::npos) << h.body;
    }
  }
}

}  // namespace
}  // namespace confide::app
