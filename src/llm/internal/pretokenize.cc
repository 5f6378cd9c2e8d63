#include "llm/internal/pretokenize.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>

#include "llm/internal/unicode.h"

namespace confide::llm::internal {
namespace {

// Range is a half-open range of code point indexes.
using Range = std::pair<size_t, size_t>;

constexpr uint32_t kOutOfRange = 0xFFFFFFFEu;

// View gives bounded access to the code points of one piece: outside [begin, end) every query
// answers "no such character", which is how the patterns see the piece's edges.
class View {
 public:
  View(const std::vector<Codepoint>& cps, size_t begin, size_t end)
      : cps_(cps), begin_(begin), end_(end) {}
  bool In(size_t p) const { return p >= begin_ && p < end_; }
  uint32_t Cp(size_t p) const { return In(p) ? cps_[p].cp : kOutOfRange; }
  uint8_t Cat(size_t p) const { return In(p) ? CategoryOf(cps_[p].cp) : 0; }
  bool Letter(size_t p) const { return (Cat(p) & kCatLetter) != 0; }
  bool Number(size_t p) const { return (Cat(p) & kCatNumber) != 0; }
  bool Space(size_t p) const { return In(p) && IsWhitespace(cps_[p].cp); }
  // Other: in range and not \s, \p{L} or \p{N}.
  bool Other(size_t p) const {
    return In(p) && !Space(p) && (Cat(p) & (kCatLetter | kCatNumber)) == 0;
  }
  size_t begin() const { return begin_; }
  size_t end() const { return end_; }

 private:
  const std::vector<Codepoint>& cps_;
  size_t begin_;
  size_t end_;
};

uint32_t AsciiLower(uint32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// ContractionLength returns 2 or 3 when a contraction ('s 't 'm 'd 're 've 'll) starts at p,
// else 0. `fold` makes the letters case-insensitive.
size_t ContractionLength(const View& v, size_t p, bool fold) {
  if (v.Cp(p) != '\'' || !v.In(p + 1)) return 0;
  const auto norm = [&](uint32_t c) { return fold ? AsciiLower(c) : c; };
  const uint32_t c1 = norm(v.Cp(p + 1));
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
  if (!v.In(p + 2)) return 0;
  const uint32_t c2 = norm(v.Cp(p + 2));
  if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
  return 0;
}

// Gpt2 splits one piece with the GPT-2 pattern (every code point ends up in some word).
void Gpt2(const View& v, std::vector<Range>* out) {
  size_t pos = v.begin();
  while (pos < v.end()) {
    const size_t start = pos;
    if (const size_t n = ContractionLength(v, pos, /*fold=*/false); n > 0) {
      out->emplace_back(start, pos + n);
      pos += n;
      continue;
    }
    // ` ?X+` for X in \p{L}, \p{N}, [^\s\p{L}\p{N}].
    const size_t first = (v.Cp(pos) == ' ') ? pos + 1 : pos;
    std::function<bool(size_t)> cls;
    if (v.Letter(first)) {
      cls = [&](size_t p) { return v.Letter(p); };
    } else if (v.Number(first)) {
      cls = [&](size_t p) { return v.Number(p); };
    } else if (v.Other(first)) {
      cls = [&](size_t p) { return v.Other(p); };
    }
    if (cls) {
      pos = first;
      while (cls(pos)) ++pos;
      out->emplace_back(start, pos);
      continue;
    }
    size_t spaces = 0;
    while (v.Space(pos + spaces)) ++spaces;
    if (spaces > 1 && v.In(pos + spaces)) {
      // \s+(?!\S): leave the last space to prefix the next word.
      pos += spaces - 1;
    } else if (spaces > 0) {
      pos += spaces;
    } else {
      ++pos;
    }
    out->emplace_back(start, pos);
  }
}

// Llama3 splits one piece with the Llama 3 pattern; `max_digits` is 3 (Llama 3) or 1 (Qwen2).
void Llama3(const View& v, size_t max_digits, std::vector<Range>* out) {
  size_t pos = v.begin();
  while (pos < v.end()) {
    const size_t start = pos;
    const uint32_t c = v.Cp(pos);
    if (const size_t n = ContractionLength(v, pos, /*fold=*/true); n > 0) {
      pos += n;
      out->emplace_back(start, pos);
      continue;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (c != '\r' && c != '\n' && !v.Number(pos) && (v.Letter(pos) || v.Letter(pos + 1))) {
      ++pos;
      while (v.Letter(pos)) ++pos;
      out->emplace_back(start, pos);
      continue;
    }
    // \p{N}{1,max_digits}
    if (v.Number(pos)) {
      size_t n = 0;
      while (v.Number(pos) && n < max_digits) ++pos, ++n;
      out->emplace_back(start, pos);
      continue;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    const size_t first = (c == ' ') ? pos + 1 : pos;
    if (v.Other(first)) {
      pos = first;
      while (v.Other(pos)) ++pos;
      while (v.Cp(pos) == '\r' || v.Cp(pos) == '\n') ++pos;
      out->emplace_back(start, pos);
      continue;
    }
    size_t spaces = 0;
    size_t last_newline_end = 0;
    while (v.Space(pos + spaces)) {
      const uint32_t s = v.Cp(pos + spaces);
      if (s == '\r' || s == '\n') last_newline_end = pos + spaces + 1;
      ++spaces;
    }
    if (last_newline_end > 0) {
      pos = last_newline_end;  // \s*[\r\n]+
    } else if (spaces > 1 && v.In(pos + spaces)) {
      pos += spaces - 1;  // \s+(?!\S)
    } else if (spaces > 0) {
      pos += spaces;  // \s+
    } else {
      ++pos;
    }
    out->emplace_back(start, pos);
  }
}

// Isolate splits one piece around the matches of `match` (which returns the match length at a
// position, 0 for none), searching left to right as a regex search does; text between matches
// forms its own words.
void Isolate(const View& v, const std::function<size_t(size_t)>& match, std::vector<Range>* out) {
  size_t pending = v.begin();
  size_t pos = v.begin();
  while (pos < v.end()) {
    const size_t n = match(pos);
    if (n == 0) {
      ++pos;
      continue;
    }
    if (pending < pos) out->emplace_back(pending, pos);
    out->emplace_back(pos, pos + n);
    pos += n;
    pending = pos;
  }
  if (pending < v.end()) out->emplace_back(pending, v.end());
}

// Run returns the length of the run of code points satisfying `pred` starting at p.
size_t Run(const View& v, size_t p, const std::function<bool(size_t)>& pred) {
  size_t n = 0;
  while (v.In(p + n) && pred(p + n)) ++n;
  return n;
}

// OptionalSpaceThen matches \s?X+ at p.
size_t OptionalSpaceThen(const View& v, size_t p, const std::function<bool(size_t)>& pred) {
  if (v.Space(p)) {
    const size_t n = Run(v, p + 1, pred);
    if (n > 0) return n + 1;
  }
  return Run(v, p, pred);
}

bool IsCjkOrHangul(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x0800 && c <= 0x4E00) ||
         (c >= 0xAC00 && c <= 0xD7FF);
}

// kDeepseekLetters is the letter class of deepseek-llm's second expression (the cased letters,
// \p{LC}), as code point ranges. Copied from llama.cpp's llm_tokenizer_bpe (src/llama-vocab.cpp).
constexpr std::pair<uint32_t, uint32_t> kDeepseekLetters[] = {
    {0x00041, 0x0005A}, {0x00061, 0x0007A}, {0x000B5, 0x000B5}, {0x000C0, 0x000D6},
    {0x000D8, 0x000F6}, {0x000F8, 0x001BA}, {0x001BC, 0x001BF}, {0x001C4, 0x00293},
    {0x00295, 0x002AF}, {0x00370, 0x00373}, {0x00376, 0x00376}, {0x00377, 0x00377},
    {0x0037B, 0x0037D}, {0x0037F, 0x0037F}, {0x00386, 0x00386}, {0x00388, 0x0038A},
    {0x0038C, 0x0038C}, {0x0038E, 0x003A1}, {0x003A3, 0x003F5}, {0x003F7, 0x00481},
    {0x0048A, 0x0052F}, {0x00531, 0x00556}, {0x010A0, 0x010C5}, {0x013A0, 0x013F5},
    {0x013F8, 0x013FD}, {0x01C90, 0x01CBA}, {0x01CBD, 0x01CBF}, {0x01D00, 0x01D2B},
    {0x01D6B, 0x01D77}, {0x01D79, 0x01D9A}, {0x01E00, 0x01F15}, {0x01F18, 0x01F1D},
    {0x01F20, 0x01F45}, {0x01F48, 0x01F4D}, {0x01F50, 0x01F57}, {0x01F59, 0x01F59},
    {0x01F5B, 0x01F5B}, {0x01F5D, 0x01F5D}, {0x01F5F, 0x01F7D}, {0x01F80, 0x01FB4},
    {0x01FB6, 0x01FBC}, {0x01FBE, 0x01FBE}, {0x01FC2, 0x01FC4}, {0x01FC6, 0x01FCC},
    {0x01FD0, 0x01FD3}, {0x01FD6, 0x01FDB}, {0x01FE0, 0x01FEC}, {0x01FF2, 0x01FF4},
    {0x01FF6, 0x01FFC}, {0x02102, 0x02102}, {0x02107, 0x02107}, {0x0210A, 0x02113},
    {0x02115, 0x02115}, {0x02119, 0x0211D}, {0x02124, 0x02124}, {0x02126, 0x02126},
    {0x02128, 0x02128}, {0x0212A, 0x0212D}, {0x0212F, 0x02134}, {0x02139, 0x02139},
    {0x0213C, 0x0213F}, {0x02145, 0x02149}, {0x0214E, 0x0214E}, {0x02183, 0x02183},
    {0x02184, 0x02184}, {0x02C00, 0x02C7B}, {0x02C7E, 0x02CE4}, {0x02CEB, 0x02CEE},
    {0x02CF2, 0x02CF2}, {0x02CF3, 0x02CF3}, {0x0A640, 0x0A66D}, {0x0A680, 0x0A69B},
    {0x0A722, 0x0A76F}, {0x0A771, 0x0A787}, {0x0A78B, 0x0A78E}, {0x0AB70, 0x0ABBF},
    {0x0FB00, 0x0FB06}, {0x0FB13, 0x0FB17}, {0x0FF21, 0x0FF3A}, {0x0FF41, 0x0FF5A},
    {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB}, {0x10C80, 0x10CB2},
    {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};

bool IsDeepseekLetter(uint32_t c) {
  for (const auto& [first, last] : kDeepseekLetters) {
    if (c < first) return false;
    if (c <= last) return true;
  }
  return false;
}

// IsDeepseekPunct is [!-/:-~！-／：-～‘-‟　-。].
bool IsDeepseekPunct(uint32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x7E) || (c >= 0xFF01 && c <= 0xFF0F) ||
         (c >= 0xFF1A && c <= 0xFF5E) || (c >= 0x2018 && c <= 0x201F) ||
         (c >= 0x3000 && c <= 0x3002);
}

using Stage = std::function<void(const View&, std::vector<Range>*)>;

std::vector<Stage> StagesFor(PreTokenizer kind) {
  const Stage gpt2 = [](const View& v, std::vector<Range>* out) { Gpt2(v, out); };
  const Stage each_number = [](const View& v, std::vector<Range>* out) {
    Isolate(
        v, [&](size_t p) -> size_t { return v.Number(p) ? 1 : 0; }, out);
  };
  const Stage newline = [](const View& v, std::vector<Range>* out) {
    Isolate(
        v, [&](size_t p) -> size_t { return (v.Cp(p) == '\r' || v.Cp(p) == '\n') ? 1 : 0; }, out);
  };
  const Stage cjk = [](const View& v, std::vector<Range>* out) {
    Isolate(
        v, [&](size_t p) { return Run(v, p, [&](size_t q) { return IsCjkOrHangul(v.Cp(q)); }); },
        out);
  };
  switch (kind) {
    case PreTokenizer::kGpt2:
      return {gpt2};
    case PreTokenizer::kLlama3:
      return {[](const View& v, std::vector<Range>* out) { Llama3(v, 3, out); }};
    case PreTokenizer::kQwen2:
      return {[](const View& v, std::vector<Range>* out) { Llama3(v, 1, out); }};
    case PreTokenizer::kStarcoder:
      return {each_number, gpt2};
    case PreTokenizer::kDeepseekCoder:
      return {
          [](const View& v, std::vector<Range>* out) {
            Isolate(
                v, [&](size_t p) -> size_t { return (v.Cp(p) == '\r' || v.Cp(p) == '\n') ? 1 : 0; },
                out);
          },
          [](const View& v, std::vector<Range>* out) {
            Isolate(
                v,
                [&](size_t p) {
                  return OptionalSpaceThen(v, p, [&](size_t q) { return v.Letter(q); });
                },
                out);
          },
          [](const View& v, std::vector<Range>* out) {
            Isolate(
                v,
                [&](size_t p) {
                  return OptionalSpaceThen(v, p,
                                           [&](size_t q) { return (v.Cat(q) & kCatPunct) != 0; });
                },
                out);
          },
          [](const View& v, std::vector<Range>* out) {
            Isolate(
                v,
                [&](size_t p) {
                  return Run(v, p, [&](size_t q) { return IsCjkOrHangul(v.Cp(q)); });
                },
                out);
          },
          each_number,
      };
    case PreTokenizer::kFalcon:
      return {
          [](const View& v, std::vector<Range>* out) {
            const auto punct = [&](size_t q) {
              const uint32_t c = v.Cp(q);
              return (v.Cat(q) & kCatPunct) != 0 || c == '$' || c == '+' || c == '<' || c == '=' ||
                     c == '>' || c == '^' || c == '~' || c == '|' || c == '`';
            };
            Isolate(
                v, [&](size_t p) { return Run(v, p, punct); }, out);
          },
          gpt2,
          [](const View& v, std::vector<Range>* out) {
            const auto digit = [&](size_t q) { return v.Cp(q) >= '0' && v.Cp(q) <= '9'; };
            Isolate(
                v,
                [&](size_t p) -> size_t {
                  return digit(p) && digit(p + 1) && digit(p + 2) ? 3 : 0;
                },
                out);
          },
      };
    case PreTokenizer::kDeepseekLlm:
      return {
          newline,
          [](const View& v, std::vector<Range>* out) {
            Isolate(
                v,
                [&](size_t p) {
                  return OptionalSpaceThen(v, p,
                                           [&](size_t q) { return IsDeepseekLetter(v.Cp(q)); });
                },
                out);
          },
          [](const View& v, std::vector<Range>* out) {
            Isolate(
                v,
                [&](size_t p) {
                  return OptionalSpaceThen(v, p,
                                           [&](size_t q) { return IsDeepseekPunct(v.Cp(q)); });
                },
                out);
          },
          [](const View& v, std::vector<Range>* out) {
            // \s+$: the whitespace run that reaches the end of the piece.
            Isolate(
                v,
                [&](size_t p) -> size_t {
                  const size_t n = Run(v, p, [&](size_t q) { return v.Space(q); });
                  return p + n == v.end() ? n : 0;
                },
                out);
          },
          cjk,
          [](const View& v, std::vector<Range>* out) {
            Isolate(
                v, [&](size_t p) { return Run(v, p, [&](size_t q) { return v.Number(q); }); }, out);
          },
      };
  }
  return {gpt2};
}

}  // namespace

std::vector<std::string_view> PreTokenize(PreTokenizer kind, std::string_view text) {
  const std::vector<Codepoint> cps = DecodeUtf8(text);
  std::vector<Range> pieces;
  if (!cps.empty()) pieces.emplace_back(0, cps.size());
  for (const Stage& stage : StagesFor(kind)) {
    std::vector<Range> next;
    next.reserve(pieces.size() * 2);
    for (const Range& r : pieces) stage(View(cps, r.first, r.second), &next);
    pieces = std::move(next);
  }
  std::vector<std::string_view> words;
  words.reserve(pieces.size());
  for (const Range& r : pieces) {
    const size_t begin = cps[r.first].offset;
    const size_t end = cps[r.second - 1].offset + cps[r.second - 1].length;
    words.push_back(text.substr(begin, end - begin));
  }
  return words;
}

}  // namespace confide::llm::internal
