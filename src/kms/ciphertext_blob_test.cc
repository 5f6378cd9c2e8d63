#include "kms/ciphertext_blob.h"

#include <string>

#include "crypto/aead.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "kms/errors.h"

namespace confide::kms {
namespace {

constexpr char kKeyId[] = "1234abcd-12ab-34cd-56ef-1234567890ab";

SecretBytes Key(uint8_t fill) {
  SecretBytes k(32);
  for (uint8_t& b : k.MutableSecret()) {
    b = fill;
  }
  return k;
}

void ExpectInvalidCiphertext(const absl::Status& s) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AwsErrorType(s), "InvalidCiphertextException");
  EXPECT_EQ(s.message(), "");  // AWS's message is empty: no oracle
}

TEST(CiphertextBlobTest, RoundTripAndHeader) {
  EncryptionContext ctx = {{"Dept", "Eng"}, {"project", "alpha"}};
  Bytes plaintext = ToBytes("model key material");
  absl::StatusOr<Bytes> blob = SealCiphertextBlob(kKeyId, 7, Key(1), ctx, plaintext);
  ASSERT_TRUE(blob.ok()) << blob.status();
  absl::StatusOr<BlobHeader> header = ParseCiphertextBlobHeader(*blob);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->key_id, kKeyId);
  EXPECT_EQ(header->backing_version, 7u);
  absl::StatusOr<SecretBytes> opened = OpenCiphertextBlob(*blob, Key(1), ctx);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(AsStringView(opened->ExposeSecret()), "model key material");
  // Two seals of the same input differ (fresh nonce).
  absl::StatusOr<Bytes> again = SealCiphertextBlob(kKeyId, 7, Key(1), ctx, plaintext);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*blob, *again);
  // Empty plaintext and the 4096-byte maximum work; 4097 is refused.
  EXPECT_TRUE(SealCiphertextBlob(kKeyId, 1, Key(1), {}, {}).ok());
  Bytes max(kMaxBlobPlaintextLen, 0x5a);
  absl::StatusOr<Bytes> big = SealCiphertextBlob(kKeyId, 1, Key(1), {}, max);
  ASSERT_TRUE(big.ok());
  EXPECT_TRUE(OpenCiphertextBlob(*big, Key(1), {}).ok());
  max.push_back(0);
  EXPECT_FALSE(SealCiphertextBlob(kKeyId, 1, Key(1), {}, max).ok());
  EXPECT_FALSE(SealCiphertextBlob("", 1, Key(1), {}, plaintext).ok());
  EXPECT_FALSE(SealCiphertextBlob(std::string(65, 'k'), 1, Key(1), {}, plaintext).ok());
}

// The documented layout: the sealed part opens with AAD = label || header || canonical context.
TEST(CiphertextBlobTest, LayoutMatchesDocumentation) {
  EncryptionContext ctx = {{"b", "2"}, {"a", "1"}};
  absl::StatusOr<Bytes> blob = SealCiphertextBlob("k1", 0x01020304, Key(9), ctx, ToBytes("hi"));
  ASSERT_TRUE(blob.ok());
  size_t header_len = 1 + 1 + 2 + 4 + 12;
  ASSERT_EQ(blob->size(), header_len + 2 + 16);
  EXPECT_EQ((*blob)[0], 1);
  EXPECT_EQ((*blob)[1], 2);
  EXPECT_EQ((*blob)[4], 1);
  EXPECT_EQ((*blob)[7], 4);
  ByteSpan all(*blob);
  Bytes canonical = {0, 2, 0, 1, 'a', 0, 1, '1', 0, 1, 'b', 0, 1, '2'};
  absl::StatusOr<Bytes> c = CanonicalEncryptionContext(ctx);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, canonical);
  Bytes aad = Concat({AsBytes("confide-kms-blob-v1"), all.subspan(0, header_len), canonical});
  absl::StatusOr<Bytes> pt = crypto::AeadOpen(crypto::AeadAlg::kAes256Gcm, Key(9).ExposeSecret(),
                                              all.subspan(8, 12), aad, all.subspan(header_len));
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(AsStringView(*pt), "hi");
}

TEST(CiphertextBlobTest, EveryFlippedBitFails) {
  EncryptionContext ctx = {{"purpose", "test"}};
  absl::StatusOr<Bytes> blob = SealCiphertextBlob(kKeyId, 3, Key(2), ctx, ToBytes("secret"));
  ASSERT_TRUE(blob.ok());
  size_t flips = 0;
  for (size_t i = 0; i < blob->size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes bad = *blob;
      bad[i] ^= static_cast<uint8_t>(1 << bit);
      absl::StatusOr<SecretBytes> r = OpenCiphertextBlob(bad, Key(2), ctx);
      ASSERT_FALSE(r.ok()) << "byte " << i << " bit " << bit;
      ExpectInvalidCiphertext(r.status());
      ++flips;
    }
  }
  EXPECT_EQ(flips, blob->size() * 8);
}

TEST(CiphertextBlobTest, EveryTruncationAndExtensionFails) {
  absl::StatusOr<Bytes> blob = SealCiphertextBlob(kKeyId, 3, Key(2), {}, ToBytes("secret"));
  ASSERT_TRUE(blob.ok());
  for (size_t len = 0; len < blob->size(); ++len) {
    ByteSpan cut(blob->data(), len);
    ExpectInvalidCiphertext(OpenCiphertextBlob(cut, Key(2), {}).status());
  }
  Bytes longer = *blob;
  longer.push_back(0);
  ExpectInvalidCiphertext(OpenCiphertextBlob(longer, Key(2), {}).status());
  ExpectInvalidCiphertext(ParseCiphertextBlobHeader(Bytes{}).status());
  ExpectInvalidCiphertext(ParseCiphertextBlobHeader(Bytes{2, 1, 'k'}).status());
}

TEST(CiphertextBlobTest, WrongContextOrKeyFails) {
  EncryptionContext ctx = {{"Dept", "Eng"}};
  absl::StatusOr<Bytes> blob = SealCiphertextBlob(kKeyId, 1, Key(3), ctx, ToBytes("x"));
  ASSERT_TRUE(blob.ok());
  for (const EncryptionContext& wrong :
       {EncryptionContext{}, EncryptionContext{{"Dept", "eng"}}, EncryptionContext{{"dept", "Eng"}},
        EncryptionContext{{"Dept", "Eng"}, {"x", ""}}, EncryptionContext{{"Dept", "Eng "}}}) {
    ExpectInvalidCiphertext(OpenCiphertextBlob(*blob, Key(3), wrong).status());
  }
  ExpectInvalidCiphertext(OpenCiphertextBlob(*blob, Key(4), ctx).status());
  ExpectInvalidCiphertext(OpenCiphertextBlob(*blob, SecretBytes(16), ctx).status());
}

// Rotation: blobs under every backing version stay decryptable with that version's key, and a
// blob cannot be moved to another version or key id by editing its header.
TEST(CiphertextBlobTest, RotationKeepsOldVersions) {
  std::vector<Bytes> blobs;
  for (uint32_t v = 1; v <= 3; ++v) {
    absl::StatusOr<Bytes> b =
        SealCiphertextBlob(kKeyId, v, Key(static_cast<uint8_t>(v)), {}, ToBytes("dk"));
    ASSERT_TRUE(b.ok());
    blobs.push_back(*b);
  }
  for (uint32_t v = 1; v <= 3; ++v) {
    const Bytes& b = blobs[v - 1];
    absl::StatusOr<BlobHeader> h = ParseCiphertextBlobHeader(b);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->backing_version, v);
    EXPECT_TRUE(OpenCiphertextBlob(b, Key(static_cast<uint8_t>(h->backing_version)), {}).ok());
    for (uint32_t other = 1; other <= 3; ++other) {
      if (other != v) {
        ExpectInvalidCiphertext(
            OpenCiphertextBlob(b, Key(static_cast<uint8_t>(other)), {}).status());
      }
    }
  }
}

TEST(CiphertextBlobTest, ContextLimits) {
  EncryptionContext big = {{"k", std::string(kMaxEncryptionContextBytes, 'v')}};
  EXPECT_FALSE(SealCiphertextBlob(kKeyId, 1, Key(1), big, ToBytes("x")).ok());
  absl::StatusOr<Bytes> blob = SealCiphertextBlob(kKeyId, 1, Key(1), {}, ToBytes("x"));
  ASSERT_TRUE(blob.ok());
  ExpectInvalidCiphertext(OpenCiphertextBlob(*blob, Key(1), big).status());
}

}  // namespace
}  // namespace confide::kms
