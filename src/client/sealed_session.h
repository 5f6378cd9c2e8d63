// confide::client SealedSession: the client side of the sealed path (docs/design/sealed-path.md
// §1-2). It attests the enclave behind a gateway, then sends ordinary HTTP requests (the
// OpenAI-compatible inner API) to it sealed with Oblivious HTTP, so that the gateway and the
// network see only ciphertext.
//
//   Attest:  GET  /v1/attestation?nonce=<32 random bytes, hex>
//            -> {"attestation_document", "ohttp_keys", "enclave", "key_id"}
//            -> VerifyEnclave(trust policy, nonce, now): root, chain, signature, freshness, PCRs,
//               nonce, and user_data == SHA-256(ohttp_keys)
//   Send:    inner request -> Binary HTTP (known length) -> OHTTP (message/ohttp-req)
//            POST /v1/ohttp -> message/ohttp-res -> decapsulate -> Binary HTTP -> response
//   Stream:  inner request -> chunked OHTTP (message/ohttp-chunked-req, one final chunk)
//            -> message/ohttp-chunked-res: each sealed chunk is opened as it arrives and the
//               indeterminate-length Binary HTTP response inside is decoded incrementally
//
// The session re-attests when its document is older than the policy's max document age, and
// once (then retries) when the enclave answers 400 with the problem type "ohttp-key" (its key
// changed). Every failure is a Status whose message starts with the step that failed:
// "attestation: ...", "gateway: ...", "request: ...", "response: ...", "response truncated: ..."
// and never carries request or response content.
#ifndef CONFIDE_CLIENT_SEALED_SESSION_H_
#define CONFIDE_CLIENT_SEALED_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "base/status.h"
#include "client/trust_policy.h"
#include "http/http.h"
#include "ohttp/bhttp.h"
#include "ohttp/ohttp.h"

namespace confide::client {

// HeadCallback receives a response's status and headers (body empty); false aborts.
using HeadCallback = std::function<bool(const http::Response& head)>;
// BodyCallback receives each piece of a response body as it arrives; false aborts.
using BodyCallback = std::function<bool(std::string_view piece)>;

// Transport carries the outer (gateway) requests. Implementations must be thread-safe.
class Transport {
 public:
  virtual ~Transport() = default;
  // Send returns the whole response; Unavailable / DeadlineExceeded when the gateway cannot be
  // reached.
  virtual absl::StatusOr<http::Response> Send(const http::Request& request) = 0;
  // SendStreaming calls on_head once, then on_body per piece; Cancelled when a callback
  // returned false.
  virtual absl::Status SendStreaming(const http::Request& request, const HeadCallback& on_head,
                                     const BodyCallback& on_body) = 0;
};

struct SessionOptions {
  // clock returns the time used to check documents' freshness. Default: absl::Now.
  std::function<absl::Time()> clock;
  // path_prefix is prepended to /v1/attestation and /v1/ohttp (client/http_transport.h sets
  // it from the gateway URL's path).
  std::string path_prefix;
  // limits bound the inner Binary HTTP responses.
  ohttp::BhttpLimits limits;
  // max_outer_body_bytes bounds a non-streamed gateway answer (attestation, sealed response).
  size_t max_outer_body_bytes = 17 * 1024 * 1024;
};

// Attestation is the verified state a session seals to.
struct Attestation {
  AttestedEnclave enclave;
  std::string enclave_id;       // the gateway's name for the enclave (its CID)
  ohttp::KeyConfig key_config;  // the attested configuration with the gateway's key_id
  ohttp::SymmetricAlgorithm algorithm;
  absl::Time document_time;  // the document's timestamp
};

// ChooseAlgorithm returns the strongest suite `config` offers that the client supports:
// HKDF-SHA256 with AES-256-GCM, then ChaCha20-Poly1305, then AES-128-GCM. FailedPrecondition
// when none.
absl::StatusOr<ohttp::SymmetricAlgorithm> ChooseAlgorithm(const ohttp::KeyConfig& config);

// ToBinaryHttp converts an inner request (origin-form target) for sealing: header names are
// lower-cased; Host, Connection, Content-Length, Transfer-Encoding and other hop-by-hop fields
// are dropped. InvalidArgument naming the problem (no content).
absl::StatusOr<ohttp::BhttpRequest> ToBinaryHttp(const http::Request& inner);
// FromBinaryHttp converts a decoded inner response.
http::Response FromBinaryHttp(const ohttp::BhttpResponse& inner);

// SealedSession sends sealed requests to one attested enclave pool. Thread-safe: requests may
// run concurrently; attestation runs once at a time.
class SealedSession {
 public:
  SealedSession(std::shared_ptr<Transport> transport, TrustPolicy policy,
                SessionOptions options = {});

  // Attest fetches and verifies a fresh attestation with a new nonce and makes it current.
  // "attestation: <failed check>" with VerifyEnclave's code, or "gateway: ..." when the
  // gateway cannot be reached or answers an error.
  absl::StatusOr<std::shared_ptr<const Attestation>> Attest();
  // Current returns the current attestation, attesting first when there is none or its
  // document is older than the policy's max document age.
  absl::StatusOr<std::shared_ptr<const Attestation>> Current();

  // Send seals `inner`, sends it and returns the opened inner response (whatever its status:
  // inner errors such as 401 or 422 are ordinary responses).
  absl::StatusOr<http::Response> Send(const http::Request& inner);
  // SendStreaming seals `inner` as a chunked request and streams the inner response: on_head
  // once with its status and headers, then on_body with each piece of its content as it is
  // opened. Returns OK when the sealed stream ended properly; Cancelled when a callback
  // returned false; "response truncated: ..." (DataLoss) when the stream ended early.
  absl::Status SendStreaming(const http::Request& inner, const HeadCallback& on_head,
                             const BodyCallback& on_body);

  const TrustPolicy& policy() const { return policy_; }

 private:
  absl::StatusOr<http::Response> SendOnce(const Attestation& a, const ohttp::BhttpRequest& inner,
                                          bool* key_rejected);
  absl::Status StreamOnce(const Attestation& a, const ohttp::BhttpRequest& inner,
                          const HeadCallback& on_head, const BodyCallback& on_body,
                          bool* key_rejected);
  absl::Time Now() const;
  // AttestLocked attests; attest_mu_ must be held.
  absl::StatusOr<std::shared_ptr<const Attestation>> AttestLocked();
  // Fresh returns the current attestation if it is younger than the max age, else nullptr.
  std::shared_ptr<const Attestation> Fresh() const;

  std::shared_ptr<Transport> transport_;
  const TrustPolicy policy_;
  const SessionOptions options_;
  std::mutex attest_mu_;  // serialises attestations
  mutable std::mutex mu_;
  std::shared_ptr<const Attestation> current_;  // guarded by mu_
};

}  // namespace confide::client

#endif  // CONFIDE_CLIENT_SEALED_SESSION_H_
