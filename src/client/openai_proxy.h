// confide::client local OpenAI-compatible proxy: a plain HTTP server on the user's machine that
// forwards every request sealed through a SealedSession, so unmodified OpenAI clients (the
// official SDKs, curl) talk to an attested enclave. Requests with "stream": true are relayed
// as the inner server streams them (SSE pieces as their sealed chunks open).
//
// Failures of the sealed path (attestation, gateway, sealing, truncation) answer 502 with an
// OpenAI-shaped error whose message names the failed step and check:
//   {"error": {"message": "attestation: PCRs: PCR0 does not match ...",
//              "type": "confide_attestation_error", "code": "attestation_failed"}}
// A failure after a streamed answer has started is sent as a final SSE event carrying such an
// error object (no "[DONE]" follows). Inner errors (401, 404, 422, ...) pass through unchanged.
//
// GET /confide/enclave (local, not forwarded) returns the verified enclave as JSON.
#ifndef CONFIDE_CLIENT_OPENAI_PROXY_H_
#define CONFIDE_CLIENT_OPENAI_PROXY_H_

#include <memory>
#include <string>

#include "client/sealed_session.h"
#include "http/http.h"

namespace confide::client {

// ProxyHandler returns the handler of the proxy. The handler blocks while it forwards a request
// (run it with ServerOptions::handler_threads sized for the expected concurrency); a streamed
// request also runs its sealed exchange on a thread of its own.
http::Handler ProxyHandler(std::shared_ptr<SealedSession> session);

// ErrorJson returns the OpenAI-shaped error body for a failed sealed exchange.
std::string ErrorJson(const absl::Status& status);

// EnclaveJson returns a JSON description of `a` (module id, simulation flag, PCR0/1/2/8 hex,
// document time, enclave id, key id, AEAD id).
std::string EnclaveJson(const Attestation& a);

}  // namespace confide::client

#endif  // CONFIDE_CLIENT_OPENAI_PROXY_H_
