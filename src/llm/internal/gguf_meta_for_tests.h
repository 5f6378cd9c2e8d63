// confide::llm::internal test support: a small bounded reader of the metadata of GGUF v2/v3
// files, enough to build a TokenizerVocab from llama.cpp's vocab-only test files.
//
// TEST-ONLY: production code builds TokenizerVocab with the real GGUF reader (llm/gguf.h);
// this exists so the tokenizer could be tested before that reader was written.
#ifndef CONFIDE_LLM_INTERNAL_GGUF_META_FOR_TESTS_H_
#define CONFIDE_LLM_INTERNAL_GGUF_META_FOR_TESTS_H_

#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "llm/tokenizer.h"

namespace confide::llm::internal {

// VocabFromGgufForTests returns the tokenizer.ggml.* metadata of the GGUF image `file` (tensor
// infos are not read), and sets *chat_template (when non-null) to tokenizer.chat_template or "".
// InvalidArgument when the file is truncated, malformed, or exceeds the reader's caps.
absl::StatusOr<TokenizerVocab> VocabFromGgufForTests(ByteSpan file,
                                                     std::string* chat_template = nullptr);

}  // namespace confide::llm::internal

#endif  // CONFIDE_LLM_INTERNAL_GGUF_META_FOR_TESTS_H_
