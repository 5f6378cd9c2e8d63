// SSE parser. Properties: never crashes; the events do not depend on how the stream is split
// (whole, byte by byte, or at a position chosen by the input); failure does not either; no
// event exceeds the limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "client/sse.h"

namespace {

using confide::client::SseEvent;
using confide::client::SseLimits;
using confide::client::SseParser;

bool Parse(std::string_view in, size_t step, size_t split, std::vector<SseEvent>* out) {
  SseParser p(SseLimits{64, 256});
  auto feed = [&](std::string_view part) {
    auto e = p.Feed(part);
    if (!e.ok()) return false;
    out->insert(out->end(), e->begin(), e->end());
    return true;
  };
  if (split > 0) {
    if (!feed(in.substr(0, split)) || !feed(in.substr(split))) return false;
  } else {
    for (size_t i = 0; i < in.size(); i += step) {
      if (!feed(in.substr(i, step))) return false;
    }
  }
  return p.Finish().ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<SseEvent> whole, bytewise, split;
  const bool ok_whole = Parse(in, in.size() + 1, 0, &whole);
  const bool ok_bytes = Parse(in, 1, 0, &bytewise);
  const size_t at = size > 0 ? data[0] % (size + 1) : 0;
  const bool ok_split = Parse(in, in.size() + 1, at, &split);
  if (ok_whole != ok_bytes || ok_whole != ok_split) std::abort();
  if (ok_whole && (whole != bytewise || whole != split)) std::abort();
  for (const SseEvent& e : whole) {
    if (e.data.size() > 256) std::abort();
  }
  return 0;
}
