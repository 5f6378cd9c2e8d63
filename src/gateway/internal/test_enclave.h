// Test peer for the gateway's tests and benchmark (header-only; never linked into confide): a
// small server implementing the enclave app API of sealed-path.md §1 on the vsock emulation,
// with the real ohttp::Gateway and an EmulatedNsm. Its inner application is an echo: the
// plaintext answer to a sealed request is "echo:" + the request's plaintext. A chunked request
// is answered with `chunks` sealed chunks ("chunk-0", "chunk-1", ..., the last one final),
// each released by the `gate` when one is set (tests use it to prove that pieces arrive one by
// one, without timing), or at once.
#ifndef CONFIDE_GATEWAY_INTERNAL_TEST_ENCLAVE_H_
#define CONFIDE_GATEWAY_INTERNAL_TEST_ENCLAVE_H_

#include <fcntl.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "attest/emulated_nsm.h"
#include "attest/pcr.h"
#include "base/encoding.h"
#include "crypto/sha.h"
#include "enclave/vsock.h"
#include "http/http.h"
#include "ohttp/chunked.h"
#include "ohttp/ohttp.h"

namespace confide::gateway::testing {

class TestEnclave {
 public:
  struct Options {
    std::string vsock_dir;
    uint32_t cid = 16;
    uint32_t port = 5000;
    int chunks = 3;
    // gate(i) is called before chunk i is sealed and sent; nullptr: no wait.
    std::function<void(int)> gate;
    // hold, when set, is called by POST /compat/kms-chat before it answers (tests block on it).
    std::function<void()> hold;
    std::shared_ptr<const attest::SimulationCa> ca;
  };

  static absl::StatusOr<std::unique_ptr<TestEnclave>> Start(Options o) {
    std::unique_ptr<TestEnclave> e(new TestEnclave());
    e->options_ = std::move(o);
    ASSIGN_OR_RETURN(e->transport_,
                     enclave::NewEmulatedVsockTransport(e->options_.vsock_dir, e->options_.cid));
    ASSIGN_OR_RETURN(
        auto key, ohttp::GatewayKey::Generate(static_cast<uint8_t>(e->options_.cid & 0xff), 0x0020,
                                              {{0x0001, 0x0001}, {0x0001, 0x0002}}));
    std::vector<ohttp::GatewayKey> keys;
    keys.push_back(std::move(key));
    ASSIGN_OR_RETURN(ohttp::Gateway g, ohttp::Gateway::Create(std::move(keys)));
    e->ohttp_ = std::make_unique<ohttp::Gateway>(std::move(g));
    attest::PcrMap pcrs;
    for (uint32_t i = 0; i < 3; ++i) pcrs[i] = attest::MeasureBytes(Bytes{uint8_t(i)});
    e->pcrs_ = pcrs;
    e->nsm_ = std::make_unique<attest::EmulatedNsm>(
        e->options_.ca, absl::StrCat("i-test-enc", e->options_.cid), pcrs);
    RETURN_IF_ERROR(e->Listen());
    return e;
  }

  ~TestEnclave() { Stop(); }

  // Stop stops serving (the enclave "dies"); Restart serves again with fresh keys.
  void Stop() {
    if (server_) server_->Stop();
    server_.reset();
    if (listener_) listener_->Close();
    listener_.reset();
  }
  absl::Status Restart() {
    Stop();
    ASSIGN_OR_RETURN(auto key,
                     ohttp::GatewayKey::Generate(static_cast<uint8_t>(options_.cid & 0xff), 0x0020,
                                                 {{0x0001, 0x0001}}));
    std::vector<ohttp::GatewayKey> keys;
    keys.push_back(std::move(key));
    ASSIGN_OR_RETURN(ohttp::Gateway g, ohttp::Gateway::Create(std::move(keys)));
    ohttp_ = std::make_unique<ohttp::Gateway>(std::move(g));
    return Listen();
  }

  const Bytes& keys() const { return ohttp_->EncodedKeyConfigs(); }
  const attest::PcrMap& pcrs() const { return pcrs_; }
  enclave::VsockAddress address() const { return {options_.cid, options_.port}; }
  int requests() const { return requests_.load(); }

  http::Response Handle(const http::Request& r) {
    ++requests_;
    if (r.method == "GET" && r.target == "/health") {
      return http::Response::Json(200, "{\"status\":\"ok\",\"model\":\"echo\"}");
    }
    if (r.method == "GET" && r.target == "/ohttp-keys") {
      http::Response out;
      out.headers.Add("Content-Type", "application/ohttp-keys");
      out.body = std::string(AsStringView(ohttp_->EncodedKeyConfigs()));
      return out;
    }
    constexpr std::string_view kAttest = "/attestation?nonce=";
    if (r.method == "GET" && r.target.rfind(kAttest, 0) == 0) {
      auto nonce = base::HexDecode(std::string_view(r.target).substr(kAttest.size()));
      if (!nonce.ok() || nonce->empty() || nonce->size() > 512) {
        return http::Response::Text(400, "bad nonce\n");
      }
      auto doc = nsm_->Attest(crypto::Sha256(ohttp_->EncodedKeyConfigs()), *nonce, Bytes(32, 0x42),
                              absl::Now());
      if (!doc.ok()) return http::Response::Text(502, "nsm\n");
      http::Response out;
      out.headers.Add("Content-Type", "application/cbor");
      out.body = std::string(AsStringView(*doc));
      return out;
    }
    if (r.method == "POST" && r.target == "/compat/kms-chat") {
      if (options_.hold) options_.hold();
      return http::Response::Json(
          200, absl::StrCat("{\"CiphertextBlob\":\"", base::Base64Encode(AsBytes(r.body)), "\"}"));
    }
    if (r.method == "POST" && r.target == "/ohttp") {
      auto ct = r.headers.Get("Content-Type");
      if (ct && *ct == "message/ohttp-req") return Sealed(r.body);
      if (ct && *ct == "message/ohttp-chunked-req") return Chunked(r.body);
      return http::Response::Text(415, "media type\n");
    }
    return http::Response::Text(404, "unknown\n");
  }

 private:
  TestEnclave() = default;

  absl::Status Listen() {
    ASSIGN_OR_RETURN(enclave::VsockListener l, transport_->Listen(options_.port));
    listener_ = std::make_unique<enclave::VsockListener>(std::move(l));
    enclave::VsockListener* raw = listener_.get();
    http::ServerOptions so;
    so.handler_threads = 8;
    ASSIGN_OR_RETURN(server_,
                     http::Server::StartWithAcceptor(
                         [raw](absl::Duration t) -> absl::StatusOr<http::AcceptedConnection> {
                           ASSIGN_OR_RETURN(enclave::VsockStream s, raw->Accept(t));
                           return http::AcceptedConnection{::fcntl(s.fd(), F_DUPFD_CLOEXEC, 0),
                                                           s.peer().ToString()};
                         },
                         so, [this](const http::Request& r) { return Handle(r); }));
    return absl::OkStatus();
  }

  static http::Response KeyProblem() {
    http::Response out;
    out.status = 400;
    out.headers.Add("Content-Type", "application/problem+json");
    out.body =
        "{\"type\":\"https://iana.org/assignments/http-problem-types#ohttp-key\","
        "\"title\":\"key identifier unknown\"}";
    return out;
  }

  http::Response Sealed(const std::string& body) {
    auto req = ohttp_->DecapsulateRequest(AsBytes(body));
    if (!req.ok()) {
      return absl::IsInvalidArgument(req.status()) ? KeyProblem() : http::Response::Text(400, "");
    }
    Bytes answer = ToBytes("echo:");
    Append(answer, req->request);
    auto sealed = req->context.EncapsulateResponse(answer);
    if (!sealed.ok()) return http::Response::Text(500, "");
    http::Response out;
    out.headers.Add("Content-Type", "message/ohttp-res");
    out.body = std::string(AsStringView(*sealed));
    return out;
  }

  http::Response Chunked(const std::string& body) {
    auto receiver = std::make_shared<ohttp::ChunkedRequestReceiver>(*ohttp_);
    auto fed = receiver->Feed(AsBytes(body));
    if (!fed.ok()) return KeyProblem();
    auto last = receiver->Finish();
    if (!last.ok()) return http::Response::Text(400, "");
    auto sender = receiver->ResponseSender();
    if (!sender.ok()) return http::Response::Text(500, "");
    auto shared = std::make_shared<ohttp::ChunkedResponseSender>(std::move(*sender));
    http::Response out;
    out.headers.Add("Content-Type", "message/ohttp-chunked-res");
    const int n = options_.chunks;
    auto gate = options_.gate;
    out.stream = [shared, n, gate](http::BodyWriter& w) {
      if (!w.Write(AsStringView(shared->nonce_prefix()))) return;
      for (int i = 0; i < n; ++i) {
        if (gate) gate(i);
        auto c = shared->SealChunk(ToBytes(absl::StrCat("chunk-", i)), i == n - 1);
        if (!c.ok() || !w.Write(AsStringView(*c))) return;
      }
    };
    return out;
  }

  Options options_;
  std::unique_ptr<enclave::VsockTransport> transport_;
  std::unique_ptr<ohttp::Gateway> ohttp_;
  attest::PcrMap pcrs_;
  std::unique_ptr<attest::EmulatedNsm> nsm_;
  std::unique_ptr<enclave::VsockListener> listener_;
  std::unique_ptr<http::Server> server_;
  std::atomic<int> requests_{0};
};

}  // namespace confide::gateway::testing

#endif  // CONFIDE_GATEWAY_INTERNAL_TEST_ENCLAVE_H_
