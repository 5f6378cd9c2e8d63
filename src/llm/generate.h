// confide::llm generation: greedy sampling and the token loop with a streaming callback.
#ifndef CONFIDE_LLM_GENERATE_H_
#define CONFIDE_LLM_GENERATE_H_

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include "base/status.h"
#include "llm/model.h"
#include "llm/sampler.h"

namespace confide::llm {

// ArgMax returns the index of the largest logit (the first one on ties), or -1 if empty.
int ArgMax(std::span<const float> logits);

// TokenCallback receives each generated token as it is produced; returning false stops the
// generation after that token.
using TokenCallback = std::function<bool(int token)>;

// GenerateOptions bounds a generation.
struct GenerateOptions {
  size_t max_new_tokens = 256;
  // stop_tokens end the generation when produced (not emitted). Empty: the model's EOS and EOT.
  std::vector<int> stop_tokens;
  // step0_logits, when set, receives a copy of the logits after the prompt (for tests/tools).
  std::vector<float>* step0_logits = nullptr;
};

// GenerateGreedy runs `prompt` (token ids, BOS included if wanted) through `model` from position
// 0 and then appends the argmax token until max_new_tokens, a stop token, the end of the
// context, or the callback returns false. Returns the generated ids (prompt excluded).
// InvalidArgument for an empty prompt, an out-of-range id, or a prompt longer than the context.
absl::StatusOr<std::vector<int>> GenerateGreedy(Model& model, std::span<const int> prompt,
                                                const GenerateOptions& options,
                                                const TokenCallback& on_token = nullptr);

// Generate is GenerateGreedy with `sampler` choosing each next token (nullptr: the argmax).
// Same failures.
absl::StatusOr<std::vector<int>> Generate(Model& model, std::span<const int> prompt,
                                          const GenerateOptions& options, Sampler* sampler,
                                          const TokenCallback& on_token = nullptr);

}  // namespace confide::llm

#endif  // CONFIDE_LLM_GENERATE_H_
