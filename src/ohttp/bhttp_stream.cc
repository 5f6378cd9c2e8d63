#include "ohttp/bhttp_stream.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/cursor.h"
#include "base/http_token.h"
#include "ohttp/varint.h"

namespace confide::ohttp {
namespace {

constexpr uint64_t kKnownRequest = 0;
constexpr uint64_t kKnownResponse = 1;
constexpr uint64_t kIndefiniteRequest = 2;
constexpr uint64_t kIndefiniteResponse = 3;

//= https://www.rfc-editor.org/rfc/rfc9292#section-3.6
//# field names are required to be in lowercase
bool IsFieldName(std::string_view s) {
  if (!base::IsHttpToken(s)) return false;
  return std::none_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool IsFieldValue(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == 0; });
}

absl::Status AppendFieldLines(Bytes& out, const std::vector<Field>& fields) {
  for (const Field& f : fields) {
    if (!IsFieldName(f.name)) {
      return absl::InvalidArgumentError("bhttp: field name is not a lower-case token");
    }
    if (!IsFieldValue(f.value)) {
      return absl::InvalidArgumentError("bhttp: field value contains CR, LF or NUL");
    }
    AppendVarint(out, f.name.size());
    Append(out, AsBytes(f.name));
    AppendVarint(out, f.value.size());
    Append(out, AsBytes(f.value));
  }
  //# Indeterminate-Length Field Section { Field Line (..) ..., Content Terminator (i) = 0 }
  AppendVarint(out, 0);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Bytes> EncodeIndeterminateResponseHead(uint16_t status,
                                                      const std::vector<Field>& headers) {
  if (status < 200 || status > 599) {
    return absl::InvalidArgumentError("bhttp: final status must be 200..599");
  }
  Bytes out;
  AppendVarint(out, kIndefiniteResponse);
  AppendVarint(out, status);
  RETURN_IF_ERROR(AppendFieldLines(out, headers));
  return out;
}

Bytes EncodeIndeterminateContentChunk(ByteSpan chunk) {
  Bytes out;
  if (chunk.empty()) return out;
  //# Indeterminate-Length Content Chunk { Chunk Length (i) = 1.., Chunk (..) }
  AppendVarint(out, chunk.size());
  Append(out, chunk);
  return out;
}

absl::StatusOr<Bytes> EncodeIndeterminateResponseEnd(const std::vector<Field>& trailers) {
  Bytes out;
  AppendVarint(out, 0);  // Content Terminator
  RETURN_IF_ERROR(AppendFieldLines(out, trailers));
  return out;
}

absl::Status BhttpResponseStreamDecoder::Fail(std::string_view what) {
  error_ = absl::InvalidArgumentError(
      absl::StrCat("bhttp: ", std::string(what), " at offset ", consumed_));
  return error_;
}

absl::Status BhttpResponseStreamDecoder::ReadFieldLine(std::vector<Field>& fields, bool* terminator,
                                                       bool* progressed) {
  *terminator = false;
  base::ByteCursor c(buffer_);
  uint64_t name_len = 0, value_len = 0;
  if (!ReadVarint(c, &name_len)) return absl::OkStatus();
  if (name_len == 0) {
    *terminator = true;
  } else {
    if (fields.size() >= limits_.max_fields) return Fail("too many fields in a section");
    if (name_len > limits_.max_field_section_bytes) return Fail("field section is too long");
    ByteSpan name, value;
    if (!c.ReadBytes(static_cast<size_t>(name_len), &name)) return absl::OkStatus();
    if (!ReadVarint(c, &value_len)) return absl::OkStatus();
    if (value_len > limits_.max_field_section_bytes) return Fail("field section is too long");
    if (!c.ReadBytes(static_cast<size_t>(value_len), &value)) return absl::OkStatus();
    section_bytes_ += c.offset();
    if (section_bytes_ > limits_.max_field_section_bytes) {
      return Fail("field section is too long");
    }
    Field f{std::string(AsStringView(name)), std::string(AsStringView(value))};
    if (!IsFieldName(f.name)) return Fail("field name is not a lower-case token");
    if (!IsFieldValue(f.value)) return Fail("field value contains CR, LF or NUL");
    fields.push_back(std::move(f));
  }
  consumed_ += c.offset();
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(c.offset()));
  *progressed = true;
  return absl::OkStatus();
}

absl::Status BhttpResponseStreamDecoder::Step(BhttpResponseEvents& out, bool* progressed) {
  *progressed = false;
  base::ByteCursor c(buffer_);
  auto consume = [&](size_t n) {
    consumed_ += n;
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(n));
    *progressed = true;
  };
  bool terminator = false;
  switch (state_) {
    case State::kFraming: {
      uint64_t framing;
      if (!ReadVarint(c, &framing)) return absl::OkStatus();
      if (framing == kKnownResponse) {
        state_ = State::kKnownLength;  // keep the bytes: DecodeResponse reads them at Finish
        *progressed = true;
        return absl::OkStatus();
      }
      if (framing == kKnownRequest || framing == kIndefiniteRequest) {
        return Fail("framing indicator is a request");
      }
      if (framing != kIndefiniteResponse) return Fail("framing indicator is not a response");
      consume(c.offset());
      state_ = State::kStatus;
      return absl::OkStatus();
    }
    case State::kStatus: {
      //= https://www.rfc-editor.org/rfc/rfc9292#section-3.5
      //# Informational Response Control Data { Status Code (i) = 100..199 }
      //# Final Response Control Data { Status Code (i) = 200..599 }
      uint64_t status;
      if (!ReadVarint(c, &status)) return absl::OkStatus();
      section_bytes_ = 0;
      if (status >= 100 && status <= 199) {
        if (head_.informational.size() >= limits_.max_informational) {
          return Fail("too many informational responses");
        }
        head_.informational.push_back(InformationalResponse{static_cast<uint16_t>(status), {}});
        state_ = State::kInfoFields;
      } else if (status >= 200 && status <= 599) {
        head_.status = static_cast<uint16_t>(status);
        state_ = State::kHeaderFields;
      } else {
        return Fail("status code out of range");
      }
      consume(c.offset());
      return absl::OkStatus();
    }
    case State::kInfoFields:
      RETURN_IF_ERROR(ReadFieldLine(head_.informational.back().headers, &terminator, progressed));
      if (terminator) state_ = State::kStatus;
      return absl::OkStatus();
    case State::kHeaderFields:
      RETURN_IF_ERROR(ReadFieldLine(head_.headers, &terminator, progressed));
      if (terminator) {
        out.head = head_;
        state_ = State::kContent;
      }
      return absl::OkStatus();
    case State::kContent: {
      if (chunk_left_ == 0) {
        uint64_t len;
        if (!ReadVarint(c, &len)) return absl::OkStatus();
        if (len == 0) {
          section_bytes_ = 0;
          state_ = State::kTrailerFields;
        } else {
          if (len > limits_.max_message_bytes - content_bytes_) return Fail("content is too long");
          chunk_left_ = len;
          content_bytes_ += static_cast<size_t>(len);
          content_started_ = true;
        }
        consume(c.offset());
        return absl::OkStatus();
      }
      const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_left_, buffer_.size()));
      if (n == 0) return absl::OkStatus();
      // Content goes out as it arrives, even mid-chunk: a large chunk need not be buffered.
      out.content.emplace_back(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(n));
      chunk_left_ -= n;
      consume(n);
      return absl::OkStatus();
    }
    case State::kTrailerFields:
      RETURN_IF_ERROR(ReadFieldLine(trailers_, &terminator, progressed));
      if (terminator) {
        out.trailers = trailers_;
        state_ = State::kPadding;
      }
      return absl::OkStatus();
    case State::kPadding:
      //= https://www.rfc-editor.org/rfc/rfc9292#section-3.8
      //# Padding ... consists of any number of zero-valued bytes
      for (uint8_t b : buffer_) {
        if (b != 0) return Fail("non-zero byte after the message");
      }
      if (!buffer_.empty()) consume(buffer_.size());
      return absl::OkStatus();
    case State::kKnownLength:
    case State::kDone:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::StatusOr<BhttpResponseEvents> BhttpResponseStreamDecoder::Feed(ByteSpan data) {
  RETURN_IF_ERROR(error_);
  if (state_ == State::kDone) {
    error_ = absl::FailedPreconditionError("bhttp: response already finished");
    return error_;
  }
  if (data.size() >
      limits_.max_message_bytes - std::min(limits_.max_message_bytes, consumed_ + buffer_.size())) {
    return Fail("message is too long");
  }
  Append(buffer_, data);
  BhttpResponseEvents out;
  for (;;) {
    bool progressed = false;
    RETURN_IF_ERROR(Step(out, &progressed));
    if (!progressed || state_ == State::kKnownLength) break;
  }
  return out;
}

absl::StatusOr<BhttpResponseEvents> BhttpResponseStreamDecoder::Finish() {
  RETURN_IF_ERROR(error_);
  BhttpResponseEvents out;
  if (state_ == State::kDone) return out;
  if (state_ == State::kKnownLength) {
    auto r = DecodeResponse(buffer_, limits_);
    if (!r.ok()) {
      error_ = r.status();
      return error_;
    }
    buffer_.clear();
    out.trailers = std::move(r->trailers);
    if (!r->content.empty()) out.content.push_back(std::move(r->content));
    r->trailers.clear();
    r->content.clear();
    out.head = *std::move(r);
    state_ = State::kDone;
    return out;
  }
  //= https://www.rfc-editor.org/rfc/rfc9292#section-3.8
  //# a message that is truncated ... can omit ... trailing sections that are empty
  // Only a section boundary with nothing of the next section read is an acceptable end.
  const bool at_boundary = buffer_.empty();
  switch (state_) {
    case State::kHeaderFields:
      if (!at_boundary || !head_.headers.empty()) break;
      out.head = head_;
      out.trailers.emplace();
      state_ = State::kDone;
      return out;
    case State::kContent:
      if (!at_boundary || content_started_) break;
      out.trailers.emplace();
      state_ = State::kDone;
      return out;
    case State::kTrailerFields:
      if (!at_boundary || !trailers_.empty()) break;
      out.trailers.emplace();
      state_ = State::kDone;
      return out;
    case State::kPadding:
      state_ = State::kDone;
      return out;
    default:
      break;
  }
  error_ = absl::InvalidArgumentError(
      absl::StrCat("bhttp: response truncated inside its ",
                   state_ == State::kContent                               ? "content"
                   : state_ == State::kTrailerFields                       ? "trailers"
                   : state_ == State::kFraming || state_ == State::kStatus ? "control data"
                                                                           : "header section",
                   " at offset ", consumed_));
  return error_;
}

}  // namespace confide::ohttp
