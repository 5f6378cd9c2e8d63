#include "crypto/hkdf.h"

#include <algorithm>

#include "crypto/internal/hmac_internal.h"

namespace confide::crypto {

size_t HkdfMaxOutputLen(HashAlg alg) { return 255 * DigestLen(alg); }

SecretBytes HkdfExtract(HashAlg alg, ByteSpan salt, ByteSpan ikm) {
  //= https://www.rfc-editor.org/rfc/rfc5869#section-2.2
  //# salt     optional salt value (a non-secret random value);
  //#          if not provided, it is set to a string of HashLen zeros.
  //# PRK = HMAC-Hash(salt, IKM)
  // HMAC pads its key with zeros to the block size, so an empty salt and HashLen zeros give the
  // same PRK; no special case is needed.
  internal::HmacState hmac(alg, salt);
  hmac.Update(ikm);
  SecretBytes prk(DigestLen(alg));
  hmac.Finish(prk.MutableSecret());
  return prk;
}

absl::StatusOr<SecretBytes> HkdfExpand(HashAlg alg, ByteSpan prk, ByteSpan info, size_t length) {
  const size_t hash_len = DigestLen(alg);
  //= https://www.rfc-editor.org/rfc/rfc5869#section-2.3
  //# PRK      a pseudorandom key of at least HashLen octets
  //# L        length of output keying material in octets
  //#          (<= 255*HashLen)
  if (length > HkdfMaxOutputLen(alg)) {
    return absl::InvalidArgumentError("HKDF-Expand output length exceeds 255 * HashLen");
  }
  if (prk.size() < hash_len) {
    return absl::InvalidArgumentError("HKDF-Expand PRK is shorter than HashLen");
  }
  //# T(0) = empty string (zero length)
  //# T(1) = HMAC-Hash(PRK, T(0) | info | 0x01)
  //# T(2) = HMAC-Hash(PRK, T(1) | info | 0x02)
  //# ...
  //# OKM = first L octets of T
  SecretBytes okm(length);
  SecretBytes block(hash_len);
  internal::HmacState hmac(alg, prk);
  std::span<uint8_t> out = okm.MutableSecret();
  size_t done = 0;
  for (uint8_t counter = 1; done < length; ++counter) {
    if (counter > 1) {
      hmac.Update(block.ExposeSecret());
    }
    hmac.Update(info);
    hmac.Update(ByteSpan(&counter, 1));
    hmac.Finish(block.MutableSecret());
    const size_t take = std::min(hash_len, length - done);
    std::copy_n(block.ExposeSecret().begin(), take, out.begin() + static_cast<ptrdiff_t>(done));
    done += take;
  }
  return okm;
}

absl::StatusOr<SecretBytes> Hkdf(HashAlg alg, ByteSpan ikm, ByteSpan salt, ByteSpan info,
                                 size_t length) {
  SecretBytes prk = HkdfExtract(alg, salt, ikm);
  return HkdfExpand(alg, prk.ExposeSecret(), info, length);
}

}  // namespace confide::crypto
