#include "ohttp/bhttp.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "base/cursor.h"
#include "base/http_token.h"
#include "ohttp/varint.h"

namespace confide::ohttp {
namespace {

//= https://www.rfc-editor.org/rfc/rfc9292#section-3.3
//# Framing Indicator: 0 known-length request, 1 known-length response, 2 indeterminate-length
//# request, 3 indeterminate-length response.
constexpr uint64_t kKnownRequest = 0;
constexpr uint64_t kKnownResponse = 1;
constexpr uint64_t kIndefiniteRequest = 2;
constexpr uint64_t kIndefiniteResponse = 3;

bool IsToken(std::string_view s) { return base::IsHttpToken(s); }

//= https://www.rfc-editor.org/rfc/rfc9292#section-3.6
//# field names are required to be in lowercase
bool IsFieldName(std::string_view s) {
  if (!IsToken(s)) return false;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return false;
  }
  return true;
}

bool IsFieldValue(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

absl::Status CheckFields(const std::vector<Field>& fields) {
  for (const Field& f : fields) {
    if (!IsFieldName(f.name)) {
      return absl::InvalidArgumentError("bhttp: field name is not a lower-case token");
    }
    if (!IsFieldValue(f.value)) {
      return absl::InvalidArgumentError("bhttp: field value contains CR, LF or NUL");
    }
  }
  return absl::OkStatus();
}

void AppendString(Bytes& out, std::string_view s) {
  AppendVarint(out, s.size());
  Append(out, AsBytes(s));
}

void AppendFieldSection(Bytes& out, const std::vector<Field>& fields) {
  Bytes section;
  for (const Field& f : fields) {
    AppendString(section, f.name);
    AppendString(section, f.value);
  }
  AppendVarint(out, section.size());
  Append(out, section);
}

void AppendContent(Bytes& out, ByteSpan content) {
  AppendVarint(out, content.size());
  Append(out, content);
}

class Reader {
 public:
  Reader(ByteSpan data, const BhttpLimits& limits) : in_(data), limits_(limits) {}

  absl::Status Fail(std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("bhttp: ", std::string(what), " at offset ", in_.offset()));
  }

  bool AtEnd() const { return in_.empty(); }

  absl::Status Varint(uint64_t* out, std::string_view what) {
    if (!ReadVarint(in_, out)) return Fail(absl::StrCat("truncated ", std::string(what)));
    return absl::OkStatus();
  }

  // Bytes reads a varint length and that many bytes, capped at `cap`.
  absl::Status LengthPrefixed(size_t cap, std::string_view what, ByteSpan* out) {
    uint64_t len;
    RETURN_IF_ERROR(Varint(&len, what));
    if (len > cap) return Fail(absl::StrCat(std::string(what), " is too long"));
    if (!in_.ReadBytes(static_cast<size_t>(len), out)) {
      return Fail(absl::StrCat(std::string(what), " runs past the end of the message"));
    }
    return absl::OkStatus();
  }

  absl::Status String(size_t cap, std::string_view what, std::string* out) {
    ByteSpan b;
    RETURN_IF_ERROR(LengthPrefixed(cap, what, &b));
    out->assign(AsStringView(b));
    return absl::OkStatus();
  }

  // KnownFieldSection reads Length then field lines filling exactly that length.
  absl::Status KnownFieldSection(std::vector<Field>* out) {
    ByteSpan section;
    RETURN_IF_ERROR(LengthPrefixed(limits_.max_field_section_bytes, "field section", &section));
    base::ByteCursor c(section);
    while (!c.empty()) {
      RETURN_IF_ERROR(ReadFieldLine(c, out, /*first_len=*/std::nullopt));
    }
    return absl::OkStatus();
  }

  // IndefiniteFieldSection reads field lines until a zero name length.
  absl::Status IndefiniteFieldSection(std::vector<Field>* out) {
    size_t start = in_.offset();
    for (;;) {
      uint64_t name_len;
      RETURN_IF_ERROR(Varint(&name_len, "field section"));
      if (name_len == 0) return absl::OkStatus();
      RETURN_IF_ERROR(ReadFieldLine(in_, out, name_len));
      if (in_.offset() - start > limits_.max_field_section_bytes) {
        return Fail("field section is too long");
      }
    }
  }

  absl::Status KnownContent(Bytes* out) {
    ByteSpan content;
    RETURN_IF_ERROR(LengthPrefixed(limits_.max_message_bytes, "content", &content));
    out->assign(content.begin(), content.end());
    return absl::OkStatus();
  }

  absl::Status IndefiniteContent(Bytes* out) {
    for (;;) {
      ByteSpan chunk;
      uint64_t len;
      RETURN_IF_ERROR(Varint(&len, "content chunk"));
      if (len == 0) return absl::OkStatus();
      if (len > limits_.max_message_bytes - out->size()) return Fail("content is too long");
      if (!in_.ReadBytes(static_cast<size_t>(len), &chunk)) {
        return Fail("content chunk runs past the end of the message");
      }
      Append(*out, chunk);
    }
  }

  //= https://www.rfc-editor.org/rfc/rfc9292#section-3.8
  //# Padding ... consists of any number of zero-valued bytes
  absl::Status Padding() {
    uint8_t b;
    while (in_.ReadU8(&b)) {
      if (b != 0) return Fail("non-zero byte after the message");
    }
    return absl::OkStatus();
  }

 private:
  absl::Status ReadFieldLine(base::ByteCursor& c, std::vector<Field>* out,
                             std::optional<uint64_t> first_len) {
    if (out->size() >= limits_.max_fields) return Fail("too many fields in a section");
    uint64_t name_len;
    if (first_len) {
      name_len = *first_len;
    } else if (!ReadVarint(c, &name_len)) {
      return Fail("truncated field name length");
    }
    ByteSpan name, value;
    uint64_t value_len;
    if (name_len > limits_.max_field_section_bytes || !c.ReadBytes(name_len, &name)) {
      return Fail("field name runs past its section");
    }
    if (!ReadVarint(c, &value_len)) return Fail("truncated field value length");
    if (value_len > limits_.max_field_section_bytes || !c.ReadBytes(value_len, &value)) {
      return Fail("field value runs past its section");
    }
    Field f{std::string(AsStringView(name)), std::string(AsStringView(value))};
    if (!IsFieldName(f.name)) return Fail("field name is not a lower-case token");
    if (!IsFieldValue(f.value)) return Fail("field value contains CR, LF or NUL");
    out->push_back(std::move(f));
    return absl::OkStatus();
  }

  base::ByteCursor in_;
  const BhttpLimits& limits_;
};

// ReadSections reads header fields, content and trailers in the framing's form. Trailing empty
// sections may be truncated away (RFC 9292 §3.8).
template <typename Message>
absl::Status ReadSections(Reader& r, bool known, Message* m) {
  if (r.AtEnd()) return absl::OkStatus();
  RETURN_IF_ERROR(known ? r.KnownFieldSection(&m->headers) : r.IndefiniteFieldSection(&m->headers));
  if (r.AtEnd()) return absl::OkStatus();
  RETURN_IF_ERROR(known ? r.KnownContent(&m->content) : r.IndefiniteContent(&m->content));
  if (r.AtEnd()) return absl::OkStatus();
  RETURN_IF_ERROR(known ? r.KnownFieldSection(&m->trailers)
                        : r.IndefiniteFieldSection(&m->trailers));
  return r.Padding();
}

std::optional<std::string_view> FindHeader(const std::vector<Field>& fields,
                                           std::string_view name) {
  for (const Field& f : fields) {
    if (f.name == name) return std::string_view(f.value);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> BhttpRequest::Header(std::string_view name) const {
  return FindHeader(headers, name);
}
std::optional<std::string_view> BhttpResponse::Header(std::string_view name) const {
  return FindHeader(headers, name);
}

absl::StatusOr<Bytes> EncodeRequest(const BhttpRequest& r) {
  if (!IsToken(r.method)) return absl::InvalidArgumentError("bhttp: method is not a token");
  RETURN_IF_ERROR(CheckFields(r.headers));
  RETURN_IF_ERROR(CheckFields(r.trailers));
  Bytes out;
  AppendVarint(out, kKnownRequest);
  AppendString(out, r.method);
  AppendString(out, r.scheme);
  AppendString(out, r.authority);
  AppendString(out, r.path);
  AppendFieldSection(out, r.headers);
  AppendContent(out, r.content);
  AppendFieldSection(out, r.trailers);
  return out;
}

absl::StatusOr<BhttpRequest> DecodeRequest(ByteSpan data, const BhttpLimits& limits) {
  if (data.size() > limits.max_message_bytes) {
    return absl::InvalidArgumentError("bhttp: message is too long");
  }
  Reader r(data, limits);
  uint64_t framing;
  RETURN_IF_ERROR(r.Varint(&framing, "framing indicator"));
  if (framing != kKnownRequest && framing != kIndefiniteRequest) {
    return r.Fail("framing indicator is not a request");
  }
  BhttpRequest req;
  //= https://www.rfc-editor.org/rfc/rfc9292#section-3.4
  //# Request Control Data { Method Length (i), Method (..), Request Scheme Length (i), ...
  RETURN_IF_ERROR(r.String(limits.max_control_bytes, "method", &req.method));
  RETURN_IF_ERROR(r.String(limits.max_control_bytes, "scheme", &req.scheme));
  RETURN_IF_ERROR(r.String(limits.max_control_bytes, "authority", &req.authority));
  RETURN_IF_ERROR(r.String(limits.max_control_bytes, "path", &req.path));
  if (!IsToken(req.method)) return absl::InvalidArgumentError("bhttp: method is not a token");
  RETURN_IF_ERROR(ReadSections(r, framing == kKnownRequest, &req));
  return req;
}

absl::StatusOr<Bytes> EncodeResponse(const BhttpResponse& r) {
  if (r.status < 200 || r.status > 599) {
    return absl::InvalidArgumentError("bhttp: final status must be 200..599");
  }
  RETURN_IF_ERROR(CheckFields(r.headers));
  RETURN_IF_ERROR(CheckFields(r.trailers));
  Bytes out;
  AppendVarint(out, kKnownResponse);
  for (const InformationalResponse& info : r.informational) {
    if (info.status < 100 || info.status > 199) {
      return absl::InvalidArgumentError("bhttp: informational status must be 100..199");
    }
    RETURN_IF_ERROR(CheckFields(info.headers));
    AppendVarint(out, info.status);
    AppendFieldSection(out, info.headers);
  }
  AppendVarint(out, r.status);
  AppendFieldSection(out, r.headers);
  AppendContent(out, r.content);
  AppendFieldSection(out, r.trailers);
  return out;
}

absl::StatusOr<BhttpResponse> DecodeResponse(ByteSpan data, const BhttpLimits& limits) {
  if (data.size() > limits.max_message_bytes) {
    return absl::InvalidArgumentError("bhttp: message is too long");
  }
  Reader r(data, limits);
  uint64_t framing;
  RETURN_IF_ERROR(r.Varint(&framing, "framing indicator"));
  if (framing != kKnownResponse && framing != kIndefiniteResponse) {
    return r.Fail("framing indicator is not a response");
  }
  const bool known = framing == kKnownResponse;
  BhttpResponse resp;
  //= https://www.rfc-editor.org/rfc/rfc9292#section-3.5
  //# Informational Response Control Data { Status Code (i) = 100..199 }
  //# Final Response Control Data { Status Code (i) = 200..599 }
  for (;;) {
    uint64_t status;
    RETURN_IF_ERROR(r.Varint(&status, "status code"));
    if (status >= 100 && status <= 199) {
      if (resp.informational.size() >= limits.max_informational) {
        return r.Fail("too many informational responses");
      }
      InformationalResponse info;
      info.status = static_cast<uint16_t>(status);
      RETURN_IF_ERROR(known ? r.KnownFieldSection(&info.headers)
                            : r.IndefiniteFieldSection(&info.headers));
      resp.informational.push_back(std::move(info));
      continue;
    }
    if (status < 200 || status > 599) return r.Fail("status code out of range");
    resp.status = static_cast<uint16_t>(status);
    break;
  }
  RETURN_IF_ERROR(ReadSections(r, known, &resp));
  return resp;
}

}  // namespace confide::ohttp
