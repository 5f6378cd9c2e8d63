// confide::guard LinearModel: the hashed-feature logistic regression behind the prompt-attack
// and content-category filters. One file format, one trainer, one or more heads (labels) that
// share the feature hashing; each head has its own bias and three strength thresholds.
#ifndef CONFIDE_GUARD_LINEAR_MODEL_H_
#define CONFIDE_GUARD_LINEAR_MODEL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "guard/aho_corasick.h"
#include "guard/policy.h"

namespace confide::guard {

// Features is a sparse feature vector: (bucket index, value) pairs, L2-normalised.
using Features = std::vector<std::pair<uint32_t, float>>;

// HashedFeatures is the fast form of a text's Features, filled by TextFeaturizer::Extract and
// read by LinearModel::Score/ScoreAll: key(k) holds the k-th feature's bucket index in bits
// 0..30 and its sign in bit 31 (set: -1). Every feature's value is sign / sqrt(size()) (the L2
// normalisation of HashedTextFeatures), so values are not stored. Reuse one per thread: Extract
// keeps the buffers, so it allocates only when a text is longer than any before. Not
// thread-safe.
class HashedFeatures {
 public:
  static constexpr uint32_t kSignBit = 0x80000000u;

  size_t size() const { return size_; }
  const uint32_t* keys() const { return keys_.get(); }
  // phrase_found returns whether rule phrase r (in TextFeaturizer's order) occurs in the text.
  bool phrase_found(size_t r) const { return found_[r] != 0; }
  // ngrams returns how many of the keys are character and word n-grams (the rest are rule
  // phrases); bits returns the model size the keys were extracted for.
  size_t ngrams() const { return ngrams_; }
  int bits() const { return bits_; }

 private:
  friend class TextFeaturizer;
  friend class TextFeaturizerPair;
  // Reserve makes room for `need` keys (keeping none).
  void Reserve(size_t need);
  std::unique_ptr<uint32_t[]> keys_;  // not value-initialised: no memset per text
  size_t capacity_ = 0;
  size_t size_ = 0;
  size_t ngrams_ = 0;
  int bits_ = 0;
  std::vector<uint8_t> found_;
};

// TrainOptions controls LinearModel::Train; the defaults produce the shipped prompt-attack
// model.
struct TrainOptions {
  int bits = 18;  // 2^bits hashed feature buckets
  int epochs = 40;
  double learning_rate = 0.5;
  double l2 = 1e-5;
  uint64_t seed = 0x636f6e66696465ULL;  // "confide"
  // Class balance: a head's positives weigh (rows / (2 * positives))^balance_power, negatives
  // likewise. 1 balances fully (the prompt-attack model); 0 weighs every row alike.
  double balance_power = 1.0;
};

// LinearModel maps a feature vector to one probability per head. Immutable after Parse/Train;
// all const methods are thread-safe.
//
// File format (all little-endian): 4-byte magic (chosen by the owner: "CFPA" prompt attack,
// "CFCM" content categories), u32 version (kVersion), u8 bits, u8 heads-1, 2 zero bytes; per
// head: f32 bias, f32 thresholds for strengths LOW, MEDIUM, HIGH; then 2^bits * heads f32
// weights, bucket-major (weight of head h for bucket i at index i * heads + h). A one-head file
// is exactly the prompt-attack format of version 1.
class LinearModel {
 public:
  static constexpr uint32_t kVersion = 1;
  static constexpr int kMinBits = 8, kMaxBits = 20, kMaxHeads = 16;
  static constexpr float kMaxAbsWeight = 1e4f;

  // Parse reads the file format above. InvalidArgument for a wrong magic/version/length, bits
  // out of [kMinBits, kMaxBits], more than kMaxHeads heads, non-zero reserved bytes,
  // non-finite or oversized values, or thresholds not in (0,1) with LOW >= MEDIUM >= HIGH.
  // `what` prefixes error messages ("prompt attack model").
  static absl::StatusOr<LinearModel> Parse(ByteSpan bytes, std::string_view magic,
                                           std::string_view what);

  // Train fits one logistic regression per head with plain SGD (deterministic for a given
  // seed: Fisher-Yates over std::mt19937_64 output). labels[i][h] is 1, 0, or -1 (unknown:
  // row i does not train head h). Each head's classes are balanced by
  // options.balance_power (1: each class contributes half of that head's loss). Thresholds start at
  // `default_thresholds`. `features` are bucket indices below 2^bits.
  static LinearModel Train(const std::vector<Features>& features,
                           const std::vector<std::vector<int8_t>>& labels, int heads,
                           const TrainOptions& options,
                           std::array<float, 3> default_thresholds = {0.95f, 0.85f, 0.7f});

  // Serialize returns the bytes Parse accepts, with `magic`.
  Bytes Serialize(std::string_view magic) const;

  // Score returns P(head | features) in [0, 1].
  double Score(const Features& f, int head) const;

  // ScoreAll writes the probability of every head into out[0..heads()).
  void ScoreAll(const Features& f, double* out) const;

  // Score / ScoreAll on HashedFeatures extracted for this model's bits(): bit-identical to the
  // Features overloads on the equivalent Features (same terms added in the same order).
  double Score(const HashedFeatures& f, int head) const;
  void ScoreAll(const HashedFeatures& f, double* out) const;

  // ScoreAllShared is a.ScoreAll(fa, out_a) and b.ScoreAll(fb, out_b), bit-identical, with
  // both key lists walked in one loop (each head's terms still added in the same order), so
  // that both models' weight lookups are in flight together: the prompt-attack and content
  // models on the same text. Specialised for a one-head `a` and a five-head `b`; other shapes
  // make the two calls.
  static void ScoreAllShared(const LinearModel& a, const HashedFeatures& fa, double* out_a,
                             const LinearModel& b, const HashedFeatures& fb, double* out_b);

  // Threshold returns the score at or above which `strength` blocks for `head` (2.0 for kNone,
  // so that nothing blocks); thresholds fall as strength rises, so a lower strength blocks a
  // subset of what a higher one blocks.
  double Threshold(int head, Strength strength) const;

  // Confidence returns Bedrock's filter confidence for a score: HIGH when it reaches the LOW
  // strength's threshold, MEDIUM at MEDIUM's, LOW at HIGH's, NONE below all. A strength blocks
  // exactly the confidences at or above its own level reversed (HIGH strength blocks LOW, MEDIUM
  // and HIGH confidence; LOW strength only HIGH).
  Strength Confidence(int head, double score) const;

  // SetThresholds sets `head`'s LOW/MEDIUM/HIGH thresholds; InvalidArgument unless 1 > low >=
  // medium >= high > 0.
  absl::Status SetThresholds(int head, double low, double medium, double high);

  int bits() const { return bits_; }
  int heads() const { return heads_; }

 private:
  int bits_ = 0;
  int heads_ = 0;
  std::vector<float> bias_;
  std::vector<std::array<float, 3>> thresholds_;  // per head: LOW, MEDIUM, HIGH
  std::vector<float> weights_;                    // bucket-major
};

// HashedTextFeatures appends the hashed features of `normalised` (text already lowered, with
// single spaces and a space at each end) for a model of `bits` bits: character 3- to 5-grams,
// word unigrams and bigrams, and one feature per entry of `phrases` that occurs in the text
// (hashed with `phrase_salt`). L2-normalises what it appended. Shared by the prompt-attack and
// content models so that both hash the same way.
void HashedTextFeatures(std::string_view normalised, int bits,
                        const std::vector<std::string_view>& phrases, uint64_t phrase_salt,
                        Features* out);

// TextFeaturizer computes HashedTextFeatures(normalised, bits, phrases, phrase_salt) as
// HashedFeatures without allocating (after the buffers have grown) and finds the rule phrases
// with one Aho-Corasick pass instead of one search per phrase. Immutable after construction;
// Extract is const and thread-safe. Phrases are copied.
class TextFeaturizer {
 public:
  TextFeaturizer(const std::vector<std::string_view>& phrases, uint64_t phrase_salt);

  // Extract replaces out->keys with the features of `normalised` for a model of `bits` bits
  // (kMinBits..kMaxBits of LinearModel), in HashedTextFeatures' order, and out->phrase_found
  // with one flag per phrase.
  void Extract(std::string_view normalised, int bits, HashedFeatures* out) const;

  // ExtractFrom gives `out` exactly what Extract(normalised, bits, out) gives, reusing the
  // n-gram keys of `from`, which must hold features of the same `normalised` text extracted
  // (by any TextFeaturizer) for a model of at least `bits` bits: a key's bucket is the low bits
  // of one hash, so a smaller model's keys are the larger one's, masked. This shares the
  // n-gram hashing between the prompt-attack and content models.
  void ExtractFrom(std::string_view normalised, int bits, const HashedFeatures& from,
                   HashedFeatures* out) const;

  size_t num_phrases() const { return phrase_hash_.size(); }

 private:
  friend class TextFeaturizerPair;
  // AppendPhrases sets out->found_ and appends the phrase keys after the first `n` keys.
  void AppendPhrases(std::string_view normalised, uint32_t mask, size_t n,
                     HashedFeatures* out) const;
  // FinishPhrases turns the automaton's flags in out->found_ (set at each phrase's first copy)
  // into every phrase's flag and appends the phrase keys after the first `n` keys.
  void FinishPhrases(uint32_t mask, size_t n, HashedFeatures* out) const;

  std::vector<std::string> phrases_;

  AhoCorasick matcher_;                // unique non-empty phrases, id = index of first copy
  std::vector<uint32_t> first_copy_;   // phrase r -> index of the first equal phrase
  std::vector<uint64_t> phrase_hash_;  // mixed hash of phrase r's feature
  std::vector<uint8_t> always_;        // empty phrases occur in every text
};

// TextFeaturizerPair extracts the features of one normalised text for two featurizers with one
// n-gram pass and one Aho-Corasick pass over both phrase lists (the prompt-attack and content
// models). Immutable after construction; Extract is const and thread-safe. `a` and `b` must
// outlive it.
class TextFeaturizerPair {
 public:
  TextFeaturizerPair(const TextFeaturizer& a, const TextFeaturizer& b);

  // Extract gives *fa and *fb exactly what a.Extract(normalised, bits_a, fa) and
  // b.Extract(normalised, bits_b, fb) give.
  void Extract(std::string_view normalised, int bits_a, HashedFeatures* fa, int bits_b,
               HashedFeatures* fb) const;

 private:
  const TextFeaturizer& a_;
  const TextFeaturizer& b_;
  AhoCorasick matcher_;  // a's phrases with a's ids, b's with a.num_phrases() + b's id
};

// ToFeatures returns `f` as the Features HashedTextFeatures would have appended.
Features ToFeatures(const HashedFeatures& f);

// NormaliseForFeaturesInto is NormaliseForFeatures writing into *out (replacing it), so a
// per-thread buffer can be reused.
void NormaliseForFeaturesInto(std::string_view text, std::string* out);

// NormaliseForFeatures returns `text` with ASCII letters lowered, ASCII non-alphanumerics
// folded to one space, other bytes kept, and one space at each end.
std::string NormaliseForFeatures(std::string_view text);

// IsHeldOut returns whether a row with cluster/id `key` belongs to the held-out split
// (`percent` of keys, by a fixed hash), so train and eval agree on the split.
bool IsHeldOut(std::string_view key, int percent);

}  // namespace confide::guard

#endif  // CONFIDE_GUARD_LINEAR_MODEL_H_
