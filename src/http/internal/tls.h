// Private to confide::http: TLS for the server and the client (Boost.Asio SSL over OpenSSL).
// This header is free of SSL headers; only tls.cc includes them (docs/design/http.md explains
// this exception to "only src/crypto includes OpenSSL").
#ifndef CONFIDE_HTTP_INTERNAL_TLS_H_
#define CONFIDE_HTTP_INTERNAL_TLS_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "base/status.h"
#include "http/http.h"
#include "http/internal/conn.h"

namespace confide::http::internal {

// TlsServerContext is a configured server-side SSL context (opaque here).
class TlsServerContext;

// TlsServerContextDeleter destroys a TlsServerContext where its type is incomplete.
struct TlsServerContextDeleter {
  void operator()(TlsServerContext* context) const;
};
using TlsServerContextPtr = std::unique_ptr<TlsServerContext, TlsServerContextDeleter>;

// NewTlsServerContext loads the certificate chain and key. InvalidArgument when a file cannot
// be read or the key does not match the certificate.
absl::StatusOr<TlsServerContextPtr> NewTlsServerContext(const TlsServerOptions& options);

// NewTlsSession returns a server session that performs the TLS handshake on `socket` first.
std::shared_ptr<SessionBase> NewTlsSession(ServerCore* core, TlsServerContext& context,
                                           std::string remote, Socket socket);

// NewTlsClientConn performs a client handshake on `socket` (on `ioc`), verifying the chain
// against options.ca_file (or the system store) and the name options.server_name (default
// `host`). Unavailable when the handshake or the verification fails; DeadlineExceeded on
// timeout; InvalidArgument when the CA file cannot be loaded.
absl::StatusOr<std::unique_ptr<ClientConnBase>> NewTlsClientConn(
    asio::io_context& ioc, const TlsClientOptions& options, const std::string& host,
    const std::string& host_header, absl::Duration timeout, Socket socket);

}  // namespace confide::http::internal

#endif  // CONFIDE_HTTP_INTERNAL_TLS_H_
