// confide::gateway: the parent's public front door (sealed-path.md §2).
//
//   GET  /v1/attestation?nonce=<hex>  a fresh document and key list from one healthy enclave
//   GET  /ohttp-keys                  the key list of one healthy enclave (unauthenticated)
//   POST /v1/ohttp                    relayed byte for byte to the enclave holding the key id
//                                     (the request's first byte); message/ohttp-res buffered,
//                                     message/ohttp-chunked-res streamed piece by piece
//   POST /v1/compat/kms-chat          relayed to the enclave's POST /compat/kms-chat (§6)
//   GET  /healthz, GET /metrics
//
// The gateway is untrusted by design (DESIGN.md): it sees ciphertext, sizes and timing and never
// parses inside an OHTTP encapsulation. It logs request metadata only (endpoint, status, sizes,
// duration, enclave CID) — never bodies, headers, client addresses or key ids.
//
// Forwarded requests pass admission control (admission.h): at most max_inflight at once, then a
// bounded FIFO queue, then 429 with Retry-After. Every request has a deadline (`timeout`); a
// stream still running at its deadline is cut (the client detects the truncation: the chunked
// OHTTP final chunk never arrives).
#ifndef CONFIDE_GATEWAY_GATEWAY_H_
#define CONFIDE_GATEWAY_GATEWAY_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/status.h"
#include "enclave/vsock.h"
#include "gateway/admission.h"
#include "gateway/metrics.h"
#include "gateway/pool.h"
#include "gateway/upstream.h"
#include "http/http.h"

namespace confide::gateway {

// Problem type of RFC 9458 §5.2 for a key the gateway cannot route.
inline constexpr char kOhttpKeyProblemType[] =
    "https://iana.org/assignments/http-problem-types#ohttp-key";
inline constexpr size_t kDefaultMaxBodyBytes = 1024 * 1024;
// kMaxBufferedResponseBytes caps a non-streamed response relayed from an enclave.
inline constexpr size_t kMaxBufferedResponseBytes = 16 * 1024 * 1024;

struct GatewayOptions {
  size_t max_body_bytes = kDefaultMaxBodyBytes;  // 413 beyond
  absl::Duration timeout = absl::Seconds(300);   // per request, streams included
  absl::Duration upstream_connect_timeout = absl::Seconds(5);
  AdmissionOptions admission;
  // stream_buffer_bytes bounds what one streamed relay holds between enclave and client; the
  // enclave's socket is not read further until the client has taken it.
  size_t stream_buffer_bytes = 256 * 1024;
};

// Gateway answers the public API. Thread-safe; handlers may block (run it on a server with
// handler threads). `pool`, `transport` and `metrics` must outlive it.
class Gateway {
 public:
  Gateway(EnclavePool& pool, enclave::VsockTransport& transport, GatewayMetrics& metrics,
          GatewayOptions options);
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Handle answers one request; never fails (errors are problem+json responses).
  http::Response Handle(const http::Request& request);

  AdmissionController& admission() { return admission_; }
  const GatewayOptions& options() const { return options_; }

 private:
  http::Response Attestation(const http::Request& request, absl::Time deadline);
  http::Response OhttpKeys();
  http::Response Forward(const http::Request& request, const std::string& endpoint,
                         const std::string& upstream_target, const Target& target,
                         absl::Time deadline, int* out_enclave_cid);
  http::Response Healthz();

  EnclavePool& pool_;
  enclave::VsockTransport& transport_;
  GatewayMetrics& metrics_;
  const GatewayOptions options_;
  ClientPool clients_;
  AdmissionController admission_;
};

// GatewayServerOptions configure a whole gateway process.
struct GatewayServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::optional<http::TlsServerOptions> tls;
  std::vector<enclave::VsockAddress> enclaves;
  absl::Duration health_interval = absl::Seconds(5);
  absl::Duration health_timeout = absl::Seconds(3);
  GatewayOptions gateway;
  int io_threads = 2;
};

// GatewayServer owns the pool (its health thread), the gateway and its HTTP(S) server.
class GatewayServer {
 public:
  // Start checks every enclave once, starts the health thread and binds the listener.
  // InvalidArgument for bad options (see EnclavePool::Create; max_inflight + max_queue above
  // kMaxHandlerThreads - kSpareHandlerThreads); errors of http::Server::Start.
  // It does not wait for enclaves: a gateway with none healthy answers 503 until one is.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(enclave::VsockTransport& transport,
                                                              const GatewayServerOptions& options);
  ~GatewayServer();

  uint16_t port() const;
  EnclavePool& pool() { return *pool_; }
  GatewayMetrics& metrics() { return *metrics_; }
  Gateway& gateway() { return *gateway_; }
  // Stop stops serving and the health thread (idempotent).
  void Stop();

 private:
  GatewayServer() = default;
  std::unique_ptr<GatewayMetrics> metrics_;
  std::unique_ptr<EnclavePool> pool_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<http::Server> server_;
};

// kSpareHandlerThreads stay free for /healthz, /metrics and refusals; kMaxHandlerThreads is
// http::Server's limit, so max_inflight + max_queue may not exceed their difference.
inline constexpr size_t kSpareHandlerThreads = 8;
inline constexpr size_t kMaxHandlerThreads = 1024;

// HandlerThreadsFor returns how many handler threads a server needs for `admission`: every
// admitted and queued request blocks one, and kSpareHandlerThreads stay free.
int HandlerThreadsFor(const AdmissionOptions& admission);

}  // namespace confide::gateway

#endif  // CONFIDE_GATEWAY_GATEWAY_H_
