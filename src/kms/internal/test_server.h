// Test-only: a KMS server on port 0 over a MakeTestKmsDir directory, and SigV4-signed calls to it
// as an AWS SDK makes them (admin or parent identity).
#ifndef CONFIDE_KMS_INTERNAL_TEST_SERVER_H_
#define CONFIDE_KMS_INTERNAL_TEST_SERVER_H_

#include <filesystem>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "base/secret_bytes.h"
#include "gtest/gtest.h"
#include "http/http.h"
#include "kms/internal/test_dir.h"
#include "kms/server.h"
#include "kms/sigv4.h"
#include "nlohmann/json.hpp"

namespace confide::kms::internal {

// TestReply is one answer: HTTP status and the JSON body.
struct TestReply {
  int status = 0;
  nlohmann::json body;
  std::string request_id;    // x-amzn-RequestId
  std::string content_type;  // Content-Type
  std::string type() const { return body.is_object() ? body.value("__type", "") : ""; }
  std::string message() const { return body.is_object() ? body.value("message", "") : ""; }
};

// StartTestServer starts a KMS on 127.0.0.1, port 0, over MakeTestKmsDir directory `dir`
// (its identities, and its simulation root trusted).
inline absl::StatusOr<std::unique_ptr<RunningKmsServer>> StartTestServer(const std::string& dir) {
  KmsServerConfig config;
  config.listen_port = 0;
  config.data_dir = dir;
  config.identities_path = dir + "/ids.toml";
  config.trust_root_paths = {dir + "/root.pem"};
  config.allow_simulation_root = true;
  return RunningKmsServer::Start(config);
}

// TestKmsServer starts a server in a fresh test directory; Call signs and sends one request.
class TestKmsServer {
 public:
  TestKmsServer() {
    TestKmsDir d = MakeTestKmsDir("kms_test_server");
    dir_ = d.dir;
    ca_ = d.ca;
    if (!dir_.empty()) Start();
  }
  ~TestKmsServer() {
    server_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  bool ok() const { return server_ != nullptr; }
  const std::string& dir() const { return dir_; }
  const std::shared_ptr<attest::SimulationCa>& ca() const { return ca_; }
  RunningKmsServer* server() { return server_.get(); }
  http::Client& client() { return *client_; }

  void Start() {
    auto s = StartTestServer(dir_);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return;
    server_ = std::move(*s);
    client_ = std::make_unique<http::Client>("127.0.0.1", server_->port());
  }
  void Stop() {
    if (server_) server_->Stop();
    server_.reset();
  }

  // Call signs `body` for `op` as the admin (or the parent) and sends it — or, when `tamper` is
  // not empty, sends `tamper` under the signature made for `body`.
  TestReply Call(const std::string& op, const nlohmann::json& body, bool parent = false,
                 const std::string& tamper = "") {
    HttpRequest req;
    req.method = "POST";
    req.target = "/";
    req.version = "HTTP/1.1";
    req.headers.push_back({"Host", "127.0.0.1:" + std::to_string(server_->port())});
    req.headers.push_back({"Content-Type", "application/x-amz-json-1.1"});
    req.headers.push_back({"X-Amz-Target", "TrentService." + op});
    const std::string text = body.dump();
    req.body.assign(text.begin(), text.end());
    SigV4Credentials creds;
    creds.access_key_id = parent ? "AKIAPARENT0000000001" : "AKIAADMIN00000000001";
    creds.secret_access_key =
        SecretBytes::CopyFrom(AsBytes(parent ? "parent-secret" : "admin-secret"));
    SigV4SignOptions opts;
    opts.region = "us-east-1";
    opts.service = "kms";
    opts.time = absl::Now();
    EXPECT_TRUE(SignSigV4(req, creds, opts).ok());
    http::Request hreq;
    hreq.method = "POST";
    hreq.target = "/";
    for (const auto& h : req.headers) hreq.headers.Add(h.name, h.value);
    hreq.body = tamper.empty() ? text : tamper;
    auto resp = client_->Send(hreq);
    EXPECT_TRUE(resp.ok()) << resp.status();
    TestReply r;
    if (!resp.ok()) return r;
    r.status = resp->status;
    r.body = nlohmann::json::parse(resp->body, nullptr, false);
    r.request_id = std::string(resp->headers.Get("x-amzn-RequestId").value_or(""));
    r.content_type = std::string(resp->headers.Get("Content-Type").value_or(""));
    return r;
  }

 private:
  std::string dir_;
  std::shared_ptr<attest::SimulationCa> ca_;
  std::unique_ptr<RunningKmsServer> server_;
  std::unique_ptr<http::Client> client_;
};

}  // namespace confide::kms::internal

#endif  // CONFIDE_KMS_INTERNAL_TEST_SERVER_H_
