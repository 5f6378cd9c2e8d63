// confide::guard prompt-attack filter: a hashed character/word n-gram logistic regression that
// confide trains itself (`confide guard train`), plus rule features for the common patterns.
#ifndef CONFIDE_GUARD_PROMPT_ATTACK_H_
#define CONFIDE_GUARD_PROMPT_ATTACK_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "guard/linear_model.h"
#include "guard/policy.h"

namespace confide::guard {

// AttackExample is one labelled prompt (label 1 = attack, 0 = benign).
struct AttackExample {
  std::string text;
  int label = 0;
  std::string group;  // "cluster" (near-duplicates share one), else "id": the split key
};

// IsPlainQuestion returns whether `text` is one short question sentence (at most 16 words and
// 240 bytes, ending in '?', opened by a question word or auxiliary: "what", "how", "is",
// "can", ...) with no second-person word ("you", "your", ...), no line break, no quoted or
// marked-up payload ('"', '`', '<', '{', '[', ...) and no prompt-attack cue phrase. Such a
// text asks about the world and addresses no instruction to the assistant, so
// PromptAttackModel::Score caps its score at kPlainQuestionCap (below every strength).
bool IsPlainQuestion(std::string_view text);

// kPlainQuestionCap is the highest prompt-attack score of a plain question (IsPlainQuestion).
inline constexpr double kPlainQuestionCap = 0.5;

// PromptAttackModel scores a prompt's probability of being a prompt attack (jailbreak or
// injection). Immutable after Parse/Train; Score is const and thread-safe.
class PromptAttackModel {
 public:
  static constexpr uint32_t kVersion = LinearModel::kVersion;
  static constexpr int kMinBits = LinearModel::kMinBits, kMaxBits = LinearModel::kMaxBits;
  static constexpr float kMaxAbsWeight = LinearModel::kMaxAbsWeight;

  // Parse reads the weights file format (see docs/design/guard.md): a one-head LinearModel file
  // with magic "CFPA": u32 version, u8 bits, 3 zero bytes, f32 bias, f32 thresholds for LOW,
  // MEDIUM, HIGH, then 2^bits f32 weights, all little-endian. InvalidArgument for a wrong
  // magic/version/length, bits out of [kMinBits, kMaxBits], non-finite or oversized values, or
  // thresholds not in (0,1) with LOW >= MEDIUM >= HIGH.
  static absl::StatusOr<PromptAttackModel> Parse(ByteSpan bytes);

  // Default returns the model built into the library (src/guard/data/prompt_attack_model.bin);
  // nullptr if it failed to parse (the guardrail then fails closed at Create).
  static const PromptAttackModel* Default();

  // Train fits the model to `examples` with LinearModel::Train (deterministic for a given
  // seed); thresholds are set to the defaults.
  static PromptAttackModel Train(const std::vector<AttackExample>& examples,
                                 const TrainOptions& options);

  // Serialize returns the bytes Parse accepts.
  Bytes Serialize() const;

  // Score returns P(attack | text) in [0, 1]: ModelScore, capped at kPlainQuestionCap (and
  // below the HIGH threshold) for a plain question (IsPlainQuestion).
  double Score(std::string_view text) const;

  // Featurizer returns the featurizer of the model's rule phrases: Score(text) is
  // ScoreFeatures of Featurizer().Extract(NormaliseForFeatures(text), bits()).
  static const TextFeaturizer& Featurizer();

  // ScoreFeatures returns P(attack) for features extracted as Featurizer() does for bits(),
  // without the plain-question cap (CapScore applies it).
  double ScoreFeatures(const HashedFeatures& f) const { return model_.Score(f, 0); }
  // CapScore returns `model_score` (ModelScore(text) or ScoreFeatures of its features) with the
  // plain-question cap applied: Score(text) == CapScore(text, ModelScore(text)).
  double CapScore(std::string_view text, double model_score) const;
  // ModelScore returns the classifier's P(attack | text) alone, without the plain-question cap.
  double ModelScore(std::string_view text) const;

  // Threshold returns the score at or above which `strength` blocks (2.0 for kNone, so that
  // nothing blocks); thresholds fall as strength rises, so a lower strength blocks a subset.
  double Threshold(Strength strength) const { return model_.Threshold(0, strength); }

  // Confidence returns Bedrock's filter confidence for `score` (LinearModel::Confidence).
  Strength Confidence(double score) const { return model_.Confidence(0, score); }

  // Blocks returns Score(text) >= Threshold(strength).
  bool Blocks(std::string_view text, Strength strength) const {
    return strength != Strength::kNone && Score(text) >= Threshold(strength);
  }

  // SetThresholds sets LOW/MEDIUM/HIGH thresholds; InvalidArgument unless 1 > low >= medium >=
  // high > 0.
  absl::Status SetThresholds(double low, double medium, double high) {
    return model_.SetThresholds(0, low, medium, high);
  }

  int bits() const { return model_.bits(); }

  // linear_model returns the underlying model (tests compare Score with the reference path).
  const LinearModel& linear_model() const { return model_; }

 private:
  // LOW 0.95, MEDIUM 0.85, HIGH 0.70; chosen on the held-out split (docs/guardrails.md).
  LinearModel model_;
};

// PromptAttackFeatures appends the hashed features of `text` (bucket index, value) for a model
// of `bits` bits, L2-normalised. Exposed for tests and the trainer.
void PromptAttackFeatures(std::string_view text, int bits, Features* out);

// LoadAttackExamples reads every *.jsonl under `dir` (rows with "text" and "label" 0/1).
// NotFound when there is none; InvalidArgument for a malformed row.
absl::StatusOr<std::vector<AttackExample>> LoadAttackExamples(const std::string& dir);

// LoadAttackContrast returns benign-contrast rows (label 0) for training: ordinary texts and
// direct questions that are not prompt attacks, so the model does not learn "short question"
// or "alarming word" as attack evidence. From `guardrails_dir` (layout of
// ../shared/testdata/guardrails): content/do_not_answer*.jsonl (harmful requests, but plain
// ones: no jailbreak or injection) and the "neither" tweets of content/davidson*.csv; plus
// SyntheticBenignPrompts(). XSTest rows are never used. Groups are "contrast:<source>-<id>".
// InvalidArgument for a malformed file; absent files are skipped.
absl::StatusOr<std::vector<AttackExample>> LoadAttackContrast(const std::string& guardrails_dir);

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_PROMPT_ATTACK_H_
