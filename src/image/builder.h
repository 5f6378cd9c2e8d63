// confide::image builder: manifest + files -> deterministic image bytes.
//
// Determinism: the image depends only on file contents, the names they get in the image (the
// basename of each manifest path), the manifest's name and model digest. Timestamps, owners,
// modes, the working directory and the order of the manifest's lists do not enter it.
// An unsigned build is byte-for-byte reproducible. A signed build has reproducible PCRs, but
// its ECDSA signature is randomised, so two signed builds differ in the signature bytes only.
#ifndef CONFIDE_IMAGE_BUILDER_H_
#define CONFIDE_IMAGE_BUILDER_H_

#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "image/image.h"
#include "image/manifest.h"

namespace confide::image {

// kMaxInputFileBytes caps one input file; the whole image is capped by kMaxImageBytes.
inline constexpr size_t kMaxInputFileBytes = size_t{512} << 20;

// BuiltImage is the output of a build.
struct BuiltImage {
  Bytes bytes;
  Measurements measurements;
};

// BuildImage reads the files named by `m` (paths used as given: resolve them first) and
// returns the image. NotFound naming the missing file; InvalidArgument for a file name that is
// not a valid image path, two files with the same basename, a file over the cap, an image over
// kMaxImageBytes, or a signing key / certificate that does not parse, is not P-384 or does not
// match; Internal if signing fails.
absl::StatusOr<BuiltImage> BuildImage(const Manifest& m);

// BuildImageFromManifestFile parses `manifest_path`, resolves its paths against the
// manifest's directory and builds. Errors as ParseManifest and BuildImage, prefixed with what
// failed.
absl::StatusOr<BuiltImage> BuildImageFromManifestFile(const std::string& manifest_path);

// BuildImageFile builds from `manifest_path` and writes the image to `output_path` atomically
// (temporary file + rename), so a failed build leaves no file, partial or otherwise, behind.
// Errors as BuildImageFromManifestFile, plus Internal / PermissionDenied naming the output.
absl::StatusOr<BuiltImage> BuildImageFile(const std::string& manifest_path,
                                          const std::string& output_path);

}  // namespace confide::image

#endif  // CONFIDE_IMAGE_BUILDER_H_
