// Fuzzes confide::kms envelope files (header parser and segment decryption under a fixed data
// key; seeds from fuzz/gen_kms_envelope_seeds.py, an independent Python implementation).
// Properties:
//  1. the header parser is bounded and canonical: whatever parses re-encodes to exactly the
//     bytes it consumed, and EnvelopeHeaderLength agrees with it;
//  2. the one-shot (DecryptToMemory, 1 and 3 threads) and incremental (EnvelopeDecryptor, in
//     chunks the input chooses) decryptors agree on success and output, and zeroise on failure;
//  3. sealing is deterministic given the header, so whatever decrypts re-seals to exactly the
//     input: nothing but a genuine envelope opens;
//  4. the input, sealed as a plaintext, opens again, and one flipped bit makes it fail.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "kms/envelope.h"

namespace {

using confide::Bytes;
using confide::ByteSpan;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "kms_envelope_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

const confide::SecretBytes& Key() {
  static const confide::SecretBytes* key = [] {
    auto* k = new confide::SecretBytes(32);
    for (size_t i = 0; i < 32; ++i) k->MutableSecret()[i] = static_cast<uint8_t>(i * 7 + 1);
    return k;
  }();
  return *key;
}

bool AllZero(ByteSpan b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

constexpr uint64_t kMaxFuzzPlaintext = 1 << 20;

void CheckDecrypt(ByteSpan input, const confide::kms::EnvelopeHeader& h) {
  ByteSpan ct = input.subspan(h.encoded.size());
  if (ct.size() != h.ciphertext_len() || h.plaintext_len > kMaxFuzzPlaintext) return;
  const size_t len = static_cast<size_t>(h.plaintext_len);
  Bytes one(len, 0xaa);
  Bytes three(len, 0xaa);
  Bytes inc(len, 0xaa);
  const bool ok1 = confide::kms::DecryptToMemory(h, Key(), ct, one, 1).ok();
  const bool ok3 = confide::kms::DecryptToMemory(h, Key(), ct, three, 3).ok();
  bool ok_inc = false;
  {
    auto d = confide::kms::EnvelopeDecryptor::Create(h, Key(), inc, 2);
    Check(d.ok(), "decryptor refused a valid header");
    const size_t chunk = 1 + (input.empty() ? 0 : input[input.size() - 1] * 37u);
    bool ok = true;
    for (size_t off = 0; ok && off < ct.size(); off += chunk) {
      ok = (*d)->Update(ct.subspan(off, std::min(chunk, ct.size() - off))).ok();
    }
    ok_inc = ok && (*d)->Finish().ok();
  }
  Check(ok1 == ok3 && ok1 == ok_inc, "decryptors disagree");
  if (!ok1) {
    Check(AllZero(one) && AllZero(three) && AllZero(inc), "failed decryption left plaintext");
    return;
  }
  Check(one == three && one == inc, "decryptors disagree on the plaintext");
  auto resealed = confide::kms::SealEnvelope(h, Key(), one);
  Check(resealed.ok() && ByteSpan(*resealed).size() == input.size() &&
            std::equal(resealed->begin(), resealed->end(), input.begin()),
        "an envelope opened that does not re-seal to itself");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan input(data, size);
  auto header = confide::kms::ParseEnvelopeHeader(input);
  auto len = confide::kms::EnvelopeHeaderLength(input);
  if (header.ok()) {
    Check(len.ok() && *len == header->encoded.size(), "header length disagrees");
    Check(std::equal(header->encoded.begin(), header->encoded.end(), input.begin()),
          "encoded is not the consumed prefix");
    auto again = confide::kms::EncodeEnvelopeHeader(*header);
    Check(again.ok() && *again == header->encoded, "header does not re-encode to itself");
    CheckDecrypt(input, *header);
  }

  // Seal the input itself and check the round trip and one flipped bit.
  if (size > 64 * 1024) return 0;
  confide::kms::EnvelopeHeader h;
  h.segment_len = 4096;
  h.plaintext_len = size;
  h.salt = Bytes(16, 3);
  h.nonce_prefix = Bytes(7, 4);
  h.kms_ciphertext_blob = Bytes(8, 5);
  h.context = {{"confide:purpose", "fuzz"}};
  auto encoded = confide::kms::EncodeEnvelopeHeader(h);
  Check(encoded.ok(), "encode failed");
  h.encoded = *encoded;
  auto sealed = confide::kms::SealEnvelope(h, Key(), input);
  Check(sealed.ok(), "seal failed");
  Bytes out(size);
  ByteSpan ct = ByteSpan(*sealed).subspan(h.encoded.size());
  Check(confide::kms::DecryptToMemory(h, Key(), ct, out, 2).ok() &&
            std::equal(out.begin(), out.end(), input.begin()),
        "round trip failed");
  const size_t bit = (size * 131u + (size ? data[0] : 0)) % (sealed->size() * 8);
  Bytes bad = *sealed;
  bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  auto parsed = confide::kms::ParseEnvelopeHeader(bad);
  if (parsed.ok() && bad.size() - parsed->encoded.size() == parsed->ciphertext_len() &&
      parsed->plaintext_len <= kMaxFuzzPlaintext) {
    Bytes o(static_cast<size_t>(parsed->plaintext_len));
    Check(!confide::kms::DecryptToMemory(*parsed, Key(),
                                         ByteSpan(bad).subspan(parsed->encoded.size()), o, 1)
               .ok(),
          "flipped envelope opened");
  }
  return 0;
}
