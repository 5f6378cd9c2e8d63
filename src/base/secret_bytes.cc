#include "base/secret_bytes.h"

#include <string.h>

#include <algorithm>
#include <utility>

namespace confide {

void SecureZero(std::span<uint8_t> data) {
  if (!data.empty()) {
    // glibc's explicit_bzero is documented not to be optimised away.
    explicit_bzero(data.data(), data.size());
  }
}

SecretBytes::SecretBytes(size_t len) : data_(len ? new uint8_t[len]() : nullptr), len_(len) {}

SecretBytes SecretBytes::CopyFrom(ByteSpan data) {
  SecretBytes out(data.size());
  std::copy(data.begin(), data.end(), out.data_.get());
  return out;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::move(other.data_)), len_(std::exchange(other.len_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::move(other.data_);
    len_ = std::exchange(other.len_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() { Wipe(); }

void SecretBytes::Wipe() {
  SecureZero(MutableSecret());
  data_.reset();
  len_ = 0;
}

}  // namespace confide
