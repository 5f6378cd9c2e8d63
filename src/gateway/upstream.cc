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

ClientPool::ClientPool(enclave::VsockTransport& transport, absl::Duration connect_timeout,
                       absl::Duration timeout, size_t max_idle)
    : transport_(transport),
      connect_timeout_(connect_timeout),
      timeout_(timeout),
      max_idle_(max_idle) {}

absl::StatusOr<http::Response> ClientPool::Send(const enclave::VsockAddress& enclave,
                                                const http::Request& request) {
  const std::pair<uint32_t, uint32_t> key(enclave.cid, enclave.port);
  std::unique_ptr<http::Client> client;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = idle_.find(key);
    if (it != idle_.end() && !it->second.empty()) {
      client = std::move(it->second.back());
      it->second.pop_back();
    }
  }
  if (!client) {
    http::ClientOptions co;
    co.timeout = timeout_;
    client = std::make_unique<http::Client>(
        VsockConnectFn(transport_, enclave, nullptr, connect_timeout_), co);
  }
  absl::StatusOr<http::Response> r = client->Send(request);
  if (r.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& list = idle_[key];
    if (list.size() < max_idle_) list.push_back(std::move(client));
  }
  return r;
}

void ClientPool::Drop(const enclave::VsockAddress& enclave) {
  std::vector<std::unique_ptr<http::Client>> dropped;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = idle_.find({enclave.cid, enclave.port});
  if (it != idle_.end()) dropped.swap(it->second);
}

}  // namespace confide::gateway
