#include "crypto/rsa.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <string>

#include "crypto/internal/openssl_util.h"
#include "crypto/internal/pkey.h"
#include "gtest/gtest.h"
#include "testing/testdata.h"

namespace confide::crypto {
namespace {

Bytes Hex(const nlohmann::json& j) { return ::confide::testing::HexToBytes(j.get<std::string>()); }

// One 2048-bit key for the whole suite: generation is the slow part.
const RsaPrivateKey& TestKey() {
  static const RsaPrivateKey* key = [] {
    auto k = RsaPrivateKey::Generate(2048);
    if (!k.ok()) std::abort();
    return new RsaPrivateKey(*std::move(k));
  }();
  return *key;
}

TEST(RsaWycheproof, Oaep2048Sha256Mgf1Sha256) {
  CONFIDE_SHARED_FILE_OR_SKIP(path,
                              "testdata/wycheproof/rsa_oaep_2048_sha256_mgf1sha256_test.json");
  auto doc = confide::testing::ReadJson(path);
  ASSERT_TRUE(doc.has_value());
  ASSERT_EQ(doc->at("numberOfTests").get<int>(), 37);
  int total = 0, valid = 0, invalid = 0;
  for (const auto& group : doc->at("testGroups")) {
    ASSERT_EQ(group.at("sha").get<std::string>(), "SHA-256");
    ASSERT_EQ(group.at("mgfSha").get<std::string>(), "SHA-256");
    auto key = RsaPrivateKey::FromPkcs8Der(Hex(group.at("privateKeyPkcs8")));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(key->ModulusBits(), group.at("keySize").get<int>());
    // The PEM form is the same key.
    auto from_pem = RsaPrivateKey::FromPem(group.at("privateKeyPem").get<std::string>());
    ASSERT_TRUE(from_pem.ok()) << from_pem.status();
    EXPECT_EQ(from_pem->PublicKey().SpkiDer(), key->PublicKey().SpkiDer());
    for (const auto& t : group.at("tests")) {
      ++total;
      const std::string result = t.at("result").get<std::string>();
      const Bytes ct = Hex(t.at("ct"));
      const Bytes label = Hex(t.at("label"));
      auto pt = key->OaepDecrypt(ct, label);
      if (result == "valid") {
        ++valid;
        ASSERT_TRUE(pt.ok()) << "tcId " << t.at("tcId") << ": " << pt.status();
        const Bytes want = Hex(t.at("msg"));
        EXPECT_EQ(Bytes(pt->ExposeSecret().begin(), pt->ExposeSecret().end()), want)
            << "tcId " << t.at("tcId");
        // Encrypting the message again under the public key decrypts to the same bytes.
        auto again = key->PublicKey().OaepEncrypt(want, label);
        ASSERT_TRUE(again.ok()) << again.status();
        auto back = key->OaepDecrypt(*again, label);
        ASSERT_TRUE(back.ok());
        EXPECT_EQ(Bytes(back->ExposeSecret().begin(), back->ExposeSecret().end()), want);
      } else {
        ASSERT_EQ(result, "invalid") << "tcId " << t.at("tcId");
        ++invalid;
        ASSERT_FALSE(pt.ok()) << "tcId " << t.at("tcId") << ": " << t.at("comment");
        EXPECT_EQ(pt.status(), absl::InvalidArgumentError("RSA-OAEP decryption failed"))
            << "tcId " << t.at("tcId");
      }
    }
  }
  EXPECT_EQ(total, 37);
  EXPECT_EQ(valid, 18);
  EXPECT_EQ(invalid, 19);
}

TEST(Rsa, GenerateSizes) {
  for (int bits : {3072, 4096}) {
    auto key = RsaPrivateKey::Generate(bits);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(key->ModulusBits(), bits);
    EXPECT_EQ(key->ModulusLen(), static_cast<size_t>(bits / 8));
    auto ct = key->PublicKey().OaepEncrypt(ToBytes("data key"));
    ASSERT_TRUE(ct.ok());
    EXPECT_EQ(ct->size(), static_cast<size_t>(bits / 8));
    auto pt = key->OaepDecrypt(*ct);
    ASSERT_TRUE(pt.ok());
    EXPECT_EQ(AsStringView(pt->ExposeSecret()), "data key");
  }
  EXPECT_EQ(RsaPrivateKey::Generate(1024).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RsaPrivateKey::Generate(2047).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Rsa, ImportExportRoundTrips) {
  const RsaPrivateKey& key = TestKey();
  const RsaPublicKey pub = key.PublicKey();
  EXPECT_EQ(pub.ModulusBits(), 2048);

  auto pub_der = RsaPublicKey::FromSpkiDer(pub.SpkiDer());
  ASSERT_TRUE(pub_der.ok()) << pub_der.status();
  EXPECT_EQ(pub_der->SpkiDer(), pub.SpkiDer());
  const std::string pem = pub.Pem();
  EXPECT_EQ(pem.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  auto pub_pem = RsaPublicKey::FromPem(pem);
  ASSERT_TRUE(pub_pem.ok()) << pub_pem.status();
  EXPECT_EQ(pub_pem->SpkiDer(), pub.SpkiDer());

  auto priv_der = RsaPrivateKey::FromPkcs8Der(key.Pkcs8Der().ExposeSecret());
  ASSERT_TRUE(priv_der.ok()) << priv_der.status();
  EXPECT_EQ(priv_der->PublicKey().SpkiDer(), pub.SpkiDer());
  const SecretBytes priv_pem_text = key.Pem();
  EXPECT_EQ(AsStringView(priv_pem_text.ExposeSecret()).rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  auto priv_pem = RsaPrivateKey::FromPem(AsStringView(priv_pem_text.ExposeSecret()));
  ASSERT_TRUE(priv_pem.ok()) << priv_pem.status();

  // Keys made by one copy decrypt with the other.
  auto ct = pub_pem->OaepEncrypt(ToBytes("x"));
  ASSERT_TRUE(ct.ok());
  auto pt = priv_pem->OaepDecrypt(*ct);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(AsStringView(pt->ExposeSecret()), "x");
}

TEST(Rsa, RejectsMalformedKeys) {
  const RsaPrivateKey& key = TestKey();
  Bytes spki = key.PublicKey().SpkiDer();
  for (size_t len = 0; len < spki.size(); ++len) {
    EXPECT_FALSE(RsaPublicKey::FromSpkiDer(ByteSpan(spki).first(len)).ok()) << len;
  }
  Bytes trailing = spki;
  trailing.push_back(0);
  EXPECT_FALSE(RsaPublicKey::FromSpkiDer(trailing).ok());
  SecretBytes p8 = key.Pkcs8Der();
  for (size_t len = 0; len < p8.size(); len += 7) {
    EXPECT_FALSE(RsaPrivateKey::FromPkcs8Der(p8.ExposeSecret().first(len)).ok()) << len;
  }
  EXPECT_FALSE(RsaPublicKey::FromPem("not pem").ok());
  EXPECT_FALSE(RsaPrivateKey::FromPem("").ok());

  // An EC key is not an RSA key.
  internal::EvpPkeyPtr ec(EVP_EC_gen("P-256"));
  ASSERT_TRUE(ec);
  int len = i2d_PUBKEY(ec.get(), nullptr);
  Bytes ec_spki(static_cast<size_t>(len));
  uint8_t* p = ec_spki.data();
  ASSERT_EQ(i2d_PUBKEY(ec.get(), &p), len);
  EXPECT_EQ(RsaPublicKey::FromSpkiDer(ec_spki).status().code(), absl::StatusCode::kInvalidArgument);

  // A 1024-bit key is refused on import.
  internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* small = nullptr;
  ASSERT_EQ(EVP_PKEY_keygen_init(ctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 1024), 1);
  ASSERT_EQ(EVP_PKEY_generate(ctx.get(), &small), 1);
  internal::EvpPkeyPtr small_owner(small);
  len = i2d_PUBKEY(small, nullptr);
  Bytes small_spki(static_cast<size_t>(len));
  p = small_spki.data();
  ASSERT_EQ(i2d_PUBKEY(small, &p), len);
  EXPECT_EQ(RsaPublicKey::FromSpkiDer(small_spki).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Rsa, OaepLabelsLengthsAndTampering) {
  const RsaPrivateKey& key = TestKey();
  const RsaPublicKey pub = key.PublicKey();
  const size_t max = RsaOaepMaxPlaintextLen(pub.ModulusLen());
  EXPECT_EQ(max, 256u - 66u);

  for (size_t n : {size_t{0}, size_t{1}, size_t{32}, max}) {
    Bytes msg(n, 0x5a);
    auto ct = pub.OaepEncrypt(msg, ToBytes("label"));
    ASSERT_TRUE(ct.ok()) << n;
    auto pt = key.OaepDecrypt(*ct, ToBytes("label"));
    ASSERT_TRUE(pt.ok()) << n;
    EXPECT_EQ(Bytes(pt->ExposeSecret().begin(), pt->ExposeSecret().end()), msg);
  }
  EXPECT_EQ(pub.OaepEncrypt(Bytes(max + 1, 0)).status().code(), absl::StatusCode::kInvalidArgument);

  // Randomised: two encryptions differ.
  auto a = pub.OaepEncrypt(ToBytes("m"));
  auto b = pub.OaepEncrypt(ToBytes("m"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);

  const absl::Status kFailed = absl::InvalidArgumentError("RSA-OAEP decryption failed");
  // Wrong label, missing label, extra label: one error.
  auto with_label = pub.OaepEncrypt(ToBytes("m"), ToBytes("ctx"));
  ASSERT_TRUE(with_label.ok());
  EXPECT_EQ(key.OaepDecrypt(*with_label, ToBytes("cty")).status(), kFailed);
  EXPECT_EQ(key.OaepDecrypt(*with_label).status(), kFailed);
  EXPECT_EQ(key.OaepDecrypt(*a, ToBytes("ctx")).status(), kFailed);
  // Wrong length.
  EXPECT_EQ(key.OaepDecrypt(ByteSpan(*a).first(255)).status(), kFailed);
  Bytes longer = *a;
  longer.push_back(0);
  EXPECT_EQ(key.OaepDecrypt(longer).status(), kFailed);
  EXPECT_EQ(key.OaepDecrypt({}).status(), kFailed);
  // Every flipped bit: one error.
  for (size_t bit = 0; bit < a->size() * 8; bit += 13) {
    Bytes bad = *a;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_EQ(key.OaepDecrypt(bad).status(), kFailed) << bit;
  }
  // Another key: one error.
  auto other = RsaPrivateKey::Generate(2048);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->OaepDecrypt(*a).status(), kFailed);
}

// A ciphertext made with OpenSSL's defaults (OAEP with SHA-1 and MGF1-SHA-1) must not decrypt:
// proves that SHA-256 is really selected for both the hash and MGF1. And one made by OpenSSL
// with SHA-256 / MGF1-SHA-256 set through the legacy control API must decrypt.
TEST(Rsa, OaepIsSha256NotOpenSslDefault) {
  const RsaPrivateKey& key = TestKey();
  const RsaPublicKey pub = key.PublicKey();
  auto encrypt = [&](const EVP_MD* md, const EVP_MD* mgf) {
    internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pub.holder()->get(), nullptr));
    EXPECT_EQ(EVP_PKEY_encrypt_init(ctx.get()), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING), 1);
    if (md != nullptr) {
      EXPECT_EQ(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md), 1);
    }
    if (mgf != nullptr) {
      EXPECT_EQ(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), mgf), 1);
    }
    const uint8_t msg[] = {'k', 'e', 'y'};
    Bytes out(256);
    size_t out_len = out.size();
    EXPECT_EQ(EVP_PKEY_encrypt(ctx.get(), out.data(), &out_len, msg, sizeof(msg)), 1);
    out.resize(out_len);
    return out;
  };
  EXPECT_FALSE(key.OaepDecrypt(encrypt(nullptr, nullptr)).ok());
  EXPECT_FALSE(key.OaepDecrypt(encrypt(EVP_sha256(), EVP_sha1())).ok());
  EXPECT_FALSE(key.OaepDecrypt(encrypt(EVP_sha1(), EVP_sha256())).ok());
  auto pt = key.OaepDecrypt(encrypt(EVP_sha256(), EVP_sha256()));
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(AsStringView(pt->ExposeSecret()), "key");
}

}  // namespace
}  // namespace confide::crypto
