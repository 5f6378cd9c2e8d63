// confide::llm::internal pre-tokenizers: hand-written equivalents of the split regexes that
// byte-level BPE vocabularies use (Hugging Face "Split" pre-tokenizers, as llama.cpp lists them
// per tokenizer.ggml.pre). No regex engine is involved; see docs/design/tokenizer.md.
#ifndef CONFIDE_LLM_INTERNAL_PRETOKENIZE_H_
#define CONFIDE_LLM_INTERNAL_PRETOKENIZE_H_

#include <string_view>
#include <vector>

namespace confide::llm::internal {

// PreTokenizer names a split pattern (sequence of patterns).
enum class PreTokenizer {
  // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kGpt2,
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
  // \s*[\r\n]+|\s+(?!\S)|\s+
  kLlama3,
  // As kLlama3 with \p{N} (one digit per word).
  kQwen2,
  // \p{N} isolated, then kGpt2 (starcoder, refact, smollm, command-r, codeshell).
  kStarcoder,
  // [\r\n], \s?\p{L}+, \s?\p{P}+, [一-龥ࠀ-一가-퟿]+, \p{N}: each isolated in turn.
  kDeepseekCoder,
  // [\p{P}\$\+<=>\^~\|`]+, then kGpt2, then [0-9][0-9][0-9]: each isolated in turn.
  kFalcon,
  // [\r\n], \s?[cased letters]+, \s?[ASCII/fullwidth punctuation]+, \s+$, [CJK/Hangul]+,
  // \p{N}+: each isolated in turn (llama.cpp's DEEPSEEK_LLM expressions).
  kDeepseekLlm,
};

// PreTokenize returns the words of `text` in order; they tile `text` exactly (concatenated they
// give `text` back). Invalid UTF-8 bytes are kept, one per code point, classified as symbols.
std::vector<std::string_view> PreTokenize(PreTokenizer kind, std::string_view text);

}  // namespace confide::llm::internal

#endif  // CONFIDE_LLM_INTERNAL_PRETOKENIZE_H_
