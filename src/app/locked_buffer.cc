#include "app/locked_buffer.h"

#include <sys/mman.h>

#include <cstring>
#include <utility>

namespace confide::app {

absl::StatusOr<LockedBuffer> LockedBuffer::Create(size_t size) {
  if (size == 0) return absl::InvalidArgumentError("locked buffer: size 0");
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return absl::ResourceExhaustedError("locked buffer: cannot map memory for the model");
  }
  (void)::madvise(p, size, MADV_DONTDUMP);
  const bool locked = ::mlock(p, size) == 0;
  return LockedBuffer(static_cast<uint8_t*>(p), size, locked);
}

LockedBuffer::LockedBuffer(LockedBuffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      locked_(std::exchange(o.locked_, false)) {}

LockedBuffer& LockedBuffer::operator=(LockedBuffer&& o) noexcept {
  if (this != &o) {
    Release();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    locked_ = std::exchange(o.locked_, false);
  }
  return *this;
}

LockedBuffer::~LockedBuffer() { Release(); }

void LockedBuffer::Release() {
  if (data_ == nullptr) return;
  ::explicit_bzero(data_, size_);
  if (locked_) ::munlock(data_, size_);
  ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace confide::app
