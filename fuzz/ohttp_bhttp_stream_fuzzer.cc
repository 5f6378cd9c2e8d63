// Streamed Binary HTTP response decoder. Properties: never crashes; it accepts exactly what the
// whole-message decoder (DecodeResponse) accepts, with an equal message, however the input is
// split (whole, byte by byte, or at a position chosen by the input); content never arrives
// before the head.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "ohttp/bhttp.h"
#include "ohttp/bhttp_stream.h"

namespace {

using namespace confide::ohttp;  // NOLINT: fuzz target
using confide::ByteSpan;

std::optional<BhttpResponse> Stream(ByteSpan in, size_t split, bool bytewise) {
  BhttpResponseStreamDecoder dec;
  BhttpResponse out;
  bool head = false;
  auto merge = [&](const BhttpResponseEvents& e) {
    if (e.head) {
      if (head) std::abort();
      head = true;
      out = *e.head;
    }
    for (const auto& piece : e.content) {
      if (!head || piece.empty()) std::abort();
      confide::Append(out.content, piece);
    }
    if (e.trailers) out.trailers = *e.trailers;
  };
  auto feed = [&](ByteSpan part) {
    auto e = dec.Feed(part);
    if (!e.ok()) return false;
    merge(*e);
    return true;
  };
  if (bytewise) {
    for (size_t i = 0; i < in.size(); ++i) {
      if (!feed(in.subspan(i, 1))) return std::nullopt;
    }
  } else if (!feed(in.first(split)) || !feed(in.subspan(split))) {
    return std::nullopt;
  }
  auto e = dec.Finish();
  if (!e.ok()) return std::nullopt;
  merge(*e);
  if (!head) std::abort();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan in(data, size);
  auto whole = DecodeResponse(in);
  const size_t at = size > 0 ? data[size - 1] % (size + 1) : 0;
  for (auto got : {Stream(in, size, false), Stream(in, at, false), Stream(in, 0, true)}) {
    if (whole.ok() != got.has_value()) std::abort();
    if (got && !(*got == *whole)) std::abort();
  }
  return 0;
}
