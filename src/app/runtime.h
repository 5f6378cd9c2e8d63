// confide::app runtime: `confide-enclave serve`. Reads the measured configuration, creates the
// EnclaveApp (keys), serves the port 5000 API over vsock with http::Server (handler threads, so
// a generation does not block health checks), and provisions the model in the background:
//
//   1. GET (3, provision_port) /v1/credentials  -> the KMS credentials (kept in memory only)
//   2. GET (3, provision_port) /v1/model        -> the sealed model (envelope format)
//   3. KMS Decrypt of the envelope's data key with Recipient = a fresh attestation, through
//      (3, kms.vsock_port) where vsock-proxy forwards to the KMS
//   4. decrypt the model into locked memory, check SHA-256 == model_sha256, load, serve
//
// /health answers 503 "loading" until step 4 is done, 503 "failed" with a reason when a step
// failed (no secrets), then 200.
#ifndef CONFIDE_APP_RUNTIME_H_
#define CONFIDE_APP_RUNTIME_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "app/enclave_app.h"
#include "attest/nsm_client.h"
#include "base/status.h"
#include "enclave/vsock.h"
#include "http/http.h"
#include "kms/client.h"

namespace confide::app {

// kServePort is the vsock port of the enclave API (sealed-path.md §1).
inline constexpr uint32_t kServePort = 5000;
// kMaxSealedModelBytes bounds the sealed model the enclave downloads.
inline constexpr uint64_t kMaxSealedModelBytes = uint64_t{64} << 30;

// ServeOptions configure RunServe.
struct ServeOptions {
  std::string app_dir = "/app";
  uint32_t port = kServePort;
  // provision_timeout bounds how long the enclave keeps retrying to reach the parent's
  // provisioning service before it reports failure.
  absl::Duration provision_timeout = absl::Seconds(120);
};

// LoadServeConfig reads <app_dir>/enclave.json and <app_dir>/confide.meta and the guardrail
// policy the configuration names. Errors name the file; FailedPrecondition when confide.meta
// has no model_sha256 (serving an unpinned model is refused).
absl::StatusOr<EnclaveAppOptions> LoadServeConfig(const std::string& app_dir);

// VsockConnectFn returns an http::ConnectFn dialling `remote` through `transport` (which must
// outlive it).
http::ConnectFn VsockConnectFn(enclave::VsockTransport& transport, enclave::VsockAddress remote);

// ToHttpResponse turns an ApiReply into an http::Response (a stream producer becomes
// Response::stream).
http::Response ToHttpResponse(ApiReply reply);

// SealedModelSink receives the sealed model (envelope format) as it downloads: it parses the
// header, unwraps the data key through KMS with the enclave's Recipient, decrypts segments into
// locked memory as they arrive, and at Finish installs the model in the app.
class SealedModelSink {
 public:
  virtual ~SealedModelSink() = default;
  // Update consumes the next bytes of the sealed file.
  virtual absl::Status Update(ByteSpan data) = 0;
  // Finish checks that the whole file arrived and authenticated, then EnclaveApp::InstallModel.
  virtual absl::Status Finish() = 0;
};

// NewSealedModelSink returns the sink for `app`, calling KMS with `kms` (which must outlive it)
// and decrypting on `threads` threads.
std::unique_ptr<SealedModelSink> NewSealedModelSink(EnclaveApp& app, const kms::KmsClient& kms,
                                                    int threads);

// Provision runs steps 1-4 against the parent and installs the model in `app`; on failure it
// marks `app` failed and returns the error. `stop` ends retries early.
absl::Status Provision(EnclaveApp& app, enclave::VsockTransport& transport,
                       const ServeOptions& options, const std::atomic<bool>* stop);

// RunServe runs `confide-enclave serve` until `stop` becomes true (checked every 200 ms).
// `on_ready` is called once the API listens. Errors: configuration (LoadServeConfig), key
// generation, or the listener.
absl::Status RunServe(enclave::VsockTransport& transport, attest::NsmClient& nsm,
                      const ServeOptions& options, const std::atomic<bool>* stop,
                      const std::function<void()>& on_ready);

}  // namespace confide::app

#endif  // CONFIDE_APP_RUNTIME_H_
