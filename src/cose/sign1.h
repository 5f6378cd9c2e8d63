// confide::cose COSE_Sign1 (RFC 9052 §4.2, §4.4) with ES256 and ES384.
//
// Sign1Message::Parse reads a tagged (18) or untagged COSE_Sign1 from untrusted bytes and keeps
// the protected header bytes exactly as sent; Verify rebuilds the Sig_structure from them and
// checks the signature with an EcdsaPublicKey. Sign1 creates messages. Only ES256 (-7, P-256,
// SHA-256) and ES384 (-35, P-384, SHA-384) are supported; `alg` must be in the protected header
// and must match the key's curve. Signatures are raw r||s (RFC 9053 §2.1).
//
// Sign1Message is immutable after Parse: const methods are thread-safe.
#ifndef CONFIDE_COSE_SIGN1_H_
#define CONFIDE_COSE_SIGN1_H_

#include <cstdint>

#include "base/bytes.h"
#include "base/status.h"
#include "cbor/codec.h"
#include "cbor/value.h"
#include "crypto/ecdsa.h"

namespace confide::cose {

// Common header parameter labels (RFC 9052 §3.1, Table 3).
inline constexpr int64_t kHeaderAlg = 1;
inline constexpr int64_t kHeaderCrit = 2;
inline constexpr int64_t kHeaderContentType = 3;
inline constexpr int64_t kHeaderKid = 4;

// kSign1Tag is the CBOR tag of COSE_Sign1 (RFC 9052 §2, Table 1).
inline constexpr uint64_t kSign1Tag = 18;

// Algorithm is a supported COSE signature algorithm; values are the COSE alg identifiers
// (RFC 9053 §2.1, Table 1).
enum class Algorithm : int64_t { kEs256 = -7, kEs384 = -35 };

// AlgorithmName returns "ES256" or "ES384".
const char* AlgorithmName(Algorithm alg);
// AlgorithmForCurve returns ES256 for P-256 and ES384 for P-384.
Algorithm AlgorithmForCurve(crypto::Curve curve);
// AlgorithmFromHeaderValue maps the value of an `alg` header parameter to an Algorithm.
// InvalidArgument "unsupported algorithm ..." for anything else (ES512, text names, unknown
// identifiers).
absl::StatusOr<Algorithm> AlgorithmFromHeaderValue(const cbor::Value& alg);

// ProtectedHeaderFor returns the protected header map {1: alg}, ready for Sign1.
cbor::Value ProtectedHeaderFor(Algorithm alg);

// Sign1SigStructure returns the deterministic encoding of
// ["Signature1", body_protected, external_aad, payload] (RFC 9052 §4.4).
Bytes Sign1SigStructure(ByteSpan body_protected, ByteSpan external_aad, ByteSpan payload);

// Sign1Options tunes Sign1.
struct Sign1Options {
  // external_aad is bound into the signature but not carried in the message.
  ByteSpan external_aad = {};
  // tagged wraps the message in CBOR tag 18. AWS Nitro's NSM emits untagged messages.
  bool tagged = true;
  // detached_payload writes nil instead of the payload (RFC 9052 §4.1); the verifier then needs
  // the payload out of band (VerifyDetached).
  bool detached_payload = false;
};

// Sign1 returns a COSE_Sign1 message over `payload` signed with `key`. `protected_header` and
// `unprotected_header` must be maps with integer or text labels, no label in both;
// `protected_header` must hold `alg` (label 1) matching the key (ES256 for P-256, ES384 for
// P-384); see ProtectedHeaderFor. The protected map is encoded deterministically; the
// unprotected map too. InvalidArgument on a header violation; Internal if signing fails.
absl::StatusOr<Bytes> Sign1(const cbor::Value& protected_header,
                            const cbor::Value& unprotected_header, ByteSpan payload,
                            const crypto::EcdsaPrivateKey& key, const Sign1Options& options = {});

// Sign1Message is a parsed COSE_Sign1. Nothing in it is trusted until Verify returns OK.
class Sign1Message {
 public:
  // Parse reads a COSE_Sign1 from untrusted bytes: an optional tag 18, then
  // [protected: bstr, unprotected: map, payload: bstr / nil, signature: bstr]. The protected
  // bstr must be empty or hold a CBOR map. InvalidArgument (naming what is wrong) on malformed
  // CBOR (see cbor::Decode; `limits` apply to the message and the protected header), any other
  // tag, a wrong array length or element type, a header label that is not an integer or text
  // string, or a label present in both buckets (RFC 9052 §3).
  static absl::StatusOr<Sign1Message> Parse(ByteSpan data, const cbor::DecodeLimits& limits = {});

  // tagged returns true when the message carried tag 18.
  bool tagged() const { return tagged_; }
  // protected_bytes returns the protected header bstr content exactly as sent.
  ByteSpan protected_bytes() const { return protected_bytes_; }
  // protected_header returns the decoded protected map (empty if protected_bytes is empty).
  const cbor::Value& protected_header() const { return protected_header_; }
  // unprotected_header returns the unprotected map. It is not covered by the signature.
  const cbor::Value& unprotected_header() const { return unprotected_header_; }
  // detached returns true when the payload was nil.
  bool detached() const { return detached_; }
  // unverified_payload returns the payload (empty when detached). It is attacker-controlled
  // until Verify returns OK for the key you trust.
  ByteSpan unverified_payload() const { return payload_; }
  // signature returns the signature bytes.
  ByteSpan signature() const { return signature_; }

  // algorithm returns the protected `alg`. InvalidArgument when it is missing from the
  // protected header (also when only the unprotected header has it) or unsupported.
  absl::StatusOr<Algorithm> algorithm() const;

  // ToBeSigned returns the Sig_structure for this message's protected bytes and payload.
  Bytes ToBeSigned(ByteSpan external_aad = {}) const;

  // Verify checks the signature with `key` and `external_aad`. OK when valid. InvalidArgument
  // when the message is detached (use VerifyDetached), carries `crit` (no critical parameters
  // are understood), or `alg` is missing from the protected header, unsupported (e.g. ES512)
  // or does not match the key's curve; Unauthenticated ("COSE_Sign1 signature invalid") when
  // the signature does not verify or has the wrong length.
  absl::Status Verify(const crypto::EcdsaPublicKey& key, ByteSpan external_aad = {}) const;
  // VerifyDetached is Verify for a detached payload supplied by the caller. InvalidArgument if
  // the message carries a payload.
  absl::Status VerifyDetached(const crypto::EcdsaPublicKey& key, ByteSpan payload,
                              ByteSpan external_aad = {}) const;
  // VerifiedPayload returns the payload after Verify(key, external_aad) succeeds; the
  // Verify errors otherwise.
  absl::StatusOr<ByteSpan> VerifiedPayload(const crypto::EcdsaPublicKey& key,
                                           ByteSpan external_aad = {}) const;

  // Serialize returns the message with the protected bytes, payload and signature as parsed,
  // the unprotected map in deterministic encoding and shortest heads; tagged as parsed. For a
  // deterministically encoded input this is the input itself.
  Bytes Serialize() const;

 private:
  Sign1Message() = default;
  absl::Status VerifyImpl(const crypto::EcdsaPublicKey& key, ByteSpan payload,
                          ByteSpan external_aad) const;

  bool tagged_ = false;
  bool detached_ = false;
  Bytes protected_bytes_;
  cbor::Value protected_header_;
  cbor::Value unprotected_header_;
  Bytes payload_;
  Bytes signature_;
};

}  // namespace confide::cose

#endif  // CONFIDE_COSE_SIGN1_H_
