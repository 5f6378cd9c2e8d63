#include "cose/sign1.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace confide::cose {
namespace {

using cbor::Value;

constexpr int64_t kAlgEs512 = -36;

absl::Status Malformed(const char* what) {
  return absl::InvalidArgumentError(absl::StrCat("COSE_Sign1: ", what));
}

// CheckHeaders validates the two header buckets (RFC 9052 §3).
absl::Status CheckHeaders(const Value& protected_header, const Value& unprotected_header) {
  if (!protected_header.is_map()) {
    return Malformed("protected header is not a map");
  }
  if (!unprotected_header.is_map()) {
    return Malformed("unprotected header is not a map");
  }
  //= https://www.rfc-editor.org/rfc/rfc9052#section-3
  //# label = int / tstr
  for (const Value* bucket : {&protected_header, &unprotected_header}) {
    for (const cbor::MapEntry& e : *bucket->as_map()) {
      if (!e.key.is_integer() && !e.key.is_text()) {
        return Malformed("header label is not an integer or text string");
      }
      //# Labels in each of the maps MUST be unique.
      // (Decoded maps never repeat a key; this catches maps built by a caller of Sign1.)
      if (bucket->Find(e.key) != &e.value) {
        return Malformed("header label repeated");
      }
    }
  }
  //= https://www.rfc-editor.org/rfc/rfc9052#section-3
  //# Applications SHOULD verify that the same label does not occur in both the protected and
  //# unprotected header parameters.
  // We reject such messages outright (duplicates inside one map are already rejected by the
  // CBOR decoder).
  for (const cbor::MapEntry& e : *unprotected_header.as_map()) {
    if (protected_header.Find(e.key) != nullptr) {
      return Malformed("header label present in both protected and unprotected buckets");
    }
  }
  return absl::OkStatus();
}

Bytes EncodeMessage(bool tagged, ByteSpan protected_bytes, const Value& unprotected, bool detached,
                    ByteSpan payload, ByteSpan signature) {
  //= https://www.rfc-editor.org/rfc/rfc9052#section-4.2
  //# COSE_Sign1 = [
  //#     Headers,
  //#     payload : bstr / nil,
  //#     signature : bstr
  //# ]
  Value msg = Value::FromArray({Value::ByteString(protected_bytes), unprotected,
                                detached ? Value::Null() : Value::ByteString(payload),
                                Value::ByteString(signature)});
  if (tagged) {
    msg = Value::Tagged(kSign1Tag, std::move(msg));
  }
  return cbor::Encode(msg);
}

}  // namespace

const char* AlgorithmName(Algorithm alg) { return alg == Algorithm::kEs256 ? "ES256" : "ES384"; }

Algorithm AlgorithmForCurve(crypto::Curve curve) {
  return curve == crypto::Curve::kP256 ? Algorithm::kEs256 : Algorithm::kEs384;
}

absl::StatusOr<Algorithm> AlgorithmFromHeaderValue(const Value& alg) {
  const std::optional<int64_t> id = alg.as_int64();
  if (id == static_cast<int64_t>(Algorithm::kEs256)) return Algorithm::kEs256;
  if (id == static_cast<int64_t>(Algorithm::kEs384)) return Algorithm::kEs384;
  if (id == kAlgEs512) {
    return absl::InvalidArgumentError("COSE: unsupported algorithm ES512");
  }
  if (id.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("COSE: unsupported algorithm ", *id));
  }
  return absl::InvalidArgumentError("COSE: unsupported algorithm (not an integer identifier)");
}

Value ProtectedHeaderFor(Algorithm alg) {
  Value h = Value::EmptyMap();
  h.Put(kHeaderAlg, Value::Int(static_cast<int64_t>(alg)));
  return h;
}

Bytes Sign1SigStructure(ByteSpan body_protected, ByteSpan external_aad, ByteSpan payload) {
  //= https://www.rfc-editor.org/rfc/rfc9052#section-4.4
  //# Sig_structure = [
  //#     context : "Signature" / "Signature1",
  //#     body_protected : empty_or_serialized_map,
  //#     ? sign_protected : empty_or_serialized_map,
  //#     external_aad : bstr,
  //#     payload : bstr
  //# ]
  return cbor::Encode(
      Value::FromArray({Value::Text("Signature1"), Value::ByteString(body_protected),
                        Value::ByteString(external_aad), Value::ByteString(payload)}));
}

absl::StatusOr<Bytes> Sign1(const Value& protected_header, const Value& unprotected_header,
                            ByteSpan payload, const crypto::EcdsaPrivateKey& key,
                            const Sign1Options& options) {
  RETURN_IF_ERROR(CheckHeaders(protected_header, unprotected_header));
  const Value* alg_value = protected_header.Find(kHeaderAlg);
  if (alg_value == nullptr) {
    return Malformed("protected header has no alg");
  }
  ASSIGN_OR_RETURN(Algorithm alg, AlgorithmFromHeaderValue(*alg_value));
  if (alg != AlgorithmForCurve(key.curve())) {
    return absl::InvalidArgumentError(absl::StrCat("COSE: algorithm ", AlgorithmName(alg),
                                                   " does not match the ",
                                                   crypto::CurveName(key.curve()), " key"));
  }
  // Never empty here (alg is present), so no zero-length special case (RFC 9052 §3).
  const Bytes protected_bytes = cbor::Encode(protected_header);
  const Bytes tbs = Sign1SigStructure(protected_bytes, options.external_aad, payload);
  ASSIGN_OR_RETURN(Bytes signature, key.Sign(tbs, crypto::SignatureFormat::kRaw));
  return EncodeMessage(options.tagged, protected_bytes, unprotected_header,
                       options.detached_payload, payload, signature);
}

absl::StatusOr<Sign1Message> Sign1Message::Parse(ByteSpan data, const cbor::DecodeLimits& limits) {
  ASSIGN_OR_RETURN(Value top, cbor::Decode(data, limits));
  Sign1Message m;
  const Value* body = &top;
  if (top.is_tag()) {
    //= https://www.rfc-editor.org/rfc/rfc9052#section-2
    //# COSE_Sign1_Tagged = #6.18(COSE_Sign1)
    if (top.tag_number() != kSign1Tag) {
      return Malformed("unexpected CBOR tag (expected 18 or none)");
    }
    m.tagged_ = true;
    body = top.tag_content();
  }
  const cbor::Array* parts = body->as_array();
  if (parts == nullptr) {
    return Malformed("not an array");
  }
  if (parts->size() != 4) {
    return Malformed("array does not have 4 elements");
  }
  const Value& protected_bstr = (*parts)[0];
  const Value& unprotected = (*parts)[1];
  const Value& payload = (*parts)[2];
  const Value& signature = (*parts)[3];
  if (!protected_bstr.is_bytes()) {
    return Malformed("protected header is not a byte string");
  }
  if (!unprotected.is_map()) {
    return Malformed("unprotected header is not a map");
  }
  if (!payload.is_bytes() && !payload.is_null()) {
    return Malformed("payload is neither a byte string nor nil");
  }
  if (!signature.is_bytes()) {
    return Malformed("signature is not a byte string");
  }
  m.protected_bytes_ = *protected_bstr.as_bytes();
  //= https://www.rfc-editor.org/rfc/rfc9052#section-3
  //# empty_or_serialized_map = bstr .cbor header_map / bstr .size 0
  if (m.protected_bytes_.empty()) {
    m.protected_header_ = Value::EmptyMap();
  } else {
    absl::StatusOr<Value> h = cbor::Decode(m.protected_bytes_, limits);
    if (!h.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("COSE_Sign1: protected header: ", std::string(h.status().message())));
    }
    m.protected_header_ = *std::move(h);
  }
  RETURN_IF_ERROR(CheckHeaders(m.protected_header_, unprotected));
  m.unprotected_header_ = unprotected;
  m.detached_ = payload.is_null();
  if (!m.detached_) {
    m.payload_ = *payload.as_bytes();
  }
  m.signature_ = *signature.as_bytes();
  return m;
}

absl::StatusOr<Algorithm> Sign1Message::algorithm() const {
  const Value* alg = protected_header_.Find(kHeaderAlg);
  if (alg == nullptr) {
    if (unprotected_header_.Find(kHeaderAlg) != nullptr) {
      return Malformed("alg is in the unprotected header; it must be protected");
    }
    return Malformed("protected header has no alg");
  }
  return AlgorithmFromHeaderValue(*alg);
}

Bytes Sign1Message::ToBeSigned(ByteSpan external_aad) const {
  return Sign1SigStructure(protected_bytes_, external_aad, payload_);
}

absl::Status Sign1Message::VerifyImpl(const crypto::EcdsaPublicKey& key, ByteSpan payload,
                                      ByteSpan external_aad) const {
  //= https://www.rfc-editor.org/rfc/rfc9052#section-3.1
  //# crit: This header parameter is used to indicate which protected header parameters an
  //# application that is processing a message is required to understand.
  // We understand none beyond alg, so any crit fails closed.
  if (protected_header_.Find(kHeaderCrit) != nullptr ||
      unprotected_header_.Find(kHeaderCrit) != nullptr) {
    return Malformed("critical header parameters are not supported");
  }
  ASSIGN_OR_RETURN(Algorithm alg, algorithm());
  if (alg != AlgorithmForCurve(key.curve())) {
    return absl::InvalidArgumentError(absl::StrCat("COSE: algorithm ", AlgorithmName(alg),
                                                   " does not match the ",
                                                   crypto::CurveName(key.curve()), " key"));
  }
  const absl::Status s = key.Verify(Sign1SigStructure(protected_bytes_, external_aad, payload),
                                    signature_, crypto::SignatureFormat::kRaw);
  if (!s.ok()) {
    return absl::UnauthenticatedError("COSE_Sign1 signature invalid");
  }
  return absl::OkStatus();
}

absl::Status Sign1Message::Verify(const crypto::EcdsaPublicKey& key, ByteSpan external_aad) const {
  if (detached_) {
    return Malformed("payload is detached; use VerifyDetached");
  }
  return VerifyImpl(key, payload_, external_aad);
}

absl::Status Sign1Message::VerifyDetached(const crypto::EcdsaPublicKey& key, ByteSpan payload,
                                          ByteSpan external_aad) const {
  if (!detached_) {
    return Malformed("payload is not detached");
  }
  return VerifyImpl(key, payload, external_aad);
}

absl::StatusOr<ByteSpan> Sign1Message::VerifiedPayload(const crypto::EcdsaPublicKey& key,
                                                       ByteSpan external_aad) const {
  RETURN_IF_ERROR(Verify(key, external_aad));
  return ByteSpan(payload_);
}

Bytes Sign1Message::Serialize() const {
  return EncodeMessage(tagged_, protected_bytes_, unprotected_header_, detached_, payload_,
                       signature_);
}

}  // namespace confide::cose
