// confide::client::testing TestPeer: an in-process stand-in for gateway + enclave, for the
// client's tests only. It is built from the real pieces (ohttp::Gateway, chunked OHTTP, an
// EmulatedNsm signing real documents) and a canned inner API, and it can misbehave on demand
// (swapped key configuration, wrong nonce, replayed or truncated responses, rotated key) so
// that tests can check the client refuses each.
//
// Header-only and never linked into the library: include it from *_test.cc files only.
#ifndef CONFIDE_CLIENT_INTERNAL_TEST_PEER_H_
#define CONFIDE_CLIENT_INTERNAL_TEST_PEER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attest/emulated_nsm.h"
#include "attest/pcr.h"
#include "base/encoding.h"
#include "client/sealed_session.h"
#include "crypto/sha.h"
#include "nlohmann/json.hpp"
#include "ohttp/bhttp.h"
#include "ohttp/bhttp_stream.h"
#include "ohttp/chunked.h"
#include "ohttp/ohttp.h"

namespace confide::client::testing {

// TestPeer answers GET /v1/attestation and POST /v1/ohttp (both media types) as sealed-path.md
// §1-2 describe. Thread-safe.
class TestPeer : public Transport {
 public:
  TestPeer() {
    ca_ = std::make_shared<attest::SimulationCa>(*attest::SimulationCa::Create(absl::Now()));
    for (uint32_t i = 0; i < 16; ++i) pcrs_[i] = attest::ZeroPcr();
    pcrs_[0] = attest::MeasureBytes(AsBytes("test image"));
    pcrs_[1] = attest::MeasureBytes(AsBytes("test runtime"));
    pcrs_[2] = attest::MeasureBytes(AsBytes("test app"));
    pcrs_[8] = attest::MeasureBytes(AsBytes("test signer"));
    nsm_ = std::make_unique<attest::EmulatedNsm>(ca_, "i-0test-enc0001", pcrs_);
    RotateKey(/*key_id=*/17);
  }

  // --- what a client needs to trust this peer -----------------------------------------------
  std::string RootPem() const { return ca_->RootPem(); }
  const attest::PcrMap& pcrs() const { return pcrs_; }
  // Policy returns a trust policy pinning this peer's root and PCR0/1/2/8.
  TrustPolicy Policy() const {
    TrustPolicy p;
    p.roots.push_back(ToBytes(RootPem()));
    p.allow_simulation_root = true;
    for (uint32_t i : {0u, 1u, 2u, 8u}) p.pcrs[i] = pcrs_.at(i);
    return p;
  }

  // --- faults ----------------------------------------------------------------------------------
  std::atomic<bool> swap_key_config{false};    // attestation answer carries another key config
  std::atomic<bool> wrong_nonce{false};        // the document echoes another nonce
  std::atomic<bool> replay_response{false};    // serve the previous sealed response again
  std::atomic<bool> truncate_stream{false};    // drop the final chunk of a chunked response
  std::atomic<int> truncate_after_pieces{-1};  // >= 0: also stop after this many content chunks
  std::atomic<int64_t> document_skew_s{0};     // documents are timestamped now + skew
  // clock is the peer's time (set it before use; tests share an injected clock with the client).
  std::function<absl::Time()> clock = [] { return absl::Now(); };

  // RotateKey replaces the enclave's OHTTP key with a fresh one under `key_id`.
  void RotateKey(uint8_t key_id) {
    auto key = ohttp::GatewayKey::Generate(key_id, 0x0020, {{0x0001, 0x0001}, {0x0001, 0x0002}});
    std::vector<ohttp::GatewayKey> keys;
    keys.push_back(*std::move(key));
    auto g = std::make_shared<ohttp::Gateway>(*ohttp::Gateway::Create(std::move(keys)));
    std::lock_guard<std::mutex> lock(mu_);
    gateway_ = std::move(g);
    key_id_ = key_id;
  }

  // --- the inner API -----------------------------------------------------------------------
  // stream_pieces is how many content chunks a streamed answer has before [DONE].
  std::atomic<int> stream_pieces{3};
  // before_piece runs before streamed content chunk i is sealed and sent (tests use it to see
  // that chunk i-1 reached the caller first).
  std::function<void(int)> before_piece;
  std::atomic<int> attestations{0};
  std::atomic<int> sealed_requests{0};
  // last_authorization is the Authorization header of the last inner request.
  std::string last_authorization() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_authorization_;
  }

  // Inner answers an inner request: /v1/models, /v1/chat/completions (JSON or, with
  // "stream": true, SSE chunks whose deltas are "tok0 ", "tok1 ", ...), else 404.
  ohttp::BhttpResponse Inner(const ohttp::BhttpRequest& req, bool* stream) {
    *stream = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_authorization_ = std::string(req.Header("authorization").value_or(""));
    }
    ohttp::BhttpResponse r;
    r.headers = {{"content-type", "application/json"}};
    if (req.path == "/v1/models") {
      r.content = ToBytes(std::string(R"({"object":"list","data":[{"id":"test-model"}]})"));
      return r;
    }
    if (req.path != "/v1/chat/completions" || req.method != "POST") {
      r.status = 404;
      r.content = ToBytes(std::string(R"({"error":{"message":"not found"}})"));
      return r;
    }
    auto j = nlohmann::json::parse(AsStringView(req.content), nullptr, false);
    if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array()) {
      r.status = 422;
      r.content = ToBytes(std::string(R"({"error":{"message":"messages is required"}})"));
      return r;
    }
    *stream = j.value("stream", false);
    std::string last;
    for (const auto& m : j["messages"]) last = m.value("content", "");
    nlohmann::json out = {
        {"id", "chatcmpl-1"},
        {"object", "chat.completion"},
        {"created", 0},
        {"model", j.value("model", "test-model")},
        {"choices",
         {{{"index", 0},
           {"message",
            {{"role", "assistant"},
             {"content", absl::StrCat("echo(", j["messages"].size(), "): ", last)}}},
           {"finish_reason", "stop"}}}},
        {"usage", {{"prompt_tokens", 1}, {"completion_tokens", 1}, {"total_tokens", 2}}}};
    r.content = ToBytes(out.dump());
    if (*stream) r.headers = {{"content-type", "text/event-stream"}};
    return r;
  }

  static std::string StreamChunk(int i) {
    nlohmann::json c = {{"id", "chatcmpl-1"},
                        {"object", "chat.completion.chunk"},
                        {"created", 0},
                        {"model", "test-model"},
                        {"choices",
                         {{{"index", 0},
                           {"delta", {{"content", absl::StrCat("tok", i, " ")}}},
                           {"finish_reason", nullptr}}}}};
    return absl::StrCat("data: ", c.dump(), "\n\n");
  }

  // --- Transport ---------------------------------------------------------------------------
  absl::StatusOr<http::Response> Send(const http::Request& request) override {
    http::Response out;
    absl::Status s = Serve(
        request,
        [&](const http::Response& head) {
          out = head;
          return true;
        },
        [&](std::string_view piece) {
          out.body.append(piece);
          return true;
        });
    if (!s.ok()) return s;
    return out;
  }

  absl::Status SendStreaming(const http::Request& request, const HeadCallback& on_head,
                             const BodyCallback& on_body) override {
    return Serve(request, on_head, on_body);
  }

  // Serve answers one outer request through the callbacks; Cancelled when one returns false.
  absl::Status Serve(const http::Request& request, const HeadCallback& on_head,
                     const BodyCallback& on_body) {
    auto simple = [&](int status, std::string type, std::string body) -> absl::Status {
      http::Response head;
      head.status = status;
      head.headers.Add("Content-Type", std::move(type));
      if (!on_head(head)) return absl::CancelledError("head");
      if (!body.empty() && !on_body(body)) return absl::CancelledError("body");
      return absl::OkStatus();
    };
    if (request.method == "GET" && absl::StartsWith(request.target, "/v1/attestation?nonce=")) {
      return simple(200, "application/json", Attestation(request.target.substr(22)));
    }
    if (request.method != "POST" || request.target != "/v1/ohttp") {
      return simple(404, "text/plain", "not found");
    }
    std::shared_ptr<ohttp::Gateway> gateway;
    {
      std::lock_guard<std::mutex> lock(mu_);
      gateway = gateway_;
    }
    const std::string type(request.headers.Get("content-type").value_or(""));
    const Bytes body = ToBytes(request.body);
    // An unknown key id gets the ohttp-key problem (sealed-path.md §1).
    if (body.empty() || body[0] != gateway->Configs()[0].key_id) {
      return simple(400, "application/problem+json",
                    R"({"type":"https://iana.org/assignments/http-problem-types#ohttp-key",)"
                    R"("title":"key identifier unknown"})");
    }
    ++sealed_requests;
    if (type == "message/ohttp-req") {
      auto d = gateway->DecapsulateRequest(body);
      if (!d.ok()) return simple(400, "text/plain", "");
      auto req = ohttp::DecodeRequest(d->request);
      if (!req.ok()) return simple(400, "text/plain", "");
      bool stream = false;
      ohttp::BhttpResponse resp = Inner(*req, &stream);
      if (stream) resp.content = ToBytes(StreamChunk(0) + "data: [DONE]\n\n");
      Bytes sealed = *d->context.EncapsulateResponse(*ohttp::EncodeResponse(resp));
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (replay_response && !last_sealed_.empty()) {
          sealed = last_sealed_;  // an old sealed response, to a previous request
        } else {
          last_sealed_ = sealed;
        }
      }
      return simple(200, "message/ohttp-res", std::string(AsStringView(sealed)));
    }
    if (type != "message/ohttp-chunked-req") return simple(415, "text/plain", "");
    ohttp::ChunkedRequestReceiver receiver(*gateway);
    auto early = receiver.Feed(body);
    auto final_chunk = early.ok() ? receiver.Finish() : absl::StatusOr<Bytes>(early.status());
    if (!final_chunk.ok()) return simple(400, "text/plain", "");
    Bytes plain;
    for (const Bytes& b : *early) Append(plain, b);
    Append(plain, *final_chunk);
    auto req = ohttp::DecodeRequest(plain);
    if (!req.ok()) return simple(400, "text/plain", "");
    auto sender = receiver.ResponseSender();
    bool stream = false;
    ohttp::BhttpResponse resp = Inner(*req, &stream);

    http::Response head;
    head.headers.Add("Content-Type", "message/ohttp-chunked-res");
    if (!on_head(head)) return absl::CancelledError("head");
    auto emit = [&](ByteSpan plaintext, bool final) -> absl::Status {
      if (final && truncate_stream) return absl::OkStatus();
      auto sealed = sender->SealChunk(plaintext, final);
      if (!sealed.ok()) return sealed.status();
      if (!on_body(AsStringView(*sealed))) return absl::CancelledError("body");
      return absl::OkStatus();
    };
    if (!on_body(AsStringView(sender->nonce_prefix()))) return absl::CancelledError("body");
    RETURN_IF_ERROR(
        emit(*ohttp::EncodeIndeterminateResponseHead(resp.status, resp.headers), false));
    if (stream) {
      for (int i = 0; i < stream_pieces; ++i) {
        if (truncate_after_pieces >= 0 && i >= truncate_after_pieces) return absl::OkStatus();
        if (before_piece) before_piece(i);
        RETURN_IF_ERROR(
            emit(ohttp::EncodeIndeterminateContentChunk(AsBytes(StreamChunk(i))), false));
      }
      RETURN_IF_ERROR(emit(
          ohttp::EncodeIndeterminateContentChunk(AsBytes(std::string_view("data: [DONE]\n\n"))),
          false));
    } else if (!resp.content.empty()) {
      RETURN_IF_ERROR(emit(ohttp::EncodeIndeterminateContentChunk(resp.content), false));
    }
    return emit(*ohttp::EncodeIndeterminateResponseEnd(), true);
  }

 private:
  std::string Attestation(const std::string& nonce_hex) {
    ++attestations;
    auto nonce = base::HexDecode(nonce_hex);
    if (!nonce.ok()) return "{}";
    std::shared_ptr<ohttp::Gateway> gateway;
    uint8_t key_id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      gateway = gateway_;
      key_id = key_id_;
    }
    Bytes keys = gateway->EncodedKeyConfigs();
    Bytes bound = keys;
    if (swap_key_config) {
      // The document binds the enclave's keys, but the answer carries another configuration
      // (a gateway substituting its own key).
      auto other = ohttp::GatewayKey::Generate(key_id, 0x0020, {{0x0001, 0x0001}});
      keys = *ohttp::EncodeKeyConfigList(std::vector<ohttp::KeyConfig>{other->config()});
    }
    if (wrong_nonce) nonce = Bytes(32, 0xee);
    auto doc = nsm_->Attest(crypto::Sha256(bound), *nonce, std::nullopt,
                            clock() + absl::Seconds(document_skew_s.load()));
    nlohmann::json j = {{"attestation_document", base::Base64Encode(*doc)},
                        {"ohttp_keys", base::Base64Encode(keys)},
                        {"enclave", "16"},
                        {"key_id", key_id}};
    return j.dump();
  }

  std::shared_ptr<attest::SimulationCa> ca_;
  attest::PcrMap pcrs_;
  std::unique_ptr<attest::EmulatedNsm> nsm_;
  mutable std::mutex mu_;
  std::shared_ptr<ohttp::Gateway> gateway_;
  uint8_t key_id_ = 0;
  Bytes last_sealed_;
  std::string last_authorization_;
};

}  // namespace confide::client::testing

#endif  // CONFIDE_CLIENT_INTERNAL_TEST_PEER_H_
