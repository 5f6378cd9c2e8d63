#include "crypto/hpke.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "crypto/hkdf.h"
#include "crypto/internal/hmac_internal.h"
#include "crypto/internal/hpke_internal.h"
#include "crypto/random.h"

namespace confide::crypto {
namespace internal {

// HpkeFactory builds contexts; it is the only code allowed to call their constructors.
class HpkeFactory {
 public:
  static HpkeContext Context(HpkeSuite suite, SecretBytes key, Bytes base_nonce,
                             SecretBytes exporter_secret) {
    return HpkeContext(suite, std::move(key), std::move(base_nonce), std::move(exporter_secret));
  }
  static HpkeSenderContext Sender(HpkeContext base, Bytes enc) {
    return HpkeSenderContext(std::move(base), std::move(enc));
  }
  static HpkeRecipientContext Recipient(HpkeContext base) {
    return HpkeRecipientContext(std::move(base));
  }
};

}  // namespace internal

namespace {

constexpr std::string_view kVersionLabel = "HPKE-v1";
// Every DHKEM here uses HKDF-SHA256 and Nsecret = 32 (RFC 9180 §7.1, Table 2).
constexpr HashAlg kKemHash = HashAlg::kSha256;
constexpr size_t kKemSecretLen = 32;

void AppendU16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-4.1
//# suite_id = concat("KEM", I2OSP(kem_id, 2))
Bytes KemSuiteId(HpkeKemId kem) {
  Bytes id = ToBytes("KEM");
  AppendU16(id, static_cast<uint16_t>(kem));
  return id;
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-5.1
//# suite_id = concat(
//#   "HPKE",
//#   I2OSP(kem_id, 2),
//#   I2OSP(kdf_id, 2),
//#   I2OSP(aead_id, 2)
//# )
Bytes HpkeSuiteId(const HpkeSuite& suite) {
  Bytes id = ToBytes("HPKE");
  AppendU16(id, suite.kem_id());
  AppendU16(id, suite.kdf_id());
  AppendU16(id, suite.aead_id());
  return id;
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-4
//# def LabeledExtract(salt, label, ikm):
//#   labeled_ikm = concat("HPKE-v1", suite_id, label, ikm)
//#   return Extract(salt, labeled_ikm)
// Extract is HMAC(salt, labeled_ikm) (RFC 5869 §2.2); the parts are fed to HMAC one by one so
// the secret ikm is never copied into an unprotected buffer.
SecretBytes LabeledExtract(HashAlg hash, ByteSpan suite_id, ByteSpan salt, std::string_view label,
                           ByteSpan ikm) {
  internal::HmacState hmac(hash, salt);
  hmac.Update(AsBytes(kVersionLabel));
  hmac.Update(suite_id);
  hmac.Update(AsBytes(label));
  hmac.Update(ikm);
  SecretBytes prk(DigestLen(hash));
  hmac.Finish(prk.MutableSecret());
  return prk;
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-4
//# def LabeledExpand(prk, label, info, L):
//#   labeled_info = concat(I2OSP(L, 2), "HPKE-v1", suite_id,
//#                         label, info)
//#   return Expand(prk, labeled_info, L)
absl::StatusOr<SecretBytes> LabeledExpand(HashAlg hash, ByteSpan suite_id, ByteSpan prk,
                                          std::string_view label, ByteSpan info, size_t length) {
  // HkdfExpand caps length at 255 * Nh (< 2^16), so I2OSP(L, 2) below cannot truncate.
  if (length > HkdfMaxOutputLen(hash)) {
    return absl::InvalidArgumentError("HPKE LabeledExpand length exceeds 255 * Nh");
  }
  Bytes labeled_info;
  labeled_info.reserve(2 + kVersionLabel.size() + suite_id.size() + label.size() + info.size());
  AppendU16(labeled_info, static_cast<uint16_t>(length));
  Append(labeled_info, AsBytes(kVersionLabel));
  Append(labeled_info, suite_id);
  Append(labeled_info, AsBytes(label));
  Append(labeled_info, info);
  return HkdfExpand(hash, prk, labeled_info, length);
}

// Dh runs the KEM's Diffie-Hellman function; errors of X25519 / P256Ecdh (InvalidArgument).
absl::StatusOr<SecretBytes> Dh(HpkeKemId kem, const SecretBytes& sk, ByteSpan pk) {
  switch (kem) {
    case HpkeKemId::kX25519HkdfSha256:
      return X25519(sk, pk);
    case HpkeKemId::kP256HkdfSha256:
      return P256Ecdh(sk, pk);
  }
  return absl::InvalidArgumentError("unsupported HPKE KEM");
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-4.1
//# def ExtractAndExpand(dh, kem_context):
//#   eae_prk = LabeledExtract("", "eae_prk", dh)
//#   shared_secret = LabeledExpand(eae_prk, "shared_secret",
//#                                 kem_context, Nsecret)
//#   return shared_secret
absl::StatusOr<SecretBytes> ExtractAndExpand(HpkeKemId kem, ByteSpan dh, ByteSpan kem_context) {
  const Bytes suite_id = KemSuiteId(kem);
  SecretBytes eae_prk = LabeledExtract(kKemHash, suite_id, {}, "eae_prk", dh);
  return LabeledExpand(kKemHash, suite_id, eae_prk.ExposeSecret(), "shared_secret", kem_context,
                       kKemSecretLen);
}

// ConcatSecrets returns a || b in protected memory.
SecretBytes ConcatSecrets(const SecretBytes& a, const SecretBytes& b) {
  SecretBytes out(a.size() + b.size());
  std::copy(a.ExposeSecret().begin(), a.ExposeSecret().end(), out.MutableSecret().begin());
  std::copy(b.ExposeSecret().begin(), b.ExposeSecret().end(),
            out.MutableSecret().begin() + static_cast<ptrdiff_t>(a.size()));
  return out;
}

absl::Status CheckSuite(const HpkeSuite& suite) {
  return HpkeSuite::FromIds(suite.kem_id(), suite.kdf_id(), suite.aead_id()).status();
}

bool IsPskMode(HpkeMode mode) { return mode == HpkeMode::kPsk || mode == HpkeMode::kAuthPsk; }
bool IsAuthMode(HpkeMode mode) { return mode == HpkeMode::kAuth || mode == HpkeMode::kAuthPsk; }

absl::Status VerifyPskInputs(HpkeMode mode, ByteSpan psk, ByteSpan psk_id) {
  //= https://www.rfc-editor.org/rfc/rfc9180#section-5.1
  //# def VerifyPSKInputs(mode, psk, psk_id):
  //#   got_psk = (psk != default_psk)
  //#   got_psk_id = (psk_id != default_psk_id)
  //#   if got_psk != got_psk_id:
  //#     raise Exception("Inconsistent PSK inputs")
  //#
  //#   if got_psk and (mode in [mode_base, mode_auth]):
  //#     raise Exception("PSK input provided when not needed")
  //#   if (not got_psk) and (mode in [mode_psk, mode_auth_psk]):
  //#     raise Exception("Missing required PSK input")
  const bool got_psk = !psk.empty();
  const bool got_psk_id = !psk_id.empty();
  if (got_psk != got_psk_id) {
    return absl::InvalidArgumentError("HPKE: inconsistent PSK inputs (psk and psk_id)");
  }
  if (got_psk && !IsPskMode(mode)) {
    return absl::InvalidArgumentError("HPKE: PSK input provided when not needed");
  }
  if (!got_psk && IsPskMode(mode)) {
    return absl::InvalidArgumentError("HPKE: missing required PSK input");
  }
  //= https://www.rfc-editor.org/rfc/rfc9180#section-5.1.2
  //# The PSK MUST have at least 32 bytes of entropy and SHOULD be of
  //# length Nh bytes or longer.
  // Entropy cannot be measured; a PSK shorter than 32 bytes cannot have enough of it.
  if (got_psk && psk.size() < 32) {
    return absl::InvalidArgumentError("HPKE: PSK must be at least 32 bytes");
  }
  return absl::OkStatus();
}

absl::Status CheckMode(HpkeMode mode) {
  switch (mode) {
    case HpkeMode::kBase:
    case HpkeMode::kPsk:
    case HpkeMode::kAuth:
    case HpkeMode::kAuthPsk:
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError("HPKE: unknown mode");
}

// KeySchedule derives the context from the KEM's shared secret (§5.1).
absl::StatusOr<HpkeContext> KeySchedule(const HpkeSuite& suite, const HpkeSetupParams& params,
                                        const SecretBytes& shared_secret) {
  //= https://www.rfc-editor.org/rfc/rfc9180#section-5.1
  //# def KeySchedule<ROLE>(mode, shared_secret, info, psk, psk_id):
  //#   VerifyPSKInputs(mode, psk, psk_id)
  //#
  //#   psk_id_hash = LabeledExtract("", "psk_id_hash", psk_id)
  //#   info_hash = LabeledExtract("", "info_hash", info)
  //#   key_schedule_context = concat(mode, psk_id_hash, info_hash)
  //#
  //#   secret = LabeledExtract(shared_secret, "secret", psk)
  //#
  //#   key = LabeledExpand(secret, "key", key_schedule_context, Nk)
  //#   base_nonce = LabeledExpand(secret, "base_nonce",
  //#                              key_schedule_context, Nn)
  //#   exporter_secret = LabeledExpand(secret, "exp",
  //#                                   key_schedule_context, Nh)
  //#
  //#   return Context<ROLE>(key, base_nonce, 0, exporter_secret)
  RETURN_IF_ERROR(VerifyPskInputs(params.mode, params.psk, params.psk_id));
  const HashAlg hash = HpkeKdfHash(suite.kdf);
  const Bytes suite_id = HpkeSuiteId(suite);
  SecretBytes psk_id_hash = LabeledExtract(hash, suite_id, {}, "psk_id_hash", params.psk_id);
  SecretBytes info_hash = LabeledExtract(hash, suite_id, {}, "info_hash", params.info);
  Bytes key_schedule_context;
  key_schedule_context.push_back(static_cast<uint8_t>(params.mode));
  Append(key_schedule_context, psk_id_hash.ExposeSecret());
  Append(key_schedule_context, info_hash.ExposeSecret());

  SecretBytes secret =
      LabeledExtract(hash, suite_id, shared_secret.ExposeSecret(), "secret", params.psk);
  ASSIGN_OR_RETURN(SecretBytes key,
                   LabeledExpand(hash, suite_id, secret.ExposeSecret(), "key", key_schedule_context,
                                 HpkeAeadKeyLen(suite.aead)));
  ASSIGN_OR_RETURN(SecretBytes base_nonce,
                   LabeledExpand(hash, suite_id, secret.ExposeSecret(), "base_nonce",
                                 key_schedule_context, HpkeAeadNonceLen(suite.aead)));
  ASSIGN_OR_RETURN(SecretBytes exporter_secret,
                   LabeledExpand(hash, suite_id, secret.ExposeSecret(), "exp", key_schedule_context,
                                 DigestLen(hash)));
  // The base nonce is not secret on its own (nonces are public), so it is kept as Bytes.
  Bytes nonce(base_nonce.ExposeSecret().begin(), base_nonce.ExposeSecret().end());
  return internal::HpkeFactory::Context(suite, std::move(key), std::move(nonce),
                                        std::move(exporter_secret));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Suites and sizes.

absl::StatusOr<HpkeSuite> HpkeSuite::FromIds(uint16_t kem_id, uint16_t kdf_id, uint16_t aead_id) {
  HpkeSuite suite{};
  switch (kem_id) {
    case 0x0010:
    case 0x0020:
      suite.kem = static_cast<HpkeKemId>(kem_id);
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unsupported HPKE KEM id ", kem_id));
  }
  switch (kdf_id) {
    case 0x0001:
    case 0x0003:
      suite.kdf = static_cast<HpkeKdfId>(kdf_id);
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unsupported HPKE KDF id ", kdf_id));
  }
  switch (aead_id) {
    case 0x0001:
    case 0x0002:
    case 0x0003:
    case 0xFFFF:
      suite.aead = static_cast<HpkeAeadId>(aead_id);
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unsupported HPKE AEAD id ", aead_id));
  }
  return suite;
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-7.1
//# |Value  | KEM           | Nsecret |Nenc|Npk|Nsk|Auth| Reference     |
//# |0x0010 | DHKEM(P-256,  | 32      |65  |65 |32 |yes | [NISTCurves], |
//# |0x0020 | DHKEM(X25519, | 32      |32  |32 |32 |yes | [RFC5869],    |
size_t HpkeKemEncLen(HpkeKemId kem) {
  return kem == HpkeKemId::kP256HkdfSha256 ? kP256PointLen : kX25519KeyLen;
}
size_t HpkeKemPublicKeyLen(HpkeKemId kem) { return HpkeKemEncLen(kem); }
size_t HpkeKemPrivateKeyLen(HpkeKemId kem) {
  return kem == HpkeKemId::kP256HkdfSha256 ? kP256ScalarLen : kX25519KeyLen;
}

HashAlg HpkeKdfHash(HpkeKdfId kdf) {
  return kdf == HpkeKdfId::kHkdfSha512 ? HashAlg::kSha512 : HashAlg::kSha256;
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-7.3
//# | 0x0001 | AES-128-GCM      | 16  | 12  | 16  | [GCM]     |
//# | 0x0002 | AES-256-GCM      | 32  | 12  | 16  | [GCM]     |
//# | 0x0003 | ChaCha20Poly1305 | 32  | 12  | 16  | [RFC8439] |
//# | 0xFFFF | Export-only      | N/A | N/A | N/A | RFC 9180  |
size_t HpkeAeadKeyLen(HpkeAeadId aead) {
  switch (aead) {
    case HpkeAeadId::kAes128Gcm:
      return 16;
    case HpkeAeadId::kAes256Gcm:
    case HpkeAeadId::kChaCha20Poly1305:
      return 32;
    case HpkeAeadId::kExportOnly:
      return 0;
  }
  return 0;
}
size_t HpkeAeadNonceLen(HpkeAeadId aead) {
  return aead == HpkeAeadId::kExportOnly ? 0 : kAeadNonceLen;
}
size_t HpkeAeadTagLen(HpkeAeadId aead) { return aead == HpkeAeadId::kExportOnly ? 0 : kAeadTagLen; }

absl::StatusOr<AeadAlg> HpkeAeadAlg(HpkeAeadId aead) {
  switch (aead) {
    case HpkeAeadId::kAes128Gcm:
      return AeadAlg::kAes128Gcm;
    case HpkeAeadId::kAes256Gcm:
      return AeadAlg::kAes256Gcm;
    case HpkeAeadId::kChaCha20Poly1305:
      return AeadAlg::kChaCha20Poly1305;
    case HpkeAeadId::kExportOnly:
      break;
  }
  return absl::FailedPreconditionError("export-only HPKE suite has no AEAD");
}

// ---------------------------------------------------------------------------------------------
// Keys.

absl::StatusOr<HpkeKeyPair> HpkeGenerateKeyPair(HpkeKemId kem) {
  switch (kem) {
    case HpkeKemId::kX25519HkdfSha256:
      return X25519GenerateKeyPair();
    case HpkeKemId::kP256HkdfSha256:
      return P256GenerateKeyPair();
  }
  return absl::InvalidArgumentError("unsupported HPKE KEM");
}

absl::StatusOr<Bytes> HpkePublicKeyFromPrivate(HpkeKemId kem, const SecretBytes& private_key) {
  switch (kem) {
    case HpkeKemId::kX25519HkdfSha256:
      return X25519PublicKeyFromPrivate(private_key);
    case HpkeKemId::kP256HkdfSha256:
      return P256PublicKeyFromPrivate(private_key);
  }
  return absl::InvalidArgumentError("unsupported HPKE KEM");
}

absl::Status HpkeValidatePublicKey(HpkeKemId kem, ByteSpan public_key) {
  //= https://www.rfc-editor.org/rfc/rfc9180#section-7.1.1
  //# For P-256, P-384, and P-521, the SerializePublicKey() function of the
  //# KEM performs the uncompressed Elliptic-Curve-Point-to-Octet-String
  //# conversion according to [SECG].  DeserializePublicKey() performs the
  //# uncompressed Octet-String-to-Elliptic-Curve-Point conversion.
  //#
  //# For X25519 and X448, the SerializePublicKey() and
  //# DeserializePublicKey() functions are the identity function, since
  //# these curves already use fixed-length byte strings for public keys.
  switch (kem) {
    case HpkeKemId::kX25519HkdfSha256:
      if (public_key.size() != kX25519KeyLen) {
        return absl::InvalidArgumentError("HPKE X25519 public key must be 32 bytes");
      }
      return absl::OkStatus();
    case HpkeKemId::kP256HkdfSha256:
      return P256ValidatePublicKey(public_key);
  }
  return absl::InvalidArgumentError("unsupported HPKE KEM");
}

absl::StatusOr<HpkeKeyPair> HpkeDeriveKeyPair(HpkeKemId kem, ByteSpan ikm) {
  //= https://www.rfc-editor.org/rfc/rfc9180#section-7.1.3
  //# For a given KEM, the ikm
  //# parameter given to DeriveKeyPair() SHOULD have length at least Nsk,
  //# and SHOULD have at least Nsk bytes of entropy.
  // We make the length a hard requirement (fail closed); entropy cannot be checked.
  const size_t nsk = HpkeKemPrivateKeyLen(kem);
  if (ikm.size() < nsk) {
    return absl::InvalidArgumentError("HPKE DeriveKeyPair ikm is shorter than Nsk");
  }
  const Bytes suite_id = KemSuiteId(kem);
  SecretBytes dkp_prk = LabeledExtract(kKemHash, suite_id, {}, "dkp_prk", ikm);
  if (kem == HpkeKemId::kX25519HkdfSha256) {
    //= https://www.rfc-editor.org/rfc/rfc9180#section-7.1.3
    //# def DeriveKeyPair(ikm):
    //#   dkp_prk = LabeledExtract("", "dkp_prk", ikm)
    //#   sk = LabeledExpand(dkp_prk, "sk", "", Nsk)
    //#   return (sk, pk(sk))
    ASSIGN_OR_RETURN(SecretBytes sk,
                     LabeledExpand(kKemHash, suite_id, dkp_prk.ExposeSecret(), "sk", {}, nsk));
    ASSIGN_OR_RETURN(Bytes pk, X25519PublicKeyFromPrivate(sk));
    return HpkeKeyPair{std::move(sk), std::move(pk)};
  }
  //= https://www.rfc-editor.org/rfc/rfc9180#section-7.1.3
  //# def DeriveKeyPair(ikm):
  //#   dkp_prk = LabeledExtract("", "dkp_prk", ikm)
  //#   sk = 0
  //#   counter = 0
  //#   while sk == 0 or sk >= order:
  //#     if counter > 255:
  //#       raise DeriveKeyPairError
  //#     bytes = LabeledExpand(dkp_prk, "candidate",
  //#                           I2OSP(counter, 1), Nsk)
  //#     bytes[0] = bytes[0] & bitmask
  //#     sk = OS2IP(bytes)
  //#     counter = counter + 1
  //#   return (sk, pk(sk))
  // For P-256 the bitmask is 0xFF, so bytes[0] is unchanged.
  for (int counter = 0; counter <= 255; ++counter) {
    const uint8_t counter_byte = static_cast<uint8_t>(counter);
    ASSIGN_OR_RETURN(SecretBytes sk, LabeledExpand(kKemHash, suite_id, dkp_prk.ExposeSecret(),
                                                   "candidate", ByteSpan(&counter_byte, 1), nsk));
    if (!P256ValidatePrivateKey(sk.ExposeSecret()).ok()) {
      continue;
    }
    ASSIGN_OR_RETURN(Bytes pk, P256PublicKeyFromPrivate(sk));
    return HpkeKeyPair{std::move(sk), std::move(pk)};
  }
  return absl::InternalError("HPKE DeriveKeyPairError: no valid P-256 scalar in 256 candidates");
}

// ---------------------------------------------------------------------------------------------
// KEM.

namespace internal {

absl::StatusOr<HpkeEncapResult> HpkeEncap(HpkeKemId kem, ByteSpan recipient_public_key,
                                          const SecretBytes& ephemeral_private_key,
                                          const SecretBytes* sender_private_key) {
  //= https://www.rfc-editor.org/rfc/rfc9180#section-4.1
  //# def Encap(pkR):
  //#   skE, pkE = GenerateKeyPair()
  //#   dh = DH(skE, pkR)
  //#   enc = SerializePublicKey(pkE)
  //#
  //#   pkRm = SerializePublicKey(pkR)
  //#   kem_context = concat(enc, pkRm)
  //#
  //#   shared_secret = ExtractAndExpand(dh, kem_context)
  //#   return shared_secret, enc
  //
  //# def AuthEncap(pkR, skS):
  //#   skE, pkE = GenerateKeyPair()
  //#   dh = concat(DH(skE, pkR), DH(skS, pkR))
  //#   enc = SerializePublicKey(pkE)
  //#
  //#   pkRm = SerializePublicKey(pkR)
  //#   pkSm = SerializePublicKey(pk(skS))
  //#   kem_context = concat(enc, pkRm, pkSm)
  //#
  //#   shared_secret = ExtractAndExpand(dh, kem_context)
  //#   return shared_secret, enc
  RETURN_IF_ERROR(HpkeValidatePublicKey(kem, recipient_public_key));
  ASSIGN_OR_RETURN(Bytes enc, HpkePublicKeyFromPrivate(kem, ephemeral_private_key));
  ASSIGN_OR_RETURN(SecretBytes dh, Dh(kem, ephemeral_private_key, recipient_public_key));
  Bytes kem_context = Concat({enc, recipient_public_key});
  if (sender_private_key != nullptr) {
    ASSIGN_OR_RETURN(SecretBytes dh_s, Dh(kem, *sender_private_key, recipient_public_key));
    dh = ConcatSecrets(dh, dh_s);
    ASSIGN_OR_RETURN(Bytes pk_s, HpkePublicKeyFromPrivate(kem, *sender_private_key));
    Append(kem_context, pk_s);
  }
  ASSIGN_OR_RETURN(SecretBytes shared_secret,
                   ExtractAndExpand(kem, dh.ExposeSecret(), kem_context));
  return HpkeEncapResult{std::move(shared_secret), std::move(enc)};
}

absl::StatusOr<SecretBytes> HpkeDecap(HpkeKemId kem, ByteSpan enc,
                                      const SecretBytes& recipient_private_key,
                                      ByteSpan sender_public_key) {
  //= https://www.rfc-editor.org/rfc/rfc9180#section-4.1
  //# def Decap(enc, skR):
  //#   pkE = DeserializePublicKey(enc)
  //#   dh = DH(skR, pkE)
  //#
  //#   pkRm = SerializePublicKey(pk(skR))
  //#   kem_context = concat(enc, pkRm)
  //#
  //#   shared_secret = ExtractAndExpand(dh, kem_context)
  //#   return shared_secret
  //
  //# def AuthDecap(enc, skR, pkS):
  //#   pkE = DeserializePublicKey(enc)
  //#   dh = concat(DH(skR, pkE), DH(skR, pkS))
  //#
  //#   pkRm = SerializePublicKey(pk(skR))
  //#   pkSm = SerializePublicKey(pkS)
  //#   kem_context = concat(enc, pkRm, pkSm)
  //#
  //#   shared_secret = ExtractAndExpand(dh, kem_context)
  //#   return shared_secret
  if (!HpkeValidatePublicKey(kem, enc).ok()) {
    return absl::InvalidArgumentError("HPKE enc is not a valid public key");
  }
  ASSIGN_OR_RETURN(Bytes pk_r, HpkePublicKeyFromPrivate(kem, recipient_private_key));
  ASSIGN_OR_RETURN(SecretBytes dh, Dh(kem, recipient_private_key, enc));
  Bytes kem_context = Concat({enc, pk_r});
  if (!sender_public_key.empty()) {
    if (!HpkeValidatePublicKey(kem, sender_public_key).ok()) {
      return absl::InvalidArgumentError("HPKE sender public key is invalid");
    }
    ASSIGN_OR_RETURN(SecretBytes dh_s, Dh(kem, recipient_private_key, sender_public_key));
    dh = ConcatSecrets(dh, dh_s);
    Append(kem_context, sender_public_key);
  }
  return ExtractAndExpand(kem, dh.ExposeSecret(), kem_context);
}

}  // namespace internal

// ---------------------------------------------------------------------------------------------
// Setup.

namespace {

absl::StatusOr<HpkeSenderContext> SetupSender(const HpkeSuite& suite, ByteSpan recipient_public_key,
                                              const HpkeSetupParams& params,
                                              const SecretBytes* ephemeral_private_key) {
  RETURN_IF_ERROR(CheckSuite(suite));
  RETURN_IF_ERROR(CheckMode(params.mode));
  // Check the mode's inputs before any key work so misuse fails fast and the same way.
  RETURN_IF_ERROR(VerifyPskInputs(params.mode, params.psk, params.psk_id));
  if (IsAuthMode(params.mode) != (params.sender_private_key != nullptr)) {
    return absl::InvalidArgumentError(
        "HPKE: the sender private key is required in Auth modes and only there");
  }
  if (!params.sender_public_key.empty()) {
    return absl::InvalidArgumentError("HPKE: sender_public_key is a recipient-side input");
  }
  SecretBytes fresh;
  if (ephemeral_private_key == nullptr) {
    ASSIGN_OR_RETURN(HpkeKeyPair ephemeral, HpkeGenerateKeyPair(suite.kem));
    fresh = std::move(ephemeral.private_key);
    ephemeral_private_key = &fresh;
  }
  ASSIGN_OR_RETURN(internal::HpkeEncapResult encap,
                   internal::HpkeEncap(suite.kem, recipient_public_key, *ephemeral_private_key,
                                       params.sender_private_key));
  ASSIGN_OR_RETURN(HpkeContext ctx, KeySchedule(suite, params, encap.shared_secret));
  return internal::HpkeFactory::Sender(std::move(ctx), std::move(encap.enc));
}

}  // namespace

absl::StatusOr<HpkeSenderContext> HpkeSetupSender(const HpkeSuite& suite,
                                                  ByteSpan recipient_public_key,
                                                  const HpkeSetupParams& params) {
  return SetupSender(suite, recipient_public_key, params, nullptr);
}

absl::StatusOr<HpkeSenderContext> HpkeSetupSenderWithEphemeralKeyForTesting(
    const HpkeSuite& suite, ByteSpan recipient_public_key, const HpkeSetupParams& params,
    const SecretBytes& ephemeral_private_key) {
  return SetupSender(suite, recipient_public_key, params, &ephemeral_private_key);
}

absl::StatusOr<HpkeRecipientContext> HpkeSetupRecipient(const HpkeSuite& suite, ByteSpan enc,
                                                        const SecretBytes& recipient_private_key,
                                                        const HpkeSetupParams& params) {
  RETURN_IF_ERROR(CheckSuite(suite));
  RETURN_IF_ERROR(CheckMode(params.mode));
  RETURN_IF_ERROR(VerifyPskInputs(params.mode, params.psk, params.psk_id));
  if (IsAuthMode(params.mode) != !params.sender_public_key.empty()) {
    return absl::InvalidArgumentError(
        "HPKE: the sender public key is required in Auth modes and only there");
  }
  if (params.sender_private_key != nullptr) {
    return absl::InvalidArgumentError("HPKE: sender_private_key is a sender-side input");
  }
  ASSIGN_OR_RETURN(
      SecretBytes shared_secret,
      internal::HpkeDecap(suite.kem, enc, recipient_private_key, params.sender_public_key));
  ASSIGN_OR_RETURN(HpkeContext ctx, KeySchedule(suite, params, shared_secret));
  return internal::HpkeFactory::Recipient(std::move(ctx));
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-5.1.1
//# def SetupBaseS(pkR, info):
//#   shared_secret, enc = Encap(pkR)
//#   return enc, KeyScheduleS(mode_base, shared_secret, info,
//#                            default_psk, default_psk_id)
absl::StatusOr<HpkeSenderContext> HpkeSetupBaseS(const HpkeSuite& suite, ByteSpan pkR,
                                                 ByteSpan info) {
  HpkeSetupParams p;
  p.info = info;
  return HpkeSetupSender(suite, pkR, p);
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-5.1.1
//# def SetupBaseR(enc, skR, info):
//#   shared_secret = Decap(enc, skR)
//#   return KeyScheduleR(mode_base, shared_secret, info,
//#                       default_psk, default_psk_id)
absl::StatusOr<HpkeRecipientContext> HpkeSetupBaseR(const HpkeSuite& suite, ByteSpan enc,
                                                    const SecretBytes& skR, ByteSpan info) {
  HpkeSetupParams p;
  p.info = info;
  return HpkeSetupRecipient(suite, enc, skR, p);
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-5.1.2
//# def SetupPSKS(pkR, info, psk, psk_id):
//#   shared_secret, enc = Encap(pkR)
//#   return enc, KeyScheduleS(mode_psk, shared_secret, info, psk, psk_id)
absl::StatusOr<HpkeSenderContext> HpkeSetupPskS(const HpkeSuite& suite, ByteSpan pkR, ByteSpan info,
                                                const SecretBytes& psk, ByteSpan psk_id) {
  HpkeSetupParams p;
  p.mode = HpkeMode::kPsk;
  p.info = info;
  p.psk = psk.ExposeSecret();
  p.psk_id = psk_id;
  return HpkeSetupSender(suite, pkR, p);
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-5.1.2
//# def SetupPSKR(enc, skR, info, psk, psk_id):
//#   shared_secret = Decap(enc, skR)
//#   return KeyScheduleR(mode_psk, shared_secret, info, psk, psk_id)
absl::StatusOr<HpkeRecipientContext> HpkeSetupPskR(const HpkeSuite& suite, ByteSpan enc,
                                                   const SecretBytes& skR, ByteSpan info,
                                                   const SecretBytes& psk, ByteSpan psk_id) {
  HpkeSetupParams p;
  p.mode = HpkeMode::kPsk;
  p.info = info;
  p.psk = psk.ExposeSecret();
  p.psk_id = psk_id;
  return HpkeSetupRecipient(suite, enc, skR, p);
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-5.1.3
//# def SetupAuthS(pkR, info, skS):
//#   shared_secret, enc = AuthEncap(pkR, skS)
//#   return enc, KeyScheduleS(mode_auth, shared_secret, info,
//#                            default_psk, default_psk_id)
absl::StatusOr<HpkeSenderContext> HpkeSetupAuthS(const HpkeSuite& suite, ByteSpan pkR,
                                                 ByteSpan info, const SecretBytes& skS) {
  HpkeSetupParams p;
  p.mode = HpkeMode::kAuth;
  p.info = info;
  p.sender_private_key = &skS;
  return HpkeSetupSender(suite, pkR, p);
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-5.1.3
//# def SetupAuthR(enc, skR, info, pkS):
//#   shared_secret = AuthDecap(enc, skR, pkS)
//#   return KeyScheduleR(mode_auth, shared_secret, info,
//#                       default_psk, default_psk_id)
absl::StatusOr<HpkeRecipientContext> HpkeSetupAuthR(const HpkeSuite& suite, ByteSpan enc,
                                                    const SecretBytes& skR, ByteSpan info,
                                                    ByteSpan pkS) {
  HpkeSetupParams p;
  p.mode = HpkeMode::kAuth;
  p.info = info;
  p.sender_public_key = pkS;
  return HpkeSetupRecipient(suite, enc, skR, p);
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-5.1.4
//# def SetupAuthPSKS(pkR, info, psk, psk_id, skS):
//#   shared_secret, enc = AuthEncap(pkR, skS)
//#   return enc, KeyScheduleS(mode_auth_psk, shared_secret, info,
//#                            psk, psk_id)
absl::StatusOr<HpkeSenderContext> HpkeSetupAuthPskS(const HpkeSuite& suite, ByteSpan pkR,
                                                    ByteSpan info, const SecretBytes& psk,
                                                    ByteSpan psk_id, const SecretBytes& skS) {
  HpkeSetupParams p;
  p.mode = HpkeMode::kAuthPsk;
  p.info = info;
  p.psk = psk.ExposeSecret();
  p.psk_id = psk_id;
  p.sender_private_key = &skS;
  return HpkeSetupSender(suite, pkR, p);
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-5.1.4
//# def SetupAuthPSKR(enc, skR, info, psk, psk_id, pkS):
//#   shared_secret = AuthDecap(enc, skR, pkS)
//#   return KeyScheduleR(mode_auth_psk, shared_secret, info,
//#                       psk, psk_id)
absl::StatusOr<HpkeRecipientContext> HpkeSetupAuthPskR(const HpkeSuite& suite, ByteSpan enc,
                                                       const SecretBytes& skR, ByteSpan info,
                                                       const SecretBytes& psk, ByteSpan psk_id,
                                                       ByteSpan pkS) {
  HpkeSetupParams p;
  p.mode = HpkeMode::kAuthPsk;
  p.info = info;
  p.psk = psk.ExposeSecret();
  p.psk_id = psk_id;
  p.sender_public_key = pkS;
  return HpkeSetupRecipient(suite, enc, skR, p);
}

// ---------------------------------------------------------------------------------------------
// Contexts.

HpkeContext::HpkeContext(HpkeSuite suite, SecretBytes key, Bytes base_nonce,
                         SecretBytes exporter_secret)
    : suite_(suite),
      key_(std::move(key)),
      base_nonce_(std::move(base_nonce)),
      exporter_secret_(std::move(exporter_secret)) {}

absl::StatusOr<Bytes> HpkeContext::NextNonce() const {
  if (suite_.aead == HpkeAeadId::kExportOnly) {
    return absl::FailedPreconditionError("export-only HPKE context cannot seal or open");
  }
  //= https://www.rfc-editor.org/rfc/rfc9180#section-5.2
  //# def Context<ROLE>.IncrementSeq():
  //#   if self.seq >= (1 << (8*Nn)) - 1:
  //#     raise MessageLimitReachedError
  //#   self.seq += 1
  // seq is a uint64_t, so the limit is 2^64 - 1 (far below 2^96 - 1, and unreachable in
  // practice). Checking before use means the last nonce is never even computed twice.
  if (seq_ == std::numeric_limits<uint64_t>::max()) {
    return absl::ResourceExhaustedError("HPKE context message limit reached");
  }
  //= https://www.rfc-editor.org/rfc/rfc9180#section-5.2
  //# def Context<ROLE>.ComputeNonce(seq):
  //#   seq_bytes = I2OSP(seq, Nn)
  //#   return xor(self.base_nonce, seq_bytes)
  Bytes nonce = base_nonce_;
  uint64_t seq = seq_;
  for (size_t i = nonce.size(); i-- > 0 && seq != 0;) {
    nonce[i] ^= static_cast<uint8_t>(seq);
    seq >>= 8;
  }
  return nonce;
}

absl::StatusOr<SecretBytes> HpkeContext::Export(ByteSpan exporter_context, size_t length) const {
  //= https://www.rfc-editor.org/rfc/rfc9180#section-5.3
  //# def Context.Export(exporter_context, L):
  //#   return LabeledExpand(self.exporter_secret, "sec",
  //#                        exporter_context, L)
  const HashAlg hash = HpkeKdfHash(suite_.kdf);
  if (length > HkdfMaxOutputLen(hash)) {
    return absl::InvalidArgumentError("HPKE export length exceeds 255 * Nh");
  }
  return LabeledExpand(hash, HpkeSuiteId(suite_), exporter_secret_.ExposeSecret(), "sec",
                       exporter_context, length);
}

absl::StatusOr<Bytes> HpkeSenderContext::Seal(ByteSpan aad, ByteSpan plaintext) {
  //= https://www.rfc-editor.org/rfc/rfc9180#section-5.2
  //# def ContextS.Seal(aad, pt):
  //#   ct = Seal(self.key, self.ComputeNonce(self.seq), aad, pt)
  //#   self.IncrementSeq()
  //#   return ct
  ASSIGN_OR_RETURN(Bytes nonce, NextNonce());
  ASSIGN_OR_RETURN(AeadAlg alg, HpkeAeadAlg(suite_.aead));
  ASSIGN_OR_RETURN(Bytes ct, AeadSeal(alg, key_.ExposeSecret(), nonce, aad, plaintext));
  ++seq_;
  return ct;
}

absl::StatusOr<Bytes> HpkeRecipientContext::Open(ByteSpan aad, ByteSpan ciphertext) {
  //= https://www.rfc-editor.org/rfc/rfc9180#section-5.2
  //# def ContextR.Open(aad, ct):
  //#   pt = Open(self.key, self.ComputeNonce(self.seq), aad, ct)
  //#   if pt == OpenError:
  //#     raise OpenError
  //#   self.IncrementSeq()
  //#   return pt
  ASSIGN_OR_RETURN(Bytes nonce, NextNonce());
  ASSIGN_OR_RETURN(AeadAlg alg, HpkeAeadAlg(suite_.aead));
  ASSIGN_OR_RETURN(Bytes pt, AeadOpen(alg, key_.ExposeSecret(), nonce, aad, ciphertext));
  ++seq_;
  return pt;
}

// ---------------------------------------------------------------------------------------------
// Single-shot APIs.

//= https://www.rfc-editor.org/rfc/rfc9180#section-6.1
//# def Seal<MODE>(pkR, info, aad, pt, ...):
//#   enc, ctx = Setup<MODE>S(pkR, info, ...)
//#   ct = ctx.Seal(aad, pt)
//#   return enc, ct
absl::StatusOr<HpkeSealed> HpkeSeal(const HpkeSuite& suite, ByteSpan recipient_public_key,
                                    const HpkeSetupParams& params, ByteSpan aad,
                                    ByteSpan plaintext) {
  ASSIGN_OR_RETURN(HpkeSenderContext ctx, HpkeSetupSender(suite, recipient_public_key, params));
  ASSIGN_OR_RETURN(Bytes ct, ctx.Seal(aad, plaintext));
  return HpkeSealed{ctx.enc(), std::move(ct)};
}

//= https://www.rfc-editor.org/rfc/rfc9180#section-6.1
//# def Open<MODE>(enc, skR, info, aad, ct, ...):
//#   ctx = Setup<MODE>R(enc, skR, info, ...)
//#   return ctx.Open(aad, ct)
absl::StatusOr<Bytes> HpkeOpen(const HpkeSuite& suite, ByteSpan enc,
                               const SecretBytes& recipient_private_key,
                               const HpkeSetupParams& params, ByteSpan aad, ByteSpan ciphertext) {
  ASSIGN_OR_RETURN(HpkeRecipientContext ctx,
                   HpkeSetupRecipient(suite, enc, recipient_private_key, params));
  return ctx.Open(aad, ciphertext);
}

}  // namespace confide::crypto
