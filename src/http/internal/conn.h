// Private to confide::http: the connection machinery shared by plaintext (http.cc) and TLS
// (tls.cc) connections. Server sessions and client connections are templates over the stream
// type so that one implementation serves both; only tls.cc instantiates them with an SSL
// stream, so only tls.{h,cc} see Boost.Asio SSL (and thus OpenSSL) headers.
//
// Threading (docs/design/http.md): a server session lives on one strand of the I/O context;
// reads and writes are asynchronous on that strand. A complete request is handed to the
// handler pool; the handler's result is posted back to the strand. A streamed response is
// written from the handler thread by posting each write to the strand and waiting for it, so
// exactly one operation is outstanding on the socket at any time and the I/O threads never
// block.
#ifndef CONFIDE_HTTP_INTERNAL_CONN_H_
#define CONFIDE_HTTP_INTERNAL_CONN_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "http/http.h"
#include "http/internal/beast.h"

namespace confide::http::internal {

// Socket is any connected stream socket (TCP, Unix, vsock).
using Socket = asio::generic::stream_protocol::socket;
// PlainStream adds Beast's per-operation deadlines to a Socket.
using PlainStream = beast::basic_stream<asio::generic::stream_protocol>;

inline std::chrono::nanoseconds ToChrono(absl::Duration d) { return absl::ToChronoNanoseconds(d); }

// kIsTls is true for an SSL stream (it has a next layer; a PlainStream does not).
template <class Stream>
inline constexpr bool kIsTls = requires(Stream& s) {
  s.next_layer();
};

// HandlerPool runs jobs on a fixed set of threads, so that handlers may block.
class HandlerPool {
 public:
  explicit HandlerPool(int threads);
  ~HandlerPool();
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Submit queues `job`; false once Shutdown has begun (the job is dropped).
  bool Submit(std::function<void()> job);
  // Shutdown drops queued jobs, waits for running ones and joins the threads. Idempotent.
  void Shutdown();

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// SessionBase is what the server needs of any session to stop it.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Start begins serving (after a TLS handshake for an SSL stream).
  virtual void Start() = 0;
  // Abort closes the connection from any thread (posted to the session's strand), which
  // cancels the outstanding operation.
  virtual void Abort() = 0;
  // CloseNow closes the socket directly; only when no I/O thread runs.
  virtual void CloseNow() = 0;
};

// ServerCore is the server state sessions use.
struct ServerCore {
  ServerCore(const ServerOptions& o, AsyncHandler h)
      : options(o),
        handler(std::move(h)),
        ioc(o.threads),
        work(asio::make_work_guard(ioc)),
        pool(o.handler_threads) {}

  ServerOptions options;
  AsyncHandler handler;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  HandlerPool pool;
  std::atomic<bool> stopped{false};
  std::mutex sessions_mu;
  std::vector<std::weak_ptr<SessionBase>> sessions;

  // Register records `session` for Stop(); false (and nothing recorded) once stopping.
  bool Register(const std::shared_ptr<SessionBase>& session) {
    std::lock_guard<std::mutex> lock(sessions_mu);
    if (stopped.load()) return false;
    std::erase_if(sessions, [](const std::weak_ptr<SessionBase>& w) { return w.expired(); });
    sessions.push_back(session);
    return true;
  }
};

// ToBeast converts a (non-streamed) response for the wire.
bhttp::response<bhttp::string_body> ToBeast(const Response& r, unsigned version, bool keep_alive);

// IsIoError is true for an error of the transport (not of the HTTP parser).
bool IsIoError(const beast::error_code& ec);

// Session serves one connection: read a request, run the handler on the pool, write the
// response, repeat while keep-alive.
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  // Session constructs its stream from `args` (a Socket, or a Socket and an SSL context).
  template <class... Args>
  Session(ServerCore* core, std::string remote, Args&&... args)
      : stream_(std::forward<Args>(args)...), core_(core), remote_(std::move(remote)) {}

  void Start() override {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kIsTls<Stream>) {
        self->Lowest().expires_after(ToChrono(self->options().read_timeout));
        self->stream_.async_handshake(Stream::server, [self](beast::error_code ec) {
          if (ec) return self->Close();
          self->ReadHeader();
        });
      } else {
        self->ReadHeader();
      }
    });
  }

  void Abort() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->Close(); });
  }
  void CloseNow() override { Close(); }

 private:
  class Writer : public BodyWriter {
   public:
    Writer(Session* session, bool chunked) : session_(session), chunked_(chunked) {}
    bool Write(std::string_view bytes) override {
      if (failed_) return false;
      if (bytes.empty()) return true;  // an empty chunk would end the body
      auto data = std::make_shared<std::string>(bytes);
      const bool chunked = chunked_;
      beast::error_code ec = session_->Await([session = session_, data, chunked](auto done) {
        session->Lowest().expires_after(ToChrono(session->options().read_timeout));
        auto complete = [data, done](beast::error_code e, size_t) { done(e); };
        if (chunked) {
          asio::async_write(session->stream_, bhttp::make_chunk(asio::buffer(*data)), complete);
        } else {
          asio::async_write(session->stream_, asio::buffer(*data), complete);
        }
      });
      if (ec || session_->core_->stopped.load()) failed_ = true;
      return !failed_;
    }
    bool failed() const { return failed_; }

   private:
    Session* session_;
    bool chunked_;
    bool failed_ = false;
  };

  const ServerOptions& options() const { return core_->options; }
  auto& Lowest() { return beast::get_lowest_layer(stream_); }

  void ReadHeader() {
    if (core_->stopped.load()) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
    parser_->body_limit(options().max_body_bytes);
    Lowest().expires_after(ToChrono(options().idle_timeout));
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    Lowest().expires_after(ToChrono(options().read_timeout));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code e, size_t) { self->OnBody(e); });
  }

  void OnReadError(beast::error_code ec) {
    if (IsIoError(ec) || ec == bhttp::error::end_of_stream) return Close();
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
    const bool keep_alive = msg.keep_alive() && !core_->stopped.load();
    const unsigned version = msg.version();
    const bool head = msg.method() == bhttp::verb::head;
    parser_.reset();
    const bool queued = core_->pool.Submit(
        [self = this->shared_from_this(), req = std::move(req), version, keep_alive, head] {
          self->RunHandler(req, version, keep_alive, head);
        });
    if (!queued) Close();
  }

  // RunHandler runs on a handler thread.
  void RunHandler(const Request& req, unsigned version, bool keep_alive, bool head) {
    core_->handler(req, [self = this->shared_from_this(), version, keep_alive, head](Response r) {
      self->Deliver(std::move(r), version, keep_alive, head);
    });
  }

  // Deliver sends the handler's response: on the handler thread for a streamed one, from any
  // thread (posted to the connection's strand) otherwise.
  void Deliver(Response res, unsigned version, bool keep_alive, bool head) {
    if (res.stream && !res.body.empty()) res = Response::Text(500, "internal error\n");
    if (res.stream && !head) return StreamResponse(res, version, keep_alive);
    if (res.stream) res.stream = nullptr;  // HEAD: the head only
    asio::post(stream_.get_executor(),
               [self = this->shared_from_this(), res = std::move(res), version, keep_alive] {
                 self->Send(res, version, keep_alive);
               });
  }

  // Await runs `start(done)` on the strand and blocks the calling (handler) thread until the
  // operation it starts calls done(ec). The I/O threads outlive every handler thread (Stop joins
  // the pool first), so the completion always comes; Close() cancels a pending operation.
  template <class Start>
  beast::error_code Await(Start start) {
    auto promise = std::make_shared<std::promise<beast::error_code>>();
    auto future = promise->get_future();
    asio::post(stream_.get_executor(), [this, start = std::move(start), promise]() mutable {
      if (closed_) return promise->set_value(asio::error::operation_aborted);
      start([promise](beast::error_code ec) { promise->set_value(ec); });
    });
    return future.get();
  }

  // StreamResponse writes a streamed response from the handler thread.
  void StreamResponse(const Response& res, unsigned version, bool keep_alive) {
    const bool chunked = version >= 11;
    if (!chunked) keep_alive = false;  // HTTP/1.0: the body ends when the connection closes
    auto head = std::make_shared<bhttp::response<bhttp::empty_body>>();
    head->version(version);
    head->result(static_cast<unsigned>(res.status));
    for (const auto& [name, value] : res.headers.fields()) head->insert(name, value);
    head->erase(bhttp::field::content_length);
    head->erase(bhttp::field::transfer_encoding);
    if (chunked) head->chunked(true);
    head->keep_alive(keep_alive);
    beast::error_code ec = Await([this, head](auto done) {
      Lowest().expires_after(ToChrono(options().read_timeout));
      auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*head);
      bhttp::async_write_header(stream_, *sr,
                                [head, sr, done](beast::error_code e, size_t) { done(e); });
    });
    bool ok = !ec;
    if (ok) {
      Writer writer(this, chunked);
      res.stream(writer);
      ok = !writer.failed();
    }
    if (ok && chunked) {
      ec = Await([this](auto done) {
        Lowest().expires_after(ToChrono(options().read_timeout));
        asio::async_write(stream_, bhttp::make_chunk_last(),
                          [done](beast::error_code e, size_t) { done(e); });
      });
      ok = !ec;
    }
    asio::post(stream_.get_executor(), [self = this->shared_from_this(), ok, keep_alive] {
      if (ok && keep_alive && !self->core_->stopped.load()) return self->ReadHeader();
      self->Close();
    });
  }

  void Send(const Response& r, unsigned version, bool keep_alive) {
    response_ = ToBeast(r, version, keep_alive);
    Lowest().expires_after(ToChrono(options().read_timeout));
    bhttp::async_write(stream_, response_,
                       [self = this->shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                         if (ec || !keep_alive) return self->Close();
                         self->ReadHeader();
                       });
  }

  void Close() {
    closed_ = true;
    beast::error_code ignored;
    Lowest().socket().shutdown(Socket::shutdown_both, ignored);
    Lowest().socket().close(ignored);
  }

  Stream stream_;
  ServerCore* core_;
  std::string remote_;
  bool closed_ = false;  // on the strand only
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
};

// ClientConnBase is one client connection (plain or TLS).
class ClientConnBase {
 public:
  virtual ~ClientConnBase() = default;
  // RoundTrip sends `request` and reads the whole response.
  virtual absl::StatusOr<Response> RoundTrip(const Request& request) = 0;
  // Streaming sends `request` and delivers the response as Client::SendStreaming describes;
  // *got_head is set once on_head has been called.
  virtual absl::Status Streaming(const Request& request,
                                 const std::function<bool(const Response&)>& on_head,
                                 const std::function<bool(std::string_view)>& on_body,
                                 bool* got_head) = 0;
  // reusable is false once the connection must not carry another request.
  virtual bool reusable() const = 0;
};

// ExchangeError maps a client-side I/O error to a Status.
absl::Status ExchangeError(const beast::error_code& ec);

// ToResponseHead copies status and headers of a Beast response.
template <class Body>
Response ToResponseHead(const bhttp::response<Body>& msg) {
  Response out;
  out.status = static_cast<int>(msg.result_int());
  for (const auto& field : msg) {
    out.headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  return out;
}

// ClientConn drives one connection with its own blocking io_context.
template <class Stream>
class ClientConn : public ClientConnBase {
 public:
  // ClientConn constructs its stream from `args`; `ioc` must be the one the stream uses.
  template <class... Args>
  ClientConn(asio::io_context& ioc, std::string host_header, absl::Duration timeout, Args&&... args)
      : ioc_(ioc),
        host_header_(std::move(host_header)),
        timeout_(timeout),
        stream_(std::forward<Args>(args)...) {}

  Stream& stream() { return stream_; }

  // Run drives the io_context until the started operations complete. Deadlines come from the
  // lowest layer's expires_after, which applies to asynchronous operations only.
  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  absl::StatusOr<Response> RoundTrip(const Request& request) override {
    auto req = ToBeastRequest(request);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (request.method == "HEAD") parser.skip(true);
    beast::error_code write_ec, read_ec;
    beast::get_lowest_layer(stream_).expires_after(ToChrono(timeout_));
    bhttp::async_write(stream_, req, [&](beast::error_code ec, size_t) {
      write_ec = ec;
      if (!ec) {
        bhttp::async_read(stream_, buffer_, parser,
                          [&read_ec](beast::error_code e, size_t) { read_ec = e; });
      }
    });
    Run();
    const beast::error_code ec = write_ec ? write_ec : read_ec;
    if (ec) {
      reusable_ = false;
      return ExchangeError(ec);
    }
    auto& msg = parser.get();
    Response out = ToResponseHead(msg);
    out.body = std::move(msg.body());
    if (!msg.keep_alive()) reusable_ = false;
    return out;
  }

  absl::Status Streaming(const Request& request,
                         const std::function<bool(const Response&)>& on_head,
                         const std::function<bool(std::string_view)>& on_body,
                         bool* got_head) override {
    reusable_ = false;  // until the body has been read to its end
    auto req = ToBeastRequest(request);
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (request.method == "HEAD") parser.skip(true);
    beast::error_code write_ec, read_ec;
    beast::get_lowest_layer(stream_).expires_after(ToChrono(timeout_));
    bhttp::async_write(stream_, req, [&](beast::error_code ec, size_t) {
      write_ec = ec;
      if (!ec) {
        bhttp::async_read_header(stream_, buffer_, parser,
                                 [&read_ec](beast::error_code e, size_t) { read_ec = e; });
      }
    });
    Run();
    if (write_ec) return ExchangeError(write_ec);
    if (read_ec) return ExchangeError(read_ec);
    *got_head = true;
    if (!on_head(ToResponseHead(parser.get()))) return absl::CancelledError("on_head aborted");
    char piece[16 * 1024];
    while (!parser.is_done()) {
      parser.get().body().data = piece;
      parser.get().body().size = sizeof(piece);
      beast::get_lowest_layer(stream_).expires_after(ToChrono(timeout_));
      bhttp::async_read_some(stream_, buffer_, parser,
                             [&read_ec](beast::error_code e, size_t) { read_ec = e; });
      Run();
      if (read_ec == bhttp::error::need_buffer) read_ec = {};
      if (read_ec) return ExchangeError(read_ec);
      const size_t n = sizeof(piece) - parser.get().body().size;
      if (n > 0 && !on_body(std::string_view(piece, n))) {
        return absl::CancelledError("on_body aborted");
      }
    }
    reusable_ = parser.get().keep_alive();
    return absl::OkStatus();
  }

  bool reusable() const override { return reusable_; }

 private:
  bhttp::request<bhttp::string_body> ToBeastRequest(const Request& request) {
    bhttp::request<bhttp::string_body> req;
    req.method_string(request.method);
    req.target(request.target);
    req.version(11);
    for (const auto& [name, value] : request.headers.fields()) req.insert(name, value);
    if (req.find(bhttp::field::host) == req.end()) req.set(bhttp::field::host, host_header_);
    req.body() = request.body;
    req.keep_alive(true);
    req.prepare_payload();
    return req;
  }

  asio::io_context& ioc_;
  std::string host_header_;
  absl::Duration timeout_;
  Stream stream_;
  beast::flat_buffer buffer_;
  bool reusable_ = true;
};

}  // namespace confide::http::internal

#endif  // CONFIDE_HTTP_INTERNAL_CONN_H_
