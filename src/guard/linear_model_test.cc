// The fast feature path (TextFeaturizer, HashedFeatures, NormaliseForFeaturesInto and the
// HashedFeatures scorers) against the reference code it replaced (internal/reference_features.h):
// features and scores must be bit-identical, so the shipped models keep their meaning.
#include "guard/linear_model.h"

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "guard/content.h"
#include "guard/internal/reference_features.h"
#include "guard/prompt_attack.h"
#include "guard/words.h"
#include "testing/testdata.h"

namespace confide::guard {
namespace {

using internal::ReferenceHashedTextFeatures;
using internal::ReferenceNormaliseForFeatures;

// Bits compares doubles bit for bit (EXPECT_EQ would accept 0.0 == -0.0).
uint64_t Bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, sizeof(u));
  return u;
}

bool SameFeatures(const Features& a, const Features& b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k) {
    if (a[k].first != b[k].first) return false;
    if (std::memcmp(&a[k].second, &b[k].second, sizeof(float)) != 0) return false;
  }
  return true;
}

// RandomText mixes letters, digits, punctuation, whitespace runs, UTF-8 and raw high bytes, and
// the phrase alphabet, so that n-grams, word boundaries and phrases all occur.
std::string RandomText(std::mt19937_64& rng, size_t max_len) {
  static const char* kPieces[] = {
      "ignore ", "all ", "previous ", "  ",   "!!",  "DAN", "kill", "é",  "\xff",        "\x80",
      "a",       "b",    " ",         "\t\n", "Sex", "x",   "1",    "@x", "http://a.b ", "&amp;"};
  std::string s;
  size_t len = rng() % (max_len + 1);
  while (s.size() < len) {
    if (rng() % 3 == 0) {
      s += kPieces[rng() % std::size(kPieces)];
    } else {
      s.push_back(static_cast<char>(rng() % 256));
    }
  }
  return s;
}

std::vector<std::string> RealTexts() {
  std::vector<std::string> out;
  std::string dir = confide::testing::SharedPath("testdata/guardrails").string();
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_directory(dir, ec)) return out;
  auto attacks = LoadAttackExamples(dir + "/injection");
  if (attacks.ok()) {
    for (auto& e : *attacks) out.push_back(std::move(e.text));
  }
  auto content = LoadContentExamples(dir);
  if (content.ok()) {
    for (auto& e : *content) out.push_back(std::move(e.text));
  }
  return out;
}

const std::vector<std::string_view> kPhraseSets[] = {
    {" ignore all ", " previous instructions", " dan ", " kill", " sex", " a", " a", ""},
    {},
    {"a", "ab", "aba", " ", "  ", "\xff", "é"},
};

void CheckText(const std::vector<TextFeaturizer>& featurizers, std::string_view text) {
  std::string ref_norm = ReferenceNormaliseForFeatures(text);
  std::string norm = "stale contents that must be replaced";
  NormaliseForFeaturesInto(text, &norm);
  ASSERT_EQ(norm, ref_norm);
  ASSERT_EQ(NormaliseForFeatures(text), ref_norm);
  thread_local HashedFeatures hf, from_alone;
  for (size_t p = 0; p < std::size(kPhraseSets); ++p) {
    for (int bits : {8, 18}) {
      // Both on the normalised text and on the raw one (HashedTextFeatures accepts any text).
      for (std::string_view s : {std::string_view(norm), text}) {
        Features ref{{7, 0.5f}};  // appends after existing entries
        ReferenceHashedTextFeatures(s, bits, kPhraseSets[p], 0x1234, &ref);
        Features lib{{7, 0.5f}};
        HashedTextFeatures(s, bits, kPhraseSets[p], 0x1234, &lib);
        ASSERT_TRUE(SameFeatures(ref, lib)) << "bits " << bits << " set " << p;
        featurizers[p].Extract(s, bits, &hf);
        Features fast = ToFeatures(hf);
        fast.insert(fast.begin(), {7, 0.5f});
        ASSERT_TRUE(SameFeatures(ref, fast)) << "bits " << bits << " set " << p;
        for (size_t r = 0; r < kPhraseSets[p].size(); ++r) {
          ASSERT_EQ(hf.phrase_found(r), s.find(kPhraseSets[p][r]) != std::string_view::npos);
        }
        // A pair of featurizers extracts both with one n-gram and one phrase pass.
        thread_local HashedFeatures pa, pb;
        const TextFeaturizer& other = featurizers[(p + 2) % std::size(kPhraseSets)];
        TextFeaturizerPair pair(other, featurizers[p]);
        pair.Extract(s, 18, &pa, bits, &pb);
        Features paired = ToFeatures(pb);
        paired.insert(paired.begin(), {7, 0.5f});
        ASSERT_TRUE(SameFeatures(ref, paired)) << "pair bits " << bits << " set " << p;
        other.Extract(s, 18, &from_alone);
        ASSERT_TRUE(SameFeatures(ToFeatures(pa), ToFeatures(from_alone)));
        for (size_t r = 0; r < kPhraseSets[p].size(); ++r) {
          ASSERT_EQ(pb.phrase_found(r), hf.phrase_found(r));
        }
        // ExtractFrom reuses the n-grams of another featurizer's features of the same text for
        // as many or more bits (and falls back to Extract for fewer).
        thread_local HashedFeatures from, shared;
        for (int from_bits : {8, 18}) {
          featurizers[(p + 1) % std::size(kPhraseSets)].Extract(s, from_bits, &from);
          featurizers[p].ExtractFrom(s, bits, from, &shared);
          Features reused = ToFeatures(shared);
          reused.insert(reused.begin(), {7, 0.5f});
          ASSERT_TRUE(SameFeatures(ref, reused)) << "bits " << bits << " from " << from_bits;
          for (size_t r = 0; r < kPhraseSets[p].size(); ++r) {
            ASSERT_EQ(shared.phrase_found(r), hf.phrase_found(r));
          }
        }
      }
    }
  }
}

std::vector<TextFeaturizer> Featurizers() {
  std::vector<TextFeaturizer> f;
  for (const auto& set : kPhraseSets) f.emplace_back(set, 0x1234);
  return f;
}

TEST(TextFeaturizer, MatchesReferenceOnRandomTexts) {
  auto featurizers = Featurizers();
  std::mt19937_64 rng(42);
  for (const char* t : {"", " ", "a", "ab", "abc", "  a  ", "A.B", "\xff\xfe", "x y"}) {
    CheckText(featurizers, t);
  }
  for (int i = 0; i < 1200; ++i) CheckText(featurizers, RandomText(rng, i < 900 ? 12 : 300));
}

TEST(TextFeaturizer, MatchesReferenceOnSharedData) {
  std::vector<std::string> texts = RealTexts();
  if (texts.empty()) GTEST_SKIP() << "shared guardrail data absent";
  auto featurizers = Featurizers();
  // Every 20th row keeps the test fast on 2 cores; the scorer test below covers all rows.
  for (size_t i = 0; i < texts.size(); i += 20) CheckText(featurizers, texts[i]);
}

// The models' fast Score/Scores equal the reference path (features from the unchanged
// PromptAttackFeatures/ContentFeatures, Features scorers) bit for bit on every shared text.
TEST(LinearModel, FastScoresAreBitIdentical) {
  const PromptAttackModel* attack = PromptAttackModel::Default();
  const ContentModel* content = ContentModel::Default();
  ASSERT_NE(attack, nullptr);
  std::vector<std::string> texts = RealTexts();
  std::mt19937_64 rng(7);
  for (int i = 0; i < 500; ++i) texts.push_back(RandomText(rng, 400));
  size_t gated = 0;
  for (const auto& t : texts) {
    Features f;
    PromptAttackFeatures(t, attack->bits(), &f);
    Features ref;
    ReferenceHashedTextFeatures(ReferenceNormaliseForFeatures(t), attack->bits(), {}, 0, &ref);
    ASSERT_EQ(Bits(attack->ModelScore(t)), Bits(attack->linear_model().Score(f, 0))) << t;
    // The HashedFeatures scorer against the Features one on the same features.
    HashedFeatures hf;
    TextFeaturizer({}, 0).Extract(ReferenceNormaliseForFeatures(t), attack->bits(), &hf);
    ASSERT_EQ(Bits(attack->linear_model().Score(hf, 0)),
              Bits(attack->linear_model().Score(ref, 0)));
    if (content == nullptr) continue;
    Features cf;
    ContentFeatures(t, content->bits(), &cf);
    double want[kNumContentCategories];
    content->linear_model().ScoreAll(cf, want);
    auto got = content->Scores(t);
    for (int c = 0; c < kNumContentCategories; ++c) {
      // The rule gate may cap a category at 0.3; otherwise the model's score unchanged.
      if (Bits(got[c]) != Bits(want[c])) {
        ASSERT_EQ(got[c], 0.3) << t;
        ASSERT_GT(want[c], 0.3) << t;
        ++gated;
      }
    }
  }
  if (content != nullptr && texts.size() > 1000) {
    EXPECT_GT(gated, 0u);
  }
}

// ScoreClassifiers (one shared normalisation and n-gram pass, used by Guardrail) equals the
// separate Score / Scores calls bit for bit, for every profanity hint that is right.
TEST(ScoreClassifiers, EqualsSeparateCallsBitForBit) {
  const PromptAttackModel* attack = PromptAttackModel::Default();
  const ContentModel* content = ContentModel::Default();
  ASSERT_NE(attack, nullptr);
  if (content == nullptr) GTEST_SKIP() << "content model absent";
  auto profanity = WordFilter::Create({}, /*managed_profanity=*/true);
  ASSERT_TRUE(profanity.ok());
  std::vector<std::string> texts = RealTexts();
  std::mt19937_64 rng(11);
  for (int i = 0; i < 300; ++i) texts.push_back(RandomText(rng, 400));
  // Every third row keeps the test fast on 2 cores.
  for (size_t i = 0; i < texts.size(); i += 3) {
    const std::string& t = texts[i];
    double want_attack = attack->Score(t);
    auto want = content->Scores(t);
    ProfanityHint hint =
        (*profanity)->Find(t).empty() ? ProfanityHint::kNotFound : ProfanityHint::kFound;
    for (ProfanityHint h : {ProfanityHint::kUnknown, hint}) {
      ClassifierScores both = ScoreClassifiers(t, attack, content, h);
      ASSERT_EQ(Bits(both.attack), Bits(want_attack)) << t;
      ClassifierScores alone = ScoreClassifiers(t, nullptr, content, h);
      auto hinted = content->Scores(t, h);
      for (int c = 0; c < kNumContentCategories; ++c) {
        ASSERT_EQ(Bits(both.content[c]), Bits(want[c])) << t;
        ASSERT_EQ(Bits(alone.content[c]), Bits(want[c])) << t;
        ASSERT_EQ(Bits(hinted[c]), Bits(want[c])) << t;
      }
    }
    ASSERT_EQ(Bits(ScoreClassifiers(t, attack, nullptr, hint).attack), Bits(want_attack));
  }
}

}  // namespace
}  // namespace confide::guard
