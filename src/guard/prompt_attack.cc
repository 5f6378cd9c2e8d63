#include "guard/prompt_attack.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "base/cursor.h"
#include "base/file.h"
#include "nlohmann/json.hpp"

namespace confide::guard {

// Built from src/guard/data/prompt_attack_model.bin by src/guard/CMakeLists.txt.
extern const unsigned char kPromptAttackModelData[];
extern const size_t kPromptAttackModelSize;

namespace {

constexpr char kMagic[4] = {'C', 'F', 'P', 'A'};
constexpr size_t kHeaderSize = 4 + 4 + 4 + 4 + 12;

constexpr uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

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

inline uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Normalise: ASCII letters lowered, ASCII non-alphanumerics become one space, other bytes kept;
// padded with a space at each end.
std::string Normalise(std::string_view text) {
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

void Emit(uint64_t h, uint32_t mask, std::vector<std::pair<uint32_t, float>>* out) {
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

}  // namespace

void PromptAttackFeatures(std::string_view text, int bits,
                          std::vector<std::pair<uint32_t, float>>* out) {
  const uint32_t mask = (1u << bits) - 1;
  size_t start = out->size();
  std::string s = Normalise(text);
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
    if (j == std::string::npos || j == i) break;
    uint64_t h = kFnvOffset ^ 0x5757;
    for (size_t k = i; k < j; ++k) h = (h ^ static_cast<unsigned char>(s[k])) * kFnvPrime;
    Emit(h ^ 0x1111, mask, out);
    if (prev) Emit(prev * 31 + h, mask, out);
    prev = h;
    i = j + 1;
  }
  // Rule features.
  for (size_t r = 0; r < std::size(kRulePhrases); ++r) {
    if (s.find(kRulePhrases[r]) != std::string::npos) Emit(0x52554c45ULL + r * 7919, mask, out);
  }
  size_t n = out->size() - start;
  if (n == 0) return;
  float v = 1.0f / std::sqrt(static_cast<float>(n));
  for (size_t k = start; k < out->size(); ++k) (*out)[k].second *= v;
}

absl::StatusOr<PromptAttackModel> PromptAttackModel::Parse(ByteSpan bytes) {
  if (bytes.size() < kHeaderSize) return absl::InvalidArgumentError("prompt attack model: short");
  const uint8_t* p = bytes.data();
  if (std::memcmp(p, kMagic, 4) != 0) {
    return absl::InvalidArgumentError("prompt attack model: bad magic");
  }
  if (ReadU32(p + 4) != kVersion) {
    return absl::InvalidArgumentError("prompt attack model: unsupported version");
  }
  int bits = p[8];
  if (bits < kMinBits || bits > kMaxBits || p[9] || p[10] || p[11]) {
    return absl::InvalidArgumentError("prompt attack model: bad bits field");
  }
  size_t n = size_t{1} << bits;
  if (bytes.size() != kHeaderSize + 4 * n) {
    return absl::InvalidArgumentError("prompt attack model: length does not match bits");
  }
  PromptAttackModel m;
  m.bits_ = bits;
  m.bias_ = ReadF32(p + 12);
  if (!std::isfinite(m.bias_) || std::fabs(m.bias_) > kMaxAbsWeight) {
    return absl::InvalidArgumentError("prompt attack model: bad bias");
  }
  RETURN_IF_ERROR(m.SetThresholds(ReadF32(p + 16), ReadF32(p + 20), ReadF32(p + 24)));
  m.weights_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    float w = ReadF32(p + kHeaderSize + 4 * i);
    if (!std::isfinite(w) || std::fabs(w) > kMaxAbsWeight) {
      return absl::InvalidArgumentError("prompt attack model: bad weight");
    }
    m.weights_[i] = w;
  }
  return m;
}

absl::Status PromptAttackModel::SetThresholds(double low, double medium, double high) {
  if (!(low < 1.0 && low >= medium && medium >= high && high > 0.0)) {
    return absl::InvalidArgumentError(
        "prompt attack model: thresholds must satisfy 1 > LOW >= MEDIUM >= HIGH > 0");
  }
  thresholds_[0] = static_cast<float>(low);
  thresholds_[1] = static_cast<float>(medium);
  thresholds_[2] = static_cast<float>(high);
  return absl::OkStatus();
}

Bytes PromptAttackModel::Serialize() const {
  Bytes b(kMagic, kMagic + 4);
  PutU32(&b, kVersion);
  b.push_back(static_cast<uint8_t>(bits_));
  b.insert(b.end(), 3, 0);
  PutF32(&b, bias_);
  for (float t : thresholds_) PutF32(&b, t);
  for (float w : weights_) PutF32(&b, w);
  return b;
}

const PromptAttackModel* PromptAttackModel::Default() {
  static const PromptAttackModel* model = []() -> const PromptAttackModel* {
    auto m = Parse(ByteSpan(kPromptAttackModelData, kPromptAttackModelSize));
    if (!m.ok()) return nullptr;
    return new PromptAttackModel(std::move(*m));
  }();
  return model;
}

double PromptAttackModel::Score(std::string_view text) const {
  thread_local std::vector<std::pair<uint32_t, float>> f;
  f.clear();
  PromptAttackFeatures(text, bits_, &f);
  double z = bias_;
  for (const auto& [i, v] : f) z += double(weights_[i]) * v;
  return 1.0 / (1.0 + std::exp(-z));
}

double PromptAttackModel::Threshold(Strength strength) const {
  switch (strength) {
    case Strength::kLow:
      return thresholds_[0];
    case Strength::kMedium:
      return thresholds_[1];
    case Strength::kHigh:
      return thresholds_[2];
    case Strength::kNone:
      break;
  }
  return 2.0;
}

PromptAttackModel PromptAttackModel::Train(const std::vector<AttackExample>& examples,
                                           const TrainOptions& o) {
  PromptAttackModel m;
  m.bits_ = std::clamp(o.bits, kMinBits, kMaxBits);
  m.weights_.assign(size_t{1} << m.bits_, 0.0f);
  std::vector<std::vector<std::pair<uint32_t, float>>> feats(examples.size());
  int pos = 0;
  for (size_t i = 0; i < examples.size(); ++i) {
    PromptAttackFeatures(examples[i].text, m.bits_, &feats[i]);
    pos += examples[i].label == 1;
  }
  int neg = static_cast<int>(examples.size()) - pos;
  // Balance the classes: each contributes half of the loss.
  double wpos = pos ? 0.5 * examples.size() / pos : 1, wneg = neg ? 0.5 * examples.size() / neg : 1;
  std::vector<size_t> order(examples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 rng(o.seed);
  std::vector<double> w(m.weights_.size(), 0.0);
  double bias = 0;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    // Fisher-Yates with the raw generator output (std::shuffle is implementation-defined).
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
    double lr = o.learning_rate / std::sqrt(1.0 + epoch);
    for (size_t idx : order) {
      const auto& f = feats[idx];
      double z = bias;
      for (const auto& [i, v] : f) z += w[i] * v;
      double p = 1.0 / (1.0 + std::exp(-z));
      int y = examples[idx].label == 1;
      double g = (p - y) * (y ? wpos : wneg);
      for (const auto& [i, v] : f) w[i] -= lr * (g * v + o.l2 * w[i]);
      bias -= lr * g * 0.1;
    }
  }
  for (size_t i = 0; i < w.size(); ++i) {
    m.weights_[i] =
        static_cast<float>(std::clamp(w[i], -double(kMaxAbsWeight), double(kMaxAbsWeight)));
  }
  m.bias_ = static_cast<float>(std::clamp(bias, -double(kMaxAbsWeight), double(kMaxAbsWeight)));
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

bool IsHeldOut(std::string_view key, int percent) {
  uint64_t h = kFnvOffset;
  for (unsigned char c : key) h = (h ^ c) * kFnvPrime;
  return static_cast<int>(Mix(h) % 100) < percent;
}

}  // namespace confide::guard
