#include "llm/prompt.h"

#include <utility>

namespace confide::llm {

absl::StatusOr<std::vector<TokenId>> EncodePrompt(const Tokenizer& tokenizer,
                                                  std::string_view chat_template_jinja,
                                                  std::string_view text,
                                                  const PromptOptions& options) {
  std::vector<TokenId> ids;
  if (!options.chat) {
    ids = tokenizer.Encode(text, {.add_special = true});
  } else {
    std::vector<ChatMessage> messages;
    if (!options.system.empty()) messages.push_back({"system", options.system});
    messages.push_back({"user", std::string(text)});
    return EncodeChat(tokenizer, chat_template_jinja, messages, options.template_name);
  }
  if (ids.empty()) {
    return absl::InvalidArgumentError(
        "prompt: encodes to no tokens (and the vocabulary adds no BOS)");
  }
  return ids;
}

absl::StatusOr<std::vector<TokenId>> EncodeChat(const Tokenizer& tokenizer,
                                                std::string_view chat_template_jinja,
                                                std::span<const ChatMessage> messages,
                                                std::string_view template_name) {
  ASSIGN_OR_RETURN(const ChatTemplate tmpl,
                   ResolveChatTemplate(template_name, chat_template_jinja));
  ASSIGN_OR_RETURN(ChatPrompt prompt, FormatChatPrompt(tmpl, messages, true));
  std::vector<TokenId> ids =
      tokenizer.Encode(prompt.text, {.add_special = true,
                                     .parse_special = true,
                                     .special_spans = std::move(prompt.template_spans)});
  // A template that writes BOS itself ("<s>[INST]", "<|begin_of_text|>") plus add_bos would
  // give two; llama.cpp warns about it, we keep one.
  if (ids.size() >= 2 && tokenizer.bos() != kNoToken && ids[0] == tokenizer.bos() &&
      ids[1] == tokenizer.bos()) {
    ids.erase(ids.begin());
  }
  if (ids.empty()) {
    return absl::InvalidArgumentError(
        "prompt: encodes to no tokens (and the vocabulary adds no BOS)");
  }
  return ids;
}

std::vector<TokenId> EndOfGenerationIds(const Tokenizer& tokenizer) {
  std::vector<TokenId> ids;
  for (TokenId id = 0; id < tokenizer.n_vocab(); ++id) {
    if (tokenizer.IsEndOfGeneration(id)) ids.push_back(id);
  }
  return ids;
}

}  // namespace confide::llm
