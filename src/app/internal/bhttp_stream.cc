#include "app/internal/bhttp_stream.h"

#include "base/http_token.h"
#include "ohttp/varint.h"

namespace confide::app::internal {
namespace {

//= https://www.rfc-editor.org/rfc/rfc9292#section-3.3
//# Framing Indicator ... 3 indeterminate-length response.
constexpr uint64_t kIndefiniteResponse = 3;

absl::Status CheckFields(const std::vector<ohttp::Field>& fields) {
  for (const ohttp::Field& f : fields) {
    //= https://www.rfc-editor.org/rfc/rfc9292#section-3.6
    //# field names are required to be in lowercase
    bool lower = base::IsHttpToken(f.name);
    for (char c : f.name) lower = lower && !(c >= 'A' && c <= 'Z');
    if (!lower) return absl::InvalidArgumentError("bhttp: field name is not a lower-case token");
    for (char c : f.value) {
      if (c == '\r' || c == '\n' || c == '\0') {
        return absl::InvalidArgumentError("bhttp: field value contains CR, LF or NUL");
      }
    }
  }
  return absl::OkStatus();
}

//= https://www.rfc-editor.org/rfc/rfc9292#section-3.6
//# Indeterminate-Length Field Section {
//#   Field Line (..) ...,
//#   Content Terminator (i) = 0,
//# }
void AppendIndefiniteFieldSection(Bytes& out, const std::vector<ohttp::Field>& fields) {
  for (const ohttp::Field& f : fields) {
    ohttp::AppendVarint(out, f.name.size());
    Append(out, AsBytes(f.name));
    ohttp::AppendVarint(out, f.value.size());
    Append(out, AsBytes(f.value));
  }
  ohttp::AppendVarint(out, 0);
}

}  // namespace

//= https://www.rfc-editor.org/rfc/rfc9292#section-3.2
//# Indeterminate-Length Response {
//#   Framing Indicator (i) = 3,
//#   Informational Response (..) ...,
//#   Final Response Control Data (..),
//#   Indeterminate-Length Field Section (..),
//#   Indeterminate-Length Content (..),
//#   Indeterminate-Length Field Section (..),
//#   Padding (..),
//# }
absl::StatusOr<Bytes> EncodeIndeterminateResponseHead(uint16_t status,
                                                      const std::vector<ohttp::Field>& headers) {
  if (status < 200 || status > 599) {
    return absl::InvalidArgumentError("bhttp: final status must be 200..599");
  }
  RETURN_IF_ERROR(CheckFields(headers));
  Bytes out;
  ohttp::AppendVarint(out, kIndefiniteResponse);
  ohttp::AppendVarint(out, status);
  AppendIndefiniteFieldSection(out, headers);
  return out;
}

//# Indeterminate-Length Content Chunk {
//#   Length (i) = 1..,
//#   Content (..),
//# }
Bytes EncodeIndeterminateContentChunk(ByteSpan chunk) {
  Bytes out;
  if (chunk.empty()) return out;
  ohttp::AppendVarint(out, chunk.size());
  Append(out, chunk);
  return out;
}

absl::StatusOr<Bytes> EncodeIndeterminateResponseEnd(const std::vector<ohttp::Field>& trailers) {
  RETURN_IF_ERROR(CheckFields(trailers));
  Bytes out;
  ohttp::AppendVarint(out, 0);  // Content Terminator
  AppendIndefiniteFieldSection(out, trailers);
  return out;
}

}  // namespace confide::app::internal
