// confide::crypto CMS EnvelopedData (RFC 5652 §6) in the one shape AWS KMS uses for
// `CiphertextForRecipient`: a single KeyTransRecipientInfo identified by subjectKeyIdentifier,
// the content key wrapped with RSAES-OAEP (SHA-256, MGF1-SHA-256, RFC 4055), the content
// encrypted with AES-256-CBC. Input may be BER (indefinite lengths, constructed OCTET STRINGs),
// as KMS sends it; output is DER.
//
// EnvelopedData has no integrity protection of its own: whoever knows the recipient's public
// key can make a valid one, and a modified ciphertext may still decrypt. Bind what it carries
// by other means (for KMS: the attestation document and TLS to KMS).
#ifndef CONFIDE_CRYPTO_CMS_H_
#define CONFIDE_CRYPTO_CMS_H_

#include <cstddef>
#include <string>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/rsa.h"

namespace confide::crypto {

// Dotted OIDs that appear in EnvelopedDataParts.
inline constexpr char kOidEnvelopedData[] = "1.2.840.113549.1.7.3";
inline constexpr char kOidData[] = "1.2.840.113549.1.7.1";
inline constexpr char kOidRsaesOaep[] = "1.2.840.113549.1.1.7";
inline constexpr char kOidMgf1[] = "1.2.840.113549.1.1.8";
inline constexpr char kOidPSpecified[] = "1.2.840.113549.1.1.9";
inline constexpr char kOidSha1[] = "1.3.14.3.2.26";
inline constexpr char kOidSha256[] = "2.16.840.1.101.3.4.2.1";
inline constexpr char kOidAes256Cbc[] = "2.16.840.1.101.3.4.1.42";

// Size bounds applied by the parser (KMS plaintexts are at most 4096 bytes).
inline constexpr size_t kMaxEnvelopedDataBytes = 128 * 1024;
inline constexpr size_t kMaxEnvelopedContentBytes = 64 * 1024;
inline constexpr size_t kMaxRecipientKeyIdBytes = 256;
inline constexpr size_t kMaxEncryptedKeyBytes = 1024;  // an 8192-bit RSA block
inline constexpr size_t kMaxContentIvBytes = 32;
inline constexpr size_t kMaxOaepLabelBytes = 1024;

// EnvelopedDataParts are the fields of a parsed EnvelopedData with one KeyTransRecipientInfo.
struct EnvelopedDataParts {
  Bytes recipient_key_id;              // rid [0] subjectKeyIdentifier
  std::string key_encryption_oid;      // always kOidRsaesOaep (others are refused)
  std::string oaep_hash_oid;           // RSAES-OAEP-params hashAlgorithm (default kOidSha1)
  std::string oaep_mgf_oid;            // maskGenAlgorithm (default kOidMgf1)
  std::string oaep_mgf_hash_oid;       // the MGF's hash (default kOidSha1)
  Bytes oaep_label;                    // pSourceAlgorithm pSpecified label (default empty)
  Bytes encrypted_key;                 // the wrapped content-encryption key
  std::string content_type_oid;        // EncryptedContentInfo contentType (KMS: kOidData)
  std::string content_encryption_oid;  // contentEncryptionAlgorithm (KMS: kOidAes256Cbc)
  Bytes iv;                            // its parameters: an OCTET STRING IV
  Bytes ciphertext;                    // encryptedContent

  friend bool operator==(const EnvelopedDataParts&, const EnvelopedDataParts&) = default;
};

// ParseEnvelopedData parses a BER ContentInfo holding EnvelopedData into its parts. Accepted:
// EnvelopedData version 2 without originatorInfo or unprotectedAttrs, exactly one
// KeyTransRecipientInfo of version 2 with a subjectKeyIdentifier, key encryption rsaesOaep with
// any RSAES-OAEP-params (hash parameters NULL or absent, RFC 4055 §2.1), a content-encryption
// algorithm whose parameters are an OCTET STRING (IV), and encryptedContent present. Every
// other shape, trailing data, or a field over its kMax* bound is InvalidArgument naming the
// field. Never reads past `ber`.
absl::StatusOr<EnvelopedDataParts> ParseEnvelopedData(ByteSpan ber);

// EncodeEnvelopedData returns the DER ContentInfo for `parts` (hash AlgorithmIdentifiers with
// NULL parameters, as KMS writes them; default-valued OAEP parameters written explicitly except
// an empty label). ParseEnvelopedData(EncodeEnvelopedData(p)) == p for any parts it accepts.
// InvalidArgument when a field is over its bound, empty where required, or an OID is malformed.
absl::StatusOr<Bytes> EncodeEnvelopedData(const EnvelopedDataParts& parts);

// CreateEnvelopedData encrypts `plaintext` for `recipient`: a fresh random AES-256 key and IV,
// AES-256-CBC with PKCS#7 padding, the key wrapped with RSAES-OAEP-SHA-256/MGF1-SHA-256, and
// `recipient_key_id` as the subjectKeyIdentifier. Returns DER. InvalidArgument when the key id
// is empty or over kMaxRecipientKeyIdBytes or the plaintext is over
// kMaxEnvelopedContentBytes - 16; Internal if the CSPRNG or OpenSSL fails.
absl::StatusOr<Bytes> CreateEnvelopedData(const RsaPublicKey& recipient, ByteSpan recipient_key_id,
                                          ByteSpan plaintext);
// CreateEnvelopedDataForSpki is CreateEnvelopedData for a recipient given as a DER
// SubjectPublicKeyInfo (as in an attestation document's public_key), with RsaPublicKey's
// import errors.
absl::StatusOr<Bytes> CreateEnvelopedDataForSpki(ByteSpan recipient_spki_der,
                                                 ByteSpan recipient_key_id, ByteSpan plaintext);

// OpenEnvelopedData parses `ber` and decrypts it with `key`. The content type must be id-data
// and the algorithms exactly RSAES-OAEP with SHA-256 and MGF1-SHA-256 (any pSpecified label is
// used as the OAEP label) and AES-256-CBC with a 16-byte IV and a non-empty ciphertext that is a
// multiple of 16 bytes; otherwise InvalidArgument naming what is unsupported (these are public
// properties of the message). Every failure after that (key unwrap, wrong key, key length, padding)
// is the same InvalidArgument("CMS decryption failed"). The recipient key id is not compared with
// `key`.
absl::StatusOr<SecretBytes> OpenEnvelopedData(ByteSpan ber, const RsaPrivateKey& key);

}  // namespace confide::crypto

#endif  // CONFIDE_CRYPTO_CMS_H_
