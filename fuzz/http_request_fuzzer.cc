// The HTTP/1.1 request parser the server runs on untrusted bytes (Beast's, with confide's
// header and body limits), fed in two pieces. Properties: never crashes; a parsed request never
// exceeds the limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "http/internal/beast.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confide::http::internal;  // NOLINT: fuzz target
  constexpr size_t kMaxHeader = 16 * 1024;
  constexpr size_t kMaxBody = 64 * 1024;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(kMaxHeader);
  parser.body_limit(kMaxBody);
  parser.eager(true);
  const size_t split = size == 0 ? 0 : data[0] % (size + 1);
  beast::error_code ec;
  size_t used = parser.put(asio::buffer(data, split), ec);
  if ((!ec || ec == bhttp::error::need_more) && !parser.is_done()) {
    ec = {};
    parser.put(asio::buffer(data + used, size - used), ec);
  }
  if (parser.is_done() && parser.get().body().size() > kMaxBody) std::abort();
  return 0;
}
