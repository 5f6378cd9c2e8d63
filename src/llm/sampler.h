// confide::llm sampling: choosing the next token from logits with temperature, top-k, top-p
// (nucleus) and min-p, from a seeded generator, so that a fixed seed reproduces a generation
// on any machine (the generator and the uniform draw are implemented here, not taken from
// <random>, whose distributions differ between standard libraries).
#ifndef CONFIDE_LLM_SAMPLER_H_
#define CONFIDE_LLM_SAMPLER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "base/status.h"

namespace confide::llm {

// SamplerOptions choose the distribution a token is drawn from. The order is OpenAI's:
// logits / temperature, softmax, then top_k, top_p and min_p cut the candidates, which are
// renormalised before the draw.
struct SamplerOptions {
  // temperature divides the logits; 0 is greedy (ArgMax, every other option ignored).
  float temperature = 1.0f;
  // top_k keeps the k most likely tokens; 0 keeps all.
  size_t top_k = 0;
  // top_p keeps the smallest set of most likely tokens whose probability reaches top_p; 1 keeps
  // all.
  float top_p = 1.0f;
  // min_p drops tokens whose probability is below min_p times the most likely one's; 0 keeps
  // all.
  float min_p = 0.0f;
  // seed starts the generator.
  uint64_t seed = 0;
};

// ValidateSamplerOptions returns InvalidArgument naming the field when temperature is not in
// [0, 2] (OpenAI's range), top_p not in (0, 1], min_p not in [0, 1), or a value is NaN.
absl::Status ValidateSamplerOptions(const SamplerOptions& options);

// Sampler draws tokens. Deterministic: the same options (seed included) and the same logits
// give the same tokens. Not thread-safe (one per generation).
class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options);

  // Sample returns the chosen token index, or -1 if `logits` is empty. Ties between equal
  // probabilities are ordered by index. Logits that are NaN are never chosen (unless all are).
  int Sample(std::span<const float> logits);

  // Candidates returns the (index, probability) pairs Sample would draw from for `logits`,
  // most likely first, probabilities renormalised to sum to 1 (for tests and tools). Greedy
  // (temperature 0) gives the argmax alone with probability 1.
  std::vector<std::pair<int, float>> Candidates(std::span<const float> logits) const;

  // NextUniform returns the next draw of the generator in [0, 1) (53 bits).
  double NextUniform();

 private:
  SamplerOptions options_;
  uint64_t state_[4];
};

}  // namespace confide::llm

#endif  // CONFIDE_LLM_SAMPLER_H_
