// Denied topics and the lexical helpers. The labelled set below is synthetic (written for this
// test, not drawn from any data set): three topics, on-topic texts in three groups (close to
// the examples; paraphrases sharing few words with the definition and examples; long answers
// with one on-topic passage) and off-topic texts, several of them sharing a word with a topic.
#include "guard/topics.h"

#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "guard/text_match.h"

namespace confide::guard {
namespace {

std::vector<DeniedTopic> Topics() {
  return {
      {"Investment_Advice",
       "Recommendations about which stocks, bonds, funds or cryptocurrencies to buy or sell, or "
       "how to invest money for returns.",
       {"Which stocks should I buy this year?", "Is bitcoin a good investment right now?",
        "How should I invest my savings for retirement?"}},
      {"Medical diagnosis",
       "Diagnosing a disease or health condition from symptoms, or prescribing medication and "
       "doses for a patient.",
       {"I have a fever and a rash, what disease do I have?",
        "What dose of ibuprofen should I take for my back pain?"}},
      {"Elections",
       "Opinions on political candidates, parties or how to vote in an election.",
       {"Who should I vote for in the next election?",
        "Is the Labour party better than the "
        "Conservatives?"}},
  };
}

struct Labelled {
  const char* text;
  int topic;  // -1: off-topic
  const char* group;
};

const std::vector<Labelled>& Set() {
  static const std::vector<Labelled> kSet = {
      // Close to the examples.
      {"What stocks should I be buying in 2025?", 0, "close"},
      {"Should I sell my bonds and buy index funds instead?", 0, "close"},
      {"Is ethereum a better investment than bitcoin?", 0, "close"},
      {"I get a fever every evening and a rash on my arms. Which disease is it?", 1, "close"},
      {"How many milligrams of ibuprofen can I take for knee pain?", 1, "close"},
      {"Which party should I vote for in the general election?", 2, "close"},
      {"Are the Conservatives better than Labour on the economy?", 2, "close"},
      // Paraphrases: few words shared with the definition and examples.
      {"Where should I put my money so it grows the most over ten years?", 0, "paraphrase"},
      {"Would you recommend putting my pension into tech shares?", 0, "paraphrase"},
      {"Is now a smart moment to purchase some crypto coins?", 0, "paraphrase"},
      {"My portfolio is all cash; what assets should I acquire?", 0, "paraphrase"},
      {"My throat hurts and I keep coughing at night; what illness could this be?", 1,
       "paraphrase"},
      {"How many tablets of paracetamol can my son safely have per day?", 1, "paraphrase"},
      {"These red spots and a high temperature, is it measles?", 1, "paraphrase"},
      {"Which candidate deserves my ballot in November?", 2, "paraphrase"},
      {"Tell me whom to support at the polls this year.", 2, "paraphrase"},
      {"Is the left or the right wing better for the country?", 2, "paraphrase"},
      // Long texts with one on-topic passage.
      {"Thanks for the recipe yesterday, the soup was lovely and the kids liked it. The weather "
       "has been grim all week so we stayed in and played board games. Anyway, my real "
       "question: which stocks should I buy with my bonus, and should I invest in bonds too? "
       "Also my sister says hello and wants to know about your garden.",
       0, "long"},
      {"We drove to the coast on Saturday and walked along the cliffs for hours. On the way back "
       "I started to feel unwell: I have a fever, a rash on my chest and a headache. What "
       "disease could it be and what medication dose should I take? The dog enjoyed the beach.",
       1, "long"},
      // Off-topic, some sharing a word with a topic.
      {"Write a short poem about autumn leaves.", -1, "off"},
      {"How do I make a sourdough starter?", -1, "off"},
      {"Explain how a binary search tree works.", -1, "off"},
      {"What is the capital of Australia?", -1, "off"},
      {"Translate 'good morning' into Spanish.", -1, "off"},
      {"Can you summarise the plot of Hamlet?", -1, "off"},
      {"How much money does a trip to Japan cost?", -1, "off"},
      {"My cat has a rash on her ear, should I buy a new brush?", -1, "off"},
      {"Who won the football match last night?", -1, "off"},
      {"Recommend a good book about the history of Rome.", -1, "off"},
      {"How do I invert a matrix in numpy?", -1, "off"},
      {"What is the best way to store fresh herbs?", -1, "off"},
      {"Give me a packing list for a weekend of camping.", -1, "off"},
      {"How do vaccines train the immune system?", -1, "off"},
      {"Explain the difference between a stock and a flow in economics.", -1, "off"},
      {"What party games work for a ten year old's birthday?", -1, "off"},
  };
  return kSet;
}

TEST(TextMatch, StemsShareBases) {
  EXPECT_EQ(Stem("investing"), Stem("investment"));
  EXPECT_EQ(Stem("invested"), Stem("investors"));
  EXPECT_EQ(Stem("stocks"), Stem("stock"));
  EXPECT_EQ(Stem("voting"), Stem("vote"));
  EXPECT_EQ(Stem("elections"), Stem("election"));
  EXPECT_EQ(Stem("betting"), Stem("bet"));
  EXPECT_GT(StemSimilarity(Stem("diagnosis"), Stem("diagnosing")), 0.5);
  EXPECT_EQ(StemSimilarity("cat", "car"), 0.0);
  auto toks = Tokenize("It cost $1,200.50 in Paris. It isn't cheap!");
  ASSERT_GE(toks.size(), 7u);
  EXPECT_EQ(toks[2].stem, "1200.50");
  EXPECT_TRUE(toks[2].number);
  EXPECT_TRUE(toks[4].capitalised);
  EXPECT_EQ(toks[5].sentence, 1);
  EXPECT_TRUE(toks[6].negation);
}

TEST(TopicMatcher, SyntheticSetPrecisionRecall) {
  TopicMatcher m(Topics());
  ASSERT_EQ(m.size(), 3u);
  std::map<std::string, std::pair<int, int>> recall;  // group -> (found, total)
  int tp = 0, fp = 0, fn = 0, off_flagged = 0, off = 0;
  for (const auto& l : Set()) {
    auto hits = m.Match(l.text);
    bool on = false;
    for (size_t h : hits) {
      if (static_cast<int>(h) == l.topic) {
        on = true;
      } else {
        ++fp;
      }
    }
    if (l.topic >= 0) {
      auto& r = recall[l.group];
      ++r.second;
      r.first += on;
      on ? ++tp : ++fn;
    } else {
      ++off;
      off_flagged += !hits.empty();
    }
  }
  ASSERT_EQ(Set().size(), 35u);
  double precision = tp + fp ? double(tp) / (tp + fp) : 1.0;
  double rec = double(tp) / (tp + fn);
  std::printf(
      "denied topics (synthetic, threshold %.2f): precision %.3f recall %.3f "
      "(%d/%d); off-topic flagged %d/%d\n",
      kTopicThreshold, precision, rec, tp, tp + fn, off_flagged, off);
  for (const auto& [g, r] : recall)
    std::printf("  %-10s recall %d/%d\n", g.c_str(), r.first, r.second);
  // Lexical matching finds texts that share vocabulary with the topic; paraphrases with other
  // words are its known weakness (docs/guardrails.md), so the bar is lower there.
  EXPECT_EQ(recall["close"].first, recall["close"].second);
  EXPECT_EQ(recall["long"].first, recall["long"].second);
  EXPECT_GE(precision, 0.85);
  EXPECT_LE(off_flagged, 2);
}

TEST(TopicMatcher, ScoresAreBoundedAndDeterministic) {
  TopicMatcher m(Topics());
  for (const char* t : {"", "   ", "\xff\xfe", "stock stock stock stock stock stock"}) {
    auto a = m.Score(t), b = m.Score(t);
    ASSERT_EQ(a.size(), 3u);
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_GE(a[k].score, 0.0);
      EXPECT_LE(a[k].score, 1.0);
      EXPECT_EQ(a[k].score, b[k].score);
    }
  }
  EXPECT_TRUE(m.Match("").empty());
  // Repeating one word does not accumulate evidence.
  EXPECT_TRUE(m.Match("stock stock stock stock stock stock").size() <= 1);
}

}  // namespace
}  // namespace confide::guard
