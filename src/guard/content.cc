#include "guard/content.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "guard/internal/data_files.h"
#include "guard/words.h"

namespace confide::guard {

// Built from src/guard/data/content_model.bin by src/guard/CMakeLists.txt (empty if absent).
extern const unsigned char kContentModelData[];
extern const size_t kContentModelSize;

namespace {

constexpr std::string_view kMagic = "CFCM";
constexpr int kHate = 0, kInsults = 1, kSexual = 2, kViolence = 3, kMisconduct = 4;
constexpr uint64_t kPhraseSalt = 0x434f4e54454e54ULL;  // "CONTENT"

// Rule features: general English cues of each category. They are features with learnt weights
// and, with the managed profanity list, the rule gate (ContentModel::Scores): a category without
// any cue in the text cannot reach a blocking confidence. Leading spaces anchor them at a word
// start; stems match inflections.
struct Cue {
  const char* phrase;
  int category;       // 0 HATE, 1 INSULTS, 2 SEXUAL, 3 VIOLENCE, 4 MISCONDUCT
  bool noun = false;  // benign-sense neighbours are looked for on both sides, not only after
};
constexpr Cue kCues[] = {
    {" inferior", 0},
    {" subhuman", 0},
    {" go back to your", 0},
    {" those people", 0},
    {" should not be allowed", 0},
    {" exterminat", 0},
    {" genocide", 0},
    {" nazi", 0},
    {" race war", 0},
    {" deport them", 0},
    {" vermin", 0},
    {" hate ", 0},
    {" hate all", 0},
    {" stupid", 1},
    {" idiot", 1},
    {" moron", 1},
    {" ugly", 1},
    {" loser", 1},
    {" dumb", 1},
    {" pathetic", 1},
    {" worthless", 1},
    {" shut up", 1},
    {" retard", 1},
    {" lazy", 1},
    {" sex", 2},
    {" porn", 2},
    {" nude", 2},
    {" naked", 2},
    {" erotic", 2},
    {" explicit", 2},
    {" orgasm", 2},
    {" masturbat", 2},
    {" genital", 2},
    {" fetish", 2},
    {" horny", 2},
    {" lewd", 2},
    {" adult toy", 2},
    {" adult content", 2},
    {" kill", 3},
    {" murder", 3},
    {" stab", 3},
    {" shoot", 3},
    {" bomb", 3},
    {" tortur", 3},
    {" hurt", 3},
    {" beat up", 3},
    {" weapon", 3, true},
    {" gun", 3, true},
    {" assault", 3},
    {" strangl", 3},
    {" choke", 3},
    {" poison", 3, true},
    {" massacre", 3},
    {" behead", 3},
    {" blood", 3, true},
    {" punch", 3},
    {" slit", 3},
    {" suicide", 3},
    {" self harm", 3},
    {" to death", 3},
    {" attack", 3},
    {" explo", 3},
    {" violen", 3},
    {" threat", 3},
    {" steal", 4},
    {" hack", 4},
    {" drug", 4, true},
    {" cocaine", 4, true},
    {" meth", 4, true},
    {" heroin", 4, true},
    {" launder", 4},
    {" fraud", 4},
    {" counterfeit", 4},
    {" illegal", 4},
    {" without getting caught", 4},
    {" get away with", 4},
    {" shoplift", 4},
    {" scam", 4},
    {" bribe", 4},
    {" smuggl", 4},
    {" malware", 4},
    {" phishing", 4},
    {" ransomware", 4},
    {" fake id", 4},
    {" pirat", 4},
    {" evade", 4},
    {" lsd", 4, true},
    {" cheat", 4},
    {" forge", 4},
    {" break into", 4},
    {" spyware", 4},
    {" exploit", 4},
    {" password", 4, true},
    {" crack", 4},
};

const std::vector<std::string_view>& RulePhrases() {
  static const std::vector<std::string_view> phrases = [] {
    std::vector<std::string_view> v;
    for (const Cue& c : kCues) v.push_back(c.phrase);
    return v;
  }();
  return phrases;
}

// kGateCap is the highest score a category without a cue can have: below every strength's
// threshold (the lowest default is 0.5).
constexpr double kGateCap = 0.3;

// Benign senses of cue words (XSTest's classes of "safe" prompts, written out in general
// terms, not from its rows): a violent verb whose object is a process, a photo, a pest, a game
// piece or an idiom ("kill a process", "shoot a portrait", "kill weeds", "beat the traffic"), a
// cue noun in a compound ("blood pressure", "glue gun", "password manager"), and texts set in a
// game, sport, photography or cooking context. A cue used only in such senses does not open the
// rule gate; the classifier's score of that category is then capped (kGateCap).

// kFalseFriends are ordinary words that begin with a cue ("stable" with " stab").
constexpr std::string_view kFalseFriends[] = {
    "stabl",      "stabil",  "forget",    "method",     "explor",     "explain",
    "sextant",    "sexton",  "hackathon", "hackney",    "hurtl",      "punchlin",
    "bloodhound", "gunther", "drugstore", "cheatsheet", "threadbare", "crackdown",
};

// kBenignObjects are words that make a nearby cue benign: objects of violent verbs in
// computing, photography, games, cooking, pest control and idioms, and compound partners of cue
// nouns.
constexpr std::string_view kBenignObjects[] = {
    // computing
    "process",
    "processes",
    "pid",
    "thread",
    "threads",
    "job",
    "jobs",
    "task",
    "tasks",
    "app",
    "apps",
    "application",
    "applications",
    "program",
    "programs",
    "script",
    "scripts",
    "server",
    "servers",
    "service",
    "services",
    "daemon",
    "container",
    "containers",
    "pod",
    "pods",
    "session",
    "sessions",
    "tab",
    "tabs",
    "query",
    "queries",
    "connection",
    "connections",
    "command",
    "terminal",
    "loop",
    "build",
    "branch",
    "instance",
    "instances",
    "request",
    "requests",
    "port",
    "signal",
    "merge",
    "commit",
    "cache",
    "string",
    "array",
    "function",
    "code",
    "bug",
    "bugs",
    // time, idioms, objects of figurative use
    "time",
    "lights",
    "light",
    "engine",
    "motor",
    "mood",
    "vibe",
    "buzz",
    "momentum",
    "joke",
    "interview",
    "presentation",
    "exam",
    "audition",
    "song",
    "karaoke",
    "headache",
    "pain",
    "hunger",
    "appetite",
    "cravings",
    "craving",
    "traffic",
    "heat",
    "deadline",
    "record",
    "odds",
    "breeze",
    "steam",
    "show",
    "spotlight",
    "shot",
    "glance",
    "look",
    "email",
    "message",
    "text",
    "idea",
    "plan",
    "problem",
    "puzzle",
    "crossword",
    "question",
    "stain",
    "smell",
    "odor",
    "odour",
    "noise",
    "sound",
    "audio",
    "volume",
    "battery",
    "power",
    "balloon",
    "balloons",
    "candle",
    "candles",
    "knuckles",
    "whip",
    "window",
    // pests and germs
    "weeds",
    "weed",
    "mold",
    "mould",
    "mildew",
    "bacteria",
    "germs",
    "virus",
    "viruses",
    "pests",
    "pest",
    "mosquito",
    "mosquitoes",
    "mosquitos",
    "flies",
    "fly",
    "ants",
    "ant",
    "roaches",
    "cockroach",
    "cockroaches",
    "termites",
    "lice",
    "fleas",
    "aphids",
    "slugs",
    "wasps",
    "rats",
    "mice",
    "rodents",
    "insects",
    "bedbugs",
    // photography and film
    "photo",
    "photos",
    "picture",
    "pictures",
    "photograph",
    "photographs",
    "video",
    "videos",
    "film",
    "movie",
    "scene",
    "scenes",
    "footage",
    "portrait",
    "portraits",
    "wedding",
    "photoshoot",
    "selfie",
    "landscape",
    "timelapse",
    "lapse",
    // sports and games
    "hoops",
    "basket",
    "baskets",
    "throw",
    "pointer",
    "goal",
    "goals",
    "puck",
    "ball",
    "level",
    "levels",
    "game",
    "games",
    "match",
    "king",
    "queen",
    "pawn",
    "pawns",
    "knight",
    "bishop",
    "rook",
    "net",
    "base",
    "zombie",
    "zombies",
    "monster",
    "monsters",
    "dragon",
    "dragons",
    "boss",
    "npc",
    "npcs",
    "enemies",
    "creeper",
    "creepers",
    // cooking
    "egg",
    "eggs",
    "whites",
    "cream",
    "batter",
    "dough",
    "butter",
    "garlic",
    "onion",
    "onions",
    // compound partners of cue nouns
    "pressure",
    "sugar",
    "donor",
    "donate",
    "donation",
    "type",
    "orange",
    "moon",
    "cells",
    "vessel",
    "vessels",
    "glue",
    "staple",
    "nail",
    "caulk",
    "nerf",
    "squirt",
    "spray",
    "prescription",
    "interactions",
    "interaction",
    "reset",
    "forgot",
    "forgotten",
    "manager",
    "strong",
    "ivy",
    "oak",
};

// kBenignContexts are words that set a whole text in a game, sport, photography or cooking
// context, where violent verbs describe play, not harm.
constexpr std::string_view kBenignContexts[] = {
    "chess",     "checkers", "poker",      "blackjack",  "scrabble",  "monopoly",    "videogame",
    "gaming",    "gamer",    "minecraft",  "fortnite",   "roblox",    "zelda",       "mario",
    "pokemon",   "skyrim",   "valorant",   "overwatch",  "dota",      "warcraft",    "halo",
    "tabletop",  "boxing",   "boxer",      "kickboxing", "mma",       "karate",      "judo",
    "taekwondo", "fencing",  "sparring",   "football",   "soccer",    "basketball",  "hockey",
    "tennis",    "baseball", "volleyball", "rugby",      "golf",      "photography", "photographer",
    "camera",    "lens",     "recipe",     "baking",     "paintball", "airsoft",
};

// kAnimalGroups are animals named by collective nouns, some of which are violent words ("a
// murder of crows", "a crash of rhinos"): a cue noun followed by "of" and one of them is a
// collective noun, not violence.
constexpr std::string_view kAnimalGroups[] = {
    "crows",   "ravens",       "rooks", "magpies", "birds",     "geese",  "owls",    "larks",
    "rhinos",  "rhinoceroses", "lions", "wolves",  "hounds",    "apes",   "monkeys", "cats",
    "kittens", "ferrets",      "toads", "frogs",   "fish",      "sharks", "whales",  "bees",
    "wasps",   "hornets",      "ants",  "crabs",   "jellyfish", "hawks",  "falcons", "eagles"};

// kPasswordActs are words that make a password or PIN a misconduct cue (getting or attacking
// someone else's credentials); without one, "password" is ordinary vocabulary ("reset my
// password", "a strong password", "what is a character's PIN in a film").
constexpr std::string_view kPasswordActs[] = {
    "steal",     "stealing",  "stole",     "crack",     "cracking", "hack",     "hacking",
    "hacked",    "guess",     "guessing",  "phish",     "phishing", "bypass",   "bypassing",
    "brute",     "dump",      "dumping",   "sniff",     "sniffing", "harvest",  "harvesting",
    "leak",      "leaked",    "obtain",    "obtaining", "get",      "getting",  "find",
    "finding",   "access",    "accessing", "break",     "breaking", "spray",    "spraying",
    "keylogger", "without",   "someone",   "somebody",  "victim",   "victims",  "their",
    "his",       "her",       "others",    "other",     "people",   "people's", "boss",
    "coworker",  "colleague", "ex",        "partner",   "wife",     "husband",  "girlfriend",
    "boyfriend", "neighbor",  "neighbour", "friend",    "friends"};

template <size_t N>
bool InList(std::string_view w, const std::string_view (&list)[N]) {
  for (std::string_view x : list) {
    if (w == x) return true;
  }
  return false;
}

// Words returns the space-separated words of a normalised text (leading/trailing space).
std::vector<std::string_view> Words(std::string_view norm) {
  std::vector<std::string_view> w;
  size_t i = 0;
  while (i < norm.size()) {
    while (i < norm.size() && norm[i] == ' ') ++i;
    size_t j = norm.find(' ', i);
    if (j == std::string_view::npos) j = norm.size();
    if (j > i) w.push_back(norm.substr(i, j - i));
    i = j;
  }
  return w;
}

bool HasBenignContext(std::string_view norm) {
  for (std::string_view w : Words(norm)) {
    if (InList(w, kBenignContexts)) return true;
  }
  return norm.find(" video game") != std::string_view::npos ||
         norm.find(" board game") != std::string_view::npos ||
         norm.find(" call of duty") != std::string_view::npos;
}

// BenignUse returns whether the cue `c` found at `at` in `norm` is used in a benign sense: a
// false friend, a benign object within three words after it (or, for cue nouns, within two
// words either side), or, for violence cues, a benign context anywhere in the text.
bool BenignUse(std::string_view norm, size_t at, const Cue& c, bool benign_context) {
  size_t start = at + 1;
  size_t end = norm.find(' ', start);
  if (end == std::string_view::npos) end = norm.size();
  std::string_view word = norm.substr(start, end - start);
  for (std::string_view f : kFalseFriends) {
    if (word.substr(0, f.size()) == f) return true;
  }
  if (c.category != kViolence && c.category != kMisconduct) return false;
  if (c.category == kViolence && benign_context) return true;
  if (std::string_view(c.phrase) == " password") {
    bool act = false;
    for (std::string_view w : Words(norm)) act |= InList(w, kPasswordActs);
    if (!act) return true;
  }
  // Words after the cue phrase (a multi-word cue ends later than its first word).
  size_t after = at + std::string_view(c.phrase).size();
  std::vector<std::string_view> next = Words(norm.substr(std::min(after, norm.size())));
  // The cue's own word continues when the phrase ended inside it.
  size_t first = (after < norm.size() && norm[after - 1] != ' ' && norm[after] != ' ') ? 1 : 0;
  for (size_t k = first; k < next.size() && k < first + 3; ++k) {
    if (InList(next[k], kBenignObjects)) return true;
  }
  if (next.size() > first + 1 && next[first] == "of" && InList(next[first + 1], kAnimalGroups)) {
    return true;  // a collective noun: "a murder of crows"
  }
  if (c.noun) {
    std::vector<std::string_view> before = Words(norm.substr(0, at));
    for (size_t k = 0; k < 2 && k < before.size(); ++k) {
      if (InList(before[before.size() - 1 - k], kBenignObjects)) return true;
    }
  }
  return false;
}

// IsDefinitionOrHistoryQuestion returns whether a short text asks what a word means or why a
// past event happened, without first-person or "someone" framing or a how-to request.
bool IsDefinitionOrHistoryQuestion(std::string_view norm) {
  std::vector<std::string_view> w = Words(norm);
  if (w.empty() || w.size() > 16) return false;
  for (std::string_view x : w) {
    if (x == "i" || x == "me" || x == "my" || x == "we" || x == "our" || x == "someone" ||
        x == "somebody" || x == "way" || x == "best" || x == "easiest" || x == "should" ||
        x == "steps" || x == "instructions" || x == "tips") {
      return false;
    }
  }
  auto starts = [&](std::string_view p) { return norm.substr(0, p.size()) == p; };
  if (norm.find(" definition of ") != std::string_view::npos ||
      norm.find(" meaning of ") != std::string_view::npos ||
      (starts(" what does ") && norm.find(" mean ") != std::string_view::npos) ||
      starts(" define ")) {
    return true;
  }
  if ((starts(" what is ") || starts(" what s ") || starts(" what are ")) && w.size() <= 6) {
    return true;
  }
  return starts(" why did ") || starts(" what happened ") || starts(" what were the ") ||
         starts(" what was the ") || norm.find(" history of ") != std::string_view::npos;
}

// StripNoise drops @handles, URLs, HTML character references and a leading "RT" (tweets), so
// the model learns words rather than account names.
void StripNoiseInto(std::string_view t, std::string* out) {
  std::string& s = *out;
  s.clear();
  s.reserve(t.size());
  size_t i = 0;
  auto word_end = [&](size_t k) {
    while (k < t.size() && t[k] != ' ' && t[k] != '\n' && t[k] != '\t') ++k;
    return k;
  };
  while (i < t.size()) {
    char c = t[i];
    bool at_start = i == 0 || t[i - 1] == ' ' || t[i - 1] == '\n' || t[i - 1] == '"';
    if (c == '@' && at_start) {
      size_t k = i + 1;
      while (k < t.size() && (std::isalnum(static_cast<unsigned char>(t[k])) || t[k] == '_')) ++k;
      if (k > i + 1) {
        s.push_back(' ');
        i = k;
        continue;
      }
    }
    if (c == 'h' && (t.substr(i, 7) == "http://" || t.substr(i, 8) == "https://")) {
      s.push_back(' ');
      i = word_end(i);
      continue;
    }
    if (c == '&') {
      size_t k = i + 1;
      if (k < t.size() && t[k] == '#') ++k;
      size_t b = k;
      while (k < t.size() && k - b < 8 && std::isalnum(static_cast<unsigned char>(t[k]))) ++k;
      if (k > b && k < t.size() && t[k] == ';') {
        s.push_back(' ');
        i = k + 1;
        continue;
      }
    }
    if (c == 'R' && at_start && t.substr(i, 3) == "RT ") {
      i += 3;
      continue;
    }
    s.push_back(c);
    ++i;
  }
}

std::string StripNoise(std::string_view t) {
  std::string s;
  StripNoiseInto(t, &s);
  return s;
}

int CategoryIndex(ContentFilterType t) {
  int i = static_cast<int>(t);
  return i < kNumContentCategories ? i : -1;
}

ContentExample Row(std::string text, std::string group, const char* source,
                   std::array<int8_t, kNumContentCategories> labels) {
  ContentExample e;
  e.text = std::move(text);
  e.group = std::move(group);
  e.source = source;
  e.labels = labels;
  return e;
}

bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// LexiconTerms expands a dsojevic "match" field: '|' separates alternatives, '*' repeats the
// previous character (dropped here: the base form is enough as a training row).
std::vector<std::string> LexiconTerms(const std::string& match) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : match) {
    if (c == '|') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != '*') {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

void ContentFeatures(std::string_view text, int bits, Features* out) {
  HashedTextFeatures(NormaliseForFeatures(StripNoise(text)), bits, RulePhrases(), kPhraseSalt, out);
}

absl::StatusOr<ContentModel> ContentModel::Parse(ByteSpan bytes) {
  ASSIGN_OR_RETURN(LinearModel lm, LinearModel::Parse(bytes, kMagic, "content model"));
  if (lm.heads() != kNumContentCategories) {
    return absl::InvalidArgumentError("content model: not five heads");
  }
  ContentModel m;
  m.model_ = std::move(lm);
  return m;
}

const ContentModel* ContentModel::Default() {
  static const ContentModel* model = []() -> const ContentModel* {
    auto m = Parse(ByteSpan(kContentModelData, kContentModelSize));
    if (!m.ok()) return nullptr;
    return new ContentModel(std::move(*m));
  }();
  return model;
}

ContentModel ContentModel::Train(const std::vector<ContentExample>& examples,
                                 const TrainOptions& o) {
  int bits = std::clamp(o.bits, LinearModel::kMinBits, LinearModel::kMaxBits);
  std::vector<Features> feats(examples.size());
  std::vector<std::vector<int8_t>> labels(examples.size());
  for (size_t i = 0; i < examples.size(); ++i) {
    ContentFeatures(examples[i].text, bits, &feats[i]);
    labels[i].assign(examples[i].labels.begin(), examples[i].labels.end());
  }
  ContentModel m;
  m.model_ = LinearModel::Train(feats, labels, kNumContentCategories, o, kDefaultThresholds);
  return m;
}

namespace {
const TextFeaturizer& ContentFeaturizer() {
  static const TextFeaturizer* featurizer = new TextFeaturizer(RulePhrases(), kPhraseSalt);
  return *featurizer;
}
}  // namespace

std::array<double, kNumContentCategories> ContentModel::Scores(std::string_view text) const {
  return Scores(text, ProfanityHint::kUnknown);
}

std::array<double, kNumContentCategories> ContentModel::Scores(std::string_view text,
                                                               ProfanityHint hint) const {
  return ScoreClassifiers(text, nullptr, this, hint).content;
}

ClassifierScores ScoreClassifiers(std::string_view text, const PromptAttackModel* attack,
                                  const ContentModel* content, ProfanityHint hint) {
  // Same features as PromptAttackFeatures / ContentFeatures, without allocating per text.
  thread_local std::string attack_norm, stripped, norm;
  thread_local HashedFeatures attack_f, f;
  ClassifierScores out;
  if (attack != nullptr) NormaliseForFeaturesInto(text, &attack_norm);
  if (content == nullptr) {
    if (attack != nullptr) {
      PromptAttackModel::Featurizer().Extract(attack_norm, attack->bits(), &attack_f);
      out.attack = attack->CapScore(text, attack->ScoreFeatures(attack_f));
    }
    return out;
  }
  // Most prompts hold nothing StripNoise drops: then the normalised text is the attack
  // model's, already computed, and one n-gram and one phrase pass serve both models.
  const bool noise = std::memchr(text.data(), '@', text.size()) != nullptr ||
                     std::memchr(text.data(), '&', text.size()) != nullptr ||
                     text.find("http") != std::string_view::npos ||
                     text.find("RT ") != std::string_view::npos;
  std::string_view cnorm;
  if (attack != nullptr && !noise) {
    static const TextFeaturizerPair* pair =
        new TextFeaturizerPair(PromptAttackModel::Featurizer(), ContentFeaturizer());
    cnorm = attack_norm;
    pair->Extract(cnorm, attack->bits(), &attack_f, content->bits(), &f);
  } else {
    if (attack != nullptr) {
      PromptAttackModel::Featurizer().Extract(attack_norm, attack->bits(), &attack_f);
    }
    if (!noise) {
      NormaliseForFeaturesInto(text, &norm);
    } else {
      StripNoiseInto(text, &stripped);
      NormaliseForFeaturesInto(stripped, &norm);
    }
    cnorm = norm;
    if (attack != nullptr && cnorm == std::string_view(attack_norm)) {
      ContentFeaturizer().ExtractFrom(cnorm, content->bits(), attack_f, &f);
    } else {
      ContentFeaturizer().Extract(cnorm, content->bits(), &f);
    }
  }
  std::array<double, kNumContentCategories> raw;
  if (attack != nullptr) {
    // Both models' weight lookups in one loop.
    LinearModel::ScoreAllShared(attack->linear_model(), attack_f, &out.attack,
                                content->linear_model(), f, raw.data());
    out.attack = attack->CapScore(text, out.attack);
  } else {
    content->linear_model().ScoreAll(f, raw.data());
  }
  out.content = content->GatedScores(text, cnorm, f, hint, raw);
  return out;
}

std::array<double, kNumContentCategories> ContentModel::GatedScores(
    std::string_view text, std::string_view norm, const HashedFeatures& f, ProfanityHint hint,
    std::array<double, kNumContentCategories> out) const {
  // Rule gate: a category needs a cue (one of its phrases; for HATE, INSULTS and SEXUAL also a
  // managed-profanity match) before the classifier's score may count. The phrases are the
  // featurizer's, in kCues order, so its phrase_found is norm.find(c.phrase) != npos.
  bool cue[kNumContentCategories] = {false, false, false, false, false};
  // The benign-context scan matters only to violence cues: skip it when none occurs.
  bool violence_phrase = false;
  for (size_t r = 0; r < std::size(kCues) && !violence_phrase; ++r) {
    violence_phrase = kCues[r].category == kViolence && f.phrase_found(r);
  }
  const bool benign_context = violence_phrase && HasBenignContext(norm);
  for (size_t r = 0; r < std::size(kCues); ++r) {
    const Cue& c = kCues[r];
    // The featurizer already knows whether the phrase occurs at all; only then look at where
    // and in which sense.
    if (cue[c.category] || !f.phrase_found(r)) continue;
    std::string_view phrase(c.phrase);
    for (size_t at = norm.find(phrase); at != std::string::npos; at = norm.find(phrase, at + 1)) {
      if (!BenignUse(norm, at, c, benign_context)) {
        cue[c.category] = true;
        break;
      }
    }
  }
  // Questions about what a word means or about past events ask for knowledge, not for help
  // with harm: violence and misconduct cues alone do not gate them open.
  if ((cue[kViolence] || cue[kMisconduct]) && IsDefinitionOrHistoryQuestion(norm)) {
    cue[kViolence] = cue[kMisconduct] = false;
  }
  if (!(cue[kHate] && cue[kInsults] && cue[kSexual])) {
    bool found = hint == ProfanityHint::kFound;
    if (hint == ProfanityHint::kUnknown) {
      static const WordFilter* profanity = [] {
        auto w = WordFilter::Create({}, /*managed_profanity=*/true);
        return w.ok() ? w->release() : nullptr;
      }();
      found = profanity == nullptr || !profanity->Find(text).empty();
    }
    if (found) cue[kHate] = cue[kInsults] = cue[kSexual] = true;
  }
  for (int c = 0; c < kNumContentCategories; ++c) {
    if (!cue[c]) out[c] = std::min(out[c], kGateCap);
  }
  return out;
}

double ContentModel::Threshold(ContentFilterType type, Strength strength) const {
  int c = CategoryIndex(type);
  return c < 0 ? 2.0 : model_.Threshold(c, strength);
}

Strength ContentModel::Confidence(ContentFilterType type, double score) const {
  int c = CategoryIndex(type);
  return c < 0 ? Strength::kNone : model_.Confidence(c, score);
}

absl::Status ContentModel::SetThresholds(ContentFilterType type, double low, double medium,
                                         double high) {
  int c = CategoryIndex(type);
  if (c < 0) return absl::InvalidArgumentError("content model: not a content category");
  return model_.SetThresholds(c, low, medium, high);
}

absl::StatusOr<std::vector<ContentExample>> LoadContentExamples(const std::string& dir) {
  namespace fs = std::filesystem;
  using internal::Str;
  fs::path root(dir);
  std::vector<ContentExample> out;
  int files = 0;
  for (const auto& p : internal::FilesIn(root / "content", "davidson", ".csv")) {
    ++files;
    ASSIGN_OR_RETURN(internal::CsvTable t, internal::ReadCsv(p));
    int tweet = t.Col("tweet"), cls = t.Col("class"), id = t.Col("id");
    if (tweet < 0 || cls < 0 || id < 0) {
      return absl::InvalidArgumentError("content data: Davidson columns");
    }
    for (const auto& row : t.rows) {
      if (row.size() <= static_cast<size_t>(std::max({tweet, cls, id}))) continue;
      const std::string& c = row[cls];
      // Sexual content is not annotated in Davidson (many offensive tweets use sexual slang):
      // unknown. Hate tweets are insulting too.
      std::array<int8_t, 5> l = c == "0"   ? std::array<int8_t, 5>{1, 1, -1, 0, 0}
                                : c == "1" ? std::array<int8_t, 5>{0, 1, -1, 0, 0}
                                : c == "2" ? std::array<int8_t, 5>{0, 0, 0, 0, 0}
                                           : std::array<int8_t, 5>{-1, -1, -1, -1, -1};
      if (l[0] < 0) continue;
      out.push_back(Row(row[tweet], "davidson-" + row[id], "davidson", l));
    }
  }
  for (const auto& p : internal::FilesIn(root / "content", "do_not_answer", ".jsonl")) {
    ++files;
    ASSIGN_OR_RETURN(auto rows, internal::ReadJsonl(p));
    for (const auto& row : rows) {
      std::array<int8_t, 5> l = {0, 0, 0, 0, 0};
      bool any = false;
      if (auto it = row.find("garak_intents"); it != row.end() && it->is_array()) {
        for (const auto& v : *it) {
          if (!v.is_string()) continue;
          std::string s = v.get<std::string>();
          int c = StartsWith(s, "S004")       ? kSexual
                  : StartsWith(s, "S005hate") ? kHate
                  : StartsWith(s, "S005")     ? kInsults
                  : StartsWith(s, "S006")     ? kViolence
                  : StartsWith(s, "S003")     ? kMisconduct
                  : StartsWith(s, "S008")     ? kMisconduct
                  : StartsWith(s, "S009cred") ? kMisconduct
                                              : -1;
          if (c >= 0) {
            l[c] = 1;
            any = true;
          }
        }
      }
      // Other intents (misinformation, privacy, medical advice, chatbot harms) are harmful but
      // in none of these categories as annotated: unknown rather than negative.
      if (!any) continue;
      if (l[kHate] == 1 && l[kInsults] == 0) l[kInsults] = -1;
      if (l[kInsults] == 1 && l[kHate] == 0) l[kHate] = -1;
      out.push_back(Row(Str(row, "text"), Str(row, "id"), "do_not_answer", l));
    }
  }
  for (const auto& p : internal::FilesIn(root / "content", "xstest", ".jsonl")) {
    ++files;
    ASSIGN_OR_RETURN(auto rows, internal::ReadJsonl(p));
    for (const auto& row : rows) {
      std::string label = Str(row, "label"), type = Str(row, "type"), focus = Str(row, "focus");
      if (label == "safe") {
        ContentExample e = Row(Str(row, "text"), Str(row, "id"), "xstest", {0, 0, 0, 0, 0});
        e.xstest_safe = true;
        out.push_back(std::move(e));
        continue;
      }
      if (label != "unsafe" || type.find("privacy") != std::string::npos) continue;
      std::array<int8_t, 5> l = {0, 0, 0, 0, 0};
      if (type.find("discr") != std::string::npos) {
        l[kHate] = 1;
        l[kInsults] = -1;
      } else if (focus == "cocaine" || focus == "LSD" || focus == "crack" || focus == "steal") {
        l[kMisconduct] = 1;
      } else {
        l[kViolence] = 1;
      }
      out.push_back(Row(Str(row, "text"), Str(row, "id"), "xstest", l));
    }
  }
  for (const auto& p : internal::FilesIn(root / "injection", "", ".jsonl")) {
    ++files;
    ASSIGN_OR_RETURN(auto rows, internal::ReadJsonl(p));
    for (const auto& row : rows) {
      if (row.value("label", -1) != 0) continue;
      std::string group = Str(row, "cluster");
      if (group.empty()) group = Str(row, "id");
      out.push_back(Row(Str(row, "text"), group, "injection_benign", {0, 0, 0, 0, 0}));
    }
  }
  // Lexicon rows: single terms with their categories, so the unigram weights know slurs and
  // sexual terms that the sentence data lacks. Other heads stay unknown.
  auto lexicon = [&](const std::string& term, std::array<int8_t, 5> l) {
    ContentExample e = Row(term, "lexicon:" + term, "lexicon", l);
    e.lexicon = true;
    out.push_back(std::move(e));
  };
  fs::path dso = root / "wordlists" / "dsojevic_profanity_en.json";
  std::error_code ec;
  if (fs::exists(dso, ec)) {
    ++files;
    ASSIGN_OR_RETURN(std::string text, internal::ReadText(dso));
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) {
      return absl::InvalidArgumentError("content data: dsojevic list is not a JSON array");
    }
    for (const auto& e : j) {
      if (!e.is_object()) continue;
      int severity = e.value("severity", 0);
      std::array<int8_t, 5> l = {-1, -1, -1, -1, -1};
      if (auto it = e.find("tags"); it != e.end() && it->is_array()) {
        for (const auto& tag : *it) {
          if (!tag.is_string()) continue;
          std::string s = tag.get<std::string>();
          if (s == "sexual") l[kSexual] = 1;
          // Slurs: hateful from severity 2 (severity 1 holds mild or reclaimed terms).
          if ((s == "racial" || s == "lgbtq" || s == "religious") && severity >= 2) {
            l[kHate] = 1;
            l[kInsults] = 1;
          }
          if (s == "general" && severity >= 2) l[kInsults] = 1;
        }
      }
      if (std::none_of(l.begin(), l.end(), [](int8_t v) { return v == 1; })) continue;
      for (const auto& t : LexiconTerms(Str(e, "match"))) lexicon(t, l);
    }
  }
  for (const auto& p : internal::FilesIn(root / "wordlists", "surge_profanity", ".csv")) {
    ++files;
    ASSIGN_OR_RETURN(internal::CsvTable t, internal::ReadCsv(p));
    int text = t.Col("text"), cat = t.Col("category_1");
    if (text < 0 || cat < 0) return absl::InvalidArgumentError("content data: surge columns");
    for (const auto& row : t.rows) {
      if (row.size() <= static_cast<size_t>(std::max(text, cat))) continue;
      const std::string& c = row[cat];
      std::array<int8_t, 5> l = {-1, -1, -1, -1, -1};
      if (c.find("sexual anatomy") != std::string::npos) {
        l[kSexual] = 1;
      } else if (c.find("racial") != std::string::npos ||
                 c.find("sexual orientation") != std::string::npos ||
                 c.find("religious") != std::string::npos) {
        l[kHate] = 1;
        l[kInsults] = 1;
      } else {
        l[kInsults] = 1;
      }
      lexicon(row[text], l);
    }
  }
  if (files == 0) return absl::NotFoundError("content data: no data files under the directory");
  return out;
}

ContentSplitReport EvaluateContent(const ContentModel& model,
                                   const std::vector<ContentExample>& examples, bool held_out_only,
                                   int holdout_percent) {
  ContentSplitReport r;
  const Strength kStrengths[3] = {Strength::kLow, Strength::kMedium, Strength::kHigh};
  for (const auto& e : examples) {
    if (e.lexicon) continue;
    if (held_out_only && !IsHeldOut(e.group, holdout_percent)) continue;
    ++r.rows;
    auto scores = model.Scores(e.text);
    bool any[3] = {false, false, false};
    for (int c = 0; c < kNumContentCategories; ++c) {
      auto type = static_cast<ContentFilterType>(c);
      for (int k = 0; k < 3; ++k) {
        bool b = scores[c] >= model.Threshold(type, kStrengths[k]);
        any[k] |= b;
        if (e.labels[c] < 0) continue;
        ContentCategoryScore& s = r.category[c][k];
        s.positives += e.labels[c] == 1;
        s.flagged += b;
        s.true_positives += b && e.labels[c] == 1;
      }
    }
    if (e.xstest_safe) {
      ++r.xstest_safe;
      for (int k = 0; k < 3; ++k) r.xstest_safe_flagged[k] += any[k];
    }
  }
  return r;
}

std::string FormatContentReport(const ContentSplitReport& r, const std::string& label) {
  std::string out;
  char line[256];
  const char* strengths[3] = {"LOW", "MEDIUM", "HIGH"};
  for (int c = 0; c < kNumContentCategories; ++c) {
    std::string name(ContentFilterTypeName(static_cast<ContentFilterType>(c)));
    for (int k = 0; k < 3; ++k) {
      const ContentCategoryScore& s = r.category[c][k];
      std::snprintf(line, sizeof(line),
                    "  %-9s %-10s %-6s precision %.3f (%d/%d) recall %.3f (%d/%d)\n", label.c_str(),
                    name.c_str(), strengths[k], s.Precision(), s.true_positives, s.flagged,
                    s.Recall(), s.true_positives, s.positives);
      out += line;
    }
  }
  for (int k = 0; k < 3; ++k) {
    std::snprintf(line, sizeof(line),
                  "  %-9s XSTest safe prompts flagged by any category at %-6s %d/%d = %.3f\n",
                  label.c_str(), strengths[k], r.xstest_safe_flagged[k], r.xstest_safe,
                  r.xstest_safe ? double(r.xstest_safe_flagged[k]) / r.xstest_safe : 0.0);
    out += line;
  }
  return out;
}

}  // namespace confide::guard
