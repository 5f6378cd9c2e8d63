#include "image/builder.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/file.h"
#include "crypto/ecdsa.h"
#include "crypto/sha.h"
#include "crypto/x509.h"

namespace confide::image {
namespace {

constexpr size_t kMaxPemBytes = 64 * 1024;

std::string Basename(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Dirname(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::StatusOr<Bytes> ReadInputFile(const std::string& path, size_t cap, const char* what) {
  auto data = base::ReadFileBounded(path, cap);
  if (!data.ok()) {
    if (absl::IsNotFound(data.status())) {
      return absl::NotFoundError(absl::StrCat(what, " not found or unreadable: ", path));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, ": ", std::string(data.status().message())));
  }
  return data;
}

absl::StatusOr<std::vector<FileEntry>> ReadFiles(const std::vector<std::string>& paths,
                                                 const char* what, size_t& total) {
  std::vector<FileEntry> entries;
  for (const std::string& p : paths) {
    std::string name = Basename(p);
    if (!ValidateEntryPath(name).ok() || name == kMetadataPath) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " name is not allowed in an image ([A-Za-z0-9._+-]): ", p));
    }
    ASSIGN_OR_RETURN(Bytes data, ReadInputFile(p, kMaxInputFileBytes, what));
    total += data.size();
    if (total > kMaxImageBytes) return absl::InvalidArgumentError("image would exceed 1 GiB");
    entries.push_back(FileEntry{std::move(name), std::move(data)});
  }
  return entries;
}

}  // namespace

absl::StatusOr<BuiltImage> BuildImage(const Manifest& m) {
  size_t total = 0;
  ASSIGN_OR_RETURN(auto runtime, ReadFiles(m.runtime_files, "runtime file", total));
  ASSIGN_OR_RETURN(auto app, ReadFiles(m.application_files, "application file", total));
  std::string meta = absl::StrCat("name=", m.name, "\n");
  if (m.model_sha256)
    absl::StrAppend(&meta, "model_sha256=", base::HexEncode(*m.model_sha256), "\n");
  app.push_back(FileEntry{kMetadataPath, ToBytes(meta)});

  auto runtime_data = EncodeArchive(std::move(runtime));
  if (!runtime_data.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("runtime files: ", std::string(runtime_data.status().message())));
  }
  auto app_data = EncodeArchive(std::move(app));
  if (!app_data.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("application files: ", std::string(app_data.status().message())));
  }

  BuiltImage out;
  if (!m.signing_key) {
    out.bytes = EncodeUnsignedImage(*runtime_data, *app_data, 2);
    out.measurements = ComputeMeasurements(*runtime_data, *app_data, std::nullopt);
    return out;
  }
  ASSIGN_OR_RETURN(Bytes key_pem, ReadInputFile(*m.signing_key, kMaxPemBytes, "signing key"));
  auto key = crypto::EcdsaPrivateKey::FromPem(AsStringView(key_pem));
  SecureZero(std::span<uint8_t>(key_pem.data(), key_pem.size()));
  if (!key.ok()) return absl::InvalidArgumentError("signing key is not a PEM ECDSA private key");
  if (key->curve() != crypto::Curve::kP384) {
    return absl::InvalidArgumentError("signing key must be ECDSA P-384");
  }
  ASSIGN_OR_RETURN(Bytes cert_pem,
                   ReadInputFile(*m.signing_certificate, kMaxPemBytes, "signing certificate"));
  auto cert = crypto::Certificate::FromPem(AsStringView(cert_pem));
  if (!cert.ok()) return absl::InvalidArgumentError("signing certificate is not a PEM certificate");
  if (cert->SpkiDer() != key->PublicKey().SpkiDer()) {
    return absl::InvalidArgumentError("signing key does not match the signing certificate");
  }
  out.bytes = EncodeUnsignedImage(*runtime_data, *app_data, 3);
  Bytes digest = crypto::Sha384(out.bytes);
  ASSIGN_OR_RETURN(Bytes sig, key->Sign(digest, crypto::SignatureFormat::kDer));
  AppendSignatureSection(ImageSignature{cert->Der(), std::move(sig)}, out.bytes);
  out.measurements = ComputeMeasurements(*runtime_data, *app_data, cert->Der());
  return out;
}

absl::StatusOr<BuiltImage> BuildImageFromManifestFile(const std::string& manifest_path) {
  ASSIGN_OR_RETURN(Bytes text, ReadInputFile(manifest_path, kMaxManifestBytes, "manifest"));
  auto m = ParseManifest(AsStringView(text));
  if (!m.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(manifest_path, ": ", std::string(m.status().message())));
  }
  return BuildImage(ResolveManifestPaths(*std::move(m), Dirname(manifest_path)));
}

absl::StatusOr<BuiltImage> BuildImageFile(const std::string& manifest_path,
                                          const std::string& output_path) {
  ASSIGN_OR_RETURN(BuiltImage img, BuildImageFromManifestFile(manifest_path));
  RETURN_IF_ERROR(base::WriteFileAtomic(output_path, img.bytes, 0644));
  return img;
}

}  // namespace confide::image
