#include "crypto/x509.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "base/encoding.h"
#include "crypto/sha.h"
#include "gtest/gtest.h"
#include "testing/testdata.h"

namespace confide::crypto {
namespace {

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

// ------------------------------------------------------------------ simulation CA fixture

struct Issued {
  Certificate cert;
  EcdsaPrivateKey key;
};

CertificateSpec Spec(const std::string& cn, bool is_ca, absl::Time nb, absl::Time na,
                     std::optional<int> path_len = std::nullopt) {
  CertificateSpec spec;
  spec.subject.country = "US";
  spec.subject.organization = "confide";
  spec.subject.organizational_unit = "simulation";
  spec.subject.common_name = cn;
  spec.not_before = nb;
  spec.not_after = na;
  spec.is_ca = is_ca;
  spec.path_len = path_len;
  return spec;
}

Issued MakeRoot(const std::string& cn = "sim-root") {
  auto key = EcdsaPrivateKey::Generate(Curve::kP384);
  EXPECT_TRUE(key.ok());
  auto cert = CreateSelfSignedCertificate(Spec(cn, true, Utc(2020, 1, 1), Utc(2050, 1, 1)), *key);
  EXPECT_TRUE(cert.ok()) << cert.status();
  return Issued{*std::move(cert), *std::move(key)};
}

Issued MakeIssued(const Issued& issuer, CertificateSpec spec) {
  auto key = EcdsaPrivateKey::Generate(Curve::kP384);
  EXPECT_TRUE(key.ok());
  auto cert = IssueCertificate(spec, key->PublicKey(), issuer.cert, issuer.key);
  EXPECT_TRUE(cert.ok()) << cert.status();
  return Issued{*std::move(cert), *std::move(key)};
}

// Root (2020..2050) -> intermediate (2021..2040, pathlen 0) -> leaf (2024-01-01..2024-02-01).
struct SimChain {
  Issued root = MakeRoot();
  Issued inter =
      MakeIssued(root, Spec("sim-intermediate", true, Utc(2021, 1, 1), Utc(2040, 1, 1), 0));
  Issued leaf = MakeIssued(inter, Spec("sim-leaf", false, Utc(2024, 1, 1), Utc(2024, 2, 1)));
  std::vector<Certificate> inters() const { return {inter.cert}; }
};

const absl::Time kInside = Utc(2024, 1, 15);

TEST(X509Builder, FieldsAndExtensions) {
  SimChain c;
  EXPECT_EQ(c.root.cert.Subject(), "CN=sim-root,OU=simulation,O=confide,C=US");
  EXPECT_EQ(c.root.cert.Issuer(), c.root.cert.Subject());
  EXPECT_EQ(c.leaf.cert.Issuer(), c.inter.cert.Subject());
  EXPECT_TRUE(c.root.cert.IsCa());
  EXPECT_EQ(c.root.cert.PathLen(), std::nullopt);
  EXPECT_TRUE(c.inter.cert.IsCa());
  EXPECT_EQ(c.inter.cert.PathLen(), 0);
  EXPECT_FALSE(c.leaf.cert.IsCa());
  EXPECT_EQ(c.leaf.cert.NotBefore(), Utc(2024, 1, 1));
  EXPECT_EQ(c.leaf.cert.NotAfter(), Utc(2024, 2, 1));
  EXPECT_EQ(c.root.cert.SubjectKeyId().size(), 20u);
  EXPECT_TRUE(c.root.cert.AuthorityKeyId().empty());
  EXPECT_EQ(c.inter.cert.AuthorityKeyId(), c.root.cert.SubjectKeyId());
  EXPECT_EQ(c.leaf.cert.AuthorityKeyId(), c.inter.cert.SubjectKeyId());
  EXPECT_EQ(c.root.cert.SerialHex().size(), 32u);  // 16 random bytes, top byte 0x40..0x7f
  EXPECT_NE(c.root.cert.SerialHex(), c.inter.cert.SerialHex());
  auto key = c.leaf.cert.EcdsaKey();
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->curve(), Curve::kP384);
  EXPECT_EQ(key->UncompressedPoint(), c.leaf.key.PublicKey().UncompressedPoint());
  EXPECT_EQ(c.leaf.cert.SpkiDer(), c.leaf.key.PublicKey().SpkiDer());
  // The leaf key signs; the certificate's key verifies.
  auto sig = c.leaf.key.Sign(ToBytes("doc"), SignatureFormat::kRaw);
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(key->Verify(ToBytes("doc"), *sig, SignatureFormat::kRaw).ok());
}

TEST(X509Builder, ExplicitSerialNamesAndP256Subject) {
  Issued root = MakeRoot();
  CertificateSpec spec = Spec("leaf", false, Utc(2024, 1, 1), Utc(2025, 1, 1));
  spec.serial = Bytes{0x01, 0x02, 0xff};
  spec.subject.state = "Washington";
  spec.subject.locality = "Seattle";
  auto p256 = EcdsaPrivateKey::Generate(Curve::kP256);
  ASSERT_TRUE(p256.ok());
  auto cert = IssueCertificate(spec, p256->PublicKey(), root.cert, root.key);
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(cert->SerialHex(), "0102ff");
  EXPECT_EQ(cert->Subject(), "CN=leaf,OU=simulation,O=confide,L=Seattle,ST=Washington,C=US");
  EXPECT_EQ(cert->EcdsaKey()->curve(), Curve::kP256);
  EXPECT_TRUE(VerifyChain(root.cert, {}, *cert, Utc(2024, 6, 1)).ok());
  // A 20-octet serial with the top bit set would need 21 octets.
  spec.serial = Bytes(20, 0xff);
  EXPECT_EQ(IssueCertificate(spec, p256->PublicKey(), root.cert, root.key).status().code(),
            absl::StatusCode::kInvalidArgument);
  spec.serial = Bytes(20, 0x7f);
  EXPECT_TRUE(IssueCertificate(spec, p256->PublicKey(), root.cert, root.key).ok());
}

TEST(X509Builder, SubjectAltNamesAndServerAuth) {
  Issued root = MakeRoot();
  CertificateSpec spec = Spec("gw", false, Utc(2024, 1, 1), Utc(2025, 1, 1));
  spec.dns_names = {"gw.confide.local", "*.pool.confide.local", "localhost"};
  spec.ip_addresses = {"127.0.0.1", "::1"};
  spec.server_auth = true;
  auto key = EcdsaPrivateKey::Generate(Curve::kP256);
  ASSERT_TRUE(key.ok());
  auto cert = IssueCertificate(spec, key->PublicKey(), root.cert, root.key);
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(cert->SubjectAltNames(),
            (std::vector<std::string>{"DNS:gw.confide.local", "DNS:*.pool.confide.local",
                                      "DNS:localhost", "IP:127.0.0.1", "IP:::1"}));
  EXPECT_TRUE(VerifyChain(root.cert, {}, *cert, Utc(2024, 6, 1)).ok());
  EXPECT_TRUE(root.cert.SubjectAltNames().empty());
  for (const char* bad : {"", "a,DNS:evil", "a..b", ".a", "a.", "sp ace", "x:y", "*"}) {
    CertificateSpec b = spec;
    b.dns_names = {bad};
    EXPECT_EQ(IssueCertificate(b, key->PublicKey(), root.cert, root.key).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  for (const char* bad : {"", "1.2.3", "1.2.3.4,DNS:x", "::g", "localhost"}) {
    CertificateSpec b = spec;
    b.ip_addresses = {bad};
    EXPECT_EQ(IssueCertificate(b, key->PublicKey(), root.cert, root.key).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(X509Builder, RejectsBadSpecs) {
  Issued root = MakeRoot();
  const EcdsaPublicKey pub = root.key.PublicKey();
  auto bad = [&](CertificateSpec spec) {
    return IssueCertificate(spec, pub, root.cert, root.key).status().code();
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  CertificateSpec s = Spec("x", false, Utc(2024, 1, 1), Utc(2025, 1, 1));
  CertificateSpec t = s;
  t.subject = DistinguishedName{};
  EXPECT_EQ(bad(t), kInvalid);
  t = s;
  t.subject.country = "usa";
  EXPECT_EQ(bad(t), kInvalid);
  t = s;
  t.subject.country = "us";
  EXPECT_EQ(bad(t), kInvalid);
  t = s;
  t.not_after = Utc(2023, 1, 1);
  EXPECT_EQ(bad(t), kInvalid);
  t = s;
  t.path_len = 1;  // not a CA
  EXPECT_EQ(bad(t), kInvalid);
  t = s;
  t.serial = Bytes{0, 0};
  EXPECT_EQ(bad(t), kInvalid);
  t = s;
  t.not_after = absl::InfiniteFuture();
  EXPECT_EQ(bad(t), kInvalid);
  t = s;
  t.subject.common_name = std::string(65, 'a');
  EXPECT_EQ(bad(t), kInvalid);

  // The signer must be P-384.
  auto p256 = EcdsaPrivateKey::Generate(Curve::kP256);
  ASSERT_TRUE(p256.ok());
  EXPECT_EQ(CreateSelfSignedCertificate(Spec("r", true, Utc(2024, 1, 1), Utc(2025, 1, 1)), *p256)
                .status()
                .code(),
            kInvalid);
  // The issuer key must match the issuer certificate.
  Issued other = MakeRoot("other");
  EXPECT_EQ(IssueCertificate(s, pub, root.cert, other.key).status().code(), kInvalid);
}

// ------------------------------------------------------------------ chain verification

TEST(X509Verify, GoodChainAndWindow) {
  SimChain c;
  const auto inters = c.inters();
  EXPECT_TRUE(VerifyChain(c.root.cert, inters, c.leaf.cert, kInside).ok());
  // At whole seconds, notBefore is inside and notAfter is outside (OpenSSL's X509_cmp_time).
  EXPECT_TRUE(VerifyChain(c.root.cert, inters, c.leaf.cert, Utc(2024, 1, 1)).ok());
  EXPECT_TRUE(VerifyChain(c.root.cert, inters, c.leaf.cert,
                          Utc(2024, 1, 31, 23, 59, 59) + absl::Milliseconds(999))
                  .ok());
  EXPECT_FALSE(VerifyChain(c.root.cert, inters, c.leaf.cert, Utc(2024, 2, 1)).ok());
  // Root directly issuing a CA-less chain: the intermediate as the leaf.
  EXPECT_TRUE(VerifyChain(c.root.cert, {}, c.inter.cert, kInside).ok());

  const ValidityWindow w = ChainValidityWindow(c.root.cert, inters, c.leaf.cert);
  EXPECT_EQ(w.not_before, Utc(2024, 1, 1));
  EXPECT_EQ(w.not_after, Utc(2024, 2, 1));
  EXPECT_TRUE(w.Contains(kInside));
  EXPECT_TRUE(w.Contains(Utc(2024, 1, 31, 23, 59, 59) + absl::Milliseconds(999)));
  EXPECT_FALSE(w.Contains(Utc(2024, 2, 1)));
  EXPECT_FALSE(w.Contains(Utc(2023, 12, 31, 23, 59, 59)));
  // The window agrees with VerifyChain around both edges.
  for (absl::Time t :
       {Utc(2023, 12, 31, 23, 59, 59), Utc(2023, 12, 31, 23, 59, 59) + absl::Milliseconds(500),
        Utc(2024, 1, 1), Utc(2024, 1, 31, 23, 59, 59), Utc(2024, 2, 1),
        Utc(2024, 2, 1) + absl::Milliseconds(500), Utc(2024, 2, 1, 0, 0, 1)}) {
    EXPECT_EQ(w.Contains(t), VerifyChain(c.root.cert, inters, c.leaf.cert, t).ok());
  }
}

TEST(X509Verify, ExpiredAndNotYetValid) {
  SimChain c;
  const auto inters = c.inters();
  absl::Status s = VerifyChain(c.root.cert, inters, c.leaf.cert, Utc(2024, 2, 1));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(std::string(s.message()), "certificate expired (chain position 2: leaf)");
  s = VerifyChain(c.root.cert, inters, c.leaf.cert, Utc(2023, 12, 31, 23, 59, 59));
  EXPECT_EQ(std::string(s.message()), "certificate not yet valid (chain position 2: leaf)");
  // The intermediate's own window is checked too.
  s = VerifyChain(c.root.cert, {}, c.inter.cert, Utc(2020, 6, 1));
  EXPECT_EQ(std::string(s.message()), "certificate not yet valid (chain position 1: leaf)");
  // And the root's.
  s = VerifyChain(c.root.cert, {}, c.inter.cert, Utc(2019, 6, 1));
  EXPECT_EQ(std::string(s.message()), "certificate not yet valid (chain position 0: root)");
  s = VerifyChain(c.root.cert, inters, c.leaf.cert, Utc(2055, 1, 1));
  EXPECT_EQ(std::string(s.message()), "certificate expired (chain position 0: root)");
}

// Returns `cert` with its last byte (inside the ECDSA signature's s value) flipped.
Certificate TamperSignature(const Certificate& cert) {
  Bytes der = cert.Der();
  der.back() ^= 0x01;
  auto out = Certificate::FromDer(der);
  EXPECT_TRUE(out.ok()) << out.status();
  return *out;
}

TEST(X509Verify, WrongRoot) {
  SimChain c;
  const auto inters = c.inters();
  // Same name, different key.
  Issued impostor = MakeRoot("sim-root");
  ASSERT_EQ(impostor.cert.Subject(), c.root.cert.Subject());
  absl::Status s = VerifyChain(impostor.cert, inters, c.leaf.cert, kInside);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(std::string(s.message()),
            "unable to get issuer certificate / untrusted root (chain position 1: intermediate)");
  // Another name.
  Issued other = MakeRoot("other-root");
  s = VerifyChain(other.cert, inters, c.leaf.cert, kInside);
  EXPECT_EQ(std::string(s.message()),
            "unable to get issuer certificate / untrusted root (chain position 1: intermediate)");
  // The root must not be passed as an intermediate as well.
  std::vector<Certificate> with_root = {c.root.cert, c.inter.cert};
  EXPECT_FALSE(VerifyChain(c.root.cert, with_root, c.leaf.cert, kInside).ok());
  // A non-self-signed "root" (the intermediate pinned as root) is not a trust anchor.
  s = VerifyChain(c.inter.cert, {}, c.leaf.cert, kInside);
  EXPECT_EQ(std::string(s.message()),
            "unable to get issuer certificate / untrusted root (chain position 0: root): the "
            "pinned root is not self-signed");
  // Nor is a self-issued root whose self-signature is broken.
  s = VerifyChain(TamperSignature(c.root.cert), inters, c.leaf.cert, kInside);
  EXPECT_TRUE(absl::StrContains(s.message(), "not self-signed")) << s;
}

TEST(X509Verify, ReorderedOrMissingIntermediate) {
  Issued root = MakeRoot();
  Issued i1 = MakeIssued(root, Spec("i1", true, Utc(2021, 1, 1), Utc(2040, 1, 1)));
  Issued i2 = MakeIssued(i1, Spec("i2", true, Utc(2021, 1, 1), Utc(2040, 1, 1)));
  Issued leaf = MakeIssued(i2, Spec("leaf", false, Utc(2024, 1, 1), Utc(2024, 2, 1)));
  std::vector<Certificate> good = {i1.cert, i2.cert};
  EXPECT_TRUE(VerifyChain(root.cert, good, leaf.cert, kInside).ok());

  std::vector<Certificate> swapped = {i2.cert, i1.cert};
  absl::Status s = VerifyChain(root.cert, swapped, leaf.cert, kInside);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(s.ok());

  std::vector<Certificate> missing_top = {i2.cert};
  s = VerifyChain(root.cert, missing_top, leaf.cert, kInside);
  EXPECT_EQ(std::string(s.message()),
            "unable to get issuer certificate / untrusted root (chain position 1: intermediate)");
  std::vector<Certificate> missing_bottom = {i1.cert};
  s = VerifyChain(root.cert, missing_bottom, leaf.cert, kInside);
  EXPECT_EQ(std::string(s.message()),
            "unable to get issuer certificate: not issued by chain position 1; intermediates "
            "missing or out of order (chain position 2: leaf)");
  EXPECT_FALSE(VerifyChain(root.cert, {}, leaf.cert, kInside).ok());
  std::vector<Certificate> duplicated = {i1.cert, i1.cert, i2.cert};
  EXPECT_FALSE(VerifyChain(root.cert, duplicated, leaf.cert, kInside).ok());
}

TEST(X509Verify, TamperedSignature) {
  SimChain c;
  std::vector<Certificate> bad_inter = {TamperSignature(c.inter.cert)};
  absl::Status s = VerifyChain(c.root.cert, bad_inter, c.leaf.cert, kInside);
  EXPECT_EQ(std::string(s.message()),
            "certificate signature failure (chain position 1: intermediate)");
  s = VerifyChain(c.root.cert, c.inters(), TamperSignature(c.leaf.cert), kInside);
  EXPECT_EQ(std::string(s.message()), "certificate signature failure (chain position 2: leaf)");
}

TEST(X509Verify, LeafActingAsCa) {
  SimChain c;
  // The simulation builder lets a leaf issue (to test exactly this).
  Issued rogue = MakeIssued(c.leaf, Spec("rogue", false, Utc(2024, 1, 1), Utc(2024, 2, 1)));
  std::vector<Certificate> inters = {c.inter.cert, c.leaf.cert};
  absl::Status s = VerifyChain(c.root.cert, inters, rogue.cert, kInside);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(std::string(s.message()), "invalid CA certificate (chain position 2: intermediate)");
}

TEST(X509Verify, PathLengthExceeded) {
  SimChain c;  // the intermediate has pathlen 0
  Issued sub = MakeIssued(c.inter, Spec("sub-ca", true, Utc(2021, 1, 1), Utc(2040, 1, 1)));
  Issued leaf = MakeIssued(sub, Spec("leaf", false, Utc(2024, 1, 1), Utc(2024, 2, 1)));
  std::vector<Certificate> inters = {c.inter.cert, sub.cert};
  absl::Status s = VerifyChain(c.root.cert, inters, leaf.cert, kInside);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(s.message(), "path length exceeded")) << s;
}

TEST(X509Verify, TooManyIntermediates) {
  SimChain c;
  std::vector<Certificate> many(kMaxIntermediates + 1, c.inter.cert);
  EXPECT_EQ(VerifyChain(c.root.cert, many, c.leaf.cert, kInside).code(),
            absl::StatusCode::kInvalidArgument);
}

// Every single-byte change to the leaf either fails to parse or fails verification.
TEST(X509Verify, EveryLeafByteFlipFails) {
  SimChain c;
  const auto inters = c.inters();
  const Bytes der = c.leaf.cert.Der();
  int parsed = 0;
  for (size_t i = 0; i < der.size(); ++i) {
    Bytes bad = der;
    bad[i] ^= 0x01;
    auto cert = Certificate::FromDer(bad);
    if (!cert.ok()) continue;
    ++parsed;
    EXPECT_FALSE(VerifyChain(c.root.cert, inters, *cert, kInside).ok()) << "byte " << i;
  }
  EXPECT_GT(parsed, 0);
}

// ------------------------------------------------------------------ parsing

TEST(X509Parse, DerAndPemRoundTrips) {
  SimChain c;
  const Bytes der = c.leaf.cert.Der();
  auto again = Certificate::FromDer(der);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again == c.leaf.cert);
  auto from_pem = Certificate::FromPem(c.leaf.cert.Pem());
  ASSERT_TRUE(from_pem.ok()) << from_pem.status();
  EXPECT_EQ(from_pem->Der(), der);

  const std::string bundle =
      "junk before\n" + c.leaf.cert.Pem() + c.inter.cert.Pem() + "\n" + c.root.cert.Pem();
  auto chain = Certificate::ParsePemChain(bundle);
  ASSERT_TRUE(chain.ok()) << chain.status();
  ASSERT_EQ(chain->size(), 3u);
  EXPECT_TRUE((*chain)[0] == c.leaf.cert);
  EXPECT_TRUE((*chain)[2] == c.root.cert);
  EXPECT_FALSE(Certificate::FromPem(bundle).ok());  // more than one
  EXPECT_FALSE(Certificate::ParsePemChain("").ok());
  EXPECT_FALSE(Certificate::ParsePemChain("no pem here").ok());
  EXPECT_FALSE(
      Certificate::ParsePemChain("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
          .ok());
  std::string broken = c.leaf.cert.Pem();
  broken[40] = '*';
  EXPECT_FALSE(Certificate::ParsePemChain(broken).ok());
}

TEST(X509Parse, RejectsTruncationTrailingAndGarbage) {
  SimChain c;
  const Bytes der = c.inter.cert.Der();
  for (size_t len = 0; len < der.size(); ++len) {
    EXPECT_FALSE(Certificate::FromDer(ByteSpan(der).first(len)).ok()) << len;
  }
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_FALSE(Certificate::FromDer(trailing).ok());
  // Two certificates back to back are not one certificate.
  Bytes two = Concat({der, der});
  EXPECT_FALSE(Certificate::FromDer(two).ok());
  EXPECT_FALSE(Certificate::FromDer(Bytes(Certificate::kMaxDerBytes + 1, 0x30)).ok());
  // Non-canonical length encoding of the outer SEQUENCE (0x30 0x83 00 LL LL).
  ASSERT_EQ(der[1], 0x82);
  Bytes ber = {0x30, 0x83, 0x00, der[2], der[3]};
  ber.insert(ber.end(), der.begin() + 4, der.end());
  EXPECT_FALSE(Certificate::FromDer(ber).ok());
}

// ------------------------------------------------------------------ the real AWS Nitro chain

// ExtractNitroCertificates finds the DER certificates inside a raw attestation document by
// scanning for SEQUENCE headers with a two-byte length (30 82 LL LL) that parse as exactly one
// certificate. Test-only: the real parser is the COSE/CBOR attestation decoder.
std::vector<Certificate> ExtractNitroCertificates(const Bytes& doc) {
  std::vector<Certificate> out;
  size_t i = 0;
  while (i + 4 <= doc.size()) {
    if (doc[i] == 0x30 && doc[i + 1] == 0x82) {
      const size_t len = 4 + ((static_cast<size_t>(doc[i + 2]) << 8) | doc[i + 3]);
      if (i + len <= doc.size()) {
        auto cert = Certificate::FromDer(ByteSpan(doc).subspan(i, len));
        if (cert.ok()) {
          out.push_back(*std::move(cert));
          i += len;
          continue;
        }
      }
    }
    ++i;
  }
  return out;
}

class NitroChain : public ::testing::Test {
 protected:
  void SetUp() override {
    CONFIDE_SHARED_FILE_OR_SKIP(doc_path, "testdata/nitro/attestation_ic_tee_2024-11-05.hex");
    CONFIDE_SHARED_FILE_OR_SKIP(root_path, "testdata/nitro/aws_nitro_root_g1.pem");
    auto hex = confide::testing::ReadFile(doc_path);
    auto root_pem = confide::testing::ReadFile(root_path);
    ASSERT_TRUE(hex.has_value() && root_pem.has_value());
    std::string text(hex->begin(), hex->end());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    const Bytes doc = confide::testing::HexToBytes(text);
    ASSERT_EQ(doc.size(), 4461u);
    auto root = Certificate::FromPem(AsStringView(*root_pem));
    ASSERT_TRUE(root.ok()) << root.status();
    root_ = *root;
    // Document order: "certificate" (the leaf), then "cabundle" [root, regional, zonal,
    // instance].
    std::vector<Certificate> certs = ExtractNitroCertificates(doc);
    ASSERT_EQ(certs.size(), 5u);
    leaf_ = certs[0];
    ASSERT_TRUE(certs[1] == *root_) << "cabundle[0] must be the AWS root";
    intermediates_.assign(certs.begin() + 2, certs.end());
  }

  std::optional<Certificate> root_;
  std::optional<Certificate> leaf_;
  std::vector<Certificate> intermediates_;
};

const absl::Time kDocTime = absl::FromUnixMillis(1730792863352);

TEST_F(NitroChain, RootFields) {
  const Certificate& r = *root_;
  EXPECT_EQ(r.Subject(), "CN=aws.nitro-enclaves,OU=AWS,O=Amazon,C=US");
  EXPECT_EQ(r.Issuer(), r.Subject());
  EXPECT_EQ(r.SerialHex(), "f93175681b90afe11d46ccb4e4e7f856");
  EXPECT_EQ(r.NotBefore(), Utc(2019, 10, 28, 13, 28, 5));
  EXPECT_EQ(r.NotAfter(), Utc(2049, 10, 28, 14, 28, 5));
  EXPECT_TRUE(r.IsCa());
  EXPECT_EQ(r.PathLen(), std::nullopt);
  EXPECT_EQ(base::HexEncode(r.SubjectKeyId()), "9025b50dd90547e796c396fa729dcf99a9df4b96");
  EXPECT_EQ(base::HexEncode(Sha256(r.Der())),
            "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b");
  auto key = r.EcdsaKey();
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->curve(), Curve::kP384);
}

TEST_F(NitroChain, ChainShape) {
  ASSERT_EQ(intermediates_.size(), 3u);
  EXPECT_EQ(intermediates_[0].PathLen(), 2);
  EXPECT_EQ(intermediates_[1].PathLen(), 1);
  EXPECT_EQ(intermediates_[2].PathLen(), 0);
  for (const Certificate& c : intermediates_) EXPECT_TRUE(c.IsCa());
  EXPECT_FALSE(leaf_->IsCa());
  EXPECT_TRUE(leaf_->AuthorityKeyId().empty());  // why VerifyChain waives that strict check
  EXPECT_EQ(leaf_->Subject(),
            "CN=i-056e1ab9a31cd77a0-enc0192fb4ace44d1cf.us-west-1.aws,OU=AWS,O=Amazon,"
            "L=Seattle,ST=Washington,C=US");
  auto key = leaf_->EcdsaKey();
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->curve(), Curve::kP384);
}

TEST_F(NitroChain, VerifiesAtDocumentTime) {
  absl::Status s = VerifyChain(*root_, intermediates_, *leaf_, kDocTime);
  EXPECT_TRUE(s.ok()) << s;
  const ValidityWindow w = ChainValidityWindow(*root_, intermediates_, *leaf_);
  EXPECT_EQ(w.not_before, Utc(2024, 11, 5, 7, 47, 15));
  EXPECT_EQ(w.not_after, Utc(2024, 11, 5, 10, 47, 18));
  EXPECT_TRUE(w.Contains(kDocTime));
}

TEST_F(NitroChain, ExpiredToday) {
  absl::Status s = VerifyChain(*root_, intermediates_, *leaf_, Utc(2026, 11, 22));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StartsWith(s.message(), "certificate expired")) << s;
  EXPECT_EQ(std::string(s.message()), "certificate expired (chain position 1: intermediate)");
  // Just after the leaf's notAfter, the leaf is the one that expired.
  s = VerifyChain(*root_, intermediates_, *leaf_, Utc(2024, 11, 5, 10, 47, 18));
  EXPECT_EQ(std::string(s.message()), "certificate expired (chain position 4: leaf)");
  s = VerifyChain(*root_, intermediates_, *leaf_, Utc(2024, 11, 5, 7, 47, 14));
  EXPECT_EQ(std::string(s.message()), "certificate not yet valid (chain position 4: leaf)");
}

TEST_F(NitroChain, RejectsBrokenVariants) {
  std::vector<Certificate> reordered = {intermediates_[1], intermediates_[0], intermediates_[2]};
  EXPECT_FALSE(VerifyChain(*root_, reordered, *leaf_, kDocTime).ok());
  std::vector<Certificate> missing = {intermediates_[0], intermediates_[2]};
  EXPECT_FALSE(VerifyChain(*root_, missing, *leaf_, kDocTime).ok());
  // A simulation root is not the AWS root.
  Issued sim = MakeRoot("aws.nitro-enclaves");
  absl::Status s = VerifyChain(sim.cert, intermediates_, *leaf_, kDocTime);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "untrusted root")) << s;
  // The leaf cannot be verified against an intermediate pinned as root.
  std::vector<Certificate> tail = {intermediates_[1], intermediates_[2]};
  EXPECT_FALSE(VerifyChain(intermediates_[0], tail, *leaf_, kDocTime).ok());
}

}  // namespace
}  // namespace confide::crypto
