#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "attest/document.h"
#include "attest/emulated_nsm.h"
#include "attest/pcr.h"
#include "attest/verifier.h"
#include "base/encoding.h"
#include "cbor/codec.h"
#include "cbor/value.h"
#include "cose/sign1.h"
#include "crypto/ecdsa.h"
#include "crypto/x509.h"
#include "gtest/gtest.h"
#include "testing/testdata.h"

namespace confide::attest {
namespace {

using ::confide::testing::HexToBytes;
using ::confide::testing::ReadFile;
using ::confide::testing::ReadJson;

constexpr int64_t kNitroDocMs = 1730792863352;  // 2024-11-05T07:47:43.352Z

// --- PCRs ----------------------------------------------------------------------------------

TEST(Pcr, ExtendMatchesRealNitroPcr4) {
  // PCR4 of the real document is SHA-384(48 zero bytes || instance id) (SOURCES.md).
  auto pcr4 = ExtendPcr(ZeroPcr(), AsBytes("i-056e1ab9a31cd77a0"));
  ASSERT_TRUE(pcr4.ok());
  EXPECT_EQ(base::HexEncode(*pcr4),
            "234fd04dcbedf021cb980abf49c2b86b497e90d3348711887f33bc1bd07dc2dd13acf462abec2fd3"
            "6756f1089dc6f085");
  EXPECT_FALSE(ExtendPcr(Bytes(32, 0), AsBytes("x")).ok());
  // MeasureParent is how the launcher makes PCR3/PCR4: the real document's PCR4 again.
  EXPECT_EQ(MeasureParent("i-056e1ab9a31cd77a0"), *pcr4);
  EXPECT_EQ(MeasureParent(""), ZeroPcr());  // a parent with no IAM role
}

TEST(Pcr, MeasureIsOneExtensionWithTheDigest) {
  const Bytes section = ToBytes("application section");
  auto expect = ExtendPcr(ZeroPcr(), crypto::Sha384(section));
  ASSERT_TRUE(expect.ok());
  EXPECT_EQ(MeasureBytes(section), *expect);
}

TEST(Pcr, ParsePcrArg) {
  auto ok = ParsePcrArg("3=" + std::string(96, 'a'));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->first, 3u);
  EXPECT_EQ(ok->second.size(), 48u);
  for (const std::string& bad :
       std::vector<std::string>{"32=" + std::string(96, 'a'), "x=00", "=00", "1=zz", "1=0011",
                                "-1=" + std::string(96, 'a'), "1"}) {
    EXPECT_FALSE(ParsePcrArg(bad).ok()) << bad;
  }
}

// --- The real AWS Nitro document --------------------------------------------------------------

class NitroDocument : public ::testing::Test {
 protected:
  void SetUp() override {
    CONFIDE_SHARED_FILE_OR_SKIP(hex_path, "testdata/nitro/attestation_ic_tee_2024-11-05.hex");
    CONFIDE_SHARED_FILE_OR_SKIP(root_path, "testdata/nitro/aws_nitro_root_g1.pem");
    CONFIDE_SHARED_FILE_OR_SKIP(json_path,
                                "testdata/nitro/attestation_ic_tee_2024-11-05.expected.json");
    auto hex = ReadFile(hex_path);
    ASSERT_TRUE(hex.has_value());
    doc_ = HexToBytes(std::string(AsStringView(*hex)));
    ASSERT_EQ(doc_.size(), 4461u);
    root_ = *ReadFile(root_path);
    expected_ = *ReadJson(json_path);
    auto v = Verifier::Create(root_);
    ASSERT_TRUE(v.ok()) << v.status();
    verifier_.emplace(*std::move(v));
  }

  absl::Status VerifyAt(ByteSpan doc, absl::Time at, const Expectations& e = {}) {
    return verifier_->Verify(doc, e, at).status();
  }

  Bytes doc_;
  Bytes root_;
  nlohmann::json expected_;
  std::optional<Verifier> verifier_;
  const absl::Time doc_time_ = absl::FromUnixMillis(kNitroDocMs);
};

TEST_F(NitroDocument, VerifiesAtItsOwnTimeWithExpectedFields) {
  Expectations e;
  for (auto& [k, v] : expected_["decoded"]["pcrs"].items()) {
    e.pcrs[static_cast<uint32_t>(std::stoi(k))] = HexToBytes(v.get<std::string>());
  }
  auto r = verifier_->Verify(doc_, e, doc_time_);
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& d = r->document;
  EXPECT_EQ(d.module_id, expected_["decoded"]["module_id"].get<std::string>());
  EXPECT_EQ(d.digest, "SHA384");
  EXPECT_EQ(d.timestamp_ms, expected_["decoded"]["timestamp_ms"].get<uint64_t>());
  EXPECT_EQ(d.pcrs.size(), 16u);
  EXPECT_EQ(d.cabundle.size(), 4u);
  EXPECT_EQ(d.certificate.size(), 640u);
  EXPECT_FALSE(d.public_key.has_value());
  EXPECT_FALSE(d.user_data.has_value());
  EXPECT_FALSE(d.nonce.has_value());
  EXPECT_EQ(r->leaf_subject, expected_["decoded"]["certificate"]["subject"].get<std::string>());
  EXPECT_EQ(absl::ToUnixSeconds(r->leaf_not_after),
            expected_["expected"]["leaf_not_after_unix"].get<int64_t>());
  EXPECT_EQ(base::HexEncode(r->root_sha256),
            "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b");
  EXPECT_FALSE(r->chain_from_cache);
  EXPECT_FALSE(r->simulation);
  // A second verification reuses the cached chain.
  auto again = verifier_->Verify(doc_, e, doc_time_);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->chain_from_cache);
}

TEST_F(NitroDocument, RejectedTodayAsExpired) {
  absl::Time today = absl::FromUnixSeconds(1795305600);  // 2026-11-22T00:00:00Z
  absl::Status s = VerifyAt(doc_, today);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(s.message(), "certificate chain")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "expired")) << s;
}

TEST_F(NitroDocument, ValidityWindowEdges) {
  const int64_t nb = expected_["expected"]["leaf_not_before_unix"].get<int64_t>();
  const int64_t na = expected_["expected"]["leaf_not_after_unix"].get<int64_t>();
  // The cache must not let an expired chain through: warm it first.
  ASSERT_TRUE(VerifyAt(doc_, doc_time_).ok());
  Expectations lenient;
  lenient.max_clock_skew = absl::Hours(1);
  // OpenSSL treats the notAfter second itself as expired (one second stricter than RFC 5280's
  // inclusive bound); the cached window follows it, so both paths agree.
  EXPECT_TRUE(VerifyAt(doc_, absl::FromUnixSeconds(na - 1), lenient).ok());
  absl::Status late = VerifyAt(doc_, absl::FromUnixSeconds(na + 1), lenient);
  EXPECT_TRUE(absl::StrContains(late.message(), "expired")) << late;
  absl::Status early = VerifyAt(doc_, absl::FromUnixSeconds(nb - 1), lenient);
  EXPECT_TRUE(absl::StrContains(early.message(), "not yet valid")) << early;
}

TEST_F(NitroDocument, WrongRootRejected) {
  auto ca = SimulationCa::Create(doc_time_);
  ASSERT_TRUE(ca.ok());
  VerifierOptions o;
  o.allow_simulation_root = true;
  auto v = Verifier::Create(ca->RootDer(), o);
  ASSERT_TRUE(v.ok());
  absl::Status s = v->Verify(doc_, {}, doc_time_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(s.message(), "pinned root")) << s;
}

TEST_F(NitroDocument, EveryByteFlipRejected) {
  size_t accepted = 0;
  for (size_t i = 0; i < doc_.size(); ++i) {
    Bytes m = doc_;
    m[i] ^= 0x01;
    if (VerifyAt(m, doc_time_).ok()) ++accepted;
  }
  EXPECT_EQ(accepted, 0u);
}

TEST_F(NitroDocument, EverySignatureBitFlipRejected) {
  // The signature is the last 96 bytes.
  for (size_t i = doc_.size() - 96; i < doc_.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes m = doc_;
      m[i] ^= static_cast<uint8_t>(1 << bit);
      absl::Status s = VerifyAt(m, doc_time_);
      ASSERT_FALSE(s.ok()) << "byte " << i << " bit " << bit;
      EXPECT_TRUE(absl::StrContains(s.message(), "signature")) << s;
    }
  }
}

TEST_F(NitroDocument, EveryTruncationRejected) {
  for (size_t len = 0; len < doc_.size(); ++len) {
    ASSERT_FALSE(VerifyAt(ByteSpan(doc_).first(len), doc_time_).ok()) << len;
  }
  Bytes longer = doc_;
  longer.push_back(0);
  EXPECT_FALSE(VerifyAt(longer, doc_time_).ok());
}

// Rebuilds the document with a modified payload but the original signature: every semantic
// change to any field must be rejected.
TEST_F(NitroDocument, EveryPayloadFieldMutationRejected) {
  auto msg = cose::Sign1Message::Parse(doc_);
  ASSERT_TRUE(msg.ok());
  auto payload = cbor::Decode(msg->unverified_payload());
  ASSERT_TRUE(payload.ok());
  auto rebuild = [&](const cbor::Value& p) {
    cbor::EncodeOptions keep;
    keep.sort_map_keys = false;
    cbor::Value arr = cbor::Value::FromArray({cbor::Value::ByteString(msg->protected_bytes()),
                                              cbor::Value::EmptyMap(),
                                              cbor::Value::ByteString(cbor::Encode(p, keep)),
                                              cbor::Value::ByteString(msg->signature())});
    return cbor::Encode(arr, keep);
  };
  // Sanity: rebuilding unchanged gives back the original bytes, so mutations are meaningful.
  ASSERT_EQ(rebuild(*payload), doc_);

  std::vector<std::pair<std::string, cbor::Value>> mutants;
  const cbor::Map& map = *payload->as_map();
  for (size_t i = 0; i < map.size(); ++i) {
    const std::string field = *map[i].key.as_text();
    auto with = [&](cbor::Value v) {
      cbor::Value p = *payload;
      (*p.mutable_map())[i].value = std::move(v);
      mutants.emplace_back(field, std::move(p));
    };
    const cbor::Value& v = map[i].value;
    if (field == "module_id") with(cbor::Value::Text("i-056e1ab9a31cd77a0-enc0192fb4ace44d1ce"));
    if (field == "digest") with(cbor::Value::Text("SHA256"));
    if (field == "timestamp") with(cbor::Value::Unsigned(*v.as_uint64() + 1));
    if (field == "pcrs") {
      for (size_t k = 0; k < v.as_map()->size(); ++k) {
        cbor::Value pcrs = v;
        Bytes b = *(*pcrs.mutable_map())[k].value.as_bytes();
        b[0] ^= 1;
        (*pcrs.mutable_map())[k].value = cbor::Value::ByteString(b);
        with(pcrs);
      }
    }
    if (field == "certificate") {
      Bytes b = *v.as_bytes();
      b[b.size() / 2] ^= 1;
      with(cbor::Value::ByteString(b));
    }
    if (field == "cabundle") {
      cbor::Array certs = *v.as_array();
      cbor::Array reversed(certs.rbegin(), certs.rend());
      with(cbor::Value::FromArray(reversed));
      cbor::Array missing = certs;
      missing.erase(missing.begin() + 2);
      with(cbor::Value::FromArray(missing));
      cbor::Array swapped = certs;
      std::swap(swapped[1], swapped[2]);
      with(cbor::Value::FromArray(swapped));
    }
    if (field == "public_key" || field == "user_data" || field == "nonce") {
      with(cbor::Value::ByteString(Bytes(32, 7)));
    }
  }
  // module_id, digest, timestamp, certificate, public_key, user_data, nonce; 16 PCRs; 3 bundles.
  ASSERT_EQ(mutants.size(), 7u + 16u + 3u);
  for (const auto& [field, p] : mutants) {
    absl::Status s = VerifyAt(rebuild(p), doc_time_);
    EXPECT_FALSE(s.ok()) << "mutation of " << field << " accepted";
  }
}

// --- Emulated documents ------------------------------------------------------------------------

class Emulated : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = SimulationCa::Create(now_);
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::make_shared<SimulationCa>(*std::move(ca));
    for (uint32_t i = 0; i < 16; ++i) pcrs_[i] = ZeroPcr();
    pcrs_[0] = MeasureBytes(AsBytes("image"));
    pcrs_[1] = MeasureBytes(AsBytes("runtime"));
    pcrs_[2] = MeasureBytes(AsBytes("application"));
    pcrs_[8] = MeasureBytes(AsBytes("signing cert"));
    nsm_ = std::make_unique<EmulatedNsm>(ca_, "i-0test-enc0000000000000001", pcrs_);
    VerifierOptions o;
    o.allow_simulation_root = true;
    auto v = Verifier::Create(ca_->RootDer(), o);
    ASSERT_TRUE(v.ok()) << v.status();
    verifier_.emplace(*std::move(v));
  }

  Bytes Attest(std::optional<Bytes> nonce = Bytes(32, 0xaa), absl::Time at = absl::Now()) {
    auto d = nsm_->Attest(Bytes(32, 0x11), std::move(nonce), Bytes(270, 0x22), at);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : Bytes();
  }

  absl::Time now_ = absl::Now();
  std::shared_ptr<SimulationCa> ca_;
  PcrMap pcrs_;
  std::unique_ptr<EmulatedNsm> nsm_;
  std::optional<Verifier> verifier_;
};

TEST_F(Emulated, RoundTripWithAllExpectations) {
  Bytes doc = Attest();
  Expectations e;
  e.pcrs = {{0, pcrs_[0]}, {2, pcrs_[2]}, {8, pcrs_[8]}};
  e.nonce = Bytes(32, 0xaa);
  e.user_data = Bytes(32, 0x11);
  e.public_key = Bytes(270, 0x22);
  e.max_age = absl::Minutes(1);
  auto r = verifier_->Verify(doc, e, absl::Now());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->document.module_id, "i-0test-enc0000000000000001");
  EXPECT_EQ(r->document.pcrs, pcrs_);
  EXPECT_TRUE(r->simulation);
  // The document is untagged COSE_Sign1 with ES384, as Nitro emits.
  auto msg = cose::Sign1Message::Parse(doc);
  ASSERT_TRUE(msg.ok());
  EXPECT_FALSE(msg->tagged());
  EXPECT_EQ(base::HexEncode(msg->protected_bytes()), "a1013822");
}

TEST_F(Emulated, EachExpectationMismatchNamesTheCheck) {
  Bytes doc = Attest();
  struct Case {
    std::string name;
    Expectations e;
    std::string want;
  };
  std::vector<Case> cases(6);
  cases[0] = {"pcr", {}, "PCR2 does not match"};
  cases[0].e.pcrs[2] = MeasureBytes(AsBytes("other application"));
  cases[1] = {"pcr absent", {}, "PCR20 is expected but absent"};
  cases[1].e.pcrs[20] = ZeroPcr();
  cases[2] = {"nonce", {}, "nonce: does not match the expected value (stale or replayed"};
  cases[2].e.nonce = Bytes(32, 0xab);
  cases[3] = {"user_data", {}, "user_data: does not match"};
  cases[3].e.user_data = Bytes(32, 0x12);
  cases[4] = {"public_key", {}, "public_key: does not match"};
  cases[4].e.public_key = Bytes(270, 0x23);
  cases[5] = {"max age", {}, "freshness: document is older"};
  cases[5].e.max_age = absl::Seconds(10);
  for (const Case& c : cases) {
    absl::Time at = c.name == "max age" ? absl::Now() + absl::Minutes(1) : absl::Now();
    absl::Status s = verifier_->Verify(doc, c.e, at).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << c.name;
    EXPECT_TRUE(absl::StrContains(s.message(), c.want)) << c.name << ": " << s;
  }
}

TEST_F(Emulated, MissingNonceWhenOneIsExpected) {
  Bytes doc = Attest(std::nullopt);
  Expectations e;
  e.nonce = Bytes(16, 1);
  absl::Status s = verifier_->Verify(doc, e, absl::Now()).status();
  EXPECT_TRUE(absl::StrContains(s.message(), "nonce: expected but absent")) << s;
}

TEST_F(Emulated, FutureTimestampRejected) {
  Attest(Bytes(32, 0xaa), now_);  // issues the leaf, valid from now_ - 1 minute
  Bytes doc = Attest(Bytes(32, 0xaa), now_ + absl::Minutes(30));
  absl::Status s = verifier_->Verify(doc, {}, now_).status();
  EXPECT_TRUE(absl::StrContains(s.message(), "later than the verification time")) << s;
}

TEST_F(Emulated, SimulationRootRefusedUnlessAllowed) {
  auto v = Verifier::Create(ca_->RootDer());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(v.status().message(), "simulation root")) << v.status();
  auto pem = Verifier::Create(AsBytes(ca_->RootPem()));
  EXPECT_EQ(pem.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(Emulated, DebugModeZeroesImagePcrsOnly) {
  EmulatedNsm debug(ca_, "i-0test-enc0000000000000002", pcrs_, /*debug_mode=*/true);
  pcrs_[3] = MeasureBytes(AsBytes("role"));
  pcrs_[4] = MeasureBytes(AsBytes("instance"));
  EmulatedNsm debug2(ca_, "i-0test-enc0000000000000002", pcrs_, /*debug_mode=*/true);
  for (uint32_t i : {0u, 1u, 2u, 8u}) EXPECT_EQ(debug2.pcrs().at(i), ZeroPcr()) << i;
  EXPECT_EQ(debug2.pcrs().at(3), pcrs_[3]);
  EXPECT_EQ(debug2.pcrs().at(4), pcrs_[4]);
  // A policy pinned to the image rejects the debug enclave.
  auto doc = debug2.Attest(std::nullopt, std::nullopt, std::nullopt, absl::Now());
  ASSERT_TRUE(doc.ok());
  Expectations e;
  e.pcrs[0] = pcrs_[0];
  EXPECT_FALSE(verifier_->Verify(*doc, e, absl::Now()).ok());
}

TEST_F(Emulated, FieldSizeLimits) {
  EXPECT_TRUE(nsm_->Attest(Bytes(1024, 1), Bytes(1024, 2), Bytes(1024, 3), absl::Now()).ok());
  EXPECT_FALSE(nsm_->Attest(Bytes(1025, 1), std::nullopt, std::nullopt, absl::Now()).ok());
  EXPECT_FALSE(nsm_->Attest(std::nullopt, Bytes(1025, 2), std::nullopt, absl::Now()).ok());
  EXPECT_FALSE(nsm_->Attest(std::nullopt, std::nullopt, Bytes(1025, 3), absl::Now()).ok());
  EXPECT_FALSE(nsm_->Attest(std::nullopt, std::nullopt, Bytes(), absl::Now()).ok());
}

TEST_F(Emulated, CacheHitsAreBoundedAndRespectExpiry) {
  VerifierOptions o;
  o.allow_simulation_root = true;
  o.chain_cache_capacity = 2;
  auto v = Verifier::Create(ca_->RootDer(), o);
  ASSERT_TRUE(v.ok());
  Bytes doc = Attest();
  auto first = v->Verify(doc, {}, absl::Now());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->chain_from_cache);
  // Same leaf, new nonce: the chain comes from the cache.
  auto second = v->Verify(Attest(Bytes(32, 0xbb)), {}, absl::Now());
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->chain_from_cache);
  EXPECT_EQ(v->cache_size(), 1u);
  // Three more modules (three leaves): the cache stays at its capacity.
  for (int i = 0; i < 3; ++i) {
    EmulatedNsm other(ca_, "i-0other-enc" + std::to_string(i), pcrs_);
    auto d = other.Attest(std::nullopt, std::nullopt, std::nullopt, absl::Now());
    ASSERT_TRUE(d.ok());
    ASSERT_TRUE(v->Verify(*d, {}, absl::Now()).ok());
  }
  EXPECT_EQ(v->cache_size(), 2u);
  // After the leaf's 3-hour lifetime the cached chain must not be used.
  Bytes fresh = Attest();
  ASSERT_TRUE(v->Verify(fresh, {}, absl::Now()).ok());
  Expectations lenient;
  lenient.max_clock_skew = absl::Hours(10);
  absl::Status late = v->Verify(fresh, lenient, absl::Now() + absl::Hours(4)).status();
  EXPECT_TRUE(absl::StrContains(late.message(), "expired")) << late;
}

TEST_F(Emulated, LeafIsReusedThenRenewed) {
  absl::Time t0 = absl::Now();
  auto d1 = nsm_->Attest(std::nullopt, std::nullopt, std::nullopt, t0);
  auto d2 = nsm_->Attest(std::nullopt, std::nullopt, std::nullopt, t0 + absl::Minutes(10));
  auto d3 = nsm_->Attest(std::nullopt, std::nullopt, std::nullopt, t0 + absl::Hours(2));
  ASSERT_TRUE(d1.ok() && d2.ok() && d3.ok());
  auto leaf = [](const Bytes& d) {
    auto m = cose::Sign1Message::Parse(d);
    return ParsePayload(m->unverified_payload())->certificate;
  };
  EXPECT_EQ(leaf(*d1), leaf(*d2));
  EXPECT_NE(leaf(*d1), leaf(*d3));
  EXPECT_TRUE(verifier_->Verify(*d3, {}, t0 + absl::Hours(2)).ok());
}

// Hand-built chains signed correctly at the COSE layer: the chain checks alone must reject.
class BadChains : public Emulated {
 protected:
  struct Ca {
    crypto::EcdsaPrivateKey key;
    crypto::Certificate cert;
  };
  static Ca MakeCa(const std::string& cn, const Ca* issuer, absl::Time now, bool is_ca = true,
                   absl::Duration life = absl::Hours(24)) {
    auto key = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384);
    crypto::CertificateSpec spec;
    spec.subject.common_name = cn;
    spec.subject.organization = "Test";
    spec.not_before = now - absl::Hours(1);
    spec.not_after = now + life;
    spec.is_ca = is_ca;
    auto cert = issuer ? crypto::IssueCertificate(spec, key->PublicKey(), issuer->cert, issuer->key)
                       : crypto::CreateSelfSignedCertificate(spec, *key);
    EXPECT_TRUE(cert.ok()) << cert.status();
    return Ca{*std::move(key), *std::move(cert)};
  }
  static Bytes Sign(const AttestationDocument& doc, const crypto::EcdsaPrivateKey& key) {
    auto payload = EncodePayload(doc);
    EXPECT_TRUE(payload.ok()) << payload.status();
    cose::Sign1Options o;
    o.tagged = false;
    auto out = cose::Sign1(cose::ProtectedHeaderFor(cose::Algorithm::kEs384),
                           cbor::Value::EmptyMap(), *payload, key, o);
    EXPECT_TRUE(out.ok());
    return *out;
  }
  AttestationDocument Doc(const Ca& leaf, std::vector<Bytes> cabundle) {
    AttestationDocument d;
    d.module_id = "i-0chain-enc1";
    d.timestamp_ms = static_cast<uint64_t>(absl::ToUnixMillis(now_));
    d.pcrs = pcrs_;
    d.certificate = leaf.cert.Der();
    d.cabundle = std::move(cabundle);
    return d;
  }
};

TEST_F(BadChains, OrderAndMembershipMatter) {
  Ca root = MakeCa("root", nullptr, now_);
  Ca inter = MakeCa("inter", &root, now_);
  Ca inter2 = MakeCa("inter2", &inter, now_);
  Ca leaf = MakeCa("leaf", &inter2, now_, /*is_ca=*/false);
  auto v = Verifier::Create(root.cert.Der());
  ASSERT_TRUE(v.ok());
  const Bytes r = root.cert.Der(), i1 = inter.cert.Der(), i2 = inter2.cert.Der();
  ASSERT_TRUE(v->Verify(Sign(Doc(leaf, {r, i1, i2}), leaf.key), {}, now_).ok());
  for (const auto& bundle : std::vector<std::vector<Bytes>>{
           {r, i2, i1}, {r, i2}, {r, i1}, {i1, r, i2}, {i1, i2}, {r, i1, i2, i2}}) {
    absl::Status s = v->Verify(Sign(Doc(leaf, bundle), leaf.key), {}, now_).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "certificate chain")) << s;
  }
}

TEST_F(BadChains, SignerMustBeTheCertifiedKey) {
  Ca root = MakeCa("root", nullptr, now_);
  Ca leaf = MakeCa("leaf", &root, now_, false);
  auto other = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384);
  auto v = Verifier::Create(root.cert.Der());
  absl::Status s = v->Verify(Sign(Doc(leaf, {root.cert.Der()}), *other), {}, now_).status();
  EXPECT_TRUE(absl::StrContains(s.message(), "signature")) << s;
}

TEST_F(BadChains, NonCaIntermediateAndExpiredIntermediate) {
  Ca root = MakeCa("root", nullptr, now_);
  Ca not_ca = MakeCa("not a ca", &root, now_, /*is_ca=*/false);
  Ca leaf = MakeCa("leaf", &not_ca, now_, false);
  auto v = Verifier::Create(root.cert.Der());
  EXPECT_FALSE(
      v->Verify(Sign(Doc(leaf, {root.cert.Der(), not_ca.cert.Der()}), leaf.key), {}, now_).ok());
  Ca short_lived = MakeCa("short", &root, now_, true, absl::Minutes(1));
  Ca leaf2 = MakeCa("leaf2", &short_lived, now_, false);
  Bytes d = Sign(Doc(leaf2, {root.cert.Der(), short_lived.cert.Der()}), leaf2.key);
  ASSERT_TRUE(v->Verify(d, {}, now_).ok());
  Expectations lenient;
  lenient.max_clock_skew = absl::Hours(1);
  absl::Status s = v->Verify(d, lenient, now_ + absl::Minutes(5)).status();
  EXPECT_TRUE(absl::StrContains(s.message(), "expired")) << s;
}

// --- Payload syntax ---------------------------------------------------------------------------

TEST(Payload, RoundTripAndRejections) {
  AttestationDocument d;
  d.module_id = "m";
  d.timestamp_ms = 1;
  d.pcrs[0] = ZeroPcr();
  d.certificate = Bytes(10, 1);
  d.cabundle = {Bytes(10, 2)};
  auto enc = EncodePayload(d);
  ASSERT_TRUE(enc.ok());
  auto dec = ParsePayload(*enc);
  ASSERT_TRUE(dec.ok()) << dec.status();
  EXPECT_EQ(dec->pcrs, d.pcrs);

  auto reject = [](cbor::Value map, const std::string& want) {
    absl::Status s = ParsePayload(cbor::Encode(map)).status();
    EXPECT_FALSE(s.ok()) << want;
    EXPECT_TRUE(absl::StrContains(s.message(), want)) << want << ": " << s;
  };
  auto good = [&] { return *cbor::Decode(*enc); };
  auto set = [](cbor::Value m, const std::string& key, cbor::Value v) {
    for (auto& e : *m.mutable_map()) {
      if (*e.key.as_text() == key) e.value = std::move(v);
    }
    return m;
  };
  reject(set(good(), "digest", cbor::Value::Text("SHA256")), "digest");
  reject(set(good(), "timestamp", cbor::Value::Int(-1)), "timestamp");
  reject(set(good(), "timestamp", cbor::Value::Unsigned(0)), "timestamp");
  reject(set(good(), "module_id", cbor::Value::Text("")), "module_id");
  reject(set(good(), "certificate", cbor::Value::ByteString(Bytes(1025, 1))), "");
  reject(set(good(), "cabundle", cbor::Value::EmptyArray()), "cabundle");
  reject(set(good(), "nonce", cbor::Value::ByteString(Bytes(1025, 1))), "");
  reject(set(good(), "user_data", cbor::Value::Text("x")), "user_data");
  reject(set(good(), "pcrs", cbor::Value::EmptyMap()), "pcrs");
  cbor::Value bad_pcr = cbor::Value::EmptyMap();
  bad_pcr.Put(cbor::Value::Unsigned(32), cbor::Value::ByteString(Bytes(48, 0)));
  reject(set(good(), "pcrs", bad_pcr), "pcrs");
  cbor::Value short_pcr = cbor::Value::EmptyMap();
  short_pcr.Put(cbor::Value::Unsigned(1), cbor::Value::ByteString(Bytes(20, 0)));
  reject(set(good(), "pcrs", short_pcr), "pcrs");
  cbor::Value extra = good();
  extra.Put("surprise", cbor::Value::Null());
  reject(extra, "unknown field");
  cbor::Value missing = cbor::Value::EmptyMap();
  const cbor::Value all = good();
  for (const auto& e : *all.as_map()) {
    if (*e.key.as_text() != "certificate") missing.Put(e.key, e.value);
  }
  reject(missing, "certificate");
  reject(cbor::Value::EmptyArray(), "not a CBOR map");
}

}  // namespace
}  // namespace confide::attest
