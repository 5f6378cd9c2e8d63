// Fuzzes confide::cose::Sign1Message::Parse and Verify on untrusted bytes. Properties:
//  1. parse -> Serialize -> parse -> Serialize is stable, and deterministic input serialises
//     to itself;
//  2. the re-parsed message keeps the protected bytes, payload and signature, and verifies
//     (or fails) exactly as the original, with fixed P-256 and P-384 keys.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "base/encoding.h"
#include "cbor/codec.h"
#include "cose/sign1.h"

namespace {

using confide::Bytes;
using confide::ByteSpan;
using confide::crypto::Curve;
using confide::crypto::EcdsaPublicKey;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "cose_sign1_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

// The public keys of the cose-wg/Examples vectors (RFC 9052 Appendix C key "11" on P-256 and
// the "P384" key of ecdsa-sig-02), so that seeds made from those examples verify.
EcdsaPublicKey LoadKey(Curve curve, const char* x, const char* y) {
  Bytes point{0x04};
  for (const char* part : {x, y}) {
    auto b = confide::base::Base64UrlDecode(part);
    Check(b.ok(), "fixed key does not decode");
    confide::Append(point, *b);
  }
  auto key = EcdsaPublicKey::FromUncompressedPoint(curve, point);
  Check(key.ok(), "fixed key is not on its curve");
  return *key;
}

bool Same(ByteSpan a, ByteSpan b) { return Bytes(a.begin(), a.end()) == Bytes(b.begin(), b.end()); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using confide::cose::Sign1Message;
  static const EcdsaPublicKey* p256 =
      new EcdsaPublicKey(LoadKey(Curve::kP256, "usWxHK2PmfnHKwXPS54m0kTcGJ90UiglWiGahtagnv8",
                                 "IBOL-C3BttVivg-lSreASjpkttcsz-1rb7btKLv8EX4"));
  static const EcdsaPublicKey* p384 = new EcdsaPublicKey(
      LoadKey(Curve::kP384, "kTJyP2KSsBBhnb4kjWmMF7WHVsY55xUPgb7k64rDcjatChoZ1nvjKmYmPh5STRKc",
              "mM0weMVU2DKsYDxDJkEP9hZiRZtB8fPfXbzINZj_fF7YQRynNWedHEyzAJOX2e8s"));

  const ByteSpan in(data, size);
  absl::StatusOr<Sign1Message> m = Sign1Message::Parse(in);
  if (!m.ok()) {
    return 0;
  }
  const Bytes s1 = m->Serialize();
  if (confide::cbor::IsDeterministicEncoding(in)) {
    Check(s1 == Bytes(in.begin(), in.end()), "deterministic message does not round-trip");
  }
  absl::StatusOr<Sign1Message> m2 = Sign1Message::Parse(s1);
  Check(m2.ok(), "serialised message does not parse");
  Check(m2->Serialize() == s1, "Serialize is not stable");
  Check(m2->tagged() == m->tagged() && m2->detached() == m->detached(), "framing changed");
  Check(Same(m2->protected_bytes(), m->protected_bytes()), "protected bytes changed");
  Check(Same(m2->unverified_payload(), m->unverified_payload()), "payload changed");
  Check(Same(m2->signature(), m->signature()), "signature changed");
  Check(m2->protected_header() == m->protected_header(), "protected header changed");
  for (const EcdsaPublicKey* key : {p256, p384}) {
    const absl::Status v1 = m->Verify(*key);
    const absl::Status v2 = m2->Verify(*key);
    Check(v1.code() == v2.code(), "verification result changed after re-serialisation");
  }
  return 0;
}
