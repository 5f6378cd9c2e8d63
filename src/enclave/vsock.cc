#include "enclave/vsock.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"

namespace confide::enclave {
namespace {

constexpr int kBacklog = 128;
constexpr char kPeerPrefix[] = ".peer-";

// Deadline turns a timeout into an absolute time so loops can wait for what is left.
class Deadline {
 public:
  explicit Deadline(absl::Duration timeout)
      : end_(timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + timeout) {
  }
  // PollMs returns the poll(2) timeout for what is left (-1: forever).
  int PollMs() const {
    if (end_ == absl::InfiniteFuture()) return -1;
    absl::Duration left = end_ - absl::Now();
    if (left <= absl::ZeroDuration()) return 0;
    return static_cast<int>(
        std::min<int64_t>(absl::ToInt64Milliseconds(left + absl::Microseconds(999)), 1 << 30));
  }

 private:
  absl::Time end_;
};

// WaitFor polls `fd` for `events` until the deadline. OK when ready; DeadlineExceeded when the
// deadline passes; Unavailable on a poll error.
absl::Status WaitFor(int fd, short events, const Deadline& deadline, const char* what) {
  for (;;) {
    struct pollfd p = {fd, events, 0};
    int ms = deadline.PollMs();
    int n = ::poll(&p, 1, ms);
    if (n > 0) return absl::OkStatus();
    if (n == 0) {
      return absl::DeadlineExceededError(absl::StrCat("vsock: timed out waiting to ", what));
    }
    if (errno != EINTR) return absl::UnavailableError(absl::StrCat("vsock: poll failed: ", what));
  }
}

absl::Status SocketError(const char* what, int err) {
  std::string msg = absl::StrCat("vsock: ", what, ": ", std::strerror(err));
  if (err == ECONNREFUSED || err == ENOENT) {
    return absl::UnavailableError(absl::StrCat("vsock: connection refused (", what, ")"));
  }
  if (err == EADDRINUSE) return absl::AlreadyExistsError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  if (err == ETIMEDOUT) return absl::DeadlineExceededError(msg);
  return absl::UnavailableError(msg);
}

bool ParseU32(std::string_view s, uint32_t* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// ConnectWithTimeout runs a non-blocking connect on `fd` and waits for the outcome.
absl::Status ConnectWithTimeout(int fd, const sockaddr* addr, socklen_t len, absl::Duration timeout,
                                const std::string& what) {
  Deadline deadline(timeout);
  for (;;) {
    if (::connect(fd, addr, len) == 0) return absl::OkStatus();
    int err = errno;
    if (err == EAGAIN) {
      // A Unix socket whose listener's backlog is full: retry until the deadline.
      if (deadline.PollMs() == 0) {
        return absl::DeadlineExceededError("vsock: timed out waiting to connect");
      }
      ::usleep(1000);
      continue;
    }
    if (err != EINPROGRESS && err != EINTR) return SocketError(what.c_str(), err);
    RETURN_IF_ERROR(WaitFor(fd, POLLOUT, deadline, "connect"));
    int so_error = 0;
    socklen_t so_len = sizeof(so_error);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0) so_error = errno;
    if (so_error == 0) return absl::OkStatus();
    return SocketError(what.c_str(), so_error);
  }
}

// ---- AF_VSOCK ---------------------------------------------------------------------------

uint32_t ReadLocalCid() {
  int fd = ::open("/dev/vsock", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return kVsockCidAny;
  unsigned int cid = kVsockCidAny;
  if (::ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) != 0) cid = kVsockCidAny;
  ::close(fd);
  return cid;
}

sockaddr_vm VmAddr(uint32_t cid, uint32_t port) {
  sockaddr_vm a;
  std::memset(&a, 0, sizeof(a));
  a.svm_family = AF_VSOCK;
  a.svm_cid = cid;
  a.svm_port = port;
  return a;
}

class AfVsockTransport : public VsockTransport {
 public:
  AfVsockTransport() : local_cid_(ReadLocalCid()) {}
  VsockTransportKind kind() const override { return VsockTransportKind::kAfVsock; }
  uint32_t local_cid() const override { return local_cid_; }

  absl::StatusOr<VsockListener> Listen(uint32_t port) override {
    int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return SocketError("AF_VSOCK socket", errno);
    sockaddr_vm a = VmAddr(VMADDR_CID_ANY, port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::listen(fd, kBacklog) != 0) {
      int err = errno;
      ::close(fd);
      return SocketError("AF_VSOCK bind/listen", err);
    }
    return VsockListener(fd, VsockAddress{local_cid_, port}, kind(), "");
  }

  absl::StatusOr<VsockStream> Connect(const VsockAddress& remote, absl::Duration timeout) override {
    int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return SocketError("AF_VSOCK socket", errno);
    sockaddr_vm a = VmAddr(remote.cid, remote.port);
    absl::Status s = ConnectWithTimeout(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a), timeout,
                                        "connect to " + remote.ToString());
    if (!s.ok()) {
      ::close(fd);
      return s;
    }
    return VsockStream(fd, remote);
  }

 private:
  uint32_t local_cid_;
};

// ---- Unix-socket emulation --------------------------------------------------------------

bool FillSockaddrUn(const std::string& path, sockaddr_un* out) {
  std::memset(out, 0, sizeof(*out));
  out->sun_family = AF_UNIX;
  if (path.size() >= sizeof(out->sun_path)) return false;
  std::memcpy(out->sun_path, path.data(), path.size());
  return true;
}

// PeerFromPath recovers (cid, port) from ".../<cid>/.peer-<port>".
VsockAddress PeerFromPath(std::string_view path) {
  VsockAddress unknown{kVsockCidAny, 0};
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return unknown;
  std::string_view base = path.substr(slash + 1);
  std::string_view dir = path.substr(0, slash);
  size_t dir_slash = dir.rfind('/');
  std::string_view cid_text = dir_slash == std::string_view::npos ? dir : dir.substr(dir_slash + 1);
  if (base.substr(0, sizeof(kPeerPrefix) - 1) != kPeerPrefix) return unknown;
  VsockAddress a;
  if (!ParseU32(cid_text, &a.cid) || !ParseU32(base.substr(sizeof(kPeerPrefix) - 1), &a.port)) {
    return unknown;
  }
  return a;
}

absl::Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return absl::OkStatus();
  return SocketError(("cannot create " + path).c_str(), errno);
}

absl::Status MakeDirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') RETURN_IF_ERROR(MakeDir(path.substr(0, i)));
  }
  return absl::OkStatus();
}

class EmulatedTransport : public VsockTransport {
 public:
  EmulatedTransport(std::string dir, uint32_t cid) : dir_(std::move(dir)), cid_(cid) {}
  VsockTransportKind kind() const override { return VsockTransportKind::kEmulated; }
  uint32_t local_cid() const override { return cid_; }

  std::string CidDir(uint32_t cid) const { return absl::StrCat(dir_, "/", cid); }
  std::string PortPath(uint32_t cid, uint32_t port) const {
    return absl::StrCat(CidDir(cid), "/", port);
  }

  absl::StatusOr<VsockListener> Listen(uint32_t port) override {
    RETURN_IF_ERROR(MakeDirs(CidDir(cid_)));
    std::string path = PortPath(cid_, port);
    sockaddr_un a;
    if (!FillSockaddrUn(path, &a)) return absl::InvalidArgumentError("vsock: socket path too long");
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return SocketError("unix socket", errno);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      int err = errno;
      if (err != EADDRINUSE) {
        ::close(fd);
        return SocketError("bind", err);
      }
      // A file is there: live listener (in use) or the remains of a crashed one (stale).
      // Non-blocking, so a live listener with a full backlog answers EAGAIN instead of
      // blocking us; only ECONNREFUSED proves the file stale.
      int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      bool live = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
      int probe_err = errno;
      if (probe >= 0) ::close(probe);
      if (live || probe_err != ECONNREFUSED) {
        ::close(fd);
        return absl::AlreadyExistsError(
            absl::StrCat("vsock: address ", VsockAddress{cid_, port}.ToString(), " is in use"));
      }
      ::unlink(path.c_str());
      if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        err = errno;
        ::close(fd);
        return SocketError("bind", err);
      }
    }
    // Connecting to a Unix socket needs write permission on its file. As with AF_VSOCK, where
    // any peer that can reach a CID may connect to its ports, reachability is decided by the
    // directories (which CID directories a sandbox sees), not by the socket file's owner: an
    // enclave (nobody on the host) must be able to reach the parent's vsock-proxy and
    // provisioning ports.
    if (::listen(fd, kBacklog) != 0 || ::chmod(path.c_str(), 0666) != 0) {
      int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return SocketError("listen", err);
    }
    return VsockListener(fd, VsockAddress{cid_, port}, kind(), path);
  }

  absl::StatusOr<VsockStream> Connect(const VsockAddress& remote, absl::Duration timeout) override {
    sockaddr_un to;
    if (!FillSockaddrUn(PortPath(remote.cid, remote.port), &to)) {
      return absl::InvalidArgumentError("vsock: socket path too long");
    }
    // Bind a name that tells the acceptor who we are, as AF_VSOCK's accept would.
    RETURN_IF_ERROR(MakeDirs(CidDir(cid_)));
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return SocketError("unix socket", errno);
    std::string from_path;
    thread_local std::mt19937 rng(std::random_device{}());
    for (int attempt = 0;; ++attempt) {
      // Ephemeral ports as Linux vsock allocates them: above the well-known range.
      uint32_t port = 49152 + rng() % (0xFFFFFFFEu - 49152);
      from_path = absl::StrCat(CidDir(cid_), "/", kPeerPrefix, port);
      sockaddr_un from;
      if (!FillSockaddrUn(from_path, &from)) {
        ::close(fd);
        return absl::InvalidArgumentError("vsock: socket path too long");
      }
      if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) == 0) break;
      if (errno != EADDRINUSE || attempt > 16) {
        int err = errno;
        ::close(fd);
        return SocketError("bind", err);
      }
    }
    absl::Status s = ConnectWithTimeout(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to), timeout,
                                        "connect to " + remote.ToString());
    // The name has done its job once connect returned: the kernel keeps the address with the
    // socket, the file system needs no trace of it.
    ::unlink(from_path.c_str());
    if (!s.ok()) {
      ::close(fd);
      return s;
    }
    return VsockStream(fd, remote);
  }

 private:
  std::string dir_;
  uint32_t cid_;
};

}  // namespace

std::string VsockAddress::ToString() const { return absl::StrCat(cid, ":", port); }

absl::StatusOr<VsockAddress> ParseVsockAddress(std::string_view text) {
  size_t colon = text.find(':');
  VsockAddress a;
  if (colon == std::string_view::npos || !ParseU32(text.substr(0, colon), &a.cid) ||
      !ParseU32(text.substr(colon + 1), &a.port)) {
    return absl::InvalidArgumentError("vsock address must look like CID:PORT (decimal)");
  }
  return a;
}

absl::Status ValidateEnclaveCid(uint32_t cid) {
  if (cid < kMinEnclaveCid || cid > kMaxVsockCid) {
    return absl::InvalidArgumentError("enclave CID must be in 4..4294967294 (3 is the parent)");
  }
  return absl::OkStatus();
}

// ---- VsockStream ------------------------------------------------------------------------

VsockStream::VsockStream(VsockStream&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), peer_(other.peer_) {}

VsockStream& VsockStream::operator=(VsockStream&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    peer_ = other.peer_;
  }
  return *this;
}

VsockStream::~VsockStream() { Close(); }

void VsockStream::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::StatusOr<size_t> VsockStream::ReadSome(std::span<uint8_t> out, absl::Duration timeout) {
  if (fd_ < 0) return absl::FailedPreconditionError("vsock: stream is closed");
  if (out.empty()) return 0;
  Deadline deadline(timeout);
  for (;;) {
    ssize_t n = ::recv(fd_, out.data(), out.size(), MSG_DONTWAIT);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return SocketError("recv", errno);
    RETURN_IF_ERROR(WaitFor(fd_, POLLIN, deadline, "read"));
  }
}

absl::Status VsockStream::ReadExact(std::span<uint8_t> out, absl::Duration timeout) {
  if (fd_ < 0) return absl::FailedPreconditionError("vsock: stream is closed");
  Deadline deadline(timeout);
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::recv(fd_, out.data() + done, out.size() - done, MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return absl::OutOfRangeError("vsock: peer closed the stream");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return SocketError("recv", errno);
    RETURN_IF_ERROR(WaitFor(fd_, POLLIN, deadline, "read"));
  }
  return absl::OkStatus();
}

absl::Status VsockStream::WriteAll(ByteSpan data, absl::Duration timeout) {
  if (fd_ < 0) return absl::FailedPreconditionError("vsock: stream is closed");
  Deadline deadline(timeout);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return SocketError("send", errno);
    RETURN_IF_ERROR(WaitFor(fd_, POLLOUT, deadline, "write"));
  }
  return absl::OkStatus();
}

absl::Status VsockStream::ShutdownWrite() {
  if (fd_ < 0) return absl::FailedPreconditionError("vsock: stream is closed");
  if (::shutdown(fd_, SHUT_WR) != 0) return SocketError("shutdown", errno);
  return absl::OkStatus();
}

// ---- VsockListener ----------------------------------------------------------------------

VsockListener::VsockListener(VsockListener&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      address_(other.address_),
      kind_(other.kind_),
      path_(std::move(other.path_)) {
  other.path_.clear();
}

VsockListener& VsockListener::operator=(VsockListener&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    address_ = other.address_;
    kind_ = other.kind_;
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

VsockListener::~VsockListener() { Close(); }

void VsockListener::Close() {
  if (fd_ >= 0) {
    // Unlink before close: a new listener may bind the path as soon as we let it go.
    if (!path_.empty()) ::unlink(path_.c_str());
    ::close(fd_);
  }
  fd_ = -1;
  path_.clear();
}

absl::StatusOr<VsockStream> VsockListener::Accept(absl::Duration timeout) {
  if (fd_ < 0) return absl::FailedPreconditionError("vsock: listener is closed");
  Deadline deadline(timeout);
  for (;;) {
    sockaddr_storage peer;
    socklen_t len = sizeof(peer);
    int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      VsockAddress from{kVsockCidAny, 0};
      if (kind_ == VsockTransportKind::kAfVsock && peer.ss_family == AF_VSOCK) {
        const auto* vm = reinterpret_cast<const sockaddr_vm*>(&peer);
        from = VsockAddress{vm->svm_cid, vm->svm_port};
      } else if (peer.ss_family == AF_UNIX && len > offsetof(sockaddr_un, sun_path)) {
        const auto* un = reinterpret_cast<const sockaddr_un*>(&peer);
        size_t path_len = len - offsetof(sockaddr_un, sun_path);
        from = PeerFromPath(std::string_view(un->sun_path, strnlen(un->sun_path, path_len)));
      }
      if (kind_ == VsockTransportKind::kEmulated && from.cid == kVsockCidAny) {
        // Not an emulated vsock peer (every one binds a <cid>/.peer-<port> name): a foreign
        // program or Listen's liveness probe. Drop it rather than hand out an anonymous peer.
        ::close(fd);
        continue;
      }
      return VsockStream(fd, from);
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return SocketError("accept", errno);
    RETURN_IF_ERROR(WaitFor(fd_, POLLIN, deadline, "accept"));
  }
}

// ---- Construction -----------------------------------------------------------------------

std::unique_ptr<VsockTransport> NewAfVsockTransport() {
  return std::make_unique<AfVsockTransport>();
}

absl::StatusOr<std::unique_ptr<VsockTransport>> NewEmulatedVsockTransport(std::string dir,
                                                                          uint32_t local_cid) {
  if (local_cid == kVsockCidAny) {
    return absl::InvalidArgumentError("vsock emulation needs a concrete local CID");
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  // <dir>/<cid>/.peer-<port>: 10 digits each, plus separators and prefix.
  if (dir.empty() || dir.size() + 1 + 10 + 1 + 6 + 10 >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError("vsock emulation directory path is empty or too long");
  }
  return std::unique_ptr<VsockTransport>(new EmulatedTransport(std::move(dir), local_cid));
}

absl::StatusOr<std::unique_ptr<VsockTransport>> DefaultVsockTransport() {
  const char* forced = std::getenv("CONFIDE_VSOCK_TRANSPORT");
  std::string choice = forced ? forced : "";
  if (choice.empty()) {
    bool nitro = ::access("/dev/nsm", F_OK) == 0 || ::access("/dev/nitro_enclaves", F_OK) == 0;
    choice = nitro ? "vsock" : "emulated";
  }
  if (choice == "vsock") return NewAfVsockTransport();
  if (choice != "emulated") {
    return absl::InvalidArgumentError("CONFIDE_VSOCK_TRANSPORT must be 'vsock' or 'emulated'");
  }
  const char* dir = std::getenv("CONFIDE_VSOCK_DIR");
  const char* cid_text = std::getenv("CONFIDE_VSOCK_CID");
  uint32_t cid = kParentCid;
  if (cid_text != nullptr && (!ParseU32(cid_text, &cid) || cid == kVsockCidAny)) {
    return absl::InvalidArgumentError("CONFIDE_VSOCK_CID is not a CID");
  }
  return NewEmulatedVsockTransport(dir && *dir ? dir : kDefaultVsockDir, cid);
}

}  // namespace confide::enclave
