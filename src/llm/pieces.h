// confide::llm pieces: token ids back to text through a GGUF vocabulary (detokenization only).
//
// Tokenization (text -> ids) belongs to the tokenizer; this is the minimal inverse needed to
// print generations: SentencePiece pieces with U+2581 for spaces and <0xAB> byte tokens
// (tokenizer.ggml.model = "llama"), and byte-level BPE pieces (model "gpt2") mapped back
// through GPT-2's byte-to-unicode table.
#ifndef CONFIDE_LLM_PIECES_H_
#define CONFIDE_LLM_PIECES_H_

#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "llm/gguf.h"

namespace confide::llm {

// PieceTable maps token ids to the bytes they stand for.
class PieceTable {
 public:
  // FromGguf reads tokenizer.ggml.model, .tokens and .token_type (optional). NotFound if the
  // vocabulary is absent; InvalidArgument if the model is neither "llama" nor "gpt2" or the
  // arrays disagree in length.
  static absl::StatusOr<PieceTable> FromGguf(const GgufFile& file);

  // size returns the vocabulary size.
  size_t size() const { return pieces_.size(); }
  // Piece returns the bytes of token `id` ("" for control tokens and out-of-range ids).
  const std::string& Piece(int id) const;
  // Decode concatenates the pieces of `ids`. Invalid UTF-8 from byte tokens is kept as is.
  std::string Decode(std::span<const int> ids) const;

 private:
  std::vector<std::string> pieces_;
  std::string empty_;
};

}  // namespace confide::llm

#endif  // CONFIDE_LLM_PIECES_H_
