#include "guard/words.h"

#include <random>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "guard/aho_corasick.h"

namespace confide::guard {
namespace {

std::vector<std::string> Hits(const WordFilter& f, std::string_view text) {
  std::vector<std::string> out;
  for (const auto& m : f.Find(text)) out.emplace_back(text.substr(m.begin, m.end - m.begin));
  return out;
}

TEST(AhoCorasick, MatchesEveryOccurrenceLikeNaiveSearch) {
  std::vector<std::string> pats = {"he", "she", "his", "hers", "s", "ushe"};
  AhoCorasick ac;
  for (size_t i = 0; i < pats.size(); ++i) ac.Add(pats[i], static_cast<uint32_t>(i));
  ac.Build();
  std::string text = "ushers and his hershe shes";
  std::multiset<std::pair<size_t, uint32_t>> got, want;
  ac.Scan(text, [&](size_t end, size_t len, uint32_t id) {
    got.emplace(end - len, id);
    return true;
  });
  for (size_t i = 0; i < pats.size(); ++i) {
    for (size_t p = text.find(pats[i]); p != std::string::npos; p = text.find(pats[i], p + 1)) {
      want.emplace(p, static_cast<uint32_t>(i));
    }
  }
  EXPECT_EQ(got, want);
}

TEST(AhoCorasick, LargeAutomatonMatchesNaiveSearch) {
  // 6,000 random 8-letter patterns need more than 32,768 nodes, so this exercises the 32-bit
  // transition table (small automata use the 16-bit one, tested above).
  std::mt19937 rng(7);
  std::vector<std::string> pats;
  AhoCorasick ac;
  for (int i = 0; i < 6000; ++i) {
    std::string p;
    for (int k = 0; k < 8; ++k) p.push_back(static_cast<char>('a' + rng() % 26));
    pats.push_back(p);
    ac.Add(p, static_cast<uint32_t>(i));
  }
  ac.Build();
  std::string text;
  for (int k = 0; k < 500; ++k) {
    text += pats[rng() % pats.size()].substr(rng() % 3);
    text.push_back(static_cast<char>('a' + rng() % 26));
  }
  std::multiset<std::pair<size_t, uint32_t>> got, want;
  ac.ForEachMatch(text, [&](size_t end, size_t len, uint32_t id) {
    got.emplace(end - len, id);
    return true;
  });
  for (size_t i = 0; i < pats.size(); ++i) {
    for (size_t p = text.find(pats[i]); p != std::string::npos; p = text.find(pats[i], p + 1)) {
      want.emplace(p, static_cast<uint32_t>(i));
    }
  }
  EXPECT_FALSE(want.empty());
  EXPECT_EQ(got, want);
}

TEST(Words, NormalisationDefeatsObfuscation) {
  auto f = WordFilter::Create({"darn", "heck off"}, /*managed_profanity=*/true);
  ASSERT_TRUE(f.ok()) << f.status();
  const WordFilter& w = **f;
  EXPECT_EQ(Hits(w, "well DARN it"), std::vector<std::string>{"DARN"});
  EXPECT_EQ(Hits(w, "daaaarn"), std::vector<std::string>{"daaaarn"});
  EXPECT_EQ(Hits(w, "d4rn"), std::vector<std::string>{"d4rn"});
  EXPECT_EQ(Hits(w, "d-a-r-n!"), std::vector<std::string>{"d-a-r-n"});
  EXPECT_EQ(Hits(w, "heck   off"), std::vector<std::string>{"heck   off"});
  EXPECT_EQ(Hits(w, "d\xD0\xB0rn"), std::vector<std::string>{"d\xD0\xB0rn"});  // Cyrillic a
  EXPECT_EQ(Hits(w, "darnation"), std::vector<std::string>{});                 // word boundary
  EXPECT_EQ(Hits(w, "sh1t happens"), std::vector<std::string>{"sh1t"});
  EXPECT_EQ(Hits(w, "what the f*ck"), std::vector<std::string>{"f*ck"});
  EXPECT_EQ(Hits(w, "fuuuuuck"), std::vector<std::string>{"fuuuuuck"});
  EXPECT_EQ(Hits(w, "a$$hole"), std::vector<std::string>{"a$$hole"});
  EXPECT_EQ(Hits(w, "he passed the class"), std::vector<std::string>{});
  EXPECT_EQ(Hits(w, "a cocktail in Scunthorpe"), std::vector<std::string>{});
  EXPECT_EQ(Hits(w, "How do I kill a Python process?"), std::vector<std::string>{});
}

TEST(Words, CompoundsJoinsAndVariants) {
  // The surge-ai rows list some compounds whole ("knobhead"); without them the matcher's own
  // compound rules are what is tested.
  auto f = WordFilter::Create({}, /*managed_profanity=*/true, kSourceSurge);
  ASSERT_TRUE(f.ok()) << f.status();
  const WordFilter& w = **f;
  // Words glued by '-' or '_' are also matched as one word ("shemale" is listed).
  EXPECT_EQ(Hits(w, "a she-male"), std::vector<std::string>{"she-male"});
  EXPECT_EQ(Hits(w, "a well-known fact"), std::vector<std::string>{});
  // A stem derived from a listed gerund ("knobbing") matches only in a compound; the match
  // is the listed part.
  EXPECT_EQ(Hits(w, "you knobhead"), std::vector<std::string>{"knob"});
  EXPECT_EQ(Hits(w, "you knob-gobbler"), std::vector<std::string>{"knob"});
  EXPECT_EQ(Hits(w, "you knob jockey"), std::vector<std::string>{"knob"});
  EXPECT_EQ(Hits(w, "turn the door knob"), std::vector<std::string>{});
  EXPECT_EQ(Hits(w, "the fingerprint on the finger"), std::vector<std::string>{});
  // A final 'y' written 'i', leetspeak inside the word.
  EXPECT_EQ(Hits(w, "l@dyb0i"), std::vector<std::string>{"l@dyb0i"});
  // Compound tails keep their own double letters ("gobbler").
  EXPECT_EQ(Hits(w, "dickslapper"), std::vector<std::string>{"dick"});
  // Compatibility letters: mathematical bold, circled, regional indicators, small capitals.
  EXPECT_EQ(
      Hits(w, "\xF0\x9D\x90\x9F\xF0\x9D\x90\xAE\xF0\x9D\x90\x9C\xF0\x9D\x90\xA4 it"),
      std::vector<std::string>{"\xF0\x9D\x90\x9F\xF0\x9D\x90\xAE\xF0\x9D\x90\x9C\xF0\x9D\x90\xA4"});
  EXPECT_EQ(NormalizeForMatching("\xE2\x93\x95\xE2\x93\xA4").chars, "fu");
  EXPECT_EQ(NormalizeForMatching("\xF0\x9F\x87\xAB\xF0\x9F\x87\xBA").chars, "fu");
  EXPECT_EQ(NormalizeForMatching("\xEA\x9C\xB0\xE1\xB4\x9C").chars, "fu");
  // Punctuation around a word is not leetspeak.
  EXPECT_EQ(Hits(w, "shit!"), std::vector<std::string>{"shit"});
  EXPECT_EQ(Hits(w, "*sigh* fine!"), std::vector<std::string>{});
}

TEST(Words, SourcesPhraseExceptionsAndSpellingVariants) {
  auto f = WordFilter::Create({}, /*managed_profanity=*/true);
  ASSERT_TRUE(f.ok()) << f.status();
  const WordFilter& w = **f;
  // Phrase exceptions, the sources' ("coon hound") and confide's ("honky tonk").
  EXPECT_EQ(Hits(w, "a coon hound and a Maine coon"), std::vector<std::string>{});
  EXPECT_EQ(Hits(w, "honky tonk music"), std::vector<std::string>{});
  EXPECT_EQ(Hits(w, "pussy willow branches"), std::vector<std::string>{});
  EXPECT_EQ(Hits(w, "you honky"), std::vector<std::string>{"honky"});
  // Other LDNOOBW languages (not English words); a silent initial k dropped ("nob").
  EXPECT_EQ(Hits(w, "hijo de puta"), std::vector<std::string>{"hijo de puta"});
  EXPECT_EQ(Hits(w, "what a nobhead"), std::vector<std::string>{"nobhead"});
  EXPECT_EQ(Hits(w, "the nobility"), std::vector<std::string>{});
  // Ordinary words of those languages and English colloquial spellings stay clean.
  EXPECT_EQ(Hits(w, "una cerveja e um martillo"), std::vector<std::string>{});
  EXPECT_EQ(Hits(w, "just askin, Fukuoka is nice"), std::vector<std::string>{});
  // Every entry names at least one source; masking a source drops the entries only it gave.
  size_t surge_only = 0;
  for (size_t i = 0; i < kNumManagedProfanity; ++i) {
    EXPECT_NE(kManagedProfanity[i].sources, 0u) << kManagedProfanity[i].text;
    surge_only += kManagedProfanity[i].sources == kSourceSurge;
  }
  EXPECT_GT(surge_only, 0u);
  auto masked = WordFilter::Create({}, /*managed_profanity=*/true, kSourceSurge);
  ASSERT_TRUE(masked.ok());
  EXPECT_EQ(Hits(**masked, "fuck"), std::vector<std::string>{"fuck"});
  EXPECT_EQ(Hits(**masked, "injun"), std::vector<std::string>{});  // surge-ai only
  EXPECT_EQ(Hits(**masked, "what a nobhead"), std::vector<std::string>{"nob"});
  EXPECT_EQ(Hits(w, "injun"), std::vector<std::string>{"injun"});
}

TEST(Words, NormalizedTextRecordsJoinsAndSourceRanges) {
  NormalizedText n = NormalizeForMatching("Knob-Head ok");
  EXPECT_EQ(n.chars, "knob head ok");
  ASSERT_EQ(n.joins.size(), 1u);
  EXPECT_EQ(n.joins[0].first, 0u);
  EXPECT_EQ(n.joins[0].second, 9u);
  ASSERT_EQ(n.src_begin.size(), n.chars.size());
  EXPECT_EQ(n.src_begin[5], 5u);  // 'h' of "Head"
  EXPECT_EQ(n.src_end[8], 9u);
  // Plain ASCII words and words with other characters normalise the same way.
  EXPECT_EQ(NormalizeForMatching("Hello W\xC3\xB6rld").chars, "helo world");
  EXPECT_EQ(NormalizeForMatching("f u c k you").chars, "fuck you");
  EXPECT_EQ(NormalizeForMatching("sooo good").runs[1], 3);
}

TEST(Words, LinearOnOneLongTokenFullOfMatches) {
  // Token bounds are tabulated once per text: 75,000 matches inside one 300 KB token must not
  // rescan the token for each match.
  auto f = WordFilter::Create({}, /*managed_profanity=*/true);
  ASSERT_TRUE(f.ok());
  std::string s;
  for (int i = 0; i < 75000; ++i) s += "shit";
  auto m = (*f)->Find(s);
  EXPECT_FALSE(m.empty());
}

TEST(Words, Limits) {
  std::vector<std::string> many(10001, "x");
  EXPECT_FALSE(WordFilter::Create(many, false).ok());
  EXPECT_FALSE(WordFilter::Create({std::string(101, 'a')}, false).ok());
  EXPECT_FALSE(WordFilter::Create({"!!!"}, false).ok());
}

}  // namespace
}  // namespace confide::guard

namespace confide::guard {
namespace {

// Find's managed_hit flag is exactly whether a filter with only the managed list finds
// anything, also when a longer custom word covers the managed one (overlap resolution keeps the
// custom match): Guardrail passes it to the content gate instead of scanning again.
TEST(WordFilter, ManagedHitMatchesManagedOnlyFilter) {
  auto managed = WordFilter::Create({}, /*managed_profanity=*/true);
  ASSERT_TRUE(managed.ok());
  auto both = WordFilter::Create({"holy shit batman", "fuck off now", "custom", "shitty day"},
                                 /*managed_profanity=*/true);
  ASSERT_TRUE(both.ok());
  auto custom = WordFilter::Create({"holy shit batman", "custom"}, /*managed_profanity=*/false);
  ASSERT_TRUE(custom.ok());
  size_t hits = 0, covered = 0;
  for (const char* t :
       {"holy shit batman!", "well fuck off now please", "a custom word", "nothing to see",
        "what a shitty day", "sh1t", "", "Scunthorpe", "f u c k", "custom shit"}) {
    bool want = !(*managed)->Find(t).empty();
    bool got = true;
    auto matches = (*both)->Find(t, &got);
    EXPECT_EQ(got, want) << t;
    bool any_managed_reported = false;
    for (const auto& m : matches) any_managed_reported |= (*both)->entry(m.entry).managed;
    hits += want;
    covered += want && !any_managed_reported;
    bool none = true;
    (*custom)->Find(t, &none);
    EXPECT_FALSE(none) << t;
  }
  EXPECT_GE(hits, 4u);
  EXPECT_GE(covered, 1u);  // a managed word hidden by a longer custom match is still reported
}

}  // namespace
}  // namespace confide::guard
