// HPKE (RFC 9180): every Appendix A test vector for DHKEM(P-256) and DHKEM(X25519), plus
// misuse and tampering tests.
#include "crypto/hpke.h"

#include <limits>
#include <map>
#include <string>

#include "base/encoding.h"
#include "crypto/internal/hpke_internal.h"
#include "crypto/random.h"
#include "gtest/gtest.h"
#include "testing/testdata.h"

namespace confide::crypto {
namespace internal {

// HpkeTestPeer reads a context's derived values and moves its sequence number.
class HpkeTestPeer {
 public:
  static ByteSpan Key(const HpkeContext& c) { return c.key_.ExposeSecret(); }
  static ByteSpan BaseNonce(const HpkeContext& c) { return c.base_nonce_; }
  static ByteSpan ExporterSecret(const HpkeContext& c) { return c.exporter_secret_.ExposeSecret(); }
  static absl::StatusOr<Bytes> Nonce(const HpkeContext& c) { return c.NextNonce(); }
  static void SetSeq(HpkeContext& c, uint64_t seq) { c.seq_ = seq; }
};

}  // namespace internal

namespace {

using ::confide::testing::HexToBytes;
using internal::HpkeTestPeer;

std::string Hex(ByteSpan b) { return base::HexEncode(b); }

struct VectorTotals {
  int cases_run = 0;
  int skipped_by_scope = 0;  // P-521 (0x0012) and X448 (0x0021)
  int encryptions = 0;
  int exports = 0;
  std::map<int, int> per_mode;
};

// RunCase checks one Appendix A test case end to end.
void RunCase(const nlohmann::json& v, VectorTotals& totals) {
  const int mode = v["mode"];
  auto suite = HpkeSuite::FromIds(v["kem_id"], v["kdf_id"], v["aead_id"]);
  ASSERT_TRUE(suite.ok()) << suite.status();
  const bool auth = mode == 2 || mode == 3;
  const bool psk_mode = mode == 1 || mode == 3;

  // DeriveKeyPair reproduces every listed key pair.
  auto eph = HpkeDeriveKeyPair(suite->kem, HexToBytes(v["ikmE"]));
  auto rcp = HpkeDeriveKeyPair(suite->kem, HexToBytes(v["ikmR"]));
  ASSERT_TRUE(eph.ok()) << eph.status();
  ASSERT_TRUE(rcp.ok()) << rcp.status();
  EXPECT_EQ(Hex(eph->private_key.ExposeSecret()), v["skEm"].get<std::string>());
  EXPECT_EQ(Hex(eph->public_key), v["pkEm"].get<std::string>());
  EXPECT_EQ(Hex(rcp->private_key.ExposeSecret()), v["skRm"].get<std::string>());
  EXPECT_EQ(Hex(rcp->public_key), v["pkRm"].get<std::string>());
  HpkeKeyPair snd;
  if (auth) {
    auto s = HpkeDeriveKeyPair(suite->kem, HexToBytes(v["ikmS"]));
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(Hex(s->private_key.ExposeSecret()), v["skSm"].get<std::string>());
    EXPECT_EQ(Hex(s->public_key), v["pkSm"].get<std::string>());
    snd = *std::move(s);
  }
  auto pk_from_sk = HpkePublicKeyFromPrivate(suite->kem, rcp->private_key);
  ASSERT_TRUE(pk_from_sk.ok());
  EXPECT_EQ(*pk_from_sk, rcp->public_key);

  const Bytes info = HexToBytes(v["info"]);
  const Bytes psk = psk_mode ? HexToBytes(v["psk"]) : Bytes();
  const Bytes psk_id = psk_mode ? HexToBytes(v["psk_id"]) : Bytes();
  SecretBytes psk_secret = SecretBytes::CopyFrom(psk);

  // The KEM alone gives the listed shared secret on both sides.
  auto encap = internal::HpkeEncap(suite->kem, rcp->public_key, eph->private_key,
                                   auth ? &snd.private_key : nullptr);
  ASSERT_TRUE(encap.ok()) << encap.status();
  EXPECT_EQ(Hex(encap->enc), v["enc"].get<std::string>());
  EXPECT_EQ(Hex(encap->shared_secret.ExposeSecret()), v["shared_secret"].get<std::string>());
  auto decap = internal::HpkeDecap(suite->kem, encap->enc, rcp->private_key,
                                   auth ? ByteSpan(snd.public_key) : ByteSpan());
  ASSERT_TRUE(decap.ok()) << decap.status();
  EXPECT_EQ(Hex(decap->ExposeSecret()), v["shared_secret"].get<std::string>());

  // Sender through the general API with the vector's ephemeral key.
  HpkeSetupParams sp;
  sp.mode = static_cast<HpkeMode>(mode);
  sp.info = info;
  sp.psk = psk;
  sp.psk_id = psk_id;
  sp.sender_private_key = auth ? &snd.private_key : nullptr;
  auto sender =
      HpkeSetupSenderWithEphemeralKeyForTesting(*suite, rcp->public_key, sp, eph->private_key);
  ASSERT_TRUE(sender.ok()) << sender.status();
  EXPECT_EQ(Hex(sender->enc()), v["enc"].get<std::string>());

  // Recipient through the RFC's named setup functions.
  const Bytes enc = HexToBytes(v["enc"]);
  absl::StatusOr<HpkeRecipientContext> recipient = absl::UnknownError("unset");
  switch (mode) {
    case 0:
      recipient = HpkeSetupBaseR(*suite, enc, rcp->private_key, info);
      break;
    case 1:
      recipient = HpkeSetupPskR(*suite, enc, rcp->private_key, info, psk_secret, psk_id);
      break;
    case 2:
      recipient = HpkeSetupAuthR(*suite, enc, rcp->private_key, info, snd.public_key);
      break;
    case 3:
      recipient = HpkeSetupAuthPskR(*suite, enc, rcp->private_key, info, psk_secret, psk_id,
                                    snd.public_key);
      break;
  }
  ASSERT_TRUE(recipient.ok()) << recipient.status();

  for (const HpkeContext* ctx :
       {static_cast<const HpkeContext*>(&*sender), static_cast<const HpkeContext*>(&*recipient)}) {
    EXPECT_EQ(Hex(HpkeTestPeer::Key(*ctx)), v["key"].get<std::string>());
    EXPECT_EQ(Hex(HpkeTestPeer::BaseNonce(*ctx)), v["base_nonce"].get<std::string>());
    EXPECT_EQ(Hex(HpkeTestPeer::ExporterSecret(*ctx)), v["exporter_secret"].get<std::string>());
  }

  // Every encryption, in sequence, on both sides.
  const auto& encryptions = v["encryptions"];
  if (suite->aead == HpkeAeadId::kExportOnly) {
    EXPECT_TRUE(encryptions.empty());
    EXPECT_EQ(sender->Seal({}, ToBytes("x")).status().code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(recipient->Open({}, Bytes(16)).status().code(),
              absl::StatusCode::kFailedPrecondition);
  } else {
    EXPECT_EQ(encryptions.size(), 257u);
  }
  uint64_t seq = 0;
  for (const auto& e : encryptions) {
    SCOPED_TRACE("sequence " + std::to_string(seq));
    const Bytes aad = HexToBytes(e["aad"]);
    const Bytes pt = HexToBytes(e["pt"]);
    auto nonce = HpkeTestPeer::Nonce(*sender);
    ASSERT_TRUE(nonce.ok());
    EXPECT_EQ(Hex(*nonce), e["nonce"].get<std::string>());
    auto ct = sender->Seal(aad, pt);
    ASSERT_TRUE(ct.ok()) << ct.status();
    ASSERT_EQ(Hex(*ct), e["ct"].get<std::string>());
    auto opened = recipient->Open(aad, *ct);
    ASSERT_TRUE(opened.ok()) << opened.status();
    ASSERT_EQ(*opened, pt);
    ++seq;
    EXPECT_EQ(sender->sequence_number(), seq);
    EXPECT_EQ(recipient->sequence_number(), seq);
    ++totals.encryptions;
  }

  // Every export, on both sides.
  for (const auto& x : v["exports"]) {
    const Bytes exporter_context = HexToBytes(x["exporter_context"]);
    const size_t len = x["L"];
    auto s = sender->Export(exporter_context, len);
    auto r = recipient->Export(exporter_context, len);
    ASSERT_TRUE(s.ok() && r.ok());
    EXPECT_EQ(Hex(s->ExposeSecret()), x["exported_value"].get<std::string>());
    EXPECT_EQ(Hex(r->ExposeSecret()), x["exported_value"].get<std::string>());
    ++totals.exports;
  }
  ++totals.cases_run;
  ++totals.per_mode[mode];
}

TEST(HpkeVectors, Rfc9180AppendixA) {
  CONFIDE_SHARED_FILE_OR_SKIP(path, "testdata/hpke/test-vectors.json");
  auto vectors = confide::testing::ReadJson(path);
  ASSERT_TRUE(vectors.has_value());
  ASSERT_EQ(vectors->size(), 128u);
  VectorTotals totals;
  for (const auto& v : *vectors) {
    const int kem = v["kem_id"];
    if (kem != 0x0010 && kem != 0x0020) {
      // DHKEM(P-521) and DHKEM(X448) are out of scope.
      EXPECT_TRUE(kem == 0x0012 || kem == 0x0021) << kem;
      EXPECT_FALSE(HpkeSuite::FromIds(v["kem_id"], v["kdf_id"], v["aead_id"]).ok());
      ++totals.skipped_by_scope;
      continue;
    }
    SCOPED_TRACE("mode " + std::to_string(v["mode"].get<int>()) + " kem " + std::to_string(kem) +
                 " kdf " + std::to_string(v["kdf_id"].get<int>()) + " aead " +
                 std::to_string(v["aead_id"].get<int>()));
    RunCase(v, totals);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_EQ(totals.cases_run, 64);
  EXPECT_EQ(totals.skipped_by_scope, 64);
  EXPECT_EQ(totals.encryptions, 48 * 257);
  EXPECT_EQ(totals.exports, 64 * 3);
  for (int mode = 0; mode < 4; ++mode) EXPECT_EQ(totals.per_mode[mode], 16) << mode;
}

// ---------------------------------------------------------------------------------------------
// Round trips and misuse, over every supported suite with fresh keys.

std::vector<HpkeSuite> AllSuites() {
  std::vector<HpkeSuite> out;
  for (HpkeKemId kem : {HpkeKemId::kX25519HkdfSha256, HpkeKemId::kP256HkdfSha256}) {
    for (HpkeKdfId kdf : {HpkeKdfId::kHkdfSha256, HpkeKdfId::kHkdfSha512}) {
      for (HpkeAeadId aead : {HpkeAeadId::kAes128Gcm, HpkeAeadId::kAes256Gcm,
                              HpkeAeadId::kChaCha20Poly1305, HpkeAeadId::kExportOnly}) {
        out.push_back(HpkeSuite{kem, kdf, aead});
      }
    }
  }
  return out;
}

std::string SuiteName(const ::testing::TestParamInfo<HpkeSuite>& info) {
  return "kem" + std::to_string(info.param.kem_id()) + "_kdf" +
         std::to_string(info.param.kdf_id()) + "_aead" + std::to_string(info.param.aead_id());
}

class HpkeSuiteTest : public ::testing::TestWithParam<HpkeSuite> {
 protected:
  void SetUp() override {
    auto r = HpkeGenerateKeyPair(GetParam().kem);
    auto s = HpkeGenerateKeyPair(GetParam().kem);
    ASSERT_TRUE(r.ok() && s.ok());
    recipient_ = *std::move(r);
    sender_ = *std::move(s);
    auto psk = RandomSecret(32);
    ASSERT_TRUE(psk.ok());
    psk_ = *std::move(psk);
  }
  bool Aead() const { return GetParam().aead != HpkeAeadId::kExportOnly; }

  HpkeKeyPair recipient_;
  HpkeKeyPair sender_;
  SecretBytes psk_;
  const Bytes info_ = ToBytes("message/bhttp request");
  const Bytes psk_id_ = ToBytes("psk id");
};

TEST_P(HpkeSuiteTest, AllModesRoundTripAndExport) {
  const HpkeSuite suite = GetParam();
  for (int m = 0; m < 4; ++m) {
    SCOPED_TRACE("mode " + std::to_string(m));
    const HpkeMode mode = static_cast<HpkeMode>(m);
    const bool psk = mode == HpkeMode::kPsk || mode == HpkeMode::kAuthPsk;
    const bool auth = mode == HpkeMode::kAuth || mode == HpkeMode::kAuthPsk;
    HpkeSetupParams sp;
    sp.mode = mode;
    sp.info = info_;
    if (psk) {
      sp.psk = psk_.ExposeSecret();
      sp.psk_id = psk_id_;
    }
    HpkeSetupParams rp = sp;
    if (auth) {
      sp.sender_private_key = &sender_.private_key;
      rp.sender_public_key = sender_.public_key;
    }
    auto s = HpkeSetupSender(suite, recipient_.public_key, sp);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->enc().size(), HpkeKemEncLen(suite.kem));
    auto r = HpkeSetupRecipient(suite, s->enc(), recipient_.private_key, rp);
    ASSERT_TRUE(r.ok()) << r.status();
    auto e1 = s->Export(ToBytes("ctx"), 48);
    auto e2 = r->Export(ToBytes("ctx"), 48);
    ASSERT_TRUE(e1.ok() && e2.ok());
    EXPECT_EQ(Hex(e1->ExposeSecret()), Hex(e2->ExposeSecret()));
    const size_t max_export = 255 * DigestLen(HpkeKdfHash(suite.kdf));
    EXPECT_TRUE(s->Export({}, max_export).ok());
    EXPECT_EQ(s->Export({}, max_export + 1).status().code(), absl::StatusCode::kInvalidArgument);
    if (!Aead()) continue;
    for (int i = 0; i < 3; ++i) {
      const Bytes pt = ToBytes("message " + std::to_string(i));
      auto ct = s->Seal(ToBytes("aad"), pt);
      ASSERT_TRUE(ct.ok()) << ct.status();
      EXPECT_EQ(ct->size(), pt.size() + HpkeAeadTagLen(suite.aead));
      auto back = r->Open(ToBytes("aad"), *ct);
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(*back, pt);
    }
  }
}

TEST_P(HpkeSuiteTest, FreshEphemeralKeysAndSingleShot) {
  const HpkeSuite suite = GetParam();
  HpkeSetupParams p;
  p.info = info_;
  if (!Aead()) {
    EXPECT_EQ(HpkeSeal(suite, recipient_.public_key, p, {}, ToBytes("x")).status().code(),
              absl::StatusCode::kFailedPrecondition);
    return;
  }
  auto a = HpkeSeal(suite, recipient_.public_key, p, ToBytes("aad"), ToBytes("hello"));
  auto b = HpkeSeal(suite, recipient_.public_key, p, ToBytes("aad"), ToBytes("hello"));
  ASSERT_TRUE(a.ok() && b.ok()) << a.status();
  EXPECT_NE(a->enc, b->enc);
  EXPECT_NE(a->ciphertext, b->ciphertext);
  auto pt = HpkeOpen(suite, a->enc, recipient_.private_key, p, ToBytes("aad"), a->ciphertext);
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(*pt, ToBytes("hello"));
}

TEST_P(HpkeSuiteTest, TamperingAndWrongInputsFail) {
  const HpkeSuite suite = GetParam();
  if (!Aead()) GTEST_SKIP() << "export-only suite has no ciphertexts";
  auto s =
      HpkeSetupAuthPskS(suite, recipient_.public_key, info_, psk_, psk_id_, sender_.private_key);
  ASSERT_TRUE(s.ok()) << s.status();
  const Bytes enc = s->enc();
  const Bytes aad = ToBytes("aad");
  auto ct = s->Seal(aad, ToBytes("the plaintext"));
  ASSERT_TRUE(ct.ok());

  auto open_with = [&](ByteSpan e, const SecretBytes& skR, ByteSpan inf, const SecretBytes& k,
                       ByteSpan kid, ByteSpan pkS, ByteSpan a,
                       ByteSpan c) -> absl::StatusOr<Bytes> {
    ASSIGN_OR_RETURN(HpkeRecipientContext r, HpkeSetupAuthPskR(suite, e, skR, inf, k, kid, pkS));
    return r.Open(a, c);
  };
  ASSERT_TRUE(
      open_with(enc, recipient_.private_key, info_, psk_, psk_id_, sender_.public_key, aad, *ct)
          .ok());

  auto expect_unauth = [](const absl::StatusOr<Bytes>& r) {
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << r.status();
    EXPECT_EQ(r.status().message(), "decryption failed");
  };
  // Wrong recipient key, PSK, psk_id, info, sender key.
  auto other = HpkeGenerateKeyPair(suite.kem);
  ASSERT_TRUE(other.ok());
  expect_unauth(
      open_with(enc, other->private_key, info_, psk_, psk_id_, sender_.public_key, aad, *ct));
  SecretBytes wrong_psk = psk_.Clone();
  wrong_psk.MutableSecret()[0] ^= 1;
  expect_unauth(open_with(enc, recipient_.private_key, info_, wrong_psk, psk_id_,
                          sender_.public_key, aad, *ct));
  expect_unauth(open_with(enc, recipient_.private_key, info_, psk_, ToBytes("psk ie"),
                          sender_.public_key, aad, *ct));
  expect_unauth(open_with(enc, recipient_.private_key, ToBytes("other info"), psk_, psk_id_,
                          sender_.public_key, aad, *ct));
  expect_unauth(
      open_with(enc, recipient_.private_key, info_, psk_, psk_id_, other->public_key, aad, *ct));
  // Tampered aad and every byte of the ciphertext.
  expect_unauth(open_with(enc, recipient_.private_key, info_, psk_, psk_id_, sender_.public_key,
                          ToBytes("aae"), *ct));
  for (size_t i = 0; i < ct->size(); ++i) {
    Bytes bad = *ct;
    bad[i] ^= 0x80;
    expect_unauth(
        open_with(enc, recipient_.private_key, info_, psk_, psk_id_, sender_.public_key, aad, bad));
  }
  for (size_t len = 0; len < ct->size(); ++len) {
    expect_unauth(open_with(enc, recipient_.private_key, info_, psk_, psk_id_, sender_.public_key,
                            aad, ByteSpan(*ct).first(len)));
  }
  // Every byte of enc: either setup rejects it (not a valid key) or Open fails.
  for (size_t i = 0; i < enc.size(); ++i) {
    Bytes bad = enc;
    bad[i] ^= 0x01;
    auto r =
        open_with(bad, recipient_.private_key, info_, psk_, psk_id_, sender_.public_key, aad, *ct);
    ASSERT_FALSE(r.ok()) << "enc byte " << i;
    EXPECT_TRUE(r.status().code() == absl::StatusCode::kUnauthenticated ||
                r.status().code() == absl::StatusCode::kInvalidArgument)
        << r.status();
  }
  for (size_t len : {size_t{0}, enc.size() - 1, enc.size() + 1}) {
    Bytes bad = enc;
    bad.resize(len, 0);
    EXPECT_EQ(
        open_with(bad, recipient_.private_key, info_, psk_, psk_id_, sender_.public_key, aad, *ct)
            .status()
            .code(),
        absl::StatusCode::kInvalidArgument);
  }
}

TEST_P(HpkeSuiteTest, SequenceNumbers) {
  const HpkeSuite suite = GetParam();
  if (!Aead()) GTEST_SKIP() << "export-only suite has no ciphertexts";
  auto s = HpkeSetupBaseS(suite, recipient_.public_key, info_);
  ASSERT_TRUE(s.ok());
  auto r = HpkeSetupBaseR(suite, s->enc(), recipient_.private_key, info_);
  ASSERT_TRUE(r.ok());
  auto c0 = s->Seal({}, ToBytes("zero"));
  auto c1 = s->Seal({}, ToBytes("one"));
  ASSERT_TRUE(c0.ok() && c1.ok());
  // Out of order: message 1 does not open at sequence 0, and the failure leaves seq alone.
  EXPECT_EQ(r->Open({}, *c1).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(r->sequence_number(), 0u);
  ASSERT_TRUE(r->Open({}, *c0).ok());
  // Replay of message 0 fails at sequence 1.
  EXPECT_EQ(r->Open({}, *c0).status().code(), absl::StatusCode::kUnauthenticated);
  ASSERT_TRUE(r->Open({}, *c1).ok());
  EXPECT_EQ(r->sequence_number(), 2u);

  // The last sequence number is usable once; then both sides refuse.
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  HpkeTestPeer::SetSeq(*s, kMax - 1);
  HpkeTestPeer::SetSeq(*r, kMax - 1);
  auto last = s->Seal({}, ToBytes("last"));
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(r->Open({}, *last).ok());
  EXPECT_EQ(s->sequence_number(), kMax);
  EXPECT_EQ(s->Seal({}, ToBytes("more")).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(r->Open({}, *last).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s->sequence_number(), kMax);
  // Export does not depend on the sequence number.
  EXPECT_TRUE(s->Export({}, 32).ok());
}

TEST_P(HpkeSuiteTest, ModeInputRules) {
  const HpkeSuite suite = GetParam();
  const Bytes& pkR = recipient_.public_key;
  auto sender_code = [&](const HpkeSetupParams& p) {
    return HpkeSetupSender(suite, pkR, p).status().code();
  };
  auto good = HpkeSetupBaseS(suite, pkR, info_);
  ASSERT_TRUE(good.ok());
  const Bytes enc = good->enc();
  auto recipient_code = [&](const HpkeSetupParams& p) {
    return HpkeSetupRecipient(suite, enc, recipient_.private_key, p).status().code();
  };
  constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
  const Bytes psk = Bytes(32, 7);
  const Bytes short_psk = Bytes(31, 7);
  for (int m = 0; m < 4; ++m) {
    SCOPED_TRACE("mode " + std::to_string(m));
    const HpkeMode mode = static_cast<HpkeMode>(m);
    const bool psk_mode = mode == HpkeMode::kPsk || mode == HpkeMode::kAuthPsk;
    const bool auth = mode == HpkeMode::kAuth || mode == HpkeMode::kAuthPsk;
    HpkeSetupParams p;
    p.mode = mode;
    p.info = info_;
    if (auth) p.sender_private_key = &sender_.private_key;
    // Inconsistent PSK inputs: one without the other.
    HpkeSetupParams q = p;
    q.psk = psk;
    EXPECT_EQ(sender_code(q), kInvalid);
    q = p;
    q.psk_id = psk_id_;
    EXPECT_EQ(sender_code(q), kInvalid);
    // PSK given when not needed, or missing when required.
    q = p;
    q.psk = psk;
    q.psk_id = psk_id_;
    EXPECT_EQ(sender_code(q) == absl::StatusCode::kOk, psk_mode);
    q.psk = short_psk;
    EXPECT_EQ(sender_code(q), kInvalid);
    EXPECT_EQ(sender_code(p) == absl::StatusCode::kOk, !psk_mode);
    // The sender key belongs to Auth modes only, and the public one to the recipient only.
    q = p;
    if (psk_mode) {
      q.psk = psk;
      q.psk_id = psk_id_;
    }
    q.sender_private_key = auth ? nullptr : &sender_.private_key;
    EXPECT_EQ(sender_code(q), kInvalid);
    q.sender_private_key = p.sender_private_key;
    q.sender_public_key = sender_.public_key;
    EXPECT_EQ(sender_code(q), kInvalid);
    // Recipient side: the same PSK rules; pkS iff Auth; no private sender key.
    HpkeSetupParams r;
    r.mode = mode;
    r.info = info_;
    if (auth) r.sender_public_key = sender_.public_key;
    if (psk_mode) {
      r.psk = psk;
      r.psk_id = psk_id_;
    }
    EXPECT_NE(recipient_code(r), kInvalid);  // consistent inputs pass validation
    HpkeSetupParams w = r;
    w.psk_id = psk_mode ? ByteSpan() : ByteSpan(psk_id_);  // break the psk/psk_id pairing
    EXPECT_EQ(recipient_code(w), kInvalid);
    w = r;
    w.sender_public_key = auth ? ByteSpan() : ByteSpan(sender_.public_key);
    EXPECT_EQ(recipient_code(w), kInvalid);
    w = r;
    w.sender_private_key = &sender_.private_key;
    EXPECT_EQ(recipient_code(w), kInvalid);
  }
  HpkeSetupParams bad_mode;
  bad_mode.mode = static_cast<HpkeMode>(4);
  EXPECT_EQ(sender_code(bad_mode), kInvalid);
}

TEST_P(HpkeSuiteTest, InvalidKeysAreRejected) {
  const HpkeSuite suite = GetParam();
  constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
  const size_t npk = HpkeKemPublicKeyLen(suite.kem);
  EXPECT_EQ(HpkeSetupBaseS(suite, Bytes(npk - 1, 4), info_).status().code(), kInvalid);
  EXPECT_EQ(HpkeSetupBaseS(suite, Bytes(npk + 1, 4), info_).status().code(), kInvalid);
  // All-zero X25519 public key / all-zero P-256 "point": low order / not on the curve.
  Bytes zero(npk, 0);
  if (suite.kem == HpkeKemId::kP256HkdfSha256) zero[0] = 0x04;
  EXPECT_EQ(HpkeSetupBaseS(suite, zero, info_).status().code(), kInvalid);
  auto s = HpkeSetupBaseS(suite, recipient_.public_key, info_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(HpkeSetupBaseR(suite, zero, recipient_.private_key, info_).status().code(), kInvalid);
  EXPECT_EQ(HpkeSetupBaseR(suite, s->enc(), SecretBytes(31), info_).status().code(), kInvalid);
  EXPECT_EQ(HpkeDeriveKeyPair(suite.kem, Bytes(31, 1)).status().code(), kInvalid);
  EXPECT_TRUE(HpkeValidatePublicKey(suite.kem, recipient_.public_key).ok());
}

INSTANTIATE_TEST_SUITE_P(AllSuites, HpkeSuiteTest, ::testing::ValuesIn(AllSuites()), SuiteName);

TEST(HpkeSuiteIds, FromIds) {
  auto ok = HpkeSuite::FromIds(0x0020, 0x0001, 0x0002);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->kem, HpkeKemId::kX25519HkdfSha256);
  EXPECT_EQ(ok->kdf_id(), 1);
  EXPECT_EQ(ok->aead_id(), 2);
  EXPECT_TRUE(HpkeSuite::FromIds(0x0010, 0x0003, 0xFFFF).ok());
  EXPECT_FALSE(HpkeSuite::FromIds(0x0011, 0x0001, 0x0001).ok());  // P-384: not supported
  EXPECT_FALSE(HpkeSuite::FromIds(0x0021, 0x0001, 0x0001).ok());  // X448
  EXPECT_FALSE(HpkeSuite::FromIds(0x0020, 0x0002, 0x0001).ok());  // HKDF-SHA384
  EXPECT_FALSE(HpkeSuite::FromIds(0x0020, 0x0001, 0x0004).ok());
  EXPECT_FALSE(HpkeSuite::FromIds(0, 0, 0).ok());
  EXPECT_EQ(HpkeKemEncLen(HpkeKemId::kP256HkdfSha256), 65u);
  EXPECT_EQ(HpkeKemEncLen(HpkeKemId::kX25519HkdfSha256), 32u);
  EXPECT_EQ(HpkeAeadKeyLen(HpkeAeadId::kAes128Gcm), 16u);
  EXPECT_EQ(HpkeAeadNonceLen(HpkeAeadId::kChaCha20Poly1305), 12u);
  EXPECT_EQ(HpkeAeadAlg(HpkeAeadId::kExportOnly).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // A suite built by hand from an out-of-range id is refused at setup.
  HpkeSuite bogus{static_cast<HpkeKemId>(0x0012), HpkeKdfId::kHkdfSha256, HpkeAeadId::kAes128Gcm};
  EXPECT_EQ(HpkeSetupBaseS(bogus, Bytes(133, 4), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace confide::crypto
