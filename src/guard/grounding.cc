#include "guard/grounding.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "guard/text_match.h"

namespace confide::guard {
namespace {

bool Content(const Token& t) {
  return t.number || (!t.stopword && !t.negation && t.stem.size() > 1);
}

double Weight(const Token& t) { return t.number ? 3.0 : t.capitalised ? 2.0 : 1.0; }

struct Sentence {
  std::vector<const Token*> content;
  std::unordered_set<std::string> stems;
  bool negated = false;
};

std::vector<Sentence> Sentences(const std::vector<Token>& toks) {
  std::vector<Sentence> out;
  int current = -1;
  for (const Token& t : toks) {
    if (t.sentence != current || out.empty()) {
      out.emplace_back();
      current = t.sentence;
    }
    if (t.negation) out.back().negated = true;
    if (Content(t)) {
      out.back().content.push_back(&t);
      out.back().stems.insert(t.stem);
    }
  }
  return out;
}

// Vocabulary answers "how well is this stem supported" with an exact lookup and a fuzzy
// fallback among stems that share the first two letters.
class Vocabulary {
 public:
  void Add(const std::string& stem, bool number) {
    if (!exact_.insert(stem).second || number || stem.size() < 4) return;
    by_prefix_[stem.substr(0, 2)].push_back(stem);
  }
  double Support(const Token& t) const {
    if (exact_.count(t.stem)) return 1.0;
    if (t.number || t.stem.size() < 4) return 0.0;
    auto it = by_prefix_.find(t.stem.substr(0, 2));
    if (it == by_prefix_.end()) return 0.0;
    double best = 0;
    for (const auto& s : it->second) best = std::max(best, StemSimilarity(t.stem, s));
    return best;
  }

 private:
  std::unordered_set<std::string> exact_;
  std::unordered_map<std::string, std::vector<std::string>> by_prefix_;
};

}  // namespace

GroundingScore ScoreGrounding(std::string_view answer, const std::vector<std::string>& sources,
                              std::string_view query) {
  GroundingScore out;
  std::vector<std::vector<Token>> source_tokens;
  for (const auto& s : sources) source_tokens.push_back(Tokenize(s));
  std::vector<Sentence> source_sentences;
  Vocabulary source_vocab;
  for (const auto& toks : source_tokens) {
    for (auto& s : Sentences(toks)) source_sentences.push_back(std::move(s));
    for (const Token& t : toks) {
      if (Content(t)) source_vocab.Add(t.stem, t.number);
    }
  }
  std::vector<Token> answer_tokens = Tokenize(answer);
  std::vector<Sentence> answer_sentences = Sentences(answer_tokens);
  Vocabulary answer_vocab;
  for (const Token& t : answer_tokens) {
    if (Content(t)) answer_vocab.Add(t.stem, t.number);
  }

  // Grounding.
  double weighted = 0, total = 0, lowest = 1.0;
  std::set<size_t> drawn_on;  // source sentences the answer draws on
  for (const Sentence& s : answer_sentences) {
    if (s.content.empty()) continue;
    double w_all = 0, w_ok = 0;
    for (const Token* t : s.content) {
      double w = Weight(*t);
      w_all += w;
      w_ok += w * source_vocab.Support(*t);
    }
    // The source sentences sharing the most stems (all of them on a tie).
    std::vector<size_t> best;
    size_t best_overlap = 0;
    for (size_t k = 0; k < source_sentences.size(); ++k) {
      size_t overlap = 0;
      for (const auto& stem : s.stems) overlap += source_sentences[k].stems.count(stem);
      if (overlap == 0 || overlap < best_overlap) continue;
      if (overlap > best_overlap) best.clear();
      best_overlap = overlap;
      best.push_back(k);
    }
    double support = w_all > 0 ? w_ok / w_all : 1.0;
    bool same_polarity = best.empty();
    for (size_t k : best) {
      drawn_on.insert(k);
      same_polarity |= source_sentences[k].negated == s.negated;
    }
    if (!same_polarity) support *= 0.5;
    weighted += support * w_all;
    total += w_all;
    lowest = std::min(lowest, support);
  }
  if (sources.empty()) {
    out.grounding = 0.0;
  } else if (total > 0) {
    out.grounding = 0.5 * (weighted / total) + 0.5 * lowest;
  }

  // Relevance.
  Vocabulary drawn_vocab;
  for (size_t k : drawn_on) {
    for (const Token* t : source_sentences[k].content) drawn_vocab.Add(t->stem, t->number);
  }
  double q_all = 0, q_ok = 0;
  for (const Token& t : Tokenize(query)) {
    if (!Content(t)) continue;
    double w = Weight(t);
    q_all += w;
    q_ok += w * std::max(answer_vocab.Support(t), drawn_vocab.Support(t));
  }
  if (q_all > 0) out.relevance = q_ok / q_all;
  if (answer_tokens.empty() && q_all > 0) out.relevance = 0.0;
  out.grounding = std::clamp(out.grounding, 0.0, 1.0);
  out.relevance = std::clamp(out.relevance, 0.0, 1.0);
  return out;
}

}  // namespace confide::guard
