// confide::guard lexical text matching shared by the denied-topic and contextual grounding
// filters: ASCII word tokens, an English stopword list and a light suffix-stripping stemmer.
// Deterministic and linear in the text.
#ifndef CONFIDE_GUARD_TEXT_MATCH_H_
#define CONFIDE_GUARD_TEXT_MATCH_H_

#include <string>
#include <string_view>
#include <vector>

namespace confide::guard {

// Token is one word of a text: `stem` (lower-cased, stemmed; numbers with their separators
// removed: "1,200" -> "1200"), whether it is a number, whether it was capitalised in the middle
// of a sentence (a likely name), whether it is a stopword, and the index of its sentence.
struct Token {
  std::string stem;
  bool number = false;
  bool capitalised = false;
  bool stopword = false;
  bool negation = false;  // not, no, never, n't, none, nor, without
  int sentence = 0;
};

// Tokenize splits `text` into tokens (runs of ASCII letters/digits and bytes >= 0x80; a '.' or
// ',' between digits stays in the number). Sentences end at '.', '!', '?', ';' followed by a
// space or the end, and at newlines.
std::vector<Token> Tokenize(std::string_view text);

// Stem returns a light English stem of a lower-cased word (plural, -ing, -ed, -ly, -ment,
// -ation, -ness, -ity, -er/-or... stripped to a common base, so that "investing", "investment",
// "invested" and "investors" share "invest").
std::string Stem(std::string_view word);

// IsStopword returns whether a lower-cased word is an English function word or a generic
// question word that carries no topic.
bool IsStopword(std::string_view word);

// StemSimilarity returns 1 for equal stems, 0.8 when one is a prefix of the other and the
// shorter has at least 5 characters, else the Dice coefficient of their character trigrams
// when it is at least 0.6 (scaled by 0.8), else 0.
double StemSimilarity(std::string_view a, std::string_view b);

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_TEXT_MATCH_H_
