// The KMS over TLS: RunningKmsServer with KmsServerConfig::tls and KmsClient over
// NewKmsTransport(https://..., ca_file): calls succeed with the right CA and for each name the
// certificate carries; another CA, another name and plain HTTP get no KMS answer.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "base/file.h"
#include "crypto/ecdsa.h"
#include "crypto/x509.h"
#include "gtest/gtest.h"
#include "kms/client.h"
#include "kms/errors.h"
#include "kms/server.h"

namespace confide::kms {
namespace {

// WritePki writes DIR/PREFIX-ca.pem and, issued by it for localhost and 127.0.0.1,
// DIR/PREFIX-chain.pem (leaf then CA) and DIR/PREFIX-key.pem.
void WritePki(const std::string& dir, const std::string& prefix) {
  crypto::CertificateSpec ca_spec;
  ca_spec.subject.common_name = "confide kms test CA";
  ca_spec.not_before = absl::Now() - absl::Hours(1);
  ca_spec.not_after = absl::Now() + absl::Hours(24);
  ca_spec.is_ca = true;
  auto ca_key = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384);  // the builder's rule
  ASSERT_TRUE(ca_key.ok());
  auto ca = crypto::CreateSelfSignedCertificate(ca_spec, *ca_key);
  ASSERT_TRUE(ca.ok()) << ca.status();
  crypto::CertificateSpec leaf_spec = ca_spec;
  leaf_spec.subject.common_name = "confide kms test server";
  leaf_spec.is_ca = false;
  leaf_spec.dns_names = {"localhost"};
  leaf_spec.ip_addresses = {"127.0.0.1"};
  leaf_spec.server_auth = true;
  auto key = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP256);
  ASSERT_TRUE(key.ok());
  auto leaf = crypto::IssueCertificate(leaf_spec, key->PublicKey(), *ca, *ca_key);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/" + prefix + "-ca.pem", AsBytes(ca->Pem())).ok());
  ASSERT_TRUE(
      base::WriteFileAtomic(dir + "/" + prefix + "-chain.pem", AsBytes(leaf->Pem() + ca->Pem()))
          .ok());
  ASSERT_TRUE(
      base::WriteFileAtomic(dir + "/" + prefix + "-key.pem", key->Pem().ExposeSecret(), 0600).ok());
}

class KmsTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kms_tls_XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    std::ofstream(dir_ + "/ids.toml")
        << "[[identity]]\naccess_key_id = \"AKIAADMIN00000000001\"\n"
           "secret_access_key = \"admin-secret\"\n"
           "principal_arn = \"arn:aws:iam::111122223333:role/admin\"\n";
    ASSERT_NO_FATAL_FAILURE(WritePki(dir_, "good"));
    ASSERT_NO_FATAL_FAILURE(WritePki(dir_, "other"));
    KmsServerConfig config;
    config.listen_port = 0;
    config.data_dir = dir_;
    config.identities_path = dir_ + "/ids.toml";
    config.tls = http::TlsServerOptions{dir_ + "/good-chain.pem", dir_ + "/good-key.pem"};
    auto s = RunningKmsServer::Start(config);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Client returns a client for `scheme`://`host`:port trusting `ca` (a prefix, or "").
  std::unique_ptr<KmsClient> Client(const std::string& scheme, const std::string& host,
                                    const std::string& ca) {
    auto endpoint = ParseKmsEndpoint(scheme + "://" + host + ":" + std::to_string(server_->port()));
    EXPECT_TRUE(endpoint.ok()) << endpoint.status();
    KmsCredentials c;
    c.access_key_id = "AKIAADMIN00000000001";
    c.secret_access_key = SecretBytes::CopyFrom(AsBytes(std::string("admin-secret")));
    return std::make_unique<KmsClient>(
        NewKmsTransport(*endpoint, ca.empty() ? "" : dir_ + "/" + ca + "-ca.pem",
                        absl::Seconds(10)),
        std::move(c), "us-east-1", endpoint->host_header);
  }

  std::string dir_;
  std::unique_ptr<RunningKmsServer> server_;
};

TEST_F(KmsTlsTest, RightCaSucceedsForEachCertifiedName) {
  for (const char* host : {"127.0.0.1", "localhost"}) {
    auto client = Client("https", host, "good");
    auto id = client->CreateKey("tls", std::nullopt);
    ASSERT_TRUE(id.ok()) << host << ": " << id.status();
    auto blob = client->Encrypt(*id, AsBytes(std::string("over tls")), {{"k", "v"}});
    ASSERT_TRUE(blob.ok()) << blob.status();
    auto plain = client->Decrypt(*blob, {{"k", "v"}});
    ASSERT_TRUE(plain.ok()) << plain.status();
    EXPECT_EQ(Bytes(plain->ExposeSecret().begin(), plain->ExposeSecret().end()),
              ToBytes("over tls"));
  }
}

TEST_F(KmsTlsTest, WrongCaSystemStoreAndPlainHttpAreRefused) {
  auto wrong = Client("https", "127.0.0.1", "other")->Call("ListKeys", nlohmann::json::object());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kUnavailable) << wrong.status();
  // The system store does not hold the test CA.
  auto system = Client("https", "127.0.0.1", "")->Call("ListKeys", nlohmann::json::object());
  EXPECT_FALSE(system.ok());
  // Plain HTTP to the HTTPS-only port gets no KMS response.
  auto plain = Client("http", "127.0.0.1", "")->Call("ListKeys", nlohmann::json::object());
  EXPECT_FALSE(plain.ok());
  EXPECT_FALSE(plain.status().GetPayload(kAwsErrorPayloadUrl).has_value()) << plain.status();
  // A missing CA file fails the call, not the process.
  auto endpoint = ParseKmsEndpoint("https://127.0.0.1:" + std::to_string(server_->port()));
  ASSERT_TRUE(endpoint.ok());
  KmsTransport missing = NewKmsTransport(*endpoint, dir_ + "/absent.pem", absl::Seconds(5));
  http::Request request;
  request.method = "POST";
  request.target = "/";
  EXPECT_FALSE(missing(request).ok());
}

}  // namespace
}  // namespace confide::kms
