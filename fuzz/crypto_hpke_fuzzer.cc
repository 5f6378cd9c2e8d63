// Fuzzes HPKE and the Aead class with two properties:
//  1. Round trip: whatever the input, sealing it (as plaintext) and opening gives it back.
//  2. No forgery: the input read as enc || ciphertext (HPKE) or as a sealed message (Aead)
//     never opens under keys the fuzzer cannot know.
// The first input byte picks the suite, so every KEM/KDF/AEAD combination is exercised.
#include <cstdio>
#include <cstdlib>

#include "crypto/aead.h"
#include "crypto/hpke.h"

namespace {

using confide::Bytes;
using confide::ByteSpan;
using confide::crypto::Aead;
using confide::crypto::AeadAlg;
using confide::crypto::HpkeAeadId;
using confide::crypto::HpkeDeriveKeyPair;
using confide::crypto::HpkeKdfId;
using confide::crypto::HpkeKemEncLen;
using confide::crypto::HpkeKemId;
using confide::crypto::HpkeKeyPair;
using confide::crypto::HpkeOpen;
using confide::crypto::HpkeSeal;
using confide::crypto::HpkeSetupParams;
using confide::crypto::HpkeSuite;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

const HpkeSuite kSuites[] = {
    {HpkeKemId::kX25519HkdfSha256, HpkeKdfId::kHkdfSha256, HpkeAeadId::kAes128Gcm},
    {HpkeKemId::kX25519HkdfSha256, HpkeKdfId::kHkdfSha256, HpkeAeadId::kAes256Gcm},
    {HpkeKemId::kX25519HkdfSha256, HpkeKdfId::kHkdfSha512, HpkeAeadId::kChaCha20Poly1305},
    {HpkeKemId::kP256HkdfSha256, HpkeKdfId::kHkdfSha256, HpkeAeadId::kAes128Gcm},
    {HpkeKemId::kP256HkdfSha256, HpkeKdfId::kHkdfSha512, HpkeAeadId::kAes256Gcm},
    {HpkeKemId::kP256HkdfSha256, HpkeKdfId::kHkdfSha256, HpkeAeadId::kChaCha20Poly1305},
};
constexpr size_t kNumSuites = sizeof(kSuites) / sizeof(kSuites[0]);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const HpkeKeyPair x25519 = *HpkeDeriveKeyPair(HpkeKemId::kX25519HkdfSha256, Bytes(32, 1));
  static const HpkeKeyPair p256 = *HpkeDeriveKeyPair(HpkeKemId::kP256HkdfSha256, Bytes(32, 2));
  static const Aead aead = *Aead::Generate(AeadAlg::kAes256Gcm);

  const HpkeSuite& suite = kSuites[data[0] % kNumSuites];
  const HpkeKeyPair& keys = suite.kem == HpkeKemId::kP256HkdfSha256 ? p256 : x25519;
  ByteSpan input(data + 1, size - 1);
  HpkeSetupParams params;
  params.info = confide::AsBytes("fuzz info");

  // 1. Round trips.
  auto sealed = HpkeSeal(suite, keys.public_key, params, confide::AsBytes("aad"), input);
  Check(sealed.ok(), "HpkeSeal failed");
  auto opened = HpkeOpen(suite, sealed->enc, keys.private_key, params, confide::AsBytes("aad"),
                         sealed->ciphertext);
  Check(opened.ok() && *opened == Bytes(input.begin(), input.end()), "HPKE round trip");
  auto wrong_aad = HpkeOpen(suite, sealed->enc, keys.private_key, params, confide::AsBytes("aae"),
                            sealed->ciphertext);
  Check(!wrong_aad.ok(), "HPKE opened with the wrong aad");
  auto a = aead.Seal({}, input);
  Check(a.ok(), "Aead::Seal failed");
  auto b = aead.Open({}, *a);
  Check(b.ok() && *b == Bytes(input.begin(), input.end()), "Aead round trip");

  // 2. No forgery.
  const size_t nenc = HpkeKemEncLen(suite.kem);
  if (input.size() >= nenc) {
    auto forged =
        HpkeOpen(suite, input.first(nenc), keys.private_key, params, {}, input.subspan(nenc));
    Check(!forged.ok(), "HPKE opened attacker-chosen bytes");
  }
  Check(!aead.Open({}, input).ok(), "Aead opened attacker-chosen bytes");
  return 0;
}
