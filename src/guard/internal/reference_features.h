// confide::guard::internal reference feature extraction: the straightforward code that
// linear_model.cc's TextFeaturizer replaces (one substring search per phrase, a vector of
// (index, value) pairs per text). Kept only for tests and benchmarks, which assert that the fast
// path computes bit-identical features and scores. Do not change it: it defines the features
// the shipped models were trained on.
#ifndef CONFIDE_GUARD_INTERNAL_REFERENCE_FEATURES_H_
#define CONFIDE_GUARD_INTERNAL_REFERENCE_FEATURES_H_

#include <cctype>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "guard/linear_model.h"

namespace confide::guard::internal {

inline uint64_t ReferenceMix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

inline void ReferenceEmit(uint64_t h, uint32_t mask, Features* out) {
  h = ReferenceMix(h);
  out->emplace_back(static_cast<uint32_t>(h) & mask, (h >> 63) ? -1.0f : 1.0f);
}

// ReferenceNormaliseForFeatures is NormaliseForFeatures as first written.
inline std::string ReferenceNormaliseForFeatures(std::string_view text) {
  std::string s;
  s.reserve(text.size() + 2);
  s.push_back(' ');
  for (unsigned char c : text) {
    if (c >= 0x80 || std::isalnum(c)) {
      s.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    } else if (s.back() != ' ') {
      s.push_back(' ');
    }
  }
  if (s.back() != ' ') s.push_back(' ');
  return s;
}

// ReferenceHashedTextFeatures is HashedTextFeatures as first written.
inline void ReferenceHashedTextFeatures(std::string_view s, int bits,
                                        const std::vector<std::string_view>& phrases,
                                        uint64_t phrase_salt, Features* out) {
  constexpr uint64_t kFnvOffset = 1469598103934665603ULL;
  constexpr uint64_t kFnvPrime = 1099511628211ULL;
  const uint32_t mask = (1u << bits) - 1;
  size_t start = out->size();
  // Character 3..5-grams.
  for (size_t i = 0; i + 3 <= s.size(); ++i) {
    uint64_t h = kFnvOffset;
    for (size_t n = 0; n < 5 && i + n < s.size(); ++n) {
      h = (h ^ static_cast<unsigned char>(s[i + n])) * kFnvPrime;
      if (n >= 2) ReferenceEmit(h + n, mask, out);
    }
  }
  // Word unigrams and bigrams.
  uint64_t prev = 0;
  size_t i = 1;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string_view::npos || j == i) break;
    uint64_t h = kFnvOffset ^ 0x5757;
    for (size_t k = i; k < j; ++k) h = (h ^ static_cast<unsigned char>(s[k])) * kFnvPrime;
    ReferenceEmit(h ^ 0x1111, mask, out);
    if (prev) ReferenceEmit(prev * 31 + h, mask, out);
    prev = h;
    i = j + 1;
  }
  // Rule features.
  for (size_t r = 0; r < phrases.size(); ++r) {
    if (s.find(phrases[r]) != std::string_view::npos) {
      ReferenceEmit(phrase_salt + r * 7919, mask, out);
    }
  }
  size_t n = out->size() - start;
  if (n == 0) return;
  float v = 1.0f / std::sqrt(static_cast<float>(n));
  for (size_t k = start; k < out->size(); ++k) (*out)[k].second *= v;
}

}  // namespace confide::guard::internal

#endif  // CONFIDE_GUARD_INTERNAL_REFERENCE_FEATURES_H_
