// confide::guard contextual grounding and relevance (contextualGroundingPolicyConfig):
// deterministic lexical scores in [0, 1] for a model answer against its grounding sources and
// the user's query.
#ifndef CONFIDE_GUARD_GROUNDING_H_
#define CONFIDE_GUARD_GROUNDING_H_

#include <string>
#include <string_view>
#include <vector>

namespace confide::guard {

// GroundingScore is the pair of scores of one answer.
struct GroundingScore {
  double grounding = 1.0;  // how much of the answer the sources support
  double relevance = 1.0;  // how much of the query the answer addresses
};

// ScoreGrounding scores `answer` against `sources` (passages) and `query`.
//
// Grounding: every content word of each answer sentence must appear in the sources (stemmed;
// StemSimilarity for words, exact match for numbers). Numbers weigh 3, capitalised words
// (names) 2, other words 1. A sentence's support is its supported weight over its total
// weight, halved when its negation differs from the source sentence it overlaps most (one
// says "not"/"never"/"n't", the other does not). grounding = (weighted mean of the sentence
// supports + the lowest sentence support) / 2, so one unsupported claim pulls the score down
// even in a long answer. An answer with no content words scores 1; no sources score 0.
//
// Relevance: the weighted share of the query's content words found in the answer or in the
// source sentences the answer draws on (a short answer like "Paris." to "What is the capital of
// France?" is relevant through the source sentence it comes from). A query with no content
// words scores 1.
GroundingScore ScoreGrounding(std::string_view answer, const std::vector<std::string>& sources,
                              std::string_view query);

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_GROUNDING_H_
