#include "guard/prompt_attack.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "guard/benign_contrast.h"
#include "guard/internal/data_files.h"
#include "nlohmann/json.hpp"

namespace confide::guard {

// Built from src/guard/data/prompt_attack_model.bin by src/guard/CMakeLists.txt.
extern const unsigned char kPromptAttackModelData[];
extern const size_t kPromptAttackModelSize;

namespace {

constexpr std::string_view kMagic = "CFPA";
constexpr uint64_t kPhraseSalt = 0x52554c45ULL;  // "RULE"

// Rule features: phrases typical of jailbreaks and injections. They are features (their
// weights are learned with the rest), not verdicts, so an ordinary prompt that happens to
// contain one is not blocked on that alone.
constexpr const char* kRulePhrases[] = {
    " ignore all ",
    " ignore previous ",
    " ignore the above ",
    " ignore your ",
    " disregard ",
    " previous instructions",
    " prior instructions",
    " developer mode ",
    " jailbreak",
    " dan ",
    " do anything now ",
    " no restrictions ",
    " unfiltered ",
    " uncensored ",
    " stay in character",
    " system prompt",
    " your instructions",
    " openai ",
    " content policy",
    " no ethical ",
    " without any restrictions",
    " two responses ",
    " from now on ",
    " you are no longer ",
    " pretend ",
    " the password ",
    " secret ",
    " forget ",
};

// Words that open a question, and second-person words (the text addresses the assistant).
constexpr std::string_view kQuestionOpeners[] = {
    "what", "what's", "whats", "where", "where's", "who",  "who's", "whom", "whose", "when", "why",
    "how",  "how's",  "which", "is",    "are",     "was",  "were",  "can",  "could", "do",   "does",
    "did",  "should", "would", "will",  "has",     "have", "had",   "may",  "might", "shall"};
constexpr std::string_view kSecondPerson[] = {
    "you",    "your",  "yours", "yourself", "yourselves", "you're", "you've",
    "you'll", "you'd", "u",     "ur",       "thou",       "thee",   "ye"};

}  // namespace

bool IsPlainQuestion(std::string_view text) {
  constexpr size_t kMaxBytes = 240;
  constexpr size_t kMaxWords = 16;
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  if (text.size() < 2 || text.size() > kMaxBytes || text.back() != '?') return false;
  std::string_view body = text.substr(0, text.size() - 1);
  // One sentence: no line break, no sentence end inside, no quoted or marked-up payload.
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\n' || c == '\r' || c == '"' || c == '`' || c == '<' || c == '>' || c == '{' ||
        c == '}' || c == '[' || c == ']' || c == '|' || c == '\\') {
      return false;
    }
    if ((c == '.' || c == '!' || c == '?' || c == ';' || c == ':') &&
        (i + 1 == body.size() || body[i + 1] == ' ')) {
      return false;
    }
  }
  // Words: ASCII letters and apostrophes, lower-cased.
  std::vector<std::string> words;
  std::string w;
  auto flush = [&] {
    if (!w.empty()) words.push_back(w);
    w.clear();
  };
  for (char c : body) {
    if ((c >= 'a' && c <= 'z') || c == '\'') {
      w.push_back(c);
    } else if (c >= 'A' && c <= 'Z') {
      w.push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      flush();
    }
  }
  flush();
  if (words.empty() || words.size() > kMaxWords) return false;
  if (std::find(std::begin(kQuestionOpeners), std::end(kQuestionOpeners), words[0]) ==
      std::end(kQuestionOpeners)) {
    return false;
  }
  for (const auto& x : words) {
    if (std::find(std::begin(kSecondPerson), std::end(kSecondPerson), x) !=
        std::end(kSecondPerson)) {
      return false;
    }
  }
  // No attack cue phrase ("the password", "system prompt", "secret", ...).
  std::string norm = " " + NormaliseForFeatures(text) + " ";
  for (std::string_view ph : kRulePhrases) {
    if (norm.find(ph) != std::string::npos) return false;
  }
  return true;
}

const std::vector<std::string_view>& RulePhrases() {
  static const std::vector<std::string_view> phrases(std::begin(kRulePhrases),
                                                     std::end(kRulePhrases));
  return phrases;
}

void PromptAttackFeatures(std::string_view text, int bits, Features* out) {
  HashedTextFeatures(NormaliseForFeatures(text), bits, RulePhrases(), kPhraseSalt, out);
}

absl::StatusOr<PromptAttackModel> PromptAttackModel::Parse(ByteSpan bytes) {
  ASSIGN_OR_RETURN(LinearModel lm, LinearModel::Parse(bytes, kMagic, "prompt attack model"));
  if (lm.heads() != 1) return absl::InvalidArgumentError("prompt attack model: not one head");
  PromptAttackModel m;
  m.model_ = std::move(lm);
  return m;
}

Bytes PromptAttackModel::Serialize() const { return model_.Serialize(kMagic); }

const PromptAttackModel* PromptAttackModel::Default() {
  static const PromptAttackModel* model = []() -> const PromptAttackModel* {
    auto m = Parse(ByteSpan(kPromptAttackModelData, kPromptAttackModelSize));
    if (!m.ok()) return nullptr;
    return new PromptAttackModel(std::move(*m));
  }();
  return model;
}

const TextFeaturizer& PromptAttackModel::Featurizer() {
  static const TextFeaturizer* featurizer = new TextFeaturizer(RulePhrases(), kPhraseSalt);
  return *featurizer;
}

double PromptAttackModel::Score(std::string_view text) const {
  return CapScore(text, ModelScore(text));
}

double PromptAttackModel::CapScore(std::string_view text, double model_score) const {
  double score = model_score;
  // A single short third-person question with no attack cue cannot redirect the assistant;
  // the model, trained on long benign prompts, over-scores such questions ("What is treason?").
  if (IsPlainQuestion(text)) {
    score = std::min(score, std::min(kPlainQuestionCap, 0.9 * Threshold(Strength::kHigh)));
  }
  return score;
}

double PromptAttackModel::ModelScore(std::string_view text) const {
  // Same features as PromptAttackFeatures, without allocating per text.
  thread_local std::string norm;
  thread_local HashedFeatures f;
  NormaliseForFeaturesInto(text, &norm);
  Featurizer().Extract(norm, model_.bits(), &f);
  return model_.Score(f, 0);
}

PromptAttackModel PromptAttackModel::Train(const std::vector<AttackExample>& examples,
                                           const TrainOptions& o) {
  int bits = std::clamp(o.bits, kMinBits, kMaxBits);
  std::vector<Features> feats(examples.size());
  std::vector<std::vector<int8_t>> labels(examples.size());
  for (size_t i = 0; i < examples.size(); ++i) {
    PromptAttackFeatures(examples[i].text, bits, &feats[i]);
    labels[i] = {static_cast<int8_t>(examples[i].label == 1)};
  }
  PromptAttackModel m;
  m.model_ = LinearModel::Train(feats, labels, 1, o);
  return m;
}

absl::StatusOr<std::vector<AttackExample>> LoadAttackExamples(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(dir, ec)) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".jsonl") files.push_back(e.path());
    }
  }
  if (files.empty()) return absl::NotFoundError("prompt attack data: no *.jsonl in directory");
  std::sort(files.begin(), files.end());
  std::vector<AttackExample> out;
  for (const auto& p : files) {
    ASSIGN_OR_RETURN(Bytes raw, base::ReadFileBounded(p.string(), 256u << 20));
    std::string_view all(reinterpret_cast<const char*>(raw.data()), raw.size());
    size_t line = 0;
    while (!all.empty()) {
      size_t nl = all.find('\n');
      std::string_view l = all.substr(0, nl);
      all = nl == std::string_view::npos ? std::string_view() : all.substr(nl + 1);
      ++line;
      if (l.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      auto j = nlohmann::json::parse(l, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("text") || !j["text"].is_string() ||
          !j.contains("label") || !j["label"].is_number_integer()) {
        return absl::InvalidArgumentError(absl::StrCat("prompt attack data: malformed row at ",
                                                       p.filename().string(), ":", line));
      }
      AttackExample e;
      e.text = j["text"].get<std::string>();
      e.label = j["label"].get<int>() == 1 ? 1 : 0;
      if (j.contains("cluster") && j["cluster"].is_string()) {
        e.group = j["cluster"].get<std::string>();
      } else if (j.contains("id") && j["id"].is_string()) {
        e.group = j["id"].get<std::string>();
      } else {
        e.group = e.text;
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

absl::StatusOr<std::vector<AttackExample>> LoadAttackContrast(const std::string& dir) {
  namespace fs = std::filesystem;
  using internal::Str;
  fs::path root(dir);
  std::vector<AttackExample> out;
  auto add = [&](std::string text, std::string group) {
    AttackExample e;
    e.text = std::move(text);
    e.label = 0;
    e.group = "contrast:" + group;
    out.push_back(std::move(e));
  };
  for (const auto& p : internal::FilesIn(root / "content", "do_not_answer", ".jsonl")) {
    ASSIGN_OR_RETURN(auto rows, internal::ReadJsonl(p));
    for (const auto& row : rows) add(Str(row, "text"), "dna-" + Str(row, "id"));
  }
  for (const auto& p : internal::FilesIn(root / "content", "davidson", ".csv")) {
    ASSIGN_OR_RETURN(internal::CsvTable t, internal::ReadCsv(p));
    int tweet = t.Col("tweet"), cls = t.Col("class"), id = t.Col("id");
    if (tweet < 0 || cls < 0 || id < 0) {
      return absl::InvalidArgumentError("prompt attack contrast: Davidson columns");
    }
    for (const auto& row : t.rows) {
      if (row.size() <= static_cast<size_t>(std::max({tweet, cls, id}))) continue;
      if (row[cls] == "2") add(row[tweet], "davidson-" + row[id]);
    }
  }
  for (const auto& s : SyntheticBenignPrompts()) add(s.text, s.group);
  return out;
}

}  // namespace confide::guard
