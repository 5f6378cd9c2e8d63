// TLS for confide::http: not built yet (step 2); every entry point says so.
#include "http/internal/tls.h"

namespace confide::http::internal {

class TlsServerContext {};

void TlsServerContextDeleter::operator()(TlsServerContext* context) const { delete context; }

absl::StatusOr<TlsServerContextPtr> NewTlsServerContext(const TlsServerOptions&) {
  return absl::UnimplementedError("HTTP TLS is not available yet");
}

std::shared_ptr<SessionBase> NewTlsSession(ServerCore*, TlsServerContext&, std::string, Socket) {
  return nullptr;
}

absl::StatusOr<std::unique_ptr<ClientConnBase>> NewTlsClientConn(asio::io_context&,
                                                                 const TlsClientOptions&,
                                                                 const std::string&,
                                                                 const std::string&, absl::Duration,
                                                                 Socket) {
  return absl::UnimplementedError("HTTP TLS is not available yet");
}

}  // namespace confide::http::internal
