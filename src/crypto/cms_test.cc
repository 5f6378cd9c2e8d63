#include "crypto/cms.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <string>

#include "base/encoding.h"
#include "crypto/internal/openssl_util.h"
#include "crypto/internal/pkey.h"
#include "gtest/gtest.h"
#include "testing/testdata.h"

namespace confide::crypto {
namespace {

const RsaPrivateKey& Key() {
  static const RsaPrivateKey* key = [] {
    auto k = RsaPrivateKey::Generate(2048);
    if (!k.ok()) std::abort();
    return new RsaPrivateKey(*std::move(k));
  }();
  return *key;
}

const Bytes kKeyId = ToBytes("0123456789abcdef0123456789abcdef");
const absl::Status kDecryptFailed = absl::InvalidArgumentError("CMS decryption failed");

Bytes Plain(const SecretBytes& s) {
  return Bytes(s.ExposeSecret().begin(), s.ExposeSecret().end());
}

std::optional<Bytes> Shared(const std::string& rel) {
  return confide::testing::ReadFile(confide::testing::SharedPath(rel));
}

// ------------------------------------------------------------------ the AWS KMS vector

class KmsVector : public ::testing::Test {
 protected:
  void SetUp() override {
    CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/nitro/kms_cms/ciphertext_for_recipient_1.ber");
    auto ber = confide::testing::ReadFile(path);
    auto key =
        Shared("testdata/nitro/kms_cms/ciphertext_for_recipient_1.expected_encrypted_key.bin");
    auto iv = Shared("testdata/nitro/kms_cms/ciphertext_for_recipient_1.expected_iv.bin");
    auto ct = Shared("testdata/nitro/kms_cms/ciphertext_for_recipient_1.expected_ciphertext.bin");
    ASSERT_TRUE(ber && key && iv && ct);
    ber_ = *ber;
    encrypted_key_ = *key;
    iv_ = *iv;
    ciphertext_ = *ct;
  }
  Bytes ber_, encrypted_key_, iv_, ciphertext_;
};

TEST_F(KmsVector, ParsesToTheExpectedParts) {
  ASSERT_EQ(ber_.size(), 493u);
  auto parts = ParseEnvelopedData(ber_);
  ASSERT_TRUE(parts.ok()) << parts.status();
  EXPECT_EQ(parts->encrypted_key, encrypted_key_);
  EXPECT_EQ(parts->iv, iv_);
  EXPECT_EQ(parts->ciphertext, ciphertext_);
  EXPECT_EQ(parts->encrypted_key.size(), 256u);
  EXPECT_EQ(parts->iv.size(), 16u);
  EXPECT_EQ(parts->ciphertext.size(), 48u);
  EXPECT_EQ(parts->recipient_key_id.size(), 32u);
  EXPECT_EQ(base::HexEncode(parts->recipient_key_id).substr(0, 8), "7087b55d");
  EXPECT_EQ(base::HexEncode(parts->recipient_key_id).substr(60), "2eb1");
  EXPECT_EQ(parts->key_encryption_oid, kOidRsaesOaep);
  EXPECT_EQ(parts->oaep_hash_oid, kOidSha256);
  EXPECT_EQ(parts->oaep_mgf_oid, kOidMgf1);
  EXPECT_EQ(parts->oaep_mgf_hash_oid, kOidSha256);
  EXPECT_TRUE(parts->oaep_label.empty());
  EXPECT_EQ(parts->content_type_oid, kOidData);
  EXPECT_EQ(parts->content_encryption_oid, kOidAes256Cbc);
}

TEST_F(KmsVector, ReencodesAsDerWithTheSameParts) {
  auto parts = ParseEnvelopedData(ber_);
  ASSERT_TRUE(parts.ok());
  auto der = EncodeEnvelopedData(*parts);
  ASSERT_TRUE(der.ok()) << der.status();
  auto again = ParseEnvelopedData(*der);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *parts);
  // OpenSSL's CMS parser agrees that both are EnvelopedData.
  for (const Bytes* b : {&ber_, &*der}) {
    const uint8_t* p = b->data();
    CMS_ContentInfo* cms = d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(b->size()));
    ASSERT_NE(cms, nullptr);
    EXPECT_EQ(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_enveloped);
    CMS_ContentInfo_free(cms);
  }
}

TEST_F(KmsVector, NoPrivateKeySoOpenFailsWithTheOneError) {
  EXPECT_EQ(OpenEnvelopedData(ber_, Key()).status(), kDecryptFailed);
}

TEST_F(KmsVector, EveryTruncationFails) {
  for (size_t len = 0; len < ber_.size(); ++len) {
    EXPECT_FALSE(ParseEnvelopedData(ByteSpan(ber_).first(len)).ok()) << len;
  }
  Bytes longer = ber_;
  longer.push_back(0);
  EXPECT_FALSE(ParseEnvelopedData(longer).ok());
}

TEST_F(KmsVector, EveryBitFlipParsesCleanlyOrFails) {
  int parsed = 0;
  for (size_t bit = 0; bit < ber_.size() * 8; ++bit) {
    Bytes bad = ber_;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto parts = ParseEnvelopedData(bad);
    if (parts.ok()) {
      ++parsed;
      // Whatever parses re-encodes to the same parts.
      auto der = EncodeEnvelopedData(*parts);
      ASSERT_TRUE(der.ok());
      EXPECT_EQ(*ParseEnvelopedData(*der), *parts);
    }
  }
  EXPECT_GT(parsed, 0);  // flips inside key id, key, IV and ciphertext bytes still parse
}

// ------------------------------------------------------------------ create / open

TEST(Cms, CreateOpenRoundTrip) {
  const RsaPublicKey pub = Key().PublicKey();
  for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{32},
                   size_t{4096}, kMaxEnvelopedContentBytes - 16}) {
    Bytes msg(n);
    for (size_t i = 0; i < n; ++i) msg[i] = static_cast<uint8_t>(i * 7);
    auto ber = CreateEnvelopedData(pub, kKeyId, msg);
    ASSERT_TRUE(ber.ok()) << ber.status();
    auto parts = ParseEnvelopedData(*ber);
    ASSERT_TRUE(parts.ok()) << parts.status();
    EXPECT_EQ(parts->recipient_key_id, kKeyId);
    EXPECT_EQ(parts->ciphertext.size(), (n / 16 + 1) * 16);
    EXPECT_EQ(parts->oaep_hash_oid, kOidSha256);
    EXPECT_EQ(parts->oaep_mgf_hash_oid, kOidSha256);
    auto pt = OpenEnvelopedData(*ber, Key());
    ASSERT_TRUE(pt.ok()) << pt.status();
    EXPECT_EQ(Plain(*pt), msg);
  }
  EXPECT_EQ(CreateEnvelopedData(pub, kKeyId, Bytes(kMaxEnvelopedContentBytes - 15)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateEnvelopedData(pub, {}, ToBytes("x")).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto via_spki = CreateEnvelopedDataForSpki(pub.SpkiDer(), kKeyId, ToBytes("via spki"));
  ASSERT_TRUE(via_spki.ok()) << via_spki.status();
  EXPECT_EQ(Plain(*OpenEnvelopedData(*via_spki, Key())), ToBytes("via spki"));
  EXPECT_FALSE(CreateEnvelopedDataForSpki(ToBytes("junk"), kKeyId, ToBytes("x")).ok());
}

TEST(Cms, WrongKeyFails) {
  auto ber = CreateEnvelopedData(Key().PublicKey(), kKeyId, ToBytes("secret data key"));
  ASSERT_TRUE(ber.ok());
  auto other = RsaPrivateKey::Generate(2048);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(OpenEnvelopedData(*ber, *other).status(), kDecryptFailed);
}

// Locates `needle` inside `hay` (the test's own random values are unique there).
size_t Find(const Bytes& hay, const Bytes& needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
  EXPECT_NE(it, hay.end());
  return static_cast<size_t>(it - hay.begin());
}

TEST(Cms, TruncationsAndBitFlips) {
  const Bytes msg = ToBytes("a 32-byte AES data key goes here");
  auto ber = CreateEnvelopedData(Key().PublicKey(), kKeyId, msg);
  ASSERT_TRUE(ber.ok());
  for (size_t len = 0; len < ber->size(); ++len) {
    EXPECT_FALSE(OpenEnvelopedData(ByteSpan(*ber).first(len), Key()).ok()) << len;
  }
  // EnvelopedData has no integrity: flips inside the key id (not compared), the IV or the
  // ciphertext may still decrypt, to different plaintext. Every other flip must fail.
  auto parts = ParseEnvelopedData(*ber);
  ASSERT_TRUE(parts.ok());
  const size_t kid_at = Find(*ber, parts->recipient_key_id);
  const size_t iv_at = Find(*ber, parts->iv);
  const size_t ct_at = Find(*ber, parts->ciphertext);
  auto malleable = [&](size_t byte) {
    return (byte >= kid_at && byte < kid_at + parts->recipient_key_id.size()) ||
           (byte >= iv_at && byte < iv_at + parts->iv.size()) ||
           (byte >= ct_at && byte < ct_at + parts->ciphertext.size());
  };
  int opened = 0;
  for (size_t bit = 0; bit < ber->size() * 8; ++bit) {
    Bytes bad = *ber;
    const size_t byte = bit / 8;
    bad[byte] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto pt = OpenEnvelopedData(bad, Key());
    if (!pt.ok()) continue;
    ++opened;
    EXPECT_TRUE(malleable(byte)) << "flip at byte " << byte << " was accepted";
    if (byte >= iv_at && byte < ct_at + parts->ciphertext.size() &&
        !(byte >= kid_at && byte < kid_at + parts->recipient_key_id.size())) {
      EXPECT_NE(Plain(*pt), msg) << byte;
    }
  }
  EXPECT_GT(opened, 0);
}

TEST(Cms, OpenRefusesOtherAlgorithms) {
  auto ber = CreateEnvelopedData(Key().PublicKey(), kKeyId, ToBytes("k"));
  ASSERT_TRUE(ber.ok());
  const EnvelopedDataParts good = *ParseEnvelopedData(*ber);
  auto open = [&](const EnvelopedDataParts& p) {
    auto der = EncodeEnvelopedData(p);
    EXPECT_TRUE(der.ok()) << der.status();
    return OpenEnvelopedData(*der, Key()).status();
  };
  EXPECT_TRUE(open(good).ok());
  EnvelopedDataParts p = good;
  p.oaep_hash_oid = kOidSha1;
  EXPECT_EQ(open(p).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(open(p), kDecryptFailed);
  p = good;
  p.oaep_mgf_hash_oid = kOidSha1;
  EXPECT_NE(open(p), kDecryptFailed);
  p = good;
  p.content_encryption_oid = "2.16.840.1.101.3.4.1.2";  // aes-128-cbc
  EXPECT_NE(open(p), kDecryptFailed);
  p = good;
  p.content_type_oid = "1.2.840.113549.1.7.2";
  EXPECT_FALSE(open(p).ok());
  p = good;
  p.iv.resize(12);
  EXPECT_FALSE(open(p).ok());
  p = good;
  p.ciphertext.pop_back();
  EXPECT_FALSE(open(p).ok());
  // A label that was not used for wrapping: the one error.
  p = good;
  p.oaep_label = ToBytes("label");
  EXPECT_EQ(open(p), kDecryptFailed);
}

TEST(Cms, ParserRejectsOtherShapes) {
  EXPECT_FALSE(ParseEnvelopedData({}).ok());
  EXPECT_FALSE(ParseEnvelopedData(Bytes(kMaxEnvelopedDataBytes + 1, 0x30)).ok());
  // id-data ContentInfo instead of EnvelopedData.
  EXPECT_FALSE(ParseEnvelopedData(*base::HexDecode("300f06092a864886f70d010701a0020400")).ok());
  EnvelopedDataParts p =
      *ParseEnvelopedData(*CreateEnvelopedData(Key().PublicKey(), kKeyId, ToBytes("k")));
  EXPECT_FALSE(EncodeEnvelopedData([&] {
                 auto q = p;
                 q.recipient_key_id.clear();
                 return q;
               }())
                   .ok());
  EXPECT_FALSE(EncodeEnvelopedData([&] {
                 auto q = p;
                 q.content_type_oid = "not an oid";
                 return q;
               }())
                   .ok());
}

// ------------------------------------------------------------------ OpenSSL interop

// A self-signed RSA certificate with a subjectKeyIdentifier, for OpenSSL's CMS API.
internal::X509Ptr RsaCert(const RsaPrivateKey& key) {
  const SecretBytes secret = key.Pkcs8Der();
  const Bytes p8(secret.ExposeSecret().begin(), secret.ExposeSecret().end());
  const uint8_t* p = p8.data();
  internal::EvpPkeyPtr pkey(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(p8.size())));
  internal::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("enclave"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), pkey.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_key_identifier, "hash");
  X509_add_ext(cert.get(), ext, -1);
  X509_EXTENSION_free(ext);
  EXPECT_GT(X509_sign(cert.get(), pkey.get(), EVP_sha256()), 0);
  return cert;
}

TEST(CmsInterop, OpenSslDecryptsOurs) {
  auto ber = CreateEnvelopedData(Key().PublicKey(), kKeyId, ToBytes("to openssl"));
  ASSERT_TRUE(ber.ok());
  const uint8_t* p = ber->data();
  CMS_ContentInfo* cms = d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(ber->size()));
  ASSERT_NE(cms, nullptr);
  const SecretBytes secret = Key().Pkcs8Der();
  const Bytes p8(secret.ExposeSecret().begin(), secret.ExposeSecret().end());
  const uint8_t* k = p8.data();
  internal::EvpPkeyPtr pkey(d2i_AutoPrivateKey(nullptr, &k, static_cast<long>(p8.size())));
  internal::BioPtr out(BIO_new(BIO_s_mem()));
  EXPECT_EQ(CMS_decrypt(cms, pkey.get(), nullptr, nullptr, out.get(), CMS_BINARY), 1);
  EXPECT_EQ(internal::MemBioString(out.get()), "to openssl");
  CMS_ContentInfo_free(cms);
}

TEST(CmsInterop, WeOpenOpenSslOaepSha256Messages) {
  internal::X509Ptr cert = RsaCert(Key());
  const std::string msg = "from openssl";
  internal::BioPtr in(BIO_new_mem_buf(msg.data(), static_cast<int>(msg.size())));
  CMS_ContentInfo* cms =
      CMS_encrypt(nullptr, in.get(), EVP_aes_256_cbc(), CMS_BINARY | CMS_PARTIAL | CMS_KEY_PARAM);
  ASSERT_NE(cms, nullptr);
  CMS_RecipientInfo* ri = CMS_add1_recipient_cert(cms, cert.get(), CMS_USE_KEYID | CMS_KEY_PARAM);
  ASSERT_NE(ri, nullptr);
  EVP_PKEY_CTX* pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()), 1);
  ASSERT_EQ(CMS_final(cms, in.get(), nullptr, CMS_BINARY), 1);
  const int len = i2d_CMS_ContentInfo(cms, nullptr);
  ASSERT_GT(len, 0);
  Bytes der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  ASSERT_EQ(i2d_CMS_ContentInfo(cms, &p), len);
  CMS_ContentInfo_free(cms);

  auto parts = ParseEnvelopedData(der);
  ASSERT_TRUE(parts.ok()) << parts.status();
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert.get());
  ASSERT_NE(ski, nullptr);
  EXPECT_EQ(parts->recipient_key_id, Bytes(ASN1_STRING_get0_data(ski),
                                           ASN1_STRING_get0_data(ski) + ASN1_STRING_length(ski)));
  auto pt = OpenEnvelopedData(der, Key());
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(AsStringView(pt->ExposeSecret()), msg);
}

}  // namespace
}  // namespace confide::crypto
