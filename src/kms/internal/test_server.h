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
  std::string type() const { return body.is_object() ? body.value("__type", "") : ""; }
  std::string message() const { return body.is_object() ? body.value("message", "") : ""; }
};

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

  void Start() {
    KmsServerConfig config;
    config.listen_port = 0;
    config.data_dir = dir_;
    config.identities_path = dir_ + "/ids.toml";
    config.trust_root_paths = {dir_ + "/root.pem"};
    config.allow_simulation_root = true;
    auto s = RunningKmsServer::Start(config);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return;
    server_ = std::move(*s);
    client_ = std::make_unique<http::Client>("127.0.0.1", server_->port());
  }
  void Stop() {
    if (server_) server_->Stop();
    server_.reset();
  }

  TestReply Call(const std::string& op, const nlohmann::json& body, bool parent = false) {
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
    hreq.body = text;
    auto resp = client_->Send(hreq);
    EXPECT_TRUE(resp.ok()) << resp.status();
    TestReply r;
    if (!resp.ok()) return r;
    r.status = resp->status;
    r.body = nlohmann::json::parse(resp->body, nullptr, false);
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
