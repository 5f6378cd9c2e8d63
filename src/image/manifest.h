// confide::image manifests: the `enclave.toml` that describes what goes into an enclave image.
//
// The manifest is read with a small, strict TOML subset (TOML v1.0.0 syntax, a fraction of it):
//   - comments (`# ...`) and blank lines;
//   - table headers `[runtime]`, `[application]`, `[signing]` (bare keys only, each once);
//   - `key = "basic string"` (escapes \" \\ \n \t \r only; no literal or multi-line strings);
//   - `key = ["string", ...]` arrays of basic strings, which may span lines and end with a
//     trailing comma.
// Anything else (numbers, booleans, dotted keys, inline tables, unknown or duplicate keys) is
// rejected with the line number, so a typo never silently drops a file from the image.
//
//   name = "hello"                      # required: [A-Za-z0-9._-]{1,64}
//   [runtime]
//   files = ["confide-enclave", "lib/libssl.so.3"]   # required, at least one
//   [application]
//   files = ["config.json", "policy.json"]            # optional
//   model_sha256 = "<64 hex digits>"                  # optional
//   [signing]                                         # optional
//   key = "signing.key"                               # PEM P-384 private key
//   certificate = "signing.pem"                       # PEM certificate for that key
//
// Relative paths are resolved against the manifest's directory, never the working directory, so
// the same manifest builds the same image from anywhere.
#ifndef CONFIDE_IMAGE_MANIFEST_H_
#define CONFIDE_IMAGE_MANIFEST_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace confide::image {

// kMaxManifestBytes caps the manifest file.
inline constexpr size_t kMaxManifestBytes = 64 * 1024;
// kMaxManifestFiles caps the entries of one `files` array.
inline constexpr size_t kMaxManifestFiles = 1024;

// Manifest is a parsed enclave.toml. Paths are as written (see ResolveManifestPaths).
struct Manifest {
  std::string name;
  std::vector<std::string> runtime_files;
  std::vector<std::string> application_files;
  std::optional<Bytes> model_sha256;  // 32 bytes when present
  std::optional<std::string> signing_key;
  std::optional<std::string> signing_certificate;
};

// ParseManifest parses manifest text. InvalidArgument naming the line and the problem (never
// echoing the line's content) on any syntax outside the subset above, an unknown or duplicate
// key or table, a missing name or runtime.files, a bad name, model_sha256 that is not 64 hex
// digits, or a [signing] table without both key and certificate.
absl::StatusOr<Manifest> ParseManifest(std::string_view text);

// ResolveManifestPaths returns `m` with every relative path made relative to `base_dir`
// (absolute paths are kept).
Manifest ResolveManifestPaths(Manifest m, const std::string& base_dir);

}  // namespace confide::image

#endif  // CONFIDE_IMAGE_MANIFEST_H_
