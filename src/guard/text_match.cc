#include "guard/text_match.h"

#include <algorithm>
#include <array>
#include <unordered_set>

namespace confide::guard {
namespace {

bool IsWordByte(unsigned char c) { return c >= 0x80 || std::isalnum(c) || c == '\''; }

bool EndsWith(const std::string& s, std::string_view suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

// DropSuffix returns `w` without its last `n` bytes, plus `replacement` (a fresh string: GCC 12
// -O3 warns falsely about resize-then-append on the same string).
std::string DropSuffix(const std::string& w, size_t n, std::string_view replacement = {}) {
  std::string out(w.data(), w.size() - std::min(n, w.size()));
  out.append(replacement.data(), replacement.size());
  return out;
}

bool IsVowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

// One suffix-stripping pass; returns whether it changed `w`.
bool StripOnce(std::string* w) {
  struct Rule {
    std::string_view suffix, replacement;
    size_t min_rest;
  };
  static constexpr std::array<Rule, 24> kRules = {{
      {"izations", "", 3}, {"ization", "", 3}, {"ational", "", 3}, {"fulness", "", 3},
      {"iveness", "", 3},  {"ations", "", 3},  {"ation", "", 3},   {"ments", "", 3},
      {"ment", "", 3},     {"nesses", "", 3},  {"ness", "", 3},    {"ities", "", 3},
      {"ity", "", 3},      {"ings", "", 3},    {"ing", "", 3},     {"edly", "", 3},
      {"ies", "y", 2},     {"ied", "y", 2},    {"ers", "", 3},     {"ors", "", 3},
      {"ed", "", 3},       {"ly", "", 3},      {"er", "", 3},      {"or", "", 3},
  }};
  for (const Rule& r : kRules) {
    if (w->size() >= r.suffix.size() + r.min_rest && EndsWith(*w, r.suffix)) {
      *w = DropSuffix(*w, r.suffix.size(), r.replacement);
      return true;
    }
  }
  if (w->size() > 3 && EndsWith(*w, "sses")) {
    *w = DropSuffix(*w, 2);
    return true;
  }
  if (w->size() > 3 && EndsWith(*w, "s") && !EndsWith(*w, "ss") && !EndsWith(*w, "us") &&
      !EndsWith(*w, "is")) {
    *w = DropSuffix(*w, 1);
    return true;
  }
  for (std::string_view suf : {"ive", "al", "ic", "ous", "ful"}) {
    if (w->size() >= suf.size() + 4 && EndsWith(*w, suf)) {
      *w = DropSuffix(*w, suf.size());
      return true;
    }
  }
  return false;
}

}  // namespace

std::string Stem(std::string_view word) {
  std::string w(word);
  if (w.size() <= 3) return w;
  for (int pass = 0; pass < 3 && StripOnce(&w); ++pass) {
  }
  // Undouble a final consonant (betting -> bett -> bet) and drop a final 'e' (vote, voting).
  if (w.size() > 3 && w[w.size() - 1] == w[w.size() - 2] && !IsVowel(w.back()) && w.back() != 'l' &&
      w.back() != 's') {
    w = DropSuffix(w, 1);
  }
  if (w.size() > 3 && w.back() == 'e') w = DropSuffix(w, 1);
  return w;
}

bool IsStopword(std::string_view word) {
  static const std::unordered_set<std::string_view> kStop = {
      "a",       "about",   "above",   "after",   "again",   "against", "all",        "also",
      "am",      "an",      "and",     "any",     "are",     "as",      "at",         "be",
      "because", "been",    "before",  "being",   "below",   "best",    "between",    "both",
      "but",     "by",      "can",     "could",   "did",     "do",      "does",       "doing",
      "down",    "during",  "each",    "else",    "even",    "ever",    "every",      "explain",
      "few",     "for",     "from",    "further", "get",     "give",    "go",         "good",
      "got",     "had",     "has",     "have",    "having",  "he",      "help",       "her",
      "here",    "hers",    "herself", "him",     "himself", "his",     "how",        "i",
      "if",      "in",      "into",    "is",      "it",      "its",     "itself",     "just",
      "know",    "let",     "like",    "me",      "might",   "more",    "most",       "much",
      "must",    "my",      "myself",  "need",    "now",     "of",      "off",        "on",
      "once",    "one",     "only",    "or",      "other",   "our",     "ours",       "ourselves",
      "out",     "over",    "own",     "please",  "really",  "same",    "say",        "see",
      "shall",   "she",     "should",  "show",    "so",      "some",    "such",       "tell",
      "than",    "that",    "the",     "their",   "theirs",  "them",    "themselves", "then",
      "there",   "these",   "they",    "thing",   "things",  "think",   "this",       "those",
      "through", "to",      "too",     "under",   "until",   "up",      "us",         "use",
      "very",    "want",    "was",     "way",     "ways",    "we",      "well",       "were",
      "what",    "when",    "where",   "which",   "while",   "who",     "whom",       "why",
      "will",    "with",    "would",   "you",     "your",    "yours",   "yourself",   "yourselves",
      "i'm",     "it's",    "what's",  "don't",   "can't",   "i'd",     "i've",       "you're",
      "let's",   "there's", "make",    "many",    "may",     "which",   "whose",      "s",
      "t",       "d",       "ll",      "re",      "ve",      "m",
  };
  return kStop.count(word) > 0;
}

double StemSimilarity(std::string_view a, std::string_view b) {
  if (a == b) return 1.0;
  size_t shorter = std::min(a.size(), b.size());
  if (shorter >= 5 && (a.substr(0, shorter) == b.substr(0, shorter))) return 0.8;
  if (shorter < 4) return 0.0;
  // Dice coefficient of character trigrams (bounded: stems are short).
  auto grams = [](std::string_view s) {
    std::vector<std::string_view> g;
    for (size_t i = 0; i + 3 <= s.size() && i < 64; ++i) g.push_back(s.substr(i, 3));
    std::sort(g.begin(), g.end());
    return g;
  };
  auto ga = grams(a), gb = grams(b);
  size_t i = 0, j = 0, common = 0;
  while (i < ga.size() && j < gb.size()) {
    if (ga[i] == gb[j]) {
      ++common;
      ++i;
      ++j;
    } else if (ga[i] < gb[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  double dice = 2.0 * common / double(ga.size() + gb.size());
  return dice >= 0.6 ? 0.8 * dice : 0.0;
}

std::vector<Token> Tokenize(std::string_view text) {
  std::vector<Token> out;
  int sentence = 0;
  bool sentence_start = true;
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (!IsWordByte(c) || c == '\'') {
      bool end = c == '\n' || ((c == '.' || c == '!' || c == '?' || c == ';') &&
                               (i + 1 == text.size() || text[i + 1] == ' ' || text[i + 1] == '\n' ||
                                text[i + 1] == '"'));
      if (end && !sentence_start) {
        ++sentence;
        sentence_start = true;
      }
      ++i;
      continue;
    }
    size_t b = i;
    bool digits = std::isdigit(c) != 0;
    std::string raw;
    while (i < text.size()) {
      unsigned char d = static_cast<unsigned char>(text[i]);
      if (IsWordByte(d)) {
        raw.push_back(d >= 'A' && d <= 'Z' ? static_cast<char>(d + 32) : static_cast<char>(d));
        digits = digits && (std::isdigit(d) || d == '\'');
        ++i;
      } else if (digits && (d == ',' || d == '.') && i + 1 < text.size() &&
                 std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
        if (d == '.') raw.push_back('.');
        ++i;
      } else {
        break;
      }
    }
    // Trim apostrophes at the ends; split a "n't" negation off.
    while (!raw.empty() && raw.back() == '\'') raw.pop_back();
    while (!raw.empty() && raw.front() == '\'') raw.erase(raw.begin());
    if (raw.empty()) continue;
    Token t;
    t.sentence = sentence;
    bool has_digit = std::any_of(raw.begin(), raw.end(), [](char x) { return std::isdigit(x); });
    t.number = has_digit;
    unsigned char first = static_cast<unsigned char>(text[b]);
    t.capitalised = !sentence_start && first >= 'A' && first <= 'Z';
    sentence_start = false;
    if (EndsWith(raw, "n't")) {
      t.negation = true;
      raw = DropSuffix(raw, 3);
    }
    static const std::unordered_set<std::string_view> kNeg = {"not", "no",      "never",  "none",
                                                              "nor", "without", "neither"};
    if (kNeg.count(raw)) t.negation = true;
    t.stopword = !t.number && IsStopword(raw);
    t.stem = t.number ? raw : Stem(raw);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace confide::guard
