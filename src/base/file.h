// confide::base files: bounded reads and atomic writes.
#ifndef CONFIDE_BASE_FILE_H_
#define CONFIDE_BASE_FILE_H_

#include <cstddef>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace confide::base {

// ReadFileBounded returns the contents of `path` ("-" reads stdin). NotFound if it cannot be
// opened; InvalidArgument if it is longer than `max_bytes` (nothing beyond the cap is read).
absl::StatusOr<Bytes> ReadFileBounded(const std::string& path, size_t max_bytes);

// WriteFileAtomic writes `data` to `path` through a temporary file in the same directory,
// fsync and rename, so a failure leaves the old file (or none), never a partial one. `mode`
// sets the permissions of the new file (use 0600 for secrets). Errors name the path.
absl::Status WriteFileAtomic(const std::string& path, ByteSpan data, unsigned mode = 0644);

}  // namespace confide::base

#endif  // CONFIDE_BASE_FILE_H_
