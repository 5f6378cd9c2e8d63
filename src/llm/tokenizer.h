// confide::llm tokenizers: SentencePiece-style (GGUF model "llama") and byte-level BPE (GGUF
// model "gpt2") vocabularies, with llama.cpp's special-token handling, so that token ids match
// llama.cpp and the Hugging Face tokenizers the models were trained with.
//
// The input is a TokenizerVocab, a plain copy of the `tokenizer.ggml.*` GGUF metadata, read from
// a parsed GGUF file by VocabFromGguf. See docs/design/tokenizer.md.
#ifndef CONFIDE_LLM_TOKENIZER_H_
#define CONFIDE_LLM_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "llm/gguf.h"

namespace confide::llm {

// TokenId is a vocabulary index.
using TokenId = int32_t;

// kNoToken marks an absent special token id.
inline constexpr TokenId kNoToken = -1;

// TokenType is the GGUF `tokenizer.ggml.token_type` value (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// TokenizerVocab is the tokenizer metadata of a GGUF file (keys `tokenizer.ggml.*`).
struct TokenizerVocab {
  std::string model;                     // tokenizer.ggml.model: "llama" (SPM) or "gpt2" (BPE)
  std::string pre;                       // tokenizer.ggml.pre: "default", "llama-bpe", "qwen2", ...
  std::vector<std::string> tokens;       // tokenizer.ggml.tokens
  std::vector<float> scores;             // tokenizer.ggml.scores (SPM merges; may be empty for BPE)
  std::vector<int32_t> token_type;       // tokenizer.ggml.token_type (empty: all normal)
  std::vector<std::string> merges;       // tokenizer.ggml.merges, "left right" (BPE only)
  TokenId bos_id = kNoToken;             // tokenizer.ggml.bos_token_id
  TokenId eos_id = kNoToken;             // tokenizer.ggml.eos_token_id
  TokenId eot_id = kNoToken;             // tokenizer.ggml.eot_token_id (else found by text)
  TokenId unk_id = kNoToken;             // tokenizer.ggml.unknown_token_id
  TokenId pad_id = kNoToken;             // tokenizer.ggml.padding_token_id
  std::optional<bool> add_bos;           // tokenizer.ggml.add_bos_token (default: SPM true)
  std::optional<bool> add_eos;           // tokenizer.ggml.add_eos_token (default: false)
  std::optional<bool> add_space_prefix;  // tokenizer.ggml.add_space_prefix (default: SPM true)
  std::string chat_template;             // tokenizer.chat_template (Jinja source; "" if absent)
};

// VocabFromGguf returns the tokenizer metadata of `file`: tokenizer.ggml.model, .pre, .tokens,
// .scores (float32), .token_type (integers), .merges, the special-token ids (any integer width),
// the add_bos/add_eos/add_space_prefix flags, and tokenizer.chat_template. Absent optional keys
// stay unset so Tokenizer::Create applies its defaults. NotFound when tokenizer.ggml.model or
// .tokens is absent; InvalidArgument naming the key when a value has the wrong type or a token
// id is negative or wider than 31 bits (-1 or uint32 0xFFFFFFFF, llama.cpp's "no token",
// leave the id unset).
absl::StatusOr<TokenizerVocab> VocabFromGguf(const GgufFile& file);

// EncodeOptions control Tokenizer::Encode.
struct EncodeOptions {
  // add_special adds BOS/EOS when the vocabulary asks for them (add_bos / add_eos).
  bool add_special = false;
  // parse_special turns the text of control tokens (e.g. "<|im_start|>") into their ids. When
  // false, only user-defined tokens are matched (as Hugging Face does) and control-token text is
  // tokenized as plain text: use false for untrusted user input.
  bool parse_special = false;
  // special_spans, when non-empty (with parse_special), restricts control-token matches to these
  // (offset, length) byte ranges of the text: the template parts of a chat prompt
  // (ChatPrompt::template_spans), so message content cannot inject control tokens while the
  // whole prompt is still pre-tokenized as one text, exactly as llama.cpp would.
  std::vector<std::pair<size_t, size_t>> special_spans = {};
};

// DecodeOptions control Tokenizer::Decode.
struct DecodeOptions {
  // remove_special drops a leading BOS and a trailing EOS that add_special would have added.
  bool remove_special = false;
  // render_special renders control tokens as their text; when false they render as nothing.
  bool render_special = false;
  // continuation marks `ids` as following earlier text (tokens generated after a prompt): the
  // SPM space prefix is not removed at the start, so the result is exactly what appending each
  // TokenToPiece gives (llama.cpp's streamed output). It is still removed after special tokens.
  bool continuation = false;
};

// Tokenizer encodes text to token ids and back. Immutable after Create; thread-safe; cheap to
// copy (copies share the tables).
class Tokenizer {
 public:
  // Create validates `vocab` and builds the lookup tables. InvalidArgument when the model or
  // pre-tokenizer is unsupported, array lengths disagree, a special id is out of range, a merge
  // is malformed, or the vocabulary is empty or larger than 2^24 tokens.
  static absl::StatusOr<Tokenizer> Create(const TokenizerVocab& vocab);

  // Encode returns the token ids of `text` (any bytes; invalid UTF-8 is kept byte for byte
  // where the vocabulary can represent it). Never fails.
  std::vector<TokenId> Encode(std::string_view text, const EncodeOptions& options = {}) const;

  // TokenToPiece returns the bytes token `id` stands for (control tokens: their text when
  // `render_special`, else empty). InvalidArgument when `id` is out of range.
  absl::StatusOr<std::string> TokenToPiece(TokenId id, bool render_special = false) const;

  // Decode returns the text of `ids` (SPM: without the space prefix Encode adds at the start and
  // after each special token, so decode(encode(x)) == x without parse_special).
  // InvalidArgument when an id is out of range.
  absl::StatusOr<std::string> Decode(std::span<const TokenId> ids,
                                     const DecodeOptions& options = {}) const;

  // n_vocab returns the number of tokens.
  int32_t n_vocab() const;
  // bos / eos / eot return the special ids (kNoToken when absent).
  TokenId bos() const;
  TokenId eos() const;
  TokenId eot() const;
  // IsEndOfGeneration returns true for EOS, EOT and other end-of-turn tokens.
  bool IsEndOfGeneration(TokenId id) const;
  // TokenText returns the raw vocabulary string of `id` (empty when out of range).
  std::string_view TokenText(TokenId id) const;
  // Lookup returns the id whose raw vocabulary string is `text`, or kNoToken.
  TokenId Lookup(std::string_view text) const;

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace confide::llm

#endif  // CONFIDE_LLM_TOKENIZER_H_
