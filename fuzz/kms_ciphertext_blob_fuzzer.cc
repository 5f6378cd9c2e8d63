// Fuzzes confide::kms ciphertext blobs. Properties:
//  1. arbitrary bytes never open under the fuzzer's key (forging needs the AES-GCM key), and
//     every failure is InvalidCiphertextException with an empty message;
//  2. the header parser and Open agree: a blob whose header does not parse never opens;
//  3. a blob sealed from the input opens to the input, and flipping the bit the input selects
//     makes it fail.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kms/ciphertext_blob.h"
#include "kms/errors.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "kms_ciphertext_blob_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

const confide::SecretBytes& Key() {
  static const confide::SecretBytes* key = [] {
    auto* k = new confide::SecretBytes(32);
    for (size_t i = 0; i < 32; ++i) {
      k->MutableSecret()[i] = static_cast<uint8_t>(i * 7 + 1);
    }
    return k;
  }();
  return *key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  confide::ByteSpan input(data, size);
  confide::kms::EncryptionContext ctx = {{"purpose", "fuzz"}};
  auto header = confide::kms::ParseCiphertextBlobHeader(input);
  auto opened = confide::kms::OpenCiphertextBlob(input, Key(), ctx);
  Check(!opened.ok(), "random bytes opened");
  Check(confide::kms::AwsErrorType(opened.status()) == "InvalidCiphertextException" &&
            opened.status().message().empty(),
        "failure is not the single InvalidCiphertextException");
  if (!header.ok()) {
    Check(confide::kms::AwsErrorType(header.status()) == "InvalidCiphertextException",
          "header failure is not InvalidCiphertextException");
  }

  if (size > confide::kms::kMaxBlobPlaintextLen) {
    return 0;
  }
  auto blob =
      confide::kms::SealCiphertextBlob("fuzz-key", static_cast<uint32_t>(size), Key(), ctx, input);
  Check(blob.ok(), "seal failed");
  auto back = confide::kms::OpenCiphertextBlob(*blob, Key(), ctx);
  Check(back.ok() && back->size() == size &&
            std::equal(input.begin(), input.end(), back->ExposeSecret().begin()),
        "round trip failed");
  size_t bit = size == 0 ? 0 : (data[0] * 131u + size) % (blob->size() * 8);
  confide::Bytes bad = *blob;
  bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  Check(!confide::kms::OpenCiphertextBlob(bad, Key(), ctx).ok(), "flipped blob opened");
  return 0;
}
