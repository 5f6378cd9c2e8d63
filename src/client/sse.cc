#include "client/sse.h"

#include "absl/strings/str_cat.h"

namespace confide::client {

//= https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
//# Lines must be processed, in the order they are received, as follows: If the line is empty
//# (a blank line) Dispatch the event ... If the line starts with a U+003A COLON character (:)
//# Ignore the line. If the line contains a U+003A COLON character (:) Collect the characters on
//# the line before the first U+003A COLON character (:), and let field be that string. Collect
//# the characters on the line after the first U+003A COLON character (:), and let value be that
//# string. If value starts with a U+0020 SPACE character, remove it from value.
absl::Status SseParser::Line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    //# If the data buffer is an empty string, set the data buffer and the event type buffer
    //# to the empty string and return.
    if (!data_.empty()) {
      //# If the data buffer's last character is a U+000A LINE FEED (LF) character, then remove
      //# the last character from the data buffer.
      data_.pop_back();
      SseEvent e;
      e.event = event_.empty() ? "message" : event_;
      e.data = std::move(data_);
      e.id = id_;
      out.push_back(std::move(e));
    }
    data_.clear();
    event_.clear();
    pending_ = false;
    return absl::OkStatus();
  }
  if (line.front() == ':') return absl::OkStatus();
  std::string_view field = line, value;
  if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  pending_ = true;
  if (field == "data") {
    if (data_.size() + value.size() + 1 > limits_.max_event_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("sse: event is larger than ", limits_.max_event_bytes, " bytes"));
    }
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    event_ = std::string(value);
  } else if (field == "id") {
    //# If the field value does not contain U+0000 NULL, then set the last event ID buffer to
    //# the field value.
    if (value.find('\0') == std::string_view::npos) id_ = std::string(value);
  }
  // "retry" and unknown fields are ignored.
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SseEvent>> SseParser::Feed(std::string_view bytes) {
  RETURN_IF_ERROR(error_);
  std::vector<SseEvent> out;
  if (!bom_checked_) {
    //# One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present.
    static constexpr std::string_view kBom = "\xEF\xBB\xBF";
    start_.append(bytes);
    if (start_.size() < kBom.size() && kBom.substr(0, start_.size()) == start_) {
      return out;  // could still be a BOM: wait for more
    }
    bom_checked_ = true;
    std::string all = std::move(start_);
    start_.clear();
    if (all.compare(0, kBom.size(), kBom) == 0) all.erase(0, kBom.size());
    return Feed(all);
  }
  for (char c : bytes) {
    //# Lines are separated by a CRLF pair, a single LF, or a single CR.
    if (c == '\n' && after_cr_) {
      after_cr_ = false;
      continue;
    }
    after_cr_ = c == '\r';
    if (c == '\r' || c == '\n') {
      absl::Status s = Line(line_, out);
      line_.clear();
      if (!s.ok()) {
        error_ = s;
        return s;
      }
      continue;
    }
    if (line_.size() >= limits_.max_line_bytes) {
      error_ = absl::InvalidArgumentError(
          absl::StrCat("sse: line is longer than ", limits_.max_line_bytes, " bytes"));
      return error_;
    }
    line_.push_back(c);
  }
  return out;
}

absl::Status SseParser::Finish(bool* out_incomplete) {
  RETURN_IF_ERROR(error_);
  //# Once the end of the file is reached, any pending data must be discarded.
  if (out_incomplete) *out_incomplete = pending_ || !line_.empty() || !start_.empty();
  line_.clear();
  data_.clear();
  event_.clear();
  pending_ = false;
  return absl::OkStatus();
}

}  // namespace confide::client
