// confide::gateway upstream: HTTP/1.1 to enclaves over vsock (sealed-path.md §1).
//
// Buffered exchanges reuse idle keep-alive connections (ClientPool); a streamed exchange and a
// health probe dial their own vsock stream through http::Client's connect hook, so a long
// stream never holds a shared connection. These helpers are thread-safe as long as the
// transport outlives them.
#ifndef CONFIDE_GATEWAY_UPSTREAM_H_
#define CONFIDE_GATEWAY_UPSTREAM_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "base/bytes.h"
#include "base/status.h"
#include "enclave/vsock.h"
#include "gateway/pool.h"
#include "http/http.h"

namespace confide::gateway {

// OnConnected receives, after each successful dial, a duplicate descriptor of the new socket,
// which it then owns (and must close); shutting it down aborts a blocked exchange from another
// thread.
using OnConnected = std::function<void(int fd_copy)>;

// VsockConnectFn returns an http::ConnectFn dialling `enclave` over `transport` (which must
// outlive it), calling `on_connected` (when set) for each socket it hands out. A dial waits at
// most min(the client's timeout, `connect_timeout`).
http::ConnectFn VsockConnectFn(enclave::VsockTransport& transport,
                               const enclave::VsockAddress& enclave,
                               OnConnected on_connected = nullptr,
                               absl::Duration connect_timeout = absl::InfiniteDuration());

// GetFromEnclave sends GET `target` to `enclave` and returns the response. Errors as
// http::Client::Send (Unavailable when the enclave cannot be reached, DeadlineExceeded).
absl::StatusOr<http::Response> GetFromEnclave(enclave::VsockTransport& transport,
                                              const enclave::VsockAddress& enclave,
                                              const std::string& target, absl::Duration timeout);

// ProbeEnclave is the pool's real Prober: GET /health must answer 200, then GET /ohttp-keys
// 200 with at most kMaxOhttpKeysBytes; returns those bytes. Unavailable / DeadlineExceeded from
// the transport, FailedPrecondition naming the status when the enclave answers otherwise (503
// while its model loads).
absl::StatusOr<Bytes> ProbeEnclave(enclave::VsockTransport& transport,
                                   const enclave::VsockAddress& enclave, absl::Duration timeout);

// NewVsockProber returns ProbeEnclave bound to `transport` and `timeout`.
Prober NewVsockProber(enclave::VsockTransport& transport, absl::Duration timeout);

// ClientPool keeps idle keep-alive HTTP clients per enclave, so buffered exchanges do not dial
// a new vsock connection each time. Thread-safe; each client is used by one thread at a time.
class ClientPool {
 public:
  // ClientPool dials over `transport` (which must outlive it) with `timeout` per connect, read
  // and write, keeping at most `max_idle` idle clients per enclave.
  ClientPool(enclave::VsockTransport& transport, absl::Duration connect_timeout,
             absl::Duration timeout, size_t max_idle = 16);
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;

  // Send exchanges `request` with `enclave` on an idle client or a new one. Errors as
  // http::Client::Send (a kept connection the enclave closed is redialled once). A client goes
  // back to the pool only after a successful exchange.
  absl::StatusOr<http::Response> Send(const enclave::VsockAddress& enclave,
                                      const http::Request& request);
  // Drop discards the idle clients of `enclave` (after it failed or restarted).
  void Drop(const enclave::VsockAddress& enclave);

 private:
  enclave::VsockTransport& transport_;
  const absl::Duration connect_timeout_;
  const absl::Duration timeout_;
  const size_t max_idle_;
  std::mutex mu_;
  std::map<std::pair<uint32_t, uint32_t>, std::vector<std::unique_ptr<http::Client>>> idle_;
};

}  // namespace confide::gateway

#endif  // CONFIDE_GATEWAY_UPSTREAM_H_
