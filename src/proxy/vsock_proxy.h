// confide::proxy vsock-proxy: forwards connections an enclave opens to a vsock port of the
// parent (CID 3) to one TCP destination, as AWS Nitro's vsock-proxy does — typically KMS.
//
// Start refuses a destination that is not on the allowlist (PermissionDenied) before listening.
// At most `max_connections` are relayed at once (further ones are accepted and closed at
// once); a connection with no traffic in either direction for `idle_timeout` is closed. Only
// metadata is logged (peer CID, byte counts, durations, reasons), never the relayed bytes.
#ifndef CONFIDE_PROXY_VSOCK_PROXY_H_
#define CONFIDE_PROXY_VSOCK_PROXY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "base/status.h"
#include "enclave/vsock.h"
#include "proxy/allowlist.h"

namespace confide::proxy {

// VsockProxyOptions configure a proxy.
struct VsockProxyOptions {
  uint32_t local_port = 0;  // vsock port on the parent
  std::string host;         // TCP destination (must be on the allowlist)
  uint16_t port = 0;
  std::vector<AllowlistEntry> allowlist;
  size_t max_connections = 64;
  absl::Duration idle_timeout = absl::Seconds(60);
  absl::Duration connect_timeout = absl::Seconds(10);
};

// VsockProxy relays until Stop() or destruction. Thread-safe.
class VsockProxy {
 public:
  // Start checks the allowlist (PermissionDenied), validates the options (InvalidArgument for
  // port 0, max_connections 0 or a non-positive timeout) and listens on `local_port` of
  // `transport` (errors as VsockTransport::Listen). `transport` must outlive the proxy. For
  // the emulated transport the listener socket is made connectable by any local uid, since a
  // process-backend enclave runs as nobody.
  static absl::StatusOr<std::unique_ptr<VsockProxy>> Start(enclave::VsockTransport& transport,
                                                           const VsockProxyOptions& options);
  ~VsockProxy();
  VsockProxy(const VsockProxy&) = delete;
  VsockProxy& operator=(const VsockProxy&) = delete;

  // Stop closes the listener and every relayed connection and joins the threads. Idempotent.
  void Stop();
  // active returns the number of connections being relayed now.
  size_t active() const { return active_.load(); }
  // refused returns how many connections were closed because the cap was reached.
  uint64_t refused() const { return refused_.load(); }

 private:
  VsockProxy(VsockProxyOptions options, enclave::VsockListener listener);
  void AcceptLoop();
  void Relay(enclave::VsockStream stream);

  VsockProxyOptions options_;
  enclave::VsockListener listener_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> active_{0};
  std::atomic<uint64_t> refused_{0};
  std::thread acceptor_;
};

}  // namespace confide::proxy

#endif  // CONFIDE_PROXY_VSOCK_PROXY_H_
