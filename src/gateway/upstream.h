// confide::gateway upstream: HTTP/1.1 to enclaves over vsock (sealed-path.md §1).
//
// The gateway dials a fresh vsock stream per exchange through http::Client's connect hook, so
// one slow or dead enclave never holds a shared connection. These helpers are thread-safe as
// long as the transport outlives them.
#ifndef CONFIDE_GATEWAY_UPSTREAM_H_
#define CONFIDE_GATEWAY_UPSTREAM_H_

#include <functional>
#include <string>

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

}  // namespace confide::gateway

#endif  // CONFIDE_GATEWAY_UPSTREAM_H_
