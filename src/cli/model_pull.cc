#include "cli/model_pull.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/ct.h"
#include "base/encoding.h"
#include "crypto/sha.h"
#include "http/http.h"

namespace confide::cli {
namespace {

// kMaxLocationBytes caps a redirect's Location header.
constexpr size_t kMaxLocationBytes = 4096;
// kMaxRedirectBodyBytes caps the body of a redirect response that we read and discard.
constexpr size_t kMaxRedirectBodyBytes = 64 * 1024;

std::string HostPort(const http::Url& u) {
  std::string host = absl::StrContains(u.host, ':') ? absl::StrCat("[", u.host, "]") : u.host;
  const bool default_port =
      (u.scheme == "https" && u.port == 443) || (u.scheme == "http" && u.port == 80);
  return default_port ? host : absl::StrCat(host, ":", u.port);
}

std::string UrlString(const http::Url& u) {
  return absl::StrCat(u.scheme, "://", HostPort(u), u.path);
}

// CheckScheme refuses plain http:// except to a loopback host (tests, local mirrors).
absl::Status CheckScheme(const http::Url& u) {
  if (u.scheme == "https") return absl::OkStatus();
  if (u.scheme == "http" && IsLoopbackHost(u.host)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("refusing plain http:// to ", u.host,
                   ": models are downloaded over https (http only to a loopback mirror)"));
}

// ResolveLocation returns the target of a redirect from `base` (RFC 9110 section 10.2.2:
// "the field value consists of a single URI-reference"; a relative one "is resolved relative
// to the target URI").
absl::StatusOr<http::Url> ResolveLocation(const http::Url& base, std::string_view location) {
  if (location.empty() || location.size() > kMaxLocationBytes) {
    return absl::InvalidArgumentError("redirect without a usable Location header");
  }
  std::string absolute;
  const std::string loc(location);
  if (absl::StartsWithIgnoreCase(loc, "https://") || absl::StartsWithIgnoreCase(loc, "http://")) {
    absolute = std::string(location);
  } else if (location.substr(0, 2) == "//") {
    absolute = absl::StrCat(base.scheme, ":", std::string(location));
  } else if (location[0] == '/') {
    absolute = absl::StrCat(base.scheme, "://", HostPort(base), std::string(location));
  } else {
    std::string dir = base.path.substr(0, base.path.find('?'));
    dir = dir.substr(0, dir.rfind('/') + 1);
    absolute = absl::StrCat(base.scheme, "://", HostPort(base), dir, std::string(location));
  }
  auto url = http::ParseUrl(absolute);
  if (!url.ok()) return absl::InvalidArgumentError("redirect to an invalid Location");
  return url;
}

// Partial is the download file out_dir/.NAME.gguf.partial; removed unless Commit succeeded.
class Partial {
 public:
  explicit Partial(std::string path) : path_(std::move(path)) {}
  ~Partial() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  Partial(const Partial&) = delete;
  Partial& operator=(const Partial&) = delete;

  absl::Status Open() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd_ < 0) {
      return absl::InternalError(absl::StrCat("cannot create ", path_, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  absl::Status Write(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return absl::InternalError(
            absl::StrCat("cannot write ", path_, ": ", std::strerror(n < 0 ? errno : EIO)));
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }
  // Commit fsyncs the file, renames it to `final_path` and fsyncs the directory.
  absl::Status Commit(const std::string& final_path) {
    if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
      fd_ = -1;
      return absl::InternalError(absl::StrCat("cannot flush ", path_, ": ", std::strerror(errno)));
    }
    fd_ = -1;
    if (::rename(path_.c_str(), final_path.c_str()) != 0) {
      return absl::InternalError(
          absl::StrCat("cannot rename to ", final_path, ": ", std::strerror(errno)));
    }
    committed_ = true;
    std::string dir = std::filesystem::path(final_path).parent_path().string();
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
    return absl::OkStatus();
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Progress prints "NAME  42% 0.5/1.2 MB 3.1 MB/s" on stderr at most four times a second:
// rewriting one line on a terminal, one line each otherwise.
class Progress {
 public:
  Progress(bool enabled, std::string_view name, uint64_t total)
      : enabled_(enabled), tty_(::isatty(2) == 1), name_(name), total_(total) {}
  void Update(uint64_t done, bool final = false) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    if (!final && now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    double rate = secs > 0 ? static_cast<double>(done) / 1e6 / secs : 0.0;
    std::fprintf(stderr, "%s%s %3d%% %.1f/%.1f MB %.1f MB/s%s", tty_ ? "\r" : "", name_.c_str(),
                 total_ ? static_cast<int>(100 * done / total_) : 100,
                 static_cast<double>(done) / 1e6, static_cast<double>(total_) / 1e6, rate,
                 tty_ && !final ? "" : "\n");
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  bool tty_;
  std::string name_;
  uint64_t total_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

// DigestOfFile returns the SHA-256 of `path` if it is a regular file of exactly `size`
// bytes; nullopt otherwise (absent, another size, unreadable).
std::optional<Bytes> DigestOfFile(const std::string& path, uint64_t size) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || std::filesystem::file_size(path, ec) != size ||
      ec) {
    return std::nullopt;
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  crypto::Hasher hasher(crypto::HashAlg::kSha256);
  std::vector<uint8_t> buf(1 << 16);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (total > size) break;
    hasher.Update(ByteSpan(buf.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  if (total != size) return std::nullopt;
  return hasher.Finish();
}

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string NoInternetHint(const llm::CatalogEntry& entry) {
  return absl::StrCat("no internet? copy the file yourself (", std::string(entry.url), ", SHA-256 ",
                      std::string(entry.sha256_hex), ") and pass --model PATH");
}

// Download fetches `url` (following redirects) into dir/.NAME.gguf.partial and, if size and
// digest match the pin `want`, renames it to `final_path`; the partial file is removed on
// failure.
absl::Status Download(const llm::CatalogEntry& entry, const PullOptions& options, http::Url url,
                      const Bytes& want, const std::string& dir, const std::string& final_path) {
  const std::string name(entry.name);
  Partial partial((std::filesystem::path(dir) / ("." + name + ".gguf.partial")).string());
  RETURN_IF_ERROR(partial.Open());
  crypto::Hasher hasher(crypto::HashAlg::kSha256);
  Progress progress(options.progress, name, entry.size);
  uint64_t received = 0;

  for (int hop = 0;; ++hop) {
    http::ClientOptions copts;
    copts.timeout = options.timeout;
    if (url.scheme == "https") copts.tls = http::TlsClientOptions{options.ca_file, ""};
    http::Client client(url.host, url.port, copts);
    http::Request req;
    req.method = "GET";
    req.target = url.path;
    req.headers.Add("User-Agent", "confide-model-pull/0.1");
    req.headers.Add("Accept", "application/octet-stream");

    int status = 0;
    std::string location;
    absl::Status body_error;
    size_t discarded = 0;
    absl::Status sent = client.SendStreaming(
        req,
        [&](const http::Response& head) {
          status = head.status;
          if (IsRedirect(status)) {
            location = std::string(head.headers.Get("Location").value_or(""));
            return true;
          }
          if (status != 200) return false;
          if (auto cl = head.headers.Get("Content-Length")) {
            uint64_t n = 0;
            if (!absl::SimpleAtoi(std::string(*cl), &n) || n != entry.size) {
              body_error = absl::DataLossError(absl::StrCat(
                  "server announced ", std::string(*cl).substr(0, 20),
                  " bytes, the pinned size is ", entry.size, ": refusing the download"));
              return false;
            }
          }
          return true;
        },
        [&](std::string_view piece) {
          if (status != 200) {
            discarded += piece.size();
            return discarded <= kMaxRedirectBodyBytes;
          }
          if (piece.size() > entry.size - received) {
            body_error = absl::DataLossError(absl::StrCat(
                "body exceeds the pinned size of ", entry.size, " bytes: refusing the download"));
            return false;
          }
          if (absl::Status w = partial.Write(piece); !w.ok()) {
            body_error = w;
            return false;
          }
          hasher.Update(AsBytes(piece));
          received += piece.size();
          progress.Update(received);
          return true;
        });
    if (!body_error.ok()) return body_error;
    if (status != 0 && status != 200 && !IsRedirect(status)) {
      return absl::FailedPreconditionError(
          absl::StrCat(url.host, " answered HTTP ", status, " for ", UrlString(url)));
    }
    if (!sent.ok()) {
      std::string msg(sent.message());
      if (absl::StrContains(msg, "cannot resolve")) {
        return absl::UnavailableError(
            absl::StrCat("could not resolve ", url.host, ": ", NoInternetHint(entry)));
      }
      if (received > 0) {
        return absl::DataLossError(absl::StrCat("download broke off after ", received, " of ",
                                                entry.size, " bytes: ", msg));
      }
      return absl::Status(sent.code(), absl::StrCat("fetching ", UrlString(url), ": ", msg, " (",
                                                    NoInternetHint(entry), ")"));
    }
    if (IsRedirect(status)) {
      if (hop >= options.max_redirects) {
        return absl::FailedPreconditionError(
            absl::StrCat("more than ", options.max_redirects, " redirects fetching ", name));
      }
      ASSIGN_OR_RETURN(url, ResolveLocation(url, location));
      RETURN_IF_ERROR(CheckScheme(url));
      continue;
    }
    break;
  }
  progress.Update(received, /*final=*/true);
  if (received != entry.size) {
    return absl::DataLossError(
        absl::StrCat("truncated download: got ", received, " of ", entry.size, " bytes"));
  }
  Bytes got = hasher.Finish();
  if (!ConstantTimeEquals(got, want)) {
    return absl::DataLossError(absl::StrCat("digest mismatch: got ", base::HexEncode(got), " want ",
                                            std::string(entry.sha256_hex)));
  }
  return partial.Commit(final_path);
}

}  // namespace

bool IsLoopbackHost(std::string_view host) {
  if (absl::EqualsIgnoreCase(std::string(host), "localhost") || host == "::1") return true;
  // 127.0.0.0/8 as a dotted quad.
  if (host.substr(0, 4) != "127.") return false;
  int parts = 0;
  for (std::string_view rest = host; !rest.empty(); ++parts) {
    size_t dot = rest.find('.');
    std::string_view part = rest.substr(0, dot);
    int v = 0;
    if (part.empty() || part.size() > 3 || !absl::SimpleAtoi(std::string(part), &v) || v > 255) {
      return false;
    }
    if (dot == std::string_view::npos) {
      rest = {};
    } else {
      rest.remove_prefix(dot + 1);
      if (rest.empty()) return false;
    }
  }
  return parts == 4;
}

absl::StatusOr<PullResult> PullModel(const llm::CatalogEntry& entry, const PullOptions& options) {
  auto want = base::HexDecode(entry.sha256_hex);
  if (!want.ok() || want->size() != 32 || entry.size == 0 || entry.name.empty() ||
      entry.name.find('/') != std::string_view::npos || entry.name[0] == '.') {
    return absl::InvalidArgumentError("catalogue entry is malformed");
  }
  ASSIGN_OR_RETURN(http::Url url, http::ParseUrl(entry.url));
  if (!options.mirror.empty()) {
    auto mirror = http::ParseUrl(options.mirror);
    if (!mirror.ok() || mirror->path != "/") {
      return absl::InvalidArgumentError("--mirror must be scheme://host[:port]");
    }
    url.scheme = mirror->scheme;
    url.host = mirror->host;
    url.port = mirror->port;
  }
  RETURN_IF_ERROR(CheckScheme(url));

  const std::string name(entry.name);
  const std::string dir = options.out_dir.empty() ? "." : options.out_dir;
  PullResult result;
  result.path = (std::filesystem::path(dir) / (name + ".gguf")).string();

  if (auto have = DigestOfFile(result.path, entry.size)) {
    if (ConstantTimeEquals(*have, *want)) return result;
  }
  std::error_code ec;
  const bool created_dir = std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create directory ", dir));

  absl::Status downloaded = Download(entry, options, std::move(url), *want, dir, result.path);
  if (!downloaded.ok()) {
    if (created_dir) std::filesystem::remove(dir, ec);  // only while still empty
    return downloaded;
  }
  result.downloaded = true;
  return result;
}

namespace {

struct PullArgs {
  std::string name;
  PullOptions options;
  bool list = false;
};

int RunPull(const PullArgs& a) {
  if (a.list) {
    for (const llm::CatalogEntry& e : llm::ModelCatalog()) {
      std::printf("%-16s %10llu bytes  sha256 %s\n  %s\n  %s\n", std::string(e.name).c_str(),
                  static_cast<unsigned long long>(e.size), std::string(e.sha256_hex).c_str(),
                  std::string(e.url).c_str(), std::string(e.description).c_str());
    }
    return 0;
  }
  if (a.name.empty()) {
    std::cerr << "model pull: give a model NAME (see --list)\n";
    return 2;
  }
  const llm::CatalogEntry* entry = llm::FindCatalogEntry(a.name);
  if (entry == nullptr) {
    std::cerr << "model pull: unknown model; known:";
    for (const llm::CatalogEntry& e : llm::ModelCatalog()) std::cerr << " " << e.name;
    std::cerr << "\n";
    return 2;
  }
  PullOptions o = a.options;
  o.progress = o.progress || ::isatty(2) == 1;
  auto r = PullModel(*entry, o);
  if (!r.ok()) {
    std::cerr << "model pull " << a.name << ": " << r.status().message() << "\n";
    return 1;
  }
  if (!r->downloaded) std::cerr << r->path << " is already present with the pinned digest\n";
  std::printf("%s\n", r->path.c_str());
  return 0;
}

}  // namespace

void AddModelPullCommands(CLI::App& app, std::function<int()>* run) {
  CLI::App* model = nullptr;
  for (CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == "model") model = sub;
  }
  if (model == nullptr) return;
  auto args = std::make_shared<PullArgs>();
  CLI::App* pull = model->add_subcommand(
      "pull", "Download a catalogued model over HTTPS, checking its pinned size and SHA-256");
  pull->add_option("name", args->name, "Model name (see --list)");
  pull->add_flag("--list", args->list, "Print the catalogue");
  pull->add_option("-o,--out", args->options.out_dir, "Directory (default ./models)");
  pull->add_option("--mirror", args->options.mirror,
                   "scheme://host[:port] replacing the catalogue URL's (http only to loopback)");
  pull->add_option("--ca", args->options.ca_file, "PEM CA bundle to trust instead of the system's");
  pull->add_flag("--progress", args->options.progress,
                 "Progress on stderr even when it is not a terminal");
  pull->callback([run, args] { *run = [args] { return RunPull(*args); }; });
}

}  // namespace confide::cli
