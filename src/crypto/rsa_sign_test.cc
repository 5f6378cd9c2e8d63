// RSA signatures (RSASSA-PKCS1-v1_5, RSASSA-PSS) and ECDSA over precomputed digests: round trips,
// agreement of the message and digest forms, and fixed signatures made by the `openssl` command
// line tool (openssl genpkey / dgst -sign, OpenSSL 3.0), so the encodings are checked against an
// implementation path other than ours.
#include <string>

#include "base/encoding.h"
#include "crypto/ecdsa.h"
#include "crypto/rsa.h"
#include "crypto/sha.h"
#include "gtest/gtest.h"

namespace confide::crypto {
namespace {

constexpr char kMessage[] = "confide kms sign test";

// openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048
constexpr char kRsaKeyPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDjZzgNychGU1kB\n"
    "RnlWep8ozpET24Qd0/SRGHrgtxXHbOv3Lth1K9nMmVHxeW/5+JAhqHg9bmQ0TmTC\n"
    "cvMN3KjJfmHuixR85NJiglGN4kDMEgnc2znW03S+DM8dcQRFuIcmKdM0uCnaAXqk\n"
    "O3w8fr+pYD9aeMrS8+GzSgsHJvs6Px+YUZUZ0FnDczafWMzZigtqwpfr+P+abMNp\n"
    "ejsVzO81FVJnwJukWbes57uurYlgD4mnl0qDBtNgsM/0D9ksquGoKP+j+8J6MIu1\n"
    "pk6zCjas8YXZKz79ALOF5W4w+WyZas28GxhaLLWfNfk9JjoHT8SQ5cg+xzqvFNKD\n"
    "OZtKyHlzAgMBAAECggEAH8a40fsW1cuSyIyrquvCmXtX/CbfYiL6mLCLhyLTqRot\n"
    "f6Js/ok3S5Gcc4+Xwp3lrMEJCvMwjxCUoDQGMQiFu3ZCGAkY6U+OSH6pB8MMcUJk\n"
    "shceO3MxQSyytQyptKu8PZci8MnP61Xr6Hl5eviZLqwI3ksPyITqI9leYMxP1yEJ\n"
    "27F7i7NgRDKcCBAHmo4k6gPIejC5b5gInQUjhbJDLj4iINTfSptLBpjUieUtzKpB\n"
    "yr+0837BAj3/GhVsKjEhBgm5iS/YAtDa1Zh41mFFoekChOD5uDBCXZopJIPcn2mX\n"
    "WqsjjTVkN9mtDkwkertuwetPssHKT3JDm75/TWuboQKBgQD2foG0vT47t0JDa+vC\n"
    "hIcbYnKjoBQdOKaUSikDkTQ4iHoF7CNpa8pnwG1YR2mqws33//pRMdcE+4uK1uui\n"
    "Ofp/O8XbLvMn46ufojQYbcKXDRo5dr28I9dPepzkP8VhpqpNd2ZotdFWdpx3SLbk\n"
    "SKYIcDenS8F+ZAb33X/OkFsXkwKBgQDsLD0AwpPvcPSkRtRAgUUhH/vpAPKnI1gM\n"
    "SjXp6sGt4xz8knPfK2jfGCRVBiHTQonZthH4fKGUaw2Xq3ESjGV2Dno8NOyKp32+\n"
    "OR6umVgnR/Qil2WBEF8xGya7DrfZAUqeuM3zV5F72fs7x/tvBzh7vA/Oh3Dh0wyc\n"
    "/n7/KiKCoQKBgQDygthd1+pImi5JYv5bLEQ4vw0GytG/RiMttiDP76YvEKbs+LyG\n"
    "VZSXqwxpVCkz5eD65A+EnsJrlohdmsHNo7k+QLKSyIhWcHpD3jPe7O4L6sooSxi0\n"
    "55ZIDdwZ/FvXjT/0Y0qQLoG8zYl3GkVGJ+uiVbWLlM7T6NmqN3Qs6H2WnQKBgE63\n"
    "4A1kzZI9gA1RXmWxsKz90CU1n6t96FcQVTAGg0/GJ184IU79VRMnJNUCGjwkLXZX\n"
    "bV35jJG/rOQkzKd2DEtxP+TZbw44DX1d5JAlpHBTV1hARiDiqBfiCOLIYRb/izOk\n"
    "PWEiiudRHKAsY+355iW35TzdgA6FHesmGIZMMPyBAoGBANAUmYMDhSL+jfqgpuOL\n"
    "EHvS92AxYj5E+wM1YZn5zJZOtpK3AdmTa+7MdSdj7c+SAGbCuBo69G9K8MfOWZeW\n"
    "bHYwOA2t69Rd4D3sIM5yiYXZNUyPM3ZExpogyfnYlk1jowlNxv1wES+h6H8jnxjK\n"
    "OlLsE3OibGtP5jX8IMuW1XQv\n"
    "-----END PRIVATE KEY-----\n";

// openssl dgst -sha256 -sign k.pem
constexpr char kPkcs1Sha256Sig[] =
    "4bbb13dfc67c390de2bd1a27c0573c8acf20c25ee9bb5d72130224fa44bfbef214db376896ae8823ba0ac33f"
    "16acd6d32f93c7b377cab2775d01f04aaeb29c850a3f9bd206b4ae7b6cee9922338a598b2d438e23e16339d4"
    "2e4a17d23563d96f2e193a427796879321e5b7ccd60fd37060a9403378ada7ab9a71342837960b869dc55131"
    "f78d3a6a9f9f272f3992671d29f8c4225fead827cd28740b81bc6c187877075353dad9a891ee3c3252f8e5d2"
    "de0b51418afb0753533032f1677d6c28b15d85585903477517dea24e15dce3b2378bf947c1952d5276c63e31"
    "d76ab58c512571bc0783850ee5f57f405fdb81d01dae6e35fa8ef824ce836f17c4eec57f";

// openssl dgst -sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -sign k.pem
constexpr char kPssSha384Sig[] =
    "5d3aa1f388db7398427fa003c76c9067a2dd697e640263cf44fa7b6a3b7243f77daccf231393de3be7b6cce3"
    "4227bd3cb876da84441838c6af05789995b65bc73f977f5ad59c787617a36270de206c7c6d9b751f556df99c"
    "96346a20b6ede0b83bef267c9fab88be2bbe19568ab005e9fa50844ae73d8bfcb757f5c2b43bbd94d6da722e"
    "c3a750806f4e86f706e4ebc6776ea08a5ba83d55808266c13b67dde904ee6eb8fb6cf27400599be9d5e3ef1d"
    "c4eba628d2f1fd3c8a8476be8b0b15ce82706a64d70df267abe56df17c7b1313eba8caa01378b711f28706e6"
    "e11093dbdc692acae485d7cff5ad2bd8648391fd3a926e55d8b021d938e518cd65f6763f";

// The same with rsa_pss_saltlen:max (a 462-byte salt): valid PSS, but not the salt length AWS KMS
// uses, so it is rejected.
constexpr char kPssSha384MaxSaltSig[] =
    "1ed6edbaeb6f0594bb652da15e2afbb4da52490fb620ed1187b60ba7ce9a42db942677544e1f2cf1d944292d"
    "e6eb55c5bba6796ba00410c2f86a4cb127bed62cc0b2068b3a1965c0763b31861d68dbe26c858a5909bef831"
    "452a7869b82819be4b1d1720ddecce465c8b2a0e2597f9d91df13f5014f4d12600c4701158bd7564356ee5ea"
    "5c34cfc880b75bf39a8ff3bdb1996f305e49d604312bfa0e559a3126f69e32d9f482cb084e468aace8ffa85b"
    "e827a5a0552df904efc3d40747ca4ee976565c0799866bed4e2c5ea0d801efd054e2513c6b7c1bd3cdb52fc6"
    "ed880aecc2746bcc45810dc260e393fcdb2301fa7e97421af46e5dfd4d65d7a4e355a579";

// openssl ecparam -name prime256v1 -genkey; openssl dgst -sha256 -sign ec.pem (DER)
constexpr char kEcPubPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2QUqeUCWoZ9ZTWzCVTSAXNn4sDuc\n"
    "J170Qxohzv9fi3PxQbwTRYi/FxYkOuHyGrm3ndZb2TdqtsBLseuOjeH5WA==\n"
    "-----END PUBLIC KEY-----\n";
constexpr char kEcdsaSha256Sig[] =
    "3045022100c57ae3cf7f677bce83f565c0dc83d126ff66bc68b7c86a9e2e5f29f0901c0c64022006791a728f"
    "2af2fa6f29867dc7ab4e210bf10b64225b690c94dc95a45e9fe17a";

Bytes Hex(const char* hex) { return *base::HexDecode(hex); }

class RsaSignTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto k = RsaPrivateKey::FromPem(kRsaKeyPem);
    ASSERT_TRUE(k.ok()) << k.status();
    key_ = new RsaPrivateKey(*std::move(k));
  }
  static void TearDownTestSuite() {
    delete key_;
    key_ = nullptr;
  }
  static RsaPrivateKey* key_;
};
RsaPrivateKey* RsaSignTest::key_ = nullptr;

TEST_F(RsaSignTest, OpensslCommandLineSignaturesVerify) {
  const RsaPublicKey pub = key_->PublicKey();
  const ByteSpan msg = AsBytes(kMessage);
  EXPECT_TRUE(
      pub.Verify(RsaSignaturePadding::kPkcs1v15, HashAlg::kSha256, msg, Hex(kPkcs1Sha256Sig)).ok());
  EXPECT_TRUE(
      pub.Verify(RsaSignaturePadding::kPss, HashAlg::kSha384, msg, Hex(kPssSha384Sig)).ok());
  EXPECT_TRUE(
      pub.VerifyDigest(RsaSignaturePadding::kPss, HashAlg::kSha384, Sha384(msg), Hex(kPssSha384Sig))
          .ok());
  // Salt length other than the hash length: rejected.
  EXPECT_EQ(pub.Verify(RsaSignaturePadding::kPss, HashAlg::kSha384, msg, Hex(kPssSha384MaxSaltSig))
                .code(),
            absl::StatusCode::kUnauthenticated);
  // A PKCS#1 v1.5 signature is deterministic: ours must equal the command line's, byte for byte.
  auto sig = key_->Sign(RsaSignaturePadding::kPkcs1v15, HashAlg::kSha256, msg);
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_EQ(base::HexEncode(*sig), kPkcs1Sha256Sig);
  auto sig2 = key_->SignDigest(RsaSignaturePadding::kPkcs1v15, HashAlg::kSha256, Sha256(msg));
  ASSERT_TRUE(sig2.ok());
  EXPECT_EQ(*sig2, *sig);
}

TEST_F(RsaSignTest, RoundTripsEveryPaddingAndHash) {
  const RsaPublicKey pub = key_->PublicKey();
  const ByteSpan msg = AsBytes(kMessage);
  int checked = 0;
  for (auto padding : {RsaSignaturePadding::kPkcs1v15, RsaSignaturePadding::kPss}) {
    for (auto hash : {HashAlg::kSha256, HashAlg::kSha384, HashAlg::kSha512}) {
      auto sig = key_->Sign(padding, hash, msg);
      ASSERT_TRUE(sig.ok()) << sig.status();
      EXPECT_EQ(sig->size(), 256u);
      EXPECT_TRUE(pub.Verify(padding, hash, msg, *sig).ok());
      EXPECT_TRUE(pub.VerifyDigest(padding, hash, Hash(hash, msg), *sig).ok());
      auto dsig = key_->SignDigest(padding, hash, Hash(hash, msg));
      ASSERT_TRUE(dsig.ok());
      EXPECT_TRUE(pub.Verify(padding, hash, msg, *dsig).ok());
      // Another hash, the other padding, another message: all invalid.
      const HashAlg other = hash == HashAlg::kSha256 ? HashAlg::kSha384 : HashAlg::kSha256;
      EXPECT_EQ(pub.Verify(padding, other, msg, *sig).code(), absl::StatusCode::kUnauthenticated);
      const auto other_padding = padding == RsaSignaturePadding::kPss
                                     ? RsaSignaturePadding::kPkcs1v15
                                     : RsaSignaturePadding::kPss;
      EXPECT_EQ(pub.Verify(other_padding, hash, msg, *sig).code(),
                absl::StatusCode::kUnauthenticated);
      EXPECT_EQ(pub.Verify(padding, hash, AsBytes("another message"), *sig).code(),
                absl::StatusCode::kUnauthenticated);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6);
  // PSS is randomized.
  auto a = key_->Sign(RsaSignaturePadding::kPss, HashAlg::kSha256, msg);
  auto b = key_->Sign(RsaSignaturePadding::kPss, HashAlg::kSha256, msg);
  EXPECT_NE(*a, *b);
}

TEST_F(RsaSignTest, EveryFlippedBitAndTruncationIsRejected) {
  const RsaPublicKey pub = key_->PublicKey();
  const ByteSpan msg = AsBytes(kMessage);
  for (auto padding : {RsaSignaturePadding::kPkcs1v15, RsaSignaturePadding::kPss}) {
    auto sig = key_->Sign(padding, HashAlg::kSha256, msg);
    ASSERT_TRUE(sig.ok());
    for (size_t i = 0; i < sig->size() * 8; ++i) {
      Bytes bad = *sig;
      bad[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
      ASSERT_EQ(pub.Verify(padding, HashAlg::kSha256, msg, bad).code(),
                absl::StatusCode::kUnauthenticated)
          << "bit " << i;
    }
    for (size_t len : {size_t{0}, size_t{1}, sig->size() - 1}) {
      EXPECT_EQ(pub.Verify(padding, HashAlg::kSha256, msg, ByteSpan(*sig).first(len)).code(),
                absl::StatusCode::kUnauthenticated);
    }
    Bytes longer = *sig;
    longer.push_back(0);
    EXPECT_EQ(pub.Verify(padding, HashAlg::kSha256, msg, longer).code(),
              absl::StatusCode::kUnauthenticated);
  }
}

TEST_F(RsaSignTest, DigestOfTheWrongLengthIsInvalidArgument) {
  const RsaPublicKey pub = key_->PublicKey();
  const Bytes d384 = Sha384(AsBytes(kMessage));
  EXPECT_EQ(key_->SignDigest(RsaSignaturePadding::kPss, HashAlg::kSha256, d384).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(key_->SignDigest(RsaSignaturePadding::kPkcs1v15, HashAlg::kSha512, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pub.VerifyDigest(RsaSignaturePadding::kPss, HashAlg::kSha256, d384,
                             Bytes(pub.ModulusLen(), 1))
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RsaSignTest, AnotherKeyDoesNotVerify) {
  auto other = RsaPrivateKey::Generate(2048);
  ASSERT_TRUE(other.ok());
  auto sig = key_->Sign(RsaSignaturePadding::kPkcs1v15, HashAlg::kSha256, AsBytes(kMessage));
  EXPECT_EQ(other->PublicKey()
                .Verify(RsaSignaturePadding::kPkcs1v15, HashAlg::kSha256, AsBytes(kMessage), *sig)
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(EcdsaDigestTest, OpensslCommandLineSignatureVerifiesOverItsDigest) {
  auto pub = EcdsaPublicKey::FromPem(kEcPubPem);
  ASSERT_TRUE(pub.ok());
  const Bytes digest = Sha256(AsBytes(kMessage));
  EXPECT_TRUE(pub->VerifyDigest(digest, Hex(kEcdsaSha256Sig), SignatureFormat::kDer).ok());
  EXPECT_TRUE(pub->Verify(AsBytes(kMessage), Hex(kEcdsaSha256Sig), SignatureFormat::kDer).ok());
  Bytes other = digest;
  other[0] ^= 1;
  EXPECT_EQ(pub->VerifyDigest(other, Hex(kEcdsaSha256Sig), SignatureFormat::kDer).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(EcdsaDigestTest, DigestAndMessageFormsAgree) {
  for (Curve curve : {Curve::kP256, Curve::kP384}) {
    auto key = EcdsaPrivateKey::Generate(curve);
    ASSERT_TRUE(key.ok());
    const EcdsaPublicKey pub = key->PublicKey();
    const ByteSpan msg = AsBytes(kMessage);
    const Bytes digest = Hash(CurveHash(curve), msg);
    for (auto format : {SignatureFormat::kDer, SignatureFormat::kRaw}) {
      auto sig = key->SignDigest(digest, format);
      ASSERT_TRUE(sig.ok()) << sig.status();
      EXPECT_TRUE(pub.Verify(msg, *sig, format).ok());
      EXPECT_TRUE(pub.VerifyDigest(digest, *sig, format).ok());
      auto msig = key->Sign(msg, format);
      ASSERT_TRUE(msig.ok());
      EXPECT_TRUE(pub.VerifyDigest(digest, *msig, format).ok());
      for (size_t i = 0; i < sig->size(); ++i) {
        Bytes bad = *sig;
        bad[i] ^= 0x40;
        EXPECT_FALSE(pub.VerifyDigest(digest, bad, format).ok()) << "byte " << i;
      }
    }
    const Bytes wrong(DigestLen(CurveHash(curve)) + 1, 7);
    EXPECT_EQ(key->SignDigest(wrong, SignatureFormat::kDer).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(pub.VerifyDigest(wrong, Bytes(8, 1), SignatureFormat::kDer).code(),
              absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace confide::crypto
