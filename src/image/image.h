// confide::image enclave image files (".eif"): a deterministic, measured container.
//
// Layout (all integers big-endian; docs/design/image.md has the full description):
//   Image   := Header Section{2 or 3}
//   Header  := magic "CONFEIF\0" (8) | version u16 = 1 | reserved u16 = 0 | count u16 | reserved
//              u16 = 0
//   Section := type u16 | name_len u16 | name | data_len u64 | sha384(data) (48) | data
// Sections appear in type order: runtime (1, "runtime"), application (2, "application") and
// optionally signature (3, "signature"). Runtime and application data are archives:
//   Archive := num_entries u32 | Entry*   with entries strictly sorted by path (bytewise)
//   Entry   := path_len u16 | path | data_len u64 | data
// There are no timestamps, owners or modes in the file: runtime files are extracted 0555 and
// application files 0444, whatever the builder's file system said.
// Signature data := cert_len u32 | certificate DER | sig_len u16 | ECDSA P-384 signature (DER)
// over the image digest, SHA-384 of every byte before the signature section.
//
// Measurements, as Nitro computes them (each is SHA-384(48 zero bytes || SHA-384(bytes))):
//   PCR0 over runtime data || application data, PCR1 over runtime data, PCR2 over application
//   data, PCR8 over the signing certificate's DER (signed images only).
#ifndef CONFIDE_IMAGE_IMAGE_H_
#define CONFIDE_IMAGE_IMAGE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attest/pcr.h"
#include "base/bytes.h"
#include "base/status.h"

namespace confide::image {

// kImageVersion is the format version this code writes and reads.
inline constexpr uint16_t kImageVersion = 1;
// kMaxImageBytes caps a whole image file (runtime binaries and libraries included).
inline constexpr size_t kMaxImageBytes = size_t{1} << 30;
// kMaxEntries caps the files of one section; kMaxPathLen one entry path.
inline constexpr size_t kMaxEntries = 4096;
inline constexpr size_t kMaxPathLen = 255;
// kMetadataPath is the application entry the builder writes with the manifest's name and model
// digest; user files may not use this path.
inline constexpr char kMetadataPath[] = "confide.meta";

// SectionType numbers the sections; the file lists them in this order.
enum class SectionType : uint16_t { kRuntime = 1, kApplication = 2, kSignature = 3 };

// SectionName returns "runtime", "application" or "signature".
const char* SectionName(SectionType type);

// FileEntry is one file of an archive section: a relative path ([A-Za-z0-9._+-] components
// separated by '/', no "." or ".." component) and its content.
struct FileEntry {
  std::string path;
  Bytes data;
};

// ImageSignature is the parsed signature section.
struct ImageSignature {
  Bytes certificate_der;
  Bytes signature_der;
};

// Measurements are the PCRs of an image (48 bytes each).
struct Measurements {
  Bytes pcr0, pcr1, pcr2;
  std::optional<Bytes> pcr8;
  // AsPcrMap returns {0: pcr0, 1: pcr1, 2: pcr2, [8: pcr8]}.
  attest::PcrMap AsPcrMap() const;
};

// ParsedImage is a decoded image: the archives, the raw section bytes they came from and the
// signature. It owns its data.
struct ParsedImage {
  uint16_t version = kImageVersion;
  std::vector<FileEntry> runtime;
  std::vector<FileEntry> application;
  Bytes runtime_data;      // the runtime section's data bytes (what PCR1 measures)
  Bytes application_data;  // the application section's data bytes (what PCR2 measures)
  std::optional<ImageSignature> signature;
  Bytes image_digest;  // SHA-384 of all bytes before the signature section (or of all bytes)
  Measurements measurements;
};

// EncodeArchive returns the archive encoding of `entries` after sorting them by path.
// InvalidArgument on an invalid or duplicate path, or more than kMaxEntries entries.
absl::StatusOr<Bytes> EncodeArchive(std::vector<FileEntry> entries);

// ValidateEntryPath returns OK when `path` is a valid archive path (see FileEntry).
absl::Status ValidateEntryPath(const std::string& path);

// EncodeUnsignedImage returns the header plus runtime and application sections with the header's
// section count set to `num_sections` (2, or 3 when a signature section will be appended).
// `runtime_data` / `application_data` are archive encodings.
Bytes EncodeUnsignedImage(ByteSpan runtime_data, ByteSpan application_data, uint16_t num_sections);

// AppendSignatureSection appends the signature section to `image`.
void AppendSignatureSection(const ImageSignature& sig, Bytes& image);

// ComputeMeasurements returns the PCRs for the given section data (and certificate, if any).
Measurements ComputeMeasurements(ByteSpan runtime_data, ByteSpan application_data,
                                 const std::optional<Bytes>& certificate_der);

// ParseImage decodes and checks `data`. InvalidArgument naming the problem and the byte offset
// on: wrong magic, unsupported version, non-zero reserved fields, a wrong section count, order,
// type or name, a length beyond the bytes left or a cap, a section whose SHA-384 does not match,
// an archive entry out of order / duplicated / with an invalid path, or trailing bytes. When a
// signature section is present, its certificate must parse and its ECDSA P-384 signature must
// verify over the image digest (Unauthenticated otherwise). It does not check who issued the
// certificate: pin PCR8 for that.
absl::StatusOr<ParsedImage> ParseImage(ByteSpan data);

// ParseMetadata reads the builder's kMetadataPath entry ("key=value" lines) from `app`.
// Returns an empty vector when the entry is absent.
std::vector<std::pair<std::string, std::string>> ParseMetadata(const std::vector<FileEntry>& app);

}  // namespace confide::image

#endif  // CONFIDE_IMAGE_IMAGE_H_
