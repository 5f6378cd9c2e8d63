// Audit log verification on arbitrary bytes. Properties: never crashes; without the signing key
// a fuzzer cannot produce a log with a checkpoint that verifies under a fixed public key.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "crypto/ecdsa.h"
#include "kms/audit_log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confide;  // NOLINT: fuzz target
  static const crypto::EcdsaPublicKey* key = [] {
    auto k = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384);
    if (!k.ok()) std::abort();
    return new crypto::EcdsaPublicKey(k->PublicKey());
  }();
  ByteSpan in(data, size);
  auto with_key = kms::VerifyAuditLog(in, key);
  if (with_key.ok() && with_key->checkpoints > 0) std::abort();  // forged signature
  (void)kms::VerifyAuditLog(in, nullptr);
  return 0;
}
