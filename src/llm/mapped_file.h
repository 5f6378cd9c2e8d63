// confide::llm MappedFile: a read-only memory map of a model file, optionally locked in RAM.
#ifndef CONFIDE_LLM_MAPPED_FILE_H_
#define CONFIDE_LLM_MAPPED_FILE_H_

#include <cstddef>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace confide::llm {

// MappedFileOptions says how to map a file.
struct MappedFileOptions {
  // lock pins the pages in RAM (mlock) so they never reach swap; Open fails if it cannot.
  bool lock = false;
};

// MappedFile owns a read-only, private mapping of a whole file. Move-only; the bytes stay valid
// until the object is destroyed. Thread-safe for concurrent reads.
class MappedFile {
 public:
  // Open maps `path`. NotFound if it cannot be opened; InvalidArgument if it is not a regular
  // file; ResourceExhausted if mapping or (with options.lock) locking fails. An empty file maps
  // to an empty span.
  static absl::StatusOr<MappedFile> Open(const std::string& path,
                                         const MappedFileOptions& options = {});

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  // bytes returns the mapped contents.
  ByteSpan bytes() const { return ByteSpan(static_cast<const uint8_t*>(addr_), size_); }
  // locked returns true if the pages are mlock'ed.
  bool locked() const { return locked_; }

 private:
  MappedFile() = default;
  void Reset();

  void* addr_ = nullptr;
  size_t size_ = 0;
  bool locked_ = false;
};

// WeightBuffer owns anonymous private pages for data derived from weights (the packed copies
// the kernels read): excluded from core dumps, optionally locked, and zeroed before they are
// released, since weights may be confidential. Move-only.
class WeightBuffer {
 public:
  WeightBuffer() = default;
  // Allocate returns `size` zeroed, page-aligned bytes (an empty buffer for 0), mlocked when
  // `lock`. ResourceExhausted if mapping or locking fails.
  static absl::StatusOr<WeightBuffer> Allocate(size_t size, bool lock);

  WeightBuffer(WeightBuffer&& other) noexcept;
  WeightBuffer& operator=(WeightBuffer&& other) noexcept;
  WeightBuffer(const WeightBuffer&) = delete;
  WeightBuffer& operator=(const WeightBuffer&) = delete;
  ~WeightBuffer();

  // data returns the bytes (nullptr when empty); size their count; locked whether mlocked.
  uint8_t* data() const { return static_cast<uint8_t*>(addr_); }
  size_t size() const { return size_; }
  bool locked() const { return locked_; }

 private:
  void Reset();

  void* addr_ = nullptr;
  size_t size_ = 0;
  bool locked_ = false;
};

// LockMemory pins `bytes` (e.g. a buffer of decrypted weights) in RAM with mlock so they never
// reach swap. ResourceExhausted if the kernel refuses (RLIMIT_MEMLOCK). The caller unlocks with
// UnlockMemory before freeing the buffer.
absl::Status LockMemory(ByteSpan bytes);
// UnlockMemory undoes LockMemory; errors are ignored (the pages are about to be freed).
void UnlockMemory(ByteSpan bytes);

}  // namespace confide::llm

#endif  // CONFIDE_LLM_MAPPED_FILE_H_
