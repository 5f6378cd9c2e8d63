// confide::cli I/O helpers shared by commands: files, input auto-detection, time parsing.
#ifndef CONFIDE_CLI_IO_H_
#define CONFIDE_CLI_IO_H_

#include <string>

#include "absl/time/time.h"
#include "base/bytes.h"
#include "base/status.h"

namespace confide::cli {

// kMaxInputFileBytes caps what a command reads from a file or stdin.
inline constexpr size_t kMaxInputFileBytes = 16 * 1024 * 1024;

// ReadInput reads `path` ("-" is stdin), at most kMaxInputFileBytes. NotFound / InvalidArgument.
absl::StatusOr<Bytes> ReadInput(const std::string& path);

// DecodeBinaryInput returns `data` as raw bytes: raw CBOR (first byte 0x84 or 0xd2) is taken
// as is; otherwise, after trimming whitespace, hex, then standard base64, then base64url.
// InvalidArgument if none applies.
absl::StatusOr<Bytes> DecodeBinaryInput(ByteSpan data);

// ParseTime accepts RFC 3339 ("2024-11-05T07:47:43Z"), or an integer of Unix seconds, or an
// integer with an "ms" suffix for Unix milliseconds.
absl::StatusOr<absl::Time> ParseTime(const std::string& text);

// FormatTime returns RFC 3339 UTC with milliseconds.
std::string FormatRfc3339(absl::Time t);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_IO_H_
