// Fuzzes the NSM request/response codec (attest/nsm_codec.h) on untrusted bytes:
//  1. whatever decodes re-encodes to bytes that decode to an equal message;
//  2. re-encoding is a fixed point (Encode(Decode(Encode(m))) == Encode(m)).
// The same input is tried as a request and as a response.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "attest/nsm_codec.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "attest_nsm_codec_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confide;
  const ByteSpan in(data, size);
  if (auto req = attest::DecodeNsmRequest(in); req.ok()) {
    Bytes enc = attest::EncodeNsmRequest(*req);
    auto again = attest::DecodeNsmRequest(enc);
    Check(again.ok() && *again == *req, "request does not round-trip");
    Check(attest::EncodeNsmRequest(*again) == enc, "request encoding is not a fixed point");
  }
  if (auto resp = attest::DecodeNsmResponse(in); resp.ok()) {
    Bytes enc = attest::EncodeNsmResponse(*resp);
    auto again = attest::DecodeNsmResponse(enc);
    Check(again.ok() && *again == *resp, "response does not round-trip");
    Check(attest::EncodeNsmResponse(*again) == enc, "response encoding is not a fixed point");
  }
  return 0;
}
