#include "guard/words.h"

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
