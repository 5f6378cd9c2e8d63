// confide::base files: bounded reads and atomic writes.
#ifndef CONFIDE_BASE_FILE_H_
#define CONFIDE_BASE_FILE_H_

#include <cstddef>
#include <memory>
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

// AtomicFileWriter writes a file incrementally with WriteFileAtomic's guarantee: the bytes go to
// a fresh temporary file in the same directory, Commit fsyncs it and renames it over `path`, and
// a writer destroyed (or failed) before Commit removes the temporary, leaving the old file (or
// none). For outputs too large to build in memory. Not thread-safe.
class AtomicFileWriter {
 public:
  // Create opens the temporary file with permissions `mode`. PermissionDenied (naming the path)
  // when it cannot be created.
  static absl::StatusOr<std::unique_ptr<AtomicFileWriter>> Create(const std::string& path,
                                                                  unsigned mode = 0644);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  // Write appends `data`. Internal (naming the path) on a write error; afterwards every call
  // fails.
  absl::Status Write(ByteSpan data);
  // Commit flushes, closes and renames the file into place. Internal on failure (the temporary
  // is removed). Idempotent once it succeeded.
  absl::Status Commit();

 private:
  AtomicFileWriter(std::string path, std::string tmp, int fd);
  void Abandon();
  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  bool committed_ = false;
  bool failed_ = false;
};

}  // namespace confide::base

#endif  // CONFIDE_BASE_FILE_H_
