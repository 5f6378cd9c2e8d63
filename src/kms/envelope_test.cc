// Envelope files: header codec, round trips at the segment-size edges, every kind of tampering,
// encryption-context checks, and the KMS path (in-process server) including Recipient.
#include "kms/envelope.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "attest/emulated_nsm.h"
#include "attest/pcr.h"
#include "base/encoding.h"
#include "base/file.h"
#include "crypto/random.h"
#include "crypto/sha.h"
#include "gtest/gtest.h"
#include "kms/errors.h"
#include "kms/internal/test_dir.h"
#include "kms/internal/test_server.h"
#include "kms/server.h"

namespace confide::kms {
namespace {

using Json = nlohmann::json;

constexpr uint32_t kSeg = 4096;
constexpr const char* kAdminArn = internal::kTestAdminArn;
constexpr const char* kParentArn = internal::kTestParentArn;

Bytes Pattern(size_t len, uint32_t seed = 1) {
  Bytes b(len);
  std::mt19937 rng(seed);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}
Bytes Secret(const SecretBytes& s) {
  return Bytes(s.ExposeSecret().begin(), s.ExposeSecret().end());
}
bool AllZero(ByteSpan b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

EnvelopeHeader Header(uint64_t len, uint32_t seg = kSeg,
                      EncryptionContext ctx = {{"confide:purpose", "model"}, {"b", ""}}) {
  auto h = NewEnvelopeHeader(Pattern(100, 5), std::move(ctx), len, seg);
  EXPECT_TRUE(h.ok()) << h.status();
  return *std::move(h);
}

SecretBytes FixedKey() { return SecretBytes::CopyFrom(Pattern(32, 42)); }

TEST(EnvelopeHeaderTest, EncodeParseRoundTrip) {
  EnvelopeHeader h = Header(123456789, 64 * 1024);
  EXPECT_EQ(Bytes(h.encoded.begin(), h.encoded.begin() + 4), ToBytes("CFE1"));
  auto len = EnvelopeHeaderLength(h.encoded);
  ASSERT_TRUE(len.ok()) << len.status();
  EXPECT_EQ(*len, h.encoded.size());
  Bytes with_tail = h.encoded;
  Append(with_tail, Pattern(50));
  auto p = ParseEnvelopeHeader(with_tail);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->encoded, h.encoded);
  EXPECT_EQ(p->segment_len, 64u * 1024);
  EXPECT_EQ(p->plaintext_len, 123456789u);
  EXPECT_EQ(p->salt, h.salt);
  EXPECT_EQ(p->nonce_prefix, h.nonce_prefix);
  EXPECT_EQ(p->kms_ciphertext_blob, h.kms_ciphertext_blob);
  EXPECT_EQ(p->context, h.context);
  EXPECT_EQ(*EncodeEnvelopeHeader(*p), h.encoded);
  // Fresh randomness per header.
  EXPECT_NE(Header(1).salt, Header(1).salt);
  // Empty context is fine.
  EnvelopeHeader empty = Header(0, kSeg, {});
  EXPECT_EQ(empty.encoded.size(), kEnvelopeMinHeaderLen + 99);
  EXPECT_TRUE(ParseEnvelopeHeader(empty.encoded).ok());
}

TEST(EnvelopeHeaderTest, RejectsMalformed) {
  EnvelopeHeader h = Header(1000);
  const Bytes& e = h.encoded;
  // Every truncation.
  for (size_t n = 0; n < e.size(); ++n) {
    EXPECT_FALSE(ParseEnvelopeHeader(ByteSpan(e).first(n)).ok()) << n;
  }
  auto mutate = [&](size_t off, uint8_t value) {
    Bytes m = e;
    m[off] = value;
    return ParseEnvelopeHeader(m).status();
  };
  EXPECT_FALSE(mutate(0, 'X').ok());       // magic
  EXPECT_FALSE(mutate(4, 2).ok());         // version
  EXPECT_FALSE(mutate(8, e[8] + 1).ok());  // header_len
  EXPECT_FALSE(mutate(9, 2).ok());         // suite
  EXPECT_FALSE(mutate(12, 0).ok());        // segment_len 1 MiB -> 0? (4096 -> 0)
  EXPECT_FALSE(mutate(10, 0x10).ok());     // segment_len way over 64 MiB
  EXPECT_FALSE(mutate(14, 0xff).ok());     // plaintext_len over 2^48
  EXPECT_FALSE(mutate(45, 0xff).ok());     // blob_len overruns
  // A parse never accepts something that does not re-encode to itself.
  for (size_t i = 0; i < e.size(); ++i) {
    for (uint8_t bit : {0x01, 0x80}) {
      Bytes m = e;
      m[i] ^= bit;
      auto p = ParseEnvelopeHeader(m);
      if (p.ok()) {
        EXPECT_EQ(*EncodeEnvelopeHeader(*p), m) << i;
        EXPECT_EQ(p->encoded, m);
      }
    }
  }
  // Non-canonical contexts: out of order, duplicate, empty key.
  auto with_context = [&](const Bytes& ctx) {
    EnvelopeHeader x = Header(10, kSeg, {});
    Bytes m(x.encoded.begin(), x.encoded.end() - 4);  // drop context_len and the empty context
    m.push_back(static_cast<uint8_t>(ctx.size() >> 8));
    m.push_back(static_cast<uint8_t>(ctx.size()));
    Append(m, ctx);
    const uint32_t len = static_cast<uint32_t>(m.size());
    for (int i = 0; i < 4; ++i) m[5 + i] = static_cast<uint8_t>(len >> (24 - 8 * i));
    return ParseEnvelopeHeader(m).status();
  };
  EXPECT_TRUE(with_context({0, 2, 0, 1, 'a', 0, 0, 0, 1, 'b', 0, 0}).ok());
  EXPECT_FALSE(with_context({0, 2, 0, 1, 'b', 0, 0, 0, 1, 'a', 0, 0}).ok());
  EXPECT_FALSE(with_context({0, 2, 0, 1, 'a', 0, 0, 0, 1, 'a', 0, 0}).ok());
  EXPECT_FALSE(with_context({0, 1, 0, 0, 0, 0}).ok());
  EXPECT_FALSE(with_context({0, 1, 0, 1, 'a', 0, 0, 9}).ok());
  EXPECT_FALSE(with_context({0, 2, 0, 1, 'a', 0, 0}).ok());
  // Encoding refuses bad fields.
  EnvelopeHeader bad = h;
  bad.segment_len = 100;
  EXPECT_FALSE(EncodeEnvelopeHeader(bad).ok());
  bad = h;
  bad.kms_ciphertext_blob.clear();
  EXPECT_FALSE(EncodeEnvelopeHeader(bad).ok());
  bad = h;
  bad.context[""] = "x";
  EXPECT_FALSE(EncodeEnvelopeHeader(bad).ok());
  bad = h;
  bad.salt.pop_back();
  EXPECT_FALSE(EncodeEnvelopeHeader(bad).ok());
}

TEST(EnvelopeCryptoTest, RoundTripsAtTheEdges) {
  SecretBytes key = FixedKey();
  for (uint64_t len : {uint64_t{0}, uint64_t{1}, uint64_t{kSeg - 1}, uint64_t{kSeg},
                       uint64_t{kSeg + 1}, uint64_t{3 * kSeg}, uint64_t{3 * kSeg + 5}}) {
    Bytes pt = Pattern(len, static_cast<uint32_t>(len + 1));
    EnvelopeHeader h = Header(len);
    auto env = SealEnvelope(h, key, pt);
    ASSERT_TRUE(env.ok()) << env.status();
    EXPECT_EQ(env->size(), h.file_len());
    ByteSpan ct = ByteSpan(*env).subspan(h.encoded.size());
    for (int threads : {1, 2, 4}) {
      Bytes out(len, 0xee);
      ASSERT_TRUE(DecryptToMemory(h, key, ct, out, threads).ok()) << len << "/" << threads;
      EXPECT_EQ(out, pt);
      Bytes streamed(len, 0xee);
      auto d = EnvelopeDecryptor::Create(h, key, streamed, threads);
      ASSERT_TRUE(d.ok());
      for (size_t off = 0; off < ct.size(); off += 1000) {
        ASSERT_TRUE((*d)->Update(ct.subspan(off, std::min<size_t>(1000, ct.size() - off))).ok());
      }
      ASSERT_TRUE((*d)->Finish().ok());
      EXPECT_EQ((*d)->bytes_received(), ct.size());
      EXPECT_EQ(streamed, pt);
    }
  }
  // Size and key checks.
  EnvelopeHeader h = Header(10);
  EXPECT_FALSE(SealEnvelope(h, key, Pattern(11)).ok());
  EXPECT_FALSE(SealEnvelope(h, SecretBytes::CopyFrom(Pattern(16)), Pattern(10)).ok());
  Bytes out(11);
  EXPECT_FALSE(EnvelopeDecryptor::Create(h, key, out, 1).ok());
}

// Every kind of tampering, with the data key known (as an enclave has it): the header is bound
// to every segment, segments to their positions, and the stream to its length.
TEST(EnvelopeCryptoTest, DetectsEveryKindOfTampering) {
  SecretBytes key = FixedKey();
  const uint64_t len = 3 * kSeg + 100;
  Bytes pt = Pattern(len);
  EnvelopeHeader h = Header(len);
  Bytes env = *SealEnvelope(h, key, pt);
  const size_t hl = h.encoded.size();
  auto opens = [&](ByteSpan envelope) {
    auto p = ParseEnvelopeHeader(envelope);
    if (!p.ok()) return false;
    // As DecryptEnvelope does: check the length before allocating what the header claims.
    if (envelope.size() - p->encoded.size() != p->ciphertext_len()) return false;
    Bytes out(p->plaintext_len);
    absl::Status s =
        DecryptToMemory(*p, key, envelope.subspan(p->encoded.size()), out, /*threads=*/2);
    if (!s.ok()) {
      EXPECT_TRUE(AllZero(out));
    }
    return s.ok();
  };
  ASSERT_TRUE(opens(env));
  size_t cases = 0;
  // Header edits (every bit of every byte that still parses) and segment bit flips.
  for (size_t i = 0; i < env.size(); i += (i < hl ? 1 : 61)) {
    for (uint8_t bit = 1; bit != 0; bit = static_cast<uint8_t>(bit << 1)) {
      Bytes m = env;
      m[i] ^= bit;
      EXPECT_FALSE(opens(m)) << "byte " << i << " bit " << int(bit);
      ++cases;
      if (i >= hl) break;
    }
  }
  // Reordered segments.
  Bytes swapped = env;
  std::swap_ranges(swapped.begin() + hl, swapped.begin() + hl + kSeg + 16,
                   swapped.begin() + hl + kSeg + 16);
  EXPECT_FALSE(opens(swapped));
  // Truncation anywhere in the segments, and at a segment boundary with the header's length
  // rewritten to match (its hash then changes, so every segment fails).
  for (size_t cut = hl; cut < env.size(); cut += 997) {
    EXPECT_FALSE(opens(ByteSpan(env).first(cut))) << cut;
    ++cases;
  }
  EnvelopeHeader shorter = h;
  shorter.plaintext_len = 3 * kSeg;
  shorter.encoded = *EncodeEnvelopeHeader(shorter);
  Bytes cut = shorter.encoded;
  cut.insert(cut.end(), env.begin() + hl, env.begin() + hl + 3 * (kSeg + 16));
  EXPECT_FALSE(opens(cut));
  // Extension: a byte, or a whole extra segment under a longer header.
  Bytes longer = env;
  longer.push_back(0);
  EXPECT_FALSE(opens(longer));
  EnvelopeHeader extended = h;
  extended.plaintext_len = 4 * kSeg;
  extended.encoded = *EncodeEnvelopeHeader(extended);
  Bytes ext = extended.encoded;
  ext.insert(ext.end(), env.begin() + hl, env.end());
  ext.resize(extended.file_len());
  EXPECT_FALSE(opens(ext));
  // A segment from another envelope under the same key (different salt and header).
  Bytes other = *SealEnvelope(Header(len), key, pt);
  Bytes spliced = env;
  std::copy(other.begin() + hl, other.begin() + hl + kSeg + 16, spliced.begin() + hl);
  EXPECT_FALSE(opens(spliced));
  EXPECT_GT(cases, 1000u);
}

// A vector made by an independent implementation (fuzz/gen_kms_envelope_seeds.py, Python
// `cryptography`): key bytes i*7+1, salt 00..0f, prefix 64..6a, segment 4096.
TEST(EnvelopeCryptoTest, KnownAnswerFromPython) {
  const std::string hex =
      "4346453101000000740100001000000000000000000e000102030405060708090a0b0c0d0e0f6465666768"
      "696a002901626c6f62626c6f62626c6f62626c6f62626c6f62626c6f62626c6f62626c6f62626c6f62626c"
      "6f62001a0001000f636f6e666964653a707572706f736500056d6f64656c50c779ef11ff8116e3a7e08cdd"
      "62965dac2c976f5911b00e707b76527893";
  Bytes env = *base::HexDecode(hex);
  SecretBytes key(32);
  for (size_t i = 0; i < 32; ++i) key.MutableSecret()[i] = static_cast<uint8_t>(i * 7 + 1);
  auto h = ParseEnvelopeHeader(env);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->context, (EncryptionContext{{"confide:purpose", "model"}}));
  Bytes out(h->plaintext_len);
  ASSERT_TRUE(DecryptToMemory(*h, key, ByteSpan(env).subspan(h->encoded.size()), out, 1).ok());
  EXPECT_EQ(out, ToBytes("hello envelope"));
  EXPECT_EQ(*SealEnvelope(*h, key, out), env);  // and we produce the same bytes
}

class EnvelopeKmsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    internal::TestKmsDir d = internal::MakeTestKmsDir("kms_envelope");
    ASSERT_FALSE(d.dir.empty());
    dir_ = d.dir;
    ca_ = d.ca;
    auto s = internal::StartTestServer(dir_);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    admin_ = MakeClient("AKIAADMIN00000000001", "admin-secret");
    auto id = admin_->CreateKey("envelope", std::nullopt);
    ASSERT_TRUE(id.ok()) << id.status();
    key_id_ = *id;
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<KmsClient> MakeClient(const std::string& id, const std::string& secret) {
    KmsCredentials c;
    c.access_key_id = id;
    c.secret_access_key = SecretBytes::CopyFrom(AsBytes(secret));
    return std::make_unique<KmsClient>(NewTcpKmsTransport("127.0.0.1", server_->port()),
                                       std::move(c), "us-east-1",
                                       "127.0.0.1:" + std::to_string(server_->port()));
  }
  std::string Write(const std::string& name, ByteSpan data) {
    std::string path = dir_ + "/" + name;
    EXPECT_TRUE(base::WriteFileAtomic(path, data).ok());
    return path;
  }
  Bytes Read(const std::string& path) { return *base::ReadFileBounded(path, 1 << 30); }

  std::string dir_;
  std::shared_ptr<attest::SimulationCa> ca_;
  std::unique_ptr<RunningKmsServer> server_;
  std::unique_ptr<KmsClient> admin_;
  std::string key_id_;
};

TEST_F(EnvelopeKmsTest, FilesRoundTripAndHashThePlaintext) {
  const EncryptionContext ctx = {{"confide:purpose", "model"}};
  EnvelopeOptions options;
  options.segment_len = kSeg;
  for (uint64_t len : {uint64_t{0}, uint64_t{kSeg}, uint64_t{2 * kSeg}, uint64_t{2 * kSeg + 1}}) {
    Bytes pt = Pattern(len, 9);
    std::string in = Write("plain", pt);
    auto enc = EncryptFile(*admin_, key_id_, ctx, in, dir_ + "/sealed.cfe", options);
    ASSERT_TRUE(enc.ok()) << enc.status();
    EXPECT_EQ(enc->plaintext_len, len);
    EXPECT_EQ(enc->plaintext_sha256, crypto::Sha256(pt));
    Bytes sealed = Read(dir_ + "/sealed.cfe");
    auto h = ParseEnvelopeHeader(sealed);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->file_len(), sealed.size());
    EXPECT_EQ(h->context, ctx);
    auto dec = DecryptFile(*admin_, dir_ + "/sealed.cfe", dir_ + "/back", ctx);
    ASSERT_TRUE(dec.ok()) << dec.status();
    EXPECT_EQ(Read(dir_ + "/back"), pt);
    EXPECT_EQ(dec->plaintext_sha256, enc->plaintext_sha256);
    EXPECT_EQ(std::filesystem::status(dir_ + "/back").permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auto mem = DecryptEnvelope(*admin_, sealed, ctx, nullptr, 2);
    ASSERT_TRUE(mem.ok()) << mem.status();
    EXPECT_EQ(Secret(*mem), pt);
  }
  // The default segment size, in memory.
  Bytes big = Pattern(kDefaultEnvelopeSegmentLen + 7, 3);
  auto env = EncryptToMemory(*admin_, key_id_, {}, big);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(ParseEnvelopeHeader(*env)->segment_len, kDefaultEnvelopeSegmentLen);
  EXPECT_EQ(Secret(*DecryptEnvelope(*admin_, *env, {})), big);
  // Inputs that are not regular files, missing inputs, bad segment sizes.
  EXPECT_EQ(EncryptFile(*admin_, key_id_, {}, dir_, dir_ + "/x", options).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncryptFile(*admin_, key_id_, {}, dir_ + "/nope", dir_ + "/x").status().code(),
            absl::StatusCode::kNotFound);
  options.segment_len = 1000;
  EXPECT_EQ(
      EncryptFile(*admin_, key_id_, {}, dir_ + "/plain", dir_ + "/x", options).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/x"));
  // An unknown key: the KMS error, and no output.
  auto nf = EncryptFile(*admin_, "alias/none", {}, dir_ + "/plain", dir_ + "/x");
  EXPECT_EQ(nf.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/x"));
}

TEST_F(EnvelopeKmsTest, WrongContextAndTamperedFilesLeaveNoOutput) {
  const EncryptionContext ctx = {{"confide:purpose", "model"}, {"tenant", "a"}};
  EnvelopeOptions options;
  options.segment_len = kSeg;
  Bytes pt = Pattern(3 * kSeg + 11, 4);
  std::string in = Write("plain", pt);
  ASSERT_TRUE(EncryptFile(*admin_, key_id_, ctx, in, dir_ + "/s.cfe", options).ok());
  Bytes sealed = Read(dir_ + "/s.cfe");
  EnvelopeHeader h = *ParseEnvelopeHeader(sealed);

  // The reader's required context must be present.
  auto wrong = DecryptFile(*admin_, dir_ + "/s.cfe", dir_ + "/out", {{"confide:purpose", "image"}});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(DecryptFile(*admin_, dir_ + "/s.cfe", dir_ + "/out", {{"other", "x"}}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(DecryptFile(*admin_, dir_ + "/s.cfe", dir_ + "/out", {{"tenant", "a"}}).ok());
  std::filesystem::remove(dir_ + "/out");

  // A header whose context was rewritten (validly encoded): KMS refuses the blob.
  EnvelopeHeader edited = h;
  edited.context["tenant"] = "b";
  edited.encoded = *EncodeEnvelopeHeader(edited);
  Bytes forged = edited.encoded;
  forged.insert(forged.end(), sealed.begin() + h.encoded.size(), sealed.end());
  Write("forged.cfe", forged);
  auto f = DecryptFile(*admin_, dir_ + "/forged.cfe", dir_ + "/out");
  EXPECT_EQ(AwsErrorType(f.status()), "InvalidCiphertextException") << f.status();
  // Dropping a context pair: the same.
  edited = h;
  edited.context.erase("tenant");
  edited.encoded = *EncodeEnvelopeHeader(edited);
  forged = edited.encoded;
  forged.insert(forged.end(), sealed.begin() + h.encoded.size(), sealed.end());
  EXPECT_EQ(AwsErrorType(DecryptEnvelope(*admin_, forged, {}).status()),
            "InvalidCiphertextException");

  // Segment tampering, truncation and extension: an error and no output file.
  std::vector<Bytes> bad;
  Bytes flipped = sealed;
  flipped[h.encoded.size() + 2 * (kSeg + 16) + 3] ^= 1;
  bad.push_back(flipped);
  bad.push_back(Bytes(sealed.begin(), sealed.end() - 16));
  bad.push_back(Bytes(sealed.begin(), sealed.begin() + h.encoded.size() + 3 * (kSeg + 16)));
  Bytes extended = sealed;
  extended.push_back(0);
  bad.push_back(extended);
  Bytes swapped = sealed;
  std::swap_ranges(swapped.begin() + h.encoded.size(),
                   swapped.begin() + h.encoded.size() + kSeg + 16,
                   swapped.begin() + h.encoded.size() + kSeg + 16);
  bad.push_back(swapped);
  bad.push_back(Bytes(sealed.begin(), sealed.begin() + 20));
  for (size_t i = 0; i < bad.size(); ++i) {
    Write("bad.cfe", bad[i]);
    EXPECT_FALSE(DecryptFile(*admin_, dir_ + "/bad.cfe", dir_ + "/out").ok()) << i;
    EXPECT_FALSE(DecryptEnvelope(*admin_, bad[i], {}).ok()) << i;
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/out")) << i;
  }
  // No temporary files are left behind.
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
    ++entries;
  }
  EXPECT_GT(entries, 0u);
}

TEST_F(EnvelopeKmsTest, EnclaveUnwrapsWithItsAttestation) {
  attest::PcrMap pcrs;
  for (uint32_t i = 0; i < 16; ++i) pcrs[i] = attest::ZeroPcr();
  pcrs[0] = attest::MeasureBytes(AsBytes("enclave image"));
  Json policy = {{"Version", "2012-10-17"},
                 {"Statement",
                  {{{"Sid", "Admin"},
                    {"Effect", "Allow"},
                    {"Principal", {{"AWS", kAdminArn}}},
                    {"Action", "kms:*"},
                    {"Resource", "*"}},
                   {{"Sid", "EnclaveDecrypt"},
                    {"Effect", "Allow"},
                    {"Principal", {{"AWS", kParentArn}}},
                    {"Action", "kms:Decrypt"},
                    {"Resource", "*"},
                    {"Condition",
                     {{"StringEqualsIgnoreCase",
                       {{"kms:RecipientAttestation:ImageSha384", base::HexEncode(pcrs[0])}}}}}}}}};
  auto id = admin_->CreateKey("enclave", policy.dump());
  ASSERT_TRUE(id.ok());
  const EncryptionContext ctx = {{"confide:purpose", "model"}};
  Bytes pt = Pattern(5 * kSeg + 1, 6);
  EnvelopeOptions options;
  options.segment_len = kSeg;
  auto env = EncryptToMemory(*admin_, *id, ctx, pt, options);
  ASSERT_TRUE(env.ok());
  auto parent = MakeClient("AKIAPARENT0000000001", "parent-secret");
  EXPECT_EQ(DecryptEnvelope(*parent, *env, ctx).status().code(),
            absl::StatusCode::kPermissionDenied);

  auto rsa = crypto::RsaPrivateKey::Generate(2048);
  attest::EmulatedNsm nsm(ca_, "i-0enc", pcrs, false);
  auto doc = nsm.Attest(std::nullopt, std::nullopt, rsa->PublicKey().SpkiDer(), absl::Now());
  ASSERT_TRUE(doc.ok());
  KmsRecipient recipient{&*rsa, *doc};
  // The enclave's streaming path: header first, then the key, then segments as they come.
  size_t header_len = *EnvelopeHeaderLength(ByteSpan(*env).first(kEnvelopePrefixLen));
  auto header = ParseEnvelopeHeader(ByteSpan(*env).first(header_len));
  ASSERT_TRUE(header.ok());
  ASSERT_TRUE(CheckEnvelopeContext(*header, ctx).ok());
  auto key = UnwrapDataKey(*parent, *header, &recipient);
  ASSERT_TRUE(key.ok()) << key.status();
  Bytes out(header->plaintext_len);
  auto dec = EnvelopeDecryptor::Create(*header, *key, out, 2);
  ASSERT_TRUE(dec.ok());
  ByteSpan rest = ByteSpan(*env).subspan(header_len);
  for (size_t off = 0; off < rest.size(); off += 3000) {
    ASSERT_TRUE((*dec)->Update(rest.subspan(off, std::min<size_t>(3000, rest.size() - off))).ok());
  }
  ASSERT_TRUE((*dec)->Finish().ok());
  EXPECT_EQ(out, pt);
  EXPECT_EQ(Secret(*DecryptEnvelope(*parent, *env, ctx, &recipient, 2)), pt);
}

}  // namespace
}  // namespace confide::kms
