#include "kms/recipient.h"

#include "absl/strings/str_cat.h"
#include "crypto/cms.h"
#include "crypto/rsa.h"
#include "crypto/sha.h"
#include "kms/errors.h"

namespace confide::kms {
namespace {

absl::Status Invalid(const std::string& message) {
  return AwsError(absl::StatusCode::kInvalidArgument, "ValidationException", message);
}

}  // namespace

absl::StatusOr<VerifiedRecipient> VerifyRecipient(const std::vector<attest::Verifier>& verifiers,
                                                  ByteSpan document,
                                                  std::string_view key_encryption_algorithm,
                                                  absl::Time now) {
  if (key_encryption_algorithm != kRecipientAlgorithm) {
    return Invalid("Recipient KeyEncryptionAlgorithm must be RSAES_OAEP_SHA_256");
  }
  if (verifiers.empty()) {
    return Invalid("Recipient attestation: this KMS trusts no attestation root");
  }
  attest::Expectations expect;
  expect.max_age = kMaxRecipientDocumentAge;
  absl::Status last = absl::UnauthenticatedError("no root");
  for (const attest::Verifier& v : verifiers) {
    auto r = v.Verify(document, expect, now);
    if (!r.ok()) {
      last = r.status();
      continue;
    }
    if (!r->document.public_key) {
      return Invalid("Recipient attestation document carries no public_key");
    }
    auto rsa = crypto::RsaPublicKey::FromSpkiDer(*r->document.public_key);
    if (!rsa.ok() || rsa->ModulusBits() < 2048) {
      return Invalid(
          "Recipient attestation document's public_key is not an RSA key of at "
          "least 2048 bits");
    }
    VerifiedRecipient out;
    out.pcrs = r->document.pcrs;
    out.public_key_spki = *r->document.public_key;
    out.simulation = r->simulation;
    return out;
  }
  return Invalid(
      absl::StrCat("Recipient attestation document rejected: ", std::string(last.message())));
}

absl::StatusOr<Bytes> CiphertextForRecipient(const VerifiedRecipient& recipient,
                                             const SecretBytes& plaintext) {
  const Bytes rid = crypto::Sha256(recipient.public_key_spki);
  return crypto::CreateEnvelopedDataForSpki(recipient.public_key_spki, rid,
                                            plaintext.ExposeSecret());
}

}  // namespace confide::kms
