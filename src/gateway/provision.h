// confide::gateway provisioning: what the parent hands an enclave after boot (sealed-path.md
// §3), served on the parent's vsock (CID 3, port 7000 by default):
//
//   GET /v1/credentials  200 application/json {"AccessKeyId","SecretAccessKey","SessionToken"?}
//   GET /v1/model        200 application/octet-stream: the sealed model file, streamed from
//                        disk in pieces (Transfer-Encoding: chunked), never loaded whole
//
// Neither answer is secret from the parent: the model file is sealed under a KMS key whose
// policy requires the enclave's attestation, and the credentials only let the enclave ask. Only
// connections from enclave CIDs (4 and up) are served; anything else is closed unanswered.
// Nothing of the credentials is logged; requests are logged as path, peer CID, status, size.
#ifndef CONFIDE_GATEWAY_PROVISION_H_
#define CONFIDE_GATEWAY_PROVISION_H_

#include <cstdint>
#include <memory>
#include <string>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "enclave/vsock.h"
#include "http/http.h"

namespace confide::gateway {

inline constexpr uint32_t kProvisionPort = 7000;
// kMaxCredentialsFileBytes caps the credentials file.
inline constexpr size_t kMaxCredentialsFileBytes = 64 * 1024;

struct ProvisionOptions {
  uint32_t port = kProvisionPort;
  std::string model_path;        // the sealed model file (envelope format)
  std::string credentials_path;  // JSON as served, plus optional fields it drops
  int handler_threads = 4;
};

// ParseCredentials validates a credentials file (an AWS credential_process-style JSON object)
// and returns the JSON the enclave is served: AccessKeyId and SecretAccessKey (non-empty
// strings, required), SessionToken (optional); Version and Expiration are accepted and dropped.
// InvalidArgument naming the field for anything else (never echoing a value).
absl::StatusOr<SecretBytes> ParseCredentials(ByteSpan file);

// ProvisionServer serves the two endpoints until Stop or destruction.
class ProvisionServer {
 public:
  // Start reads and checks the credentials, checks that the model file opens, and listens on
  // `options.port` of `transport` (which must outlive the server). NotFound / InvalidArgument
  // naming the bad file; listener errors as VsockTransport::Listen.
  static absl::StatusOr<std::unique_ptr<ProvisionServer>> Start(enclave::VsockTransport& transport,
                                                                const ProvisionOptions& options);
  ~ProvisionServer();
  // Stop stops serving (idempotent).
  void Stop();

  // Handle answers one request (exposed for tests).
  http::Response Handle(const http::Request& request);

 private:
  ProvisionServer() = default;
  ProvisionOptions options_;
  SecretBytes credentials_json_;
  std::unique_ptr<enclave::VsockListener> listener_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace confide::gateway

#endif  // CONFIDE_GATEWAY_PROVISION_H_
