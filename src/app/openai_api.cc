#include "app/openai_api.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/encoding.h"
#include "crypto/random.h"
#include "llm/generate.h"
#include "llm/prompt.h"
#include "nlohmann/json.hpp"

namespace confide::app {

using Json = nlohmann::ordered_json;

namespace {

constexpr char kInvalidRequest[] = "invalid_request_error";

// Dump serialises without ever throwing: invalid UTF-8 (a model can produce any bytes) becomes
// U+FFFD.
std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// RequestError is a client error found while parsing.
struct RequestError {
  int status;
  std::string message;
  std::string param;
  std::string code;
};

http::Response ToResponse(const RequestError& e) {
  return OpenAiError(e.status, e.status == 429 ? "requests" : kInvalidRequest, e.message, e.param,
                     e.code);
}

RequestError BadType(const std::string& param, const std::string& what) {
  return {400, absl::StrCat("'", param, "' must be ", what), param, "invalid_type"};
}

// JsonDepthOk scans `text` and returns false when arrays/objects nest deeper than `max` (so the
// parser and the destructor of the parsed value never recurse far).
bool JsonDepthOk(std::string_view text, size_t max) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

std::optional<RequestError> ParseJsonBody(const http::Request& request, size_t max_body,
                                          Json* out) {
  if (request.body.size() > max_body) {
    return RequestError{413, absl::StrCat("request body exceeds ", max_body, " bytes"), "",
                        "request_too_large"};
  }
  if (!JsonDepthOk(request.body, kMaxJsonDepth)) {
    return RequestError{400, "request JSON nests too deeply", "", "invalid_json"};
  }
  Json j = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return RequestError{400, "request body is not valid JSON", "", "invalid_json"};
  }
  if (!j.is_object()) {
    return RequestError{400, "request body must be a JSON object", "", "invalid_json"};
  }
  *out = std::move(j);
  return std::nullopt;
}

// Field returns the member `name` of `j`, or nullptr when absent or null (OpenAI treats null as
// absent).
const Json* Field(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<RequestError> GetFloat(const Json& j, const char* name, float* out) {
  const Json* v = Field(j, name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) return BadType(name, "a number");
  *out = v->get<float>();
  return std::nullopt;
}

std::optional<RequestError> GetBool(const Json& j, const char* name, bool* out) {
  const Json* v = Field(j, name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) return BadType(name, "a boolean");
  *out = v->get<bool>();
  return std::nullopt;
}

std::string RandomId(const char* prefix) {
  auto bytes = crypto::RandomBytes(12);
  return absl::StrCat(prefix, bytes.ok() ? base::HexEncode(*bytes) : std::string("0"));
}

int64_t NowSeconds() { return absl::ToUnixSeconds(absl::Now()); }

// Utf8CompletePrefix returns the largest m <= n such that s[0, m) does not end inside a UTF-8
// sequence that the following bytes could still complete.
size_t Utf8CompletePrefix(std::string_view s, size_t n) {
  // Look back at most 3 bytes for a lead byte whose sequence runs past n.
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t len = 1;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
    }
    return len > back ? n - back : n;
  }
  return n;
}

// PendingSlot holds one of ApiOptions::max_pending places until destroyed.
class PendingSlot {
 public:
  PendingSlot() = default;
  explicit PendingSlot(std::atomic<size_t>* counter) : counter_(counter) {}
  PendingSlot(PendingSlot&& o) noexcept : counter_(std::exchange(o.counter_, nullptr)) {}
  PendingSlot& operator=(PendingSlot&& o) noexcept {
    Release();
    counter_ = std::exchange(o.counter_, nullptr);
    return *this;
  }
  ~PendingSlot() { Release(); }

 private:
  void Release() {
    if (counter_ != nullptr) counter_->fetch_sub(1);
    counter_ = nullptr;
  }
  std::atomic<size_t>* counter_ = nullptr;
};

std::optional<PendingSlot> TryAcquire(std::atomic<size_t>* counter, size_t max) {
  if (counter->fetch_add(1) >= max) {
    counter->fetch_sub(1);
    return std::nullopt;
  }
  return PendingSlot(counter);
}

RequestError TooBusy() {
  return {429, "the model is busy; retry later", "", "rate_limit_exceeded"};
}

// MessageText returns the text of an OpenAI message `content`: a string, or an array of
// {"type":"text","text":...} parts (joined with "\n"); null is "".
std::optional<RequestError> MessageText(const Json& content, size_t index, std::string* out) {
  const std::string param = absl::StrCat("messages[", index, "].content");
  if (content.is_null()) return std::nullopt;
  if (content.is_string()) {
    *out = content.get<std::string>();
    return std::nullopt;
  }
  if (!content.is_array()) return BadType(param, "a string or an array of content parts");
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    if (!part.is_object()) return BadType(param, "an array of content part objects");
    const Json* type = Field(part, "type");
    if (type == nullptr || !type->is_string()) return BadType(param, "parts with a string type");
    if (type->get<std::string>() != "text") {
      return RequestError{422, "only text content parts are supported", param,
                          "unsupported_content"};
    }
    const Json* t = Field(part, "text");
    if (t == nullptr || !t->is_string()) return BadType(param, "text parts with a string text");
    if (!text.empty()) text += "\n";
    text += t->get<std::string>();
  }
  *out = std::move(text);
  return std::nullopt;
}

}  // namespace

http::Response OpenAiError(int status, std::string_view type, std::string_view message,
                           std::string_view param, std::string_view code) {
  Json e = Json::object();
  e["message"] = std::string(message);
  e["type"] = std::string(type);
  e["param"] = param.empty() ? Json(nullptr) : Json(std::string(param));
  e["code"] = code.empty() ? Json(nullptr) : Json(std::string(code));
  Json body = Json::object();
  body["error"] = std::move(e);
  http::Response r = http::Response::Json(status, Dump(body));
  if (status == 429) r.headers.Set("Retry-After", "1");
  return r;
}

// ---------------------------------------------------------------------------------------------
// TextReleaser

TextReleaser::TextReleaser(std::vector<std::string> stops) : stops_(std::move(stops)) {
  for (const std::string& s : stops_) holdback_ = std::max(holdback_, s.size() - 1);
}

std::string TextReleaser::Push(std::string_view piece) {
  if (stopped_) return "";
  pending_.append(piece.data(), piece.size());
  size_t first = std::string::npos;
  for (const std::string& s : stops_) first = std::min(first, pending_.find(s));
  if (first != std::string::npos) {
    stopped_ = true;
    std::string out = pending_.substr(0, first);
    pending_.clear();
    return out;
  }
  size_t n = pending_.size() > holdback_ ? pending_.size() - holdback_ : 0;
  n = Utf8CompletePrefix(pending_, n);
  std::string out = pending_.substr(0, n);
  pending_.erase(0, n);
  return out;
}

std::string TextReleaser::Finish() {
  if (stopped_) return "";
  return std::exchange(pending_, std::string());
}

// ---------------------------------------------------------------------------------------------
// GuardedReleaser

std::string GuardedReleaser::Push(std::string_view piece) {
  if (blocked_) return "";
  all_.append(piece.data(), piece.size());
  return Release(false);
}

std::string GuardedReleaser::Finish() { return blocked_ ? "" : Release(true); }

std::string GuardedReleaser::Release(bool final) {
  guard::GuardrailResult r = guardrail_.Apply(all_, guard::Source::kOutput);
  if (r.blocked) {
    blocked_ = true;
    blocked_message_ = std::move(r.output);
    return "";
  }
  const std::string& masked = r.intervened ? r.output : all_;
  if (masked.compare(0, sent_.size(), sent_) != 0) {
    // The check changed text that already left: fail closed.
    blocked_ = true;
    blocked_message_ = guardrail_.policy().blocked_outputs_messaging;
    return "";
  }
  size_t end = masked.size();
  if (!final) {
    end = end > holdback_ ? end - holdback_ : 0;
    end = Utf8CompletePrefix(masked, end);
  }
  if (end <= sent_.size()) return "";
  std::string out = masked.substr(sent_.size(), end - sent_.size());
  sent_.append(out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// ApiService

struct ApiService::Generation {
  bool chat = true;
  bool stream = false;
  bool include_usage = false;
  std::string id;
  int64_t created = 0;
  std::vector<llm::TokenId> prompt;
  size_t max_tokens = 0;
  llm::SamplerOptions sampling;
  std::vector<std::string> stop;
  // blocked holds the guardrail's blocked-input message when the input was blocked: it is the
  // answer, and the model does not run.
  std::optional<std::string> blocked;
  size_t completion_tokens = 0;
  PendingSlot slot;
};

ApiService::ApiService(std::unique_ptr<llm::Model> model, llm::Tokenizer tokenizer,
                       llm::ChatTemplate chat_template,
                       std::shared_ptr<const guard::Guardrail> guardrail, ApiOptions options)
    : model_(std::move(model)),
      tokenizer_(std::move(tokenizer)),
      chat_template_(chat_template),
      guardrail_(std::move(guardrail)),
      options_(std::move(options)),
      stop_tokens_(llm::EndOfGenerationIds(tokenizer_)) {}

absl::StatusOr<std::unique_ptr<ApiService>> ApiService::Create(
    std::unique_ptr<llm::Model> model, std::shared_ptr<const guard::Guardrail> guardrail,
    ApiOptions options) {
  if (model == nullptr) return absl::InvalidArgumentError("api: no model");
  if (options.max_tokens == 0 || options.max_pending == 0 || options.max_messages == 0) {
    return absl::InvalidArgumentError("api: max_tokens, max_pending and max_messages must be > 0");
  }
  ASSIGN_OR_RETURN(llm::TokenizerVocab vocab, llm::VocabFromGguf(model->gguf()));
  ASSIGN_OR_RETURN(llm::Tokenizer tokenizer, llm::Tokenizer::Create(vocab));
  llm::ChatTemplate tmpl = llm::ChatTemplate::kChatml;
  if (!options.chat_template.empty()) {
    ASSIGN_OR_RETURN(tmpl, llm::ChatTemplateFromName(options.chat_template));
  } else if (!vocab.chat_template.empty()) {
    ASSIGN_OR_RETURN(tmpl, llm::DetectChatTemplate(vocab.chat_template));
  }
  // Resolved once: pass its name to EncodeChat so every request renders the same way.
  options.chat_template = std::string(llm::ChatTemplateName(tmpl));
  return std::unique_ptr<ApiService>(new ApiService(std::move(model), std::move(tokenizer), tmpl,
                                                    std::move(guardrail), std::move(options)));
}

bool ApiService::OutputGuarded() const {
  // Every output filter (words, PII and regexes, content categories, denied topics, grounding)
  // runs on the accumulated answer, so a stream must be held back whenever any is on.
  return guardrail_ != nullptr && guardrail_->GuardsOutput();
}

ApiReply ApiService::Handle(const http::Request& request) {
  std::string_view path = request.target;
  if (size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  auto method_is = [&](const char* m) -> std::optional<ApiReply> {
    if (request.method == m) return std::nullopt;
    ApiReply r{OpenAiError(405, kInvalidRequest, absl::StrCat("use ", m, " for this path"), "",
                           "method_not_allowed"),
               nullptr};
    r.response.headers.Set("Allow", m);
    return r;
  };
  if (path == "/v1/models" || path.starts_with("/v1/models/")) {
    if (auto r = method_is("GET")) return *std::move(r);
    Json model = Json::object();
    model["id"] = options_.model_name;
    model["object"] = "model";
    model["created"] = 0;
    model["owned_by"] = "confide";
    if (path == "/v1/models") {
      Json list = Json::object();
      list["object"] = "list";
      list["data"] = Json::array({model});
      return {http::Response::Json(200, Dump(list)), nullptr};
    }
    if (path.substr(std::string_view("/v1/models/").size()) != options_.model_name) {
      return {
          OpenAiError(404, kInvalidRequest, "the model does not exist", "model", "model_not_found"),
          nullptr};
    }
    return {http::Response::Json(200, Dump(model)), nullptr};
  }
  if (path == "/v1/chat/completions" || path == "/v1/completions") {
    if (auto r = method_is("POST")) return *std::move(r);
    return HandleCompletion(request, path == "/v1/chat/completions");
  }
  if (path == "/v1/guardrails/apply") {
    if (auto r = method_is("POST")) return *std::move(r);
    return HandleGuardrailApply(request);
  }
  return {OpenAiError(404, kInvalidRequest, "unknown path", "", "not_found"), nullptr};
}

http::Response ApiService::HandleBuffered(const http::Request& request) {
  ApiReply reply = Handle(request);
  if (reply.stream) {
    std::string body;
    reply.stream([&](std::string_view piece) {
      body.append(piece.data(), piece.size());
      return true;
    });
    reply.response.body = std::move(body);
  }
  return std::move(reply.response);
}

ApiReply ApiService::HandleCompletion(const http::Request& request, bool chat) {
  Json j;
  if (auto e = ParseJsonBody(request, options_.max_body_bytes, &j))
    return {ToResponse(*e), nullptr};
  auto fail = [](const RequestError& e) { return ApiReply{ToResponse(e), nullptr}; };

  if (const Json* m = Field(j, "model")) {
    if (!m->is_string()) return fail(BadType("model", "a string"));
    if (m->get<std::string>() != options_.model_name) {
      return fail({404, "the model does not exist", "model", "model_not_found"});
    }
  }
  auto g = std::make_shared<Generation>();
  g->chat = chat;
  g->created = NowSeconds();
  g->id = RandomId(chat ? "chatcmpl-" : "cmpl-");
  g->max_tokens = options_.max_tokens;
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    const Json* v = Field(j, name);
    if (v == nullptr) continue;
    if (!v->is_number_integer() || v->get<int64_t>() < 1) {
      return fail(BadType(name, "an integer >= 1"));
    }
    g->max_tokens = static_cast<size_t>(
        std::min<uint64_t>(v->get<uint64_t>(), static_cast<uint64_t>(options_.max_tokens)));
  }
  if (const Json* n = Field(j, "n")) {
    if (!n->is_number_integer()) return fail(BadType("n", "an integer"));
    if (n->get<int64_t>() != 1) {
      return fail({422, "only n = 1 is supported", "n", "unsupported_value"});
    }
  }
  if (const Json* lp = Field(j, "logprobs");
      lp != nullptr && !(lp->is_boolean() && !lp->get<bool>())) {
    return fail({422, "logprobs are not supported", "logprobs", "unsupported_value"});
  }
  if (const Json* tools = Field(j, "tools"); tools != nullptr && !tools->empty()) {
    return fail({422, "tools are not supported", "tools", "unsupported_value"});
  }
  llm::SamplerOptions& s = g->sampling;
  if (auto e = GetFloat(j, "temperature", &s.temperature)) return fail(*e);
  if (auto e = GetFloat(j, "top_p", &s.top_p)) return fail(*e);
  if (auto e = GetFloat(j, "min_p", &s.min_p)) return fail(*e);
  if (const Json* k = Field(j, "top_k")) {
    if (!k->is_number_integer() || k->get<int64_t>() < 0) {
      return fail(BadType("top_k", "an integer >= 0"));
    }
    s.top_k = static_cast<size_t>(k->get<uint64_t>());
  }
  if (absl::Status st = llm::ValidateSamplerOptions(s); !st.ok()) {
    return fail({400, std::string(st.message()), "", "invalid_value"});
  }
  if (const Json* seed = Field(j, "seed")) {
    if (!seed->is_number_integer()) return fail(BadType("seed", "an integer"));
    s.seed = seed->is_number_unsigned() ? seed->get<uint64_t>()
                                        : static_cast<uint64_t>(seed->get<int64_t>());
  } else {
    uint8_t b[8] = {};
    (void)crypto::FillRandom(b);
    for (uint8_t x : b) s.seed = (s.seed << 8) | x;
  }
  if (const Json* stop = Field(j, "stop")) {
    std::vector<std::string> stops;
    if (stop->is_string()) {
      stops.push_back(stop->get<std::string>());
    } else if (stop->is_array() && stop->size() <= kMaxStopSequences) {
      for (const Json& x : *stop) {
        if (!x.is_string()) return fail(BadType("stop", "a string or an array of strings"));
        stops.push_back(x.get<std::string>());
      }
    } else {
      return fail(BadType("stop", "a string or an array of at most 4 strings"));
    }
    for (std::string& x : stops) {
      if (!x.empty()) g->stop.push_back(std::move(x));
    }
  }
  if (auto e = GetBool(j, "stream", &g->stream)) return fail(*e);
  if (const Json* so = Field(j, "stream_options"); so != nullptr && g->stream) {
    if (!so->is_object()) return fail(BadType("stream_options", "an object"));
    if (auto e = GetBool(*so, "include_usage", &g->include_usage)) return fail(*e);
  }

  // The prompt, with the input guardrail applied to what the user wrote.
  auto guard_input = [&](std::string* text) {
    if (guardrail_ == nullptr || g->blocked) return;
    guard::GuardrailResult r = guardrail_->Apply(*text, guard::Source::kInput);
    if (r.blocked) {
      g->blocked = std::move(r.output);
    } else if (r.intervened) {
      *text = std::move(r.output);  // anonymised: the model sees the masked text
    }
  };
  if (chat) {
    const Json* messages = Field(j, "messages");
    if (messages == nullptr || !messages->is_array() || messages->empty()) {
      return fail(BadType("messages", "a non-empty array"));
    }
    if (messages->size() > options_.max_messages) {
      return fail({400, absl::StrCat("at most ", options_.max_messages, " messages"), "messages",
                   "too_many_messages"});
    }
    std::vector<llm::ChatMessage> chat_messages;
    for (size_t i = 0; i < messages->size(); ++i) {
      const Json& m = (*messages)[i];
      const std::string param = absl::StrCat("messages[", i, "]");
      if (!m.is_object()) return fail(BadType(param, "an object"));
      const Json* role = Field(m, "role");
      if (role == nullptr || !role->is_string()) {
        return fail(BadType(param + ".role", "a string"));
      }
      std::string r = role->get<std::string>();
      if (r == "developer") r = "system";
      if (r != "system" && r != "user" && r != "assistant") {
        return fail({422,
                     "roles other than system, developer, user and assistant are not supported",
                     param + ".role", "unsupported_value"});
      }
      std::string content;
      if (const Json* c = Field(m, "content")) {
        if (auto e = MessageText(*c, i, &content)) return fail(*e);
      }
      if (r != "assistant") guard_input(&content);
      chat_messages.push_back({std::move(r), std::move(content)});
    }
    if (!g->blocked) {
      auto ids = llm::EncodeChat(tokenizer_, "", chat_messages, options_.chat_template);
      if (!ids.ok()) {
        return fail({422, "the messages cannot be rendered in the model's chat template",
                     "messages", "unsupported_value"});
      }
      g->prompt = std::move(*ids);
    }
  } else {
    const Json* prompt = Field(j, "prompt");
    std::string text;
    if (prompt != nullptr && prompt->is_string()) {
      text = prompt->get<std::string>();
    } else if (prompt != nullptr && prompt->is_array() && prompt->size() == 1 &&
               (*prompt)[0].is_string()) {
      text = (*prompt)[0].get<std::string>();
    } else {
      return fail(BadType("prompt", "a string (or an array of one string)"));
    }
    guard_input(&text);
    if (!g->blocked) g->prompt = tokenizer_.Encode(text, {.add_special = true});
    if (!g->blocked && g->prompt.empty()) {
      return fail({400, "the prompt encodes to no tokens", "prompt", "invalid_value"});
    }
  }
  const size_t context = model_->config().context_length;
  if (g->prompt.size() >= context) {
    return fail({400,
                 absl::StrCat("this model's context is ", context, " tokens; the prompt has ",
                              g->prompt.size()),
                 chat ? "messages" : "prompt", "context_length_exceeded"});
  }
  auto slot = TryAcquire(&pending_, options_.max_pending);
  if (!slot) return fail(TooBusy());
  g->slot = std::move(*slot);
  return Run(std::move(g));
}

absl::StatusOr<std::string> ApiService::Generate(
    Generation& g, const std::function<bool(std::string_view)>& on_text) {
  std::lock_guard<std::mutex> lock(model_mu_);
  TextReleaser releaser(g.stop);
  llm::GenerateOptions options;
  options.max_new_tokens = g.max_tokens;
  options.stop_tokens = stop_tokens_;
  llm::Sampler sampler(g.sampling);
  bool receiver_gone = false;
  auto ids = llm::Generate(*model_, g.prompt, options, &sampler, [&](int token) {
    auto piece = tokenizer_.TokenToPiece(token);
    if (!piece.ok()) return true;  // cannot happen for ids the model produced
    std::string out = releaser.Push(*piece);
    if (!out.empty() && !on_text(out)) {
      receiver_gone = true;
      return false;
    }
    return !releaser.stopped();
  });
  if (!ids.ok()) return absl::InternalError("generation failed");
  g.completion_tokens = ids->size();
  if (receiver_gone) return std::string("stop");
  if (releaser.stopped()) return std::string("stop");
  if (std::string rest = releaser.Finish(); !rest.empty()) on_text(rest);
  if (ids->size() >= g.max_tokens ||
      g.prompt.size() + ids->size() >= model_->config().context_length) {
    return std::string("length");
  }
  return std::string("stop");
}

ApiReply ApiService::Run(std::shared_ptr<Generation> g) {
  auto usage = [](const Generation& gen) {
    Json u = Json::object();
    u["prompt_tokens"] = gen.prompt.size();
    u["completion_tokens"] = gen.completion_tokens;
    u["total_tokens"] = gen.prompt.size() + gen.completion_tokens;
    return u;
  };
  // Output guardrail over a whole answer: returns the text to send and sets `finish` to
  // content_filter when blocked.
  auto guard_output = [this](std::string text, std::string* finish) {
    if (guardrail_ == nullptr) return text;
    guard::GuardrailResult r = guardrail_->Apply(text, guard::Source::kOutput);
    if (r.blocked) *finish = "content_filter";
    return r.intervened ? std::move(r.output) : text;
  };

  if (!g->stream) {
    std::string text, finish = "content_filter";
    if (g->blocked) {
      text = *g->blocked;
    } else {
      auto f = Generate(*g, [&](std::string_view piece) {
        text.append(piece.data(), piece.size());
        return true;
      });
      if (!f.ok()) {
        return {OpenAiError(500, "server_error", "generation failed", "", "internal_error"),
                nullptr};
      }
      finish = *f;
      text = guard_output(std::move(text), &finish);
    }
    Json choice = Json::object();
    choice["index"] = 0;
    if (g->chat) {
      Json message = Json::object();
      message["role"] = "assistant";
      message["content"] = text;
      choice["message"] = std::move(message);
    } else {
      choice["text"] = text;
    }
    choice["logprobs"] = nullptr;
    choice["finish_reason"] = finish;
    Json body = Json::object();
    body["id"] = g->id;
    body["object"] = g->chat ? "chat.completion" : "text_completion";
    body["created"] = g->created;
    body["model"] = options_.model_name;
    body["choices"] = Json::array({std::move(choice)});
    body["usage"] = usage(*g);
    return {http::Response::Json(200, Dump(body)), nullptr};
  }

  http::Response head;
  head.status = 200;
  head.headers.Set("Content-Type", "text/event-stream");
  head.headers.Set("Cache-Control", "no-cache");
  StreamProducer producer = [this, g, usage](const StreamWriter& write) {
    auto chunk = [&](Json delta_or_text, const Json& finish) {
      Json choice = Json::object();
      choice["index"] = 0;
      if (g->chat) {
        choice["delta"] = std::move(delta_or_text);
      } else {
        choice["text"] = std::move(delta_or_text);
      }
      choice["logprobs"] = nullptr;
      choice["finish_reason"] = finish;
      Json c = Json::object();
      c["id"] = g->id;
      c["object"] = g->chat ? "chat.completion.chunk" : "text_completion";
      c["created"] = g->created;
      c["model"] = options_.model_name;
      c["choices"] = Json::array({std::move(choice)});
      if (g->include_usage) c["usage"] = nullptr;
      return write(absl::StrCat("data: ", Dump(c), "\n\n"));
    };
    auto content = [&](std::string_view text) {
      if (!g->chat) return chunk(Json(std::string(text)), nullptr);
      Json delta = Json::object();
      delta["content"] = std::string(text);
      return chunk(std::move(delta), nullptr);
    };
    if (g->chat) {
      Json delta = Json::object();
      delta["role"] = "assistant";
      delta["content"] = "";
      if (!chunk(std::move(delta), nullptr)) return;
    }
    std::string finish = "content_filter";
    if (g->blocked) {
      if (!content(*g->blocked)) return;
    } else if (OutputGuarded()) {
      // The output guardrail sees the whole answer so far before any new text leaves; the last
      // kGuardHoldback bytes wait for more, so a match is complete before it could be sent.
      GuardedReleaser releaser(*guardrail_);
      bool gone = false;
      auto f = Generate(*g, [&](std::string_view piece) {
        std::string out = releaser.Push(piece);
        if (releaser.blocked()) return false;
        gone = !out.empty() && !content(out);
        return !gone;
      });
      if (gone) return;
      if (!f.ok()) {
        write(
            "data: {\"error\":{\"message\":\"generation failed\",\"type\":\"server_error\"}}\n\n");
        return;
      }
      finish = *f;
      if (!releaser.blocked()) {
        std::string rest = releaser.Finish();
        if (!rest.empty() && !content(rest)) return;
      }
      if (releaser.blocked()) {
        finish = "content_filter";
        if (!content(releaser.blocked_message())) return;
      }
    } else {
      bool gone = false;
      auto f = Generate(*g, [&](std::string_view piece) {
        gone = !content(piece);
        return !gone;
      });
      if (gone) return;
      if (!f.ok()) {
        write(
            "data: {\"error\":{\"message\":\"generation failed\",\"type\":\"server_error\"}}\n\n");
        return;
      }
      finish = *f;
    }
    if (!chunk(g->chat ? Json::object() : Json(""), Json(finish))) return;
    if (g->include_usage) {
      Json c = Json::object();
      c["id"] = g->id;
      c["object"] = g->chat ? "chat.completion.chunk" : "text_completion";
      c["created"] = g->created;
      c["model"] = options_.model_name;
      c["choices"] = Json::array();
      c["usage"] = usage(*g);
      if (!write(absl::StrCat("data: ", Dump(c), "\n\n"))) return;
    }
    write("data: [DONE]\n\n");
  };
  return {std::move(head), std::move(producer)};
}

absl::StatusOr<ChatResult> ApiService::Chat(std::string_view user_message, size_t max_tokens) {
  Generation g;
  g.max_tokens = std::clamp<size_t>(max_tokens, 1, options_.max_tokens);
  g.sampling.temperature = 0.0f;
  std::string text(user_message);
  if (guardrail_ != nullptr) {
    guard::GuardrailResult r = guardrail_->Apply(text, guard::Source::kInput);
    if (r.blocked) return ChatResult{r.output, "content_filter", 0, 0};
    if (r.intervened) text = std::move(r.output);
  }
  const llm::ChatMessage message{"user", std::move(text)};
  ASSIGN_OR_RETURN(g.prompt,
                   llm::EncodeChat(tokenizer_, "", std::span(&message, 1), options_.chat_template));
  if (g.prompt.size() >= model_->config().context_length) {
    return absl::InvalidArgumentError("the prompt does not fit the model's context");
  }
  auto slot = TryAcquire(&pending_, options_.max_pending);
  if (!slot) return absl::ResourceExhaustedError("the model is busy");
  ChatResult result;
  auto collect = [&result](std::string_view piece) {
    result.content.append(piece.data(), piece.size());
    return true;
  };
  ASSIGN_OR_RETURN(result.finish_reason, Generate(g, collect));
  if (guardrail_ != nullptr) {
    guard::GuardrailResult r = guardrail_->Apply(result.content, guard::Source::kOutput);
    if (r.blocked) result.finish_reason = "content_filter";
    if (r.intervened) result.content = std::move(r.output);
  }
  result.prompt_tokens = g.prompt.size();
  result.completion_tokens = g.completion_tokens;
  return result;
}

ApiReply ApiService::HandleGuardrailApply(const http::Request& request) {
  Json j;
  if (auto e = ParseJsonBody(request, options_.max_body_bytes, &j))
    return {ToResponse(*e), nullptr};
  auto fail = [](const RequestError& e) { return ApiReply{ToResponse(e), nullptr}; };
  if (guardrail_ == nullptr) {
    return fail({404, "this enclave has no guardrail configured", "", "guardrail_not_found"});
  }
  const Json* source = Field(j, "source");
  if (source == nullptr || !source->is_string() || (*source != "INPUT" && *source != "OUTPUT")) {
    return fail(BadType("source", "\"INPUT\" or \"OUTPUT\""));
  }
  // content: [{"text": {"text": "...", "qualifiers": [...]}}, ...] (ApplyGuardrail's
  // GuardrailContentBlock list; grounding_source and query blocks feed contextual grounding).
  const Json* content = Field(j, "content");
  if (content == nullptr || !content->is_array() || content->empty()) {
    return fail(BadType("content", "a non-empty array of {\"text\":{\"text\":...}} blocks"));
  }
  auto input = guard::ParseApplyGuardrailContent(*content);
  if (!input.ok()) {
    return fail(
        BadType("content", "an array of {\"text\":{\"text\":...,\"qualifiers\":[...]}} blocks"));
  }
  guard::GuardrailResult r = guardrail_->Apply(
      *input, *source == "INPUT" ? guard::Source::kInput : guard::Source::kOutput);
  return {http::Response::Json(200, Dump(guard::ToApplyGuardrailJson(r))), nullptr};
}

}  // namespace confide::app
