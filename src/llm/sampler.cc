#include "llm/sampler.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "llm/generate.h"

namespace confide::llm {
namespace {

// SplitMix64 expands the seed into the generator state (Vigna's recommended seeding).
uint64_t SplitMix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

absl::Status ValidateSamplerOptions(const SamplerOptions& o) {
  if (!(o.temperature >= 0.0f && o.temperature <= 2.0f)) {
    return absl::InvalidArgumentError("sampler: temperature must be in [0, 2]");
  }
  if (!(o.top_p > 0.0f && o.top_p <= 1.0f)) {
    return absl::InvalidArgumentError("sampler: top_p must be in (0, 1]");
  }
  if (!(o.min_p >= 0.0f && o.min_p < 1.0f)) {
    return absl::InvalidArgumentError("sampler: min_p must be in [0, 1)");
  }
  return absl::OkStatus();
}

Sampler::Sampler(const SamplerOptions& options) : options_(options) {
  uint64_t x = options.seed;
  for (uint64_t& s : state_) s = SplitMix64(x);
}

double Sampler::NextUniform() {
  // xoshiro256** 1.0 (Blackman and Vigna).
  const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = Rotl(state_[3], 45);
  return static_cast<double>(result >> 11) * 0x1.0p-53;
}

std::vector<std::pair<int, float>> Sampler::Candidates(std::span<const float> logits) const {
  std::vector<std::pair<int, float>> c;
  if (logits.empty()) return c;
  if (options_.temperature <= 0.0f) {
    c.emplace_back(ArgMax(logits), 1.0f);
    return c;
  }
  // Softmax of logits / temperature over the finite logits, in double for the sums.
  float max_logit = -INFINITY;
  for (float l : logits) {
    if (!std::isnan(l)) max_logit = std::max(max_logit, l);
  }
  if (!std::isfinite(max_logit)) {
    // Everything NaN or -inf (or a +inf): fall back to the argmax.
    c.emplace_back(ArgMax(logits), 1.0f);
    return c;
  }
  const double inv_t = 1.0 / static_cast<double>(options_.temperature);
  std::vector<std::pair<int, double>> p;
  p.reserve(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (std::isnan(logits[i])) continue;
    const double e = std::exp((static_cast<double>(logits[i]) - max_logit) * inv_t);
    if (e <= 0) continue;
    p.emplace_back(static_cast<int>(i), e);
    sum += e;
  }
  auto more_likely = [](const auto& a, const auto& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  };
  size_t keep = p.size();
  if (options_.top_k > 0 && options_.top_k < keep) {
    keep = options_.top_k;
    std::partial_sort(p.begin(), p.begin() + static_cast<ptrdiff_t>(keep), p.end(), more_likely);
    p.resize(keep);
  } else {
    std::sort(p.begin(), p.end(), more_likely);
  }
  if (options_.top_p < 1.0f) {
    double cum = 0;
    size_t n = 0;
    while (n < p.size()) {
      cum += p[n].second / sum;
      ++n;
      if (cum >= options_.top_p) break;
    }
    p.resize(n);
  }
  if (options_.min_p > 0.0f && !p.empty()) {
    const double floor = p.front().second * options_.min_p;
    size_t n = 0;
    while (n < p.size() && p[n].second >= floor) ++n;
    p.resize(std::max<size_t>(n, 1));
  }
  double kept = 0;
  for (const auto& e : p) kept += e.second;
  c.reserve(p.size());
  for (const auto& e : p) c.emplace_back(e.first, static_cast<float>(e.second / kept));
  return c;
}

int Sampler::Sample(std::span<const float> logits) {
  if (logits.empty()) return -1;
  if (options_.temperature <= 0.0f) return ArgMax(logits);
  const std::vector<std::pair<int, float>> c = Candidates(logits);
  const double u = NextUniform();
  double cum = 0;
  for (const auto& [id, prob] : c) {
    cum += prob;
    if (u < cum) return id;
  }
  return c.back().first;  // rounding left u above the last cumulative sum
}

}  // namespace confide::llm
