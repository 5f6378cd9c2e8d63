#include "gateway/gateway.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/log.h"
#include "enclave/boot.h"
#include "gateway/upstream.h"
#include "nlohmann/json.hpp"
#include "ohttp/ohttp.h"

namespace confide::gateway {
namespace {

constexpr char kOhttpReq[] = "message/ohttp-req";
constexpr char kChunkedReq[] = "message/ohttp-chunked-req";
constexpr char kChunkedRes[] = "message/ohttp-chunked-res";

// Problem returns an RFC 9457 problem document. Titles are fixed texts of ours, never request
// content.
http::Response Problem(int status, const std::string& title,
                       const std::string& type = "about:blank");

// MethodNotAllowed returns 405 with the Allow header RFC 9110 §15.5.6 requires.
http::Response MethodNotAllowed(const char* allow) {
  http::Response r = Problem(405, "method not allowed");
  r.headers.Add("Allow", allow);
  return r;
}

http::Response Problem(int status, const std::string& title, const std::string& type) {
  http::Response r;
  r.status = status;
  r.headers.Add("Content-Type", "application/problem+json");
  r.headers.Add("Cache-Control", "no-store");
  nlohmann::ordered_json j = {{"type", type}, {"title", title}, {"status", status}};
  r.body = j.dump();
  return r;
}

// MediaType returns the lower-cased type/subtype of a Content-Type value, without parameters.
std::string MediaType(std::optional<std::string_view> content_type) {
  if (!content_type) return "";
  std::string_view v = *content_type;
  v = v.substr(0, v.find(';'));
  return absl::AsciiStrToLower(std::string(absl::StripAsciiWhitespace(std::string(v))));
}

// Path returns the target without its query.
std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

// RelayedHead copies what the gateway passes back from an enclave's response head: the status
// and the media type. Other enclave headers stay on the parent.
http::Response RelayedHead(const http::Response& upstream) {
  http::Response r;
  r.status = upstream.status;
  if (auto ct = upstream.headers.Get("Content-Type"))
    r.headers.Add("Content-Type", std::string(*ct));
  r.headers.Add("Cache-Control", "no-store");
  return r;
}

// Relay carries one forwarded exchange between the thread talking to the enclave (the worker)
// and the handler thread answering the client. The worker never owns the Relay; whoever holds
// the last reference (the handler or the streaming producer) cancels and joins it.
class Relay {
 public:
  Relay(size_t stream_buffer_bytes) : stream_buffer_bytes_(stream_buffer_bytes) {}
  ~Relay() {
    Cancel();
    if (worker_.joinable()) worker_.join();
    std::lock_guard<std::mutex> lock(mu_);
    if (fd_copy_ >= 0) ::close(fd_copy_);
  }

  void Start(enclave::VsockTransport& transport, enclave::VsockAddress address,
             http::Request request, absl::Duration read_timeout, absl::Duration connect_timeout) {
    worker_ = std::thread(
        [this, &transport, address, request = std::move(request), read_timeout, connect_timeout] {
          http::ClientOptions co;
          co.timeout = read_timeout;
          http::Client client(
              VsockConnectFn(
                  transport, address, [this](int fd) { OnConnected(fd); }, connect_timeout),
              co);
          absl::Status st = client.SendStreaming(
              request, [this](const http::Response& head) { return OnHead(head); },
              [this](std::string_view piece) { return OnBody(piece); });
          std::lock_guard<std::mutex> lock(mu_);
          done_ = true;
          result_ = st;
          cv_.notify_all();
        });
  }

  // Cancel stops the exchange: the worker's next callback returns false, and a blocked read
  // on the enclave's socket ends at once.
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    if (fd_copy_ >= 0) ::shutdown(fd_copy_, SHUT_RDWR);
    cv_.notify_all();
  }

  enum class Wait { kReady, kDeadline };

  // WaitHead waits for the response head (or the end of the exchange).
  Wait WaitHead(absl::Time deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, absl::ToChronoTime(deadline),
                          [this] { return head_ready_ || done_; })
               ? Wait::kReady
               : Wait::kDeadline;
  }
  // WaitDone waits for the end of the exchange.
  Wait WaitDone(absl::Time deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_until(lock, absl::ToChronoTime(deadline), [this] { return done_; })
               ? Wait::kReady
               : Wait::kDeadline;
  }

  // NextPiece waits for the next piece of a streamed body: true with `out` set, or false at
  // the end of the body, on cancellation or at the deadline (`out_deadline` then true).
  bool NextPiece(absl::Time deadline, std::string& out, bool& out_deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    out_deadline = !cv_.wait_until(lock, absl::ToChronoTime(deadline),
                                   [this] { return !pieces_.empty() || done_ || cancelled_; });
    if (out_deadline || cancelled_ || pieces_.empty()) return false;
    out = std::move(pieces_.front());
    pieces_.pop_front();
    queued_bytes_ -= out.size();
    cv_.notify_all();
    return true;
  }

  // After WaitHead returned kReady (guarded by the Relay's own state, read-only from here on
  // because the head arrives once).
  bool head_ready() {
    std::lock_guard<std::mutex> lock(mu_);
    return head_ready_;
  }
  bool streaming() {
    std::lock_guard<std::mutex> lock(mu_);
    return streaming_;
  }
  http::Response head() {
    std::lock_guard<std::mutex> lock(mu_);
    return head_;
  }
  absl::Status result() {
    std::lock_guard<std::mutex> lock(mu_);
    return result_;
  }
  bool too_large() {
    std::lock_guard<std::mutex> lock(mu_);
    return too_large_;
  }
  std::string TakeBody() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(body_);
  }

 private:
  void OnConnected(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    if (fd_copy_ >= 0) ::close(fd_copy_);
    fd_copy_ = fd;
    if (cancelled_) ::shutdown(fd_copy_, SHUT_RDWR);
  }

  bool OnHead(const http::Response& head) {
    std::lock_guard<std::mutex> lock(mu_);
    head_ = RelayedHead(head);
    streaming_ = head.status == 200 && MediaType(head.headers.Get("Content-Type")) == kChunkedRes;
    head_ready_ = true;
    cv_.notify_all();
    return !cancelled_;
  }

  bool OnBody(std::string_view piece) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!streaming_) {
      if (body_.size() + piece.size() > kMaxBufferedResponseBytes) {
        too_large_ = true;
        return false;
      }
      body_.append(piece);
      return !cancelled_;
    }
    // Back-pressure: hold the enclave's socket until the client has taken what is queued.
    cv_.wait(lock, [this] { return cancelled_ || queued_bytes_ < stream_buffer_bytes_; });
    if (cancelled_) return false;
    pieces_.emplace_back(piece);
    queued_bytes_ += piece.size();
    cv_.notify_all();
    return true;
  }

  const size_t stream_buffer_bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread worker_;
  int fd_copy_ = -1;
  bool cancelled_ = false;
  bool head_ready_ = false;
  bool streaming_ = false;
  http::Response head_;
  std::string body_;
  bool too_large_ = false;
  std::deque<std::string> pieces_;
  size_t queued_bytes_ = 0;
  bool done_ = false;
  absl::Status result_;
};

// IsConnectionFailure says whether an exchange failed because the enclave is unreachable (as
// opposed to slow or answering badly).
bool IsConnectionFailure(const absl::Status& s) { return absl::IsUnavailable(s); }

// CountingWriter counts the bytes a streamed response sends.
class CountingWriter : public http::BodyWriter {
 public:
  explicit CountingWriter(http::BodyWriter& inner) : inner_(inner) {}
  bool Write(std::string_view bytes) override {
    bytes_ += bytes.size();
    return inner_.Write(bytes);
  }
  size_t bytes() const { return bytes_; }

 private:
  http::BodyWriter& inner_;
  size_t bytes_ = 0;
};

void LogRequest(const std::string& endpoint, int status, absl::Duration duration,
                size_t request_bytes, size_t response_bytes, int enclave_cid) {
  log::Info("gateway.request", {{"endpoint", log::SafeText::Identifier(endpoint)},
                                {"status", status},
                                {"duration_ms", absl::ToDoubleMilliseconds(duration)},
                                {"request_bytes", request_bytes},
                                {"response_bytes", response_bytes},
                                {"enclave_cid", enclave_cid}});
}

}  // namespace

Gateway::Gateway(EnclavePool& pool, enclave::VsockTransport& transport, GatewayMetrics& metrics,
                 GatewayOptions options)
    : pool_(pool),
      transport_(transport),
      metrics_(metrics),
      options_(options),
      clients_(transport, options.upstream_connect_timeout, options.timeout),
      admission_(options.admission, [&metrics](size_t inflight, size_t queued) {
        metrics.inflight->Set({}, static_cast<double>(inflight));
        metrics.queue_depth->Set({}, static_cast<double>(queued));
      }) {}

http::Response Gateway::Handle(const http::Request& request) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + options_.timeout;
  const std::string_view path = PathOf(request.target);
  std::string endpoint = "other";
  int enclave_cid = -1;
  http::Response response;

  if (path == "/healthz") {
    endpoint = "healthz";
    response = request.method == "GET" ? Healthz() : MethodNotAllowed("GET");
  } else if (path == "/metrics") {
    endpoint = "metrics";
    if (request.method != "GET") {
      response = MethodNotAllowed("GET");
    } else {
      response.status = 200;
      response.headers.Add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      response.body = metrics_.registry.Render();
    }
  } else if (path == "/ohttp-keys") {
    endpoint = "ohttp_keys";
    response = request.method == "GET" ? OhttpKeys() : MethodNotAllowed("GET");
  } else if (path == "/v1/attestation") {
    endpoint = "attestation";
    response = request.method == "GET" ? Attestation(request, deadline) : MethodNotAllowed("GET");
  } else if (path == "/v1/ohttp" || path == "/v1/compat/kms-chat") {
    const bool ohttp = path == "/v1/ohttp";
    endpoint = ohttp ? "ohttp" : "kms_chat";
    const std::string media = MediaType(request.headers.Get("Content-Type"));
    std::optional<Target> target;
    if (request.method != "POST") {
      response = MethodNotAllowed("POST");
    } else if (ohttp && media != kOhttpReq && media != kChunkedReq) {
      response =
          Problem(415, "Content-Type must be message/ohttp-req or message/ohttp-chunked-req");
    } else if (!ohttp && media != "application/json") {
      response = Problem(415, "Content-Type must be application/json");
    } else if (request.body.size() > options_.max_body_bytes) {
      metrics_.rejected->Add({"body_too_large"}, 1);
      response = Problem(413, "request body too large");
    } else if (request.body.empty()) {
      response = Problem(400, "empty request body");
    } else if (ohttp) {
      //= https://www.rfc-editor.org/rfc/rfc9458#section-5.2
      //# If the server receives an Encapsulated Request with a key identifier it does not
      //# recognize, ... it SHOULD respond with a 400 status code and a problem type of
      //# "https://iana.org/assignments/http-problem-types#ohttp-key".
      // The gateway routes by that key identifier, the first byte of the encapsulation (§4.1:
      // hdr = key_id (8) || kem_id (16) || kdf_id (16) || aead_id (16)).
      auto routed = pool_.Route(static_cast<uint8_t>(request.body[0]));
      if (!routed.ok()) {
        metrics_.rejected->Add({"unknown_key"}, 1);
        response = Problem(400, "key identifier unknown", kOhttpKeyProblemType);
      } else {
        target = *std::move(routed);
      }
    } else {
      auto picked = pool_.Pick();
      if (!picked.ok()) {
        response = Problem(503, "no healthy enclave");
      } else {
        target = *std::move(picked);
      }
    }
    if (target) {
      enclave_cid = static_cast<int>(target->address.cid);
      response = Forward(request, endpoint, ohttp ? "/ohttp" : "/compat/kms-chat", *target,
                         deadline, &enclave_cid);
      if (ohttp && response.status == 200) {
        metrics_.bytes_relayed->Add({"request"}, static_cast<double>(request.body.size()));
      }
    }
  } else {
    response = Problem(404, "not found");
  }

  if (!response.stream) {
    const absl::Duration took = absl::Now() - start;
    metrics_.RecordRequest(endpoint, response.status, took);
    if (endpoint == "ohttp" && response.status == 200) {
      metrics_.bytes_relayed->Add({"response"}, static_cast<double>(response.body.size()));
    }
    if (endpoint != "metrics" && endpoint != "healthz") {
      LogRequest(endpoint, response.status, took, request.body.size(), response.body.size(),
                 enclave_cid);
    }
    return response;
  }
  // A streamed response is counted when its last byte has gone.
  auto producer = std::move(response.stream);
  const int status = response.status;
  const size_t request_bytes = request.body.size();
  response.stream = [this, producer = std::move(producer), endpoint, status, start, request_bytes,
                     enclave_cid](http::BodyWriter& writer) {
    CountingWriter counting(writer);
    producer(counting);
    const absl::Duration took = absl::Now() - start;
    metrics_.RecordRequest(endpoint, status, took);
    metrics_.bytes_relayed->Add({"response"}, static_cast<double>(counting.bytes()));
    LogRequest(endpoint, status, took, request_bytes, counting.bytes(), enclave_cid);
  };
  return response;
}

http::Response Gateway::Healthz() {
  const size_t n = pool_.RoutableCount();
  nlohmann::ordered_json j = {{"status", n > 0 ? "ok" : "unavailable"}, {"enclaves_healthy", n}};
  return http::Response::Json(n > 0 ? 200 : 503, j.dump());
}

http::Response Gateway::OhttpKeys() {
  auto target = pool_.Pick();
  if (!target.ok()) return Problem(503, "no healthy enclave");
  http::Response r;
  r.status = 200;
  r.headers.Add("Content-Type", "application/ohttp-keys");
  r.headers.Add("Cache-Control", "no-store");
  r.body = std::string(AsStringView(target->ohttp_keys));
  return r;
}

http::Response Gateway::Attestation(const http::Request& request, absl::Time deadline) {
  // The only query parameter is nonce=<hex of 1..512 bytes>.
  const size_t q = request.target.find('?');
  std::string_view query =
      q == std::string::npos ? std::string_view() : std::string_view(request.target).substr(q + 1);
  constexpr std::string_view kNonce = "nonce=";
  if (query.substr(0, kNonce.size()) != kNonce || query.find('&') != std::string_view::npos) {
    return Problem(400, "expected one query parameter: nonce=<hex>");
  }
  auto nonce = base::HexDecode(query.substr(kNonce.size()));
  if (!nonce.ok() || nonce->empty() || nonce->size() > enclave::kMaxNonceBytes) {
    return Problem(400,
                   absl::StrCat("nonce must be 1..", enclave::kMaxNonceBytes, " bytes of hex"));
  }
  auto slot = admission_.Acquire(deadline);
  if (!slot.ok()) {
    metrics_.rejected->Add({"overloaded"}, 1);
    http::Response r = Problem(429, "too many requests");
    r.headers.Add("Retry-After", absl::StrCat(admission_.RetryAfterSeconds()));
    return r;
  }
  // A dead enclave found here is reported and the next one tried (at most one try per enclave).
  const size_t tries = std::max<size_t>(1, pool_.RoutableCount());
  for (size_t attempt = 0; attempt < tries; ++attempt) {
    auto target = pool_.Pick();
    if (!target.ok()) break;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return Problem(504, "enclave did not answer in time");
    http::ClientOptions co;
    co.timeout = std::min(left, options_.upstream_connect_timeout + absl::Seconds(30));
    http::Client client(
        VsockConnectFn(transport_, target->address, nullptr, options_.upstream_connect_timeout),
        co);
    http::Request get;
    get.method = "GET";
    get.target = absl::StrCat("/attestation?nonce=", base::HexEncode(*nonce));
    auto doc = client.Send(get);
    if (!doc.ok()) {
      metrics_.upstream_errors->Add({"attestation"}, 1);
      if (IsConnectionFailure(doc.status())) {
        pool_.ReportFailure(target->address, doc.status());
        continue;
      }
      return Problem(502, "enclave attestation failed");
    }
    if (doc->status != 200) {
      metrics_.upstream_errors->Add({"attestation"}, 1);
      return Problem(502, "enclave attestation failed");
    }
    // Fetched fresh, on the same connection: the document's user_data binds these bytes.
    get.target = "/ohttp-keys";
    auto keys = client.Send(get);
    if (!keys.ok() || keys->status != 200 || keys->body.size() > kMaxOhttpKeysBytes) {
      metrics_.upstream_errors->Add({"attestation"}, 1);
      return Problem(502, "enclave key list unavailable");
    }
    auto configs = ohttp::DecodeKeyConfigList(AsBytes(keys->body));
    if (!configs.ok()) {
      metrics_.upstream_errors->Add({"attestation"}, 1);
      return Problem(502, "enclave key list unusable");
    }
    nlohmann::ordered_json j = {{"attestation_document", base::Base64Encode(AsBytes(doc->body))},
                                {"ohttp_keys", base::Base64Encode(AsBytes(keys->body))},
                                {"enclave", std::to_string(target->address.cid)},
                                {"key_id", configs->front().key_id}};
    http::Response r = http::Response::Json(200, j.dump());
    r.headers.Add("Cache-Control", "no-store");
    return r;
  }
  return Problem(503, "no healthy enclave");
}

http::Response Gateway::Forward(const http::Request& request, const std::string& endpoint,
                                const std::string& upstream_target, const Target& target,
                                absl::Time deadline, int* out_enclave_cid) {
  *out_enclave_cid = static_cast<int>(target.address.cid);
  auto slot = admission_.Acquire(deadline);
  if (!slot.ok()) {
    metrics_.rejected->Add({"overloaded"}, 1);
    http::Response r = Problem(429, "too many requests");
    r.headers.Add("Retry-After", absl::StrCat(admission_.RetryAfterSeconds()));
    return r;
  }
  http::Request upstream;
  upstream.method = "POST";
  upstream.target = upstream_target;
  // Only the media type travels on: client headers (cookies, user agents, addresses) stay here.
  // The media type goes on normalised (lower case, no parameters), as the enclave matches it.
  const std::string media_type = MediaType(request.headers.Get("Content-Type"));
  upstream.headers.Add("Content-Type", media_type);
  upstream.body = request.body;
  if (media_type != kChunkedReq) {
    // One sealed response (or JSON) comes back: exchange it on this thread over a kept-alive
    // connection, no relay needed.
    auto res = clients_.Send(target.address, upstream);
    if (!res.ok()) {
      metrics_.upstream_errors->Add({endpoint}, 1);
      if (IsConnectionFailure(res.status())) {
        pool_.ReportFailure(target.address, res.status());
        clients_.Drop(target.address);
      }
      if (absl::IsDeadlineExceeded(res.status())) {
        return Problem(504, "enclave did not answer in time");
      }
      return Problem(502, "enclave exchange failed");
    }
    if (res->body.size() > kMaxBufferedResponseBytes) {
      metrics_.upstream_errors->Add({endpoint}, 1);
      return Problem(502, "enclave exchange failed");
    }
    http::Response r = RelayedHead(*res);
    r.body = std::move(res->body);
    return r;
  }
  auto relay = std::make_shared<Relay>(options_.stream_buffer_bytes);
  relay->Start(transport_, target.address, std::move(upstream),
               std::max(absl::Milliseconds(1), deadline - absl::Now()),
               options_.upstream_connect_timeout);

  if (relay->WaitHead(deadline) == Relay::Wait::kDeadline) {
    metrics_.upstream_errors->Add({endpoint}, 1);
    return Problem(504, "enclave did not answer in time");
  }
  if (!relay->head_ready()) {
    const absl::Status st = relay->result();
    metrics_.upstream_errors->Add({endpoint}, 1);
    if (IsConnectionFailure(st)) pool_.ReportFailure(target.address, st);
    return Problem(502, "enclave exchange failed");
  }
  if (!relay->streaming()) {
    if (relay->WaitDone(deadline) == Relay::Wait::kDeadline) {
      metrics_.upstream_errors->Add({endpoint}, 1);
      return Problem(504, "enclave did not answer in time");
    }
    if (relay->too_large() || !relay->result().ok()) {
      metrics_.upstream_errors->Add({endpoint}, 1);
      return Problem(502, "enclave exchange failed");
    }
    http::Response r = relay->head();
    r.body = relay->TakeBody();
    return r;
  }
  // Streamed: the status and headers go now; each piece follows as the enclave sends it.
  http::Response r = relay->head();
  auto held = std::make_shared<Slot>(std::move(*slot));
  r.stream = [this, relay, held, deadline, endpoint](http::BodyWriter& writer) {
    std::string piece;
    bool at_deadline = false;
    while (relay->NextPiece(deadline, piece, at_deadline)) {
      if (!writer.Write(piece)) break;  // the client went away
    }
    if (at_deadline || !relay->result().ok()) metrics_.upstream_errors->Add({endpoint}, 1);
    relay->Cancel();
    held->Release();
  };
  return r;
}

int HandlerThreadsFor(const AdmissionOptions& admission) {
  const size_t n = admission.max_inflight + admission.max_queue + kSpareHandlerThreads;
  return static_cast<int>(std::min<size_t>(n, kMaxHandlerThreads));
}

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(
    enclave::VsockTransport& transport, const GatewayServerOptions& options) {
  if (options.gateway.admission.max_inflight < 1 || options.gateway.admission.max_inflight +
                                                            options.gateway.admission.max_queue +
                                                            kSpareHandlerThreads >
                                                        kMaxHandlerThreads) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_inflight must be at least 1 and max_inflight + max_queue at most ",
                     kMaxHandlerThreads - kSpareHandlerThreads));
  }
  std::unique_ptr<GatewayServer> s(new GatewayServer());
  s->metrics_ = std::make_unique<GatewayMetrics>();
  PoolOptions po;
  po.health_interval = options.health_interval;
  ASSIGN_OR_RETURN(
      s->pool_,
      EnclavePool::Create(options.enclaves, po, NewVsockProber(transport, options.health_timeout)));
  GatewayMetrics* m = s->metrics_.get();
  s->pool_->SetObserver([m](const std::vector<EnclaveState>& states) {
    size_t routable = 0;
    for (const EnclaveState& e : states) {
      m->enclave_up->Set({std::to_string(e.address.cid)}, e.routable ? 1 : 0);
      routable += e.routable ? 1 : 0;
    }
    m->enclaves->Set({}, static_cast<double>(routable));
  });
  s->gateway_ = std::make_unique<Gateway>(*s->pool_, transport, *s->metrics_, options.gateway);
  s->pool_->Start();
  http::ServerOptions so;
  so.host = options.host;
  so.port = options.port;
  so.threads = options.io_threads;
  so.handler_threads = HandlerThreadsFor(options.gateway.admission);
  // The server refuses larger bodies itself (413) before reading them.
  so.max_body_bytes = options.gateway.max_body_bytes;
  so.tls = options.tls;
  Gateway* g = s->gateway_.get();
  auto server = http::Server::Start(so, [g](const http::Request& r) { return g->Handle(r); });
  if (!server.ok()) {
    s->pool_->Stop();
    return server.status();
  }
  s->server_ = *std::move(server);
  return s;
}

GatewayServer::~GatewayServer() { Stop(); }

uint16_t GatewayServer::port() const { return server_ ? server_->port() : 0; }

void GatewayServer::Stop() {
  if (server_) server_->Stop();
  if (pool_) pool_->Stop();
}

}  // namespace confide::gateway
