#include "crypto/cms.h"

#include <openssl/evp.h>

#include <climits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "crypto/internal/ber.h"
#include "crypto/internal/openssl_util.h"
#include "crypto/random.h"

namespace confide::crypto {
namespace {

using internal::BerElement;
using internal::BerReader;
using internal::DerTlv;
using internal::kBerConstructed;
using internal::kBerContext;
using internal::kBerInteger;
using internal::kBerNull;
using internal::kBerOctetString;
using internal::kBerOid;
using internal::kBerSequence;
using internal::kBerSet;

constexpr uint8_t kContext0Primitive = kBerContext | 0;
constexpr uint8_t kContext0 = kBerContext | kBerConstructed | 0;
constexpr uint8_t kContext1 = kBerContext | kBerConstructed | 1;
constexpr uint8_t kContext2 = kBerContext | kBerConstructed | 2;
constexpr size_t kAes256KeyLen = 32;
constexpr size_t kAesBlockLen = 16;
constexpr char kDecryptFailed[] = "CMS decryption failed";

absl::Status Unsupported(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("unsupported CMS message: ", std::string(what)));
}

absl::StatusOr<std::string> ReadOid(BerReader& r, std::string_view what) {
  BerElement e;
  RETURN_IF_ERROR(r.Expect(kBerOid, &e, what));
  auto oid = internal::OidToString(e.contents);
  if (!oid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("malformed ", std::string(what)));
  }
  return *std::move(oid);
}

bool IsOctetStringTag(uint8_t tag) {
  return tag == kBerOctetString || tag == (kBerOctetString | kBerConstructed);
}

// ReadOctetStringField reads an OCTET STRING (primitive or constructed) with `max_len`.
absl::StatusOr<Bytes> ReadOctetStringField(BerReader& r, size_t max_len, std::string_view what) {
  uint8_t tag = 0;
  if (!r.PeekTag(&tag) || !IsOctetStringTag(tag)) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed ", std::string(what), ": expected an OCTET STRING"));
  }
  BerElement e;
  RETURN_IF_ERROR(r.Next(&e, what));
  return internal::ReadOctetString(e, max_len, what);
}

// ReadHashAlgorithm reads a hash AlgorithmIdentifier from the contents of `r`.
//= https://www.rfc-editor.org/rfc/rfc4055#section-2.1
//# ... implementations MUST accept both NULL and absent parameters as legal and equivalent
//# encodings.
absl::StatusOr<std::string> ReadHashAlgorithm(BerReader& r, std::string_view what) {
  BerElement seq;
  RETURN_IF_ERROR(r.Expect(kBerSequence, &seq, what));
  BerReader in = BerReader::Enter(seq);
  ASSIGN_OR_RETURN(std::string oid, ReadOid(in, what));
  if (!in.empty()) {
    BerElement null;
    RETURN_IF_ERROR(in.Expect(kBerNull, &null, what));
    if (!null.contents.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("malformed ", std::string(what)));
    }
  }
  RETURN_IF_ERROR(in.ExpectEnd(what));
  return oid;
}

// ParseOaepParams reads RSAES-OAEP-params into `out`, filling in defaults.
//= https://www.rfc-editor.org/rfc/rfc4055#section-4.1
//# RSAES-OAEP-params  ::=  SEQUENCE  {
//#    hashFunc          [0] AlgorithmIdentifier DEFAULT sha1Identifier,
//#    maskGenFunc       [1] AlgorithmIdentifier DEFAULT mgf1SHA1Identifier,
//#    pSourceFunc       [2] AlgorithmIdentifier DEFAULT
//#                          pSpecifiedEmptyIdentifier  }
absl::Status ParseOaepParams(const BerElement& params, EnvelopedDataParts& out) {
  out.oaep_hash_oid = kOidSha1;
  out.oaep_mgf_oid = kOidMgf1;
  out.oaep_mgf_hash_oid = kOidSha1;
  out.oaep_label.clear();
  BerReader r = BerReader::Enter(params);
  uint8_t tag = 0;
  if (r.PeekTag(&tag) && tag == kContext0) {
    BerElement e;
    RETURN_IF_ERROR(r.Next(&e, "RSAES-OAEP hashFunc"));
    BerReader in = BerReader::Enter(e);
    ASSIGN_OR_RETURN(out.oaep_hash_oid, ReadHashAlgorithm(in, "RSAES-OAEP hashFunc"));
    RETURN_IF_ERROR(in.ExpectEnd("RSAES-OAEP hashFunc"));
  }
  if (r.PeekTag(&tag) && tag == kContext1) {
    BerElement e;
    RETURN_IF_ERROR(r.Next(&e, "RSAES-OAEP maskGenFunc"));
    BerReader in = BerReader::Enter(e);
    BerElement alg;
    RETURN_IF_ERROR(in.Expect(kBerSequence, &alg, "RSAES-OAEP maskGenFunc"));
    RETURN_IF_ERROR(in.ExpectEnd("RSAES-OAEP maskGenFunc"));
    BerReader a = BerReader::Enter(alg);
    ASSIGN_OR_RETURN(out.oaep_mgf_oid, ReadOid(a, "RSAES-OAEP maskGenFunc"));
    if (out.oaep_mgf_oid != kOidMgf1) return Unsupported("mask generation function is not MGF1");
    ASSIGN_OR_RETURN(out.oaep_mgf_hash_oid, ReadHashAlgorithm(a, "RSAES-OAEP MGF1 hash"));
    RETURN_IF_ERROR(a.ExpectEnd("RSAES-OAEP maskGenFunc"));
  }
  if (r.PeekTag(&tag) && tag == kContext2) {
    BerElement e;
    RETURN_IF_ERROR(r.Next(&e, "RSAES-OAEP pSourceFunc"));
    BerReader in = BerReader::Enter(e);
    BerElement alg;
    RETURN_IF_ERROR(in.Expect(kBerSequence, &alg, "RSAES-OAEP pSourceFunc"));
    RETURN_IF_ERROR(in.ExpectEnd("RSAES-OAEP pSourceFunc"));
    BerReader a = BerReader::Enter(alg);
    ASSIGN_OR_RETURN(std::string oid, ReadOid(a, "RSAES-OAEP pSourceFunc"));
    if (oid != kOidPSpecified) return Unsupported("OAEP label source is not pSpecified");
    ASSIGN_OR_RETURN(out.oaep_label,
                     ReadOctetStringField(a, kMaxOaepLabelBytes, "RSAES-OAEP label"));
    RETURN_IF_ERROR(a.ExpectEnd("RSAES-OAEP pSourceFunc"));
  }
  return r.ExpectEnd("RSAES-OAEP-params");
}

//= https://www.rfc-editor.org/rfc/rfc5652#section-6.2.1
//# KeyTransRecipientInfo ::= SEQUENCE {
//#   version CMSVersion,  -- always set to 0 or 2
//#   rid RecipientIdentifier,
//#   keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier,
//#   encryptedKey EncryptedKey }
absl::Status ParseKeyTransRecipientInfo(const BerElement& ktri, EnvelopedDataParts& out) {
  BerReader r = BerReader::Enter(ktri);
  BerElement version;
  RETURN_IF_ERROR(r.Expect(kBerInteger, &version, "KeyTransRecipientInfo version"));
  ASSIGN_OR_RETURN(int v, internal::ReadSmallInteger(version, "KeyTransRecipientInfo version"));
  //# If the RecipientIdentifier is the choice issuerAndSerialNumber, then the version MUST be 0.
  //# If the RecipientIdentifier is subjectKeyIdentifier, then the version MUST be 2.
  uint8_t tag = 0;
  if (r.PeekTag(&tag) && tag == kBerSequence) {
    return Unsupported("issuerAndSerialNumber recipients (only subjectKeyIdentifier)");
  }
  if (v != 2) {
    return absl::InvalidArgumentError("KeyTransRecipientInfo version must be 2");
  }
  if (!r.PeekTag(&tag) || (tag != kContext0Primitive && tag != kContext0)) {
    return absl::InvalidArgumentError("malformed KeyTransRecipientInfo rid");
  }
  BerElement rid;
  RETURN_IF_ERROR(r.Next(&rid, "KeyTransRecipientInfo rid"));
  ASSIGN_OR_RETURN(out.recipient_key_id,
                   internal::ReadOctetString(rid, kMaxRecipientKeyIdBytes, "subjectKeyIdentifier"));
  if (out.recipient_key_id.empty()) {
    return absl::InvalidArgumentError("CMS subjectKeyIdentifier is empty");
  }

  BerElement alg;
  RETURN_IF_ERROR(r.Expect(kBerSequence, &alg, "keyEncryptionAlgorithm"));
  BerReader a = BerReader::Enter(alg);
  ASSIGN_OR_RETURN(out.key_encryption_oid, ReadOid(a, "keyEncryptionAlgorithm"));
  if (out.key_encryption_oid != kOidRsaesOaep) {
    return Unsupported("key encryption algorithm is not RSAES-OAEP");
  }
  //= https://www.rfc-editor.org/rfc/rfc4055#section-4.1
  //# The parameters MUST be present when used in the algorithm identifier associated with an
  //# encrypted value.
  BerElement params;
  RETURN_IF_ERROR(a.Expect(kBerSequence, &params, "RSAES-OAEP-params"));
  RETURN_IF_ERROR(a.ExpectEnd("keyEncryptionAlgorithm"));
  RETURN_IF_ERROR(ParseOaepParams(params, out));

  ASSIGN_OR_RETURN(out.encrypted_key,
                   ReadOctetStringField(r, kMaxEncryptedKeyBytes, "encryptedKey"));
  if (out.encrypted_key.empty()) {
    return absl::InvalidArgumentError("CMS encryptedKey is empty");
  }
  return r.ExpectEnd("KeyTransRecipientInfo");
}

//= https://www.rfc-editor.org/rfc/rfc5652#section-6.1
//# EncryptedContentInfo ::= SEQUENCE {
//#   contentType ContentType,
//#   contentEncryptionAlgorithm ContentEncryptionAlgorithmIdentifier,
//#   encryptedContent [0] IMPLICIT EncryptedContent OPTIONAL }
absl::Status ParseEncryptedContentInfo(const BerElement& eci, EnvelopedDataParts& out) {
  BerReader r = BerReader::Enter(eci);
  ASSIGN_OR_RETURN(out.content_type_oid, ReadOid(r, "EncryptedContentInfo contentType"));
  BerElement alg;
  RETURN_IF_ERROR(r.Expect(kBerSequence, &alg, "contentEncryptionAlgorithm"));
  BerReader a = BerReader::Enter(alg);
  ASSIGN_OR_RETURN(out.content_encryption_oid, ReadOid(a, "contentEncryptionAlgorithm"));
  ASSIGN_OR_RETURN(out.iv, ReadOctetStringField(a, kMaxContentIvBytes,
                                                "contentEncryptionAlgorithm parameters (IV)"));
  RETURN_IF_ERROR(a.ExpectEnd("contentEncryptionAlgorithm"));
  uint8_t tag = 0;
  if (!r.PeekTag(&tag)) {
    return Unsupported("encryptedContent is absent (detached content)");
  }
  if (tag != kContext0Primitive && tag != kContext0) {
    return absl::InvalidArgumentError("malformed encryptedContent: unexpected tag");
  }
  BerElement content;
  RETURN_IF_ERROR(r.Next(&content, "encryptedContent"));
  ASSIGN_OR_RETURN(out.ciphertext, internal::ReadOctetString(content, kMaxEnvelopedContentBytes,
                                                             "encryptedContent"));
  return r.ExpectEnd("EncryptedContentInfo");
}

// ---------------------------------------------------------------- encoding helpers

absl::StatusOr<Bytes> DerOid(const std::string& dotted) {
  ASSIGN_OR_RETURN(Bytes contents, internal::OidFromString(dotted));
  return DerTlv(kBerOid, contents);
}

absl::StatusOr<Bytes> DerHashAlgorithm(const std::string& oid) {
  ASSIGN_OR_RETURN(Bytes der_oid, DerOid(oid));
  const uint8_t kNull[] = {kBerNull, 0x00};
  return DerTlv(kBerSequence, Concat({der_oid, kNull}));
}

// AesCbc runs AES-256-CBC with PKCS#7 padding over `in` into `out` (sized in.size() + 16).
// Returns the output length, or nullopt on failure (never says why: a padding oracle).
std::optional<size_t> AesCbc(bool encrypt, ByteSpan key, ByteSpan iv, ByteSpan in,
                             std::span<uint8_t> out) {
  internal::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || key.size() != kAes256KeyLen || iv.size() != kAesBlockLen ||
      in.size() > static_cast<size_t>(INT_MAX) - kAesBlockLen ||
      out.size() < in.size() + kAesBlockLen ||
      EVP_CipherInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, key.data(), iv.data(),
                        encrypt ? 1 : 0) != 1) {
    internal::ClearErrors();
    return std::nullopt;
  }
  int n1 = 0;
  int n2 = 0;
  static const uint8_t kNothing[1] = {0};
  if (EVP_CipherUpdate(ctx.get(), out.data(), &n1, in.empty() ? kNothing : in.data(),
                       static_cast<int>(in.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), out.data() + n1, &n2) != 1) {
    internal::ClearErrors();
    return std::nullopt;
  }
  return static_cast<size_t>(n1) + static_cast<size_t>(n2);
}

}  // namespace

absl::StatusOr<EnvelopedDataParts> ParseEnvelopedData(ByteSpan ber) {
  if (ber.empty() || ber.size() > kMaxEnvelopedDataBytes) {
    return absl::InvalidArgumentError("CMS message is empty or too large");
  }
  EnvelopedDataParts out;
  BerReader top(ber);
  //= https://www.rfc-editor.org/rfc/rfc5652#section-3
  //# ContentInfo ::= SEQUENCE {
  //#   contentType ContentType,
  //#   content [0] EXPLICIT ANY DEFINED BY contentType }
  BerElement ci;
  RETURN_IF_ERROR(top.Expect(kBerSequence, &ci, "CMS ContentInfo"));
  RETURN_IF_ERROR(top.ExpectEnd("CMS ContentInfo"));
  BerReader cir = BerReader::Enter(ci);
  ASSIGN_OR_RETURN(std::string content_type, ReadOid(cir, "CMS contentType"));
  if (content_type != kOidEnvelopedData) return Unsupported("content type is not EnvelopedData");
  BerElement explicit0;
  RETURN_IF_ERROR(cir.Expect(kContext0, &explicit0, "CMS content"));
  RETURN_IF_ERROR(cir.ExpectEnd("CMS ContentInfo"));
  BerReader x = BerReader::Enter(explicit0);
  BerElement ed;
  RETURN_IF_ERROR(x.Expect(kBerSequence, &ed, "EnvelopedData"));
  RETURN_IF_ERROR(x.ExpectEnd("CMS content"));

  //= https://www.rfc-editor.org/rfc/rfc5652#section-6.1
  //# EnvelopedData ::= SEQUENCE {
  //#   version CMSVersion,
  //#   originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL,
  //#   recipientInfos RecipientInfos,
  //#   encryptedContentInfo EncryptedContentInfo,
  //#   unprotectedAttrs [1] IMPLICIT UnprotectedAttributes OPTIONAL }
  BerReader r = BerReader::Enter(ed);
  BerElement version;
  RETURN_IF_ERROR(r.Expect(kBerInteger, &version, "EnvelopedData version"));
  ASSIGN_OR_RETURN(int v, internal::ReadSmallInteger(version, "EnvelopedData version"));
  uint8_t tag = 0;
  if (r.PeekTag(&tag) && tag == kContext0) return Unsupported("originatorInfo");
  //# IF (originatorInfo is present) AND ... ELSE IF (originatorInfo is absent) AND
  //# (unprotectedAttrs is absent) AND (all RecipientInfo structures are version 0) THEN
  //# version is 0 ELSE version is 2
  // With one version-2 KeyTransRecipientInfo and neither optional field, only 2 is valid.
  if (v != 2) return absl::InvalidArgumentError("EnvelopedData version must be 2");
  BerElement ris;
  RETURN_IF_ERROR(r.Expect(kBerSet, &ris, "RecipientInfos"));
  BerReader rir = BerReader::Enter(ris);
  if (!rir.PeekTag(&tag) || tag != kBerSequence) {
    return Unsupported("recipient is not a KeyTransRecipientInfo");
  }
  BerElement ktri;
  RETURN_IF_ERROR(rir.Next(&ktri, "KeyTransRecipientInfo"));
  if (!rir.empty()) return Unsupported("more than one recipient");
  RETURN_IF_ERROR(ParseKeyTransRecipientInfo(ktri, out));

  BerElement eci;
  RETURN_IF_ERROR(r.Expect(kBerSequence, &eci, "EncryptedContentInfo"));
  RETURN_IF_ERROR(ParseEncryptedContentInfo(eci, out));
  if (r.PeekTag(&tag) && tag == kContext1) return Unsupported("unprotectedAttrs");
  RETURN_IF_ERROR(r.ExpectEnd("EnvelopedData"));
  return out;
}

absl::StatusOr<Bytes> EncodeEnvelopedData(const EnvelopedDataParts& p) {
  if (p.recipient_key_id.empty() || p.recipient_key_id.size() > kMaxRecipientKeyIdBytes ||
      p.encrypted_key.empty() || p.encrypted_key.size() > kMaxEncryptedKeyBytes ||
      p.iv.size() > kMaxContentIvBytes || p.ciphertext.size() > kMaxEnvelopedContentBytes ||
      p.oaep_label.size() > kMaxOaepLabelBytes) {
    return absl::InvalidArgumentError("CMS field is empty or over its size bound");
  }
  if (p.key_encryption_oid != kOidRsaesOaep || p.oaep_mgf_oid != kOidMgf1) {
    return absl::InvalidArgumentError("CMS key encryption must be RSAES-OAEP with MGF1");
  }
  const uint8_t kVersion2[] = {kBerInteger, 0x01, 0x02};
  ASSIGN_OR_RETURN(Bytes hash, DerHashAlgorithm(p.oaep_hash_oid));
  ASSIGN_OR_RETURN(Bytes mgf_hash, DerHashAlgorithm(p.oaep_mgf_hash_oid));
  ASSIGN_OR_RETURN(Bytes mgf_oid, DerOid(kOidMgf1));
  Bytes oaep_params =
      Concat({DerTlv(kContext0, hash),
              DerTlv(kContext1, DerTlv(kBerSequence, Concat({mgf_oid, mgf_hash})))});
  if (!p.oaep_label.empty()) {
    ASSIGN_OR_RETURN(Bytes psource_oid, DerOid(kOidPSpecified));
    Append(oaep_params,
           DerTlv(kContext2, DerTlv(kBerSequence,
                                    Concat({psource_oid, DerTlv(kBerOctetString, p.oaep_label)}))));
  }
  ASSIGN_OR_RETURN(Bytes oaep_oid, DerOid(kOidRsaesOaep));
  const Bytes key_alg = DerTlv(kBerSequence, Concat({oaep_oid, DerTlv(kBerSequence, oaep_params)}));
  const Bytes ktri =
      DerTlv(kBerSequence, Concat({kVersion2, DerTlv(kContext0Primitive, p.recipient_key_id),
                                   key_alg, DerTlv(kBerOctetString, p.encrypted_key)}));

  ASSIGN_OR_RETURN(Bytes content_type, DerOid(p.content_type_oid));
  ASSIGN_OR_RETURN(Bytes cea_oid, DerOid(p.content_encryption_oid));
  const Bytes eci = DerTlv(
      kBerSequence,
      Concat({content_type, DerTlv(kBerSequence, Concat({cea_oid, DerTlv(kBerOctetString, p.iv)})),
              DerTlv(kContext0Primitive, p.ciphertext)}));
  const Bytes ed = DerTlv(kBerSequence, Concat({kVersion2, DerTlv(kBerSet, ktri), eci}));
  ASSIGN_OR_RETURN(Bytes ed_oid, DerOid(kOidEnvelopedData));
  return DerTlv(kBerSequence, Concat({ed_oid, DerTlv(kContext0, ed)}));
}

absl::StatusOr<Bytes> CreateEnvelopedData(const RsaPublicKey& recipient, ByteSpan recipient_key_id,
                                          ByteSpan plaintext) {
  if (recipient_key_id.empty() || recipient_key_id.size() > kMaxRecipientKeyIdBytes) {
    return absl::InvalidArgumentError("CMS recipient key id is empty or too long");
  }
  if (plaintext.size() > kMaxEnvelopedContentBytes - kAesBlockLen) {
    return absl::InvalidArgumentError("CMS plaintext is too large");
  }
  ASSIGN_OR_RETURN(SecretBytes cek, RandomSecret(kAes256KeyLen));
  EnvelopedDataParts p;
  ASSIGN_OR_RETURN(p.iv, RandomBytes(kAesBlockLen));
  p.ciphertext.resize(plaintext.size() + kAesBlockLen);
  std::optional<size_t> n = AesCbc(true, cek.ExposeSecret(), p.iv, plaintext, p.ciphertext);
  if (!n.has_value()) {
    return absl::InternalError("AES-256-CBC encryption failed");
  }
  p.ciphertext.resize(*n);
  ASSIGN_OR_RETURN(p.encrypted_key, recipient.OaepEncrypt(cek.ExposeSecret()));
  p.recipient_key_id.assign(recipient_key_id.begin(), recipient_key_id.end());
  p.key_encryption_oid = kOidRsaesOaep;
  p.oaep_hash_oid = kOidSha256;
  p.oaep_mgf_oid = kOidMgf1;
  p.oaep_mgf_hash_oid = kOidSha256;
  p.content_type_oid = kOidData;
  p.content_encryption_oid = kOidAes256Cbc;
  return EncodeEnvelopedData(p);
}

absl::StatusOr<Bytes> CreateEnvelopedDataForSpki(ByteSpan recipient_spki_der,
                                                 ByteSpan recipient_key_id, ByteSpan plaintext) {
  ASSIGN_OR_RETURN(RsaPublicKey key, RsaPublicKey::FromSpkiDer(recipient_spki_der));
  return CreateEnvelopedData(key, recipient_key_id, plaintext);
}

absl::StatusOr<SecretBytes> OpenEnvelopedData(ByteSpan ber, const RsaPrivateKey& key) {
  ASSIGN_OR_RETURN(EnvelopedDataParts p, ParseEnvelopedData(ber));
  if (p.oaep_hash_oid != kOidSha256 || p.oaep_mgf_oid != kOidMgf1 ||
      p.oaep_mgf_hash_oid != kOidSha256) {
    return Unsupported("key encryption is not RSAES-OAEP with SHA-256 and MGF1-SHA-256");
  }
  if (p.content_type_oid != kOidData) {
    return Unsupported("encrypted content type is not id-data");
  }
  if (p.content_encryption_oid != kOidAes256Cbc) {
    return Unsupported("content encryption is not AES-256-CBC");
  }
  if (p.iv.size() != kAesBlockLen) {
    return absl::InvalidArgumentError("CMS AES-256-CBC IV is not 16 bytes");
  }
  if (p.ciphertext.empty() || p.ciphertext.size() % kAesBlockLen != 0) {
    return absl::InvalidArgumentError(
        "CMS ciphertext length is not a positive multiple of the AES block size");
  }
  // From here on, every failure is the same error: no unwrap or padding oracle.
  auto cek = key.OaepDecrypt(p.encrypted_key, p.oaep_label);
  if (!cek.ok() || cek->size() != kAes256KeyLen) {
    return absl::InvalidArgumentError(kDecryptFailed);
  }
  SecretBytes buf(p.ciphertext.size() + kAesBlockLen);
  std::optional<size_t> n =
      AesCbc(false, cek->ExposeSecret(), p.iv, p.ciphertext, buf.MutableSecret());
  if (!n.has_value()) {
    return absl::InvalidArgumentError(kDecryptFailed);
  }
  return SecretBytes::CopyFrom(buf.ExposeSecret().first(*n));
}

}  // namespace confide::crypto
