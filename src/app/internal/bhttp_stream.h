// confide::app::internal streamed Binary HTTP response encoding (RFC 9292 §3.2), used by the
// sealed API until the ohttp module's bhttp_stream.h (same functions, client branch) is on
// main; then this file goes and sealed_api.cc includes "ohttp/bhttp_stream.h".
#ifndef CONFIDE_APP_INTERNAL_BHTTP_STREAM_H_
#define CONFIDE_APP_INTERNAL_BHTTP_STREAM_H_

#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "ohttp/bhttp.h"

namespace confide::app::internal {

// EncodeIndeterminateResponseHead returns framing indicator 3, the final status and the header
// section with its terminator. InvalidArgument for a status outside 200..599 or a bad field.
absl::StatusOr<Bytes> EncodeIndeterminateResponseHead(uint16_t status,
                                                      const std::vector<ohttp::Field>& headers);
// EncodeIndeterminateContentChunk returns one content chunk (length-prefixed); an empty `chunk`
// returns no bytes (a zero length would end the content).
Bytes EncodeIndeterminateContentChunk(ByteSpan chunk);
// EncodeIndeterminateResponseEnd returns the content terminator and the trailer section with its
// terminator. InvalidArgument for a bad field.
absl::StatusOr<Bytes> EncodeIndeterminateResponseEnd(
    const std::vector<ohttp::Field>& trailers = {});

}  // namespace confide::app::internal

#endif  // CONFIDE_APP_INTERNAL_BHTTP_STREAM_H_
