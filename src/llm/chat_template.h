// confide::llm chat templates: the prompt formats of common instruct models, recognised from the
// GGUF `tokenizer.chat_template` Jinja source by substring heuristics (llama.cpp's
// llm_chat_detect_template) and rendered by hand-written formatters (no Jinja interpreter).
#ifndef CONFIDE_LLM_CHAT_TEMPLATE_H_
#define CONFIDE_LLM_CHAT_TEMPLATE_H_

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace confide::llm {

// ChatTemplate names a supported prompt format.
enum class ChatTemplate {
  kChatml,           // <|im_start|>role\n...<|im_end|>\n (SmolLM, Qwen, OpenHermes)
  kLlama2,           // [INST] ... [/INST] without <<SYS>> (Mistral v0.1/0.2 "llama2")
  kLlama2Sys,        // with <<SYS>> system block
  kLlama2SysBos,     // with <<SYS>> and <s> before each later [INST]
  kLlama2SysStrip,   // with <<SYS>>, contents trimmed
  kLlama3,           // <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
  kMistralV1,        // " [INST] ... [/INST]"
  kMistralV3,        // "[INST] ...[/INST]", assistant trimmed
  kMistralV3Tekken,  // "[INST]...[/INST]"
  kMistralV7,        // [SYSTEM_PROMPT] ...[/SYSTEM_PROMPT][INST] ...[/INST]
  kPhi3,             // <|role|>\n...<|end|>\n
  kGemma,            // <start_of_turn>role\n...<end_of_turn>\n (system merged into user)
  kZephyr,           // <|role|>\n...<|endoftext|>\n
};

// ChatMessage is one turn: role "system", "user" or "assistant", and its text.
struct ChatMessage {
  std::string role;
  std::string content;
};

// ChatSegment is a piece of a rendered prompt: template text (may hold control-token text such
// as "<|im_start|>") or message content (untrusted: tokenize it with parse_special = false so a
// user cannot inject control tokens).
struct ChatSegment {
  std::string text;
  bool is_content;
};

// ChatPrompt is a rendered prompt with the byte ranges (offset, length) of its template text;
// pass template_spans as EncodeOptions::special_spans (with parse_special) so control tokens
// are recognised only there.
struct ChatPrompt {
  std::string text;
  std::vector<std::pair<size_t, size_t>> template_spans;
};

// ChatTemplateName returns the template's name ("chatml", "llama2", "llama2-sys",
// "llama2-sys-bos", "llama2-sys-strip", "llama3", "mistral-v1", "mistral-v3",
// "mistral-v3-tekken", "mistral-v7", "phi3", "gemma", "zephyr"; llama.cpp's names).
std::string_view ChatTemplateName(ChatTemplate tmpl);

// ChatTemplateFromName returns the template called `name` (see ChatTemplateName). NotFound for
// any other name.
absl::StatusOr<ChatTemplate> ChatTemplateFromName(std::string_view name);

// DetectChatTemplate recognises the Jinja source of a `tokenizer.chat_template`. NotFound when
// it matches no supported format (an empty template included).
absl::StatusOr<ChatTemplate> DetectChatTemplate(std::string_view jinja);

// ResolveChatTemplate picks the template: `override_name` when non-empty (a name, as
// ChatTemplateFromName), else DetectChatTemplate(`jinja`). NotFound with a message listing the
// supported names when neither works.
absl::StatusOr<ChatTemplate> ResolveChatTemplate(std::string_view override_name,
                                                 std::string_view jinja);

// FormatChatSegments renders `messages` in `tmpl`, ending with the assistant prefix when
// `add_generation_prompt`. InvalidArgument when a role is not system/user/assistant.
absl::StatusOr<std::vector<ChatSegment>> FormatChatSegments(ChatTemplate tmpl,
                                                            std::span<const ChatMessage> messages,
                                                            bool add_generation_prompt);

// FormatChatPrompt returns the concatenated FormatChatSegments with the spans of template text
// (same failures).
absl::StatusOr<ChatPrompt> FormatChatPrompt(ChatTemplate tmpl,
                                            std::span<const ChatMessage> messages,
                                            bool add_generation_prompt);

// FormatChat returns the concatenated text of FormatChatSegments (same failures).
absl::StatusOr<std::string> FormatChat(ChatTemplate tmpl, std::span<const ChatMessage> messages,
                                       bool add_generation_prompt);

}  // namespace confide::llm

#endif  // CONFIDE_LLM_CHAT_TEMPLATE_H_
