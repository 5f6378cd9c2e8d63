// confide::app OpenAI-compatible API: the inner HTTP API of the enclave (sealed-path.md §1),
// served by one loaded model, with optional guardrails. Pure request -> response logic; no I/O.
//
//   GET  /v1/models, /v1/models/<name>
//   POST /v1/chat/completions   ("stream": true -> text/event-stream of chat.completion.chunk)
//   POST /v1/completions        ("stream": true -> text/event-stream of text_completion)
//   POST /v1/guardrails/apply   (Bedrock ApplyGuardrail request and response shapes)
//
// Errors use OpenAI's shape {"error":{"message","type","param","code"}}: 400 malformed JSON,
// a wrong type or a value out of range (context_length_exceeded included), 404 unknown path or
// model, 405 wrong method, 413 body over the limit, 422 a well-formed request this server
// does not support (n > 1, a role or content part it cannot render), 429 too many requests
// waiting for the model, 500 generation failure. Messages never quote request content.
//
// One generation runs at a time (the model has one KV cache): a mutex serialises them, and at
// most ApiOptions::max_pending requests may wait or run before further ones get 429 (the
// gateway queues; this is the backstop).
#ifndef CONFIDE_APP_OPENAI_API_H_
#define CONFIDE_APP_OPENAI_API_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "guard/guardrail.h"
#include "http/http.h"
#include "llm/chat_template.h"
#include "llm/model.h"
#include "llm/sampler.h"
#include "llm/tokenizer.h"

namespace confide::app {

// StreamWriter receives the next piece of a streamed body and returns false when the receiver
// is gone (the producer then stops generating).
using StreamWriter = std::function<bool(std::string_view piece)>;
// StreamProducer produces a whole streamed body through `write`, blocking until done. Call it
// at most once.
using StreamProducer = std::function<void(const StreamWriter& write)>;

// ApiReply is a response head and either its body (response.body) or, for a stream, the
// producer of its body (stream set, response.body empty).
struct ApiReply {
  http::Response response;
  StreamProducer stream;
};

// ApiOptions bound and name the service.
struct ApiOptions {
  // model_name is the id /v1/models lists and requests must name (when they name one).
  std::string model_name = "model";
  // max_tokens caps (and is the default of) max_tokens / max_completion_tokens.
  size_t max_tokens = 256;
  // chat_template names the template (llm::ChatTemplateFromName); empty: the model's own, or
  // chatml when the model has none (llama.cpp's fallback).
  std::string chat_template = {};
  size_t max_body_bytes = 1024 * 1024;
  size_t max_messages = 256;
  // max_pending is how many generations may run or wait for the model before 429.
  size_t max_pending = 8;
};

// kMaxStopSequences is OpenAI's limit on `stop`.
inline constexpr size_t kMaxStopSequences = 4;
// kMaxJsonDepth bounds request JSON nesting (checked before parsing).
inline constexpr size_t kMaxJsonDepth = 32;

// ChatResult is the outcome of ApiService::Chat.
struct ChatResult {
  std::string content;
  std::string finish_reason;  // "stop", "length" or "content_filter"
  size_t prompt_tokens = 0;
  size_t completion_tokens = 0;
};

// ApiService answers inner API requests with one model. Thread-safe.
class ApiService {
 public:
  // Create takes the model (whose GGUF bytes the caller keeps alive, see llm::Model::FromBuffer)
  // and an optional guardrail (nullptr: none). InvalidArgument when the vocabulary or options
  // are unusable; NotFound when options.chat_template names no template.
  static absl::StatusOr<std::unique_ptr<ApiService>> Create(
      std::unique_ptr<llm::Model> model, std::shared_ptr<const guard::Guardrail> guardrail,
      ApiOptions options);

  // Handle answers `request`. Never fails: errors are OpenAI-shaped error responses. A stream
  // producer refers to this service, which must outlive it.
  ApiReply Handle(const http::Request& request);

  // HandleBuffered is Handle with any stream produced into response.body (tests, non-streaming
  // transports).
  http::Response HandleBuffered(const http::Request& request);

  // Chat answers one user message (guardrails applied as for /v1/chat/completions) with
  // greedy decoding and at most `max_tokens` (capped by ApiOptions::max_tokens). InvalidArgument
  // when the prompt does not fit the context; ResourceExhausted when too many are pending;
  // Internal when generation fails.
  absl::StatusOr<ChatResult> Chat(std::string_view user_message, size_t max_tokens);

  const std::string& model_name() const { return options_.model_name; }
  const llm::Tokenizer& tokenizer() const { return tokenizer_; }
  // chat_template returns the template resolved at creation (options or the model's own).
  llm::ChatTemplate chat_template() const { return chat_template_; }

  // Generation is one prepared request (public for the implementation's helpers).
  struct Generation;

 private:
  ApiService(std::unique_ptr<llm::Model> model, llm::Tokenizer tokenizer,
             llm::ChatTemplate chat_template, std::shared_ptr<const guard::Guardrail> guardrail,
             ApiOptions options);

  ApiReply HandleCompletion(const http::Request& request, bool chat);
  ApiReply HandleGuardrailApply(const http::Request& request);
  ApiReply Run(std::shared_ptr<Generation> g);
  // Generate runs `g` on the model (taking the model mutex) and passes the released text to
  // `on_text`; returns the finish reason ("stop"/"length"; on_text returning false stops early).
  absl::StatusOr<std::string> Generate(Generation& g,
                                       const std::function<bool(std::string_view)>& on_text);
  bool OutputGuarded() const;

  std::unique_ptr<llm::Model> model_;
  llm::Tokenizer tokenizer_;
  llm::ChatTemplate chat_template_;
  std::shared_ptr<const guard::Guardrail> guardrail_;
  ApiOptions options_;
  std::vector<llm::TokenId> stop_tokens_;
  std::mutex model_mu_;
  std::atomic<size_t> pending_{0};
};

// OpenAiError returns an error response in OpenAI's shape with `status`.
http::Response OpenAiError(int status, std::string_view type, std::string_view message,
                           std::string_view param, std::string_view code);

// TextReleaser decides which generated text may be sent: it holds back an incomplete UTF-8
// sequence at the end and the last (longest stop sequence - 1) bytes, and cuts the text at the
// first stop sequence. Exposed for tests.
class TextReleaser {
 public:
  explicit TextReleaser(std::vector<std::string> stops);
  // Push appends `piece` and returns the text that is now safe to send (maybe empty).
  std::string Push(std::string_view piece);
  // Finish returns the rest (after the end of generation).
  std::string Finish();
  // stopped returns true once a stop sequence was found (Push then returns nothing more).
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  size_t holdback_ = 0;
  std::string pending_;
  bool stopped_ = false;
};

// kGuardHoldback is how many bytes of a guarded stream stay unsent until more text follows, so
// that a blocked word or a sensitive entity is complete (and caught) before any of it leaves.
inline constexpr size_t kGuardHoldback = 128;

// GuardedReleaser streams model output under an output guardrail: it re-checks the whole answer
// so far on every piece and releases the (masked) text except the last `holdback` bytes. Once
// the policy blocks, nothing more is released (blocked() and blocked_message() tell). If a
// check would change text already released (an entity longer than the holdback), it fails
// closed as a block. Exposed for tests.
class GuardedReleaser {
 public:
  GuardedReleaser(const guard::Guardrail& guardrail, size_t holdback = kGuardHoldback)
      : guardrail_(guardrail), holdback_(holdback) {}
  // Push appends `piece` and returns the text now safe to send (maybe empty).
  std::string Push(std::string_view piece);
  // Finish checks the whole answer and returns the rest (empty when blocked).
  std::string Finish();
  bool blocked() const { return blocked_; }
  const std::string& blocked_message() const { return blocked_message_; }

 private:
  std::string Release(bool final);
  const guard::Guardrail& guardrail_;
  size_t holdback_;
  std::string all_;   // raw model output so far
  std::string sent_;  // what was released
  bool blocked_ = false;
  std::string blocked_message_;
};

}  // namespace confide::app

#endif  // CONFIDE_APP_OPENAI_API_H_
