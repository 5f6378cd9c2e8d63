#include "kms/envelope.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/cursor.h"
#include "base/file.h"
#include "crypto/random.h"
#include "crypto/sha.h"

namespace confide::kms {
namespace {

constexpr size_t kDataKeyLen = 32;

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("envelope header: ", std::string(what)));
}

void PutU16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void PutU32(Bytes& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}
void PutU64(Bytes& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

// ParseCanonicalContext reads CanonicalEncryptionContext's encoding, requiring the canonical
// form (non-empty keys in strictly increasing byte order) so that it re-encodes to itself.
absl::StatusOr<EncryptionContext> ParseCanonicalContext(ByteSpan data) {
  base::ByteCursor c(data);
  uint16_t count = 0;
  if (!c.ReadU16BE(&count)) return Malformed("truncated context");
  EncryptionContext out;
  std::string previous;
  for (uint16_t i = 0; i < count; ++i) {
    uint16_t key_len = 0;
    uint16_t value_len = 0;
    ByteSpan key;
    ByteSpan value;
    if (!c.ReadU16BE(&key_len) || !c.ReadBytes(key_len, &key) || !c.ReadU16BE(&value_len) ||
        !c.ReadBytes(value_len, &value)) {
      return Malformed("truncated context");
    }
    std::string k(AsStringView(key));
    if (k.empty()) return Malformed("empty context key");
    if (i > 0 && !(previous < k)) return Malformed("context keys not in canonical order");
    previous = k;
    out.emplace(std::move(k), std::string(AsStringView(value)));
  }
  if (!c.empty()) return Malformed("trailing bytes after the context");
  return out;
}

Bytes HeaderHash(const EnvelopeHeader& header) { return crypto::Sha256(header.encoded); }

// ReadFull reads up to out.size() bytes, stopping early only at end of file.
absl::StatusOr<size_t> ReadFull(int fd, std::span<uint8_t> out, const std::string& path) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError(absl::StrCat("read from ", path, " failed"));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

// Fd closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// OpenRegular opens `path` for reading and returns it with its size. NotFound when it cannot be
// opened; InvalidArgument when it is not a regular file.
absl::StatusOr<std::pair<std::unique_ptr<Fd>, uint64_t>> OpenRegular(const std::string& path) {
  auto fd = std::make_unique<Fd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd->get() < 0) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  struct stat st;
  if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  return std::make_pair(std::move(fd), static_cast<uint64_t>(st.st_size));
}

}  // namespace

absl::StatusOr<Bytes> EncodeEnvelopeHeader(const EnvelopeHeader& h) {
  RETURN_IF_ERROR(crypto::ValidateStreamLayout(h.layout()));
  if (h.salt.size() != crypto::kStreamSaltLen) return Malformed("salt must be 16 bytes");
  if (h.nonce_prefix.size() != crypto::kStreamNoncePrefixLen) {
    return Malformed("nonce prefix must be 7 bytes");
  }
  if (h.kms_ciphertext_blob.empty() || h.kms_ciphertext_blob.size() > kMaxEnvelopeBlobLen) {
    return Malformed("KMS ciphertext blob must be 1..2048 bytes");
  }
  for (const auto& [k, v] : h.context) {
    if (k.empty()) return Malformed("empty context key");
  }
  ASSIGN_OR_RETURN(Bytes context, CanonicalEncryptionContext(h.context));
  Bytes out;
  out.reserve(kEnvelopeFixedLen + 4 + h.kms_ciphertext_blob.size() + context.size());
  out.insert(out.end(), kEnvelopeMagic, kEnvelopeMagic + 4);
  out.push_back(kEnvelopeVersion);
  PutU32(out, 0);  // header_len, patched below
  out.push_back(kEnvelopeSuiteAes256GcmStream);
  PutU32(out, h.segment_len);
  PutU64(out, h.plaintext_len);
  Append(out, h.salt);
  Append(out, h.nonce_prefix);
  PutU16(out, static_cast<uint16_t>(h.kms_ciphertext_blob.size()));
  Append(out, h.kms_ciphertext_blob);
  PutU16(out, static_cast<uint16_t>(context.size()));
  Append(out, context);
  if (out.size() > kMaxEnvelopeHeaderLen) return Malformed("header is too long");
  const uint32_t len = static_cast<uint32_t>(out.size());
  for (int i = 0; i < 4; ++i) out[5 + i] = static_cast<uint8_t>(len >> (24 - 8 * i));
  return out;
}

absl::StatusOr<EnvelopeHeader> NewEnvelopeHeader(Bytes kms_ciphertext_blob,
                                                 EncryptionContext context, uint64_t plaintext_len,
                                                 uint32_t segment_len) {
  EnvelopeHeader h;
  h.segment_len = segment_len;
  h.plaintext_len = plaintext_len;
  ASSIGN_OR_RETURN(h.salt, crypto::RandomBytes(crypto::kStreamSaltLen));
  ASSIGN_OR_RETURN(h.nonce_prefix, crypto::RandomBytes(crypto::kStreamNoncePrefixLen));
  h.kms_ciphertext_blob = std::move(kms_ciphertext_blob);
  h.context = std::move(context);
  ASSIGN_OR_RETURN(h.encoded, EncodeEnvelopeHeader(h));
  return h;
}

absl::StatusOr<size_t> EnvelopeHeaderLength(ByteSpan prefix) {
  if (prefix.size() < kEnvelopePrefixLen) return Malformed("truncated");
  if (std::memcmp(prefix.data(), kEnvelopeMagic, 4) != 0) {
    return Malformed("not a confide envelope (magic is not CFE1)");
  }
  if (prefix[4] != kEnvelopeVersion) return Malformed("unsupported version");
  const uint32_t len = (uint32_t{prefix[5]} << 24) | (uint32_t{prefix[6]} << 16) |
                       (uint32_t{prefix[7]} << 8) | uint32_t{prefix[8]};
  if (len < kEnvelopeMinHeaderLen || len > kMaxEnvelopeHeaderLen) {
    return Malformed("header length out of range");
  }
  return static_cast<size_t>(len);
}

absl::StatusOr<EnvelopeHeader> ParseEnvelopeHeader(ByteSpan data) {
  ASSIGN_OR_RETURN(size_t header_len, EnvelopeHeaderLength(data));
  if (data.size() < header_len) return Malformed("truncated");
  base::ByteCursor c(data.first(header_len));
  if (!c.Skip(kEnvelopePrefixLen)) return Malformed("truncated");
  EnvelopeHeader h;
  uint8_t suite = 0;
  ByteSpan salt;
  ByteSpan prefix;
  if (!c.ReadU8(&suite) || !c.ReadU32BE(&h.segment_len) || !c.ReadU64BE(&h.plaintext_len) ||
      !c.ReadBytes(crypto::kStreamSaltLen, &salt) ||
      !c.ReadBytes(crypto::kStreamNoncePrefixLen, &prefix)) {
    return Malformed("truncated");
  }
  if (suite != kEnvelopeSuiteAes256GcmStream) return Malformed("unsupported suite");
  if (absl::Status s = crypto::ValidateStreamLayout(h.layout()); !s.ok()) {
    return Malformed(std::string(s.message()));
  }
  h.salt.assign(salt.begin(), salt.end());
  h.nonce_prefix.assign(prefix.begin(), prefix.end());
  uint16_t blob_len = 0;
  ByteSpan blob;
  if (!c.ReadU16BE(&blob_len) || !c.ReadBytes(blob_len, &blob)) {
    return Malformed("KMS ciphertext blob overruns the header");
  }
  if (blob_len == 0 || blob_len > kMaxEnvelopeBlobLen) {
    return Malformed("KMS ciphertext blob must be 1..2048 bytes");
  }
  h.kms_ciphertext_blob.assign(blob.begin(), blob.end());
  uint16_t context_len = 0;
  ByteSpan context;
  if (!c.ReadU16BE(&context_len) || !c.ReadBytes(context_len, &context)) {
    return Malformed("context overruns the header");
  }
  if (!c.empty()) return Malformed("header_len does not match its fields");
  ASSIGN_OR_RETURN(h.context, ParseCanonicalContext(context));
  h.encoded.assign(data.begin(), data.begin() + static_cast<ptrdiff_t>(header_len));
  return h;
}

absl::Status CheckEnvelopeContext(const EnvelopeHeader& header, const EncryptionContext& required) {
  for (const auto& [k, v] : required) {
    auto it = header.context.find(k);
    if (it == header.context.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("envelope encryption context lacks the required key '", k, "'"));
    }
    if (it->second != v) {
      return absl::FailedPreconditionError(
          absl::StrCat("envelope encryption context has another value for '", k, "'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<crypto::StreamingAead> EnvelopeCipher(const EnvelopeHeader& header,
                                                     const SecretBytes& data_key) {
  if (data_key.size() != kDataKeyLen) {
    return absl::InvalidArgumentError("envelope data key must be 32 bytes");
  }
  if (header.encoded.empty()) {
    return absl::InvalidArgumentError("envelope header is not encoded");
  }
  const Bytes aad = HeaderHash(header);
  return crypto::StreamingAead::Create(data_key.ExposeSecret(), header.salt, header.nonce_prefix,
                                       aad, header.layout());
}

absl::StatusOr<Bytes> SealEnvelope(const EnvelopeHeader& header, const SecretBytes& data_key,
                                   ByteSpan plaintext) {
  if (plaintext.size() != header.plaintext_len) {
    return absl::InvalidArgumentError("plaintext length differs from the envelope header's");
  }
  ASSIGN_OR_RETURN(crypto::StreamingAead aead, EnvelopeCipher(header, data_key));
  Bytes out = header.encoded;
  const size_t header_len = out.size();
  out.resize(header_len + static_cast<size_t>(header.ciphertext_len()));
  RETURN_IF_ERROR(aead.SealAll(plaintext, std::span<uint8_t>(out).subspan(header_len)));
  return out;
}

absl::Status DecryptToMemory(const EnvelopeHeader& header, const SecretBytes& data_key,
                             ByteSpan ciphertext, std::span<uint8_t> out, int threads) {
  auto aead = EnvelopeCipher(header, data_key);
  if (!aead.ok()) {
    SecureZero(out);
    return aead.status();
  }
  return aead->OpenAll(ciphertext, out, threads);
}

EnvelopeDecryptor::EnvelopeDecryptor(crypto::StreamingAead aead)
    : aead_(std::make_unique<crypto::StreamingAead>(std::move(aead))) {}

EnvelopeDecryptor::~EnvelopeDecryptor() = default;

absl::StatusOr<std::unique_ptr<EnvelopeDecryptor>> EnvelopeDecryptor::Create(
    const EnvelopeHeader& header, const SecretBytes& data_key, std::span<uint8_t> out,
    int threads) {
  if (out.size() != header.plaintext_len) {
    return absl::InvalidArgumentError("output buffer differs from the envelope's plaintext length");
  }
  ASSIGN_OR_RETURN(crypto::StreamingAead aead, EnvelopeCipher(header, data_key));
  std::unique_ptr<EnvelopeDecryptor> d(new EnvelopeDecryptor(std::move(aead)));
  d->decryptor_ = std::make_unique<crypto::StreamDecryptor>(d->aead_.get(), out, threads);
  return d;
}

absl::Status EnvelopeDecryptor::Update(ByteSpan data) { return decryptor_->Update(data); }
absl::Status EnvelopeDecryptor::Finish() { return decryptor_->Finish(); }
uint64_t EnvelopeDecryptor::bytes_received() const { return decryptor_->bytes_received(); }

absl::StatusOr<SecretBytes> UnwrapDataKey(const KmsClient& kms, const EnvelopeHeader& header,
                                          const KmsRecipient* recipient) {
  ASSIGN_OR_RETURN(SecretBytes key,
                   kms.Decrypt(header.kms_ciphertext_blob, header.context, recipient));
  if (key.size() != kDataKeyLen) {
    return absl::InvalidArgumentError("the envelope's data key is not 32 bytes");
  }
  return key;
}

absl::StatusOr<Bytes> EncryptToMemory(const KmsClient& kms, std::string_view key_id,
                                      const EncryptionContext& context, ByteSpan plaintext,
                                      const EnvelopeOptions& options) {
  RETURN_IF_ERROR(crypto::ValidateStreamLayout({plaintext.size(), options.segment_len}));
  ASSIGN_OR_RETURN(KmsClient::DataKey dk, kms.GenerateDataKey(key_id, context));
  ASSIGN_OR_RETURN(EnvelopeHeader header, NewEnvelopeHeader(std::move(dk.ciphertext_blob), context,
                                                            plaintext.size(), options.segment_len));
  return SealEnvelope(header, dk.plaintext, plaintext);
}

absl::StatusOr<SecretBytes> DecryptEnvelope(const KmsClient& kms, ByteSpan envelope,
                                            const EncryptionContext& required,
                                            const KmsRecipient* recipient, int threads) {
  ASSIGN_OR_RETURN(EnvelopeHeader header, ParseEnvelopeHeader(envelope));
  if (envelope.size() - header.encoded.size() != header.ciphertext_len()) {
    return absl::InvalidArgumentError("envelope is truncated or extended");
  }
  RETURN_IF_ERROR(CheckEnvelopeContext(header, required));
  ASSIGN_OR_RETURN(SecretBytes key, UnwrapDataKey(kms, header, recipient));
  SecretBytes out(static_cast<size_t>(header.plaintext_len));
  RETURN_IF_ERROR(DecryptToMemory(header, key, envelope.subspan(header.encoded.size()),
                                  out.MutableSecret(), threads));
  return out;
}

absl::StatusOr<EnvelopeFileResult> EncryptFile(const KmsClient& kms, std::string_view key_id,
                                               const EncryptionContext& context,
                                               const std::string& in_path,
                                               const std::string& out_path,
                                               const EnvelopeOptions& options) {
  ASSIGN_OR_RETURN(auto input, OpenRegular(in_path));
  const uint64_t size = input.second;
  const crypto::StreamLayout layout{size, options.segment_len};
  if (absl::Status s = crypto::ValidateStreamLayout(layout); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(in_path, ": ", std::string(s.message())));
  }
  ASSIGN_OR_RETURN(KmsClient::DataKey dk, kms.GenerateDataKey(key_id, context));
  ASSIGN_OR_RETURN(EnvelopeHeader header, NewEnvelopeHeader(std::move(dk.ciphertext_blob), context,
                                                            size, options.segment_len));
  ASSIGN_OR_RETURN(crypto::StreamingAead aead, EnvelopeCipher(header, dk.plaintext));
  ASSIGN_OR_RETURN(auto writer, base::AtomicFileWriter::Create(out_path, 0644));
  RETURN_IF_ERROR(writer->Write(header.encoded));
  SecretBytes plain(options.segment_len);  // wiped on every exit
  Bytes sealed(options.segment_len + crypto::kStreamTagLen);
  crypto::Hasher hasher(crypto::HashAlg::kSha256);
  const uint64_t n = layout.num_segments();
  for (uint64_t i = 0; i < n; ++i) {
    const size_t len = layout.SegmentPlaintextLen(i);
    std::span<uint8_t> pt = plain.MutableSecret().first(len);
    ASSIGN_OR_RETURN(size_t got, ReadFull(input.first->get(), pt, in_path));
    if (got != len) {
      return absl::InvalidArgumentError(absl::StrCat(in_path, " shrank while being encrypted"));
    }
    hasher.Update(pt);
    std::span<uint8_t> ct = std::span<uint8_t>(sealed).first(len + crypto::kStreamTagLen);
    RETURN_IF_ERROR(aead.SealSegment(i, pt, ct));
    RETURN_IF_ERROR(writer->Write(ct));
  }
  uint8_t extra = 0;
  ASSIGN_OR_RETURN(size_t more,
                   ReadFull(input.first->get(), std::span<uint8_t>(&extra, 1), in_path));
  if (more != 0) {
    return absl::InvalidArgumentError(absl::StrCat(in_path, " grew while being encrypted"));
  }
  RETURN_IF_ERROR(writer->Commit());
  EnvelopeFileResult result;
  result.plaintext_len = size;
  result.plaintext_sha256 = hasher.Finish();
  result.context = context;
  return result;
}

absl::StatusOr<EnvelopeFileResult> DecryptFile(const KmsClient& kms, const std::string& in_path,
                                               const std::string& out_path,
                                               const EncryptionContext& required,
                                               const KmsRecipient* recipient) {
  ASSIGN_OR_RETURN(auto input, OpenRegular(in_path));
  const int fd = input.first->get();
  Bytes head(kEnvelopePrefixLen);
  ASSIGN_OR_RETURN(size_t got, ReadFull(fd, head, in_path));
  head.resize(got);
  ASSIGN_OR_RETURN(size_t header_len, EnvelopeHeaderLength(head));
  head.resize(header_len);
  ASSIGN_OR_RETURN(got,
                   ReadFull(fd, std::span<uint8_t>(head).subspan(kEnvelopePrefixLen), in_path));
  if (got != header_len - kEnvelopePrefixLen) return Malformed("truncated");
  ASSIGN_OR_RETURN(EnvelopeHeader header, ParseEnvelopeHeader(head));
  if (input.second != header.file_len()) {
    return absl::InvalidArgumentError(absl::StrCat(in_path, " is truncated or extended"));
  }
  RETURN_IF_ERROR(CheckEnvelopeContext(header, required));
  ASSIGN_OR_RETURN(SecretBytes key, UnwrapDataKey(kms, header, recipient));
  ASSIGN_OR_RETURN(crypto::StreamingAead aead, EnvelopeCipher(header, key));
  ASSIGN_OR_RETURN(auto writer, base::AtomicFileWriter::Create(out_path, 0600));
  const crypto::StreamLayout layout = header.layout();
  SecretBytes plain(layout.segment_len);
  Bytes sealed(layout.segment_len + crypto::kStreamTagLen);
  crypto::Hasher hasher(crypto::HashAlg::kSha256);
  const uint64_t n = layout.num_segments();
  for (uint64_t i = 0; i < n; ++i) {
    const size_t len = layout.SegmentCiphertextLen(i);
    std::span<uint8_t> ct = std::span<uint8_t>(sealed).first(len);
    ASSIGN_OR_RETURN(size_t read, ReadFull(fd, ct, in_path));
    if (read != len) {
      return absl::InvalidArgumentError(absl::StrCat(in_path, " is truncated"));
    }
    std::span<uint8_t> pt = plain.MutableSecret().first(layout.SegmentPlaintextLen(i));
    if (absl::Status s = aead.OpenSegment(i, ct, pt); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(in_path, ": ", std::string(s.message())));
    }
    hasher.Update(pt);
    RETURN_IF_ERROR(writer->Write(pt));
  }
  uint8_t extra = 0;
  ASSIGN_OR_RETURN(size_t more, ReadFull(fd, std::span<uint8_t>(&extra, 1), in_path));
  if (more != 0) return absl::InvalidArgumentError(absl::StrCat(in_path, " is extended"));
  RETURN_IF_ERROR(writer->Commit());
  EnvelopeFileResult result;
  result.plaintext_len = header.plaintext_len;
  result.plaintext_sha256 = hasher.Finish();
  result.context = header.context;
  return result;
}

}  // namespace confide::kms
