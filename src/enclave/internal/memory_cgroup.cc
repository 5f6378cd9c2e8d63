#include "enclave/internal/memory_cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/file.h"

namespace confide::enclave::internal {
namespace {

constexpr size_t kMaxControlFileBytes = 64 * 1024;
constexpr char kParentName[] = "confide";

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::string ReadSmall(const std::string& path) {
  auto data = base::ReadFileBounded(path, kMaxControlFileBytes);
  return data.ok() ? std::string(data->begin(), data->end()) : std::string();
}

// WriteControl writes `text` to a cgroup control file as a shell's `echo text > file` does.
absl::Status WriteControl(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  ssize_t n = ::write(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

bool HasWord(const std::string& text, const std::string& word) {
  for (absl::string_view w : absl::StrSplit(text, absl::ByAnyChar(" \n\t,"), absl::SkipEmpty())) {
    if (w == absl::string_view(word)) return true;
  }
  return false;
}

absl::Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// RemoveCgroup kills what is left in the cgroup (v2's cgroup.kill) and removes it, retrying
// briefly while dying processes leave.
void RemoveCgroup(const std::string& path) {
  std::string kill_file = path + "/cgroup.kill";
  if (Exists(kill_file)) (void)WriteControl(kill_file, "1");
  for (int i = 0; i < 200; ++i) {
    if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) return;
    ::usleep(5000);
  }
}

// SweepDeadSiblings removes cgroups under `parent` whose creating process is gone (a
// supervisor killed before it could clean up). Names start with the creator's pid.
void SweepDeadSiblings(const std::string& parent) {
  DIR* d = ::opendir(parent.c_str());
  if (d == nullptr) return;
  std::vector<std::string> dead;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (e->d_type != DT_DIR || name == "." || name == "..") continue;
    size_t dash = name.find('-');
    int pid = 0;
    if (dash == std::string::npos || !absl::SimpleAtoi(name.substr(0, dash), &pid) || pid <= 0) {
      continue;
    }
    if (::kill(pid, 0) != 0 && errno == ESRCH) dead.push_back(parent + "/" + name);
  }
  ::closedir(d);
  for (const std::string& p : dead) RemoveCgroup(p);
}

// MakeLeaf creates `parent`/`name`, replacing a stale empty one.
absl::Status MakeLeaf(const std::string& leaf) {
  if (::mkdir(leaf.c_str(), 0755) == 0) return absl::OkStatus();
  if (errno == EEXIST) {
    RemoveCgroup(leaf);
    if (::mkdir(leaf.c_str(), 0755) == 0) return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat("cannot create ", leaf, ": ", std::strerror(errno)));
}

absl::Status SetUpV2(const std::string& root, const std::string& leaf, uint64_t limit) {
  if (!HasWord(ReadSmall(root + "/cgroup.controllers"), "memory")) {
    return absl::FailedPreconditionError(
        absl::StrCat("cgroup v2 at ", root, " does not offer the memory controller"));
  }
  std::string parent = root + "/" + kParentName;
  // Controllers must be enabled top-down: in the root's and in our parent's subtree_control.
  if (!HasWord(ReadSmall(root + "/cgroup.subtree_control"), "memory")) {
    RETURN_IF_ERROR(WriteControl(root + "/cgroup.subtree_control", "+memory"));
  }
  RETURN_IF_ERROR(MakeDir(parent));
  if (!HasWord(ReadSmall(parent + "/cgroup.subtree_control"), "memory")) {
    RETURN_IF_ERROR(WriteControl(parent + "/cgroup.subtree_control", "+memory"));
  }
  SweepDeadSiblings(parent);
  RETURN_IF_ERROR(MakeLeaf(leaf));
  absl::Status s = WriteControl(leaf + "/memory.max", absl::StrCat(limit));
  // No swap: what does not fit in --memory is an OOM kill, as in an enclave (no swap there).
  if (s.ok() && Exists(leaf + "/memory.swap.max")) s = WriteControl(leaf + "/memory.swap.max", "0");
  // One OOM kill takes the whole enclave, not one of its threads' processes.
  if (s.ok() && Exists(leaf + "/memory.oom.group"))
    s = WriteControl(leaf + "/memory.oom.group", "1");
  if (!s.ok()) RemoveCgroup(leaf);
  return s;
}

absl::Status SetUpV1(const std::string& root, const std::string& leaf, uint64_t limit) {
  std::string parent = root + "/" + kParentName;
  RETURN_IF_ERROR(MakeDir(parent));
  SweepDeadSiblings(parent);
  RETURN_IF_ERROR(MakeLeaf(leaf));
  absl::Status s = WriteControl(leaf + "/memory.limit_in_bytes", absl::StrCat(limit));
  // memory+swap may not be below memory alone, so it is set second; absent when the kernel
  // does no swap accounting (then memory.swappiness 0 keeps the group's pages out of swap).
  if (s.ok() && Exists(leaf + "/memory.memsw.limit_in_bytes")) {
    s = WriteControl(leaf + "/memory.memsw.limit_in_bytes", absl::StrCat(limit));
  }
  if (s.ok() && Exists(leaf + "/memory.swappiness")) {
    s = WriteControl(leaf + "/memory.swappiness", "0");
  }
  if (!s.ok()) RemoveCgroup(leaf);
  return s;
}

}  // namespace

CgroupMounts ParseCgroupMounts(std::string_view mountinfo_view) {
  CgroupMounts m;
  std::string mountinfo(mountinfo_view);
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    size_t sep = 0;
    while (sep < f.size() && f[sep] != "-") ++sep;
    if (f.size() < 5 || sep + 2 >= f.size()) continue;
    std::string mount_point(f[4]);
    absl::string_view type = f[sep + 1];
    if (type == "cgroup2" && m.v2.empty()) {
      m.v2 = mount_point;
    } else if (type == "cgroup" && m.v1_memory.empty() && sep + 3 < f.size() &&
               HasWord(std::string(f[sep + 3]), "memory")) {
      m.v1_memory = mount_point;
    }
  }
  return m;
}

CgroupMounts DetectCgroupMounts() { return ParseCgroupMounts(ReadSmall("/proc/self/mountinfo")); }

absl::StatusOr<std::unique_ptr<MemoryCgroup>> MemoryCgroup::Create(const CgroupMounts& mounts,
                                                                   std::string_view name,
                                                                   uint64_t limit_bytes) {
  if (name.empty() || name.size() > 200 || name.find('/') != std::string_view::npos ||
      name[0] == '.') {
    return absl::InvalidArgumentError("cgroup name must be one path component");
  }
  std::vector<std::string> why;
  if (!mounts.v2.empty()) {
    std::string leaf = absl::StrCat(mounts.v2, "/", kParentName, "/", std::string(name));
    absl::Status s = SetUpV2(mounts.v2, leaf, limit_bytes);
    if (s.ok()) return std::unique_ptr<MemoryCgroup>(new MemoryCgroup(Version::kV2, leaf));
    why.push_back(std::string(s.message()));
  } else {
    why.push_back("no cgroup2 file system is mounted");
  }
  if (!mounts.v1_memory.empty()) {
    std::string leaf = absl::StrCat(mounts.v1_memory, "/", kParentName, "/", std::string(name));
    absl::Status s = SetUpV1(mounts.v1_memory, leaf, limit_bytes);
    if (s.ok()) return std::unique_ptr<MemoryCgroup>(new MemoryCgroup(Version::kV1, leaf));
    why.push_back(std::string(s.message()));
  } else {
    why.push_back("no cgroup v1 memory hierarchy is mounted");
  }
  return absl::FailedPreconditionError(
      absl::StrCat("no usable memory cgroup: ", absl::StrJoin(why, "; ")));
}

MemoryCgroup::~MemoryCgroup() { RemoveCgroup(path_); }

absl::Status MemoryCgroup::AddProcess(pid_t pid) {
  absl::Status s = WriteControl(path_ + "/cgroup.procs", absl::StrCat(pid));
  if (!s.ok()) return absl::InternalError(std::string(s.message()));
  return absl::OkStatus();
}

uint64_t ReadKeyedCounter(const std::string& path, std::string_view key_view) {
  std::string text = ReadSmall(path);
  absl::string_view key(key_view.data(), key_view.size());
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> kv = absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t v = 0;
    if (kv.size() == 2 && kv[0] == key && absl::SimpleAtoi(kv[1], &v)) return v;
  }
  return 0;
}

uint64_t MemoryCgroup::OomKills() const {
  return version_ == Version::kV2 ? ReadKeyedCounter(path_ + "/memory.events", "oom_kill")
                                  : ReadKeyedCounter(path_ + "/memory.oom_control", "oom_kill");
}

uint64_t MemoryCgroup::PeakBytes() const {
  std::string text =
      ReadSmall(path_ + (version_ == Version::kV2 ? "/memory.peak" : "/memory.max_usage_in_bytes"));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  uint64_t v = 0;
  return absl::SimpleAtoi(text, &v) ? v : 0;
}

}  // namespace confide::enclave::internal
