#include "guard/linear_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"

namespace confide::guard {
namespace {

constexpr size_t kFixedHeader = 4 + 4 + 4;  // magic, version, bits/heads/reserved
constexpr size_t kHeadHeader = 16;          // bias + 3 thresholds

constexpr uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

inline uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

void Emit(uint64_t h, uint32_t mask, Features* out) {
  h = Mix(h);
  out->emplace_back(static_cast<uint32_t>(h) & mask, (h >> 63) ? -1.0f : 1.0f);
}

uint32_t ReadU32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
float ReadF32(const uint8_t* p) {
  uint32_t u = ReadU32(p);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
void PutU32(Bytes* b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b->push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutF32(Bytes* b, float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  PutU32(b, u);
}

absl::Status Bad(std::string_view what, const char* why) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": ", why));
}

}  // namespace

std::string NormaliseForFeatures(std::string_view text) {
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

void HashedTextFeatures(std::string_view s, int bits, const std::vector<std::string_view>& phrases,
                        uint64_t phrase_salt, Features* out) {
  const uint32_t mask = (1u << bits) - 1;
  size_t start = out->size();
  // Character 3..5-grams.
  for (size_t i = 0; i + 3 <= s.size(); ++i) {
    uint64_t h = kFnvOffset;
    for (size_t n = 0; n < 5 && i + n < s.size(); ++n) {
      h = (h ^ static_cast<unsigned char>(s[i + n])) * kFnvPrime;
      if (n >= 2) Emit(h + n, mask, out);
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
    Emit(h ^ 0x1111, mask, out);
    if (prev) Emit(prev * 31 + h, mask, out);
    prev = h;
    i = j + 1;
  }
  // Rule features.
  for (size_t r = 0; r < phrases.size(); ++r) {
    if (s.find(phrases[r]) != std::string_view::npos) Emit(phrase_salt + r * 7919, mask, out);
  }
  size_t n = out->size() - start;
  if (n == 0) return;
  float v = 1.0f / std::sqrt(static_cast<float>(n));
  for (size_t k = start; k < out->size(); ++k) (*out)[k].second *= v;
}

absl::StatusOr<LinearModel> LinearModel::Parse(ByteSpan bytes, std::string_view magic,
                                               std::string_view what) {
  if (bytes.size() < kFixedHeader + kHeadHeader) return Bad(what, "short");
  const uint8_t* p = bytes.data();
  if (magic.size() != 4 || std::memcmp(p, magic.data(), 4) != 0) return Bad(what, "bad magic");
  if (ReadU32(p + 4) != kVersion) return Bad(what, "unsupported version");
  int bits = p[8];
  int heads = p[9] + 1;
  if (bits < kMinBits || bits > kMaxBits || p[10] || p[11]) return Bad(what, "bad bits field");
  if (heads > kMaxHeads) return Bad(what, "too many heads");
  size_t n = size_t{1} << bits;
  size_t header = kFixedHeader + kHeadHeader * heads;
  if (bytes.size() != header + 4 * n * heads) return Bad(what, "length does not match bits");
  LinearModel m;
  m.bits_ = bits;
  m.heads_ = heads;
  m.bias_.resize(heads);
  m.thresholds_.resize(heads);
  for (int h = 0; h < heads; ++h) {
    const uint8_t* q = p + kFixedHeader + kHeadHeader * h;
    m.bias_[h] = ReadF32(q);
    if (!std::isfinite(m.bias_[h]) || std::fabs(m.bias_[h]) > kMaxAbsWeight) {
      return Bad(what, "bad bias");
    }
    absl::Status s = m.SetThresholds(h, ReadF32(q + 4), ReadF32(q + 8), ReadF32(q + 12));
    if (!s.ok()) return Bad(what, "thresholds must satisfy 1 > LOW >= MEDIUM >= HIGH > 0");
  }
  m.weights_.resize(n * heads);
  for (size_t i = 0; i < n * heads; ++i) {
    float w = ReadF32(p + header + 4 * i);
    if (!std::isfinite(w) || std::fabs(w) > kMaxAbsWeight) return Bad(what, "bad weight");
    m.weights_[i] = w;
  }
  return m;
}

absl::Status LinearModel::SetThresholds(int head, double low, double medium, double high) {
  if (head < 0 || head >= heads_) return absl::InvalidArgumentError("linear model: no such head");
  if (!(low < 1.0 && low >= medium && medium >= high && high > 0.0)) {
    return absl::InvalidArgumentError(
        "linear model: thresholds must satisfy 1 > LOW >= MEDIUM >= HIGH > 0");
  }
  thresholds_[head] = {static_cast<float>(low), static_cast<float>(medium),
                       static_cast<float>(high)};
  return absl::OkStatus();
}

Bytes LinearModel::Serialize(std::string_view magic) const {
  Bytes b(magic.begin(), magic.end());
  b.resize(4, 0);
  PutU32(&b, kVersion);
  b.push_back(static_cast<uint8_t>(bits_));
  b.push_back(static_cast<uint8_t>(heads_ - 1));
  b.insert(b.end(), 2, 0);
  for (int h = 0; h < heads_; ++h) {
    PutF32(&b, bias_[h]);
    for (float t : thresholds_[h]) PutF32(&b, t);
  }
  for (float w : weights_) PutF32(&b, w);
  return b;
}

double LinearModel::Score(const Features& f, int head) const {
  double z = bias_[head];
  for (const auto& [i, v] : f) z += double(weights_[size_t(i) * heads_ + head]) * v;
  return 1.0 / (1.0 + std::exp(-z));
}

void LinearModel::ScoreAll(const Features& f, double* out) const {
  double z[kMaxHeads];
  for (int h = 0; h < heads_; ++h) z[h] = bias_[h];
  for (const auto& [i, v] : f) {
    const float* w = &weights_[size_t(i) * heads_];
    for (int h = 0; h < heads_; ++h) z[h] += double(w[h]) * v;
  }
  for (int h = 0; h < heads_; ++h) out[h] = 1.0 / (1.0 + std::exp(-z[h]));
}

double LinearModel::Threshold(int head, Strength strength) const {
  switch (strength) {
    case Strength::kLow:
      return thresholds_[head][0];
    case Strength::kMedium:
      return thresholds_[head][1];
    case Strength::kHigh:
      return thresholds_[head][2];
    case Strength::kNone:
      break;
  }
  return 2.0;
}

Strength LinearModel::Confidence(int head, double score) const {
  if (score >= thresholds_[head][0]) return Strength::kHigh;
  if (score >= thresholds_[head][1]) return Strength::kMedium;
  if (score >= thresholds_[head][2]) return Strength::kLow;
  return Strength::kNone;
}

LinearModel LinearModel::Train(const std::vector<Features>& feats,
                               const std::vector<std::vector<int8_t>>& labels, int heads,
                               const TrainOptions& o, std::array<float, 3> default_thresholds) {
  LinearModel m;
  m.bits_ = std::clamp(o.bits, kMinBits, kMaxBits);
  m.heads_ = std::clamp(heads, 1, kMaxHeads);
  const int H = m.heads_;
  m.bias_.assign(H, 0.0f);
  m.thresholds_.assign(H, default_thresholds);
  m.weights_.assign((size_t{1} << m.bits_) * H, 0.0f);
  const size_t rows = std::min(feats.size(), labels.size());
  // Balance each head's classes: each contributes half of that head's loss.
  std::vector<double> wpos(H, 1.0), wneg(H, 1.0);
  for (int h = 0; h < H; ++h) {
    size_t pos = 0, neg = 0;
    for (size_t r = 0; r < rows; ++r) {
      int8_t y = h < int(labels[r].size()) ? labels[r][h] : -1;
      pos += y == 1;
      neg += y == 0;
    }
    double total = double(pos + neg);
    if (pos) wpos[h] = 0.5 * total / pos;
    if (neg) wneg[h] = 0.5 * total / neg;
    if (o.balance_power != 1.0) {
      wpos[h] = std::pow(wpos[h], o.balance_power);
      wneg[h] = std::pow(wneg[h], o.balance_power);
    }
  }
  std::vector<size_t> order(rows);
  for (size_t i = 0; i < rows; ++i) order[i] = i;
  std::mt19937_64 rng(o.seed);
  std::vector<double> w(m.weights_.size(), 0.0);
  std::vector<double> bias(H, 0.0);
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    // Fisher-Yates with the raw generator output (std::shuffle is implementation-defined).
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
    double lr = o.learning_rate / std::sqrt(1.0 + epoch);
    for (size_t idx : order) {
      const auto& f = feats[idx];
      for (int h = 0; h < H; ++h) {
        int8_t y = h < int(labels[idx].size()) ? labels[idx][h] : -1;
        if (y != 0 && y != 1) continue;
        double z = bias[h];
        for (const auto& [i, v] : f) z += w[size_t(i) * H + h] * v;
        double p = 1.0 / (1.0 + std::exp(-z));
        double g = (p - y) * (y ? wpos[h] : wneg[h]);
        for (const auto& [i, v] : f) {
          double& wi = w[size_t(i) * H + h];
          wi -= lr * (g * v + o.l2 * wi);
        }
        bias[h] -= lr * g * 0.1;
      }
    }
  }
  const double cap = kMaxAbsWeight;
  for (size_t i = 0; i < w.size(); ++i) {
    m.weights_[i] = static_cast<float>(std::clamp(w[i], -cap, cap));
  }
  for (int h = 0; h < H; ++h) m.bias_[h] = static_cast<float>(std::clamp(bias[h], -cap, cap));
  return m;
}

bool IsHeldOut(std::string_view key, int percent) {
  uint64_t h = kFnvOffset;
  for (unsigned char c : key) h = (h ^ c) * kFnvPrime;
  return static_cast<int>(Mix(h) % 100) < percent;
}

}  // namespace confide::guard
