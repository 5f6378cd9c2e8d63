// KmsClient against a real in-process KMS server (port 0, temporary data directory, simulation
// attestation root), plus fake transports for the responses a correct server never sends.
#include "kms/client.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "attest/emulated_nsm.h"
#include "attest/pcr.h"
#include "base/encoding.h"
#include "gtest/gtest.h"
#include "kms/errors.h"
#include "kms/internal/test_dir.h"
#include "kms/internal/test_server.h"
#include "kms/server.h"

namespace confide::kms {
namespace {

using Json = nlohmann::json;

constexpr const char* kAdminArn = internal::kTestAdminArn;
constexpr const char* kParentArn = internal::kTestParentArn;

Bytes Secret(const SecretBytes& s) {
  return Bytes(s.ExposeSecret().begin(), s.ExposeSecret().end());
}

KmsCredentials Creds(const std::string& id, const std::string& secret) {
  KmsCredentials c;
  c.access_key_id = id;
  c.secret_access_key = SecretBytes::CopyFrom(AsBytes(secret));
  return c;
}

class KmsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    internal::TestKmsDir d = internal::MakeTestKmsDir("kms_client");
    ASSERT_FALSE(d.dir.empty());
    dir_ = d.dir;
    ca_ = d.ca;
    auto s = internal::StartTestServer(dir_);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    for (uint32_t i = 0; i < 16; ++i) pcrs_[i] = attest::ZeroPcr();
    pcrs_[0] = attest::MeasureBytes(AsBytes("the model server image"));
    rsa_.emplace(*crypto::RsaPrivateKey::Generate(2048));
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  KmsClient Client(const std::string& id, const std::string& secret) {
    return KmsClient(NewTcpKmsTransport("127.0.0.1", server_->port()), Creds(id, secret),
                     "us-east-1", "127.0.0.1:" + std::to_string(server_->port()));
  }
  KmsClient Admin() { return Client("AKIAADMIN00000000001", "admin-secret"); }
  KmsClient Parent() { return Client("AKIAPARENT0000000001", "parent-secret"); }

  KmsRecipient Recipient() {
    attest::EmulatedNsm nsm(ca_, "i-0kms-enc01", pcrs_, /*debug=*/false);
    auto d = nsm.Attest(std::nullopt, std::nullopt, rsa_->PublicKey().SpkiDer(), absl::Now());
    EXPECT_TRUE(d.ok()) << d.status();
    return KmsRecipient{&*rsa_, d.ok() ? *d : Bytes()};
  }

  // EnclavePolicy lets the parent encrypt and generate data keys, and decrypt only with a
  // Recipient whose image is pcrs_[0].
  std::string EnclavePolicy() {
    Json policy = {
        {"Version", "2012-10-17"},
        {"Statement",
         {{{"Sid", "Admin"},
           {"Effect", "Allow"},
           {"Principal", {{"AWS", kAdminArn}}},
           {"Action", "kms:*"},
           {"Resource", "*"}},
          {{"Sid", "ParentEncrypt"},
           {"Effect", "Allow"},
           {"Principal", {{"AWS", kParentArn}}},
           {"Action", Json::array({"kms:Encrypt", "kms:DescribeKey"})},
           {"Resource", "*"}},
          {{"Sid", "EnclaveDecrypt"},
           {"Effect", "Allow"},
           {"Principal", {{"AWS", kParentArn}}},
           {"Action", Json::array({"kms:Decrypt", "kms:GenerateDataKey"})},
           {"Resource", "*"},
           {"Condition",
            {{"StringEqualsIgnoreCase",
              {{"kms:RecipientAttestation:ImageSha384", base::HexEncode(pcrs_[0])}}}}}}}}};
    return policy.dump();
  }

  std::string dir_;
  std::shared_ptr<attest::SimulationCa> ca_;
  std::unique_ptr<RunningKmsServer> server_;
  attest::PcrMap pcrs_;
  std::optional<crypto::RsaPrivateKey> rsa_;
};

TEST_F(KmsClientTest, RoundTrips) {
  KmsClient admin = Admin();
  auto id = admin.CreateKey("client test", std::nullopt);
  ASSERT_TRUE(id.ok()) << id.status();
  EncryptionContext ctx = {{"purpose", "test"}, {"tenant", "a"}};
  for (size_t len : {size_t{1}, size_t{32}, size_t{4096}}) {
    Bytes pt(len, static_cast<uint8_t>(len));
    auto blob = admin.Encrypt(*id, pt, ctx);
    ASSERT_TRUE(blob.ok()) << blob.status();
    auto back = admin.Decrypt(*blob, ctx);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(Secret(*back), pt);
  }
  auto too_big = admin.Encrypt(*id, Bytes(4097, 1), ctx);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AwsErrorType(too_big.status()), "ValidationException");

  auto dk = admin.GenerateDataKey(*id, ctx);
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(dk->plaintext.size(), 32u);
  auto opened = admin.Decrypt(dk->ciphertext_blob, ctx);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(Secret(*opened), Secret(dk->plaintext));

  // Wrong context: AWS's single error with an empty message.
  auto wrong = admin.Decrypt(dk->ciphertext_blob, {{"purpose", "other"}});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AwsErrorType(wrong.status()), "InvalidCiphertextException");
  EXPECT_EQ(std::string(wrong.status().message()), "KMS Decrypt: InvalidCiphertextException");

  // Generic call, and an error mapped to NotFound.
  auto described = admin.Call("DescribeKey", {{"KeyId", *id}});
  ASSERT_TRUE(described.ok());
  EXPECT_EQ((*described)["KeyMetadata"]["KeyState"], "Enabled");
  auto missing = admin.Call("DescribeKey", {{"KeyId", "alias/none"}});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(AwsErrorType(missing.status()), "NotFoundException");
  EXPECT_TRUE(absl::StartsWith(missing.status().message(), "KMS DescribeKey: NotFoundException: "))
      << missing.status();
  EXPECT_EQ(admin.Call("NoSuchOp", Json::object()).status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(admin.Call("Bad Op", Json::object()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(admin.Call("ListKeys", Json::array()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KmsClientTest, RecipientPathAndAccessDenied) {
  auto id = Admin().CreateKey("enclave key", EnclavePolicy());
  ASSERT_TRUE(id.ok()) << id.status();
  KmsClient parent = Parent();
  EncryptionContext ctx = {{"confide:purpose", "model"}};
  auto blob = parent.Encrypt(*id, AsBytes("model key"), ctx);
  ASSERT_TRUE(blob.ok()) << blob.status();

  auto denied = parent.Decrypt(*blob, ctx);
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(AwsErrorType(denied.status()), "AccessDeniedException");
  EXPECT_TRUE(absl::StartsWith(denied.status().message(), "KMS Decrypt: AccessDeniedException"));
  EXPECT_EQ(parent.GenerateDataKey(*id, ctx).status().code(), absl::StatusCode::kPermissionDenied);

  KmsRecipient recipient = Recipient();
  auto attested = parent.Decrypt(*blob, ctx, &recipient);
  ASSERT_TRUE(attested.ok()) << attested.status();
  EXPECT_EQ(Secret(*attested), ToBytes("model key"));

  auto dk = parent.GenerateDataKey(*id, ctx, &recipient);
  ASSERT_TRUE(dk.ok()) << dk.status();
  auto again = parent.Decrypt(dk->ciphertext_blob, ctx, &recipient);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(Secret(*again), Secret(dk->plaintext));

  // Another RSA key cannot open the CMS the KMS made for the attested one.
  auto other = crypto::RsaPrivateKey::Generate(2048);
  KmsRecipient mismatched{&*other, recipient.attestation_document};
  EXPECT_FALSE(parent.Decrypt(*blob, ctx, &mismatched).ok());

  // Another image is denied.
  pcrs_[0] = attest::MeasureBytes(AsBytes("another image"));
  KmsRecipient wrong_image = Recipient();
  EXPECT_EQ(parent.Decrypt(*blob, ctx, &wrong_image).status().code(),
            absl::StatusCode::kPermissionDenied);

  KmsRecipient empty{&*rsa_, {}};
  EXPECT_EQ(parent.Decrypt(*blob, ctx, &empty).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(KmsClientTest, WrongCredentials) {
  auto bad_secret =
      Client("AKIAADMIN00000000001", "not-the-secret").Call("ListKeys", Json::object());
  EXPECT_EQ(bad_secret.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(AwsErrorType(bad_secret.status()), "InvalidSignatureException");
  EXPECT_EQ(std::string(bad_secret.status().message()).find("not-the-secret"), std::string::npos);
  auto unknown = Client("AKIAUNKNOWN000000001", "x").Call("ListKeys", Json::object());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(AwsErrorType(unknown.status()), "UnrecognizedClientException");
  // A clock outside the server's ±5 minutes.
  KmsClient skewed = Admin();
  skewed.SetClock([] { return absl::Now() - absl::Minutes(20); });
  EXPECT_EQ(AwsErrorType(skewed.Call("ListKeys", Json::object()).status()),
            "InvalidSignatureException");
  // Nobody listening.
  KmsClient nowhere(NewTcpKmsTransport("127.0.0.1", 1, absl::Seconds(2)),
                    Creds("AKIAADMIN00000000001", "admin-secret"), "us-east-1", "127.0.0.1:1");
  auto down = nowhere.Call("ListKeys", Json::object());
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StartsWith(down.status().message(), "KMS ListKeys: ")) << down.status();
}

TEST_F(KmsClientTest, ConcurrentCallsShareTheTransport) {
  KmsClient admin = Admin();
  auto id = admin.CreateKey("concurrency", std::nullopt);
  ASSERT_TRUE(id.ok());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        Bytes pt = {static_cast<uint8_t>(t), static_cast<uint8_t>(i)};
        auto blob = admin.Encrypt(*id, pt, {});
        if (!blob.ok()) continue;
        auto back = admin.Decrypt(*blob, {});
        if (back.ok() && Secret(*back) == pt) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 20);
}

// A transport that answers every request with a canned response.
KmsTransport Canned(int status, std::string body, std::string error_header = "") {
  return [=](const http::Request& request) -> absl::StatusOr<http::Response> {
    EXPECT_TRUE(request.headers.Get("Authorization").has_value());
    EXPECT_TRUE(request.headers.Get("X-Amz-Date").has_value());
    http::Response r;
    r.status = status;
    r.body = body;
    if (!error_header.empty()) r.headers.Add("x-amzn-ErrorType", error_header);
    return r;
  };
}

TEST(KmsClientFakeTest, MalformedAndHostileResponses) {
  auto rsa = crypto::RsaPrivateKey::Generate(2048);
  ASSERT_TRUE(rsa.ok());
  KmsRecipient recipient{&*rsa, ToBytes("document")};
  // A KMS that ignores Recipient and returns the key in clear: refused.
  KmsClient plain(Canned(200, R"({"Plaintext":"AAAA","CiphertextForRecipient":"AAAA"})"),
                  Creds("AKIA", "s"), "us-east-1", "kms");
  auto refused = plain.Decrypt(AsBytes("blob"), {}, &recipient);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "Plaintext")) << refused.status();
  // Without a recipient it is what we want.
  auto fine = plain.Decrypt(AsBytes("blob"), {});
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ(Secret(*fine), Bytes(3, 0));
  // A garbage CMS fails closed.
  KmsClient garbage(Canned(200, R"({"CiphertextForRecipient":"AAAA"})"), Creds("AKIA", "s"),
                    "us-east-1", "kms");
  EXPECT_FALSE(garbage.Decrypt(AsBytes("blob"), {}, &recipient).ok());
  // GenerateDataKey of the wrong length.
  KmsClient short_key(Canned(200, R"({"Plaintext":"AAAA","CiphertextBlob":"AAAA"})"),
                      Creds("AKIA", "s"), "us-east-1", "kms");
  EXPECT_EQ(short_key.GenerateDataKey("k", {}).status().code(), absl::StatusCode::kInternal);

  KmsClient not_json(Canned(200, "<html>"), Creds("AKIA", "s"), "us-east-1", "kms");
  EXPECT_EQ(not_json.Call("ListKeys", Json::object()).status().code(), absl::StatusCode::kInternal);
  KmsClient gateway(Canned(502, "Bad Gateway"), Creds("AKIA", "s"), "us-east-1", "kms");
  auto bad = gateway.Call("ListKeys", Json::object());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(std::string(bad.status().message()), "KMS ListKeys: HTTP 502");

  // Namespaced __type, "Message" spelling, control characters scrubbed.
  KmsClient ns(Canned(400, R"({"__type":"com.amazonaws.kms#NotFoundException",)"
                           R"("Message":"no\nkey\u001b[31m"})"),
               Creds("AKIA", "s"), "us-east-1", "kms");
  auto nf = ns.Call("DescribeKey", Json::object());
  EXPECT_EQ(nf.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(AwsErrorType(nf.status()), "NotFoundException");
  EXPECT_EQ(std::string(nf.status().message()), "KMS DescribeKey: NotFoundException: no?key?[31m");
  KmsClient header(Canned(400, "", "ThrottlingException:http://internal"), Creds("AKIA", "s"),
                   "us-east-1", "kms");
  EXPECT_EQ(header.Call("ListKeys", Json::object()).status().code(),
            absl::StatusCode::kResourceExhausted);

  KmsClient broken(
      [](const http::Request&) -> absl::StatusOr<http::Response> {
        return absl::DeadlineExceededError("timed out");
      },
      Creds("AKIA", "s"), "us-east-1", "kms");
  auto timeout = broken.Call("ListKeys", Json::object());
  EXPECT_EQ(timeout.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(std::string(timeout.status().message()), "KMS ListKeys: timed out");
}

TEST(KmsClientFakeTest, SignsWithTheSessionToken) {
  KmsCredentials c = Creds("ASIATEMP", "s");
  c.session_token = "token-123";
  bool seen = false;
  KmsClient client(
      [&](const http::Request& request) -> absl::StatusOr<http::Response> {
        seen = request.headers.Get("X-Amz-Security-Token").value_or("") == "token-123" &&
               request.headers.Get("X-Amz-Target").value_or("") == "TrentService.ListKeys" &&
               request.headers.Get("Host").value_or("") == "kms.confide.local" &&
               absl::StrContains(std::string(request.headers.Get("Authorization").value_or("")),
                                 "/us-west-2/kms/aws4_request");
        return http::Response::Json(200, "{}");
      },
      std::move(c), "us-west-2", "kms.confide.local");
  ASSERT_TRUE(client.Call("ListKeys", Json::object()).ok());
  EXPECT_TRUE(seen);
}

TEST(KmsCredentialsTest, ParseShapes) {
  auto a = ParseCredentialsJson(R"({"AccessKeyId":"AKIA1","SecretAccessKey":"sec"})");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->access_key_id, "AKIA1");
  EXPECT_EQ(Secret(a->secret_access_key), ToBytes("sec"));
  EXPECT_EQ(a->session_token, "");
  // IMDS shape (extra members) and sts output (wrapped in Credentials).
  auto imds = ParseCredentialsJson(
      R"({"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIA2","SecretAccessKey":"s2",)"
      R"("Token":"ignored","SessionToken":"tok","Expiration":"2030-01-01T00:00:00Z"})");
  ASSERT_TRUE(imds.ok());
  EXPECT_EQ(imds->session_token, "tok");
  auto sts = ParseCredentialsJson(
      R"({"Credentials":{"AccessKeyId":"ASIA3","SecretAccessKey":"s3","SessionToken":"t3"}})");
  ASSERT_TRUE(sts.ok());
  EXPECT_EQ(sts->access_key_id, "ASIA3");
  for (const char* bad :
       {"", "[]", "{", R"({"AccessKeyId":"A"})", R"({"SecretAccessKey":"supersecret"})",
        R"({"AccessKeyId":"","SecretAccessKey":"supersecret"})",
        R"({"AccessKeyId":"A","SecretAccessKey":7})",
        R"({"AccessKeyId":"A","SecretAccessKey":"supersecret","SessionToken":1})"}) {
    auto r = ParseCredentialsJson(bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_FALSE(absl::StrContains(r.status().message(), "supersecret"));
  }
}

TEST(KmsCredentialsTest, LoadFromFileAndEnvironment) {
  std::string path =
      (std::filesystem::temp_directory_path() / ("kms_creds_" + std::to_string(getpid()))).string();
  std::ofstream(path) << R"({"AccessKeyId":"AKIAFILE","SecretAccessKey":"fs"})";
  auto f = LoadCredentials(path);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->access_key_id, "AKIAFILE");
  std::filesystem::remove(path);
  EXPECT_EQ(LoadCredentials(path).status().code(), absl::StatusCode::kNotFound);

  setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "es", 1);
  setenv("AWS_SESSION_TOKEN", "et", 1);
  auto e = LoadCredentials("");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->access_key_id, "AKIAENV");
  EXPECT_EQ(Secret(e->secret_access_key), ToBytes("es"));
  EXPECT_EQ(e->session_token, "et");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ(LoadCredentials("").status().code(), absl::StatusCode::kFailedPrecondition);
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SESSION_TOKEN");
}

TEST(KmsEndpointTest, Parse) {
  auto a = ParseKmsEndpoint("http://127.0.0.1:4600");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 4600);
  EXPECT_EQ(a->host_header, "127.0.0.1:4600");
  auto b = ParseKmsEndpoint("http://kms.local/");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->port, 80);
  EXPECT_EQ(b->host_header, "kms.local");
  auto c = ParseKmsEndpoint("http://[::1]:8000");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 8000);
  EXPECT_FALSE(a->tls);
  auto d = ParseKmsEndpoint("https://kms.us-east-1.amazonaws.com");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->tls);
  EXPECT_EQ(d->host, "kms.us-east-1.amazonaws.com");
  EXPECT_EQ(d->port, 443);
  EXPECT_EQ(d->host_header, "kms.us-east-1.amazonaws.com");
  auto e = ParseKmsEndpoint("https://127.0.0.1:4601/");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->port, 4601);
  EXPECT_EQ(e->host_header, "127.0.0.1:4601");
  for (const char* bad :
       {"", "127.0.0.1:4600", "http://", "https://", "ftp://h", "HTTPS//h", "https://h:0",
        "https://h/p", "http://h:0", "http://h:65536", "http://h:x", "http://h:", "http://h/path",
        "http://u@h", "http://[::1"}) {
    EXPECT_EQ(ParseKmsEndpoint(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(KmsErrorCodeTest, Mapping) {
  EXPECT_EQ(KmsErrorCode("AccessDeniedException", 400), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(KmsErrorCode("InvalidCiphertextException", 400), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KmsErrorCode("InvalidKeyUsageException", 400), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KmsErrorCode("KMSInvalidStateException", 400), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(KmsErrorCode("KMSInternalException", 500), absl::StatusCode::kInternal);
  EXPECT_EQ(KmsErrorCode("Whatever", 503), absl::StatusCode::kUnavailable);
  EXPECT_EQ(KmsErrorCode("Whatever", 400), absl::StatusCode::kUnknown);
}

}  // namespace
}  // namespace confide::kms
