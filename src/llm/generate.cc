#include "llm/generate.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace confide::llm {

int ArgMax(std::span<const float> logits) {
  if (logits.empty()) return -1;
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int>(best);
}

absl::StatusOr<std::vector<int>> GenerateGreedy(Model& model, std::span<const int> prompt,
                                                const GenerateOptions& options,
                                                const TokenCallback& on_token) {
  return Generate(model, prompt, options, nullptr, on_token);
}

absl::StatusOr<std::vector<int>> Generate(Model& model, std::span<const int> prompt,
                                          const GenerateOptions& options, Sampler* sampler,
                                          const TokenCallback& on_token) {
  const Config& c = model.config();
  if (prompt.empty()) return absl::InvalidArgumentError("generate: the prompt is empty");
  if (prompt.size() >= c.context_length) {
    return absl::InvalidArgumentError(absl::StrCat("generate: prompt of ", prompt.size(),
                                                   " tokens does not fit the context of ",
                                                   c.context_length));
  }
  std::vector<int> stops = options.stop_tokens;
  if (stops.empty()) {
    if (c.eos_token >= 0) stops.push_back(c.eos_token);
    if (c.eot_token >= 0) stops.push_back(c.eot_token);
  }
  // The prompt runs as a matrix (same logits as token by token, faster).
  std::span<const float> logits;
  ASSIGN_OR_RETURN(logits, model.ForwardBatch(prompt, 0));
  size_t pos = prompt.size();
  if (options.step0_logits != nullptr) options.step0_logits->assign(logits.begin(), logits.end());

  std::vector<int> out;
  out.reserve(options.max_new_tokens);
  while (out.size() < options.max_new_tokens) {
    const int next = sampler != nullptr ? sampler->Sample(logits) : ArgMax(logits);
    if (std::find(stops.begin(), stops.end(), next) != stops.end()) break;
    out.push_back(next);
    if (on_token && !on_token(next)) break;
    if (pos >= c.context_length) break;
    ASSIGN_OR_RETURN(logits, model.Forward(next, pos));
    ++pos;
  }
  return out;
}

}  // namespace confide::llm
