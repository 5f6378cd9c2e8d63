#include "llm/chat_template.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"

namespace confide::llm {
namespace {

constexpr std::array<std::pair<std::string_view, ChatTemplate>, 13> kNames = {{
    {"chatml", ChatTemplate::kChatml},
    {"llama2", ChatTemplate::kLlama2},
    {"llama2-sys", ChatTemplate::kLlama2Sys},
    {"llama2-sys-bos", ChatTemplate::kLlama2SysBos},
    {"llama2-sys-strip", ChatTemplate::kLlama2SysStrip},
    {"llama3", ChatTemplate::kLlama3},
    {"mistral-v1", ChatTemplate::kMistralV1},
    {"mistral-v3", ChatTemplate::kMistralV3},
    {"mistral-v3-tekken", ChatTemplate::kMistralV3Tekken},
    {"mistral-v7", ChatTemplate::kMistralV7},
    {"phi3", ChatTemplate::kPhi3},
    {"gemma", ChatTemplate::kGemma},
    {"zephyr", ChatTemplate::kZephyr},
}};

std::string SupportedNames() {
  std::string s;
  for (const auto& [name, tmpl] : kNames)
    absl::StrAppend(&s, s.empty() ? "" : ", ", std::string(name));
  return s;
}

// Trim removes leading and trailing ASCII whitespace (Python's str.strip() for ASCII text).
std::string Trim(std::string_view s) {
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  };
  size_t b = 0;
  size_t e = s.size();
  while (b < e && space(s[b])) ++b;
  while (e > b && space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

// Builder collects segments, merging adjacent template text.
class Builder {
 public:
  void T(std::string_view text) {
    if (text.empty()) return;
    if (!segs_.empty() && !segs_.back().is_content) {
      segs_.back().text.append(text);
    } else {
      segs_.push_back(ChatSegment{std::string(text), false});
    }
  }
  void C(std::string_view text) {
    if (!text.empty()) segs_.push_back(ChatSegment{std::string(text), true});
  }
  std::vector<ChatSegment> Take() { return std::move(segs_); }

 private:
  std::vector<ChatSegment> segs_;
};

}  // namespace

std::string_view ChatTemplateName(ChatTemplate tmpl) {
  for (const auto& [name, t] : kNames) {
    if (t == tmpl) return name;
  }
  return "unknown";
}

absl::StatusOr<ChatTemplate> ChatTemplateFromName(std::string_view name) {
  for (const auto& [n, t] : kNames) {
    if (n == name) return t;
  }
  return absl::NotFoundError(
      absl::StrCat("chat template: unknown template name; supported: ", SupportedNames()));
}

// DetectChatTemplate follows the order of llama.cpp's llm_chat_detect_template (src/llama-chat.cpp)
// for the formats supported here.
absl::StatusOr<ChatTemplate> DetectChatTemplate(std::string_view jinja) {
  const auto has = [&](std::string_view s) { return jinja.find(s) != std::string_view::npos; };
  if (has("<|im_start|>")) {
    // <|im_sep|> is phi-4 and <end_of_utterance> SmolVLM: neither is chatml.
    if (!has("<|im_sep|>") && !has("<end_of_utterance>")) return ChatTemplate::kChatml;
  } else if (jinja.substr(0, 7) == "mistral" || has("[INST]")) {
    if (has("[SYSTEM_PROMPT]")) return ChatTemplate::kMistralV7;
    if (has("' [INST] ' + system_message") || has("[AVAILABLE_TOOLS]")) {
      if (has(" [INST]")) return ChatTemplate::kMistralV1;
      if (has("\"[INST]\"")) return ChatTemplate::kMistralV3Tekken;
      return ChatTemplate::kMistralV3;
    }
    if (has("content.strip()")) return ChatTemplate::kLlama2SysStrip;
    if (has("bos_token + '[INST]")) return ChatTemplate::kLlama2SysBos;
    if (has("<<SYS>>")) return ChatTemplate::kLlama2Sys;
    return ChatTemplate::kLlama2;
  } else if (has("<|assistant|>") && has("<|end|>")) {
    return ChatTemplate::kPhi3;
  } else if (has("<|assistant|>") && has("<|user|>")) {
    // falcon3 / glmedge: not supported.
  } else if (has("<|user|>") && has("<|endoftext|>")) {
    return ChatTemplate::kZephyr;
  } else if (has("bos_token + message['role']")) {
    // monarch: not supported.
  } else if (has("<start_of_turn>")) {
    return ChatTemplate::kGemma;
  } else if (has("<|start_header_id|>") && has("<|end_header_id|>")) {
    return ChatTemplate::kLlama3;
  }
  return absl::NotFoundError(absl::StrCat(
      "chat template: tokenizer.chat_template matches no supported format; choose one by name (",
      SupportedNames(), ")"));
}

absl::StatusOr<ChatTemplate> ResolveChatTemplate(std::string_view override_name,
                                                 std::string_view jinja) {
  if (!override_name.empty()) return ChatTemplateFromName(override_name);
  if (jinja.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "chat template: the model has no tokenizer.chat_template; choose one by name (",
        SupportedNames(), ")"));
  }
  // A template may also be given by name in place of Jinja source (as llama.cpp allows).
  if (absl::StatusOr<ChatTemplate> named = ChatTemplateFromName(jinja); named.ok()) return named;
  return DetectChatTemplate(jinja);
}

// The formatters below reproduce llama.cpp's llm_chat_apply_template (src/llama-chat.cpp); the
// expected strings in chat_template_test.cc come from its tests/test-chat-template.cpp.
absl::StatusOr<std::vector<ChatSegment>> FormatChatSegments(ChatTemplate tmpl,
                                                            std::span<const ChatMessage> messages,
                                                            bool add_generation_prompt) {
  for (const ChatMessage& m : messages) {
    if (m.role != "system" && m.role != "user" && m.role != "assistant") {
      return absl::InvalidArgumentError(
          "chat template: message role must be system, user or assistant");
    }
  }
  Builder b;
  switch (tmpl) {
    case ChatTemplate::kChatml:
      for (const ChatMessage& m : messages) {
        b.T(absl::StrCat("<|im_start|>", m.role, "\n"));
        b.C(m.content);
        b.T("<|im_end|>\n");
      }
      if (add_generation_prompt) b.T("<|im_start|>assistant\n");
      break;
    case ChatTemplate::kLlama2:
    case ChatTemplate::kLlama2Sys:
    case ChatTemplate::kLlama2SysBos:
    case ChatTemplate::kLlama2SysStrip: {
      const bool system_block = tmpl != ChatTemplate::kLlama2;
      const bool bos_inside = tmpl == ChatTemplate::kLlama2SysBos;
      const bool strip = tmpl == ChatTemplate::kLlama2SysStrip;
      bool inside_turn = true;
      b.T("[INST] ");
      for (const ChatMessage& m : messages) {
        const std::string content = strip ? Trim(m.content) : m.content;
        if (!inside_turn) {
          inside_turn = true;
          b.T(bos_inside ? "<s>[INST] " : "[INST] ");
        }
        if (m.role == "system") {
          if (system_block) {
            b.T("<<SYS>>\n");
            b.C(content);
            b.T("\n<</SYS>>\n\n");
          } else {
            b.C(content);
            b.T("\n");
          }
        } else if (m.role == "user") {
          b.C(content);
          b.T(" [/INST]");
        } else {
          b.C(content);
          b.T("</s>");
          inside_turn = false;
        }
      }
      break;
    }
    case ChatTemplate::kLlama3:
      for (const ChatMessage& m : messages) {
        b.T(absl::StrCat("<|start_header_id|>", m.role, "<|end_header_id|>\n\n"));
        b.C(Trim(m.content));
        b.T("<|eot_id|>");
      }
      if (add_generation_prompt) b.T("<|start_header_id|>assistant<|end_header_id|>\n\n");
      break;
    case ChatTemplate::kMistralV1:
    case ChatTemplate::kMistralV3:
    case ChatTemplate::kMistralV3Tekken: {
      const std::string_view leading = tmpl == ChatTemplate::kMistralV1 ? " " : "";
      const std::string_view trailing = tmpl == ChatTemplate::kMistralV3Tekken ? "" : " ";
      const bool trim_assistant = tmpl == ChatTemplate::kMistralV3;
      bool inside_turn = false;
      for (const ChatMessage& m : messages) {
        if (!inside_turn) {
          b.T(absl::StrCat(std::string(leading), "[INST]", std::string(trailing)));
          inside_turn = true;
        }
        if (m.role == "system") {
          b.C(m.content);
          b.T("\n\n");
        } else if (m.role == "user") {
          b.C(m.content);
          b.T(absl::StrCat(std::string(leading), "[/INST]"));
        } else {
          b.T(trailing);
          b.C(trim_assistant ? Trim(m.content) : m.content);
          b.T("</s>");
          inside_turn = false;
        }
      }
      break;
    }
    case ChatTemplate::kMistralV7:
      for (const ChatMessage& m : messages) {
        if (m.role == "system") {
          b.T("[SYSTEM_PROMPT] ");
          b.C(m.content);
          b.T("[/SYSTEM_PROMPT]");
        } else if (m.role == "user") {
          b.T("[INST] ");
          b.C(m.content);
          b.T("[/INST]");
        } else {
          b.T(" ");
          b.C(m.content);
          b.T("</s>");
        }
      }
      break;
    case ChatTemplate::kPhi3:
      for (const ChatMessage& m : messages) {
        b.T(absl::StrCat("<|", m.role, "|>\n"));
        b.C(m.content);
        b.T("<|end|>\n");
      }
      if (add_generation_prompt) b.T("<|assistant|>\n");
      break;
    case ChatTemplate::kGemma: {
      // Gemma has no system role: the system text is prepended to the next user turn.
      std::string system;
      for (const ChatMessage& m : messages) {
        if (m.role == "system") {
          system += Trim(m.content);
          continue;
        }
        const std::string role = m.role == "assistant" ? "model" : m.role;
        b.T(absl::StrCat("<start_of_turn>", role, "\n"));
        if (!system.empty() && role != "model") {
          b.C(system);
          b.T("\n\n");
          system.clear();
        }
        b.C(Trim(m.content));
        b.T("<end_of_turn>\n");
      }
      if (add_generation_prompt) b.T("<start_of_turn>model\n");
      break;
    }
    case ChatTemplate::kZephyr:
      for (const ChatMessage& m : messages) {
        b.T(absl::StrCat("<|", m.role, "|>\n"));
        b.C(m.content);
        b.T("<|endoftext|>\n");
      }
      if (add_generation_prompt) b.T("<|assistant|>\n");
      break;
  }
  return b.Take();
}

absl::StatusOr<ChatPrompt> FormatChatPrompt(ChatTemplate tmpl,
                                            std::span<const ChatMessage> messages,
                                            bool add_generation_prompt) {
  ASSIGN_OR_RETURN(std::vector<ChatSegment> segs,
                   FormatChatSegments(tmpl, messages, add_generation_prompt));
  ChatPrompt prompt;
  for (const ChatSegment& s : segs) {
    if (!s.is_content) prompt.template_spans.emplace_back(prompt.text.size(), s.text.size());
    prompt.text += s.text;
  }
  return prompt;
}

absl::StatusOr<std::string> FormatChat(ChatTemplate tmpl, std::span<const ChatMessage> messages,
                                       bool add_generation_prompt) {
  ASSIGN_OR_RETURN(std::vector<ChatSegment> segs,
                   FormatChatSegments(tmpl, messages, add_generation_prompt));
  std::string out;
  for (const ChatSegment& s : segs) out += s.text;
  return out;
}

}  // namespace confide::llm
