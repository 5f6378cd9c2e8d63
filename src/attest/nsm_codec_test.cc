// Exact NSM request/response bytes (aws-nitro-enclaves-nsm-api src/api/mod.rs, serde's
// externally tagged encoding) and the emulated module's register semantics.
#include "attest/nsm_codec.h"

#include <memory>
#include <string>

#include "attest/document.h"
#include "attest/emulated_nsm.h"
#include "attest/pcr.h"
#include "attest/verifier.h"
#include "base/encoding.h"
#include "cbor/codec.h"
#include "gtest/gtest.h"

namespace confide::attest {
namespace {

Bytes Hex(const char* hex) { return *base::HexDecode(hex); }

struct RequestCase {
  const char* diag;  // the serde value, for the reader
  NsmRequest request;
  const char* hex;
};

TEST(NsmCodec, RequestsHaveTheExactSerdeBytes) {
  const RequestCase cases[] = {
      {"{\"DescribePCR\": {\"index\": 5}}", NsmDescribePcrRequest{5},
       "a16b4465736372696265504352a165696e64657805"},
      {"{\"ExtendPCR\": {\"index\": 16, \"data\": h'010203'}}", NsmExtendPcrRequest{16, {1, 2, 3}},
       "a169457874656e64504352a265696e64657810646461746143010203"},
      {"{\"LockPCR\": {\"index\": 16}}", NsmLockPcrRequest{16},
       "a1674c6f636b504352a165696e64657810"},
      {"{\"LockPCRs\": {\"range\": 300}}", NsmLockPcrsRequest{300},
       "a1684c6f636b50435273a16572616e676519012c"},
      {"\"DescribeNSM\"", NsmDescribeNsmRequest{}, "6b44657363726962654e534d"},
      // Fields in declaration order (user_data, nonce, public_key), None as null.
      {"{\"Attestation\": {\"user_data\": h'aabb', \"nonce\": null, \"public_key\": h'01'}}",
       NsmAttestationRequest{Bytes{0xaa, 0xbb}, std::nullopt, Bytes{0x01}},
       "a16b4174746573746174696f6ea369757365725f6461746142aabb656e6f6e6365f66a7075626c69635f6b"
       "65794101"},
      {"\"GetRandom\"", NsmGetRandomRequest{}, "6947657452616e646f6d"},
  };
  for (const RequestCase& c : cases) {
    EXPECT_EQ(base::HexEncode(EncodeNsmRequest(c.request)), c.hex) << c.diag;
    auto back = DecodeNsmRequest(Hex(c.hex));
    ASSERT_TRUE(back.ok()) << c.diag << ": " << back.status();
    EXPECT_EQ(*back, c.request) << c.diag;
  }
}

struct ResponseCase {
  const char* diag;
  NsmResponse response;
  const char* hex;
};

TEST(NsmCodec, ResponsesHaveTheExactSerdeBytes) {
  NsmDescribeNsmResponse describe;
  describe.module_id = "i-1";
  describe.locked_pcrs = {0, 1, 16};
  const ResponseCase cases[] = {
      {"{\"DescribePCR\": {\"lock\": true, \"data\": h'00000000'}}",
       NsmDescribePcrResponse{true, Bytes(4, 0)},
       "a16b4465736372696265504352a2646c6f636bf564646174614400000000"},
      {"{\"ExtendPCR\": {\"data\": h'ff'}}", NsmExtendPcrResponse{{0xff}},
       "a169457874656e64504352a1646461746141ff"},
      {"\"LockPCR\"", NsmLockPcrResponse{}, "674c6f636b504352"},
      {"\"LockPCRs\"", NsmLockPcrsResponse{}, "684c6f636b50435273"},
      {"{\"DescribeNSM\": {\"version_major\": 1, \"version_minor\": 0, \"version_patch\": 0, "
       "\"module_id\": \"i-1\", \"max_pcrs\": 32, \"locked_pcrs\": [0, 1, 16], \"digest\": "
       "\"SHA384\"}}",
       describe,
       "a16b44657363726962654e534da76d76657273696f6e5f6d616a6f72016d76657273696f6e5f6d696e6f72"
       "006d76657273696f6e5f706174636800696d6f64756c655f696463692d31686d61785f7063727318206b6c"
       "6f636b65645f70637273830001106664696765737466534841333834"},
      {"{\"Attestation\": {\"document\": h'8444'}}", NsmAttestationResponse{{0x84, 0x44}},
       "a16b4174746573746174696f6ea168646f63756d656e74428444"},
      {"{\"GetRandom\": {\"random\": h'0102'}}", NsmGetRandomResponse{{1, 2}},
       "a16947657452616e646f6da16672616e646f6d420102"},
      {"{\"Error\": \"ReadOnlyIndex\"}", NsmErrorResponse{NsmErrorCode::kReadOnlyIndex},
       "a1654572726f726d526561644f6e6c79496e646578"},
  };
  for (const ResponseCase& c : cases) {
    EXPECT_EQ(base::HexEncode(EncodeNsmResponse(c.response)), c.hex) << c.diag;
    auto back = DecodeNsmResponse(Hex(c.hex));
    ASSERT_TRUE(back.ok()) << c.diag << ": " << back.status();
    EXPECT_EQ(*back, c.response) << c.diag;
  }
  // Every error code round-trips by name.
  for (int i = 0; i <= static_cast<int>(NsmErrorCode::kInternalError); ++i) {
    NsmResponse r = NsmErrorResponse{static_cast<NsmErrorCode>(i)};
    auto back = DecodeNsmResponse(EncodeNsmResponse(r));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, r);
  }
  // A BTreeSet serialises sorted and without duplicates.
  describe.locked_pcrs = {16, 0, 1, 1};
  EXPECT_EQ(base::HexEncode(EncodeNsmResponse(describe)), cases[4].hex);
}

TEST(NsmCodec, DecodingAcceptsAbsentOptionsAndAnyFieldOrder) {
  // serde fills a missing Option with None and accepts struct fields in any order.
  auto r = DecodeNsmRequest(cbor::Encode(cbor::Value::EmptyMap().Put(
      "Attestation", cbor::Value::EmptyMap().Put("nonce", cbor::Value::ByteString(Bytes{7})))));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, NsmRequest(NsmAttestationRequest{std::nullopt, Bytes{7}, std::nullopt}));
  auto e = DecodeNsmRequest(cbor::Encode(
      cbor::Value::EmptyMap().Put("ExtendPCR", cbor::Value::EmptyMap()
                                                   .Put("data", cbor::Value::ByteString(Bytes{}))
                                                   .Put("index", cbor::Value::Unsigned(20)))));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(*e, NsmRequest(NsmExtendPcrRequest{20, {}}));
}

TEST(NsmCodec, DecodingRejectsWhatSerdeWouldNotProduce) {
  const char* bad_requests[] = {
      "",                                                          // no item
      "6b44657363726962654e534d00",                                // trailing byte
      "6744657363726962",                                          // unknown unit variant
      "a16b4465736372696265504352a165696e6465781a00010000",        // index 65536
      "a16b4465736372696265504352a165696e64657820",                // index -1
      "a16b4465736372696265504352a0",                              // index missing
      "a16b4465736372696265504352a265696e6465780563666f6f00",      // unknown field "foo"
      "a169457874656e64504352a265696e646578106464617461830102",    // data as an array
      "a26b44657363726962654e534df66947657452616e646f6df6",        // two variants
      "a16b4465736372696265504352f6",                              // fields null
      "a16b4174746573746174696f6ea169757365725f6461746163616263",  // user_data as text
      "a1674c6f636b504352a165696e64657810ff",                      // trailing break
  };
  for (const char* hex : bad_requests) {
    auto r = DecodeNsmRequest(Hex(hex));
    EXPECT_FALSE(r.ok()) << hex;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << hex;
    }
  }
  EXPECT_FALSE(DecodeNsmRequest(Bytes(kNsmRequestMaxLen + 1, 0x40)).ok());

  const char* bad_responses[] = {
      "a1654572726f726b4e6f74416e4572726f72",  // Error("NotAnError")
      // locked_pcrs not ascending
      "a16b44657363726962654e534da76d76657273696f6e5f6d616a6f72016d76657273696f6e5f6d696e6f72"
      "006d76657273696f6e5f706174636800696d6f64756c655f696463692d31686d61785f7063727318206b6c"
      "6f636b65645f70637273831001006664696765737466534841333834",
      // digest "MD5"
      "a16b44657363726962654e534da76d76657273696f6e5f6d616a6f72016d76657273696f6e5f6d696e6f72"
      "006d76657273696f6e5f706174636800696d6f64756c655f696463692d31686d61785f7063727318206b6c"
      "6f636b65645f706372738300011066646967657374634d4435",
      "a16b4465736372696265504352a2646c6f636b01646461746140",  // lock as an integer
      "6b44657363726962654e534d",                              // DescribeNSM as a unit response
  };
  for (const char* hex : bad_responses) EXPECT_FALSE(DecodeNsmResponse(Hex(hex)).ok()) << hex;
}

class EmulatedModule : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = SimulationCa::Create(absl::Now());
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_shared<SimulationCa>(*std::move(ca));
    for (uint32_t i = 0; i < 16; ++i) pcrs_[i] = MeasureBytes(Bytes{static_cast<uint8_t>(i)});
  }
  NsmResponse Call(EmulatedNsm& nsm, const NsmRequest& r) {
    // Through the wire format, as the enclave's client would call it.
    auto decoded = DecodeNsmResponse(nsm.HandleRequest(EncodeNsmRequest(r), absl::Now()));
    EXPECT_TRUE(decoded.ok()) << decoded.status();
    return decoded.ok() ? *decoded : NsmResponse(NsmErrorResponse{});
  }
  static NsmErrorCode ErrorOf(const NsmResponse& r) {
    const auto* e = std::get_if<NsmErrorResponse>(&r);
    return e ? e->code : NsmErrorCode::kSuccess;
  }

  std::shared_ptr<SimulationCa> ca_;
  PcrMap pcrs_;
};

TEST_F(EmulatedModule, Pcr0To15AreReadOnlyAnd16UpExtendAndLock) {
  EmulatedNsm nsm(ca_, "i-0test-enc0000000000000003", pcrs_);
  auto d0 = std::get<NsmDescribePcrResponse>(Call(nsm, NsmDescribePcrRequest{0}));
  EXPECT_TRUE(d0.lock);
  EXPECT_EQ(d0.data, pcrs_[0]);
  for (uint16_t i : {0, 4, 8, 15}) {
    EXPECT_EQ(ErrorOf(Call(nsm, NsmExtendPcrRequest{i, {1}})), NsmErrorCode::kReadOnlyIndex) << i;
  }
  auto d16 = std::get<NsmDescribePcrResponse>(Call(nsm, NsmDescribePcrRequest{16}));
  EXPECT_FALSE(d16.lock);
  EXPECT_EQ(d16.data, ZeroPcr());

  auto ext = std::get<NsmExtendPcrResponse>(Call(nsm, NsmExtendPcrRequest{16, {1, 2}}));
  EXPECT_EQ(ext.data, *ExtendPcr(ZeroPcr(), Bytes{1, 2}));
  auto ext2 = std::get<NsmExtendPcrResponse>(Call(nsm, NsmExtendPcrRequest{16, {3}}));
  EXPECT_EQ(ext2.data, *ExtendPcr(ext.data, Bytes{3}));
  EXPECT_EQ(nsm.pcrs().count(16), 0u);  // not locked yet: not in documents

  EXPECT_TRUE(std::holds_alternative<NsmLockPcrResponse>(Call(nsm, NsmLockPcrRequest{16})));
  EXPECT_EQ(ErrorOf(Call(nsm, NsmExtendPcrRequest{16, {4}})), NsmErrorCode::kReadOnlyIndex);
  EXPECT_EQ(nsm.pcrs().at(16), ext2.data);
  EXPECT_TRUE(std::get<NsmDescribePcrResponse>(Call(nsm, NsmDescribePcrRequest{16})).lock);

  EXPECT_TRUE(std::holds_alternative<NsmLockPcrsResponse>(Call(nsm, NsmLockPcrsRequest{20})));
  EXPECT_EQ(ErrorOf(Call(nsm, NsmExtendPcrRequest{19, {1}})), NsmErrorCode::kReadOnlyIndex);
  EXPECT_TRUE(
      std::holds_alternative<NsmExtendPcrResponse>(Call(nsm, NsmExtendPcrRequest{20, {1}})));

  auto desc = std::get<NsmDescribeNsmResponse>(Call(nsm, NsmDescribeNsmRequest{}));
  EXPECT_EQ(desc.module_id, "i-0test-enc0000000000000003");
  EXPECT_EQ(desc.max_pcrs, 32);
  EXPECT_EQ(desc.digest, "SHA384");
  EXPECT_EQ(desc.locked_pcrs.size(), 20u);

  for (uint16_t bad : {32, 100, 65535}) {
    EXPECT_EQ(ErrorOf(Call(nsm, NsmDescribePcrRequest{bad})), NsmErrorCode::kInvalidIndex);
    EXPECT_EQ(ErrorOf(Call(nsm, NsmExtendPcrRequest{bad, {}})), NsmErrorCode::kInvalidIndex);
    EXPECT_EQ(ErrorOf(Call(nsm, NsmLockPcrRequest{bad})), NsmErrorCode::kInvalidIndex);
  }
  EXPECT_EQ(ErrorOf(Call(nsm, NsmLockPcrsRequest{33})), NsmErrorCode::kInvalidIndex);
}

TEST_F(EmulatedModule, DebugModeReportsImagePcrsAsZeros) {
  EmulatedNsm nsm(ca_, "i-0test-enc0000000000000004", pcrs_, /*debug_mode=*/true);
  for (uint16_t i : {0, 1, 2, 8}) {
    EXPECT_EQ(std::get<NsmDescribePcrResponse>(Call(nsm, NsmDescribePcrRequest{i})).data, ZeroPcr())
        << i;
  }
  EXPECT_EQ(std::get<NsmDescribePcrResponse>(Call(nsm, NsmDescribePcrRequest{3})).data, pcrs_[3]);
  EXPECT_EQ(std::get<NsmDescribePcrResponse>(Call(nsm, NsmDescribePcrRequest{4})).data, pcrs_[4]);
}

TEST_F(EmulatedModule, AttestationRandomAndBadInput) {
  EmulatedNsm nsm(ca_, "i-0test-enc0000000000000005", pcrs_);
  ASSERT_TRUE(
      std::holds_alternative<NsmExtendPcrResponse>(Call(nsm, NsmExtendPcrRequest{17, {9}})));
  ASSERT_TRUE(std::holds_alternative<NsmLockPcrResponse>(Call(nsm, NsmLockPcrRequest{17})));
  auto att = std::get<NsmAttestationResponse>(
      Call(nsm, NsmAttestationRequest{std::nullopt, Bytes(16, 7), std::nullopt}));
  VerifierOptions options;
  options.allow_simulation_root = true;
  auto verifier = Verifier::Create(ca_->RootDer(), options);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  auto verified = verifier->Verify(att.document, {}, absl::Now());
  ASSERT_TRUE(verified.ok()) << verified.status();
  const AttestationDocument* doc = &verified->document;
  EXPECT_EQ(doc->nonce, Bytes(16, 7));
  EXPECT_EQ(doc->pcrs.size(), 17u);  // PCR0-15 plus the locked PCR17
  EXPECT_EQ(doc->pcrs.at(17), *ExtendPcr(ZeroPcr(), Bytes{9}));

  EXPECT_EQ(ErrorOf(Call(nsm, NsmAttestationRequest{Bytes(1025, 1), std::nullopt, std::nullopt})),
            NsmErrorCode::kInputTooLarge);
  EXPECT_EQ(ErrorOf(Call(nsm, NsmAttestationRequest{std::nullopt, std::nullopt, Bytes()})),
            NsmErrorCode::kInvalidArgument);

  auto r1 = std::get<NsmGetRandomResponse>(Call(nsm, NsmGetRandomRequest{}));
  auto r2 = std::get<NsmGetRandomResponse>(Call(nsm, NsmGetRandomRequest{}));
  EXPECT_EQ(r1.random.size(), EmulatedNsm::kRandomLen);
  EXPECT_NE(r1.random, r2.random);

  auto garbage = DecodeNsmResponse(nsm.HandleRequest(Hex("ff"), absl::Now()));
  ASSERT_TRUE(garbage.ok());
  EXPECT_EQ(ErrorOf(*garbage), NsmErrorCode::kInvalidArgument);
  auto huge = DecodeNsmResponse(nsm.HandleRequest(Bytes(kNsmRequestMaxLen + 1, 0), absl::Now()));
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(ErrorOf(*huge), NsmErrorCode::kInputTooLarge);
}

}  // namespace
}  // namespace confide::attest
