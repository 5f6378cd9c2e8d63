#include "client/openai_proxy.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/log.h"
#include "nlohmann/json.hpp"

namespace confide::client {
namespace {

using nlohmann::json;

// kMaxQueuedBytes bounds what a streamed answer buffers when the local client reads slowly;
// the sealed stream then waits (back-pressure) rather than growing memory.
constexpr size_t kMaxQueuedBytes = 1024 * 1024;

bool DropResponseHeader(const std::string& name) {
  std::string lower = absl::AsciiStrToLower(name);
  return lower == "content-length" || lower == "transfer-encoding" || lower == "connection" ||
         lower == "keep-alive";
}

http::Response Relay(const http::Response& inner) {
  http::Response out;
  out.status = inner.status;
  for (const auto& [name, value] : inner.headers.fields()) {
    if (!DropResponseHeader(name)) out.headers.Add(name, value);
  }
  out.body = inner.body;
  return out;
}

http::Response Failure(const absl::Status& s) {
  log::Warning("client.proxy_failed", {{"status", s}});
  return http::Response::Json(502, ErrorJson(s));
}

bool WantsStream(const http::Request& req) {
  if (req.method != "POST" || req.body.empty()) return false;
  json j = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.contains("stream") && j["stream"].is_boolean() &&
         j["stream"].get<bool>();
}

// Bridge hands a streamed answer from the thread running the sealed exchange to the server's
// producer, which writes it to the local client.
struct Bridge {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<http::Response> head;
  std::deque<std::string> pieces;
  size_t queued_bytes = 0;
  bool finished = false;
  bool cancelled = false;  // the local client went away (or never read)
  absl::Status result;
};

// Consumer cancels the exchange when the producer that would read it goes away.
struct Consumer {
  explicit Consumer(std::shared_ptr<Bridge> b) : bridge(std::move(b)) {}
  ~Consumer() {
    std::lock_guard<std::mutex> lock(bridge->mu);
    bridge->cancelled = true;
    bridge->cv.notify_all();
  }
  std::shared_ptr<Bridge> bridge;
};

http::Response Stream(const std::shared_ptr<SealedSession>& session, const http::Request& req) {
  auto bridge = std::make_shared<Bridge>();
  std::thread([session, bridge, req] {
    absl::Status s = session->SendStreaming(
        req,
        [&](const http::Response& head) {
          std::lock_guard<std::mutex> lock(bridge->mu);
          bridge->head = head;
          bridge->cv.notify_all();
          return !bridge->cancelled;
        },
        [&](std::string_view piece) {
          std::unique_lock<std::mutex> lock(bridge->mu);
          bridge->cv.wait(
              lock, [&] { return bridge->cancelled || bridge->queued_bytes < kMaxQueuedBytes; });
          if (bridge->cancelled) return false;
          bridge->pieces.emplace_back(piece);
          bridge->queued_bytes += piece.size();
          bridge->cv.notify_all();
          return true;
        });
    std::lock_guard<std::mutex> lock(bridge->mu);
    bridge->finished = true;
    bridge->result = s;
    bridge->cv.notify_all();
  }).detach();

  std::unique_lock<std::mutex> lock(bridge->mu);
  bridge->cv.wait(lock, [&] { return bridge->head.has_value() || bridge->finished; });
  if (!bridge->head) return Failure(bridge->result);
  http::Response out = Relay(*bridge->head);
  lock.unlock();
  auto consumer = std::make_shared<Consumer>(bridge);
  out.stream = [consumer](http::BodyWriter& w) {
    Bridge& b = *consumer->bridge;
    for (;;) {
      std::unique_lock<std::mutex> l(b.mu);
      b.cv.wait(l, [&] { return !b.pieces.empty() || b.finished; });
      if (b.pieces.empty()) {
        absl::Status result = b.result;
        l.unlock();
        if (!result.ok() && result.code() != absl::StatusCode::kCancelled) {
          log::Warning("client.proxy_stream_failed", {{"status", result}});
          w.Write(absl::StrCat("data: ", ErrorJson(result), "\n\n"));
        }
        return;
      }
      std::string piece = std::move(b.pieces.front());
      b.pieces.pop_front();
      b.queued_bytes -= piece.size();
      b.cv.notify_all();
      l.unlock();
      if (!w.Write(piece)) return;  // the Consumer's destructor cancels the exchange
    }
  };
  return out;
}

}  // namespace

std::string ErrorJson(const absl::Status& status) {
  std::string message(status.message());
  std::string type = "confide_error", code = "sealed_path_failed";
  if (absl::StartsWith(message, "attestation:")) {
    type = "confide_attestation_error";
    code = "attestation_failed";
  } else if (absl::StartsWith(message, "gateway:")) {
    type = "confide_gateway_error";
    code = "gateway_unavailable";
  } else if (absl::StartsWith(message, "response")) {
    type = "confide_response_error";
    code = "response_rejected";
  }
  return json({{"error",
                {{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}})
      .dump();
}

std::string EnclaveJson(const Attestation& a) {
  const auto& doc = a.enclave.verified.document;
  json pcrs = json::object();
  for (uint32_t i : {0u, 1u, 2u, 8u}) {
    if (auto it = doc.pcrs.find(i); it != doc.pcrs.end()) {
      pcrs[std::to_string(i)] = base::HexEncode(it->second);
    }
  }
  return json({{"module_id", doc.module_id},
               {"simulation", a.enclave.verified.simulation},
               {"pcrs", pcrs},
               {"document_time",
                absl::FormatTime(absl::RFC3339_sec, a.document_time, absl::UTCTimeZone())},
               {"enclave", a.enclave_id},
               {"key_id", a.key_config.key_id},
               {"aead_id", a.algorithm.aead_id}})
      .dump();
}

http::Handler ProxyHandler(std::shared_ptr<SealedSession> session) {
  return [session](const http::Request& req) -> http::Response {
    if (req.method == "GET" && req.target == "/confide/enclave") {
      auto a = session->Current();
      if (!a.ok()) return Failure(a.status());
      return http::Response::Json(200, EnclaveJson(**a));
    }
    if (WantsStream(req)) return Stream(session, req);
    auto r = session->Send(req);
    if (!r.ok()) return Failure(r.status());
    return Relay(*r);
  };
}

}  // namespace confide::client
