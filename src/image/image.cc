#include "image/image.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/ct.h"
#include "base/cursor.h"
#include "crypto/ecdsa.h"
#include "crypto/sha.h"
#include "crypto/x509.h"

namespace confide::image {
namespace {

constexpr uint8_t kMagic[8] = {'C', 'O', 'N', 'F', 'E', 'I', 'F', 0};
constexpr size_t kMaxSignatureLen = 256;

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

absl::Status Malformed(std::string_view what, size_t offset) {
  return absl::InvalidArgumentError(
      absl::StrCat("image: ", std::string(what), " at byte ", offset));
}

bool IsPathChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '+';
}

void AppendSection(SectionType type, ByteSpan data, Bytes& out) {
  std::string_view name = SectionName(type);
  PutU16(out, static_cast<uint16_t>(type));
  PutU16(out, static_cast<uint16_t>(name.size()));
  Append(out, AsBytes(name));
  PutU64(out, data.size());
  Append(out, crypto::Sha384(data));
  Append(out, data);
}

absl::StatusOr<std::vector<FileEntry>> ParseArchive(ByteSpan data, size_t base_offset) {
  base::ByteCursor c(data);
  uint32_t count = 0;
  if (!c.ReadU32BE(&count)) return Malformed("truncated archive entry count", base_offset);
  if (count > kMaxEntries) return Malformed("too many archive entries", base_offset);
  // Every entry needs at least 10 bytes; refuse counts the data cannot hold before reserving.
  if (count > c.remaining() / 10) return Malformed("archive entry count beyond data", base_offset);
  std::vector<FileEntry> entries;
  entries.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    size_t at = base_offset + c.offset();
    uint16_t path_len = 0;
    ByteSpan path;
    uint64_t len = 0;
    ByteSpan content;
    if (!c.ReadU16BE(&path_len) || !c.ReadBytes(path_len, &path)) {
      return Malformed("truncated entry path", at);
    }
    if (!c.ReadU64BE(&len)) return Malformed("truncated entry length", at);
    if (len > c.remaining()) return Malformed("entry length beyond section", at);
    if (!c.ReadBytes(static_cast<size_t>(len), &content)) {
      return Malformed("truncated entry data", at);
    }
    FileEntry e{std::string(AsStringView(path)), Bytes(content.begin(), content.end())};
    if (!ValidateEntryPath(e.path).ok()) return Malformed("invalid entry path", at);
    if (!entries.empty() && !(entries.back().path < e.path)) {
      return Malformed("entries not strictly sorted by path", at);
    }
    entries.push_back(std::move(e));
  }
  if (!c.empty()) return Malformed("trailing bytes in archive", base_offset + c.offset());
  return entries;
}

}  // namespace

const char* SectionName(SectionType type) {
  switch (type) {
    case SectionType::kRuntime:
      return "runtime";
    case SectionType::kApplication:
      return "application";
    case SectionType::kSignature:
      return "signature";
  }
  return "unknown";
}

attest::PcrMap Measurements::AsPcrMap() const {
  attest::PcrMap m{{0, pcr0}, {1, pcr1}, {2, pcr2}};
  if (pcr8) m[8] = *pcr8;
  return m;
}

absl::Status ValidateEntryPath(const std::string& path) {
  if (path.empty() || path.size() > kMaxPathLen) {
    return absl::InvalidArgumentError("image entry path must be 1..255 bytes");
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string_view comp(path.data() + start, slash - start);
    if (comp.empty() || comp == "." || comp == "..") {
      return absl::InvalidArgumentError("image entry path has an empty, '.' or '..' component");
    }
    for (char ch : comp) {
      if (!IsPathChar(ch)) {
        return absl::InvalidArgumentError(
            "image entry path may hold only [A-Za-z0-9._+-] and '/' separators");
      }
    }
    start = slash + 1;
  }
  return absl::OkStatus();
}

absl::StatusOr<Bytes> EncodeArchive(std::vector<FileEntry> entries) {
  if (entries.size() > kMaxEntries) {
    return absl::InvalidArgumentError("too many files in one image section (max 4096)");
  }
  std::sort(entries.begin(), entries.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  Bytes out;
  PutU32(out, static_cast<uint32_t>(entries.size()));
  for (size_t i = 0; i < entries.size(); ++i) {
    RETURN_IF_ERROR(ValidateEntryPath(entries[i].path));
    if (i > 0 && entries[i - 1].path == entries[i].path) {
      return absl::InvalidArgumentError(
          absl::StrCat("two files would have the same image path: ", entries[i].path));
    }
    PutU16(out, static_cast<uint16_t>(entries[i].path.size()));
    Append(out, AsBytes(entries[i].path));
    PutU64(out, entries[i].data.size());
    Append(out, entries[i].data);
  }
  return out;
}

Bytes EncodeUnsignedImage(ByteSpan runtime_data, ByteSpan application_data, uint16_t num_sections) {
  Bytes out(kMagic, kMagic + sizeof(kMagic));
  PutU16(out, kImageVersion);
  PutU16(out, 0);
  PutU16(out, num_sections);
  PutU16(out, 0);
  AppendSection(SectionType::kRuntime, runtime_data, out);
  AppendSection(SectionType::kApplication, application_data, out);
  return out;
}

void AppendSignatureSection(const ImageSignature& sig, Bytes& image) {
  Bytes data;
  PutU32(data, static_cast<uint32_t>(sig.certificate_der.size()));
  Append(data, sig.certificate_der);
  PutU16(data, static_cast<uint16_t>(sig.signature_der.size()));
  Append(data, sig.signature_der);
  AppendSection(SectionType::kSignature, data, image);
}

Measurements ComputeMeasurements(ByteSpan runtime_data, ByteSpan application_data,
                                 const std::optional<Bytes>& certificate_der) {
  Measurements m;
  m.pcr0 = attest::MeasureBytes(Concat({runtime_data, application_data}));
  m.pcr1 = attest::MeasureBytes(runtime_data);
  m.pcr2 = attest::MeasureBytes(application_data);
  if (certificate_der) m.pcr8 = attest::MeasureBytes(*certificate_der);
  return m;
}

absl::StatusOr<ParsedImage> ParseImage(ByteSpan data) {
  if (data.size() > kMaxImageBytes) return absl::InvalidArgumentError("image larger than 1 GiB");
  base::ByteCursor c(data);
  ByteSpan magic;
  uint16_t version = 0, reserved1 = 0, count = 0, reserved2 = 0;
  if (!c.ReadBytes(sizeof(kMagic), &magic) || !c.ReadU16BE(&version) || !c.ReadU16BE(&reserved1) ||
      !c.ReadU16BE(&count) || !c.ReadU16BE(&reserved2)) {
    return Malformed("truncated header", 0);
  }
  if (std::memcmp(magic.data(), kMagic, sizeof(kMagic)) != 0) {
    return Malformed("not a confide enclave image (bad magic)", 0);
  }
  if (version != kImageVersion) return Malformed("unsupported image version", 8);
  if (reserved1 != 0 || reserved2 != 0) return Malformed("reserved header field not zero", 10);
  if (count != 2 && count != 3) return Malformed("image must have 2 or 3 sections", 12);

  ParsedImage img;
  img.version = version;
  size_t signed_len = data.size();
  for (uint16_t i = 0; i < count; ++i) {
    size_t at = c.offset();
    SectionType want = static_cast<SectionType>(i + 1);
    uint16_t type = 0, name_len = 0;
    ByteSpan name, digest, content;
    uint64_t len = 0;
    if (!c.ReadU16BE(&type) || !c.ReadU16BE(&name_len) || !c.ReadBytes(name_len, &name) ||
        !c.ReadU64BE(&len) || !c.ReadBytes(crypto::DigestLen(crypto::HashAlg::kSha384), &digest)) {
      return Malformed("truncated section header", at);
    }
    if (type != static_cast<uint16_t>(want)) return Malformed("unexpected section type", at);
    if (AsStringView(name) != SectionName(want)) return Malformed("wrong section name", at);
    if (len > c.remaining()) return Malformed("section length beyond the file", at);
    if (!c.ReadBytes(static_cast<size_t>(len), &content)) {
      return Malformed("truncated section data", at);
    }
    // Not secret, but a constant-time compare costs nothing here.
    if (!ConstantTimeEquals(crypto::Sha384(content), digest)) {
      return Malformed(absl::StrCat(SectionName(want), " section SHA-384 mismatch"), at);
    }
    size_t data_at = at + 4 + name_len + 8 + 48;
    switch (want) {
      case SectionType::kRuntime: {
        ASSIGN_OR_RETURN(img.runtime, ParseArchive(content, data_at));
        img.runtime_data.assign(content.begin(), content.end());
        break;
      }
      case SectionType::kApplication: {
        ASSIGN_OR_RETURN(img.application, ParseArchive(content, data_at));
        img.application_data.assign(content.begin(), content.end());
        break;
      }
      case SectionType::kSignature: {
        signed_len = at;
        base::ByteCursor s(content);
        uint32_t cert_len = 0;
        uint16_t sig_len = 0;
        ByteSpan cert, sig;
        if (!s.ReadU32BE(&cert_len) || cert_len > crypto::Certificate::kMaxDerBytes ||
            !s.ReadBytes(cert_len, &cert)) {
          return Malformed("bad signing certificate length", data_at);
        }
        if (!s.ReadU16BE(&sig_len) || sig_len > kMaxSignatureLen || !s.ReadBytes(sig_len, &sig) ||
            !s.empty()) {
          return Malformed("bad signature length", data_at);
        }
        img.signature =
            ImageSignature{Bytes(cert.begin(), cert.end()), Bytes(sig.begin(), sig.end())};
        break;
      }
    }
  }
  if (!c.empty()) return Malformed("trailing bytes after the last section", c.offset());
  img.image_digest = crypto::Sha384(data.subspan(0, signed_len));
  std::optional<Bytes> cert_der;
  if (img.signature) {
    auto cert = crypto::Certificate::FromDer(img.signature->certificate_der);
    if (!cert.ok()) return absl::InvalidArgumentError("image: signing certificate does not parse");
    auto key = cert->EcdsaKey();
    if (!key.ok() || key->curve() != crypto::Curve::kP384) {
      return absl::InvalidArgumentError("image: signing certificate is not an ECDSA P-384 key");
    }
    if (auto s = key->Verify(img.image_digest, img.signature->signature_der,
                             crypto::SignatureFormat::kDer);
        !s.ok()) {
      return absl::UnauthenticatedError("image: signature does not verify over the image digest");
    }
    cert_der = img.signature->certificate_der;
  }
  img.measurements = ComputeMeasurements(img.runtime_data, img.application_data, cert_der);
  return img;
}

std::vector<std::pair<std::string, std::string>> ParseMetadata(const std::vector<FileEntry>& app) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const FileEntry& e : app) {
    if (e.path != kMetadataPath) continue;
    std::string_view text = AsStringView(e.data);
    while (!text.empty()) {
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
      size_t eq = line.find('=');
      if (eq == std::string_view::npos) continue;
      out.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
    }
  }
  return out;
}

}  // namespace confide::image
