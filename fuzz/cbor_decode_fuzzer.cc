// Fuzzes confide::cbor::Decode on untrusted bytes and checks the codec's properties:
//  1. what decodes and is deterministic re-encodes to the same bytes;
//  2. Encode in insertion order decodes back to an equal Value (nothing lost or reordered);
//  3. the deterministic re-encoding decodes again and is a fixed point of Encode(Decode(.));
//  4. IsDeterministicEncoding agrees with DecodeWithInfo.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "cbor/codec.h"
#include "cbor/value.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "cbor_decode_fuzzer: property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confide;
  const ByteSpan in(data, size);
  absl::StatusOr<cbor::DecodeResult> r = cbor::DecodeWithInfo(in);
  Check(cbor::IsDeterministicEncoding(in) == (r.ok() && r->deterministic),
        "IsDeterministicEncoding disagrees with DecodeWithInfo");
  if (!r.ok()) {
    return 0;
  }
  const Bytes sorted = cbor::Encode(r->value);
  if (r->deterministic) {
    Check(sorted == Bytes(in.begin(), in.end()), "deterministic input does not round-trip");
  }
  const Bytes as_is = cbor::Encode(r->value, cbor::EncodeOptions{.sort_map_keys = false});
  absl::StatusOr<cbor::Value> back = cbor::Decode(as_is);
  Check(back.ok(), "insertion-order encoding does not decode");
  Check(*back == r->value, "insertion-order encoding decodes to a different value");
  absl::StatusOr<cbor::Value> again = cbor::Decode(sorted);
  Check(again.ok(), "sorted encoding does not decode");
  Check(cbor::Encode(*again) == sorted, "Encode(Decode(.)) is not a fixed point");
  (void)cbor::Diagnostic(r->value);
  return 0;
}
