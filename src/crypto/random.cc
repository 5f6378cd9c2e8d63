#include "crypto/random.h"

#include <openssl/rand.h>

#include <climits>

namespace confide::crypto {

absl::Status FillRandom(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    size_t chunk = std::min<size_t>(out.size() - done, INT_MAX);
    if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
      return absl::InternalError("CSPRNG failure");
    }
    done += chunk;
  }
  return absl::OkStatus();
}

absl::StatusOr<Bytes> RandomBytes(size_t len) {
  Bytes out(len);
  RETURN_IF_ERROR(FillRandom(out));
  return out;
}

absl::StatusOr<SecretBytes> RandomSecret(size_t len) {
  SecretBytes out(len);
  RETURN_IF_ERROR(FillRandom(out.MutableSecret()));
  return out;
}

}  // namespace confide::crypto
