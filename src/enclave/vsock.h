// confide::enclave vsock: (CID, port) stream sockets between a parent and its enclaves.
//
// As on Nitro, an address is a (CID, port) pair: the parent instance is CID 3 and enclaves get
// CIDs from 4 up. Two transports share one API:
//   - AfVsock: the kernel's AF_VSOCK (real Nitro parents and enclaves);
//   - Emulated: Unix stream sockets with the same addressing. A listener on (cid, port) is the
//     socket file <dir>/<cid>/<port>; a connecting socket binds <dir>/<its cid>/.peer-<port>
//     (with a random ephemeral port), connects, and unlinks that name again, so the acceptor
//     learns the peer's (cid, port) from the kernel, not from bytes the peer sends. The socket
//     directory (and so who may reach whom) is what isolates enclaves from each other; the
//     process backend mounts only this directory into an enclave.
// DefaultVsockTransport picks AF_VSOCK only where Nitro devices exist (/dev/nsm inside an
// enclave, /dev/nitro_enclaves on a parent): elsewhere AF_VSOCK may exist without a peer (these
// build machines report local CID 3 yet cannot connect even to themselves).
//
// Streams and listeners are move-only owners of a descriptor; one object must not be used from
// two threads at once, but distinct objects are independent. Transports are thread-safe.
#ifndef CONFIDE_ENCLAVE_VSOCK_H_
#define CONFIDE_ENCLAVE_VSOCK_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "base/bytes.h"
#include "base/status.h"

namespace confide::enclave {

// CIDs with a meaning (linux/vm_sockets.h; Nitro parent = 3).
inline constexpr uint32_t kVsockCidAny = 0xFFFFFFFFu;
inline constexpr uint32_t kVsockHypervisorCid = 0;
inline constexpr uint32_t kVsockLocalCid = 1;
inline constexpr uint32_t kVsockHostCid = 2;
inline constexpr uint32_t kParentCid = 3;
inline constexpr uint32_t kMinEnclaveCid = 4;
// kMaxVsockCid is the largest CID confide hands out (Nitro allows up to 2^32 - 2).
inline constexpr uint32_t kMaxVsockCid = 0xFFFFFFFEu;
// kDefaultVsockDir is where the emulation keeps its sockets unless CONFIDE_VSOCK_DIR says
// otherwise.
inline constexpr char kDefaultVsockDir[] = "/run/confide/vsock";

// VsockAddress is a (CID, port) pair.
struct VsockAddress {
  uint32_t cid = 0;
  uint32_t port = 0;
  // ToString returns "cid:port".
  std::string ToString() const;
  bool operator==(const VsockAddress&) const = default;
};

// ParseVsockAddress parses "cid:port" (decimal). InvalidArgument otherwise.
absl::StatusOr<VsockAddress> ParseVsockAddress(std::string_view text);

// ValidateEnclaveCid returns OK for a CID an enclave may have (4 .. 2^32-2), InvalidArgument
// otherwise.
absl::Status ValidateEnclaveCid(uint32_t cid);

enum class VsockTransportKind { kAfVsock, kEmulated };

// VsockStream is a connected stream. Move-only; closes its descriptor on destruction.
class VsockStream {
 public:
  VsockStream() = default;
  VsockStream(int fd, VsockAddress peer) : fd_(fd), peer_(peer) {}
  VsockStream(VsockStream&& other) noexcept;
  VsockStream& operator=(VsockStream&& other) noexcept;
  VsockStream(const VsockStream&) = delete;
  VsockStream& operator=(const VsockStream&) = delete;
  ~VsockStream();

  // ReadExact fills `out` completely. DeadlineExceeded when `timeout` passes first (what was
  // read is lost: treat the stream as broken), OutOfRange when the peer closed first,
  // Unavailable on a socket error, FailedPrecondition when closed.
  absl::Status ReadExact(std::span<uint8_t> out, absl::Duration timeout);
  // ReadSome reads 1..out.size() bytes, or returns 0 at end of stream. Errors as ReadExact.
  absl::StatusOr<size_t> ReadSome(std::span<uint8_t> out, absl::Duration timeout);
  // WriteAll writes all of `data`. DeadlineExceeded, Unavailable (peer gone: no SIGPIPE), or
  // FailedPrecondition when closed.
  absl::Status WriteAll(ByteSpan data, absl::Duration timeout);
  // ShutdownWrite signals end of stream to the peer; reading stays possible.
  absl::Status ShutdownWrite();
  // Close closes the descriptor (idempotent).
  void Close();

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // peer returns the remote address.
  const VsockAddress& peer() const { return peer_; }

 private:
  int fd_ = -1;
  VsockAddress peer_;
};

// VsockListener accepts connections on one address. Move-only; Close (or destruction) stops
// listening and, for the emulation, removes the socket file.
class VsockListener {
 public:
  VsockListener() = default;
  VsockListener(int fd, VsockAddress address, VsockTransportKind kind, std::string path)
      : fd_(fd), address_(address), kind_(kind), path_(std::move(path)) {}
  VsockListener(VsockListener&& other) noexcept;
  VsockListener& operator=(VsockListener&& other) noexcept;
  VsockListener(const VsockListener&) = delete;
  VsockListener& operator=(const VsockListener&) = delete;
  ~VsockListener();

  // Accept waits up to `timeout` for one connection. DeadlineExceeded when none arrives,
  // FailedPrecondition when closed, Unavailable on a socket error. The emulation drops
  // connections from sockets that carry no emulated (cid, port) name.
  absl::StatusOr<VsockStream> Accept(absl::Duration timeout);
  // Close stops listening (idempotent).
  void Close();

  const VsockAddress& address() const { return address_; }
  int fd() const { return fd_; }
  // path returns the emulation's socket file ("" for AF_VSOCK).
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  VsockAddress address_;
  VsockTransportKind kind_ = VsockTransportKind::kEmulated;
  std::string path_;  // emulation: the socket file to remove on Close
};

// VsockTransport creates listeners and connections. Thread-safe.
class VsockTransport {
 public:
  virtual ~VsockTransport() = default;
  virtual VsockTransportKind kind() const = 0;
  // local_cid returns the CID this side listens and connects as.
  virtual uint32_t local_cid() const = 0;
  // Listen starts listening on (local_cid(), port). AlreadyExists when the address is in use,
  // PermissionDenied / Unavailable when the socket cannot be created or bound.
  virtual absl::StatusOr<VsockListener> Listen(uint32_t port) = 0;
  // Connect connects to `remote` within `timeout`. Unavailable ("connection refused") when
  // nothing listens there, DeadlineExceeded when the timeout passes first.
  virtual absl::StatusOr<VsockStream> Connect(const VsockAddress& remote,
                                              absl::Duration timeout) = 0;
};

// NewAfVsockTransport returns the AF_VSOCK transport; its local CID is read from /dev/vsock
// (kVsockCidAny when that fails; listening then binds VMADDR_CID_ANY).
std::unique_ptr<VsockTransport> NewAfVsockTransport();

// NewEmulatedVsockTransport returns the Unix-socket emulation rooted at `dir` acting as
// `local_cid`. InvalidArgument for CID kVsockCidAny or a directory whose socket paths would not
// fit a sockaddr_un.
absl::StatusOr<std::unique_ptr<VsockTransport>> NewEmulatedVsockTransport(std::string dir,
                                                                          uint32_t local_cid);

// DefaultVsockTransport chooses a transport from the environment:
//   CONFIDE_VSOCK_TRANSPORT = "vsock" | "emulated" forces one; otherwise AF_VSOCK when
//   /dev/nsm or /dev/nitro_enclaves exists, else the emulation.
//   CONFIDE_VSOCK_DIR (default kDefaultVsockDir) and CONFIDE_VSOCK_CID (default kParentCid)
//   configure the emulation; the launcher sets them for an enclave.
// InvalidArgument for an unknown transport name or a CID that does not parse.
absl::StatusOr<std::unique_ptr<VsockTransport>> DefaultVsockTransport();

}  // namespace confide::enclave

#endif  // CONFIDE_ENCLAVE_VSOCK_H_
