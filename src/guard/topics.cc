#include "guard/topics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "guard/text_match.h"

namespace confide::guard {
namespace {

bool Content(const Token& t) { return !t.stopword && !t.negation && t.stem.size() > 1; }

}  // namespace

TopicMatcher::TopicMatcher(const std::vector<DeniedTopic>& topics) {
  std::vector<std::map<std::string, double>> weights(topics.size());
  std::vector<std::set<std::string>> bigrams(topics.size());
  std::map<std::string, int> df;
  for (size_t k = 0; k < topics.size(); ++k) {
    auto add = [&](std::string_view text, double w) {
      std::vector<Token> toks = Tokenize(text);
      const Token* prev = nullptr;
      for (const Token& t : toks) {
        if (!Content(t)) {
          prev = nullptr;
          continue;
        }
        double& cur = weights[k][t.stem];
        cur = std::max(cur, w);
        if (prev != nullptr && prev->sentence == t.sentence) {
          bigrams[k].insert(prev->stem + " " + t.stem);
        }
        prev = &t;
      }
    };
    // The name often reads "Investment_Advice": split its separators.
    std::string name = topics[k].name;
    std::replace_if(
        name.begin(), name.end(), [](char c) { return c == '_' || c == '-'; }, ' ');
    add(name, 1.5);
    add(topics[k].definition, 1.0);
    for (const auto& e : topics[k].examples) add(e, 1.5);
    for (const auto& [stem, w] : weights[k]) ++df[stem];
  }
  const double n = static_cast<double>(topics.size());
  for (size_t k = 0; k < topics.size(); ++k) {
    Profile p;
    for (const auto& [stem, w] : weights[k]) {
      // Inverse topic frequency, 1 for a stem unique to this topic.
      double itf = std::log(1.0 + n / df[stem]) / std::log(1.0 + n);
      p.terms.push_back(Term{stem, w * itf});
    }
    p.bigrams.assign(bigrams[k].begin(), bigrams[k].end());
    profiles_.push_back(std::move(p));
  }
}

std::vector<TopicScore> TopicMatcher::Score(std::string_view text) const {
  std::vector<Token> all = Tokenize(text);
  std::vector<const Token*> toks;
  for (const Token& t : all) {
    if (Content(t)) toks.push_back(&t);
  }
  std::vector<TopicScore> out;
  for (size_t k = 0; k < profiles_.size(); ++k) {
    const Profile& p = profiles_[k];
    // Best profile weight per text stem (computed once per distinct stem).
    std::map<std::string_view, double> best;
    for (const Token* t : toks) {
      auto [it, fresh] = best.emplace(t->stem, 0.0);
      if (!fresh) continue;
      auto exact = std::lower_bound(p.terms.begin(), p.terms.end(), t->stem,
                                    [](const Term& a, const std::string& s) { return a.stem < s; });
      if (exact != p.terms.end() && exact->stem == t->stem) {
        it->second = exact->weight;
        continue;
      }
      for (const Term& term : p.terms) {
        // Fuzzy matches share their first two letters (a cheap filter before the trigrams).
        if (term.stem.size() < 4 || t->stem.size() < 4 || term.stem[0] != t->stem[0] ||
            term.stem[1] != t->stem[1]) {
          continue;
        }
        it->second = std::max(it->second, term.weight * StemSimilarity(t->stem, term.stem));
      }
    }
    double top = 0;
    size_t stride = kWindowTokens / 2;
    for (size_t start = 0; start == 0 || start < toks.size(); start += stride) {
      size_t end = std::min(toks.size(), start + kWindowTokens);
      std::set<std::string_view> seen;
      double evidence = 0;
      for (size_t i = start; i < end; ++i) {
        if (seen.insert(toks[i]->stem).second) evidence += best[toks[i]->stem];
        if (i > start && toks[i - 1]->sentence == toks[i]->sentence &&
            std::binary_search(p.bigrams.begin(), p.bigrams.end(),
                               toks[i - 1]->stem + " " + toks[i]->stem)) {
          evidence += 0.5;
        }
      }
      top = std::max(top, 1.0 - std::exp(-evidence / kEvidenceScale));
      if (end == toks.size()) break;
    }
    out.push_back(TopicScore{k, top});
  }
  return out;
}

std::vector<size_t> TopicMatcher::Match(std::string_view text, double threshold) const {
  std::vector<size_t> out;
  for (const auto& s : Score(text)) {
    if (s.score >= threshold) out.push_back(s.topic);
  }
  return out;
}

}  // namespace confide::guard
