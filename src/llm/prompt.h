// confide::llm prompts: user text to the token ids a model is run on, with the model's own
// tokenizer and, for chat, its chat template (control tokens only where the template put them).
#ifndef CONFIDE_LLM_PROMPT_H_
#define CONFIDE_LLM_PROMPT_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "llm/chat_template.h"
#include "llm/tokenizer.h"

namespace confide::llm {

// PromptOptions choose how EncodePrompt treats the text.
struct PromptOptions {
  // chat formats the text as one user turn followed by the assistant prefix.
  bool chat = false;
  // template_name overrides the template named by the model (ChatTemplateFromName names).
  std::string template_name = {};
  // system, when non-empty (chat only), is sent as a system turn before the user's.
  std::string system = {};
};

// EncodePrompt returns the ids of `text` for a model whose vocabulary is `tokenizer` and whose
// tokenizer.chat_template is `chat_template_jinja`. Plain: Encode with add_special (BOS as the
// vocabulary says) and without parse_special, so control-token text in `text` stays plain text.
// Chat: FormatChatPrompt with the resolved template, then Encode with parse_special confined to
// the template's spans (the user cannot inject control tokens); a BOS the template wrote itself
// is not doubled. NotFound (listing the supported names) when the template is unknown or cannot
// be detected; InvalidArgument when the formatted prompt encodes to no tokens.
absl::StatusOr<std::vector<TokenId>> EncodePrompt(const Tokenizer& tokenizer,
                                                  std::string_view chat_template_jinja,
                                                  std::string_view text,
                                                  const PromptOptions& options = {});

// EncodeChat returns the ids of the conversation `messages` rendered in the template named
// `template_name` (or, when empty, the one `chat_template_jinja` names) and ending with the
// assistant prefix, encoded as EncodePrompt does for chat: control tokens only in the
// template's text, a BOS the template wrote not doubled. NotFound for an unknown or undetectable
// template; InvalidArgument for a role other than system/user/assistant or no tokens.
absl::StatusOr<std::vector<TokenId>> EncodeChat(const Tokenizer& tokenizer,
                                                std::string_view chat_template_jinja,
                                                std::span<const ChatMessage> messages,
                                                std::string_view template_name = {});

// EndOfGenerationIds returns every id for which tokenizer.IsEndOfGeneration is true (EOS, EOT
// and end-of-turn tokens), to stop a generation on.
std::vector<TokenId> EndOfGenerationIds(const Tokenizer& tokenizer);

}  // namespace confide::llm

#endif  // CONFIDE_LLM_PROMPT_H_
