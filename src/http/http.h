// confide::http: a small HTTP/1.1 server and client over Boost.Beast/Asio.
//
// The server does its I/O asynchronously on a fixed pool of I/O threads and runs handlers on
// a separate pool of handler threads, so handlers may block (an LLM, an upstream request). It
// keeps connections alive and enforces limits before reading a body: header bytes (431), body
// bytes (413), a per-request read deadline and an idle timeout; a malformed request gets 400
// and the connection is closed. A response may be streamed (chunked) from a producer function.
// The server listens on TCP, or serves connections from a caller's accept function (vsock,
// Unix sockets), optionally over TLS. Nothing of a request or response body is logged; the
// server logs connection-level metadata only.
//
// The client is blocking and keeps one connection alive (TCP, or any stream socket from a
// connect function; optionally TLS, always verified). docs/design/http.md has the threading
// model and the limits.
#ifndef CONFIDE_HTTP_HTTP_H_
#define CONFIDE_HTTP_HTTP_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "base/bytes.h"
#include "base/status.h"

namespace confide::http {

// Headers keeps header fields in order; lookups are case-insensitive.
class Headers {
 public:
  void Add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  // Set replaces every field named `name` with one.
  void Set(std::string_view name, std::string value);
  // Get returns the first value of `name`, if present.
  std::optional<std::string_view> Get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct Request {
  std::string method;
  std::string target;  // origin-form: path and query
  Headers headers;
  std::string body;
  std::string remote_address;  // peer IP (for aws:SourceIp and metrics)
};

// BodyWriter is handed to a streamed response's producer (Response::stream).
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  // Write sends `bytes` as one HTTP chunk and flushes it; false once the peer is gone, a write
  // timed out or the server is stopping (the producer should then return). Empty `bytes` send
  // nothing and return true.
  virtual bool Write(std::string_view bytes) = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // stream, when set, makes this a streamed response: status and headers are sent with
  // Transfer-Encoding: chunked (HTTP/1.0 peers: no framing, the connection closes at the end),
  // then stream(writer) runs on the handler thread (never an I/O thread) and the final 0-chunk
  // is sent when it returns. `body` must be empty (else the client gets 500). Any
  // Content-Length or Transfer-Encoding header of `headers` is dropped. On the client side
  // (Client::Send*) it is always empty.
  std::function<void(BodyWriter&)> stream;

  // Json returns a response with Content-Type application/json.
  static Response Json(int status, std::string body);
  // Text returns a text/plain response.
  static Response Text(int status, std::string body);
};

using Handler = std::function<Response(const Request&)>;

// Responder delivers the response to one request. Call it exactly once, from any thread; a
// streamed response (Response::stream) must be delivered on the handler thread, before the
// handler returns. Dropping it uncalled closes the connection.
using Responder = std::function<void(Response)>;
// AsyncHandler answers a request through `respond`, now or later (e.g. once a record of the
// request is durable), so that the handler thread is free for the next request meanwhile.
using AsyncHandler = std::function<void(const Request&, Responder respond)>;

// TlsServerOptions configures TLS on a server (PEM files). TLS 1.2 minimum, 1.3 preferred;
// TLS 1.2 only with ECDHE and AEAD suites.
struct TlsServerOptions {
  std::string certificate_chain_file;  // leaf first, then intermediates
  std::string private_key_file;
};

// TlsClientOptions configures TLS on a client. The chain and the host name are always
// verified; there is no switch to turn verification off.
struct TlsClientOptions {
  std::string ca_file;      // PEM bundle of trusted roots; empty: the system default store
  std::string server_name;  // SNI and verification name; empty: the host the client dials
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;        // 0: pick a free port; port() tells which
  int threads = 2;          // I/O threads (asynchronous reads and writes only)
  int handler_threads = 4;  // handlers run on this pool, so they may block (LLM, upstream I/O)
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  // read_timeout: to read one whole request; also the deadline of each response write (one
  // chunk of a streamed response) and of a TLS handshake.
  absl::Duration read_timeout = absl::Seconds(30);
  absl::Duration idle_timeout = absl::Seconds(60);  // keep-alive wait for the next request
  std::optional<TlsServerOptions> tls;              // set: serve HTTPS only
};

// AcceptedConnection is a connected stream socket handed to the server, which then owns `fd`.
struct AcceptedConnection {
  int fd = -1;
  std::string remote_address;  // reported as Request::remote_address
};

// AcceptFn blocks up to `timeout` for one connection; DeadlineExceeded when none came. Other
// errors are logged and the server retries after a short pause.
using AcceptFn = std::function<absl::StatusOr<AcceptedConnection>(absl::Duration timeout)>;

// ConnectFn returns a connected stream socket fd (Unix, vsock or TCP) within `timeout`; the
// client then owns it.
using ConnectFn = std::function<absl::StatusOr<int>(absl::Duration timeout)>;

// Server serves `handler` until Stop() or destruction. Thread-safe.
class Server {
 public:
  // Start binds and starts the I/O threads. Unavailable if the address cannot be bound (the
  // message names it); InvalidArgument for a bad host.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                       Handler handler);
  // StartAsync is Start with a handler that may answer after it returns. Responses delivered
  // after Stop() are dropped (the connections are closed); the server must outlive every
  // Responder it handed out, so an owner that completes requests from its own threads drains
  // them between Stop() and the server's destruction.
  static absl::StatusOr<std::unique_ptr<Server>> StartAsync(const ServerOptions& options,
                                                            AsyncHandler handler);
  // StartWithAcceptor serves connections produced by `accept` (e.g. a vsock or Unix listener)
  // instead of binding TCP (options.host and options.port are ignored); the server owns the
  // accepted fds. port() returns 0. `accept` runs on a thread of its own and is called with
  // short timeouts so that Stop() returns promptly. InvalidArgument for bad options.
  static absl::StatusOr<std::unique_ptr<Server>> StartWithAcceptor(AcceptFn accept,
                                                                   const ServerOptions& options,
                                                                   Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // port returns the bound TCP port (0 for StartWithAcceptor).
  uint16_t port() const;
  // Stop stops accepting, closes every connection (a streaming producer then sees Write()
  // return false), waits for running handlers to return, and joins all threads. Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ClientOptions {
  absl::Duration timeout = absl::Seconds(30);  // connect, and each write and read
  std::optional<TlsClientOptions> tls;         // set: HTTPS
};

// Client is a blocking HTTP/1.1 client with one keep-alive connection. Not thread-safe.
class Client {
 public:
  Client(std::string host, uint16_t port, absl::Duration timeout = absl::Seconds(30));
  Client(std::string host, uint16_t port, ClientOptions options);
  // Client(connect, options) dials with `connect`. The Host header is "localhost"; with TLS
  // the certificate must name options.tls->server_name (default "localhost").
  Client(ConnectFn connect, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Send sends `request` (Host and Content-Length are filled in) and returns the response.
  // Unavailable if the server cannot be reached or the connection breaks (one reconnect is
  // tried for a connection the server closed while idle); DeadlineExceeded on timeout.
  absl::StatusOr<Response> Send(const Request& request);

  // SendStreaming sends `request`, calls on_head once with the status and headers (body
  // empty), then on_body for each piece of the body as it arrives (chunked or Content-Length),
  // and returns when the body ends. Returning false from a callback aborts: Cancelled (the
  // connection is dropped). The timeout applies per read, not to the whole stream. Errors as
  // Send (a reused connection the server closed while idle is retried once, before any
  // callback ran).
  absl::Status SendStreaming(const Request& request,
                             const std::function<bool(const Response& head)>& on_head,
                             const std::function<bool(std::string_view piece)>& on_body);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Url is the result of ParseUrl.
struct Url {
  std::string scheme;  // "http" or "https" (lower case)
  std::string host;    // a name or an IP address; IPv6 without the brackets
  uint16_t port = 0;   // the explicit port, else 80 / 443
  std::string path;    // origin-form target with any query; "/" when absent
};

// ParseUrl parses "http[s]://host[:port][/path]" (an IPv6 host in brackets). InvalidArgument
// for another scheme, user info, a fragment, an empty host, a bad port or characters outside
// RFC 3986.
absl::StatusOr<Url> ParseUrl(std::string_view url);

}  // namespace confide::http

#endif  // CONFIDE_HTTP_HTTP_H_
