#include "gateway/upstream.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace confide::gateway {

http::ConnectFn VsockConnectFn(enclave::VsockTransport& transport,
                               const enclave::VsockAddress& enclave, OnConnected on_connected,
                               absl::Duration connect_timeout) {
  return [&transport, enclave, on_connected = std::move(on_connected),
          connect_timeout](absl::Duration timeout) -> absl::StatusOr<int> {
    ASSIGN_OR_RETURN(enclave::VsockStream stream,
                     transport.Connect(enclave, std::min(timeout, connect_timeout)));
    // The client takes ownership of a descriptor; the VsockStream closes its own on return.
    const int fd = ::fcntl(stream.fd(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return absl::UnavailableError("cannot duplicate the vsock descriptor");
    if (on_connected) {
      const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (copy < 0) {
        ::close(fd);
        return absl::UnavailableError("cannot duplicate the vsock descriptor");
      }
      on_connected(copy);
    }
    return fd;
  };
}

absl::StatusOr<http::Response> GetFromEnclave(enclave::VsockTransport& transport,
                                              const enclave::VsockAddress& enclave,
                                              const std::string& target, absl::Duration timeout) {
  http::ClientOptions options;
  options.timeout = timeout;
  http::Client client(VsockConnectFn(transport, enclave), options);
  http::Request req;
  req.method = "GET";
  req.target = target;
  return client.Send(req);
}

absl::StatusOr<Bytes> ProbeEnclave(enclave::VsockTransport& transport,
                                   const enclave::VsockAddress& enclave, absl::Duration timeout) {
  http::ClientOptions options;
  options.timeout = timeout;
  http::Client client(VsockConnectFn(transport, enclave), options);
  http::Request req;
  req.method = "GET";
  req.target = "/health";
  ASSIGN_OR_RETURN(http::Response health, client.Send(req));
  if (health.status != 200) {
    return absl::FailedPreconditionError(absl::StrCat("GET /health: status ", health.status));
  }
  req.target = "/ohttp-keys";
  ASSIGN_OR_RETURN(http::Response keys, client.Send(req));
  if (keys.status != 200) {
    return absl::FailedPreconditionError(absl::StrCat("GET /ohttp-keys: status ", keys.status));
  }
  if (keys.body.size() > kMaxOhttpKeysBytes) {
    return absl::FailedPreconditionError("GET /ohttp-keys: key list too large");
  }
  return ToBytes(keys.body);
}

Prober NewVsockProber(enclave::VsockTransport& transport, absl::Duration timeout) {
  return [&transport, timeout](const enclave::VsockAddress& enclave) {
    return ProbeEnclave(transport, enclave, timeout);
  };
}

}  // namespace confide::gateway
