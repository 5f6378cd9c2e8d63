#include "enclave/sandbox.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "enclave/internal/memory_cgroup.h"
#include "enclave/internal/seccomp.h"

namespace confide::enclave {
namespace {

constexpr size_t kStackBytes = 1 << 20;
constexpr int kSetupFailed = 125;
constexpr char kGoRlimit = 1;
constexpr char kGoCgroup = 2;

struct ChildContext {
  const SandboxSpec* spec;
  const std::function<int()>* body;
  std::string staging;
  int sync_read;
  int sync_write;
};

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "confide sandbox set-up failed: %s: %s\n", what, std::strerror(errno));
  std::fflush(stderr);
  ::_exit(kSetupFailed);
}

void Check(bool ok, const char* what) {
  if (!ok) Die(what);
}

bool ValidRelativePath(const std::string& p) {
  if (p.empty() || p[0] == '/' || p.size() > 255) return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t slash = p.find('/', start);
    if (slash == std::string::npos) slash = p.size();
    std::string_view comp(p.data() + start, slash - start);
    if (comp.empty() || comp == "." || comp == "..") return false;
    start = slash + 1;
  }
  return true;
}

void MakeParents(const std::string& root, const std::string& rel) {
  for (size_t i = 0; i < rel.size(); ++i) {
    if (rel[i] == '/') {
      std::string dir = root + "/" + rel.substr(0, i);
      Check(::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST, "mkdir");
    }
  }
}

void WriteFileOrDie(const std::string& path, ByteSpan data, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  Check(fd >= 0, "create file");
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    Check(n > 0 || errno == EINTR, "write file");
    if (n > 0) done += static_cast<size_t>(n);
  }
  Check(::fchmod(fd, mode & 07777 & ~06000u) == 0, "chmod file");  // never setuid/setgid
  ::close(fd);
}

void BindDevice(const std::string& root, const char* dev) {
  std::string target = root + dev;
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  Check(fd >= 0, "create device mount point");
  ::close(fd);
  Check(::mount(dev, target.c_str(), nullptr, MS_BIND, nullptr) == 0, "bind device");
  Check(::mount(nullptr, target.c_str(), nullptr,
                MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, nullptr) == 0,
        "remount device");
}

void DropCapabilities() {
  for (int cap = 0; cap <= 63; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) Die("drop bounding cap");
  }
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  Check(::syscall(SYS_capset, &header, data) == 0, "capset");
}

void CloseOtherFds(const std::vector<int>& keep) {
  std::vector<int> k = keep;
  std::sort(k.begin(), k.end());
  unsigned next = 3;
  for (int fd : k) {
    if (fd < static_cast<int>(next)) continue;
    if (static_cast<unsigned>(fd) > next) ::syscall(SYS_close_range, next, fd - 1, 0);
    next = static_cast<unsigned>(fd) + 1;
  }
  ::syscall(SYS_close_range, next, ~0u, 0);
}

int ChildMain(void* arg) {
  auto* ctx = static_cast<ChildContext*>(arg);
  const SandboxSpec& spec = *ctx->spec;
  ::close(ctx->sync_write);
  // The parent's go byte: kGoRlimit (limit memory with RLIMIT_AS ourselves) or kGoCgroup (we
  // are already in a memory cgroup); anything else means its set-up failed.
  char go = 0;
  Check(::read(ctx->sync_read, &go, 1) == 1 && (go == kGoRlimit || go == kGoCgroup),
        "wait for the uid map");
  ::close(ctx->sync_read);
  Check(::setresgid(0, 0, 0) == 0 && ::setresuid(0, 0, 0) == 0, "become root in the namespace");
  // If whoever spawned us (the launcher's supervisor) dies, so does the enclave: no orphaned
  // enclave outlives the process that answers its secure module. Set after the credential
  // change above, which clears it.
  Check(::prctl(PR_SET_PDEATHSIG, SIGKILL) == 0, "PR_SET_PDEATHSIG");

  // Mount namespace: nothing propagates back to the host.
  Check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0, "make mounts private");
  const std::string& root = ctx->staging;
  uint64_t total = 1 << 20;
  for (const SandboxFile& f : spec.files) total += f.data.size() + 4096;
  std::string opts = absl::StrCat("size=", total, ",mode=0755");
  Check(::mount("tmpfs", root.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0,
        "mount root tmpfs");
  for (const SandboxFile& f : spec.files) {
    MakeParents(root, f.path);
    WriteFileOrDie(root + "/" + f.path, f.data, f.mode);
  }
  for (const char* d : {"/tmp", "/dev", "/run", "/run/confide", "/run/confide/vsock", "/.old"}) {
    Check(::mkdir((root + d).c_str(), 0755) == 0 || errno == EEXIST, "mkdir mount point");
  }
  std::string tmp_opts = absl::StrCat("size=", spec.tmp_bytes, ",mode=1777");
  Check(::mount("tmpfs", (root + "/tmp").c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                tmp_opts.c_str()) == 0,
        "mount /tmp");
  for (const char* dev : {"/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"}) {
    BindDevice(root, dev);
  }
  if (spec.vsock_dir) {
    Check(::mount(spec.vsock_dir->c_str(), (root + "/run/confide/vsock").c_str(), nullptr,
                  MS_BIND | MS_REC, nullptr) == 0,
          "bind the vsock directory");
  }
  // Creating a user namespace needs no capability, and one would hand its creator a fresh set
  // of them. user.max_user_namespaces is per user namespace (Linux >= 4.9): zero in ours
  // forbids nested ones for everything inside the sandbox. (The seccomp allowlist, once added,
  // denies unshare/clone with namespace flags as well.)
  {
    int fd = ::open("/proc/sys/user/max_user_namespaces", O_WRONLY | O_CLOEXEC);
    Check(fd >= 0 && ::write(fd, "0\n", 2) == 2, "limit nested user namespaces");
    ::close(fd);
  }
  Check(::syscall(SYS_pivot_root, root.c_str(), (root + "/.old").c_str()) == 0, "pivot_root");
  Check(::chdir("/") == 0, "chdir /");
  Check(::umount2("/.old", MNT_DETACH) == 0, "detach the host root");
  Check(::rmdir("/.old") == 0, "remove /.old");
  Check(::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
                nullptr) == 0,
        "remount / read-only");
  Check(::sethostname(spec.hostname.data(), spec.hostname.size()) == 0, "sethostname");

  struct rlimit core = {0, 0};
  Check(::setrlimit(RLIMIT_CORE, &core) == 0, "RLIMIT_CORE");
  if (go == kGoRlimit && spec.memory_bytes < kUnlimitedMemory) {
    struct rlimit as = {spec.memory_bytes, spec.memory_bytes};
    Check(::setrlimit(RLIMIT_AS, &as) == 0, "RLIMIT_AS");
  }
  if (!spec.cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : spec.cpus) CPU_SET(c, &set);
    Check(::sched_setaffinity(0, sizeof(set), &set) == 0, "CPU affinity");
  }
  Check(::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0, "PR_SET_DUMPABLE");
  Check(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "PR_SET_NO_NEW_PRIVS");
  DropCapabilities();
  CloseOtherFds(spec.keep_fds);
  // Last: after this, the set-up's own mount and namespace calls would be refused.
  if (!internal::InstallSandboxSeccomp().ok()) Die("seccomp filter");

  if (ctx->body != nullptr && *ctx->body) {
    std::fflush(nullptr);
    ::_exit((*ctx->body)());
  }
  std::vector<char*> argv, envp;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(argv[0], argv.data(), envp.data());
  Die("execve");
}

bool WriteProcFile(pid_t pid, const char* name, const std::string& text) {
  std::string path = absl::StrCat("/proc/", pid, "/", name);
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

}  // namespace

const char* MemoryLimitName(MemoryLimit limit) {
  switch (limit) {
    case MemoryLimit::kCgroupV2:
      return "cgroup-v2";
    case MemoryLimit::kCgroupV1:
      return "cgroup-v1";
    case MemoryLimit::kRlimitAs:
      return "rlimit-as";
    case MemoryLimit::kNone:
      break;
  }
  return "none";
}

SandboxProcess::SandboxProcess(pid_t pid, std::string staging)
    : pid_(pid), staging_(std::move(staging)) {}

SandboxProcess::SandboxProcess(SandboxProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      staging_(std::move(other.staging_)),
      cgroup_(std::move(other.cgroup_)),
      memory_limit_(other.memory_limit_),
      oom_killed_(other.oom_killed_),
      peak_memory_bytes_(other.peak_memory_bytes_) {
  other.staging_.clear();
}

SandboxProcess& SandboxProcess::operator=(SandboxProcess&& other) noexcept {
  if (this != &other) {
    Kill();
    pid_ = std::exchange(other.pid_, -1);
    staging_ = std::move(other.staging_);
    other.staging_.clear();
    cgroup_ = std::move(other.cgroup_);
    memory_limit_ = other.memory_limit_;
    oom_killed_ = other.oom_killed_;
    peak_memory_bytes_ = other.peak_memory_bytes_;
  }
  return *this;
}

SandboxProcess::~SandboxProcess() { Kill(); }

void SandboxProcess::Reaped() {
  pid_ = -1;
  if (!staging_.empty()) ::rmdir(staging_.c_str());
  staging_.clear();
  if (cgroup_) {
    oom_killed_ = cgroup_->OomKills() > 0;
    peak_memory_bytes_ = cgroup_->PeakBytes();
    cgroup_.reset();  // kills any straggler and removes the cgroup
  }
}

absl::StatusOr<int> SandboxProcess::Wait(absl::Duration timeout) {
  if (pid_ < 0) return absl::FailedPreconditionError("sandbox already reaped");
  absl::Time end = absl::Now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      Reaped();
      return status;
    }
    if (r < 0 && errno != EINTR) return absl::InternalError("waitpid failed");
    if (absl::Now() >= end) return absl::DeadlineExceededError("sandbox still running");
    ::usleep(2000);
  }
}

void SandboxProcess::Kill() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  Reaped();
}

absl::StatusOr<SandboxProcess> SpawnSandbox(const SandboxSpec& spec, std::function<int()> body) {
  for (const SandboxFile& f : spec.files) {
    if (!ValidRelativePath(f.path)) {
      return absl::InvalidArgumentError("sandbox file path must be relative without . or ..");
    }
  }
  if (!body && spec.argv.empty()) return absl::InvalidArgumentError("sandbox argv is empty");
  if (spec.hostname.empty() || spec.hostname.size() > 64) {
    return absl::InvalidArgumentError("sandbox hostname must be 1..64 bytes");
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "confide-sbx-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return absl::UnavailableError("cannot create the sandbox staging directory");
  }
  // The memory cgroup is made before the child exists, so a failure leaves nothing running.
  std::unique_ptr<internal::MemoryCgroup> cgroup;
  if (spec.memory_limit != MemoryLimitMode::kRlimitAs && spec.memory_bytes < kUnlimitedMemory) {
    std::string name = absl::StrCat(::getpid(), "-", tmpl.substr(tmpl.rfind('-') + 1));
    auto made =
        internal::MemoryCgroup::Create(internal::DetectCgroupMounts(), name, spec.memory_bytes);
    if (made.ok()) {
      cgroup = std::move(*made);
    } else if (spec.memory_limit == MemoryLimitMode::kCgroup) {
      ::rmdir(tmpl.c_str());
      return made.status();
    }
  }
  int sync[2];
  if (::pipe2(sync, O_CLOEXEC) != 0) {
    ::rmdir(tmpl.c_str());
    return absl::UnavailableError("pipe failed");
  }
  ChildContext ctx{&spec, &body, tmpl, sync[0], sync[1]};
  void* stack = ::mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    ::close(sync[0]);
    ::close(sync[1]);
    ::rmdir(tmpl.c_str());
    return absl::ResourceExhaustedError("cannot allocate the clone stack");
  }
  int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
              CLONE_NEWUTS | SIGCHLD;
  std::fflush(nullptr);
  pid_t pid = ::clone(ChildMain, static_cast<char*>(stack) + kStackBytes, flags, &ctx);
  int clone_errno = errno;
  ::munmap(stack, kStackBytes);  // the child has its own copy (no CLONE_VM)
  ::close(sync[0]);
  if (pid < 0) {
    ::close(sync[1]);
    ::rmdir(tmpl.c_str());
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create the sandbox namespaces: ", std::strerror(clone_errno)));
  }
  SandboxProcess proc(pid, tmpl);
  // Into the memory cgroup before the child does anything, so the tmpfs pages it fills are
  // charged there too.
  bool in_cgroup = false;
  if (cgroup) {
    absl::Status added = cgroup->AddProcess(pid);
    if (added.ok()) {
      in_cgroup = true;
      proc.memory_limit_ = cgroup->version() == internal::MemoryCgroup::Version::kV2
                               ? MemoryLimit::kCgroupV2
                               : MemoryLimit::kCgroupV1;
      proc.cgroup_ = std::move(cgroup);
    } else if (spec.memory_limit == MemoryLimitMode::kCgroup) {
      ::close(sync[1]);
      proc.Kill();
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot move the sandbox into its memory cgroup: ", std::string(added.message())));
    }
  }
  if (!in_cgroup && spec.memory_bytes < kUnlimitedMemory)
    proc.memory_limit_ = MemoryLimit::kRlimitAs;
  // Root inside maps to an unprivileged host user (or to ourselves when we are not root).
  uid_t uid = ::geteuid() == 0 ? spec.host_uid : ::geteuid();
  gid_t gid = ::geteuid() == 0 ? spec.host_gid : ::getegid();
  bool mapped = (::geteuid() == 0 || WriteProcFile(pid, "setgroups", "deny")) &&
                WriteProcFile(pid, "uid_map", absl::StrCat("0 ", uid, " 1\n")) &&
                WriteProcFile(pid, "gid_map", absl::StrCat("0 ", gid, " 1\n"));
  char go = !mapped ? 0 : in_cgroup ? kGoCgroup : kGoRlimit;
  bool sent = ::write(sync[1], &go, 1) == 1;
  ::close(sync[1]);
  if (!mapped || !sent) {
    proc.Kill();
    return absl::PermissionDeniedError("cannot write the sandbox's uid/gid maps");
  }
  return proc;
}

}  // namespace confide::enclave
