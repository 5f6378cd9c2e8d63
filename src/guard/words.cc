#include "guard/words.h"

#include <algorithm>
#include <array>
#include <functional>
#include <map>

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
bool IsDigitC(char c) { return c >= '0' && c <= '9'; }
bool IsLeet(char c) { return c == '@' || c == '$' || c == '!' || c == '|' || c == '*'; }

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
bool AllowedRest(std::string_view rest, bool compounds) {
  if (rest.empty() || InList(rest, std::begin(kSuffixes), std::end(kSuffixes))) return true;
  if (!compounds) return false;
  for (std::string_view tail : kCompoundTails) {
    if (rest.substr(0, tail.size()) == tail) {
      std::string_view after = rest.substr(tail.size());
      if (after.empty() || InList(after, std::begin(kSuffixes), std::end(kSuffixes))) return true;
    }
  }
  return false;
}

}  // namespace

NormalizedText NormalizeForMatching(std::string_view text) {
  std::vector<Item> items;
  items.reserve(text.size());
  std::vector<uint32_t> leet_pos;  // items that are ASCII leet symbols
  static const std::array<char, 128> kAscii = [] {
    std::array<char, 128> t{};
    for (uint32_t c = 0; c < 128; ++c) t[c] = Fold(c);
    return t;
  }();
  for (size_t i = 0; i < text.size();) {
    unsigned char b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {  // ASCII fast path
      items.push_back(Item{static_cast<uint32_t>(i), 1, kAscii[b], false});
      if (IsLeet(kAscii[b])) leet_pos.push_back(static_cast<uint32_t>(items.size() - 1));
      ++i;
      continue;
    }
    uint32_t cp;
    size_t len = DecodeUtf8(text, i, &cp);
    if (len == 0) {
      items.push_back(Item{static_cast<uint32_t>(i), 1, ' ', false});
      ++i;
      continue;
    }
    char c = Fold(cp);
    if (c == 1) {
      for (size_t k = 0; k < len; ++k) {
        items.push_back(
            Item{static_cast<uint32_t>(i), static_cast<uint8_t>(len), text[i + k], true});
      }
    } else if (c != 0) {
      items.push_back(Item{static_cast<uint32_t>(i), static_cast<uint8_t>(len), c, false});
      if (IsLeet(c)) leet_pos.push_back(static_cast<uint32_t>(items.size() - 1));
    }
    i += len;
  }
  // Leet symbols are letters only inside words: '!' and '*' between word characters, '@', '$'
  // and '|' before a word character or after a letter.
  auto word_char = [&](size_t k) {
    char c = items[k].c;
    return items[k].raw || IsLetter(c) || IsDigitC(c);
  };
  for (uint32_t k : leet_pos) {
    char c = items[k].c;
    size_t next = k;
    while (next < items.size() && !items[next].raw && IsLeet(items[next].c)) ++next;
    bool next_word = next < items.size() && word_char(next);
    bool prev_word = k > 0 && (word_char(k - 1) || (IsLeet(items[k - 1].c) && !items[k - 1].raw));
    bool keep = (c == '!' || c == '*') ? (prev_word && next_word) : (next_word || prev_word);
    if (!keep) items[k].c = ' ';
  }
  // Tokens.
  struct Tok {
    size_t b, e;  // item range
    bool has_letter;
  };
  std::vector<Tok> toks;
  toks.reserve(items.size() / 4 + 1);
  for (size_t k = 0; k < items.size();) {
    if (items[k].c == ' ' && !items[k].raw) {
      ++k;
      continue;
    }
    size_t s = k;
    bool letter = false;
    while (k < items.size() && !(items[k].c == ' ' && !items[k].raw)) {
      letter |= !items[k].raw && (IsLetter(items[k].c) || IsLeet(items[k].c));
      ++k;
    }
    toks.push_back(Tok{s, k, letter});
  }
  // Spaced-out letters ("f u c k", "f.u.c.k"): three or more one-letter tokens with short
  // separator gaps (no line break) merge into one token.
  std::vector<Tok> merged;
  merged.reserve(toks.size());
  for (size_t t = 0; t < toks.size();) {
    auto single = [&](size_t x) { return toks[x].e - toks[x].b == 1 && !items[toks[x].b].raw; };
    auto short_gap = [&](size_t x) {  // gap between toks[x] and toks[x+1]
      size_t gap = toks[x + 1].b - toks[x].e;
      if (gap > 2) return false;
      for (size_t k = toks[x].e; k < toks[x + 1].b; ++k) {
        if (text[items[k].b] == '\n') return false;
      }
      return true;
    };
    auto glued = [&](size_t x) {  // one '-', '.', '_' or '*' between toks[x] and toks[x+1]
      size_t gap = toks[x + 1].b - toks[x].e;
      if (gap != 1) return false;
      char sep = text[items[toks[x].e].b];
      return sep == '-' || sep == '.' || sep == '_' || sep == '*';
    };
    size_t u = t;
    while (u + 1 < toks.size() && single(u) && single(u + 1) && short_gap(u)) ++u;
    size_t v = t;  // "s-lut", "f.uck": a lone letter glued to a word
    while (v + 1 < toks.size() && (single(v) || single(v + 1)) && glued(v)) ++v;
    if (u - t + 1 < 3 && v > t) u = v;
    if (u - t + 1 >= 3 || v > t) {
      // Keep the letters only (drop separator items) by marking separators as dropped.
      Tok m{toks[t].b, toks[u].e, false};
      for (size_t x = t; x <= u; ++x) m.has_letter |= toks[x].has_letter;
      for (size_t k = m.b; k < m.e; ++k) {
        if (items[k].c == ' ' && !items[k].raw) items[k].c = 0;
      }
      merged.push_back(m);
      t = u + 1;
    } else {
      merged.push_back(toks[t]);
      ++t;
    }
  }
  NormalizedText out;
  out.chars.reserve(items.size());
  out.runs.reserve(items.size());
  out.src_begin.reserve(items.size());
  out.src_end.reserve(items.size());
  for (size_t t = 0; t < merged.size(); ++t) {
    const Tok& tok = merged[t];
    bool has_letter = tok.has_letter;
    if (t > 0) {
      out.chars.push_back(' ');
      out.runs.push_back(1);
      out.src_begin.push_back(items[merged[t - 1].e - 1].e());
      out.src_end.push_back(items[tok.b].b);
    }
    bool first = true;
    for (size_t k = tok.b; k < tok.e; ++k) {
      const Item& it = items[k];
      if (it.c == 0 && !it.raw) continue;  // dropped separator inside a merged token
      char c = it.c;
      if (!it.raw && has_letter) c = LeetLetter(c);
      if (!first && !it.raw && out.chars.back() == c && out.runs.back() < 0xFFFF) {
        ++out.runs.back();
        out.src_end.back() = it.e();
        continue;
      }
      first = false;
      out.chars.push_back(c);
      out.runs.push_back(1);
      out.src_begin.push_back(it.b);
      out.src_end.push_back(it.e());
    }
  }
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
  auto add = [&](const std::string& chars, const std::vector<uint16_t>& runs) {
    patterns_.push_back(Pattern{id, runs});
    matcher_.Add(chars, static_cast<uint32_t>(patterns_.size() - 1));
  };
  add(n.chars, n.runs);
  // Phrases also match written as one word ("jerkoff", "pillowbiter").
  if (managed && n.chars.find(' ') != std::string::npos && n.chars.size() >= 6) {
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
  // Masked vowels ("f*ck", "sh*t"): one variant per vowel of words of four or more letters.
  if (managed && n.chars.size() >= 4 && n.chars.find(' ') == std::string::npos) {
    for (size_t k = 1; k + 1 < n.chars.size(); ++k) {
      char c = n.chars[k];
      if (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') {
        std::string v = n.chars;
        v[k] = '*';
        add(v, n.runs);
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WordFilter>> WordFilter::Create(
    const std::vector<std::string>& custom_words, bool managed_profanity) {
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
      (void)f->AddEntry(Entry{kManagedProfanity[i].text, true, kManagedProfanity[i].severity});
    }
  }
  f->matcher_.Build();
  return f;
}

std::vector<WordMatch> WordFilter::Find(std::string_view text) const {
  NormalizedText n = NormalizeForMatching(text);
  const std::string& s = n.chars;
  struct Hit {
    size_t b, e;  // normalised range
    uint32_t entry;
  };
  std::vector<Hit> hits;
  std::vector<uint32_t> token_begin_of, token_end_of;
  matcher_.Scan(s, [&](size_t end, size_t len, uint32_t pid) {
    size_t start = end - len;
    const Pattern& p = patterns_[pid];
    for (size_t k = 0; k < len; ++k) {
      if (n.runs[start + k] < p.runs[k]) return true;
    }
    bool managed = entries_[p.entry].managed;
    bool one_word = std::string_view(s.data() + start, len).find(' ') == std::string_view::npos;
    bool compounds = managed && one_word && len >= 3;
    // Token bounds come from tables built once per text, so a long token full of matches
    // stays linear.
    if (token_begin_of.empty()) {
      token_begin_of.resize(s.size());
      token_end_of.resize(s.size());
      uint32_t tb = 0;
      for (size_t k = 0; k < s.size(); ++k) {
        if (s[k] == ' ') tb = static_cast<uint32_t>(k + 1);
        token_begin_of[k] = tb;
      }
      uint32_t te = static_cast<uint32_t>(s.size());
      for (size_t k = s.size(); k-- > 0;) {
        if (s[k] == ' ') te = static_cast<uint32_t>(k);
        token_end_of[k] = te;
      }
    }
    size_t token_begin = token_begin_of[start];
    size_t token_end = token_end_of[end - 1];
    constexpr size_t kMaxAffix = 16;  // longer than any suffix, tail or head
    std::string_view before(s.data() + token_begin, start - token_begin);
    std::string_view rest(s.data() + end, token_end - end);
    // Letters after the match must each appear once to count as a suffix ("assess" is not
    // "ass" + "es").
    bool rest_single = rest.size() <= kMaxAffix;
    for (size_t k = end; rest_single && k < token_end; ++k) rest_single = n.runs[k] == 1;
    bool left =
        before.empty() || (compounds && before.size() <= kMaxAffix &&
                           InList(before, std::begin(kCompoundHeads), std::end(kCompoundHeads)));
    bool right = rest.empty() || (rest_single && AllowedRest(rest, compounds));
    if (!left && !right) return true;  // inside a longer word ("Scunthorpe")
    if (!left || !right) {
      std::string_view pat(s.data() + start, len);
      bool stem = managed && InList(pat, std::begin(kCompoundStems), std::end(kCompoundStems));
      if (!stem) return true;
    }
    std::string_view token(s.data() + token_begin, token_end - token_begin);
    if (managed && token.size() <= 64 &&
        std::binary_search(allow_.begin(), allow_.end(), token, std::less<>())) {
      return true;
    }
    hits.push_back(Hit{start, end, p.entry});
    return true;
  });
  // Longest first, non-overlapping.
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    if (a.e - a.b != b.e - b.b) return a.e - a.b > b.e - b.b;
    return a.b < b.b;
  });
  std::map<size_t, size_t> taken;
  std::vector<WordMatch> out;
  for (const Hit& h : hits) {
    auto it = taken.lower_bound(h.b);
    if (it != taken.end() && it->first < h.e) continue;
    if (it != taken.begin() && std::prev(it)->second > h.b) continue;
    taken.emplace(h.b, h.e);
    out.push_back(WordMatch{n.src_begin[h.b], n.src_end[h.e - 1], h.entry});
  }
  std::sort(out.begin(), out.end(),
            [](const WordMatch& a, const WordMatch& b) { return a.begin < b.begin; });
  return out;
}

}  // namespace confide::guard
