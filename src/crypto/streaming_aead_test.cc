#include "crypto/streaming_aead.h"

#include <algorithm>
#include <random>

#include "crypto/aead.h"
#include "crypto/hkdf.h"
#include "crypto/random.h"
#include "gtest/gtest.h"

namespace confide::crypto {
namespace {

constexpr uint32_t kSeg = kStreamMinSegmentLen;

Bytes Pattern(size_t len, uint32_t seed = 1) {
  Bytes b(len);
  std::mt19937 rng(seed);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

bool AllZero(ByteSpan b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

struct Fixture {
  Bytes key = Pattern(32, 7);
  Bytes salt = Pattern(16, 8);
  Bytes prefix = Pattern(7, 9);
  Bytes aad = Pattern(32, 10);
};

StreamingAead Make(const Fixture& f, uint64_t len, uint32_t seg = kSeg) {
  auto a = StreamingAead::Create(f.key, f.salt, f.prefix, f.aad, {len, seg});
  EXPECT_TRUE(a.ok()) << a.status();
  return *std::move(a);
}

Bytes Seal(const StreamingAead& a, ByteSpan pt) {
  Bytes ct(a.layout().ciphertext_len());
  EXPECT_TRUE(a.SealAll(pt, ct).ok());
  return ct;
}

TEST(StreamLayoutTest, Geometry) {
  EXPECT_EQ((StreamLayout{0, kSeg}).num_segments(), 1u);
  EXPECT_EQ((StreamLayout{0, kSeg}).SegmentPlaintextLen(0), 0u);
  EXPECT_EQ((StreamLayout{0, kSeg}).ciphertext_len(), 16u);
  EXPECT_EQ((StreamLayout{1, kSeg}).num_segments(), 1u);
  EXPECT_EQ((StreamLayout{kSeg, kSeg}).num_segments(), 1u);
  EXPECT_EQ((StreamLayout{kSeg, kSeg}).SegmentPlaintextLen(0), kSeg);
  EXPECT_EQ((StreamLayout{kSeg + 1, kSeg}).num_segments(), 2u);
  EXPECT_EQ((StreamLayout{kSeg + 1, kSeg}).SegmentPlaintextLen(1), 1u);
  EXPECT_EQ((StreamLayout{3 * kSeg, kSeg}).num_segments(), 3u);
  EXPECT_EQ((StreamLayout{3 * kSeg, kSeg}).ciphertext_len(), 3 * kSeg + 48u);

  EXPECT_TRUE(ValidateStreamLayout({0, kStreamMinSegmentLen}).ok());
  EXPECT_TRUE(ValidateStreamLayout({0, kStreamMaxSegmentLen}).ok());
  EXPECT_FALSE(ValidateStreamLayout({0, kStreamMinSegmentLen - 1}).ok());
  EXPECT_FALSE(ValidateStreamLayout({0, kStreamMaxSegmentLen + 1}).ok());
  EXPECT_FALSE(ValidateStreamLayout({kStreamMaxPlaintextLen + 1, kStreamMaxSegmentLen}).ok());
  EXPECT_TRUE(ValidateStreamLayout({kStreamMaxSegments * kSeg, kSeg}).ok());
  EXPECT_FALSE(ValidateStreamLayout({kStreamMaxSegments * kSeg + 1, kSeg}).ok());
}

TEST(StreamingAeadTest, CreateChecksLengths) {
  Fixture f;
  EXPECT_FALSE(StreamingAead::Create(Bytes(31), f.salt, f.prefix, f.aad, {0, kSeg}).ok());
  EXPECT_FALSE(StreamingAead::Create(f.key, Bytes(15), f.prefix, f.aad, {0, kSeg}).ok());
  EXPECT_FALSE(StreamingAead::Create(f.key, f.salt, Bytes(8), f.aad, {0, kSeg}).ok());
  EXPECT_FALSE(StreamingAead::Create(f.key, f.salt, f.prefix, Bytes(1025), {0, kSeg}).ok());
  EXPECT_FALSE(StreamingAead::Create(f.key, f.salt, f.prefix, f.aad, {0, 100}).ok());
}

// An independent reference of the construction: HKDF, then AES-256-GCM per segment with the
// STREAM nonce, through the one-shot AEAD API.
TEST(StreamingAeadTest, MatchesReferenceConstruction) {
  Fixture f;
  const uint64_t len = 2 * kSeg + 100;
  Bytes pt = Pattern(len);
  StreamingAead a = Make(f, len);
  Bytes ct = Seal(a, pt);
  auto key = Hkdf(HashAlg::kSha256, f.key, f.salt, AsBytes("confide stream AES-256-GCM v1"), 32);
  ASSERT_TRUE(key.ok());
  Bytes expected;
  for (uint32_t i = 0; i < 3; ++i) {
    Bytes nonce = f.prefix;
    nonce.push_back(0);
    nonce.push_back(0);
    nonce.push_back(0);
    nonce.push_back(static_cast<uint8_t>(i));
    nonce.push_back(i == 2 ? 1 : 0);
    const size_t off = i * kSeg;
    const size_t n = std::min<size_t>(kSeg, len - off);
    auto seg = AeadSeal(AeadAlg::kAes256Gcm, key->ExposeSecret(), nonce, f.aad,
                        ByteSpan(pt).subspan(off, n));
    ASSERT_TRUE(seg.ok());
    Append(expected, *seg);
  }
  EXPECT_EQ(ct, expected);
}

TEST(StreamingAeadTest, RoundTripsAtEverySizeAndThreadCount) {
  Fixture f;
  for (uint64_t len : {uint64_t{0}, uint64_t{1}, uint64_t{kSeg - 1}, uint64_t{kSeg},
                       uint64_t{kSeg + 1}, uint64_t{3 * kSeg}, uint64_t{5 * kSeg + 17}}) {
    Bytes pt = Pattern(len, static_cast<uint32_t>(len));
    StreamingAead a = Make(f, len);
    Bytes ct = Seal(a, pt);
    EXPECT_EQ(ct.size(), a.layout().ciphertext_len());
    for (int threads : {0, 1, 2, 3, 8}) {
      Bytes out(len, 0xee);
      ASSERT_TRUE(a.OpenAll(ct, out, threads).ok()) << len << " " << threads;
      EXPECT_EQ(out, pt);
    }
  }
}

TEST(StreamingAeadTest, DetectsEveryKindOfTampering) {
  Fixture f;
  const uint64_t len = 3 * kSeg + 10;
  Bytes pt = Pattern(len);
  StreamingAead a = Make(f, len);
  Bytes ct = Seal(a, pt);
  auto expect_fail = [&](const StreamingAead& aead, ByteSpan c, const char* what) {
    Bytes out(aead.layout().plaintext_len, 0xee);
    absl::Status s = aead.OpenAll(c, out, 2);
    EXPECT_FALSE(s.ok()) << what;
    EXPECT_TRUE(AllZero(out)) << what;
  };
  // A flipped bit anywhere (every 97th byte, plus every tag's last byte).
  for (size_t i = 0; i < ct.size(); i += 97) {
    Bytes t = ct;
    t[i] ^= 0x40;
    expect_fail(a, t, "bit flip");
  }
  for (uint64_t s = 0; s < 4; ++s) {
    Bytes t = ct;
    t[std::min<size_t>(ct.size(), (s + 1) * (kSeg + 16)) - 1] ^= 1;
    expect_fail(a, t, "tag");
  }
  // Reordered segments.
  Bytes swapped = ct;
  std::swap_ranges(swapped.begin(), swapped.begin() + kSeg + 16, swapped.begin() + kSeg + 16);
  expect_fail(a, swapped, "swap");
  // Truncated (at a segment boundary and inside one) and extended.
  expect_fail(a, ByteSpan(ct).first(3 * (kSeg + 16)), "truncated at boundary");
  expect_fail(a, ByteSpan(ct).first(ct.size() - 1), "truncated by one");
  Bytes longer = ct;
  longer.push_back(0);
  expect_fail(a, longer, "extended");
  // A stream cut at a segment boundary whose layout is also shortened: the new last segment
  // lacks the last flag.
  StreamingAead shorter = Make(f, 3 * kSeg);
  expect_fail(shorter, ByteSpan(ct).first(3 * (kSeg + 16)), "truncated stream and layout");
  // Appending a segment sealed under a longer layout fails too (the old last flag).
  StreamingAead longer_layout = Make(f, 4 * kSeg);
  Bytes ext = ct;
  ext.resize(4 * (kSeg + 16));
  expect_fail(longer_layout, ext, "extended stream and layout");
  // Other aad (the envelope header), salt, prefix or key.
  Fixture g = f;
  g.aad[0] ^= 1;
  expect_fail(Make(g, len), ct, "aad");
  g = f;
  g.salt[0] ^= 1;
  expect_fail(Make(g, len), ct, "salt");
  g = f;
  g.prefix[6] ^= 1;
  expect_fail(Make(g, len), ct, "prefix");
  g = f;
  g.key[31] ^= 1;
  expect_fail(Make(g, len), ct, "key");
  // Segment-level: wrong index, wrong size.
  Bytes seg_out(kSeg);
  EXPECT_EQ(a.OpenSegment(1, ByteSpan(ct).first(kSeg + 16), seg_out).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(a.OpenSegment(0, ByteSpan(ct).first(kSeg + 15), seg_out).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.OpenSegment(9, ByteSpan(ct).first(kSeg + 16), seg_out).code(),
            absl::StatusCode::kInvalidArgument);
  Bytes wrong_out(len - 1);
  EXPECT_EQ(a.OpenAll(ct, wrong_out, 1).code(), absl::StatusCode::kInvalidArgument);
}

TEST(StreamDecryptorTest, IncrementalInAnyChunkingAndThreads) {
  Fixture f;
  for (uint64_t len : {uint64_t{0}, uint64_t{100}, uint64_t{kSeg}, uint64_t{4 * kSeg + 3}}) {
    Bytes pt = Pattern(len, 3);
    StreamingAead a = Make(f, len);
    Bytes ct = Seal(a, pt);
    for (int threads : {1, 3}) {
      for (size_t chunk : {size_t{1}, size_t{7}, size_t{kSeg + 16}, size_t{3 * kSeg}, ct.size()}) {
        if (chunk == 1 && len > kSeg) continue;  // slow and adds nothing over 7
        Bytes out(len, 0xee);
        StreamDecryptor d(&a, out, threads);
        for (size_t off = 0; off < ct.size(); off += chunk) {
          ASSERT_TRUE(d.Update(ByteSpan(ct).subspan(off, std::min(chunk, ct.size() - off))).ok());
        }
        ASSERT_TRUE(d.Finish().ok()) << len << " " << threads << " " << chunk;
        EXPECT_EQ(d.bytes_received(), ct.size());
        EXPECT_EQ(out, pt);
      }
    }
  }
}

TEST(StreamDecryptorTest, FailsClosed) {
  Fixture f;
  const uint64_t len = 6 * kSeg + 5;
  Bytes pt = Pattern(len, 4);
  StreamingAead a = Make(f, len);
  Bytes ct = Seal(a, pt);
  for (int threads : {1, 3}) {
    // Truncated: Finish fails and wipes the authenticated prefix.
    {
      Bytes out(len, 0xee);
      StreamDecryptor d(&a, out, threads);
      ASSERT_TRUE(d.Update(ByteSpan(ct).first(3 * (kSeg + 16))).ok());
      EXPECT_EQ(d.Finish().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_TRUE(AllZero(out));
      EXPECT_FALSE(d.Update(ByteSpan(ct).subspan(3 * (kSeg + 16))).ok());
    }
    // Extended.
    {
      Bytes out(len);
      StreamDecryptor d(&a, out, threads);
      Bytes longer = ct;
      longer.push_back(1);
      EXPECT_FALSE(d.Update(longer).ok());
      EXPECT_FALSE(d.Finish().ok());
      EXPECT_TRUE(AllZero(out));
    }
    // A bad segment in the middle: reported by Update or at the latest by Finish.
    {
      Bytes out(len);
      Bytes bad = ct;
      bad[2 * (kSeg + 16) + 5] ^= 1;
      StreamDecryptor d(&a, out, threads);
      absl::Status s = d.Update(bad);
      if (s.ok()) s = d.Finish();
      EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
      EXPECT_TRUE(AllZero(out));
    }
    // Abandoned before Finish: wiped by the destructor.
    {
      Bytes out(len);
      {
        StreamDecryptor d(&a, out, threads);
        ASSERT_TRUE(d.Update(ByteSpan(ct).first(2 * (kSeg + 16))).ok());
      }
      EXPECT_TRUE(AllZero(out));
    }
    // Wrong buffer size.
    {
      Bytes out(len + 1, 0xee);
      StreamDecryptor d(&a, out, threads);
      EXPECT_EQ(d.Update(ct).code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(out[0], 0xee);  // not ours to touch
    }
  }
}

TEST(AeadIntoTest, SizesOverlapAndInPlace) {
  Bytes key = Pattern(32);
  Bytes nonce = Pattern(12);
  Bytes pt = Pattern(100);
  Bytes ct(116);
  ASSERT_TRUE(AeadSealInto(AeadAlg::kAes256Gcm, key, nonce, {}, pt, ct).ok());
  EXPECT_EQ(ct, *AeadSeal(AeadAlg::kAes256Gcm, key, nonce, {}, pt));
  Bytes small(115);
  EXPECT_EQ(AeadSealInto(AeadAlg::kAes256Gcm, key, nonce, {}, pt, small).code(),
            absl::StatusCode::kInvalidArgument);
  Bytes buf = ct;
  EXPECT_EQ(AeadSealInto(AeadAlg::kAes256Gcm, key, nonce, {}, ByteSpan(buf).first(100),
                         std::span<uint8_t>(buf).subspan(0, 116))
                .code(),
            absl::StatusCode::kInvalidArgument);
  // In place.
  ASSERT_TRUE(
      AeadOpenInto(AeadAlg::kAes256Gcm, key, nonce, {}, buf, std::span<uint8_t>(buf).first(100))
          .ok());
  EXPECT_EQ(Bytes(buf.begin(), buf.begin() + 100), pt);
  Bytes out(100);
  ct[0] ^= 1;
  EXPECT_EQ(AeadOpenInto(AeadAlg::kAes256Gcm, key, nonce, {}, ct, out).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(AllZero(out));
  EXPECT_EQ(AeadOpenInto(AeadAlg::kAes256Gcm, key, nonce, {}, ByteSpan(ct).first(10), out).code(),
            absl::StatusCode::kUnauthenticated);
  Bytes wrong(99);
  EXPECT_EQ(AeadOpenInto(AeadAlg::kAes256Gcm, key, nonce, {}, ct, wrong).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace confide::crypto
