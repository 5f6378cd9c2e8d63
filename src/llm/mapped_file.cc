#include "llm/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace confide::llm {

absl::StatusOr<MappedFile> MappedFile::Open(const std::string& path,
                                            const MappedFileOptions& options) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  MappedFile m;
  m.size_ = static_cast<size_t>(st.st_size);
  if (m.size_ > 0) {
    void* addr = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      ::close(fd);
      return absl::ResourceExhaustedError(absl::StrCat("cannot map ", path));
    }
    m.addr_ = addr;
  }
  ::close(fd);
  if (options.lock && m.size_ > 0) {
    if (::mlock(m.addr_, m.size_) != 0) {
      return absl::ResourceExhaustedError(absl::StrCat("cannot lock ", m.size_, " bytes of ", path,
                                                       " in memory (mlock: ", std::strerror(errno),
                                                       "; raise RLIMIT_MEMLOCK)"));
    }
    m.locked_ = true;
  }
  return m;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      locked_(std::exchange(other.locked_, false)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    Reset();
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
    locked_ = std::exchange(other.locked_, false);
  }
  return *this;
}

MappedFile::~MappedFile() { Reset(); }

void MappedFile::Reset() {
  if (addr_ != nullptr) {
    if (locked_) ::munlock(addr_, size_);
    ::munmap(addr_, size_);
  }
  addr_ = nullptr;
  size_ = 0;
  locked_ = false;
}

absl::StatusOr<WeightBuffer> WeightBuffer::Allocate(size_t size, bool lock) {
  WeightBuffer b;
  if (size == 0) return b;
  void* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (addr == MAP_FAILED) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot map ", size, " bytes"));
  }
  b.addr_ = addr;
  b.size_ = size;
#ifdef MADV_DONTDUMP
  ::madvise(addr, size, MADV_DONTDUMP);  // best effort: keeps weights out of core files
#endif
  if (lock) {
    if (::mlock(addr, size) != 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot lock ", size,
                       " bytes of packed weights in memory (mlock: ", std::strerror(errno), ")"));
    }
    b.locked_ = true;
  }
  return b;
}

WeightBuffer::WeightBuffer(WeightBuffer&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      locked_(std::exchange(other.locked_, false)) {}

WeightBuffer& WeightBuffer::operator=(WeightBuffer&& other) noexcept {
  if (this != &other) {
    Reset();
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
    locked_ = std::exchange(other.locked_, false);
  }
  return *this;
}

WeightBuffer::~WeightBuffer() { Reset(); }

void WeightBuffer::Reset() {
  if (addr_ != nullptr) {
    ::explicit_bzero(addr_, size_);
    if (locked_) ::munlock(addr_, size_);
    ::munmap(addr_, size_);
  }
  addr_ = nullptr;
  size_ = 0;
  locked_ = false;
}

absl::Status LockMemory(ByteSpan bytes) {
  if (bytes.empty()) return absl::OkStatus();
  if (::mlock(bytes.data(), bytes.size()) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot lock ", bytes.size(), " bytes in memory (mlock: ", std::strerror(errno), ")"));
  }
  return absl::OkStatus();
}

void UnlockMemory(ByteSpan bytes) {
  if (!bytes.empty()) ::munlock(bytes.data(), bytes.size());
}

}  // namespace confide::llm
