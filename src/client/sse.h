// confide::client Server-Sent Events parsing (the WHATWG HTML "event stream" format), for the
// streamed answers of the OpenAI-compatible inner API: `data: {chunk}\n\n` ... `data: [DONE]`.
//
// The parser is incremental (bytes arrive as sealed chunks open) and bounded: a line longer
// than max_line_bytes or an event whose data exceeds max_event_bytes is an error, so a hostile
// or broken stream cannot make the client buffer without limit.
#ifndef CONFIDE_CLIENT_SSE_H_
#define CONFIDE_CLIENT_SSE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace confide::client {

// SseEvent is one dispatched event.
struct SseEvent {
  std::string event = "message";  // the "event" field, "message" when absent
  std::string data;               // "data" lines joined by LF
  std::string id;                 // the last "id" seen (the stream's last event id)
  bool operator==(const SseEvent&) const = default;
};

struct SseLimits {
  size_t max_line_bytes = 256 * 1024;
  size_t max_event_bytes = 1024 * 1024;
};

// SseParser splits an event stream into events. Not thread-safe.
class SseParser {
 public:
  explicit SseParser(SseLimits limits = {}) : limits_(limits) {}

  // Feed consumes the next bytes and returns the events they completed. InvalidArgument
  // ("sse: line is longer than N bytes" / "sse: event is larger than N bytes"); after an error
  // the parser stays failed.
  absl::StatusOr<std::vector<SseEvent>> Feed(std::string_view bytes);
  // Finish ends the stream. As the format says, an event not ended by a blank line is
  // discarded; Finish returns true in *out_incomplete when that happened (data was pending).
  absl::Status Finish(bool* out_incomplete = nullptr);

 private:
  absl::Status Line(std::string_view line, std::vector<SseEvent>& out);

  SseLimits limits_;
  std::string line_;
  bool after_cr_ = false;  // the last byte was CR: a following LF belongs to it
  bool bom_checked_ = false;
  std::string start_;     // the first bytes, until they are known not to be a BOM
  bool pending_ = false;  // fields seen since the last dispatch
  std::string data_;
  std::string event_;
  std::string id_;
  absl::Status error_;
};

}  // namespace confide::client

#endif  // CONFIDE_CLIENT_SSE_H_
