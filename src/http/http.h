// confide::http: a small HTTP/1.1 server and client over Boost.Beast/Asio.
//
// The server is asynchronous (a fixed pool of I/O threads), keeps connections alive, and
// enforces limits before reading a body: header bytes (431), body bytes (413), a per-request
// read deadline and an idle timeout; a malformed request gets 400 and the connection is closed.
// Handlers run on an I/O thread and must not block for long. Nothing of a request or response
// body is logged; the server logs connection-level metadata only.
//
// The client is blocking and keeps one connection alive; it exists for tests, benchmarks and
// the CLI.
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

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  // Json returns a response with Content-Type application/json.
  static Response Json(int status, std::string body);
  // Text returns a text/plain response.
  static Response Text(int status, std::string body);
};

using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port; port() tells which
  int threads = 2;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  absl::Duration read_timeout = absl::Seconds(30);  // to read one whole request
  absl::Duration idle_timeout = absl::Seconds(60);  // keep-alive wait for the next request
};

// Server serves `handler` until Stop() or destruction. Thread-safe.
class Server {
 public:
  // Start binds and starts the I/O threads. Unavailable if the address cannot be bound (the
  // message names it); InvalidArgument for a bad host.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                       Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;
  // Stop closes the listener and every connection, and joins the I/O threads. Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Client is a blocking HTTP/1.1 client with one keep-alive connection. Not thread-safe.
class Client {
 public:
  Client(std::string host, uint16_t port, absl::Duration timeout = absl::Seconds(30));
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Send sends `request` (Host and Content-Length are filled in) and returns the response.
  // Unavailable if the server cannot be reached or the connection breaks (one reconnect is
  // tried for a connection the server closed while idle); DeadlineExceeded on timeout.
  absl::StatusOr<Response> Send(const Request& request);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace confide::http

#endif  // CONFIDE_HTTP_HTTP_H_
