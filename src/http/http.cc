#include "http/http.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "http/internal/beast.h"

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

std::chrono::nanoseconds ToChrono(absl::Duration d) { return absl::ToChronoNanoseconds(d); }

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

}  // namespace

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

namespace {
class Session;
}  // namespace

struct Server::Impl {
  Impl(const ServerOptions& o, Handler h)
      : options(o), handler(std::move(h)), ioc(o.threads), acceptor(ioc) {}

  ServerOptions options;
  Handler handler;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  std::atomic<bool> stopped{false};
  uint16_t port = 0;
  // Live sessions, so Stop() can close their sockets once the I/O threads are joined.
  std::mutex sessions_mu;
  std::vector<std::weak_ptr<Session>> sessions;

  void Accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl* server) : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
  }

  void Start() { ReadHeader(); }
  // CloseNow closes the socket; only called when no I/O thread runs.
  void CloseNow() { Close(); }

 private:
  const ServerOptions& options() const { return server_->options; }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
    parser_->body_limit(options().max_body_bytes);
    stream_.expires_after(ToChrono(options().idle_timeout));
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    stream_.expires_after(ToChrono(options().read_timeout));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code e, size_t) { self->OnBody(e); });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return Close();
    }
    if (ec == bhttp::error::header_limit) {
      return Send(Response::Text(431, "request header fields too large\n"), 11, false);
    }
    if (ec == bhttp::error::body_limit) {
      return Send(Response::Text(413, "request body too large\n"), 11, false);
    }
    return Send(Response::Text(400, "malformed HTTP request\n"), 11, false);
  }

  void OnBody(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& field : msg) {
      req.headers.Add(std::string(field.name_string()), std::string(field.value()));
    }
    req.body = std::move(msg.body());
    req.remote_address = remote_;
    const bool keep_alive = msg.keep_alive() && !server_->stopped.load();
    const unsigned version = msg.version();
    Response res = server_->handler(req);
    Send(res, version, keep_alive);
  }

  void Send(const Response& r, unsigned version, bool keep_alive) {
    response_ = ToBeast(r, version, keep_alive);
    stream_.expires_after(ToChrono(options().read_timeout));
    bhttp::async_write(stream_, response_,
                       [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                         if (ec || !keep_alive) return self->Close();
                         self->ReadHeader();
                       });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  Server::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
  std::string remote_;
};

}  // namespace

void Server::Impl::Accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (stopped.load()) return;
    if (!ec) {
      auto session = std::make_shared<Session>(std::move(socket), this);
      {
        std::lock_guard<std::mutex> lock(sessions_mu);
        std::erase_if(sessions, [](const std::weak_ptr<Session>& w) { return w.expired(); });
        sessions.push_back(session);
      }
      session->Start();
    }
    Accept();
  });
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      Handler handler) {
  if (options.threads < 1 || options.threads > 256) {
    return absl::InvalidArgumentError("HTTP server threads must be 1..256");
  }
  auto impl = std::make_unique<Impl>(options, std::move(handler));
  beast::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("not an IP address: ", options.host));
  tcp::endpoint endpoint(address, options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.host, ":", options.port, ": ", ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->Accept();
  for (int i = 0; i < options.threads; ++i) {
    impl->threads.emplace_back([raw = impl.get()] { raw->ioc.run(); });
  }
  log::Info("http.listen", {{"port", impl->port}, {"threads", options.threads}});
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->port; }

void Server::Stop() {
  if (impl_->stopped.exchange(true)) return;
  impl_->ioc.stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
  // No I/O thread runs now: close the listener and every open connection.
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  std::lock_guard<std::mutex> lock(impl_->sessions_mu);
  for (const auto& weak : impl_->sessions) {
    if (auto session = weak.lock()) session->CloseNow();
  }
  impl_->sessions.clear();
}

Server::~Server() { Stop(); }

// ----------------------------------------------------------------------------------- client

struct Client::Impl {
  std::string host;
  uint16_t port;
  absl::Duration timeout;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  // Run drives the I/O context until the started operations complete. Deadlines come from
  // the stream's expires_after, which applies to asynchronous operations only.
  void Run() {
    ioc.restart();
    ioc.run();
  }

  absl::Status Connect() {
    stream.emplace(ioc);
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot resolve ", host));
    stream->expires_after(ToChrono(timeout));
    stream->async_connect(results, [&ec](beast::error_code e, const tcp::endpoint&) { ec = e; });
    Run();
    if (ec) {
      stream.reset();
      if (ec == beast::error::timeout) {
        return absl::DeadlineExceededError(absl::StrCat("connecting to ", host, " timed out"));
      }
      return absl::UnavailableError(
          absl::StrCat("cannot connect to ", host, ":", port, ": ", ec.message()));
    }
    stream->socket().set_option(tcp::no_delay(true), ec);
    buffer.clear();
    return absl::OkStatus();
  }

  absl::StatusOr<Response> RoundTrip(const Request& request) {
    bhttp::request<bhttp::string_body> req;
    req.method_string(request.method);
    req.target(request.target);
    req.version(11);
    for (const auto& [name, value] : request.headers.fields()) req.insert(name, value);
    if (req.find(bhttp::field::host) == req.end()) req.set(bhttp::field::host, host);
    req.body() = request.body;
    req.keep_alive(true);
    req.prepare_payload();
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    beast::error_code write_ec, read_ec;
    stream->expires_after(ToChrono(timeout));
    bhttp::async_write(*stream, req, [&](beast::error_code ec, size_t) {
      write_ec = ec;
      if (!ec) {
        bhttp::async_read(*stream, buffer, parser,
                          [&read_ec](beast::error_code e, size_t) { read_ec = e; });
      }
    });
    Run();
    const beast::error_code ec = write_ec ? write_ec : read_ec;
    if (ec == beast::error::timeout) return absl::DeadlineExceededError("HTTP request timed out");
    if (ec) return absl::UnavailableError(absl::StrCat("HTTP exchange failed: ", ec.message()));
    auto& msg = parser.get();
    Response out;
    out.status = static_cast<int>(msg.result_int());
    for (const auto& field : msg) {
      out.headers.Add(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(msg.body());
    if (!msg.keep_alive()) stream.reset();
    return out;
  }
};

Client::Client(std::string host, uint16_t port, absl::Duration timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = timeout;
}

Client::~Client() = default;

absl::StatusOr<Response> Client::Send(const Request& request) {
  const bool reused = impl_->stream.has_value();
  if (!reused) RETURN_IF_ERROR(impl_->Connect());
  auto r = impl_->RoundTrip(request);
  if (!r.ok() && reused && absl::IsUnavailable(r.status())) {
    // The server may have closed the idle connection: one fresh attempt.
    RETURN_IF_ERROR(impl_->Connect());
    r = impl_->RoundTrip(request);
  }
  if (!r.ok()) impl_->stream.reset();
  return r;
}

}  // namespace confide::http
