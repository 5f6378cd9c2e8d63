#include "attest/nsm_codec.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cbor/codec.h"
#include "cbor/value.h"

namespace confide::attest {
namespace {

constexpr const char* kErrorNames[] = {"Success",         "InvalidArgument", "InvalidIndex",
                                       "InvalidResponse", "ReadOnlyIndex",   "InvalidOperation",
                                       "BufferTooSmall",  "InputTooLarge",   "InternalError"};

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("NSM message: ", std::string(what)));
}

// Struct variants are written in declaration order: serde serialises struct fields in the order
// they are declared, not sorted.
const cbor::EncodeOptions kInOrder{.sort_map_keys = false};

cbor::Value Variant(const char* name, cbor::Value fields) {
  cbor::Value outer = cbor::Value::EmptyMap();
  outer.Put(name, std::move(fields));
  return outer;
}

cbor::Value OptionalBytes(const std::optional<Bytes>& b) {
  return b ? cbor::Value::ByteString(*b) : cbor::Value::Null();
}

// Fields reads the field map of a struct variant: only the given names, each at most once
// (the CBOR decoder already refuses duplicate keys).
class Fields {
 public:
  static absl::StatusOr<Fields> Of(const cbor::Value& v, const std::string& variant,
                                   std::initializer_list<std::string_view> names) {
    if (!v.is_map()) return Bad(variant + " fields must be a map");
    for (const cbor::MapEntry& e : *v.as_map()) {
      const std::string* key = e.key.as_text();
      if (key == nullptr || std::find(names.begin(), names.end(), *key) == names.end()) {
        return Bad(variant + " has an unknown field");
      }
    }
    return Fields(v, variant);
  }

  absl::StatusOr<uint16_t> U16(std::string_view name) const {
    const cbor::Value* f = v_->Find(name);
    std::optional<uint64_t> n = f ? f->as_uint64() : std::nullopt;
    if (!n || *n > 0xffff) return Missing(name, "an integer 0..65535");
    return static_cast<uint16_t>(*n);
  }
  absl::StatusOr<Bytes> Bstr(std::string_view name) const {
    const cbor::Value* f = v_->Find(name);
    if (f == nullptr || !f->is_bytes()) return Missing(name, "a byte string");
    return *f->as_bytes();
  }
  absl::StatusOr<std::optional<Bytes>> OptionalBstr(std::string_view name) const {
    const cbor::Value* f = v_->Find(name);
    if (f == nullptr || f->is_null()) return std::optional<Bytes>();
    if (!f->is_bytes()) return Missing(name, "a byte string or null");
    return std::optional<Bytes>(*f->as_bytes());
  }
  absl::StatusOr<bool> Bool(std::string_view name) const {
    const cbor::Value* f = v_->Find(name);
    std::optional<bool> b = f ? f->as_bool() : std::nullopt;
    if (!b) return Missing(name, "a bool");
    return *b;
  }
  absl::StatusOr<std::string> Text(std::string_view name) const {
    const cbor::Value* f = v_->Find(name);
    if (f == nullptr || !f->is_text()) return Missing(name, "a text string");
    return *f->as_text();
  }
  const cbor::Value* Get(std::string_view name) const { return v_->Find(name); }

 private:
  Fields(const cbor::Value& v, std::string variant) : v_(&v), variant_(std::move(variant)) {}
  absl::Status Missing(std::string_view name, const char* want) const {
    return Bad(absl::StrCat(variant_, ".", std::string(name), " must be present and ", want));
  }
  const cbor::Value* v_;
  std::string variant_;
};

// Tagged splits an externally tagged enum value into (variant name, fields or nullptr for a
// unit variant).
absl::StatusOr<std::pair<std::string, const cbor::Value*>> Tagged(const cbor::Value& v) {
  if (v.is_text()) return std::make_pair(*v.as_text(), static_cast<const cbor::Value*>(nullptr));
  if (v.is_map() && v.as_map()->size() == 1 && v.as_map()->front().key.is_text()) {
    const cbor::MapEntry& e = v.as_map()->front();
    return std::make_pair(*e.key.as_text(), &e.value);
  }
  return Bad("not an externally tagged variant (text or one-entry map)");
}

absl::StatusOr<cbor::Value> DecodeCapped(ByteSpan data, size_t cap) {
  if (data.size() > cap) return Bad("larger than the driver's buffer");
  auto v = cbor::Decode(data);
  if (!v.ok()) return Bad("not one well-formed CBOR item");
  return v;
}

}  // namespace

const char* NsmErrorCodeName(NsmErrorCode code) {
  size_t i = static_cast<size_t>(code);
  return i < std::size(kErrorNames) ? kErrorNames[i] : "InternalError";
}

Bytes EncodeNsmRequest(const NsmRequest& request) {
  struct Visitor {
    cbor::Value operator()(const NsmDescribePcrRequest& r) const {
      return Variant("DescribePCR",
                     cbor::Value::EmptyMap().Put("index", cbor::Value::Unsigned(r.index)));
    }
    cbor::Value operator()(const NsmExtendPcrRequest& r) const {
      cbor::Value f = cbor::Value::EmptyMap();
      f.Put("index", cbor::Value::Unsigned(r.index));
      f.Put("data", cbor::Value::ByteString(r.data));
      return Variant("ExtendPCR", std::move(f));
    }
    cbor::Value operator()(const NsmLockPcrRequest& r) const {
      return Variant("LockPCR",
                     cbor::Value::EmptyMap().Put("index", cbor::Value::Unsigned(r.index)));
    }
    cbor::Value operator()(const NsmLockPcrsRequest& r) const {
      return Variant("LockPCRs",
                     cbor::Value::EmptyMap().Put("range", cbor::Value::Unsigned(r.range)));
    }
    cbor::Value operator()(const NsmDescribeNsmRequest&) const {
      return cbor::Value::Text("DescribeNSM");
    }
    cbor::Value operator()(const NsmAttestationRequest& r) const {
      cbor::Value f = cbor::Value::EmptyMap();
      f.Put("user_data", OptionalBytes(r.user_data));
      f.Put("nonce", OptionalBytes(r.nonce));
      f.Put("public_key", OptionalBytes(r.public_key));
      return Variant("Attestation", std::move(f));
    }
    cbor::Value operator()(const NsmGetRandomRequest&) const {
      return cbor::Value::Text("GetRandom");
    }
  };
  return cbor::Encode(std::visit(Visitor{}, request), kInOrder);
}

absl::StatusOr<NsmRequest> DecodeNsmRequest(ByteSpan data) {
  ASSIGN_OR_RETURN(cbor::Value v, DecodeCapped(data, kNsmRequestMaxLen));
  ASSIGN_OR_RETURN(auto tagged, Tagged(v));
  const auto& [name, body] = tagged;
  if (body == nullptr) {
    if (name == "DescribeNSM") return NsmRequest(NsmDescribeNsmRequest{});
    if (name == "GetRandom") return NsmRequest(NsmGetRandomRequest{});
    return Bad("unknown unit request");
  }
  if (name == "DescribePCR" || name == "LockPCR") {
    ASSIGN_OR_RETURN(Fields f, Fields::Of(*body, name, {"index"}));
    ASSIGN_OR_RETURN(uint16_t index, f.U16("index"));
    if (name == "DescribePCR") return NsmRequest(NsmDescribePcrRequest{index});
    return NsmRequest(NsmLockPcrRequest{index});
  }
  if (name == "ExtendPCR") {
    ASSIGN_OR_RETURN(Fields f, Fields::Of(*body, name, {"index", "data"}));
    ASSIGN_OR_RETURN(uint16_t index, f.U16("index"));
    ASSIGN_OR_RETURN(Bytes d, f.Bstr("data"));
    return NsmRequest(NsmExtendPcrRequest{index, std::move(d)});
  }
  if (name == "LockPCRs") {
    ASSIGN_OR_RETURN(Fields f, Fields::Of(*body, name, {"range"}));
    ASSIGN_OR_RETURN(uint16_t range, f.U16("range"));
    return NsmRequest(NsmLockPcrsRequest{range});
  }
  if (name == "Attestation") {
    ASSIGN_OR_RETURN(Fields f, Fields::Of(*body, name, {"user_data", "nonce", "public_key"}));
    NsmAttestationRequest r;
    ASSIGN_OR_RETURN(r.user_data, f.OptionalBstr("user_data"));
    ASSIGN_OR_RETURN(r.nonce, f.OptionalBstr("nonce"));
    ASSIGN_OR_RETURN(r.public_key, f.OptionalBstr("public_key"));
    return NsmRequest(std::move(r));
  }
  return Bad("unknown request variant");
}

Bytes EncodeNsmResponse(const NsmResponse& response) {
  struct Visitor {
    cbor::Value operator()(const NsmDescribePcrResponse& r) const {
      cbor::Value f = cbor::Value::EmptyMap();
      f.Put("lock", cbor::Value::Bool(r.lock));
      f.Put("data", cbor::Value::ByteString(r.data));
      return Variant("DescribePCR", std::move(f));
    }
    cbor::Value operator()(const NsmExtendPcrResponse& r) const {
      return Variant("ExtendPCR",
                     cbor::Value::EmptyMap().Put("data", cbor::Value::ByteString(r.data)));
    }
    cbor::Value operator()(const NsmLockPcrResponse&) const { return cbor::Value::Text("LockPCR"); }
    cbor::Value operator()(const NsmLockPcrsResponse&) const {
      return cbor::Value::Text("LockPCRs");
    }
    cbor::Value operator()(const NsmDescribeNsmResponse& r) const {
      std::vector<uint16_t> locked = r.locked_pcrs;
      std::sort(locked.begin(), locked.end());
      locked.erase(std::unique(locked.begin(), locked.end()), locked.end());
      cbor::Value set = cbor::Value::EmptyArray();
      for (uint16_t i : locked) set.Append(cbor::Value::Unsigned(i));
      cbor::Value f = cbor::Value::EmptyMap();
      f.Put("version_major", cbor::Value::Unsigned(r.version_major));
      f.Put("version_minor", cbor::Value::Unsigned(r.version_minor));
      f.Put("version_patch", cbor::Value::Unsigned(r.version_patch));
      f.Put("module_id", cbor::Value::Text(r.module_id));
      f.Put("max_pcrs", cbor::Value::Unsigned(r.max_pcrs));
      f.Put("locked_pcrs", std::move(set));
      f.Put("digest", cbor::Value::Text(r.digest));
      return Variant("DescribeNSM", std::move(f));
    }
    cbor::Value operator()(const NsmAttestationResponse& r) const {
      return Variant("Attestation",
                     cbor::Value::EmptyMap().Put("document", cbor::Value::ByteString(r.document)));
    }
    cbor::Value operator()(const NsmGetRandomResponse& r) const {
      return Variant("GetRandom",
                     cbor::Value::EmptyMap().Put("random", cbor::Value::ByteString(r.random)));
    }
    cbor::Value operator()(const NsmErrorResponse& r) const {
      return Variant("Error", cbor::Value::Text(NsmErrorCodeName(r.code)));
    }
  };
  return cbor::Encode(std::visit(Visitor{}, response), kInOrder);
}

absl::StatusOr<NsmResponse> DecodeNsmResponse(ByteSpan data) {
  ASSIGN_OR_RETURN(cbor::Value v, DecodeCapped(data, kNsmResponseMaxLen));
  ASSIGN_OR_RETURN(auto tagged, Tagged(v));
  const auto& [name, body] = tagged;
  if (body == nullptr) {
    if (name == "LockPCR") return NsmResponse(NsmLockPcrResponse{});
    if (name == "LockPCRs") return NsmResponse(NsmLockPcrsResponse{});
    return Bad("unknown unit response");
  }
  if (name == "Error") {
    const std::string* code = body->as_text();
    for (size_t i = 0; code != nullptr && i < std::size(kErrorNames); ++i) {
      if (*code == kErrorNames[i])
        return NsmResponse(NsmErrorResponse{static_cast<NsmErrorCode>(i)});
    }
    return Bad("unknown error code");
  }
  if (name == "DescribePCR") {
    ASSIGN_OR_RETURN(Fields f, Fields::Of(*body, name, {"lock", "data"}));
    NsmDescribePcrResponse r;
    ASSIGN_OR_RETURN(r.lock, f.Bool("lock"));
    ASSIGN_OR_RETURN(r.data, f.Bstr("data"));
    return NsmResponse(std::move(r));
  }
  if (name == "ExtendPCR" || name == "Attestation" || name == "GetRandom") {
    const char* field = name == "ExtendPCR"     ? "data"
                        : name == "Attestation" ? "document"
                                                : "random";
    ASSIGN_OR_RETURN(Fields f, Fields::Of(*body, name, {field}));
    ASSIGN_OR_RETURN(Bytes b, f.Bstr(field));
    if (name == "ExtendPCR") return NsmResponse(NsmExtendPcrResponse{std::move(b)});
    if (name == "Attestation") return NsmResponse(NsmAttestationResponse{std::move(b)});
    return NsmResponse(NsmGetRandomResponse{std::move(b)});
  }
  if (name == "DescribeNSM") {
    ASSIGN_OR_RETURN(Fields f, Fields::Of(*body, name,
                                          {"version_major", "version_minor", "version_patch",
                                           "module_id", "max_pcrs", "locked_pcrs", "digest"}));
    NsmDescribeNsmResponse r;
    ASSIGN_OR_RETURN(r.version_major, f.U16("version_major"));
    ASSIGN_OR_RETURN(r.version_minor, f.U16("version_minor"));
    ASSIGN_OR_RETURN(r.version_patch, f.U16("version_patch"));
    ASSIGN_OR_RETURN(r.module_id, f.Text("module_id"));
    ASSIGN_OR_RETURN(r.max_pcrs, f.U16("max_pcrs"));
    ASSIGN_OR_RETURN(r.digest, f.Text("digest"));
    if (r.digest != "SHA256" && r.digest != "SHA384" && r.digest != "SHA512") {
      return Bad("DescribeNSM.digest is not SHA256, SHA384 or SHA512");
    }
    const cbor::Value* set = f.Get("locked_pcrs");
    if (set == nullptr || !set->is_array()) return Bad("DescribeNSM.locked_pcrs must be an array");
    for (const cbor::Value& item : *set->as_array()) {
      std::optional<uint64_t> n = item.as_uint64();
      if (!n || *n > 0xffff) return Bad("DescribeNSM.locked_pcrs holds a non-u16");
      if (!r.locked_pcrs.empty() && *n <= r.locked_pcrs.back()) {
        return Bad("DescribeNSM.locked_pcrs is not strictly ascending");
      }
      r.locked_pcrs.push_back(static_cast<uint16_t>(*n));
    }
    return NsmResponse(std::move(r));
  }
  return Bad("unknown response variant");
}

}  // namespace confide::attest
