// confide::enclave boot: the minimal runtime `confide-enclave` runs inside an enclave, and the
// parent-side client for it.
//
// At boot the runtime asks its secure module for one attestation document (proving the module
// answers), then serves HTTP/1.1 on vsock port kBootPort of its own CID, one request per
// connection (the response carries "Connection: close"):
//   GET /health                      -> 200 application/json {"status":"ok"}
//   GET /attestation?nonce=<hex>     -> 200 application/cbor: a fresh COSE_Sign1 document from
//                                       the secure module whose `nonce` is the given bytes
//                                       (1..kMaxNonceBytes bytes)
// Anything else gets 400 (malformed), 404 (unknown path) or 405 (not GET). A request's head is
// capped at kMaxRequestHeadBytes, requests carry no body; a response body is capped at
// kMaxResponseBodyBytes on the client side. Nothing of a request is logged.
// The application layer (src/app) will later extend this with its own endpoints.
#ifndef CONFIDE_ENCLAVE_BOOT_H_
#define CONFIDE_ENCLAVE_BOOT_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "attest/nsm_client.h"
#include "base/bytes.h"
#include "base/status.h"
#include "enclave/vsock.h"

namespace confide::enclave {

// kBootPort is the vsock port the runtime's health/attestation endpoint listens on.
inline constexpr uint32_t kBootPort = 5000;
// kNsmFdEnv names the environment variable carrying the inherited NSM descriptor number.
inline constexpr char kNsmFdEnv[] = "CONFIDE_NSM_FD";
// kMaxNonceBytes caps the client nonce (the NSM accepts up to 1024; we take less).
inline constexpr size_t kMaxNonceBytes = 512;
inline constexpr size_t kMaxRequestHeadBytes = 8192;
inline constexpr size_t kMaxResponseBodyBytes = 0x3000 + 1024;

// BootResponse is one HTTP response of the boot endpoint.
struct BootResponse {
  int status = 200;
  std::string content_type;
  Bytes body;
};

// HandleBootRequest answers one raw request head (request line + headers, without the final
// CRLF CRLF) using `nsm`. It never fails: errors become 4xx/5xx responses whose bodies name
// what failed (never the request's content).
BootResponse HandleBootRequest(std::string_view head, attest::NsmClient& nsm);

// EncodeBootResponse returns the HTTP/1.1 bytes of `r` (Content-Length, Connection: close).
Bytes EncodeBootResponse(const BootResponse& r);

// BootOptions configure RunBoot.
struct BootOptions {
  uint32_t port = kBootPort;
  absl::Duration io_timeout = absl::Seconds(5);  // per connection, to read and to write
};

// RunBoot obtains a first attestation document (FailedPrecondition naming the NSM failure if
// that fails), listens on `options.port` (errors as VsockTransport::Listen) and serves until
// `stop` becomes true (checked at least every 200 ms; nullptr = forever). `on_ready` is called
// once the listener is up.
absl::Status RunBoot(VsockTransport& transport, attest::NsmClient& nsm, const BootOptions& options,
                     const std::atomic<bool>* stop, const std::function<void()>& on_ready);

// ProbeEnclaveHealth connects to `enclave`, GETs /health and returns the HTTP status (200 ready;
// the application answers 503 while it loads its model). Errors as CheckEnclaveHealth.
absl::StatusOr<int> ProbeEnclaveHealth(VsockTransport& transport, const VsockAddress& enclave,
                                       absl::Duration timeout);

// CheckEnclaveHealth connects to `enclave` and GETs /health. OK on 200; Unavailable /
// DeadlineExceeded from the transport; Internal on another status or a malformed response.
absl::Status CheckEnclaveHealth(VsockTransport& transport, const VsockAddress& enclave,
                                absl::Duration timeout);

// FetchAttestation GETs /attestation?nonce=hex(nonce) from `enclave` and returns the document
// bytes (unverified: verify them with attest::Verifier). InvalidArgument for an empty or
// oversized nonce; errors as CheckEnclaveHealth otherwise.
absl::StatusOr<Bytes> FetchAttestation(VsockTransport& transport, const VsockAddress& enclave,
                                       ByteSpan nonce, absl::Duration timeout);

}  // namespace confide::enclave

#endif  // CONFIDE_ENCLAVE_BOOT_H_
