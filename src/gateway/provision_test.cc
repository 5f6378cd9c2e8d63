// Parent provisioning (sealed-path.md §3): the credentials file check, and the server on the
// vsock emulation as an enclave sees it.
#include "gateway/provision.h"

#include <stdlib.h>

#include <filesystem>
#include <mutex>

#include "base/file.h"
#include "base/log.h"
#include "crypto/random.h"
#include "gateway/upstream.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace confide::gateway {
namespace {

constexpr char kSecret[] = "CANARYsecretKEY/abc+123";

absl::StatusOr<std::string> Parse(const std::string& text) {
  auto s = ParseCredentials(AsBytes(text));
  if (!s.ok()) return s.status();
  return std::string(AsStringView(s->ExposeSecret()));
}

TEST(ParseCredentialsTest, AcceptsTheServedFieldsAndDropsMetadata) {
  auto a = Parse(R"({"AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"s"})");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, R"({"AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"s"})");
  auto b = Parse(R"({"Version":1,"AccessKeyId":"A","SecretAccessKey":"s","SessionToken":"t",)"
                 R"("Expiration":"2030-01-01T00:00:00Z"})");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*b, R"({"AccessKeyId":"A","SecretAccessKey":"s","SessionToken":"t"})");
  auto c = Parse(R"({"AccessKeyId":"A","SecretAccessKey":"s","SessionToken":""})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, R"({"AccessKeyId":"A","SecretAccessKey":"s"})");
}

TEST(ParseCredentialsTest, RejectsMalformedFilesWithoutEchoingValues) {
  const std::vector<std::string> bad = {
      "",
      "[]",
      "{",
      R"({"AccessKeyId":"A"})",
      R"({"SecretAccessKey":"CANARYsecretKEY/abc+123"})",
      R"({"AccessKeyId":"","SecretAccessKey":"CANARYsecretKEY/abc+123"})",
      R"({"AccessKeyId":1,"SecretAccessKey":"CANARYsecretKEY/abc+123"})",
      R"({"AccessKeyId":"A","SecretAccessKey":"CANARYsecretKEY/abc+123","SessionToken":5})",
      R"({"AccessKeyId":"A","SecretAccessKey":"CANARYsecretKEY/abc+123","CANARYsecretKEY":1})",
  };
  for (const std::string& text : bad) {
    auto r = Parse(text);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << text;
    EXPECT_EQ(std::string(r.status().message()).find("CANARY"), std::string::npos);
  }
}

class ProvisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cpv-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    model_ = *crypto::RandomBytes(1024 * 1024 + 123);
    ASSERT_TRUE(base::WriteFileAtomic(dir_ + "/model.sealed", model_).ok());
    ASSERT_TRUE(
        base::WriteFileAtomic(
            dir_ + "/creds.json",
            ToBytes(absl::StrCat(R"({"AccessKeyId":"AKID","SecretAccessKey":")", kSecret, R"("})")),
            0600)
            .ok());
    auto parent = enclave::NewEmulatedVsockTransport(dir_ + "/v", enclave::kParentCid);
    ASSERT_TRUE(parent.ok());
    parent_ = *std::move(parent);
    auto enc = enclave::NewEmulatedVsockTransport(dir_ + "/v", 16);
    ASSERT_TRUE(enc.ok());
    enclave_ = *std::move(enc);
    log::SetSink([this](std::string_view line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      logs_ += std::string(line) + "\n";
    });
  }
  void TearDown() override {
    log::SetSink(nullptr);
    std::filesystem::remove_all(dir_);
  }
  ProvisionOptions Options() {
    ProvisionOptions o;
    o.port = 7000;
    o.model_path = dir_ + "/model.sealed";
    o.credentials_path = dir_ + "/creds.json";
    return o;
  }

  std::string dir_;
  Bytes model_;
  std::unique_ptr<enclave::VsockTransport> parent_;
  std::unique_ptr<enclave::VsockTransport> enclave_;
  std::mutex log_mu_;
  std::string logs_;
};

TEST_F(ProvisionTest, ServesCredentialsAndStreamsTheModel) {
  auto server = ProvisionServer::Start(*parent_, Options());
  ASSERT_TRUE(server.ok()) << server.status();
  http::ClientOptions co;
  co.timeout = absl::Seconds(20);
  http::Client client(VsockConnectFn(*enclave_, {enclave::kParentCid, 7000}), co);
  http::Request get;
  get.method = "GET";
  get.target = "/v1/credentials";
  auto creds = client.Send(get);
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ(creds->status, 200);
  auto j = nlohmann::json::parse(creds->body);
  EXPECT_EQ(j["AccessKeyId"], "AKID");
  EXPECT_EQ(j["SecretAccessKey"], kSecret);
  EXPECT_FALSE(j.contains("SessionToken"));

  get.target = "/v1/model";
  std::string got;
  int pieces = 0;
  int status = 0;
  absl::Status st = client.SendStreaming(
      get,
      [&](const http::Response& head) {
        status = head.status;
        EXPECT_EQ(head.headers.Get("Content-Type").value_or(""), "application/octet-stream");
        return true;
      },
      [&](std::string_view piece) {
        got.append(piece);
        ++pieces;
        return true;
      });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(status, 200);
  EXPECT_EQ(got.size(), model_.size());
  EXPECT_TRUE(got == AsStringView(model_));
  EXPECT_GT(pieces, 1);

  get.target = "/v1/nothing";
  auto missing = client.Send(get);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  get.method = "POST";
  get.target = "/v1/model";
  auto post = client.Send(get);
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->status, 405);

  (*server)->Stop();
  std::lock_guard<std::mutex> lock(log_mu_);
  EXPECT_EQ(logs_.find("CANARY"), std::string::npos);
  EXPECT_NE(logs_.find("provision.model"), std::string::npos);
}

TEST_F(ProvisionTest, RefusesPeersThatAreNotEnclaves) {
  auto server = ProvisionServer::Start(*parent_, Options());
  ASSERT_TRUE(server.ok()) << server.status();
  http::ClientOptions co;
  co.timeout = absl::Seconds(5);
  // The parent (CID 3) dialling its own provisioning port is not an enclave.
  http::Client client(VsockConnectFn(*parent_, {enclave::kParentCid, 7000}), co);
  http::Request get;
  get.method = "GET";
  get.target = "/v1/credentials";
  auto r = client.Send(get);
  EXPECT_FALSE(r.ok());
}

TEST_F(ProvisionTest, StartChecksItsFiles) {
  ProvisionOptions o = Options();
  o.model_path = dir_ + "/absent";
  EXPECT_TRUE(absl::IsNotFound(ProvisionServer::Start(*parent_, o).status()));
  o = Options();
  o.credentials_path = dir_ + "/absent";
  EXPECT_FALSE(ProvisionServer::Start(*parent_, o).ok());
  ASSERT_TRUE(base::WriteFileAtomic(dir_ + "/bad.json", ToBytes("{}")).ok());
  o.credentials_path = dir_ + "/bad.json";
  EXPECT_TRUE(absl::IsInvalidArgument(ProvisionServer::Start(*parent_, o).status()));
}

}  // namespace
}  // namespace confide::gateway
