// confide::cli `confide model pull`: download a catalogued model (llm/catalog.h) over HTTPS,
// accepting it only if its size and SHA-256 match the pin.
#ifndef CONFIDE_CLI_MODEL_PULL_H_
#define CONFIDE_CLI_MODEL_PULL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "base/status.h"
#include "llm/catalog.h"

namespace confide::cli {

// PullOptions configures PullModel.
struct PullOptions {
  std::string out_dir = "models";  // created if missing
  // mirror, when set ("scheme://host[:port]"), replaces the scheme, host and port of the
  // catalogue URL; the path is kept. http:// is accepted only for a loopback host.
  std::string mirror;
  // ca_file, when set, is the PEM bundle of trusted roots for every hop (it replaces the
  // system store); empty: the system store.
  std::string ca_file;
  bool progress = false;  // progress lines on stderr
  int max_redirects = 5;
  absl::Duration timeout = absl::Seconds(30);  // connect, and each read
};

// PullResult says where the model is and whether it was downloaded now.
struct PullResult {
  std::string path;         // out_dir/NAME.gguf
  bool downloaded = false;  // false: a file with the pinned digest was already there
};

// PullModel makes out_dir/NAME.gguf hold the file pinned by `entry`: if a file with the
// pinned size and SHA-256 is already there it returns at once; otherwise it downloads the URL
// (following at most max_redirects redirects) into out_dir/.NAME.gguf.partial, hashing while
// writing and refusing more than the pinned size, checks size and digest and renames the file
// into place. On failure the partial file is removed and any earlier NAME.gguf is left as it
// was. Errors: InvalidArgument for a bad mirror URL or redirect; FailedPrecondition for plain
// http:// to a non-loopback host or too many redirects; Unavailable when the host cannot be
// resolved or reached (the message suggests copying the file and passing --model);
// DataLoss for a digest mismatch ("digest mismatch: got X want Y"), a truncated or oversized
// body; Internal/NotFound for file errors; other HTTP statuses as FailedPrecondition.
absl::StatusOr<PullResult> PullModel(const llm::CatalogEntry& entry, const PullOptions& options);

// IsLoopbackHost returns true for "localhost", 127.0.0.0/8 and ::1.
bool IsLoopbackHost(std::string_view host);

// AddModelPullCommands registers `model pull` under the `model` command (which
// AddModelCommands must have added first; otherwise it adds nothing). The action stored in
// `*run` returns 0 ok, 1 failed, 2 usage (including an unknown model name).
void AddModelPullCommands(CLI::App& app, std::function<int()>* run);

}  // namespace confide::cli

#endif  // CONFIDE_CLI_MODEL_PULL_H_
