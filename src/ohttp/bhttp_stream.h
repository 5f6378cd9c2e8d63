// confide::ohttp streamed Binary HTTP responses: the indeterminate-length form of RFC 9292 §3.2,
// produced and consumed piece by piece, so a streamed answer (SSE bytes as the model produces
// them) crosses the chunked OHTTP seal without either side holding the whole message.
//
//= https://www.rfc-editor.org/rfc/rfc9292#section-3.2
//# Indeterminate-Length Response {
//#   Framing Indicator (i) = 3,
//#   Indeterminate-Length Informational Response (..) ...,
//#   Final Response Control Data (..),
//#   Indeterminate-Length Field Section (..),
//#   Indeterminate-Length Content (..),
//#   Indeterminate-Length Field Section (..),
//#   Padding (..),
//# }
//
// The encoder side is three functions (head, content chunk, end). The decoder is incremental:
// Feed() returns what the new bytes completed (the head once, content bytes as they arrive,
// the trailers when the message is complete); Finish() is called at end of input. A
// known-length response (framing 1) is also accepted: it is buffered (bounded) and reported at
// Finish(). Errors are InvalidArgument naming the problem, never content; a message that ends
// inside a section is "bhttp: response truncated ...". After an error the decoder stays failed.
#ifndef CONFIDE_OHTTP_BHTTP_STREAM_H_
#define CONFIDE_OHTTP_BHTTP_STREAM_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "ohttp/bhttp.h"

namespace confide::ohttp {

// EncodeIndeterminateResponseHead returns framing indicator 3, the final status and the header
// section with its terminator. InvalidArgument for a status outside 200..599 or a bad field.
absl::StatusOr<Bytes> EncodeIndeterminateResponseHead(uint16_t status,
                                                      const std::vector<Field>& headers);
// EncodeIndeterminateContentChunk returns one content chunk (length-prefixed); an empty `chunk`
// returns no bytes (a zero length would end the content).
Bytes EncodeIndeterminateContentChunk(ByteSpan chunk);
// EncodeIndeterminateResponseEnd returns the content terminator and the trailer section with its
// terminator. InvalidArgument for a bad field.
absl::StatusOr<Bytes> EncodeIndeterminateResponseEnd(const std::vector<Field>& trailers = {});

// BhttpResponseEvents is what one Feed()/Finish() call completed.
struct BhttpResponseEvents {
  // head is set once: informational responses, final status and headers (content and
  // trailers of it are empty).
  std::optional<BhttpResponse> head;
  // content holds the content bytes that arrived, in order (never empty pieces).
  std::vector<Bytes> content;
  // trailers is set when the message is complete.
  std::optional<std::vector<Field>> trailers;
};

// BhttpResponseStreamDecoder decodes one response incrementally. Not thread-safe.
class BhttpResponseStreamDecoder {
 public:
  explicit BhttpResponseStreamDecoder(BhttpLimits limits = {}) : limits_(limits) {}

  // Feed consumes the next bytes. InvalidArgument on malformed input, on input past
  // limits.max_message_bytes, or on a request framing indicator.
  absl::StatusOr<BhttpResponseEvents> Feed(ByteSpan data);
  // Finish ends the input. InvalidArgument "bhttp: response truncated ..." when the message
  // ends inside a section, or ends before its header section (RFC 9292 §3.8 lets only empty
  // trailing sections be omitted: a response whose content had started must end its content).
  absl::StatusOr<BhttpResponseEvents> Finish();
  // complete returns true once the trailers were read (or Finish() accepted a truncation).
  bool complete() const { return state_ == State::kPadding || state_ == State::kDone; }

 private:
  enum class State {
    kFraming,
    kStatus,
    kInfoFields,
    kHeaderFields,
    kContent,
    kTrailerFields,
    kPadding,
    kKnownLength,
    kDone,
  };
  absl::Status Fail(std::string_view what);
  absl::Status Step(BhttpResponseEvents& out, bool* progressed);
  // ReadFieldLine parses one field line (or the terminator) from the front of the buffer.
  absl::Status ReadFieldLine(std::vector<Field>& fields, bool* terminator, bool* progressed);

  BhttpLimits limits_;
  State state_ = State::kFraming;
  Bytes buffer_;
  size_t consumed_ = 0;  // bytes consumed before buffer_
  size_t section_bytes_ = 0;
  uint64_t chunk_left_ = 0;       // bytes left in the current content chunk
  bool content_started_ = false;  // a content chunk was seen
  size_t content_bytes_ = 0;
  BhttpResponse head_;
  std::vector<Field> trailers_;
  absl::Status error_;
};

}  // namespace confide::ohttp

#endif  // CONFIDE_OHTTP_BHTTP_STREAM_H_
