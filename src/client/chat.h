// confide::client chat helpers: OpenAI chat-completions request bodies and answers, as
// `confide chat` and the proxy's tests use them (the enclave's inner API is OpenAI-compatible).
#ifndef CONFIDE_CLIENT_CHAT_H_
#define CONFIDE_CLIENT_CHAT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "client/sse.h"

namespace confide::client {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

struct ChatParams {
  std::string model;  // empty: the enclave's default (the field is omitted)
  std::optional<int> max_tokens;
  std::optional<double> temperature;
  bool stream = true;
};

// ChatRequestBody returns the JSON body of POST /v1/chat/completions.
std::string ChatRequestBody(const std::vector<ChatMessage>& messages, const ChatParams& params);

// ChatAnswer returns choices[0].message.content of a chat.completion. InvalidArgument when the
// body is not one; for an OpenAI error object, FailedPrecondition "enclave: <error.message>"
// (the server's own message, capped at 200 characters).
absl::StatusOr<std::string> ChatAnswer(std::string_view json_body);

// ChatStreamDecoder turns the SSE body of a streamed chat completion into text: each
// chat.completion.chunk's choices[0].delta.content, until "data: [DONE]". Not thread-safe.
class ChatStreamDecoder {
 public:
  // Feed consumes a piece of the SSE body and returns the text it completed (maybe empty).
  // InvalidArgument for malformed SSE or a data line that is not a JSON chunk;
  // FailedPrecondition "enclave: ..." for an error event.
  absl::StatusOr<std::string> Feed(std::string_view piece);
  // Finish checks that the stream ended with [DONE] (DataLoss "response truncated: ..." when
  // not).
  absl::Status Finish();
  bool done() const { return done_; }
  // finish_reason returns the last non-null finish_reason seen ("stop", "length", ...).
  const std::string& finish_reason() const { return finish_reason_; }

 private:
  SseParser sse_;
  bool done_ = false;
  std::string finish_reason_;
};

}  // namespace confide::client

#endif  // CONFIDE_CLIENT_CHAT_H_
