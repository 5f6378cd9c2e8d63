#include "crypto/aead.h"

#include <openssl/evp.h>

#include <algorithm>
#include <climits>

#include "absl/strings/str_cat.h"
#include "crypto/internal/openssl_util.h"
#include "crypto/random.h"

namespace confide::crypto {
namespace {

using internal::CheckOk;
using internal::ClearErrors;
using internal::Error;
using internal::EvpCipherCtxPtr;

constexpr absl::StatusCode kInternal = absl::StatusCode::kInternal;

//= https://www.rfc-editor.org/rfc/rfc5116#section-5.1
//# P_MAX is 2^36 - 31
// (bytes, for AEAD_AES_128_GCM; the same bound holds for AES-256-GCM). We stay one below.
constexpr uint64_t kGcmMaxPlaintextLen = (uint64_t{1} << 36) - 32;
//= https://www.rfc-editor.org/rfc/rfc8439#section-2.8
//# the maximum size of the plaintext is 274,877,906,880 bytes, or nearly 256 GB.
constexpr uint64_t kChaChaMaxPlaintextLen = 274'877'906'880ULL;

// EVP's update functions take an int length; longer inputs are fed in chunks of this size.
constexpr size_t kChunkLen = size_t{1} << 30;

// Cipher returns the EVP_CIPHER for `alg`, fetched once (never freed; thread-safe static init).
const EVP_CIPHER* Cipher(AeadAlg alg) {
  static const EVP_CIPHER* const kAes128 = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  static const EVP_CIPHER* const kAes256 = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  static const EVP_CIPHER* const kChaCha = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  const EVP_CIPHER* c = nullptr;
  switch (alg) {
    case AeadAlg::kAes128Gcm:
      c = kAes128;
      break;
    case AeadAlg::kAes256Gcm:
      c = kAes256;
      break;
    case AeadAlg::kChaCha20Poly1305:
      c = kChaCha;
      break;
  }
  CheckOk(c != nullptr ? 1 : 0, "EVP_CIPHER_fetch");
  return c;
}

bool IsGcm(AeadAlg alg) { return alg != AeadAlg::kChaCha20Poly1305; }

absl::Status CheckKeyAndNonce(AeadAlg alg, ByteSpan key, ByteSpan nonce) {
  if (key.size() != AeadKeyLen(alg)) {
    return absl::InvalidArgumentError(
        absl::StrCat(AeadName(alg), " key must be ", AeadKeyLen(alg), " bytes"));
  }
  if (IsGcm(alg)) {
    if (nonce.empty() || nonce.size() > kGcmMaxNonceLen) {
      return absl::InvalidArgumentError(
          absl::StrCat(AeadName(alg), " nonce must be 1..", kGcmMaxNonceLen, " bytes"));
    }
  } else if (nonce.size() != kAeadNonceLen) {
    //= https://www.rfc-editor.org/rfc/rfc8439#section-2.8
    //# A 256-bit key
    //# o  A 96-bit nonce -- different for each invocation with the same key
    return absl::InvalidArgumentError("ChaCha20-Poly1305 nonce must be 12 bytes");
  }
  return absl::OkStatus();
}

// Init sets up `ctx` for `alg` with `key` and `nonce` (already validated) in the direction
// `enc` (1 encrypt, 0 decrypt) and feeds `aad`. False on an OpenSSL failure.
bool Init(EVP_CIPHER_CTX* ctx, AeadAlg alg, ByteSpan key, ByteSpan nonce, ByteSpan aad, int enc) {
  if (EVP_CipherInit_ex2(ctx, Cipher(alg), nullptr, nullptr, enc, nullptr) != 1) {
    return false;
  }
  if (nonce.size() != kAeadNonceLen &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) !=
          1) {
    return false;
  }
  if (EVP_CipherInit_ex2(ctx, nullptr, key.data(), nonce.data(), enc, nullptr) != 1) {
    return false;
  }
  for (size_t done = 0; done < aad.size();) {
    const size_t n = std::min(kChunkLen, aad.size() - done);
    int outl = 0;
    if (EVP_CipherUpdate(ctx, nullptr, &outl, aad.data() + done, static_cast<int>(n)) != 1) {
      return false;
    }
    done += n;
  }
  return true;
}

// Crypt runs `in` through `ctx` into `out` (same length; stream ciphers). False on failure.
bool Crypt(EVP_CIPHER_CTX* ctx, ByteSpan in, uint8_t* out) {
  for (size_t done = 0; done < in.size();) {
    const size_t n = std::min(kChunkLen, in.size() - done);
    int outl = 0;
    if (EVP_CipherUpdate(ctx, out + done, &outl, in.data() + done, static_cast<int>(n)) != 1 ||
        static_cast<size_t>(outl) != n) {
      return false;
    }
    done += n;
  }
  return true;
}

// SealInto writes ciphertext || tag for `plaintext` to `out` (plaintext.size() + tag bytes).
absl::Status SealInto(AeadAlg alg, ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan plaintext,
                      std::span<uint8_t> out) {
  RETURN_IF_ERROR(CheckKeyAndNonce(alg, key, nonce));
  const uint64_t max_len = IsGcm(alg) ? kGcmMaxPlaintextLen : kChaChaMaxPlaintextLen;
  if (plaintext.size() > max_len) {
    return absl::InvalidArgumentError(
        absl::StrCat(AeadName(alg), " plaintext exceeds the algorithm's length limit"));
  }
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int outl = 0;
  if (!ctx || !Init(ctx.get(), alg, key, nonce, aad, 1) ||
      !Crypt(ctx.get(), plaintext, out.data()) ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + plaintext.size(), &outl) != 1 || outl != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAeadTagLen),
                          out.data() + plaintext.size()) != 1) {
    SecureZero(out);
    return Error(kInternal, "AEAD encryption failed");
  }
  return absl::OkStatus();
}

absl::Status DecryptionFailed() {
  ClearErrors();
  return absl::UnauthenticatedError("decryption failed");
}

// OpenInto checks ciphertext || tag and writes the plaintext to `out` (input size - tag). On
// failure `out` is zeroised.
absl::Status OpenInto(AeadAlg alg, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                      ByteSpan ciphertext_and_tag, std::span<uint8_t> out) {
  RETURN_IF_ERROR(CheckKeyAndNonce(alg, key, nonce));
  if (ciphertext_and_tag.size() < kAeadTagLen) {
    return DecryptionFailed();
  }
  const size_t ct_len = ciphertext_and_tag.size() - kAeadTagLen;
  ByteSpan ciphertext = ciphertext_and_tag.first(ct_len);
  // EVP wants a writable tag buffer; copy the (public) tag.
  uint8_t tag[kAeadTagLen];
  std::copy_n(ciphertext_and_tag.begin() + static_cast<ptrdiff_t>(ct_len), kAeadTagLen, tag);
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int outl = 0;
  if (!ctx || !Init(ctx.get(), alg, key, nonce, aad, 0) ||
      !Crypt(ctx.get(), ciphertext, out.data()) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAeadTagLen), tag) !=
          1 ||
      EVP_DecryptFinal_ex(ctx.get(), out.data() + ct_len, &outl) != 1 || outl != 0) {
    SecureZero(out);
    return DecryptionFailed();
  }
  return absl::OkStatus();
}

}  // namespace

size_t AeadKeyLen(AeadAlg alg) {
  switch (alg) {
    case AeadAlg::kAes128Gcm:
      return 16;
    case AeadAlg::kAes256Gcm:
    case AeadAlg::kChaCha20Poly1305:
      return 32;
  }
  return 0;
}

const char* AeadName(AeadAlg alg) {
  switch (alg) {
    case AeadAlg::kAes128Gcm:
      return "AES-128-GCM";
    case AeadAlg::kAes256Gcm:
      return "AES-256-GCM";
    case AeadAlg::kChaCha20Poly1305:
      return "ChaCha20-Poly1305";
  }
  return "unknown";
}

absl::StatusOr<Bytes> AeadSeal(AeadAlg alg, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                               ByteSpan plaintext) {
  RETURN_IF_ERROR(CheckKeyAndNonce(alg, key, nonce));
  if (plaintext.size() > kChaChaMaxPlaintextLen) {
    return absl::InvalidArgumentError(
        absl::StrCat(AeadName(alg), " plaintext exceeds the algorithm's length limit"));
  }
  Bytes out(plaintext.size() + kAeadTagLen);
  RETURN_IF_ERROR(SealInto(alg, key, nonce, aad, plaintext, out));
  return out;
}

absl::StatusOr<Bytes> AeadOpen(AeadAlg alg, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                               ByteSpan ciphertext_and_tag) {
  RETURN_IF_ERROR(CheckKeyAndNonce(alg, key, nonce));
  if (ciphertext_and_tag.size() < kAeadTagLen) {
    return DecryptionFailed();
  }
  Bytes out(ciphertext_and_tag.size() - kAeadTagLen);
  RETURN_IF_ERROR(OpenInto(alg, key, nonce, aad, ciphertext_and_tag, out));
  return out;
}

namespace {

bool Overlaps(ByteSpan a, std::span<uint8_t> b) {
  if (a.empty() || b.empty()) return false;
  const uint8_t* a0 = a.data();
  const uint8_t* b0 = b.data();
  return a0 < b0 + b.size() && b0 < a0 + a.size();
}

}  // namespace

absl::Status AeadSealInto(AeadAlg alg, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                          ByteSpan plaintext, std::span<uint8_t> out) {
  if (out.size() != plaintext.size() + kAeadTagLen || Overlaps(plaintext, out)) {
    return absl::InvalidArgumentError("AEAD output buffer has the wrong size or overlaps");
  }
  RETURN_IF_ERROR(CheckKeyAndNonce(alg, key, nonce));
  if (plaintext.size() > kChaChaMaxPlaintextLen) {
    return absl::InvalidArgumentError(
        absl::StrCat(AeadName(alg), " plaintext exceeds the algorithm's length limit"));
  }
  return SealInto(alg, key, nonce, aad, plaintext, out);
}

absl::Status AeadOpenInto(AeadAlg alg, ByteSpan key, ByteSpan nonce, ByteSpan aad,
                          ByteSpan ciphertext_and_tag, std::span<uint8_t> out) {
  RETURN_IF_ERROR(CheckKeyAndNonce(alg, key, nonce));
  if (ciphertext_and_tag.size() < kAeadTagLen) {
    return DecryptionFailed();
  }
  const size_t pt_len = ciphertext_and_tag.size() - kAeadTagLen;
  const bool in_place = out.data() == ciphertext_and_tag.data();
  if (out.size() != pt_len || (!in_place && Overlaps(ciphertext_and_tag, out))) {
    return absl::InvalidArgumentError("AEAD output buffer has the wrong size or overlaps");
  }
  return OpenInto(alg, key, nonce, aad, ciphertext_and_tag, out);
}

Aead::Aead(AeadAlg alg, SecretBytes key)
    : alg_(alg), key_(std::move(key)), seals_(std::make_unique<std::atomic<uint64_t>>(0)) {}

absl::StatusOr<Aead> Aead::Create(AeadAlg alg, SecretBytes key) {
  if (key.size() != AeadKeyLen(alg)) {
    return absl::InvalidArgumentError(
        absl::StrCat(AeadName(alg), " key must be ", AeadKeyLen(alg), " bytes"));
  }
  return Aead(alg, std::move(key));
}

absl::StatusOr<Aead> Aead::Generate(AeadAlg alg) {
  ASSIGN_OR_RETURN(SecretBytes key, RandomSecret(AeadKeyLen(alg)));
  return Aead(alg, std::move(key));
}

absl::StatusOr<Bytes> Aead::Seal(ByteSpan aad, ByteSpan plaintext) const {
  if (!seals_) {
    return absl::FailedPreconditionError("Aead used after move");
  }
  if (plaintext.size() > kChaChaMaxPlaintextLen) {
    return absl::InvalidArgumentError(
        absl::StrCat(AeadName(alg_), " plaintext exceeds the algorithm's length limit"));
  }
  if (seals_->fetch_add(1, std::memory_order_relaxed) >= kMaxMessages) {
    return absl::ResourceExhaustedError("Aead key has sealed its maximum number of messages");
  }
  Bytes out(kAeadNonceLen + plaintext.size() + kAeadTagLen);
  std::span<uint8_t> nonce = std::span<uint8_t>(out).first(kAeadNonceLen);
  RETURN_IF_ERROR(FillRandom(nonce));
  RETURN_IF_ERROR(SealInto(alg_, key_.ExposeSecret(), nonce, aad, plaintext,
                           std::span<uint8_t>(out).subspan(kAeadNonceLen)));
  return out;
}

absl::StatusOr<Bytes> Aead::Open(ByteSpan aad, ByteSpan sealed) const {
  if (!seals_) {
    return absl::FailedPreconditionError("Aead used after move");
  }
  if (sealed.size() < kOverhead) {
    return DecryptionFailed();
  }
  Bytes out(sealed.size() - kOverhead);
  RETURN_IF_ERROR(OpenInto(alg_, key_.ExposeSecret(), sealed.first(kAeadNonceLen), aad,
                           sealed.subspan(kAeadNonceLen), out));
  return out;
}

}  // namespace confide::crypto
