#include "http/http.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "http/internal/beast.h"
#include "http/internal/conn.h"
#include "http/internal/tls.h"

namespace confide::http {
namespace {

using namespace internal;  // NOLINT: asio/beast aliases

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(a[i])) !=
        absl::ascii_tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

namespace internal {

bhttp::response<bhttp::string_body> ToBeast(const Response& r, unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> res;
  res.version(version);
  res.result(static_cast<unsigned>(r.status));
  for (const auto& [name, value] : r.headers.fields()) res.insert(name, value);
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

bool IsIoError(const beast::error_code& ec) {
  return ec.category() != bhttp::make_error_code(bhttp::error::end_of_stream).category();
}

absl::Status ExchangeError(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return absl::DeadlineExceededError("HTTP request timed out");
  return absl::UnavailableError(absl::StrCat("HTTP exchange failed: ", ec.message()));
}

HandlerPool::HandlerPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

HandlerPool::~HandlerPool() { Shutdown(); }

bool HandlerPool::Submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void HandlerPool::Shutdown() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void HandlerPool::Loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

// AdoptFd wraps a connected stream socket `fd` (any address family) in `socket`; on failure
// the fd is closed.
absl::Status AdoptFd(int fd, Socket& socket) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return absl::InvalidArgumentError("not a socket");
  }
  beast::error_code ec;
  socket.assign(asio::generic::stream_protocol(addr.ss_family, 0), fd, ec);
  if (ec) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat("cannot adopt socket: ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace internal

void Headers::Set(std::string_view name, std::string value) {
  std::erase_if(fields_, [name](const auto& f) { return EqualsIgnoreCase(f.first, name); });
  fields_.emplace_back(std::string(name), std::move(value));
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const auto& [n, v] : fields_) {
    if (EqualsIgnoreCase(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.Add("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.Add("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

// ----------------------------------------------------------------------------------- server

struct Server::Impl {
  Impl(const ServerOptions& o, AsyncHandler h)
      : core(o, std::move(h)), acceptor(asio::make_strand(core.ioc)) {}

  ServerCore core;
  tcp::acceptor acceptor;  // on its own strand
  AcceptFn accept_fn;
  std::thread accept_thread;
  std::vector<std::thread> threads;
  TlsServerContextPtr tls;
  uint16_t port = 0;
  bool stop_done = false;

  void Accept();
  void AcceptLoop();
  void Serve(Socket socket, std::string remote);
  void RunThreads() {
    for (int i = 0; i < core.options.threads; ++i) {
      threads.emplace_back([this] { core.ioc.run(); });
    }
  }
};

void Server::Impl::Serve(Socket socket, std::string remote) {
  std::shared_ptr<SessionBase> session;
  if (tls) {
    session = NewTlsSession(&core, *tls, std::move(remote), std::move(socket));
  } else {
    session = std::make_shared<Session<PlainStream>>(&core, std::move(remote), std::move(socket));
  }
  if (!core.Register(session)) return;  // stopping: the socket closes with the session
  session->Start();
}

void Server::Impl::Accept() {
  acceptor.async_accept(asio::make_strand(core.ioc),
                        [this](beast::error_code ec, tcp::socket socket) {
                          if (core.stopped.load()) return;
                          if (!ec) {
                            beast::error_code ignored;
                            std::string remote;
                            auto ep = socket.remote_endpoint(ignored);
                            if (!ignored) remote = ep.address().to_string();
                            socket.set_option(tcp::no_delay(true), ignored);
                            Serve(Socket(std::move(socket)), std::move(remote));
                          }
                          Accept();
                        });
}

void Server::Impl::AcceptLoop() {
  while (!core.stopped.load()) {
    absl::StatusOr<AcceptedConnection> conn = accept_fn(absl::Milliseconds(100));
    if (!conn.ok()) {
      if (!absl::IsDeadlineExceeded(conn.status())) {
        log::Warning("http.accept_failed", {{"status", conn.status()}});
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    if (conn->fd < 0) continue;
    if (core.stopped.load()) {
      ::close(conn->fd);
      break;
    }
    Socket socket(asio::make_strand(core.ioc));
    if (!AdoptFd(conn->fd, socket).ok()) continue;
    Serve(std::move(socket), std::move(conn->remote_address));
  }
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

namespace {

absl::Status CheckOptions(const ServerOptions& options) {
  if (options.threads < 1 || options.threads > 256) {
    return absl::InvalidArgumentError("HTTP server threads must be 1..256");
  }
  if (options.handler_threads < 1 || options.handler_threads > 1024) {
    return absl::InvalidArgumentError("HTTP server handler_threads must be 1..1024");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Server::Impl>> NewImpl(const ServerOptions& options,
                                                      AsyncHandler handler) {
  RETURN_IF_ERROR(CheckOptions(options));
  TlsServerContextPtr tls;
  if (options.tls) {
    ASSIGN_OR_RETURN(tls, NewTlsServerContext(*options.tls));
  }
  auto impl = std::make_unique<Server::Impl>(options, std::move(handler));
  impl->tls = std::move(tls);
  return impl;
}

// Synchronous answers a request with `handler` on the handler thread.
AsyncHandler Synchronous(Handler handler) {
  return [handler = std::move(handler)](const Request& req, Responder respond) {
    respond(handler(req));
  };
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      Handler handler) {
  return StartAsync(options, Synchronous(std::move(handler)));
}

absl::StatusOr<std::unique_ptr<Server>> Server::StartAsync(const ServerOptions& options,
                                                           AsyncHandler handler) {
  ASSIGN_OR_RETURN(auto impl, NewImpl(options, std::move(handler)));
  beast::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("not an IP address: ", options.host));
  tcp::endpoint endpoint(address, options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    impl->core.pool.Shutdown();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.host, ":", options.port, ": ", ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  asio::dispatch(impl->acceptor.get_executor(), [raw = impl.get()] { raw->Accept(); });
  impl->RunThreads();
  log::Info("http.listen", {{"port", impl->port},
                            {"threads", options.threads},
                            {"handler_threads", options.handler_threads},
                            {"tls", options.tls.has_value()}});
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Server>> Server::StartWithAcceptor(AcceptFn accept,
                                                                  const ServerOptions& options,
                                                                  Handler handler) {
  if (!accept) return absl::InvalidArgumentError("HTTP server accept function is empty");
  ASSIGN_OR_RETURN(auto impl, NewImpl(options, Synchronous(std::move(handler))));
  impl->accept_fn = std::move(accept);
  impl->RunThreads();
  impl->accept_thread = std::thread([raw = impl.get()] { raw->AcceptLoop(); });
  log::Info("http.serve_acceptor", {{"threads", options.threads},
                                    {"handler_threads", options.handler_threads},
                                    {"tls", options.tls.has_value()}});
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->port; }

void Server::Stop() {
  ServerCore& core = impl_->core;
  {
    std::lock_guard<std::mutex> lock(core.sessions_mu);
    if (impl_->stop_done) return;
    impl_->stop_done = true;
    core.stopped.store(true);
  }
  // 1. Stop accepting.
  if (impl_->accept_fn) {
    if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  } else {
    std::promise<void> closed;
    asio::post(impl_->acceptor.get_executor(), [this, &closed] {
      beast::error_code ignored;
      impl_->acceptor.close(ignored);
      closed.set_value();
    });
    closed.get_future().wait();
  }
  // 2. Close every connection; pending operations complete with errors, so a streaming
  // producer's next Write() returns false.
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard<std::mutex> lock(core.sessions_mu);
    for (const auto& weak : core.sessions) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
  }
  for (const auto& session : live) session->Abort();
  // 3. Wait for running handlers while the I/O threads still complete their writes.
  core.pool.Shutdown();
  // 4. Stop the I/O threads.
  core.work.reset();
  core.ioc.stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
  // No I/O thread runs now: close whatever is still open.
  for (const auto& session : live) session->CloseNow();
  std::lock_guard<std::mutex> lock(core.sessions_mu);
  core.sessions.clear();
}

Server::~Server() { Stop(); }

// ----------------------------------------------------------------------------------- client

struct Client::Impl {
  std::string host;
  uint16_t port = 0;
  ConnectFn connect;
  ClientOptions options;
  std::string host_header;
  asio::io_context ioc;
  std::unique_ptr<ClientConnBase> conn;

  void Run() {
    ioc.restart();
    ioc.run();
  }

  absl::StatusOr<Socket> Dial() {
    Socket socket(ioc);
    if (connect) {
      ASSIGN_OR_RETURN(int fd, connect(options.timeout));
      RETURN_IF_ERROR(AdoptFd(fd, socket));
      return socket;
    }
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot resolve ", host));
    beast::tcp_stream stream(ioc);
    stream.expires_after(ToChrono(options.timeout));
    stream.async_connect(results, [&ec](beast::error_code e, const tcp::endpoint&) { ec = e; });
    Run();
    if (ec == beast::error::timeout) {
      return absl::DeadlineExceededError(absl::StrCat("connecting to ", host, " timed out"));
    }
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to ", host, ":", port, ": ", ec.message()));
    }
    stream.socket().set_option(tcp::no_delay(true), ec);
    return Socket(stream.release_socket());
  }

  absl::Status Connect() {
    conn.reset();
    ASSIGN_OR_RETURN(Socket socket, Dial());
    if (options.tls) {
      ASSIGN_OR_RETURN(conn, NewTlsClientConn(ioc, *options.tls, host, host_header, options.timeout,
                                              std::move(socket)));
    } else {
      conn = std::make_unique<ClientConn<PlainStream>>(ioc, host_header, options.timeout,
                                                       std::move(socket));
    }
    return absl::OkStatus();
  }
};

namespace {

std::string HostHeader(const std::string& host) {
  return host.find(':') == std::string::npos ? host : absl::StrCat("[", host, "]");
}

}  // namespace

Client::Client(std::string host, uint16_t port, absl::Duration timeout)
    : Client(std::move(host), port, ClientOptions{.timeout = timeout, .tls = std::nullopt}) {}

Client::Client(std::string host, uint16_t port, ClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->host_header = HostHeader(host);
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->options = std::move(options);
}

Client::Client(ConnectFn connect, ClientOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->host = "localhost";
  impl_->host_header = "localhost";
  impl_->connect = std::move(connect);
  impl_->options = std::move(options);
}

Client::~Client() = default;

absl::StatusOr<Response> Client::Send(const Request& request) {
  const bool reused = impl_->conn != nullptr;
  if (!reused) RETURN_IF_ERROR(impl_->Connect());
  auto r = impl_->conn->RoundTrip(request);
  if (!r.ok() && reused && absl::IsUnavailable(r.status())) {
    // The server may have closed the idle connection: one fresh attempt.
    RETURN_IF_ERROR(impl_->Connect());
    r = impl_->conn->RoundTrip(request);
  }
  if (!r.ok() || !impl_->conn->reusable()) impl_->conn.reset();
  return r;
}

absl::Status Client::SendStreaming(const Request& request,
                                   const std::function<bool(const Response& head)>& on_head,
                                   const std::function<bool(std::string_view piece)>& on_body) {
  const bool reused = impl_->conn != nullptr;
  if (!reused) RETURN_IF_ERROR(impl_->Connect());
  bool got_head = false;
  absl::Status s = impl_->conn->Streaming(request, on_head, on_body, &got_head);
  if (!s.ok() && !got_head && reused && absl::IsUnavailable(s)) {
    RETURN_IF_ERROR(impl_->Connect());
    s = impl_->conn->Streaming(request, on_head, on_body, &got_head);
  }
  if (!s.ok() || !impl_->conn->reusable()) impl_->conn.reset();
  return s;
}

// -------------------------------------------------------------------------------------- url

namespace {

// RFC 3986 §2.2/§2.3: unreserved and sub-delims, plus ':' '@' '/' '?' and '%' in a path.
bool IsPathChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("-._~!$&'()*+,;=:@/?%").find(c) != std::string_view::npos;
}

bool IsRegNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

}  // namespace

absl::StatusOr<Url> ParseUrl(std::string_view url) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return absl::InvalidArgumentError("URL has no scheme");
  Url out;
  out.scheme = absl::AsciiStrToLower(std::string(url.substr(0, sep)));
  if (out.scheme == "http") {
    out.port = 80;
  } else if (out.scheme == "https") {
    out.port = 443;
  } else {
    return absl::InvalidArgumentError("URL scheme must be http or https");
  }
  std::string_view rest = url.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos) {
    return absl::InvalidArgumentError("URL has a fragment");
  }
  const size_t auth_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view path = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) {
    return absl::InvalidArgumentError("URL has user info");
  }
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return absl::InvalidArgumentError("URL: unclosed '['");
    out.host = std::string(authority.substr(1, close - 1));
    beast::error_code ec;
    asio::ip::make_address_v6(out.host, ec);
    if (ec) return absl::InvalidArgumentError("URL: bad IPv6 address");
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return absl::InvalidArgumentError("URL: junk after ']'");
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    for (char c : out.host) {
      if (!IsRegNameChar(c)) return absl::InvalidArgumentError("URL: bad character in host");
    }
  }
  if (out.host.empty()) return absl::InvalidArgumentError("URL has no host");
  if (has_port) {
    if (port_text.empty() || port_text.size() > 5) {
      return absl::InvalidArgumentError("URL: bad port");
    }
    uint32_t port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') return absl::InvalidArgumentError("URL: bad port");
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port == 0 || port > 65535) return absl::InvalidArgumentError("URL: port out of range");
    out.port = static_cast<uint16_t>(port);
  }
  for (char c : path) {
    if (!IsPathChar(c)) return absl::InvalidArgumentError("URL: bad character in path");
  }
  out.path = path.empty()
                 ? "/"
                 : (path.front() == '?' ? absl::StrCat("/", std::string(path)) : std::string(path));
  return out;
}

}  // namespace confide::http
