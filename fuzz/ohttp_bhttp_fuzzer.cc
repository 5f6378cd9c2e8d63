// Binary HTTP decoder. Properties: never crashes; whatever decodes re-encodes (known-length)
// and decodes again to an equal message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ohttp/bhttp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confide::ohttp;  // NOLINT: fuzz target
  confide::ByteSpan in(data, size);
  if (auto req = DecodeRequest(in); req.ok()) {
    auto enc = EncodeRequest(*req);
    if (!enc.ok()) std::abort();
    auto again = DecodeRequest(*enc);
    if (!again.ok() || !(*again == *req)) std::abort();
  }
  if (auto resp = DecodeResponse(in); resp.ok()) {
    auto enc = EncodeResponse(*resp);
    if (!enc.ok()) std::abort();
    auto again = DecodeResponse(*enc);
    if (!again.ok() || !(*again == *resp)) std::abort();
  }
  return 0;
}
