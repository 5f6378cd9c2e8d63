#include "llm/pieces.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace confide::llm {
namespace {

// llama.cpp's token types (llama_token_type / gguf tokenizer.ggml.token_type).
constexpr int64_t kTypeControl = 3;
constexpr int64_t kTypeUserDefined = 4;
constexpr int64_t kTypeUnused = 5;
constexpr int64_t kTypeByte = 6;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string SentencePiece(const std::string& text, int64_t type) {
  if (type == kTypeControl || type == kTypeUnused) return "";
  if (type == kTypeByte && text.size() == 6 && text.compare(0, 3, "<0x") == 0 && text[5] == '>') {
    int hi = HexDigit(text[3]), lo = HexDigit(text[4]);
    if (hi >= 0 && lo >= 0) return std::string(1, static_cast<char>(hi * 16 + lo));
  }
  // U+2581 (LOWER ONE EIGHTH BLOCK, "\xE2\x96\x81") stands for a space.
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 3, "\xE2\x96\x81") == 0) {
      out.push_back(' ');
      i += 3;
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

// GPT-2's bytes_to_unicode(), inverted: code point -> byte, -1 if not a mapped code point.
std::array<int, 324> UnicodeToByte() {
  std::array<int, 324> inv;
  inv.fill(-1);
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    if (printable) {
      inv[b] = b;
    } else {
      inv[256 + n++] = b;
    }
  }
  return inv;
}

std::string BytePiece(const std::string& text, int64_t type) {
  if (type == kTypeControl || type == kTypeUnused) return "";
  if (type == kTypeUserDefined) return text;
  static const std::array<int, 324> inv = UnicodeToByte();
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const uint8_t c0 = static_cast<uint8_t>(text[i]);
    uint32_t cp = 0;
    size_t len = 1;
    if (c0 < 0x80) {
      cp = c0;
    } else if ((c0 & 0xE0) == 0xC0 && i + 1 < text.size()) {
      cp = ((c0 & 0x1Fu) << 6) | (static_cast<uint8_t>(text[i + 1]) & 0x3Fu);
      len = 2;
    } else {
      cp = 0xFFFFFFFF;  // 3- and 4-byte sequences are never in the byte map
      len = (c0 & 0xF0) == 0xE0 ? 3 : (c0 & 0xF8) == 0xF0 ? 4 : 1;
    }
    len = std::min(len, text.size() - i);
    if (cp < inv.size() && inv[cp] >= 0) {
      out.push_back(static_cast<char>(inv[cp]));
    } else {
      out.append(text, i, len);
    }
    i += len;
  }
  return out;
}

}  // namespace

absl::StatusOr<PieceTable> PieceTable::FromGguf(const GgufFile& file) {
  ASSIGN_OR_RETURN(std::string model, file.GetString("tokenizer.ggml.model"));
  ASSIGN_OR_RETURN(const std::vector<std::string>* tokens,
                   file.GetStringArray("tokenizer.ggml.tokens"));
  const std::vector<int64_t>* types = nullptr;
  if (file.Find("tokenizer.ggml.token_type") != nullptr) {
    ASSIGN_OR_RETURN(types, file.GetIntArray("tokenizer.ggml.token_type"));
    if (types->size() != tokens->size()) {
      return absl::InvalidArgumentError(
          "pieces: tokenizer.ggml.token_type and tokenizer.ggml.tokens differ in length");
    }
  }
  const bool spm = model == "llama";
  if (!spm && model != "gpt2") {
    return absl::InvalidArgumentError("pieces: tokenizer.ggml.model is not llama or gpt2");
  }
  PieceTable t;
  t.pieces_.reserve(tokens->size());
  for (size_t i = 0; i < tokens->size(); ++i) {
    const int64_t type = types ? (*types)[i] : 1;
    t.pieces_.push_back(spm ? SentencePiece((*tokens)[i], type) : BytePiece((*tokens)[i], type));
  }
  return t;
}

const std::string& PieceTable::Piece(int id) const {
  if (id < 0 || static_cast<size_t>(id) >= pieces_.size()) return empty_;
  return pieces_[static_cast<size_t>(id)];
}

std::string PieceTable::Decode(std::span<const int> ids) const {
  std::string out;
  for (int id : ids) out += Piece(id);
  return out;
}

}  // namespace confide::llm
