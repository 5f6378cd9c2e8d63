#include "llm/tokenizer.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "llm/internal/pretokenize.h"
#include "llm/internal/unicode.h"

namespace confide::llm {

using internal::PreTokenizer;

namespace {

constexpr size_t kMaxVocab = size_t{1} << 24;
constexpr size_t kMaxMerges = size_t{1} << 24;
constexpr size_t kMaxTokenBytes = 4096;

// "▁" (U+2581), SentencePiece's visible space.
constexpr std::string_view kSpmSpace = "\xE2\x96\x81";

enum class Kind { kSpm, kBpe };

// ByteToUnicode returns GPT-2's reversible byte -> code point map (bytes_to_unicode() in
// openai/gpt-2 encoder.py): printable Latin-1 bytes map to themselves, the others to U+0100+n.
std::array<uint32_t, 256> ByteToUnicode() {
  std::array<uint32_t, 256> map{};
  std::array<bool, 256> direct{};
  for (int b = '!'; b <= '~'; ++b) direct[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
  uint32_t n = 0;
  for (int b = 0; b < 256; ++b) map[b] = direct[b] ? static_cast<uint32_t>(b) : 256 + n++;
  return map;
}

struct PreInfo {
  PreTokenizer kind;
  bool ignore_merges;
  bool add_bos_default;
};

// PreFor maps tokenizer.ggml.pre to a pre-tokenizer, following llama.cpp's llama_vocab::load.
std::optional<PreInfo> PreFor(const std::string& pre) {
  static const std::unordered_map<std::string, PreInfo> kPre = {
      {"default", {PreTokenizer::kGpt2, false, false}},
      {"gpt-2", {PreTokenizer::kGpt2, false, false}},
      {"phi-2", {PreTokenizer::kGpt2, false, false}},
      {"mpt", {PreTokenizer::kGpt2, false, false}},
      {"olmo", {PreTokenizer::kGpt2, false, false}},
      {"llama3", {PreTokenizer::kLlama3, true, true}},
      {"llama-v3", {PreTokenizer::kLlama3, true, true}},
      {"llama-bpe", {PreTokenizer::kLlama3, true, true}},
      {"falcon3", {PreTokenizer::kLlama3, true, true}},
      {"qwen2", {PreTokenizer::kQwen2, false, false}},
      {"deepseek-r1-qwen", {PreTokenizer::kQwen2, false, false}},
      {"megrez", {PreTokenizer::kQwen2, false, false}},
      {"starcoder", {PreTokenizer::kStarcoder, false, false}},
      {"refact", {PreTokenizer::kStarcoder, false, false}},
      {"command-r", {PreTokenizer::kStarcoder, false, false}},
      {"smollm", {PreTokenizer::kStarcoder, false, false}},
      {"codeshell", {PreTokenizer::kStarcoder, false, false}},
      {"deepseek-coder", {PreTokenizer::kDeepseekCoder, false, false}},
      {"falcon", {PreTokenizer::kFalcon, false, false}},
      {"deepseek-llm", {PreTokenizer::kDeepseekLlm, false, false}},
  };
  auto it = kPre.find(pre.empty() ? "default" : pre);
  if (it == kPre.end()) return std::nullopt;
  return it->second;
}

// Token texts that end a turn in common chat formats (llama.cpp's EOG list).
constexpr std::string_view kEndOfTurnTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>",         "<end_of_turn>",        "<|endoftext|>",
    "<|eom_id|>", "<EOT>",      "<|end_of_text|>", "<｜end▁of▁sentence｜>"};

// Printable returns at most 40 printable ASCII characters of a metadata value for messages.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) out.push_back(c >= 0x20 && c < 0x7F ? c : '?');
  return out;
}

std::string MergeKey(std::string_view left, std::string_view right) {
  std::string key;
  key.reserve(left.size() + right.size() + 1);
  key.append(left);
  key.push_back('\0');  // byte-level tokens never contain a NUL byte
  key.append(right);
  return key;
}

// Fragment is a piece of the input: raw text, or a special token matched in it.
struct Fragment {
  TokenId token;  // kNoToken for raw text
  size_t begin;
  size_t length;
};

// Symbol is a run of bytes of the word being merged, in a doubly linked list.
struct Symbol {
  int prev;
  int next;
  size_t begin;
  size_t length;
};

}  // namespace

struct Tokenizer::Impl {
  Kind kind = Kind::kSpm;
  PreTokenizer pre = PreTokenizer::kGpt2;
  bool ignore_merges = false;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = false;
  TokenId bos = kNoToken, eos = kNoToken, eot = kNoToken, unk = kNoToken;
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<TokenType> types;
  std::unordered_map<std::string, TokenId> token_to_id;
  std::unordered_map<std::string, int32_t> merge_rank;
  std::vector<TokenId> specials;  // longest text first
  std::unordered_set<TokenId> end_of_generation;
  std::array<TokenId, 256> byte_token{};               // SPM byte fallback
  std::array<std::string, 256> byte_chars;             // BPE: byte -> UTF-8 of its code point
  std::unordered_map<uint32_t, uint8_t> char_to_byte;  // BPE decode

  TokenId Find(std::string_view text) const {
    auto it = token_to_id.find(std::string(text));
    return it == token_to_id.end() ? kNoToken : it->second;
  }

  std::vector<Fragment> Partition(std::string_view text, const EncodeOptions& options) const;
  void EncodeSpm(std::string_view text, std::vector<TokenId>* out) const;
  void EncodeBpeWord(std::string_view word, std::vector<TokenId>* out) const;
  std::string Piece(TokenId id, bool render_special) const;
};

// Partition splits `text` around special-token texts, longest first, as llama.cpp's
// tokenizer_st_partition does (without lstrip/rstrip attributes).
std::vector<Fragment> Tokenizer::Impl::Partition(std::string_view text,
                                                 const EncodeOptions& options) const {
  const bool parse_special = options.parse_special;
  // With special_spans, control/unknown tokens count only when they lie inside a span.
  const auto allowed = [&](TokenType type, size_t begin, size_t length) {
    if (type != TokenType::kControl && type != TokenType::kUnknown) return true;
    if (options.special_spans.empty()) return true;
    for (const auto& [span_begin, span_length] : options.special_spans) {
      if (begin >= span_begin && begin - span_begin <= span_length &&
          length <= span_length - (begin - span_begin)) {
        return true;
      }
    }
    return false;
  };
  std::vector<Fragment> frags;
  if (text.empty()) return frags;
  frags.push_back(Fragment{kNoToken, 0, text.size()});
  for (TokenId id : specials) {
    const TokenType type = types[id];
    if (!parse_special && (type == TokenType::kControl || type == TokenType::kUnknown)) continue;
    const std::string& special = tokens[id];
    std::vector<Fragment> next;
    next.reserve(frags.size());
    for (const Fragment& f : frags) {
      if (f.token != kNoToken) {
        next.push_back(f);
        continue;
      }
      const std::string_view raw = text.substr(f.begin, f.length);
      size_t base = 0;    // start of the pending text
      size_t search = 0;  // where to look for the next occurrence
      while (true) {
        const size_t match = raw.find(special, search);
        if (match == std::string_view::npos) break;
        if (!allowed(type, f.begin + match, special.size())) {
          search = match + 1;
          continue;
        }
        if (match > base) next.push_back(Fragment{kNoToken, f.begin + base, match - base});
        next.push_back(Fragment{id, f.begin + match, special.size()});
        base = search = match + special.size();
      }
      if (base < raw.size()) next.push_back(Fragment{kNoToken, f.begin + base, raw.size() - base});
    }
    frags = std::move(next);
  }
  return frags;
}

// EncodeSpm is llama.cpp's llm_tokenizer_spm_session::tokenize: start from UTF-8 characters
// and repeatedly merge the adjacent pair whose concatenation is the highest-scoring token
// (leftmost on ties); characters that never become tokens fall back to <0xXX> byte tokens.
void Tokenizer::Impl::EncodeSpm(std::string_view text, std::vector<TokenId>* out) const {
  // One symbol per character. Unlike llama.cpp (which trusts the lead byte's length), an invalid
  // byte is a symbol of its own, so a malformed sequence cannot swallow the following "▁" and
  // byte fallback keeps the text lossless; valid UTF-8 splits identically.
  std::vector<Symbol> symbols;
  for (const internal::Codepoint& c : internal::DecodeUtf8(text)) {
    const int index = static_cast<int>(symbols.size());
    symbols.push_back(Symbol{index - 1, index + 1, c.offset, c.length});
  }
  if (!symbols.empty()) symbols.back().next = -1;
  struct Bigram {
    int left;
    int right;
    float score;
    size_t size;
  };
  const auto worse = [](const Bigram& a, const Bigram& b) {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  const auto try_add = [&](int left, int right) {
    if (left == -1 || right == -1) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    const TokenId id = Find(text.substr(l.begin, l.length + r.length));
    if (id == kNoToken) return;
    queue.push(Bigram{left, right, scores[id], l.length + r.length});
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add(i - 1, i);
  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = symbols[b.left];
    Symbol& r = symbols[b.right];
    if (l.length == 0 || r.length == 0 || l.length + r.length != b.size) continue;  // stale
    l.length += r.length;
    r.length = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }
  for (int i = symbols.empty() ? -1 : 0; i != -1; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    const std::string_view piece = text.substr(s.begin, s.length);
    const TokenId id = Find(piece);
    if (id != kNoToken) {
      out->push_back(id);
      continue;
    }
    for (char c : piece) {
      const TokenId byte = byte_token[static_cast<uint8_t>(c)];
      if (byte != kNoToken) out->push_back(byte);
    }
  }
}

// EncodeBpeWord is llama.cpp's llm_tokenizer_bpe_session for one pre-tokenized word: map bytes
// to GPT-2's printable characters, then apply merges lowest rank first (leftmost on ties).
void Tokenizer::Impl::EncodeBpeWord(std::string_view word, std::vector<TokenId>* out) const {
  std::string mapped;
  mapped.reserve(word.size() * 2);
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  for (char c : word) {
    const std::string& ch = byte_chars[static_cast<uint8_t>(c)];
    const int index = static_cast<int>(symbols.size());
    symbols.push_back(Symbol{index - 1, index + 1, mapped.size(), ch.size()});
    mapped += ch;
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;
  if (ignore_merges) {
    if (const TokenId id = Find(mapped); id != kNoToken) {
      out->push_back(id);
      return;
    }
  }
  struct Bigram {
    int left;
    int right;
    int32_t rank;
    size_t size;
  };
  const auto worse = [](const Bigram& a, const Bigram& b) {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  };
  std::priority_queue<Bigram, std::vector<Bigram>, decltype(worse)> queue(worse);
  const std::string_view text = mapped;
  const auto try_add = [&](int left, int right) {
    if (left == -1 || right == -1) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    auto it =
        merge_rank.find(MergeKey(text.substr(l.begin, l.length), text.substr(r.begin, r.length)));
    if (it == merge_rank.end()) return;
    queue.push(Bigram{left, right, it->second, l.length + r.length});
  };
  for (int i = 1; i < static_cast<int>(symbols.size()); ++i) try_add(i - 1, i);
  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = symbols[b.left];
    Symbol& r = symbols[b.right];
    if (l.length == 0 || r.length == 0 || l.length + r.length != b.size) continue;  // stale
    l.length += r.length;
    r.length = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }
  for (int i = 0; i != -1; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    const std::string_view piece = text.substr(s.begin, s.length);
    const TokenId id = Find(piece);
    if (id != kNoToken) {
      out->push_back(id);
      continue;
    }
    // As llama.cpp: fall back to single-byte tokens of the mapped text where they exist.
    for (char c : piece) {
      if (const TokenId b = Find(std::string_view(&c, 1)); b != kNoToken) out->push_back(b);
    }
  }
}

absl::StatusOr<Tokenizer> Tokenizer::Create(const TokenizerVocab& vocab) {
  auto impl = std::make_shared<Impl>();
  const size_t n = vocab.tokens.size();
  if (n == 0 || n > kMaxVocab) {
    return absl::InvalidArgumentError("tokenizer: vocabulary is empty or too large");
  }
  if (vocab.model == "llama") {
    impl->kind = Kind::kSpm;
  } else if (vocab.model == "gpt2") {
    impl->kind = Kind::kBpe;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer: unsupported tokenizer.ggml.model '", Printable(vocab.model), "'"));
  }
  if (impl->kind == Kind::kSpm ? vocab.scores.size() != n
                               : !vocab.scores.empty() && vocab.scores.size() != n) {
    return absl::InvalidArgumentError(
        "tokenizer: tokenizer.ggml.scores length differs from tokens");
  }
  if (!vocab.token_type.empty() && vocab.token_type.size() != n) {
    return absl::InvalidArgumentError(
        "tokenizer: tokenizer.ggml.token_type length differs from tokens");
  }
  impl->tokens = vocab.tokens;
  impl->scores = vocab.scores;
  impl->scores.resize(n, 0.0f);
  impl->types.assign(n, TokenType::kNormal);
  for (size_t i = 0; i < vocab.token_type.size(); ++i) {
    const int32_t t = vocab.token_type[i];
    if (t < 0 || t > static_cast<int32_t>(TokenType::kByte)) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer: token ", i, " has unknown token type ", t));
    }
    impl->types[i] = static_cast<TokenType>(t);
  }
  impl->token_to_id.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (impl->tokens[i].size() > kMaxTokenBytes) {
      return absl::InvalidArgumentError(absl::StrCat("tokenizer: token ", i, " is too long"));
    }
    impl->token_to_id[impl->tokens[i]] = static_cast<TokenId>(i);  // last wins, as llama.cpp
  }

  const auto check_id = [&](TokenId id, const char* key) -> absl::Status {
    if (id != kNoToken && (id < 0 || static_cast<size_t>(id) >= n)) {
      return absl::InvalidArgumentError(absl::StrCat("tokenizer: ", key, " is out of range"));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check_id(vocab.bos_id, "tokenizer.ggml.bos_token_id"));
  RETURN_IF_ERROR(check_id(vocab.eos_id, "tokenizer.ggml.eos_token_id"));
  RETURN_IF_ERROR(check_id(vocab.eot_id, "tokenizer.ggml.eot_token_id"));
  RETURN_IF_ERROR(check_id(vocab.unk_id, "tokenizer.ggml.unknown_token_id"));
  RETURN_IF_ERROR(check_id(vocab.pad_id, "tokenizer.ggml.padding_token_id"));
  impl->bos = vocab.bos_id;
  impl->eos = vocab.eos_id;
  impl->eot = vocab.eot_id;
  impl->unk = vocab.unk_id;

  if (impl->kind == Kind::kSpm) {
    // llama.cpp's defaults for SentencePiece vocabularies.
    if (impl->bos == kNoToken && n > 1) impl->bos = 1;
    if (impl->eos == kNoToken && n > 2) impl->eos = 2;
    if (impl->unk == kNoToken) impl->unk = 0;
    impl->add_bos = vocab.add_bos.value_or(true);
    impl->add_space_prefix = vocab.add_space_prefix.value_or(true);
    for (int b = 0; b < 256; ++b) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "<0x%02X>", b);
      TokenId id = impl->Find(hex);
      if (id == kNoToken && b < 0x80) id = impl->Find(std::string(1, static_cast<char>(b)));
      impl->byte_token[b] = id != kNoToken ? id : impl->unk;
    }
  } else {
    const std::optional<PreInfo> pre = PreFor(vocab.pre);
    if (!pre) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokenizer: unsupported tokenizer.ggml.pre '", Printable(vocab.pre), "'"));
    }
    impl->pre = pre->kind;
    impl->ignore_merges = pre->ignore_merges;
    impl->add_bos = vocab.add_bos.value_or(pre->add_bos_default);
    impl->add_space_prefix = vocab.add_space_prefix.value_or(false);
    if (vocab.merges.size() > kMaxMerges) {
      return absl::InvalidArgumentError("tokenizer: too many merges");
    }
    impl->merge_rank.reserve(vocab.merges.size());
    for (size_t i = 0; i < vocab.merges.size(); ++i) {
      const std::string& m = vocab.merges[i];
      const size_t space = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
      if (space == std::string::npos || space + 1 >= m.size()) {
        return absl::InvalidArgumentError(absl::StrCat("tokenizer: merge ", i, " is malformed"));
      }
      // Earlier merges have priority; keep the first rank of a duplicated pair.
      impl->merge_rank.emplace(
          MergeKey(std::string_view(m).substr(0, space), std::string_view(m).substr(space + 1)),
          static_cast<int32_t>(i));
    }
    const std::array<uint32_t, 256> map = ByteToUnicode();
    for (int b = 0; b < 256; ++b) {
      internal::AppendUtf8(map[b], &impl->byte_chars[b]);
      impl->char_to_byte[map[b]] = static_cast<uint8_t>(b);
    }
  }
  impl->add_eos = vocab.add_eos.value_or(false);

  for (size_t i = 0; i < n; ++i) {
    const TokenType t = impl->types[i];
    if ((t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown) &&
        !impl->tokens[i].empty()) {
      impl->specials.push_back(static_cast<TokenId>(i));
    }
  }
  std::stable_sort(impl->specials.begin(), impl->specials.end(), [&](TokenId a, TokenId b) {
    return impl->tokens[a].size() > impl->tokens[b].size();
  });

  for (std::string_view text : kEndOfTurnTexts) {
    const TokenId id = impl->Find(text);
    if (id == kNoToken) continue;
    const TokenType t = impl->types[id];
    if (t != TokenType::kControl && t != TokenType::kUserDefined) continue;
    if (impl->eot == kNoToken && text != "<|endoftext|>") impl->eot = id;
    impl->end_of_generation.insert(id);
  }
  if (impl->eos != kNoToken) impl->end_of_generation.insert(impl->eos);
  if (impl->eot != kNoToken) impl->end_of_generation.insert(impl->eot);
  return Tokenizer(std::move(impl));
}

std::vector<TokenId> Tokenizer::Encode(std::string_view text, const EncodeOptions& options) const {
  const Impl& m = *impl_;
  std::vector<TokenId> out;
  if (options.add_special && m.add_bos && m.bos != kNoToken) out.push_back(m.bos);
  bool prev_special = true;  // SPM: prefix a space to the first text and text after a special
  for (const Fragment& f : m.Partition(text, options)) {
    if (f.token != kNoToken) {
      out.push_back(f.token);
      prev_special = true;
      continue;
    }
    const std::string_view raw = text.substr(f.begin, f.length);
    if (m.kind == Kind::kSpm) {
      std::string escaped;
      escaped.reserve(raw.size() * 3 + 3);
      if (m.add_space_prefix && prev_special) escaped.append(kSpmSpace);
      for (char c : raw) {
        if (c == ' ') {
          escaped.append(kSpmSpace);
        } else {
          escaped.push_back(c);
        }
      }
      m.EncodeSpm(escaped, &out);
    } else {
      for (std::string_view word : internal::PreTokenize(m.pre, raw)) m.EncodeBpeWord(word, &out);
    }
    prev_special = false;
  }
  if (options.add_special && m.add_eos && m.eos != kNoToken) out.push_back(m.eos);
  return out;
}

// Piece returns the bytes of token `id`, which must be in range.
std::string Tokenizer::Impl::Piece(TokenId id, bool render_special) const {
  const Impl& m = *this;
  const std::string& text = m.tokens[id];
  switch (m.types[id]) {
    case TokenType::kControl:
    case TokenType::kUnknown:
      return render_special ? text : std::string();
    case TokenType::kUserDefined:
      return text;
    case TokenType::kUnused:
    case TokenType::kUndefined:
      return std::string();
    case TokenType::kByte: {
      unsigned value = 0;
      if (text.size() == 6 && std::sscanf(text.c_str(), "<0x%2X>", &value) == 1) {
        return std::string(1, static_cast<char>(value));
      }
      return std::string();
    }
    case TokenType::kNormal:
      break;
  }
  std::string piece;
  if (m.kind == Kind::kSpm) {
    piece.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      if (text.compare(i, kSpmSpace.size(), kSpmSpace) == 0) {
        piece.push_back(' ');
        i += kSpmSpace.size();
      } else {
        piece.push_back(text[i++]);
      }
    }
    return piece;
  }
  for (const internal::Codepoint& c : internal::DecodeUtf8(text)) {
    auto it =
        c.cp == internal::kInvalidCodepoint ? m.char_to_byte.end() : m.char_to_byte.find(c.cp);
    if (it != m.char_to_byte.end()) {
      piece.push_back(static_cast<char>(it->second));
    } else {
      piece.append(text, c.offset, c.length);  // not a byte-level character: keep as is
    }
  }
  return piece;
}

absl::StatusOr<std::string> Tokenizer::TokenToPiece(TokenId id, bool render_special) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->tokens.size()) {
    return absl::InvalidArgumentError("tokenizer: token id out of range");
  }
  return impl_->Piece(id, render_special);
}

absl::StatusOr<std::string> Tokenizer::Decode(std::span<const TokenId> ids,
                                              const DecodeOptions& options) const {
  const Impl& m = *impl_;
  if (options.remove_special && m.add_bos && !ids.empty() && ids.front() == m.bos) {
    ids = ids.subspan(1);
  }
  if (options.remove_special && m.add_eos && !ids.empty() && ids.back() == m.eos) {
    ids = ids.first(ids.size() - 1);
  }
  // SPM: Encode prefixes a space to the text at the start and after every special token, so
  // the first text piece in those places loses one leading space (llama.cpp only does this at
  // the start; doing it after specials too makes decode(encode(x)) == x).
  for (TokenId id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= m.tokens.size()) {
      return absl::InvalidArgumentError("tokenizer: token id out of range");
    }
  }
  const bool spm_prefix = m.kind == Kind::kSpm && m.add_space_prefix;
  std::string text;
  bool remove_space = spm_prefix && !options.continuation;
  for (TokenId id : ids) {
    const TokenType t = m.types[id];
    std::string piece = m.Piece(id, options.render_special);
    if (t == TokenType::kControl || t == TokenType::kUserDefined || t == TokenType::kUnknown) {
      text += piece;
      remove_space = spm_prefix;
      continue;
    }
    if (remove_space && !piece.empty()) {
      if (piece[0] == ' ') piece.erase(0, 1);
      remove_space = false;
    }
    text += piece;
  }
  return text;
}

int32_t Tokenizer::n_vocab() const { return static_cast<int32_t>(impl_->tokens.size()); }
TokenId Tokenizer::bos() const { return impl_->bos; }
TokenId Tokenizer::eos() const { return impl_->eos; }
TokenId Tokenizer::eot() const { return impl_->eot; }

bool Tokenizer::IsEndOfGeneration(TokenId id) const {
  return impl_->end_of_generation.count(id) != 0;
}

std::string_view Tokenizer::TokenText(TokenId id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->tokens.size()) return {};
  return impl_->tokens[id];
}

TokenId Tokenizer::Lookup(std::string_view text) const { return impl_->Find(text); }

absl::StatusOr<TokenizerVocab> VocabFromGguf(const GgufFile& file) {
  TokenizerVocab v;
  const auto wrong = [](std::string_view key, std::string_view want) {
    return absl::InvalidArgumentError(
        absl::StrCat("gguf: ", std::string(key), " must be ", std::string(want)));
  };
  const auto string_key = [&](std::string_view key, bool required,
                              std::string* out) -> absl::Status {
    const GgufValue* value = file.Find(key);
    if (value == nullptr) {
      if (required) return absl::NotFoundError(absl::StrCat("gguf: no ", std::string(key)));
      return absl::OkStatus();
    }
    auto s = value->AsString();
    if (!s.ok()) return wrong(key, "a string");
    *out = **s;
    return absl::OkStatus();
  };
  const auto id_key = [&](std::string_view key, TokenId* out) -> absl::Status {
    const GgufValue* value = file.Find(key);
    if (value == nullptr) return absl::OkStatus();
    auto id = value->AsInt();
    if (!id.ok()) return wrong(key, "a token id");
    // -1 (llama.cpp's LLAMA_TOKEN_NULL), also stored as uint32 0xFFFFFFFF (stories260K's
    // padding_token_id), means "none".
    if (*id == -1 || *id == int64_t{UINT32_MAX}) return absl::OkStatus();
    if (*id < 0 || *id > INT32_MAX) return wrong(key, "a token id");
    *out = static_cast<TokenId>(*id);
    return absl::OkStatus();
  };
  const auto flag_key = [&](std::string_view key, std::optional<bool>* out) -> absl::Status {
    const GgufValue* value = file.Find(key);
    if (value == nullptr) return absl::OkStatus();
    auto b = value->AsBool();
    if (!b.ok()) return wrong(key, "a bool");
    *out = *b;
    return absl::OkStatus();
  };

  RETURN_IF_ERROR(string_key("tokenizer.ggml.model", true, &v.model));
  RETURN_IF_ERROR(string_key("tokenizer.ggml.pre", false, &v.pre));
  RETURN_IF_ERROR(string_key("tokenizer.chat_template", false, &v.chat_template));
  const GgufValue* tokens = file.Find("tokenizer.ggml.tokens");
  if (tokens == nullptr) return absl::NotFoundError("gguf: no tokenizer.ggml.tokens");
  auto token_strings = tokens->AsStrings();
  if (!token_strings.ok()) return wrong("tokenizer.ggml.tokens", "an array of strings");
  v.tokens = **token_strings;
  if (const GgufValue* merges = file.Find("tokenizer.ggml.merges")) {
    auto m = merges->AsStrings();
    if (!m.ok()) return wrong("tokenizer.ggml.merges", "an array of strings");
    v.merges = **m;
  }
  if (const GgufValue* scores = file.Find("tokenizer.ggml.scores")) {
    auto f = scores->AsFloats();
    if (!f.ok()) return wrong("tokenizer.ggml.scores", "an array of floats");
    v.scores.assign((*f)->begin(), (*f)->end());
  }
  if (const GgufValue* types = file.Find("tokenizer.ggml.token_type")) {
    auto t = types->AsInts();
    if (!t.ok()) return wrong("tokenizer.ggml.token_type", "an array of integers");
    v.token_type.reserve((*t)->size());
    for (int64_t type : **t) {
      if (type < INT32_MIN || type > INT32_MAX) return wrong("tokenizer.ggml.token_type", "int32");
      v.token_type.push_back(static_cast<int32_t>(type));
    }
  }
  RETURN_IF_ERROR(id_key("tokenizer.ggml.bos_token_id", &v.bos_id));
  RETURN_IF_ERROR(id_key("tokenizer.ggml.eos_token_id", &v.eos_id));
  RETURN_IF_ERROR(id_key("tokenizer.ggml.eot_token_id", &v.eot_id));
  RETURN_IF_ERROR(id_key("tokenizer.ggml.unknown_token_id", &v.unk_id));
  RETURN_IF_ERROR(id_key("tokenizer.ggml.padding_token_id", &v.pad_id));
  RETURN_IF_ERROR(flag_key("tokenizer.ggml.add_bos_token", &v.add_bos));
  RETURN_IF_ERROR(flag_key("tokenizer.ggml.add_eos_token", &v.add_eos));
  RETURN_IF_ERROR(flag_key("tokenizer.ggml.add_space_prefix", &v.add_space_prefix));
  return v;
}

}  // namespace confide::llm
