// confide::guard denied-topic filter (topicPolicyConfig): lexical scoring of a text against
// each topic's name, definition and examples. Deterministic; no model.
#ifndef CONFIDE_GUARD_TOPICS_H_
#define CONFIDE_GUARD_TOPICS_H_

#include <string>
#include <string_view>
#include <vector>

#include "guard/policy.h"

namespace confide::guard {

// kTopicThreshold is the score at or above which a text is on a denied topic.
inline constexpr double kTopicThreshold = 0.5;

// TopicScore is one topic's score for a text.
struct TopicScore {
  size_t topic;  // index into the matcher's topics
  double score;  // in [0, 1]
};

// TopicMatcher scores texts against a policy's denied topics. Immutable after construction;
// Score is const and thread-safe.
//
// Each topic's profile holds the stems of its name and examples (weight 1.5) and definition
// (1), times an inverse topic frequency (a stem in every topic counts less). A text is cut
// into windows of kWindowTokens content words (stride half a window), so a long answer is
// judged by its most on-topic passage; a window's evidence is the sum, over its distinct
// content stems, of the best profile weight times StemSimilarity, plus 0.5 for each pair of
// consecutive stems that is also consecutive in the profile. score = 1 - exp(-evidence /
// kEvidenceScale): one shared word never reaches kTopicThreshold, two do.
class TopicMatcher {
 public:
  static constexpr size_t kWindowTokens = 32;
  static constexpr double kEvidenceScale = 2.5;

  explicit TopicMatcher(const std::vector<DeniedTopic>& topics);

  // Score returns every topic's score for `text`, in topic order.
  std::vector<TopicScore> Score(std::string_view text) const;

  // Match returns the indices of the topics scoring at least `threshold`.
  std::vector<size_t> Match(std::string_view text, double threshold = kTopicThreshold) const;

  size_t size() const { return profiles_.size(); }

 private:
  struct Term {
    std::string stem;
    double weight;
  };
  struct Profile {
    std::vector<Term> terms;           // sorted by stem, unique
    std::vector<std::string> bigrams;  // "a b", sorted, unique
  };
  std::vector<Profile> profiles_;
};

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_TOPICS_H_
