#include "guard/words.h"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <memory>

namespace confide::guard {
namespace {

constexpr size_t kMaxCustomWords = 10000;
constexpr size_t kMaxWordChars = 100;

// Item is one normalised character and its source bytes [b, b + len); 8 bytes, since
// normalisation makes several passes over them.
struct Item {
  uint32_t b;
  uint8_t len;
  char c;    // normalised character; ' ' separator
  bool raw;  // a non-ASCII byte kept as is
  uint32_t e() const { return b + len; }
};

// Decode one UTF-8 code point at `i`; returns its length, or 0 for an invalid sequence.
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (len == 0 || c >= 0xF8 || i + len > s.size()) return 0;
  uint32_t v = c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    v = (v << 6) | (d & 0x3F);
  }
  if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
      v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    return 0;
  }
  *cp = v;
  return len;
}

// Fold maps a code point to a lower-case ASCII letter, digit or leet symbol; ' ' for a
// separator; 0 to drop it (invisible characters); 1 for "another letter" (kept as bytes).
char Fold(uint32_t cp) {
  if (cp < 0x80) {
    char c = static_cast<char>(cp);
    if (c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return c;
    if (c == '@' || c == '$' || c == '!' || c == '|' || c == '*') return c;
    return ' ';
  }
  // Invisible: soft hyphen, zero-width space/joiners, word joiner, BOM, combining marks.
  if (cp == 0xAD || (cp >= 0x200B && cp <= 0x200F) || cp == 0x2060 || cp == 0xFEFF ||
      (cp >= 0x300 && cp <= 0x36F)) {
    return 0;
  }
  // Fullwidth ASCII.
  if (cp >= 0xFF01 && cp <= 0xFF5E) return Fold(cp - 0xFEE0);
  // Compatibility letters (NFKC folds them to ASCII): mathematical alphanumerics (bold,
  // italic, script, ... A-Z a-z in blocks of 52; digits in blocks of 10), circled and
  // parenthesised letters, squared letters and regional indicators (emoji letters).
  if (cp >= 0x1D400 && cp <= 0x1D6A3) {
    uint32_t k = (cp - 0x1D400) % 52;
    return static_cast<char>('a' + (k < 26 ? k : k - 26));
  }
  if (cp >= 0x1D7CE && cp <= 0x1D7FF) return static_cast<char>('0' + (cp - 0x1D7CE) % 10);
  if (cp >= 0x24B6 && cp <= 0x24CF) return static_cast<char>('a' + (cp - 0x24B6));
  if (cp >= 0x24D0 && cp <= 0x24E9) return static_cast<char>('a' + (cp - 0x24D0));
  if (cp >= 0x249C && cp <= 0x24B5) return static_cast<char>('a' + (cp - 0x249C));
  for (uint32_t base : {0x1F130u, 0x1F150u, 0x1F170u, 0x1F1E6u}) {
    if (cp >= base && cp < base + 26) return static_cast<char>('a' + (cp - base));
  }
  // Small capitals (IPA and phonetic extensions) that read as Latin letters.
  switch (cp) {
    case 0x1D00:
      return 'a';
    case 0x299:
      return 'b';
    case 0x1D04:
      return 'c';
    case 0x1D05:
      return 'd';
    case 0x1D07:
      return 'e';
    case 0xA730:
      return 'f';
    case 0x262:
      return 'g';
    case 0x29C:
      return 'h';
    case 0x26A:
      return 'i';
    case 0x1D0A:
      return 'j';
    case 0x1D0B:
      return 'k';
    case 0x29F:
      return 'l';
    case 0x1D0D:
      return 'm';
    case 0x274:
      return 'n';
    case 0x1D0F:
      return 'o';
    case 0x1D18:
      return 'p';
    case 0x280:
      return 'r';
    case 0xA731:
      return 's';
    case 0x1D1B:
      return 't';
    case 0x1D1C:
      return 'u';
    case 0x1D20:
      return 'v';
    case 0x1D21:
      return 'w';
    case 0x28F:
      return 'y';
    case 0x1D22:
      return 'z';
    default:
      break;
  }
  // Latin-1 and Latin Extended-A letters with diacritics.
  static constexpr const char* kLatin1 =  // U+00C0..U+00FF
      "aaaaaaaceeeeiiiidnooooo ouuuuyts"
      "aaaaaaaceeeeiiiidnooooo ouuuuyty";
  if (cp >= 0xC0 && cp <= 0xFF) {
    char c = kLatin1[cp - 0xC0];
    return c;
  }
  static constexpr const char* kLatinA =  // U+0100..U+017F
      "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkklllllllllln"
      "nnnnnnnnooooooorrrrrrsssssssstttttttuuuuuuuuuuuuwwyyyzzzzzzs";
  if (cp >= 0x100 && cp <= 0x17F) return kLatinA[cp - 0x100];
  // Cyrillic and Greek letters that look like Latin ones (Unicode confusables).
  switch (cp) {
    case 0x430:
    case 0x410:
    case 0x3B1:
    case 0x391:
      return 'a';
    case 0x432:
    case 0x412:
    case 0x392:
    case 0x3B2:
      return 'b';
    case 0x441:
    case 0x421:
    case 0x3F2:
      return 'c';
    case 0x435:
    case 0x415:
    case 0x395:
    case 0x3B5:
      return 'e';
    case 0x43D:
    case 0x41D:
    case 0x397:
      return 'h';
    case 0x456:
    case 0x406:
    case 0x399:
    case 0x3B9:
      return 'i';
    case 0x458:
    case 0x408:
      return 'j';
    case 0x43A:
    case 0x41A:
    case 0x39A:
    case 0x3BA:
      return 'k';
    case 0x43C:
    case 0x41C:
    case 0x39C:
      return 'm';
    case 0x39D:
    case 0x3B7:
      return 'n';
    case 0x43E:
    case 0x41E:
    case 0x39F:
    case 0x3BF:
    case 0x3C3:
      return 'o';
    case 0x440:
    case 0x420:
    case 0x3A1:
    case 0x3C1:
      return 'p';
    case 0x455:
    case 0x405:
      return 's';
    case 0x442:
    case 0x422:
    case 0x3A4:
    case 0x3C4:
      return 't';
    case 0x3C5:
      return 'u';
    case 0x3BD:
      return 'v';
    case 0x445:
    case 0x425:
    case 0x3A7:
    case 0x3C7:
      return 'x';
    case 0x443:
    case 0x423:
    case 0x3A5:
    case 0x3B3:
      return 'y';
    case 0x396:
      return 'z';
    default:
      break;
  }
  // Punctuation, spaces and symbols: separators.
  if (cp == 0xA0 || (cp >= 0xA1 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 ||
      (cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x2190 && cp <= 0x2BFF) ||
      (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0x1F000 && cp <= 0x1FAFF) ||
      (cp >= 0xFE00 && cp <= 0xFE0F)) {
    return ' ';
  }
  return 1;
}

bool IsLetter(char c) { return c >= 'a' && c <= 'z'; }

char LeetLetter(char c) {
  switch (c) {
    case '0':
      return 'o';
    case '1':
      return 'i';
    case '3':
      return 'e';
    case '4':
      return 'a';
    case '5':
      return 's';
    case '7':
      return 't';
    case '8':
      return 'b';
    case '9':
      return 'g';
    case '@':
      return 'a';
    case '$':
      return 's';
    case '!':
      return 'i';
    case '|':
      return 'i';
    default:
      return c;
  }
}

// Stems that are offensive also at either end of a compound ("fuckface", "dumbshit"); other
// words match only as whole tokens (plus an inflection), so "cocktail" or "analysis" stay
// clean, and nothing matches in the middle of a word ("Scunthorpe").
constexpr std::string_view kCompoundStems[] = {
    "fuck", "fuk",     "shit", "cunt", "bitch", "niger", "niga",   "fagot",    "whore",
    "slut", "bastard", "wank", "twat", "jiz",   "dildo", "ashole", "arsehole", "motherfuck"};

// Inflections allowed after a whole-word match (normalised, each letter once).
constexpr std::string_view kSuffixes[] = {"s", "es", "ed", "er", "ers", "ing", "in", "ie", "ies"};

// Pejorative compounds: a managed word followed by one of these ("dickhead", "knobjockey",
// "analplug") or preceded by one of kCompoundHeads ("dumbfuck") is a match. Normalised forms
// (each repeated letter once).
constexpr std::string_view kCompoundTails[] = {
    "head",  "face",   "hole",   "bag",    "brain",   "breath",  "wad",    "wipe",  "licker",
    "liker", "sucker", "suker",  "suka",   "smoker",  "muncher", "jockey", "jocky", "jockie",
    "jokey", "jokie",  "eater",  "gobler", "gobbler", "plug",    "stain",  "lover", "monkey",
    "boy",   "boi",    "fucker", "shit",   "nose",    "lips",    "slaper", "skin",  "mouth",
    "stick", "tard",   "wit",    "burger", "biter",   "stabber", "weed",   "rag",   "fest",
    "pig",   "dog",    "job",    "ender",  "end"};
constexpr std::string_view kCompoundHeads[] = {
    "dumb", "shit",  "as",     "fuck", "cock", "dick",  "cum",  "jiz", "twat",  "mother", "motha",
    "pusy", "bitch", "douche", "scum", "slut", "whore", "knob", "nob", "towel", "rag"};

bool InList(std::string_view w, const std::string_view* begin, const std::string_view* end) {
  return std::find(begin, end, w) != end;
}

// Inflected: `rest` is an allowed suffix, or a compound tail optionally followed by one.
// Rest is what follows a match inside its token.
enum class Rest { kNone, kSuffix, kTail, kOther };

// ClassifyRest returns whether `rest` (with run lengths `runs`) is empty, an inflection, a
// compound tail (optionally inflected) or anything else. Letters of an inflection must each
// appear once ("assess" is not "ass" + "es"); a tail's own letters may repeat ("gobbler").
Rest ClassifyRest(std::string_view rest, const uint16_t* runs, bool compounds) {
  if (rest.empty()) return Rest::kNone;
  auto singles = [&](size_t from) {
    for (size_t k = from; k < rest.size(); ++k) {
      if (runs[k] != 1) return false;
    }
    return true;
  };
  if (InList(rest, std::begin(kSuffixes), std::end(kSuffixes)) && singles(0)) return Rest::kSuffix;
  if (!compounds) return Rest::kOther;
  for (std::string_view tail : kCompoundTails) {
    if (rest.substr(0, tail.size()) == tail) {
      std::string_view after = rest.substr(tail.size());
      if (after.empty() ||
          (InList(after, std::begin(kSuffixes), std::end(kSuffixes)) && singles(tail.size()))) {
        return Rest::kTail;
      }
    }
  }
  return Rest::kOther;
}

// LeetTable maps a normalised ASCII character to the letter it stands for inside a word;
// IdentityTable maps it to itself.
const std::array<char, 128>& LeetTable() {
  static const std::array<char, 128> t = [] {
    std::array<char, 128> a{};
    for (int c = 0; c < 128; ++c) a[c] = LeetLetter(static_cast<char>(c));
    return a;
  }();
  return t;
}
const std::array<char, 128>& IdentityTable() {
  static const std::array<char, 128> t = [] {
    std::array<char, 128> a{};
    for (int c = 0; c < 128; ++c) a[c] = static_cast<char>(c);
    return a;
  }();
  return t;
}

// kAsciiFold maps each ASCII byte to its normalised character (Fold).
const std::array<char, 128>& AsciiFold() {
  static const std::array<char, 128> t = [] {
    std::array<char, 128> a{};
    for (uint32_t c = 0; c < 128; ++c) a[c] = Fold(c);
    return a;
  }();
  return t;
}

// Tok is one token: a range of items, whether it holds an ASCII letter (then digits and leet
// symbols in it are read as letters), and whether the item after it is a glue character.
struct Tok {
  uint32_t b, e;          // item range (unused for a plain token)
  uint32_t src_b, src_e;  // source byte range
  bool has_letter;
  bool plain;  // two or more ASCII letters only, emitted straight from the source bytes
};

bool IsAsciiAlpha(unsigned char c) { return static_cast<unsigned char>((c | 0x20) - 'a') < 26; }

// Scratch holds the buffers of one normalisation, reused across calls on one thread so that
// scanning does not allocate in the steady state.
// NormBuf is NormalizedText in plain arrays that keep their capacity and are never zero-filled.
struct NormBuf {
  std::unique_ptr<char[]> chars;
  std::unique_ptr<uint16_t[]> runs;
  std::unique_ptr<uint32_t[]> src_begin, src_end;
  size_t capacity = 0, size = 0;
  std::vector<std::pair<uint32_t, uint32_t>> joins;
  void Reserve(size_t n) {
    if (n <= capacity) return;
    capacity = std::max(n, 2 * capacity);
    chars.reset(new char[capacity]);
    runs.reset(new uint16_t[capacity]);
    src_begin.reset(new uint32_t[capacity]);
    src_end.reset(new uint32_t[capacity]);
  }
};

// Hit is a candidate match: source range, normalised length, entry.
struct Hit {
  uint32_t b, e;
  uint32_t len;
  uint32_t entry;
};

struct Scratch {
  std::vector<Hit> hits;
  std::unique_ptr<Item[]> items;  // never zero-filled; capacity items_capacity
  size_t items_capacity = 0;
  std::vector<Tok> toks;
  NormBuf norm;
  // Find's state.
  std::string joined;
  std::vector<uint16_t> joined_runs;
  std::vector<uint32_t> joined_b, joined_e;
};

Scratch& ThreadScratch() {
  thread_local Scratch s;
  return s;
}

void Normalize(std::string_view text, Scratch* sc, NormBuf* out) {
  // 1. Code points to items: one item per folded character; other letters keep their bytes.
  if (sc->items_capacity < text.size()) {  // at most one item per byte
    sc->items_capacity = std::max(text.size(), 2 * sc->items_capacity);
    sc->items.reset(new Item[sc->items_capacity]);
  }
  Item* it_out = sc->items.get();
  // 2. Tokens, in the same pass: maximal runs of non-separators. '!', '*' and '|' at either end
  // of a token are punctuation ("shit!", "*sigh*"), so they become separators; inside a token
  // they, '@' and '$' are leet letters ("sh!t", "f*ck", "a$$") when the token has an ASCII
  // letter.
  std::vector<Tok>& toks = sc->toks;
  toks.clear();
  size_t tok_start = 0;
  bool in_tok = false, tok_letter = false;
  auto close_token = [&](size_t e) {
    in_tok = false;
    size_t b = tok_start;
    Item* its = it_out;
    auto edge = [](const Item& x) { return !x.raw && (x.c == '!' || x.c == '*' || x.c == '|'); };
    while (b < e && edge(its[b])) its[b++].c = ' ';
    while (e > b && edge(its[e - 1])) its[--e].c = ' ';
    if (b < e) {
      toks.push_back(Tok{static_cast<uint32_t>(b), static_cast<uint32_t>(e), its[b].b,
                         its[e - 1].e(), tok_letter, false});
    }
  };
  auto note = [&](size_t idx, char c, bool raw) {
    if (c == ' ' && !raw) {
      if (in_tok) close_token(idx);
      return;
    }
    if (!in_tok) {
      in_tok = true;
      tok_start = idx;
      tok_letter = false;
    }
    tok_letter |= !raw && IsLetter(c);
  };
  const std::array<char, 128>& ascii = AsciiFold();
  size_t idx = 0;
  for (size_t i = 0; i < text.size();) {
    unsigned char b = static_cast<unsigned char>(text[i]);
    // Fast path: a token of two or more ASCII letters that ends at an ASCII separator (most of
    // prose) becomes a plain token without items.
    if (!in_tok && IsAsciiAlpha(b)) {
      size_t j = i + 1;
      while (j < text.size() && IsAsciiAlpha(static_cast<unsigned char>(text[j]))) ++j;
      if (j - i >= 2 && (j == text.size() || (static_cast<unsigned char>(text[j]) < 0x80 &&
                                              ascii[static_cast<unsigned char>(text[j])] == ' '))) {
        toks.push_back(Tok{0, 0, static_cast<uint32_t>(i), static_cast<uint32_t>(j), true, true});
        i = j;
        continue;
      }
    }
    if (b < 0x80) {
      char c = ascii[b];
      ++i;
      if (c == ' ') {  // separators need no item: gaps are read from the source
        if (in_tok) close_token(idx);
        continue;
      }
      it_out[idx] = Item{static_cast<uint32_t>(i - 1), 1, c, false};
      note(idx++, c, false);
      continue;
    }
    uint32_t cp;
    size_t len = DecodeUtf8(text, i, &cp);
    if (len == 0) {
      if (in_tok) close_token(idx);
      ++i;
      continue;
    }
    char c = Fold(cp);
    if (c == 1) {
      for (size_t k = 0; k < len; ++k) {
        it_out[idx] = Item{static_cast<uint32_t>(i), static_cast<uint8_t>(len), text[i + k], true};
        note(idx++, text[i + k], true);
      }
    } else if (c != 0) {
      it_out[idx] = Item{static_cast<uint32_t>(i), static_cast<uint8_t>(len), c, false};
      note(idx++, c, false);
    }
    i += len;
  }
  if (in_tok) close_token(idx);
  const size_t num_items = idx;
  Item* it = it_out;

  // 3. Spaced-out letters ("f u c k", "f.u.c.k"): three or more one-letter tokens with short
  // separator gaps (no line break) merge into one token; a lone letter glued by one '-', '.',
  // '_' or '*' to a word merges too ("s-lut", "f.uck"). Words glued by '-' or '_'
  // ("knob-head") are recorded as joins, scanned again without the separator.
  // Output: at most one character per item plus one separator per token; written through
  // raw pointers (the vectors keep their capacity across calls) and trimmed at the end.
  const size_t max_out = text.size() + toks.size();
  out->Reserve(max_out);
  out->joins.clear();
  char* oc = out->chars.get();
  uint16_t* orun = out->runs.get();
  uint32_t* ob = out->src_begin.get();
  uint32_t* oe = out->src_end.get();
  size_t o = 0;  // characters written
  (void)num_items;
  auto single = [&](size_t x) {
    return !toks[x].plain && toks[x].e - toks[x].b == 1 && !it[toks[x].b].raw;
  };
  auto short_gap = [&](size_t x) {  // at most two code points, no line break
    size_t gb = toks[x].src_e, ge = toks[x + 1].src_b;
    if (ge - gb > 8) return false;
    size_t points = 0;
    for (size_t k = gb; k < ge; ++k) {
      if (text[k] == '\n') return false;
      points += (static_cast<unsigned char>(text[k]) & 0xC0) != 0x80;
    }
    return points <= 2;
  };
  auto glue_char = [&](size_t x) -> char {  // the one separator between toks[x] and toks[x+1]
    size_t gb = toks[x].src_e;
    return toks[x + 1].src_b - gb == 1 ? text[gb] : 0;
  };
  auto glued = [&](size_t x) {
    char sep = glue_char(x);
    return sep == '-' || sep == '.' || sep == '_' || sep == '*';
  };
  size_t join_begin = 0;  // output position where the current chain of joined words starts
  size_t join_words = 0;
  bool prev_joinable = false;  // the previous emitted token is glued by '-'/'_' to this one
  for (size_t t = 0; t < toks.size();) {
    size_t u = t;
    while (u + 1 < toks.size() && single(u) && single(u + 1) && short_gap(u)) ++u;
    size_t v = t;
    while (v + 1 < toks.size() && (single(v) || single(v + 1)) && glued(v)) ++v;
    if (u - t + 1 < 3) u = v > t ? v : t;
    bool has_letter = false;
    for (size_t x = t; x <= u; ++x) has_letter |= toks[x].has_letter;
    if (o > 0) {
      oc[o] = ' ';
      orun[o] = 1;
      ob[o] = oe[o - 1];
      oe[o] = toks[t].src_b;
      ++o;
    }
    size_t tok_out = o;
    if (prev_joinable) {
      ++join_words;
    } else {
      join_begin = tok_out;
      join_words = 1;
    }
    const size_t first_out = o;  // repeated letters collapse within the (merged) token only
    const std::array<char, 128>& leet = has_letter ? LeetTable() : IdentityTable();
    const std::array<char, 128>& lower = AsciiFold();
    for (size_t x = t; x <= u; ++x) {
      const Tok& tk = toks[x];
      if (tk.plain) {
        for (uint32_t k = tk.src_b; k < tk.src_e; ++k) {
          char c = lower[static_cast<unsigned char>(text[k])];
          if (o > first_out && oc[o - 1] == c && orun[o - 1] < 0xFFFF) {
            ++orun[o - 1];
            oe[o - 1] = k + 1;
            continue;
          }
          oc[o] = c;
          orun[o] = 1;
          ob[o] = k;
          oe[o] = k + 1;
          ++o;
        }
        continue;
      }
      for (size_t k = tk.b; k < tk.e; ++k) {
        const Item& y = it[k];
        char c = y.raw ? y.c : leet[static_cast<unsigned char>(y.c) & 0x7F];
        if (o > first_out && !y.raw && oc[o - 1] == c && orun[o - 1] < 0xFFFF) {
          ++orun[o - 1];
          oe[o - 1] = y.e();
          continue;
        }
        oc[o] = c;
        orun[o] = 1;
        ob[o] = y.b;
        oe[o] = y.e();
        ++o;
      }
    }
    char g = u + 1 < toks.size() ? glue_char(u) : 0;
    prev_joinable = has_letter && (g == '-' || g == '_') && toks[u + 1].has_letter;
    if (!prev_joinable && join_words >= 2) {
      out->joins.emplace_back(static_cast<uint32_t>(join_begin), static_cast<uint32_t>(o));
    }
    t = u + 1;
  }
  out->size = o;
}

}  // namespace

NormalizedText NormalizeForMatching(std::string_view text) {
  Scratch& sc = ThreadScratch();
  Normalize(text, &sc, &sc.norm);
  const NormBuf& b = sc.norm;
  NormalizedText out;
  out.chars.assign(b.chars.get(), b.size);
  out.runs.assign(b.runs.get(), b.runs.get() + b.size);
  out.src_begin.assign(b.src_begin.get(), b.src_begin.get() + b.size);
  out.src_end.assign(b.src_end.get(), b.src_end.get() + b.size);
  out.joins = b.joins;
  return out;
}

absl::Status WordFilter::AddEntry(Entry e) {
  NormalizedText n = NormalizeForMatching(e.text);
  if (n.chars.empty()) {
    return absl::InvalidArgumentError("guard words: a word has no letters or digits");
  }
  // A pattern made only of one-character tokens ("s&m") would match stray letters in code
  // and lists; it is kept only if it is a single character the user asked for.
  bool all_single = true;
  for (size_t k = 0; k < n.chars.size(); ++k) {
    bool start = k == 0 || n.chars[k - 1] == ' ';
    bool end = k + 1 == n.chars.size() || n.chars[k + 1] == ' ';
    if (n.chars[k] != ' ' && !(start && end)) all_single = false;
  }
  if (all_single && e.managed) return absl::OkStatus();
  uint32_t id = static_cast<uint32_t>(entries_.size());
  bool managed = e.managed;
  entries_.push_back(std::move(e));
  auto add = [&](const std::string& chars, const std::vector<uint16_t>& runs,
                 bool compound_only = false) {
    patterns_.push_back(Pattern{id, runs, compound_only});
    matcher_.Add(chars, static_cast<uint32_t>(patterns_.size() - 1));
  };
  add(n.chars, n.runs);
  bool one_word = n.chars.find(' ') == std::string::npos;
  // Phrases also match written as one word ("jerkoff", "pillowbiter").
  if (managed && !one_word && n.chars.size() >= 6) {
    std::string joined;
    std::vector<uint16_t> runs;
    for (size_t k = 0; k < n.chars.size(); ++k) {
      if (n.chars[k] == ' ') continue;
      if (!joined.empty() && joined.back() == n.chars[k]) {
        runs.back() = static_cast<uint16_t>(runs.back() + n.runs[k]);
        continue;
      }
      joined.push_back(n.chars[k]);
      runs.push_back(n.runs[k]);
    }
    add(joined, runs);
  }
  if (!managed || !one_word) return absl::OkStatus();
  // Masked vowels ("f*ck", "sh*t"): one variant per vowel of words of four or more letters.
  if (n.chars.size() >= 4) {
    for (size_t k = 1; k + 1 < n.chars.size(); ++k) {
      char c = n.chars[k];
      if (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') {
        std::string v = n.chars;
        v[k] = '*';
        add(v, n.runs);
      }
    }
  }
  // A final 'y' is often written 'i' ("ladyboi", "chinki").
  if (n.chars.size() >= 5 && n.chars.back() == 'y' && n.runs.back() == 1) {
    std::string v = n.chars;
    v.back() = 'i';
    if (v[v.size() - 2] != 'i') add(v, n.runs);
  }
  // Gerunds imply a stem ("knobbing" -> "knob"): the stem matches only inside a compound
  // ("knobhead", "dumbknob"), since bare stems are often ordinary words ("finger", "peg").
  size_t sz = n.chars.size();
  if (sz >= 6 && n.chars.compare(sz - 3, 3, "ing") == 0 && n.runs[sz - 3] == 1 &&
      n.runs[sz - 2] == 1 && n.runs[sz - 1] == 1) {
    std::string stem = n.chars.substr(0, sz - 3);
    std::vector<uint16_t> runs(n.runs.begin(), n.runs.begin() + (sz - 3));
    if (runs.back() == 2) runs.back() = 1;  // consonant doubling: "knobbing"
    if (stem.size() >= 3) add(stem, runs, /*compound_only=*/true);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WordFilter>> WordFilter::Create(
    const std::vector<std::string>& custom_words, bool managed_profanity,
    uint32_t exclude_sources) {
  if (custom_words.size() > kMaxCustomWords) {
    return absl::InvalidArgumentError("guard words: more than 10000 custom words");
  }
  std::unique_ptr<WordFilter> f(new WordFilter());
  for (const auto& w : custom_words) {
    size_t chars = 0;
    for (unsigned char c : w) chars += (c & 0xC0) != 0x80;
    if (chars < 1 || chars > kMaxWordChars) {
      return absl::InvalidArgumentError("guard words: a custom word is not 1-100 characters");
    }
    RETURN_IF_ERROR(f->AddEntry(Entry{w, false, 0}));
  }
  if (managed_profanity) {
    for (size_t i = 0; i < kNumManagedAllowWords; ++i) {
      f->allow_.push_back(NormalizeForMatching(kManagedAllowWords[i]).chars);
    }
    std::sort(f->allow_.begin(), f->allow_.end());
    for (size_t i = 0; i < kNumManagedProfanity; ++i) {
      if ((kManagedProfanity[i].sources & ~exclude_sources) == 0) continue;
      (void)f->AddEntry(Entry{kManagedProfanity[i].text, true, kManagedProfanity[i].severity});
    }
  }
  f->matcher_.Build();
  return f;
}

bool WordFilter::Accept(std::string_view s, const uint16_t* runs, size_t start, size_t end,
                        uint32_t pid) const {
  const Pattern& p = patterns_[pid];
  const size_t len = end - start;
  bool managed = entries_[p.entry].managed;
  // Repeated letters: a text run must be at least as long as the word's ("as" is not "ass"),
  // except in long managed words, where a single letter for a double one is a misspelling
  // ("jigaboo").
  bool relax = managed && len >= 6;
  for (size_t k = 0; k < len; ++k) {
    uint16_t need = p.runs[k];
    if (relax && need > 1) need = 1;
    if (runs[start + k] < need) return false;
  }
  bool one_word = s.substr(start, len).find(' ') == std::string_view::npos;
  bool compounds = managed && one_word && len >= 3;
  // Token bounds, searched at most kMaxToken characters away (so a long token full of matches
  // stays linear); a longer token is neither an allowed word nor a short affix.
  constexpr size_t kMaxToken = 64;
  constexpr size_t kMaxAffix = 16;  // longer than any suffix, tail or head
  size_t tb = start;
  while (tb > 0 && s[tb - 1] != ' ' && start - tb <= kMaxToken) --tb;
  size_t te = end;
  while (te < s.size() && s[te] != ' ' && te - end <= kMaxToken) ++te;
  bool long_before = tb > 0 && s[tb - 1] != ' ';
  bool long_after = te < s.size() && s[te] != ' ';
  std::string_view before = s.substr(tb, start - tb);
  std::string_view rest = s.substr(end, te - end);
  Rest rest_kind = long_after || rest.size() > kMaxAffix
                       ? Rest::kOther
                       : ClassifyRest(rest, runs + end, compounds);
  bool head = compounds && !long_before && !before.empty() && before.size() <= kMaxAffix &&
              InList(before, std::begin(kCompoundHeads), std::end(kCompoundHeads));
  bool left = before.empty() || head;
  bool right = rest_kind != Rest::kOther;
  if (p.compound_only) {
    // A derived stem needs a compound part: a head before it, a tail after it, or a tail as
    // the next word ("knob jockey").
    bool tail = rest_kind == Rest::kTail;
    if (!tail && rest_kind == Rest::kNone && te < s.size()) {
      size_t nb = te + 1, ne = nb;
      while (ne < s.size() && s[ne] != ' ' && ne - nb <= kMaxAffix) ++ne;
      tail = ne - nb <= kMaxAffix && (ne == s.size() || s[ne] == ' ') &&
             ClassifyRest(s.substr(nb, ne - nb), runs + nb, true) == Rest::kTail;
    }
    if (!(head && right) && !(tail && left)) return false;
  }
  if (!left && !right) return false;  // inside a longer word ("Scunthorpe")
  if (!left || !right) {
    std::string_view pat = s.substr(start, len);
    bool stem = managed && InList(pat, std::begin(kCompoundStems), std::end(kCompoundStems));
    if (!stem) return false;
  }
  if (managed && !long_before && !long_after) {
    std::string_view token = s.substr(tb, te - tb);
    if (token.size() <= kMaxToken &&
        std::binary_search(allow_.begin(), allow_.end(), token, std::less<>())) {
      return false;
    }
    // Phrase exceptions: the token with the next or the previous token ("coon hound").
    if (te < s.size() && te - tb <= kMaxToken) {
      size_t ne = te + 1;
      while (ne < s.size() && s[ne] != ' ' && ne - te <= kMaxToken) ++ne;
      if (ne - te <= kMaxToken &&
          std::binary_search(allow_.begin(), allow_.end(), s.substr(tb, ne - tb), std::less<>())) {
        return false;
      }
    }
    if (tb > 1 && te - tb <= kMaxToken) {
      size_t pb = tb - 1;
      while (pb > 0 && s[pb - 1] != ' ' && tb - pb <= kMaxToken) --pb;
      if (tb - pb <= kMaxToken &&
          std::binary_search(allow_.begin(), allow_.end(), s.substr(pb, te - pb), std::less<>())) {
        return false;
      }
    }
  }
  return true;
}

std::vector<WordMatch> WordFilter::Find(std::string_view text) const {
  bool managed_hit = false;
  return Find(text, &managed_hit);
}

std::vector<WordMatch> WordFilter::Find(std::string_view text, bool* managed_hit) const {
  *managed_hit = false;
  Scratch& sc = ThreadScratch();
  Normalize(text, &sc, &sc.norm);
  const NormBuf& n = sc.norm;
  std::vector<Hit>& hits = sc.hits;
  hits.clear();
  const std::string_view s(n.chars.get(), n.size);
  matcher_.ForEachMatch(s, [&](size_t end, size_t len, uint32_t pid) {
    if (Accept(s, n.runs.get(), end - len, end, pid)) {
      hits.push_back(Hit{n.src_begin[end - len], n.src_end[end - 1], static_cast<uint32_t>(len),
                         patterns_[pid].entry});
    }
    return true;
  });
  // Words glued by '-' or '_' ("knob-head", "she-male") are matched again as one word.
  for (const auto& [jb, je] : n.joins) {
    sc.joined.clear();
    sc.joined_runs.clear();
    sc.joined_b.clear();
    sc.joined_e.clear();
    for (size_t k = jb; k < je; ++k) {
      char c = s[k];
      if (c == ' ') continue;
      if (!sc.joined.empty() && sc.joined.back() == c && static_cast<unsigned char>(c) < 0x80 &&
          sc.joined_runs.back() + n.runs[k] <= 0xFFFF) {
        sc.joined_runs.back() = static_cast<uint16_t>(sc.joined_runs.back() + n.runs[k]);
        sc.joined_e.back() = n.src_end[k];
        continue;
      }
      sc.joined.push_back(c);
      sc.joined_runs.push_back(n.runs[k]);
      sc.joined_b.push_back(n.src_begin[k]);
      sc.joined_e.push_back(n.src_end[k]);
    }
    matcher_.ForEachMatch(sc.joined, [&](size_t end, size_t len, uint32_t pid) {
      if (Accept(sc.joined, sc.joined_runs.data(), end - len, end, pid)) {
        hits.push_back(Hit{sc.joined_b[end - len], sc.joined_e[end - 1], static_cast<uint32_t>(len),
                           patterns_[pid].entry});
      }
      return true;
    });
  }
  for (const Hit& h : hits) {
    if (entries_[h.entry].managed) {
      *managed_hit = true;
      break;
    }
  }
  std::vector<WordMatch> out;
  if (hits.empty()) return out;
  if (hits.size() == 1) {
    out.push_back(WordMatch{hits[0].b, hits[0].e, hits[0].entry});
    return out;
  }
  // Longest first, non-overlapping.
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    if (a.len != b.len) return a.len > b.len;
    return a.b < b.b;
  });
  std::map<size_t, size_t> taken;
  for (const Hit& h : hits) {
    auto it = taken.lower_bound(h.b);
    if (it != taken.end() && it->first < h.e) continue;
    if (it != taken.begin() && std::prev(it)->second > h.b) continue;
    taken.emplace(h.b, h.e);
    out.push_back(WordMatch{h.b, h.e, h.entry});
  }
  std::sort(out.begin(), out.end(),
            [](const WordMatch& a, const WordMatch& b) { return a.begin < b.begin; });
  return out;
}

}  // namespace confide::guard
