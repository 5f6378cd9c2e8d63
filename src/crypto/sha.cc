#include "crypto/sha.h"

#include <openssl/evp.h>

#include "crypto/internal/openssl_util.h"

namespace confide::crypto {

using internal::CheckOk;
using internal::Md;

size_t DigestLen(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256:
      return 32;
    case HashAlg::kSha384:
      return 48;
    case HashAlg::kSha512:
      return 64;
  }
  return 0;
}

const char* HashName(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256:
      return "SHA-256";
    case HashAlg::kSha384:
      return "SHA-384";
    case HashAlg::kSha512:
      return "SHA-512";
  }
  return "unknown";
}

Bytes Hash(HashAlg alg, ByteSpan data) {
  Bytes out(DigestLen(alg));
  unsigned int len = 0;
  CheckOk(EVP_Digest(data.data(), data.size(), out.data(), &len, Md(alg), nullptr), "EVP_Digest");
  return out;
}

struct Hasher::Impl {
  internal::EvpMdCtxPtr ctx{EVP_MD_CTX_new()};
};

Hasher::Hasher(HashAlg alg) : alg_(alg), impl_(std::make_unique<Impl>()) {
  CheckOk(EVP_DigestInit_ex(impl_->ctx.get(), Md(alg_), nullptr), "EVP_DigestInit_ex");
}
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

void Hasher::Update(ByteSpan data) {
  CheckOk(EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size()), "EVP_DigestUpdate");
}

Bytes Hasher::Finish() {
  Bytes out(DigestLen(alg_));
  unsigned int len = 0;
  CheckOk(EVP_DigestFinal_ex(impl_->ctx.get(), out.data(), &len), "EVP_DigestFinal_ex");
  CheckOk(EVP_DigestInit_ex(impl_->ctx.get(), Md(alg_), nullptr), "EVP_DigestInit_ex");
  return out;
}

}  // namespace confide::crypto
