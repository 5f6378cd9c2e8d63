// confide::kms Recipient: the attested path of Decrypt, GenerateDataKey, GenerateDataKeyPair and
// GenerateRandom. The request carries Recipient {AttestationDocument, KeyEncryptionAlgorithm:
// RSAES_OAEP_SHA_256}; the KMS verifies the document against its configured roots, evaluates
// the key policy with the document's PCRs (kms:RecipientAttestation:*), and answers with
// CiphertextForRecipient — CMS EnvelopedData (RSAES-OAEP-SHA-256 key transport, AES-256-CBC
// content) to the RSA public key in the document — instead of a Plaintext field, as AWS KMS
// does, so only the attested enclave can read the key.
#ifndef CONFIDE_KMS_RECIPIENT_H_
#define CONFIDE_KMS_RECIPIENT_H_

#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "attest/pcr.h"
#include "attest/verifier.h"
#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace confide::kms {

// kRecipientAlgorithm is the only KeyEncryptionAlgorithm AWS KMS accepts.
inline constexpr char kRecipientAlgorithm[] = "RSAES_OAEP_SHA_256";
// kMaxRecipientDocumentAge is how old an attestation document a Recipient may carry.
inline constexpr absl::Duration kMaxRecipientDocumentAge = absl::Minutes(5);

// VerifiedRecipient is what the KMS learned from a verified Recipient.
struct VerifiedRecipient {
  attest::PcrMap pcrs;    // for BuildKmsRequestContext's attested_pcrs
  Bytes public_key_spki;  // the enclave's RSA key (DER SubjectPublicKeyInfo)
  bool simulation = false;
};

// VerifyRecipient verifies `document` at `now` with the first of `verifiers` whose root it
// chains to, requires `key_encryption_algorithm` to be RSAES_OAEP_SHA_256, a document no
// older than kMaxRecipientDocumentAge, and a public_key that is an RSA key of at least 2048
// bits. Every failure is InvalidArgument carrying AWS's "ValidationException" (errors.h), with a
// message naming the check (the attestation checks' own wording).
absl::StatusOr<VerifiedRecipient> VerifyRecipient(const std::vector<attest::Verifier>& verifiers,
                                                  ByteSpan document,
                                                  std::string_view key_encryption_algorithm,
                                                  absl::Time now);

// CiphertextForRecipient seals `plaintext` (a data key, or random bytes) to the recipient's
// key as BER/DER CMS EnvelopedData that aws-nitro-enclaves-sdk-c parses. The recipient
// identifier is the SHA-256 of the recipient's SubjectPublicKeyInfo.
absl::StatusOr<Bytes> CiphertextForRecipient(const VerifiedRecipient& recipient,
                                             const SecretBytes& plaintext);

}  // namespace confide::kms

#endif  // CONFIDE_KMS_RECIPIENT_H_
