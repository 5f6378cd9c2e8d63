#include "app/enclave_app.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/ct.h"
#include "base/encoding.h"
#include "base/log.h"
#include "crypto/sha.h"
#include "llm/model.h"
#include "nlohmann/json.hpp"
#include "ohttp/ohttp.h"

namespace confide::app {
namespace {

using Json = nlohmann::json;

// kOhttpAlgorithms are the AEADs sealed-path.md §1 names, all with HKDF-SHA256.
const std::vector<ohttp::SymmetricAlgorithm> kOhttpAlgorithms = {
    {0x0001, 0x0001}, {0x0001, 0x0002}, {0x0001, 0x0003}};

http::Response JsonResponse(int status, const Json& j) {
  return http::Response::Json(status, j.dump(-1, ' ', false, Json::error_handler_t::replace));
}

http::Response PlainError(int status, std::string_view message) {
  return JsonResponse(status, Json{{"error", std::string(message)}});
}

// ModelAndService keeps the decrypted weights alive as long as the service that borrows them
// (members are destroyed in reverse order: the service first).
struct ModelAndService {
  // (A constructor rather than parenthesised aggregate initialisation, which clang 14 lacks.)
  ModelAndService(LockedBuffer b, std::unique_ptr<ApiService> a)
      : bytes(std::move(b)), api(std::move(a)) {}
  LockedBuffer bytes;
  std::unique_ptr<ApiService> api;
};

}  // namespace

EnclaveApp::EnclaveApp(EnclaveAppOptions options, attest::NsmClient* nsm, crypto::RsaPrivateKey rsa,
                       uint8_t key_id)
    : options_(std::move(options)),
      nsm_(nsm),
      rsa_(std::move(rsa)),
      rsa_spki_(rsa_.PublicKey().SpkiDer()),
      key_id_(key_id) {}

absl::StatusOr<std::unique_ptr<EnclaveApp>> EnclaveApp::Create(EnclaveAppOptions options,
                                                               attest::NsmClient* nsm) {
  if (nsm == nullptr) return absl::InvalidArgumentError("enclave app: no secure module");
  if (options.model_sha256.size() != 32) {
    return absl::InvalidArgumentError("enclave app: model_sha256 must be 32 bytes");
  }
  ASSIGN_OR_RETURN(crypto::RsaPrivateKey rsa, crypto::RsaPrivateKey::Generate(2048));
  //= sealed-path.md §1: the enclave's OHTTP key id is local_cid & 0xff
  const auto key_id = static_cast<uint8_t>(options.local_cid & 0xff);
  ASSIGN_OR_RETURN(ohttp::GatewayKey key,
                   ohttp::GatewayKey::Generate(key_id, 0x0020, kOhttpAlgorithms));
  std::vector<ohttp::GatewayKey> keys;
  keys.push_back(std::move(key));
  ASSIGN_OR_RETURN(ohttp::Gateway gateway, ohttp::Gateway::Create(std::move(keys)));
  std::unique_ptr<EnclaveApp> app(new EnclaveApp(std::move(options), nsm, std::move(rsa), key_id));
  EnclaveApp* self = app.get();
  app->sealed_ = std::make_unique<SealedApi>(
      std::move(gateway), [self](const http::Request& r) { return self->HandleInner(r); });
  return app;
}

absl::StatusOr<Bytes> EnclaveApp::Attest(std::optional<Bytes> nonce) {
  std::lock_guard<std::mutex> lock(nsm_mu_);
  return nsm_->Attestation(crypto::Sha256(sealed_->key_configs()), std::move(nonce), rsa_spki_);
}

absl::Status EnclaveApp::InstallModel(LockedBuffer plaintext) {
  const Bytes digest = crypto::Sha256(plaintext.bytes());
  if (!ConstantTimeEquals(digest, options_.model_sha256)) {
    SetFailed("model digest mismatch");
    return absl::FailedPreconditionError(
        "model digest mismatch: the decrypted model is not the one the image pins");
  }
  auto loaded = std::make_shared<ModelAndService>(std::move(plaintext), nullptr);
  llm::ModelOptions mo;
  mo.max_context = options_.config.model.context;
  mo.num_threads = options_.config.model.threads;
  auto model = llm::Model::FromBuffer(loaded->bytes.bytes(), mo);
  if (!model.ok()) {
    SetFailed("the model does not load");
    return model.status();
  }
  ApiOptions ao;
  ao.model_name = options_.config.model.name;
  ao.max_tokens = options_.config.model.max_tokens;
  ao.chat_template = options_.config.model.chat_template;
  auto api = ApiService::Create(std::move(*model), options_.guardrail, ao);
  if (!api.ok()) {
    SetFailed("the model's tokenizer or chat template is unusable");
    return api.status();
  }
  loaded->api = std::move(*api);
  log::Info("app.model_ready", {{"bytes", loaded->bytes.size()},
                                {"locked", loaded->bytes.locked()},
                                {"model", log::SafeText::Identifier(options_.config.model.name)}});
  std::lock_guard<std::mutex> lock(mu_);
  api_ = std::shared_ptr<ApiService>(loaded, loaded->api.get());
  state_ = State::kReady;
  failure_.clear();
  return absl::OkStatus();
}

void EnclaveApp::SetFailed(std::string reason) {
  log::Error("app.load_failed", {{"reason", log::SafeText::Identifier("see-health")}});
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ == State::kReady) return;  // a serving model stays
  state_ = State::kFailed;
  failure_ = std::move(reason);
}

void EnclaveApp::set_kms_chat(KmsChatFn fn) {
  std::lock_guard<std::mutex> lock(mu_);
  kms_chat_ = std::move(fn);
}

void EnclaveApp::set_inner_route(InnerRouteFn fn) {
  std::lock_guard<std::mutex> lock(mu_);
  inner_route_ = std::move(fn);
}

EnclaveApp::State EnclaveApp::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

std::shared_ptr<ApiService> EnclaveApp::api() const {
  std::lock_guard<std::mutex> lock(mu_);
  return api_;
}

ApiReply EnclaveApp::Handle(const http::Request& request) {
  std::string_view path = request.target, query;
  if (size_t q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  const bool get = request.method == "GET";
  if (path == "/health") {
    if (!get) return {PlainError(405, "use GET"), nullptr};
    std::lock_guard<std::mutex> lock(mu_);
    switch (state_) {
      case State::kReady:
        return {JsonResponse(200, Json{{"status", "ok"}, {"model", options_.config.model.name}}),
                nullptr};
      case State::kLoading:
        return {JsonResponse(503, Json{{"status", "loading"}}), nullptr};
      case State::kFailed:
        return {JsonResponse(503, Json{{"status", "failed"}, {"error", failure_}}), nullptr};
    }
  }
  if (path == "/attestation") {
    if (!get) return {PlainError(405, "use GET"), nullptr};
    constexpr std::string_view kNonce = "nonce=";
    if (!query.starts_with(kNonce)) {
      return {PlainError(400, "nonce is required: /attestation?nonce=<hex>"), nullptr};
    }
    auto nonce = base::HexDecode(query.substr(kNonce.size()));
    if (!nonce.ok() || nonce->empty() || nonce->size() > kMaxAttestationNonceBytes) {
      return {PlainError(400, absl::StrCat("nonce must be 1..", kMaxAttestationNonceBytes,
                                           " bytes of hex")),
              nullptr};
    }
    auto doc = Attest(std::move(*nonce));
    if (!doc.ok()) return {PlainError(502, "the secure module did not attest"), nullptr};
    http::Response r;
    r.headers.Set("Content-Type", "application/cbor");
    r.body.assign(doc->begin(), doc->end());
    return {std::move(r), nullptr};
  }
  if (path == "/ohttp-keys") {
    if (!get) return {PlainError(405, "use GET"), nullptr};
    http::Response r;
    r.headers.Set("Content-Type", "application/ohttp-keys");
    r.body.assign(ohttp_key_configs().begin(), ohttp_key_configs().end());
    return {std::move(r), nullptr};
  }
  if (path == "/ohttp") return sealed_->HandleOhttp(request);
  if (path == "/compat/kms-chat") {
    if (request.method != "POST") return {PlainError(405, "use POST"), nullptr};
    KmsChatFn fn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn = kms_chat_;
    }
    if (!fn) return {PlainError(501, "KMS chat is not available in this build"), nullptr};
    return {fn(request), nullptr};
  }
  return {PlainError(404, "unknown path"), nullptr};
}

ApiReply EnclaveApp::HandleInner(const http::Request& inner) {
  std::shared_ptr<ApiService> api;
  InnerRouteFn route;
  State state;
  {
    std::lock_guard<std::mutex> lock(mu_);
    api = api_;
    route = inner_route_;
    state = state_;
  }
  if (route) {
    if (std::optional<ApiReply> r = route(inner)) return *std::move(r);
  }
  if (api == nullptr) {
    const bool failed = state == State::kFailed;
    return {OpenAiError(503, "server_error",
                        failed ? "the model failed to load" : "the model is still loading", "",
                        failed ? "model_failed" : "model_loading"),
            nullptr};
  }
  ApiReply reply = api->Handle(inner);
  if (reply.stream) {
    // The producer refers to the service: keep it (and the model bytes) alive with it.
    reply.stream = [api, producer = std::move(reply.stream)](const StreamWriter& write) {
      producer(write);
    };
  }
  return reply;
}

}  // namespace confide::app
