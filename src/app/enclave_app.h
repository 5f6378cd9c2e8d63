// confide::app EnclaveApp: the state and the vsock port 5000 API of `confide-enclave serve`
// (sealed-path.md §1). It holds the enclave's keys (RSA-2048 for KMS Recipient, X25519 for
// OHTTP, both generated in the enclave at start and never leaving it), answers health,
// attestation and key requests, opens sealed requests, and serves the model once the runtime
// installed its decrypted weights.
//
//   GET  /health                 200 {"status":"ok","model":name} | 503 {"status":"loading"} |
//                                503 {"status":"failed","error":reason}
//   GET  /attestation?nonce=hex  200 application/cbor (public_key = RSA SPKI DER, user_data =
//                                SHA-256(ohttp-keys), nonce = the 1..512 given bytes)
//   GET  /ohttp-keys             200 application/ohttp-keys
//   POST /ohttp                  SealedApi (inner API: ApiService's /v1/*, /v1/detect)
//   POST /compat/kms-chat        seed flow A (set_kms_chat)
//
// Inside the seal, /v1/* answers 503 (OpenAI error, code "model_loading" / "model_failed")
// until a model is installed. Nothing secret is logged or put in an error message.
#ifndef CONFIDE_APP_ENCLAVE_APP_H_
#define CONFIDE_APP_ENCLAVE_APP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "app/enclave_config.h"
#include "app/locked_buffer.h"
#include "app/openai_api.h"
#include "app/sealed_api.h"
#include "attest/nsm_client.h"
#include "base/status.h"
#include "crypto/rsa.h"
#include "guard/guardrail.h"
#include "http/http.h"

namespace confide::app {

// kMaxAttestationNonceBytes bounds the nonce of GET /attestation.
inline constexpr size_t kMaxAttestationNonceBytes = 512;

// EnclaveAppOptions configure an EnclaveApp.
struct EnclaveAppOptions {
  EnclaveConfig config;
  // model_sha256 pins the plaintext model (32 bytes, from confide.meta).
  Bytes model_sha256;
  // local_cid gives the OHTTP key id (local_cid & 0xff).
  uint32_t local_cid = 0;
  // guardrail, when set, applies to every request of the inner API.
  std::shared_ptr<const guard::Guardrail> guardrail;
};

// EnclaveApp is the application state. Thread-safe.
class EnclaveApp {
 public:
  enum class State { kLoading, kReady, kFailed };

  // Create generates the RSA-2048 and X25519 keys. InvalidArgument when model_sha256 is not 32
  // bytes or nsm is null; Internal when key generation fails.
  static absl::StatusOr<std::unique_ptr<EnclaveApp>> Create(EnclaveAppOptions options,
                                                            attest::NsmClient* nsm);

  // Handle answers one request of the port 5000 API. Never fails (errors are responses). A
  // stream producer keeps what it needs alive.
  ApiReply Handle(const http::Request& request);

  // Attest returns a fresh attestation document binding the RSA key (public_key) and the OHTTP
  // keys (user_data = SHA-256 of the application/ohttp-keys bytes), with `nonce` if given.
  // Errors of the secure module (FailedPrecondition / Unavailable).
  absl::StatusOr<Bytes> Attest(std::optional<Bytes> nonce);

  // InstallModel takes the decrypted GGUF bytes, checks SHA-256 == the pin (FailedPrecondition
  // "model digest mismatch" otherwise), loads the model and starts serving it (state kReady).
  // On failure the state becomes kFailed with a reason naming the step.
  absl::Status InstallModel(LockedBuffer plaintext);

  // SetFailed marks loading as failed; `reason` is shown by /health (no secrets in it).
  void SetFailed(std::string reason);

  // KmsChatFn answers POST /compat/kms-chat (seed flow A); absent: 501.
  using KmsChatFn = std::function<http::Response(const http::Request&)>;
  void set_kms_chat(KmsChatFn fn);
  // InnerRouteFn answers an inner path the app does not know itself (POST /v1/detect); it
  // returns nullopt to fall through to 404.
  using InnerRouteFn = std::function<std::optional<ApiReply>(const http::Request&)>;
  void set_inner_route(InnerRouteFn fn);

  State state() const;
  // api returns the serving ApiService (null until kReady); it stays valid while held.
  std::shared_ptr<ApiService> api() const;
  const crypto::RsaPrivateKey& rsa_key() const { return rsa_; }
  const Bytes& rsa_public_key_der() const { return rsa_spki_; }
  const Bytes& ohttp_key_configs() const { return sealed_->key_configs(); }
  uint8_t key_id() const { return key_id_; }
  const EnclaveConfig& config() const { return options_.config; }

 private:
  EnclaveApp(EnclaveAppOptions options, attest::NsmClient* nsm, crypto::RsaPrivateKey rsa,
             uint8_t key_id);
  ApiReply HandleInner(const http::Request& inner);

  EnclaveAppOptions options_;
  attest::NsmClient* nsm_;
  std::mutex nsm_mu_;  // the secure module serves one request at a time
  crypto::RsaPrivateKey rsa_;
  Bytes rsa_spki_;
  uint8_t key_id_;
  std::unique_ptr<SealedApi> sealed_;

  mutable std::mutex mu_;
  State state_ = State::kLoading;
  std::string failure_;
  std::shared_ptr<ApiService> api_;  // aliasing pointer that also owns the model bytes
  KmsChatFn kms_chat_;
  InnerRouteFn inner_route_;
};

}  // namespace confide::app

#endif  // CONFIDE_APP_ENCLAVE_APP_H_
