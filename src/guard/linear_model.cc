#include "guard/linear_model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <random>

#if defined(__x86_64__)
// GCC 12 reports maybe-uninitialized inside the AVX-512 intrinsics (their undefined sources).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

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

// KeyOf returns the HashedFeatures key of a feature whose mixed hash is `m`: the low bits as
// the bucket, the top bit as the sign (set: -1).
inline uint32_t KeyOf(uint64_t m, uint32_t mask) {
  return (static_cast<uint32_t>(m) & mask) | (static_cast<uint32_t>(m >> 63) << 31);
}
inline uint32_t Key(uint64_t h, uint32_t mask) { return KeyOf(Mix(h), mask); }

inline uint64_t Fnv(uint64_t h, unsigned char c) { return (h ^ c) * kFnvPrime; }

// MaxNgramKeys bounds what NgramKeys writes for `len` bytes: at most three character n-grams
// per position; a word takes at least one byte and the space after it, so at most len / 2 + 1
// words and as many bigrams.
inline size_t MaxNgramKeys(size_t len) { return 3 * len + 2 * (len / 2 + 1); }

#if defined(__x86_64__)
#define CONFIDE_GUARD_AVX512 __attribute__((target("avx512f,avx512dq")))

// The zero-masked forms of shifts and conversions: GCC 12 warns (maybe-uninitialized) about
// the undefined source of the plain ones.
CONFIDE_GUARD_AVX512 inline __m512i Shr(__m512i h, unsigned n) {
  return _mm512_maskz_srli_epi64(0xFF, h, n);
}

CONFIDE_GUARD_AVX512 inline __m512i Fnv8(__m512i h, __m512i c) {
  return _mm512_mullo_epi64(_mm512_xor_si512(h, c), _mm512_set1_epi64(int64_t(kFnvPrime)));
}

CONFIDE_GUARD_AVX512 inline __m512i Mix8(__m512i h) {
  h = _mm512_xor_si512(h, Shr(h, 33));
  h = _mm512_mullo_epi64(h, _mm512_set1_epi64(int64_t(0xff51afd7ed558ccdULL)));
  h = _mm512_xor_si512(h, Shr(h, 33));
  h = _mm512_mullo_epi64(h, _mm512_set1_epi64(int64_t(0xc4ceb9fe1a85ec53ULL)));
  return _mm512_xor_si512(h, Shr(h, 33));
}

// Bytes8 returns q[0..8) zero-extended to eight 64-bit lanes.
CONFIDE_GUARD_AVX512 inline __m512i Bytes8(const unsigned char* q) {
  return _mm512_maskz_cvtepu8_epi64(0xFF, _mm_loadl_epi64(reinterpret_cast<const __m128i*>(q)));
}

// Key8 is KeyOf(Mix(h + add), mask) in each lane: (m & mask) | (top bit of m at bit 31).
CONFIDE_GUARD_AVX512 inline __m512i Key8(__m512i h, int64_t add, __m512i mask) {
  __m512i m = Mix8(_mm512_add_epi64(h, _mm512_set1_epi64(add)));
  __m512i sign = _mm512_and_si512(Shr(m, 32), _mm512_set1_epi64(0x80000000LL));
  return _mm512_or_si512(_mm512_and_si512(m, mask), sign);
}

// CharGramKeysAvx512 writes the keys of the 3-, 4- and 5-grams at positions 0, 1, ... in eight
// positions at a time (the same integer arithmetic as NgramKeys' scalar loop, so the same
// keys in the same order) while 12 bytes are left; returns the next position.
CONFIDE_GUARD_AVX512 size_t CharGramKeysAvx512(const unsigned char* p, size_t n, uint32_t mask,
                                               uint32_t* o) {
  const __m512i maskv = _mm512_set1_epi64(int64_t(mask));
  const __m512i offset = _mm512_set1_epi64(int64_t(kFnvOffset));
  // Output t of 24 takes position t / 3, gram size 3 + t % 3: from a = [k3 | k4], b = [k5].
  alignas(64) static constexpr int32_t kLo[16] = {0,  8, 16, 1,  9, 17, 2,  10,
                                                  18, 3, 11, 19, 4, 12, 20, 5};
  alignas(64) static constexpr int32_t kHi[16] = {13, 21, 6, 14, 22, 7, 15, 23,
                                                  0,  0,  0, 0,  0,  0, 0,  0};
  const __m512i lo_idx = _mm512_load_si512(kLo);
  const __m512i hi_idx = _mm512_load_si512(kHi);
  size_t i = 0;
  for (; i + 12 <= n; i += 8) {
    __m512i h = Fnv8(Fnv8(Fnv8(offset, Bytes8(p + i)), Bytes8(p + i + 1)), Bytes8(p + i + 2));
    __m256i k3 = _mm512_maskz_cvtepi64_epi32(0xFF, Key8(h, 2, maskv));
    h = Fnv8(h, Bytes8(p + i + 3));
    __m256i k4 = _mm512_maskz_cvtepi64_epi32(0xFF, Key8(h, 3, maskv));
    h = Fnv8(h, Bytes8(p + i + 4));
    __m256i k5 = _mm512_maskz_cvtepi64_epi32(0xFF, Key8(h, 4, maskv));
    __m512i a = _mm512_inserti64x4(_mm512_castsi256_si512(k3), k4, 1);
    __m512i b = _mm512_castsi256_si512(k5);
    _mm512_storeu_si512(o, _mm512_permutex2var_epi32(a, lo_idx, b));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 16),
                        _mm512_castsi512_si256(_mm512_permutex2var_epi32(a, hi_idx, b)));
    o += 24;
  }
  return i;
}

bool HaveAvx512() {
  static const bool have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  return have;
}
#endif

// NgramKeys writes the keys of the character 3..5-grams and then the word unigrams and bigrams
// of `s` to out (room for MaxNgramKeys(s.size())), in HashedTextFeatures' order; returns how
// many. One pass per part, no substrings: each gram's FNV-1a hash extends the previous one.
size_t NgramKeys(std::string_view s, uint32_t mask, uint32_t* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  uint32_t* o = out;
  size_t i = 0;
#if defined(__x86_64__)
  if (n >= 12 && HaveAvx512()) {
    i = CharGramKeysAvx512(p, n, mask, o);
    o += 3 * i;
  }
#endif
  // Character 3..5-grams: the hash of the n-gram at i is FNV-1a over s[i..i+n), plus n - 1.
  for (; i + 5 <= n; ++i) {
    uint64_t h = Fnv(Fnv(Fnv(kFnvOffset, p[i]), p[i + 1]), p[i + 2]);
    o[0] = Key(h + 2, mask);
    h = Fnv(h, p[i + 3]);
    o[1] = Key(h + 3, mask);
    h = Fnv(h, p[i + 4]);
    o[2] = Key(h + 4, mask);
    o += 3;
  }
  for (; i + 3 <= n; ++i) {
    uint64_t h = kFnvOffset;
    for (size_t k = 0; k < 5 && i + k < n; ++k) {
      h = Fnv(h, p[i + k]);
      if (k >= 2) *o++ = Key(h + k, mask);
    }
  }
  // Word unigrams and bigrams: words are the runs between single spaces after the first byte;
  // stop at the first empty run or a run with no space after it.
  uint64_t prev = 0;
  i = 1;
  while (i < n) {
    const void* sp = std::memchr(p + i, ' ', n - i);
    if (sp == nullptr) break;
    size_t j = static_cast<size_t>(static_cast<const unsigned char*>(sp) - p);
    if (j == i) break;
    uint64_t h = kFnvOffset ^ 0x5757;
    for (size_t k = i; k < j; ++k) h = Fnv(h, p[k]);
    *o++ = Key(h ^ 0x1111, mask);
    if (prev) *o++ = Key(prev * 31 + h, mask);
    prev = h;
    i = j + 1;
  }
  return static_cast<size_t>(o - out);
}

// IsFeatureByte is std::isalnum in the "C" locale, or any byte >= 0x80.
constexpr std::array<bool, 256> kFeatureByte = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }
  return t;
}();

// kFolded maps a byte to what NormaliseForFeatures writes for it: ASCII letters lowered,
// other feature bytes kept, every other byte a space.
constexpr std::array<char, 256> kFolded = [] {
  std::array<char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = !kFeatureByte[c] ? ' ' : static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  return t;
}();

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

void NormaliseForFeaturesInto(std::string_view text, std::string* out) {
  // Write into a buffer sized for the worst case, then cut: no per-byte capacity checks.
  out->resize(text.size() + 2);
  char* d = out->data();
  size_t k = 0;
  d[k++] = ' ';
  // Branch-free: every byte writes its folded form (a space for a separator) and advances
  // unless it is a separator after a space. `space` is whether d[k - 1] is a space.
  bool space = true;
  for (unsigned char c : text) {
    const char folded = kFolded[c];
    const bool sep = folded == ' ';
    d[k] = folded;
    k += static_cast<size_t>(!(sep && space));
    space = sep;
  }
  if (!space) d[k++] = ' ';
  out->resize(k);
}

std::string NormaliseForFeatures(std::string_view text) {
  std::string s;
  NormaliseForFeaturesInto(text, &s);
  return s;
}

void HashedTextFeatures(std::string_view s, int bits, const std::vector<std::string_view>& phrases,
                        uint64_t phrase_salt, Features* out) {
  const uint32_t mask = (1u << bits) - 1;
  std::vector<uint32_t> keys(MaxNgramKeys(s.size()) + phrases.size());
  size_t n = NgramKeys(s, mask, keys.data());
  // Rule features.
  for (size_t r = 0; r < phrases.size(); ++r) {
    if (s.find(phrases[r]) != std::string_view::npos) keys[n++] = Key(phrase_salt + r * 7919, mask);
  }
  if (n == 0) return;
  float v = 1.0f / std::sqrt(static_cast<float>(n));
  for (size_t k = 0; k < n; ++k) {
    out->emplace_back(keys[k] & ~HashedFeatures::kSignBit,
                      (keys[k] & HashedFeatures::kSignBit) ? -1.0f * v : 1.0f * v);
  }
}

TextFeaturizer::TextFeaturizer(const std::vector<std::string_view>& phrases, uint64_t phrase_salt)
    : phrases_(phrases.begin(), phrases.end()) {
  first_copy_.resize(phrases.size());
  always_.assign(phrases.size(), 0);
  phrase_hash_.resize(phrases.size());
  for (size_t r = 0; r < phrases.size(); ++r) {
    phrase_hash_[r] = Mix(phrase_salt + r * 7919);
    size_t first = r;
    for (size_t q = 0; q < r; ++q) {
      if (phrases[q] == phrases[r]) {
        first = q;
        break;
      }
    }
    first_copy_[r] = static_cast<uint32_t>(first);
    if (phrases[r].empty()) {
      always_[r] = 1;  // std::string_view::find("") finds it at 0
    } else if (first == r) {
      matcher_.Add(phrases[r], static_cast<uint32_t>(r));
    }
  }
  matcher_.Build();
}

void HashedFeatures::Reserve(size_t need) {
  if (capacity_ < need) {
    size_t cap = std::max(need, 2 * capacity_);
    keys_.reset(new uint32_t[cap]);
    capacity_ = cap;
  }
}

void TextFeaturizer::AppendPhrases(std::string_view s, uint32_t mask, size_t n,
                                   HashedFeatures* out) const {
  out->found_.assign(phrase_hash_.size(), 0);
  uint8_t* found = out->found_.data();
  matcher_.ForEachMatch(s, [found](size_t, size_t, uint32_t id) {
    found[id] = 1;
    return true;
  });
  FinishPhrases(mask, n, out);
}

void TextFeaturizer::FinishPhrases(uint32_t mask, size_t n, HashedFeatures* out) const {
  const size_t np = phrase_hash_.size();
  uint32_t* keys = out->keys_.get();
  uint8_t* found = out->found_.data();
  for (size_t r = 0; r < np; ++r) {
    found[r] = always_[r] | found[first_copy_[r]];
    if (found[r]) keys[n++] = KeyOf(phrase_hash_[r], mask);
  }
  out->size_ = n;
}

TextFeaturizerPair::TextFeaturizerPair(const TextFeaturizer& a, const TextFeaturizer& b)
    : a_(a), b_(b) {
  const uint32_t na = static_cast<uint32_t>(a.num_phrases());
  for (uint32_t r = 0; r < na; ++r) {
    if (!a.always_[r] && a.first_copy_[r] == r) matcher_.Add(a.phrases_[r], r);
  }
  for (uint32_t r = 0; r < b.num_phrases(); ++r) {
    if (!b.always_[r] && b.first_copy_[r] == r) matcher_.Add(b.phrases_[r], na + r);
  }
  matcher_.Build();
}

void TextFeaturizerPair::Extract(std::string_view s, int bits_a, HashedFeatures* fa, int bits_b,
                                 HashedFeatures* fb) const {
  if (bits_b > bits_a) {
    a_.Extract(s, bits_a, fa);
    b_.Extract(s, bits_b, fb);
    return;
  }
  const uint32_t mask_a = (1u << bits_a) - 1, mask_b = (1u << bits_b) - 1;
  const size_t na = a_.num_phrases(), nb = b_.num_phrases();
  fa->Reserve(MaxNgramKeys(s.size()) + na);
  const size_t n = NgramKeys(s, mask_a, fa->keys_.get());
  fa->ngrams_ = n;
  fa->bits_ = bits_a;
  fb->Reserve(n + nb);
  const uint32_t keep = mask_b | HashedFeatures::kSignBit;
  const uint32_t* src = fa->keys_.get();
  uint32_t* dst = fb->keys_.get();
  for (size_t k = 0; k < n; ++k) dst[k] = src[k] & keep;
  fb->ngrams_ = n;
  fb->bits_ = bits_b;
  fa->found_.assign(na, 0);
  fb->found_.assign(nb, 0);
  uint8_t* found_a = fa->found_.data();
  uint8_t* found_b = fb->found_.data();
  matcher_.ForEachMatch(s, [=](size_t, size_t, uint32_t id) {
    if (id < na) {
      found_a[id] = 1;
    } else {
      found_b[id - na] = 1;
    }
    return true;
  });
  a_.FinishPhrases(mask_a, n, fa);
  b_.FinishPhrases(mask_b, n, fb);
}

void TextFeaturizer::Extract(std::string_view s, int bits, HashedFeatures* out) const {
  const uint32_t mask = (1u << bits) - 1;
  out->Reserve(MaxNgramKeys(s.size()) + phrase_hash_.size());
  size_t n = NgramKeys(s, mask, out->keys_.get());
  out->ngrams_ = n;
  out->bits_ = bits;
  AppendPhrases(s, mask, n, out);
}

void TextFeaturizer::ExtractFrom(std::string_view s, int bits, const HashedFeatures& from,
                                 HashedFeatures* out) const {
  if (from.bits_ < bits) {
    Extract(s, bits, out);
    return;
  }
  const uint32_t mask = (1u << bits) - 1;
  const size_t n = from.ngrams_;
  out->Reserve(n + phrase_hash_.size());
  const uint32_t keep = mask | HashedFeatures::kSignBit;
  const uint32_t* src = from.keys_.get();
  uint32_t* dst = out->keys_.get();
  for (size_t k = 0; k < n; ++k) dst[k] = src[k] & keep;
  out->ngrams_ = n;
  out->bits_ = bits;
  AppendPhrases(s, mask, n, out);
}

Features ToFeatures(const HashedFeatures& f) {
  Features out;
  if (f.size() == 0) return out;
  float v = 1.0f / std::sqrt(static_cast<float>(f.size()));
  out.reserve(f.size());
  for (size_t k = 0; k < f.size(); ++k) {
    uint32_t key = f.keys()[k];
    out.emplace_back(key & ~HashedFeatures::kSignBit,
                     (key & HashedFeatures::kSignBit) ? -1.0f * v : 1.0f * v);
  }
  return out;
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

namespace {

// SignedWeight returns weight w with the sign of feature `key` applied (exact: a sign flip).
inline float SignedWeight(const float* w, uint32_t key) {
  uint32_t bits;
  std::memcpy(&bits, w, 4);
  bits ^= key & HashedFeatures::kSignBit;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

// SumHeads adds double(+-w) * v for every key to z[0..H), one chain per head in key order, as
// the Features overloads do (double(w) * v is exact for float w and v, and +-(w * v) equals
// w * (+-v), so every term and every partial sum is the same). H is a compile-time constant
// so the sums stay in registers.
template <int H>
void SumHeads(const float* weights, size_t stride, const uint32_t* keys, size_t n, double v,
              double* z) {
  double acc[H];
  for (int h = 0; h < H; ++h) acc[h] = z[h];
  // The weights are gathered at random from tables of about 1 MB each: prefetching a few
  // features ahead keeps several cache misses in flight behind the serial sums.
  constexpr size_t kAhead = 64;
  for (size_t k = 0; k < n && k < kAhead; ++k) {
    __builtin_prefetch(weights + size_t(keys[k] & ~HashedFeatures::kSignBit) * stride);
  }
  for (size_t k = 0; k < n; ++k) {
    if (k + kAhead < n) {
      __builtin_prefetch(weights + size_t(keys[k + kAhead] & ~HashedFeatures::kSignBit) * stride);
    }
    const uint32_t key = keys[k];
    const float* w = weights + size_t(key & ~HashedFeatures::kSignBit) * stride;
    for (int h = 0; h < H; ++h) acc[h] += double(SignedWeight(w + h, key)) * v;
  }
  for (int h = 0; h < H; ++h) z[h] = acc[h];
}

// SumHeadsPair is SumHeads<HA> over keys_a into za and SumHeads<HB> over keys_b into zb, in one
// loop over their common length n (each chain in the same order as alone).
template <int HA, int HB>
void SumHeadsPair(const float* wa, const uint32_t* keys_a, double va, double* za, const float* wb,
                  const uint32_t* keys_b, double vb, double* zb, size_t n) {
  double acc_a[HA], acc_b[HB];
  for (int h = 0; h < HA; ++h) acc_a[h] = za[h];
  for (int h = 0; h < HB; ++h) acc_b[h] = zb[h];
  constexpr size_t kAhead = 48;
  auto row_a = [&](size_t k) { return wa + size_t(keys_a[k] & ~HashedFeatures::kSignBit) * HA; };
  auto row_b = [&](size_t k) { return wb + size_t(keys_b[k] & ~HashedFeatures::kSignBit) * HB; };
  for (size_t k = 0; k < n && k < kAhead; ++k) {
    __builtin_prefetch(row_a(k));
    __builtin_prefetch(row_b(k));
  }
  for (size_t k = 0; k < n; ++k) {
    if (k + kAhead < n) {
      __builtin_prefetch(row_a(k + kAhead));
      __builtin_prefetch(row_b(k + kAhead));
    }
    const float* a = row_a(k);
    const float* b = row_b(k);
    for (int h = 0; h < HA; ++h) acc_a[h] += double(SignedWeight(a + h, keys_a[k])) * va;
    for (int h = 0; h < HB; ++h) acc_b[h] += double(SignedWeight(b + h, keys_b[k])) * vb;
  }
  for (int h = 0; h < HA; ++h) za[h] = acc_a[h];
  for (int h = 0; h < HB; ++h) zb[h] = acc_b[h];
}

}  // namespace

void LinearModel::ScoreAllShared(const LinearModel& a, const HashedFeatures& fa, double* out_a,
                                 const LinearModel& b, const HashedFeatures& fb, double* out_b) {
  if (a.heads_ != 1 || b.heads_ != 5 || fa.size() == 0 || fb.size() == 0) {
    a.ScoreAll(fa, out_a);
    b.ScoreAll(fb, out_b);
    return;
  }
  double za[1] = {a.bias_[0]};
  double zb[5];
  for (int h = 0; h < 5; ++h) zb[h] = b.bias_[h];
  const double va = 1.0f / std::sqrt(static_cast<float>(fa.size()));
  const double vb = 1.0f / std::sqrt(static_cast<float>(fb.size()));
  const size_t n = std::min(fa.size(), fb.size());
  SumHeadsPair<1, 5>(a.weights_.data(), fa.keys(), va, za, b.weights_.data(), fb.keys(), vb, zb, n);
  // The rest of the longer one (rule phrases after shared n-grams).
  SumHeads<1>(a.weights_.data(), 1, fa.keys() + n, fa.size() - n, va, za);
  SumHeads<5>(b.weights_.data(), 5, fb.keys() + n, fb.size() - n, vb, zb);
  out_a[0] = 1.0 / (1.0 + std::exp(-za[0]));
  for (int h = 0; h < 5; ++h) out_b[h] = 1.0 / (1.0 + std::exp(-zb[h]));
}

double LinearModel::Score(const HashedFeatures& f, int head) const {
  double z = bias_[head];
  const size_t n = f.size();
  if (n > 0) {
    // The value HashedTextFeatures stores: (+-1.0f) * (1.0f / sqrt(n)), exactly +-v.
    const double v = 1.0f / std::sqrt(static_cast<float>(n));
    SumHeads<1>(weights_.data() + head, static_cast<size_t>(heads_), f.keys(), n, v, &z);
  }
  return 1.0 / (1.0 + std::exp(-z));
}

void LinearModel::ScoreAll(const HashedFeatures& f, double* out) const {
  double z[kMaxHeads];
  for (int h = 0; h < heads_; ++h) z[h] = bias_[h];
  const size_t n = f.size();
  if (n > 0) {
    const double v = 1.0f / std::sqrt(static_cast<float>(n));
    const size_t stride = static_cast<size_t>(heads_);
    const uint32_t* keys = f.keys();
    switch (heads_) {
      case 1:
        SumHeads<1>(weights_.data(), stride, keys, n, v, z);
        break;
      case 5:
        SumHeads<5>(weights_.data(), stride, keys, n, v, z);
        break;
      default:
        for (int h = 0; h < heads_; ++h) {
          SumHeads<1>(weights_.data() + h, stride, keys, n, v, z + h);
        }
        break;
    }
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
