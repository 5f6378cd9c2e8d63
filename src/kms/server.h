// confide::kms server: the AWS KMS JSON 1.1 protocol over src/http.
//
// Every request is POST / with X-Amz-Target: TrentService.<Operation> and an
// application/x-amz-json-1.1 body; blobs are base64, timestamps epoch seconds, errors
// {"__type", "message"} with AWS's codes, and every response carries x-amzn-RequestId.
// Each request is authenticated with SigV4 (host, x-amz-date and x-amz-target must be signed),
// authorized against the key's policy (default deny; a Recipient's verified PCRs become
// kms:RecipientAttestation:* condition keys), and recorded in the audit log whether allowed or
// denied; a request whose audit record cannot be written fails with KMSInternalException.
#ifndef CONFIDE_KMS_SERVER_H_
#define CONFIDE_KMS_SERVER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "attest/verifier.h"
#include "http/http.h"
#include "kms/audit_log.h"
#include "kms/identity.h"
#include "kms/key_store.h"

namespace confide::kms {

// KmsServiceOptions configure a KmsService.
struct KmsServiceOptions {
  std::string region = "us-east-1";
  // verifiers check Recipient attestation documents (the Nitro root and/or a simulation root).
  // Empty: every Recipient is rejected.
  std::vector<attest::Verifier> verifiers;
  // clock returns the current time (SigV4 skew, Recipient freshness, dates). Default: absl::Now.
  std::function<absl::Time()> clock;
};

// KmsService implements the KMS operations over a KeyStore. Thread-safe.
class KmsService {
 public:
  // KmsService uses `store`, `identities` and `audit`, which must outlive it.
  KmsService(KeyStore* store, const IdentityStore* identities, AuditLog* audit,
             KmsServiceOptions options);
  ~KmsService();

  // Handle answers one HTTP request (never fails: errors are AWS error responses).
  http::Response Handle(const http::Request& request);
  // HandleAsync is Handle without waiting: `respond` gets the response once its audit record is
  // durable (on the thread that synced it; at once for a request that failed before auditing).
  void HandleAsync(const http::Request& request, http::Responder respond);

  // HandleAuthenticated answers `operation` (e.g. "Decrypt") with the JSON `body` for `caller`,
  // already authenticated, from `source_ip`: exactly what Handle does once the SigV4 signature
  // has verified (authorization by key policy, the operation, the durable audit record, the
  // AWS-shaped response). For fuzzing and tests; the server reaches it only through Handle.
  http::Response HandleAuthenticated(const std::string& operation, std::string_view body,
                                     const Identity& caller, const std::string& source_ip);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// KmsServerConfig is what `confide kms serve` takes.
struct KmsServerConfig {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 4600;
  std::string data_dir;
  std::string identities_path;
  std::vector<std::string> trust_root_paths;  // PEM/DER roots for Recipient documents
  bool allow_simulation_root = false;
  std::string region = "us-east-1";
  int threads = 2;
  // handler_threads run requests. A request's thread waits until its audit line is durable
  // (group commit: one fdatasync covers every line written meanwhile), so the number of
  // requests that can share one fdatasync is at most this; waiting threads cost no CPU.
  int handler_threads = 64;
  // tls set: serve HTTPS only (http::TlsServerOptions: PEM chain and key; TLS 1.2 minimum).
  std::optional<http::TlsServerOptions> tls;
};

// RunningKmsServer owns everything a serving KMS needs.
class RunningKmsServer {
 public:
  // Start opens DIR/kms.db (the key store), DIR/audit.log (signing checkpoints with
  // DIR/audit-signing-key.pem, a P-384 key created 0600 on first start, whose public key is
  // written to DIR/audit-signing-key.pub.pem), loads the identities
  // and trust roots, and starts listening. The errors of each step, naming it.
  static absl::StatusOr<std::unique_ptr<RunningKmsServer>> Start(const KmsServerConfig& config);
  ~RunningKmsServer();

  // port returns the bound port.
  uint16_t port() const;
  // audit_stats returns the audit log's counters (lines made durable, fdatasync calls).
  AuditLogStats audit_stats() const;
  // Stop stops serving and closes the audit log with a final checkpoint. Idempotent.
  void Stop();

  struct Parts;

 private:
  explicit RunningKmsServer(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace confide::kms

#endif  // CONFIDE_KMS_SERVER_H_
