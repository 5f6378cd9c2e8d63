#include "proxy/vsock_proxy.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace confide::proxy {
namespace {

// ConnectTcp resolves `host` and connects to the first address that answers within `timeout`.
absl::StatusOr<int> ConnectTcp(const std::string& host, uint16_t port, absl::Duration timeout) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string service = absl::StrCat(port);
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &res) != 0 || res == nullptr) {
    return absl::UnavailableError("cannot resolve the destination");
  }
  absl::Status last = absl::UnavailableError("no address to connect to");
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    if (errno == EINPROGRESS) {
      pollfd p = {fd, POLLOUT, 0};
      int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
      int err = 0;
      socklen_t len = sizeof(err);
      if (::poll(&p, 1, ms) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
          err == 0) {
        ::freeaddrinfo(res);
        return fd;
      }
      last = err != 0 ? absl::UnavailableError(absl::StrCat("connect: ", std::strerror(err)))
                      : absl::DeadlineExceededError("connect timed out");
    } else {
      last = absl::UnavailableError(absl::StrCat("connect: ", std::strerror(errno)));
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return last;
}

// Pump moves what is readable on `from` to `to`. Returns bytes moved, 0 at end of stream, -1 on
// an error or when `to` stays unwritable for `timeout`.
ssize_t Pump(int from, int to, absl::Duration timeout) {
  char buf[16384];
  ssize_t n = ::recv(from, buf, sizeof(buf), MSG_DONTWAIT);
  if (n < 0) return (errno == EAGAIN || errno == EINTR) ? 1 : -1;
  if (n == 0) return 0;
  ssize_t off = 0;
  while (off < n) {
    ssize_t w = ::send(to, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      off += w;
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR) return -1;
    pollfd p = {to, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) != 1) return -1;
  }
  return n;
}

}  // namespace

absl::StatusOr<std::unique_ptr<VsockProxy>> VsockProxy::Start(enclave::VsockTransport& transport,
                                                              const VsockProxyOptions& options) {
  RETURN_IF_ERROR(IsAllowed(options.allowlist, options.host, options.port));
  if (options.port == 0 || options.max_connections == 0 ||
      options.idle_timeout <= absl::ZeroDuration() ||
      options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "vsock-proxy: port, max_connections and timeouts must be positive");
  }
  ASSIGN_OR_RETURN(enclave::VsockListener listener, transport.Listen(options.local_port));
  // A process-backend enclave is nobody on the host: let it connect to the emulated socket.
  if (!listener.path().empty()) ::chmod(listener.path().c_str(), 0666);
  std::unique_ptr<VsockProxy> proxy(new VsockProxy(options, std::move(listener)));
  proxy->acceptor_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  log::Info("vsock_proxy.start", {{"local_port", options.local_port},
                                  {"remote_port", options.port},
                                  {"max_connections", options.max_connections}});
  return proxy;
}

VsockProxy::VsockProxy(VsockProxyOptions options, enclave::VsockListener listener)
    : options_(std::move(options)), listener_(std::move(listener)) {}

VsockProxy::~VsockProxy() { Stop(); }

void VsockProxy::Stop() {
  stop_.store(true);
  if (acceptor_.joinable()) acceptor_.join();
  // Relays are detached; each decrements active_ as its very last access to this object.
  while (active_.load() != 0) ::usleep(5000);
  listener_.Close();
}

void VsockProxy::AcceptLoop() {
  while (!stop_.load()) {
    auto conn = listener_.Accept(absl::Milliseconds(100));
    if (!conn.ok()) {
      if (!absl::IsDeadlineExceeded(conn.status())) ::usleep(10000);
      continue;
    }
    if (active_.load() >= options_.max_connections) {
      refused_.fetch_add(1);
      log::Warning("vsock_proxy.refused",
                   {{"peer_cid", conn->peer().cid}, {"reason", log::SafeText("connection_cap")}});
      continue;  // closes the stream
    }
    active_.fetch_add(1);
    std::thread([this, s = std::move(*conn)]() mutable { Relay(std::move(s)); }).detach();
  }
}

void VsockProxy::Relay(enclave::VsockStream stream) {
  absl::Time start = absl::Now();
  uint32_t peer_cid = stream.peer().cid;
  uint64_t up = 0, down = 0;
  const char* reason = "closed";
  auto tcp = ConnectTcp(options_.host, options_.port, options_.connect_timeout);
  if (!tcp.ok()) {
    log::Warning("vsock_proxy.connect_failed", {{"peer_cid", peer_cid}, {"status", tcp.status()}});
    active_.fetch_sub(1);
    return;
  }
  int t = *tcp;
  int v = stream.fd();
  absl::Time last = absl::Now();
  while (true) {
    if (stop_.load()) {
      reason = "stopped";
      break;
    }
    if (absl::Now() - last >= options_.idle_timeout) {
      reason = "idle_timeout";
      break;
    }
    pollfd p[2] = {{v, POLLIN, 0}, {t, POLLIN, 0}};
    int r = ::poll(p, 2, 100);
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    last = absl::Now();
    if (p[0].revents != 0) {
      ssize_t n = Pump(v, t, options_.idle_timeout);
      if (n <= 0) break;
      up += static_cast<uint64_t>(n);
    }
    if (p[1].revents != 0) {
      ssize_t n = Pump(t, v, options_.idle_timeout);
      if (n <= 0) break;
      down += static_cast<uint64_t>(n);
    }
  }
  ::close(t);
  stream.Close();
  log::Info("vsock_proxy.connection",
            {{"peer_cid", peer_cid},
             {"bytes_up", up},
             {"bytes_down", down},
             {"duration_ms", absl::ToInt64Milliseconds(absl::Now() - start)},
             {"reason", log::SafeText::Identifier(reason)}});
  active_.fetch_sub(1);
}

}  // namespace confide::proxy
