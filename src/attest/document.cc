#include "attest/document.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "cbor/codec.h"
#include "cbor/value.h"

namespace confide::attest {
namespace {

using cbor::Value;

absl::Status FieldError(const char* field, const std::string& problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("attestation document field '", field, "' ", problem));
}

absl::StatusOr<Bytes> RequiredBytes(const Value& v, const char* field, size_t min_len,
                                    size_t max_len) {
  const Bytes* b = v.as_bytes();
  if (b == nullptr) return FieldError(field, "is not a byte string");
  if (b->size() < min_len || b->size() > max_len) {
    return FieldError(field,
                      absl::StrCat("has ", b->size(), " bytes; allowed ", min_len, "..", max_len));
  }
  return *b;
}

absl::StatusOr<std::optional<Bytes>> OptionalBytes(const Value& v, const char* field,
                                                   size_t min_len, size_t max_len) {
  if (v.is_null()) return std::optional<Bytes>();
  ASSIGN_OR_RETURN(Bytes b, RequiredBytes(v, field, min_len, max_len));
  return std::optional<Bytes>(std::move(b));
}

bool ValidPcrLen(size_t n) { return n == 32 || n == 48 || n == 64; }

absl::Status CheckDocument(const AttestationDocument& d) {
  if (d.module_id.empty() || d.module_id.size() > kMaxModuleIdLen) {
    return FieldError("module_id", "must be 1..256 characters");
  }
  if (d.digest != "SHA384") return FieldError("digest", "must be \"SHA384\"");
  if (d.timestamp_ms == 0) return FieldError("timestamp", "must be non-zero");
  if (d.pcrs.empty() || d.pcrs.size() > kMaxPcrIndex + 1) {
    return FieldError("pcrs", "must hold 1..32 entries");
  }
  for (const auto& [index, value] : d.pcrs) {
    if (index > kMaxPcrIndex) return FieldError("pcrs", absl::StrCat("index ", index, " > 31"));
    if (!ValidPcrLen(value.size())) {
      return FieldError("pcrs", absl::StrCat("value of PCR", index, " is ", value.size(),
                                             " bytes; must be 32, 48 or 64"));
    }
  }
  if (d.certificate.empty() || d.certificate.size() > kMaxCertificateLen) {
    return FieldError("certificate", "must be 1..1024 bytes");
  }
  if (d.cabundle.empty() || d.cabundle.size() > kMaxCabundleLen) {
    return FieldError("cabundle", "must hold 1..16 certificates");
  }
  for (const Bytes& c : d.cabundle) {
    if (c.empty() || c.size() > kMaxCertificateLen) {
      return FieldError("cabundle", "entries must be 1..1024 bytes");
    }
  }
  if (d.public_key && (d.public_key->empty() || d.public_key->size() > kMaxPublicKeyLen)) {
    return FieldError("public_key", "must be 1..1024 bytes");
  }
  if (d.user_data && d.user_data->size() > kMaxUserDataLen) {
    return FieldError("user_data", "must be at most 1024 bytes");
  }
  if (d.nonce && d.nonce->size() > kMaxNonceLen) {
    return FieldError("nonce", "must be at most 1024 bytes");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AttestationDocument> ParsePayload(ByteSpan payload) {
  cbor::DecodeLimits limits;
  limits.max_depth = 4;
  limits.max_items = 256;
  limits.max_string_len = kMaxCertificateLen;  // the largest field
  limits.max_container_len = 64;
  auto decoded = cbor::Decode(payload, limits);
  if (!decoded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("attestation document payload is not valid CBOR: ",
                     std::string(decoded.status().message())));
  }
  const cbor::Map* map = decoded->as_map();
  if (map == nullptr) {
    return absl::InvalidArgumentError("attestation document payload is not a CBOR map");
  }

  AttestationDocument doc;
  std::set<std::string> seen;
  for (const cbor::MapEntry& e : *map) {
    const std::string* key = e.key.as_text();
    if (key == nullptr) {
      return absl::InvalidArgumentError("attestation document has a non-text field name");
    }
    seen.insert(*key);  // the decoder already rejected duplicates
    const Value& v = e.value;
    if (*key == "module_id") {
      const std::string* s = v.as_text();
      if (s == nullptr) return FieldError("module_id", "is not a text string");
      doc.module_id = *s;
    } else if (*key == "digest") {
      const std::string* s = v.as_text();
      if (s == nullptr) return FieldError("digest", "is not a text string");
      doc.digest = *s;
    } else if (*key == "timestamp") {
      auto t = v.as_uint64();
      if (!t) return FieldError("timestamp", "is not an unsigned integer");
      doc.timestamp_ms = *t;
    } else if (*key == "pcrs") {
      const cbor::Map* pcrs = v.as_map();
      if (pcrs == nullptr) return FieldError("pcrs", "is not a map");
      for (const cbor::MapEntry& p : *pcrs) {
        auto index = p.key.as_uint64();
        if (!index || *index > kMaxPcrIndex) {
          return FieldError("pcrs", "has an index that is not an integer in 0..31");
        }
        ASSIGN_OR_RETURN(Bytes value, RequiredBytes(p.value, "pcrs", 32, 64));
        doc.pcrs[static_cast<uint32_t>(*index)] = std::move(value);
      }
    } else if (*key == "certificate") {
      ASSIGN_OR_RETURN(doc.certificate, RequiredBytes(v, "certificate", 1, kMaxCertificateLen));
    } else if (*key == "cabundle") {
      const cbor::Array* certs = v.as_array();
      if (certs == nullptr) return FieldError("cabundle", "is not an array");
      for (const Value& c : *certs) {
        ASSIGN_OR_RETURN(Bytes der, RequiredBytes(c, "cabundle", 1, kMaxCertificateLen));
        doc.cabundle.push_back(std::move(der));
      }
    } else if (*key == "public_key") {
      ASSIGN_OR_RETURN(doc.public_key, OptionalBytes(v, "public_key", 1, kMaxPublicKeyLen));
    } else if (*key == "user_data") {
      ASSIGN_OR_RETURN(doc.user_data, OptionalBytes(v, "user_data", 0, kMaxUserDataLen));
    } else if (*key == "nonce") {
      ASSIGN_OR_RETURN(doc.nonce, OptionalBytes(v, "nonce", 0, kMaxNonceLen));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("attestation document has an unknown field (", key->size(), "-byte name)"));
    }
  }
  for (const char* required :
       {"module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle"}) {
    if (!seen.count(required)) return FieldError(required, "is missing");
  }
  RETURN_IF_ERROR(CheckDocument(doc));
  return doc;
}

absl::StatusOr<Bytes> EncodePayload(const AttestationDocument& doc) {
  RETURN_IF_ERROR(CheckDocument(doc));
  Value pcrs = Value::EmptyMap();
  for (const auto& [index, value] : doc.pcrs) {
    pcrs.Put(Value::Unsigned(index), Value::ByteString(value));
  }
  Value cabundle = Value::EmptyArray();
  for (const Bytes& c : doc.cabundle) cabundle.Append(Value::ByteString(c));
  auto opt = [](const std::optional<Bytes>& b) {
    return b ? Value::ByteString(*b) : Value::Null();
  };
  Value map = Value::EmptyMap();
  map.Put("module_id", Value::Text(doc.module_id))
      .Put("digest", Value::Text(doc.digest))
      .Put("timestamp", Value::Unsigned(doc.timestamp_ms))
      .Put("pcrs", std::move(pcrs))
      .Put("certificate", Value::ByteString(doc.certificate))
      .Put("cabundle", std::move(cabundle))
      .Put("public_key", opt(doc.public_key))
      .Put("user_data", opt(doc.user_data))
      .Put("nonce", opt(doc.nonce));
  cbor::EncodeOptions options;
  options.sort_map_keys = false;  // Nitro's field order
  return cbor::Encode(map, options);
}

}  // namespace confide::attest
