#include "client/chat.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace confide::client {
namespace {

using nlohmann::json;

constexpr size_t kMaxServerMessage = 200;

std::optional<absl::Status> ErrorObject(const json& j) {
  if (!j.is_object() || !j.contains("error")) return std::nullopt;
  const json& e = j["error"];
  std::string message = "the enclave answered an error";
  if (e.is_object() && e.contains("message") && e["message"].is_string()) {
    message = e["message"].get<std::string>().substr(0, kMaxServerMessage);
  } else if (e.is_string()) {
    message = e.get<std::string>().substr(0, kMaxServerMessage);
  }
  return absl::FailedPreconditionError(absl::StrCat("enclave: ", message));
}

}  // namespace

std::string ChatRequestBody(const std::vector<ChatMessage>& messages, const ChatParams& params) {
  json j = json::object();
  if (!params.model.empty()) j["model"] = params.model;
  json list = json::array();
  for (const ChatMessage& m : messages) list.push_back({{"role", m.role}, {"content", m.content}});
  j["messages"] = std::move(list);
  if (params.max_tokens) j["max_tokens"] = *params.max_tokens;
  if (params.temperature) j["temperature"] = *params.temperature;
  j["stream"] = params.stream;
  return j.dump();
}

absl::StatusOr<std::string> ChatAnswer(std::string_view json_body) {
  json j = json::parse(json_body, nullptr, /*allow_exceptions=*/false);
  if (auto e = ErrorObject(j)) return *e;
  if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() ||
      j["choices"].empty()) {
    return absl::InvalidArgumentError("response: not a chat.completion");
  }
  const json& choice = j["choices"][0];
  if (!choice.is_object() || !choice.contains("message") || !choice["message"].is_object()) {
    return absl::InvalidArgumentError("response: chat.completion without a message");
  }
  const json& content = choice["message"].value("content", json());
  return content.is_string() ? content.get<std::string>() : std::string();
}

absl::StatusOr<std::string> ChatStreamDecoder::Feed(std::string_view piece) {
  ASSIGN_OR_RETURN(std::vector<SseEvent> events, sse_.Feed(piece));
  std::string text;
  for (const SseEvent& e : events) {
    if (done_) continue;  // anything after [DONE] is ignored
    //= https://platform.openai.com/docs/api-reference/chat/streaming
    //# data: [DONE] terminates the stream
    if (e.data == "[DONE]") {
      done_ = true;
      continue;
    }
    json j = json::parse(e.data, nullptr, /*allow_exceptions=*/false);
    if (auto err = ErrorObject(j)) return *err;
    if (!j.is_object()) return absl::InvalidArgumentError("response: a stream event is not JSON");
    if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) continue;
    const json& choice = j["choices"][0];
    if (!choice.is_object()) continue;
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
      finish_reason_ = choice["finish_reason"].get<std::string>();
    }
    if (choice.contains("delta") && choice["delta"].is_object()) {
      const json& c = choice["delta"].value("content", json());
      if (c.is_string()) text += c.get<std::string>();
    }
  }
  return text;
}

absl::Status ChatStreamDecoder::Finish() {
  RETURN_IF_ERROR(sse_.Finish());
  if (!done_) return absl::DataLossError("response truncated: the stream ended before [DONE]");
  return absl::OkStatus();
}

}  // namespace confide::client
