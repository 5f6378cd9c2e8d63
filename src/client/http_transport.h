// confide::client transport to a real gateway over HTTP(S) (http::Client).
#ifndef CONFIDE_CLIENT_HTTP_TRANSPORT_H_
#define CONFIDE_CLIENT_HTTP_TRANSPORT_H_

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "client/sealed_session.h"
#include "client/trust_policy.h"
#include "http/http.h"

namespace confide::client {

// HttpTransport returns a Transport to the host and port of `gateway_url` (http or https;
// https uses options.tls, or the system trust store when unset). Connections come from a small
// pool, so concurrent requests do not wait for each other; each is kept alive. The URL's path
// is not applied here (ConnectSession makes it the session's path prefix). InvalidArgument for a
// bad URL.
absl::StatusOr<std::shared_ptr<Transport>> HttpTransport(std::string_view gateway_url,
                                                         http::ClientOptions options);

// ConnectSession returns a session to the gateway at `gateway_url` (the URL's path, if any,
// prefixes /v1/attestation and /v1/ohttp). It does not attest yet: Attest() or the first
// request does. InvalidArgument for a bad URL.
absl::StatusOr<std::unique_ptr<SealedSession>> ConnectSession(
    std::string_view gateway_url, TrustPolicy policy, const http::ClientOptions& http_options,
    SessionOptions options = {});

}  // namespace confide::client

#endif  // CONFIDE_CLIENT_HTTP_TRANSPORT_H_
