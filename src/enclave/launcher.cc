#include "enclave/launcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "attest/emulated_nsm.h"
#include "attest/nsm_client.h"
#include "attest/pcr.h"
#include "base/encoding.h"
#include "base/file.h"
#include "crypto/random.h"
#include "crypto/sha.h"
#include "enclave/boot.h"
#include "enclave/sandbox.h"
#include "enclave/vsock.h"

namespace confide::enclave {
namespace {

constexpr char kRuntimeBinary[] = "confide-enclave";
constexpr uid_t kSandboxHostUid = 65534;  // what root inside maps to when we are root
constexpr size_t kMaxStateBytes = 64 * 1024;
// What an enclave needs beyond its files to boot and serve (heap, stacks, /tmp).
constexpr uint64_t kRuntimeHeadroomBytes = 64ull << 20;

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : std::string(fallback);
}

std::string StatePath(const std::string& run_dir, const std::string& id) {
  return absl::StrCat(run_dir, "/", id, ".state");
}
std::string LockPath(const std::string& run_dir, uint32_t cid) {
  return absl::StrCat(run_dir, "/cid-", cid, ".lock");
}
std::string ExitPath(const std::string& run_dir, const std::string& id) {
  return absl::StrCat(run_dir, "/", id, ".exit");
}
std::string CidDir(const std::string& vsock_dir, uint32_t cid) {
  return absl::StrCat(vsock_dir, "/", cid);
}

absl::Status MakeDirs(const std::string& path, mode_t mode) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/') continue;
    std::string p = path.substr(0, i);
    if (::mkdir(p.c_str(), mode) != 0 && errno != EEXIST) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", p, ": ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

// RemoveDirContents removes the plain entries (sockets) of `dir` and then `dir` itself.
void RemoveCidDir(const std::string& dir) {
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      ::unlink((dir + "/" + name).c_str());
    }
    ::closedir(d);
  }
  ::rmdir(dir.c_str());
}

// TryLock opens `path` and takes an exclusive flock without waiting. Returns the descriptor
// (>= 0) on success, -1 when another process holds it, -2 when the file does not exist.
int TryLock(const std::string& path, bool create) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
  if (fd < 0) return -2;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return -1;
  }
  // The holder unlinks the file when it is done: a lock on an unlinked inode proves nothing.
  struct stat a, b;
  if (::fstat(fd, &a) != 0 || ::stat(path.c_str(), &b) != 0 || a.st_ino != b.st_ino) {
    ::close(fd);
    return create ? TryLock(path, create) : -2;
  }
  return fd;
}

std::string EncodeState(const EnclaveInfo& e) {
  std::vector<std::string> cpus;
  for (int c : e.cpu_ids) cpus.push_back(absl::StrCat(c));
  std::string s = absl::StrCat("id=", e.id, "\npid=", e.pid, "\ncid=", e.cid,
                               "\ncpus=", absl::StrJoin(cpus, ","), "\nmemory_mib=", e.memory_mib,
                               "\ndebug=", e.debug_mode ? 1 : 0, "\nimage=", e.image_path,
                               "\npcr0=", base::HexEncode(e.measurements.pcr0),
                               "\npcr1=", base::HexEncode(e.measurements.pcr1),
                               "\npcr2=", base::HexEncode(e.measurements.pcr2), "\n");
  if (e.measurements.pcr8)
    absl::StrAppend(&s, "pcr8=", base::HexEncode(*e.measurements.pcr8), "\n");
  absl::StrAppend(&s, "console=", e.console_path,
                  "\nstart_to_ready_us=", absl::ToInt64Microseconds(e.start_to_ready), "\n");
  absl::StrAppend(&s, "parent_role=", e.parent_role, "\nparent_id=", e.parent_id,
                  "\npcr3=", base::HexEncode(e.pcr3), "\npcr4=", base::HexEncode(e.pcr4),
                  "\nmemory_limit=", e.memory_limit, "\n");
  return s;
}

// ParseKeyValues reads "key=value" lines.
absl::StatusOr<std::map<std::string, std::string>> ParseKeyValues(const std::string& text) {
  std::map<std::string, std::string> kv;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) return absl::InvalidArgumentError("malformed line");
    kv[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return kv;
}

absl::StatusOr<EnclaveInfo> DecodeState(const std::string& text) {
  auto parsed = ParseKeyValues(text);
  if (!parsed.ok()) return absl::InvalidArgumentError("state: malformed line");
  std::map<std::string, std::string>& kv = *parsed;
  EnclaveInfo e;
  int64_t us = 0;
  int debug = 0;
  if (!absl::SimpleAtoi(kv["pid"], &e.pid) || !absl::SimpleAtoi(kv["cid"], &e.cid) ||
      !absl::SimpleAtoi(kv["memory_mib"], &e.memory_mib) ||
      !absl::SimpleAtoi(kv["debug"], &debug) || !absl::SimpleAtoi(kv["start_to_ready_us"], &us) ||
      kv["id"].empty()) {
    return absl::InvalidArgumentError("state: missing or bad field");
  }
  e.id = kv["id"];
  e.debug_mode = debug != 0;
  e.image_path = kv["image"];
  e.console_path = kv["console"];
  e.start_to_ready = absl::Microseconds(us);
  for (absl::string_view c : absl::StrSplit(kv["cpus"], ',', absl::SkipEmpty())) {
    int v = 0;
    if (!absl::SimpleAtoi(c, &v)) return absl::InvalidArgumentError("state: bad cpus");
    e.cpu_ids.push_back(v);
  }
  auto hex = [&](const char* k) -> absl::StatusOr<Bytes> { return base::HexDecode(kv[k]); };
  ASSIGN_OR_RETURN(e.measurements.pcr0, hex("pcr0"));
  ASSIGN_OR_RETURN(e.measurements.pcr1, hex("pcr1"));
  ASSIGN_OR_RETURN(e.measurements.pcr2, hex("pcr2"));
  if (kv.count("pcr8")) {
    ASSIGN_OR_RETURN(Bytes p8, hex("pcr8"));
    e.measurements.pcr8 = std::move(p8);
  }
  // Absent in state files written before PCR3/PCR4 were measured at run time.
  e.parent_role = kv["parent_role"];
  e.parent_id = kv["parent_id"];
  ASSIGN_OR_RETURN(e.pcr3, hex("pcr3"));
  ASSIGN_OR_RETURN(e.pcr4, hex("pcr4"));
  e.memory_limit = kv["memory_limit"];
  return e;
}

std::string EncodeExit(const ExitRecord& r) {
  return absl::StrCat("id=", r.id, "\ncid=", r.cid, "\ndebug=", r.debug_mode ? 1 : 0,
                      "\nreason=", r.reason, "\noom=", r.oom_killed ? 1 : 0,
                      "\nexited_at_ms=", absl::ToUnixMillis(r.exited_at),
                      "\nconsole=", r.console_path, "\n");
}

absl::StatusOr<ExitRecord> DecodeExit(const std::string& text) {
  ASSIGN_OR_RETURN(auto kv, ParseKeyValues(text));
  ExitRecord r;
  int debug = 0, oom = 0;
  int64_t ms = 0;
  if (kv["id"].empty() || !absl::SimpleAtoi(kv["cid"], &r.cid) ||
      !absl::SimpleAtoi(kv["debug"], &debug) || !absl::SimpleAtoi(kv["oom"], &oom) ||
      !absl::SimpleAtoi(kv["exited_at_ms"], &ms)) {
    return absl::InvalidArgumentError("exit record: missing or bad field");
  }
  r.id = kv["id"];
  r.debug_mode = debug != 0;
  r.oom_killed = oom != 0;
  r.reason = kv["reason"];
  r.exited_at = absl::FromUnixMillis(ms);
  r.console_path = kv["console"];
  return r;
}

// RecordExit writes `id`'s exit record and prunes the oldest beyond kMaxExitRecords (with their
// kept consoles). Best effort: an enclave's end is never blocked on its record.
void RecordExit(const std::string& run_dir, const ExitRecord& r) {
  (void)base::WriteFileAtomic(ExitPath(run_dir, r.id), AsBytes(EncodeExit(r)), 0644);
  std::vector<ExitRecord> all = ListExitRecords(run_dir);
  for (size_t i = kMaxExitRecords; i < all.size(); ++i) {
    ::unlink(ExitPath(run_dir, all[i].id).c_str());
    if (!all[i].console_path.empty()) ::unlink(all[i].console_path.c_str());
  }
}

// RemoveTraces removes everything an enclave leaves in the run and vsock directories, except
// its exit record and the debug console kept with it.
void RemoveTraces(const std::string& run_dir, const std::string& vsock_dir, const EnclaveInfo& e) {
  ::unlink(StatePath(run_dir, e.id).c_str());
  if (!e.console_path.empty() && ::access(ExitPath(run_dir, e.id).c_str(), F_OK) != 0) {
    ::unlink(e.console_path.c_str());
  }
  RemoveCidDir(CidDir(vsock_dir, e.cid));
}

// ---- supervisor (the forked child) -------------------------------------------------------

std::atomic<bool> g_terminate{false};
void OnTerminate(int) { g_terminate.store(true); }

void Report(int fd, const absl::Status& s, absl::Duration ready,
            const std::string& memory_limit = "") {
  std::string msg = s.ok() ? absl::StrCat("0 ", absl::ToInt64Microseconds(ready), " ", memory_limit)
                           : absl::StrCat(static_cast<int>(s.code()), " ", s.message());
  (void)!::write(fd, msg.data(), msg.size());
}

// ExitReason says why the enclave ended from its wait status and its memory cgroup's OOM count.
std::string ExitReason(int status, bool oom_killed, uint64_t memory_mib) {
  if (oom_killed) {
    return absl::StrCat("out of memory: the enclave exceeded its --memory of ", memory_mib,
                        " MiB and the kernel's OOM killer stopped it");
  }
  if (WIFEXITED(status)) return absl::StrCat("exit status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* abbrev = ::sigabbrev_np(WTERMSIG(status));
    return absl::StrCat("killed by signal ", WTERMSIG(status),
                        abbrev != nullptr ? absl::StrCat(" (SIG", abbrev, ")") : "");
  }
  return "unknown wait status";
}

std::string ConsoleTail(const std::string& path) {
  if (path.empty()) return "";
  auto data = base::ReadFileBounded(path, 1 << 20);
  if (!data.ok() || data->empty()) return "";
  size_t from = data->size() > 400 ? data->size() - 400 : 0;
  return absl::StrCat("; console: ", std::string(data->begin() + from, data->end()));
}

struct Prepared {
  RunOptions options;
  image::ParsedImage image;
  std::shared_ptr<const attest::SimulationCa> ca;
  EnclaveInfo info;
};

[[noreturn]] void Supervise(Prepared& p, int lock_fd, int report_fd) {
  ::setsid();
  struct sigaction sa = {};
  sa.sa_handler = OnTerminate;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  EnclaveInfo& info = p.info;
  const std::string& run_dir = p.options.run_dir;
  const std::string& vsock_dir = p.options.vsock_dir;
  absl::Time start = absl::Now();

  // Standard streams: the enclave's console (debug mode) or nothing. Never the launcher's
  // terminal or pipes, so a caller capturing `run`'s output is not held open by us.
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int out_fd = null_fd;
  if (info.debug_mode) {
    out_fd = ::open(info.console_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  }
  if (null_fd < 0 || out_fd < 0) {
    Report(report_fd, absl::UnavailableError("cannot open the console"), {});
    RemoveTraces(run_dir, vsock_dir, info);
    ::unlink(LockPath(run_dir, info.cid).c_str());
    ::_exit(1);
  }
  ::dup2(null_fd, 0);
  ::dup2(out_fd, 1);
  ::dup2(out_fd, 2);

  auto fail = [&](const absl::Status& s) {
    Report(report_fd, s, {});
    RemoveTraces(run_dir, vsock_dir, info);
    ::unlink(LockPath(run_dir, info.cid).c_str());
    ::_exit(1);
  };

  // 1. The enclave's own CID directory, writable only by the uid its root maps to.
  std::string cid_dir = CidDir(vsock_dir, info.cid);
  RemoveCidDir(cid_dir);
  if (::mkdir(cid_dir.c_str(), 0755) != 0) {
    fail(absl::PermissionDeniedError(absl::StrCat("cannot create ", cid_dir)));
  }
  if (::geteuid() == 0 && ::chown(cid_dir.c_str(), kSandboxHostUid, kSandboxHostUid) != 0) {
    fail(absl::PermissionDeniedError(absl::StrCat("cannot chown ", cid_dir)));
  }

  // 2. The secure module's channel and the sandbox.
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    fail(absl::UnavailableError("cannot create the secure module's socketpair"));
  }
  ::fcntl(sv[0], F_SETFD, FD_CLOEXEC);
  SandboxSpec spec;
  std::string loader;
  for (const image::FileEntry& f : p.image.runtime) {
    spec.files.push_back({"runtime/" + f.path, f.data, 0555});
    if (f.path.rfind("ld-linux", 0) == 0) loader = "/runtime/" + f.path;
  }
  for (const image::FileEntry& f : p.image.application) {
    spec.files.push_back({"app/" + f.path, f.data, 0444});
  }
  std::string binary = absl::StrCat("/runtime/", kRuntimeBinary);
  spec.argv = loader.empty()
                  ? std::vector<std::string>{binary}
                  : std::vector<std::string>{loader, "--library-path", "/runtime", binary};
  spec.env = {absl::StrCat(kNsmFdEnv, "=", sv[1]),
              "CONFIDE_VSOCK_TRANSPORT=emulated",
              absl::StrCat("CONFIDE_VSOCK_DIR=", kDefaultVsockDir),
              absl::StrCat("CONFIDE_VSOCK_CID=", info.cid),
              absl::StrCat("CONFIDE_ENCLAVE_ID=", info.id),
              "PATH=/runtime"};
  spec.memory_bytes = info.memory_mib << 20;
  spec.tmp_bytes = std::min<uint64_t>(16ull << 20, spec.memory_bytes / 8);
  spec.cpus = info.cpu_ids;
  spec.vsock_dir = vsock_dir;
  spec.keep_fds = {sv[1]};
  spec.host_uid = kSandboxHostUid;
  spec.host_gid = kSandboxHostUid;
  auto proc = SpawnSandbox(spec);
  ::close(sv[1]);
  if (!proc.ok()) fail(proc.status());
  info.memory_limit = MemoryLimitName(proc->memory_limit());

  // 3. The hypervisor's half of the secure module (threads only after the spawn): the image's
  // PCR0/1/2/8 and the parent's PCR3/PCR4.
  attest::PcrMap pcrs = info.measurements.AsPcrMap();
  pcrs[3] = info.pcr3;
  pcrs[4] = info.pcr4;
  attest::EmulatedNsm nsm(p.ca, info.id, std::move(pcrs), info.debug_mode);
  std::thread nsm_thread([&] { (void)attest::ServeNsm(nsm, sv[0], [] { return absl::Now(); }); });
  auto stop_nsm = [&] {
    ::shutdown(sv[0], SHUT_RDWR);
    nsm_thread.join();
    ::close(sv[0]);
  };

  // 4. Ready when the health endpoint answers.
  absl::Status ready = absl::DeadlineExceededError("the enclave was not ready in time");
  auto transport = NewEmulatedVsockTransport(vsock_dir, kParentCid);
  if (!transport.ok()) ready = transport.status();
  absl::Time deadline = start + p.options.ready_timeout;
  while (transport.ok() && absl::Now() < deadline && !g_terminate.load()) {
    auto w = proc->Wait(absl::Milliseconds(1));
    if (w.ok()) {
      ready = absl::AbortedError(absl::StrCat("the enclave exited before it was ready (",
                                              ExitReason(*w, proc->oom_killed(), info.memory_mib),
                                              ")", ConsoleTail(info.console_path)));
      break;
    }
    // Booted once the runtime answers its health endpoint: 200, or 503 while the application
    // is still fetching and decrypting its model (the gateway's health checks wait for 200).
    auto health =
        ProbeEnclaveHealth(**transport, VsockAddress{info.cid, kBootPort}, absl::Seconds(1));
    if (health.ok() && (*health == 200 || *health == 503)) {
      ready = absl::OkStatus();
      break;
    }
    ::usleep(5000);
  }
  if (ready.ok() && g_terminate.load()) ready = absl::CancelledError("terminated while starting");
  if (!ready.ok()) {
    proc->Kill();
    stop_nsm();
    fail(ready);
  }
  info.start_to_ready = absl::Now() - start;
  info.pid = ::getpid();
  absl::Status saved =
      base::WriteFileAtomic(StatePath(run_dir, info.id), AsBytes(EncodeState(info)), 0644);
  if (!saved.ok()) {
    proc->Kill();
    stop_nsm();
    fail(saved);
  }
  Report(report_fd, absl::OkStatus(), info.start_to_ready, info.memory_limit);
  ::close(report_fd);

  // 5. Run until terminated or the enclave exits; record why it ended, then remove every
  // other trace.
  std::optional<int> exit_status;
  while (!g_terminate.load()) {
    auto w = proc->Wait(absl::Milliseconds(100));
    if (w.ok()) {
      exit_status = *w;
      break;
    }
  }
  proc->Kill();
  stop_nsm();
  ExitRecord record;
  record.id = info.id;
  record.cid = info.cid;
  record.debug_mode = info.debug_mode;
  record.oom_killed = proc->oom_killed();
  record.reason = exit_status ? ExitReason(*exit_status, record.oom_killed, info.memory_mib)
                              : std::string("terminated");
  record.exited_at = absl::Now();
  record.console_path = info.console_path;
  if (info.debug_mode) {
    std::string line = absl::StrCat("\n[confide] enclave exited: ", record.reason, "\n");
    (void)!::write(out_fd, line.data(), line.size());
  }
  RecordExit(run_dir, record);
  RemoveTraces(run_dir, vsock_dir, info);
  ::unlink(LockPath(run_dir, info.cid).c_str());
  ::close(lock_fd);
  ::_exit(0);
}

// CheckSearchable returns FailedPrecondition when the sandbox's host uid (nobody, when we are
// root) could not reach `dir`: the sandbox binds it from inside its user namespace.
absl::Status CheckSearchable(const std::string& dir) {
  if (::geteuid() != 0) return absl::OkStatus();
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i != dir.size() && dir[i] != '/') continue;
    std::string p = dir.substr(0, i);
    struct stat st;
    if (::stat(p.c_str(), &st) != 0 || (st.st_mode & S_IXOTH) == 0) {
      return absl::FailedPreconditionError(absl::StrCat("the vsock directory ", dir,
                                                        " is not reachable by the enclave's user (",
                                                        p, " lacks o+x)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> PickCpus(int count) {
  if (count < 1) return absl::InvalidArgumentError("--cpu-count must be at least 1");
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) {
    return absl::InternalError("cannot read the CPU affinity");
  }
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE && static_cast<int>(cpus.size()) < count; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  if (static_cast<int>(cpus.size()) < count) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cpu-count ", count, " exceeds the ", cpus.size(), " CPUs available"));
  }
  return cpus;
}

}  // namespace

std::string DefaultRunDir() { return EnvOr("CONFIDE_RUN_DIR", "/run/confide/enclaves"); }
std::string DefaultVsockDir() { return EnvOr("CONFIDE_VSOCK_DIR", kDefaultVsockDir); }
std::string DefaultSimulationRootDir() {
  return EnvOr("CONFIDE_SIM_ROOT", "/var/lib/confide/sim-root");
}
std::string DefaultParentRole() { return EnvOr("CONFIDE_PARENT_ROLE", ""); }
std::string DefaultParentId() {
  std::string id = EnvOr("CONFIDE_PARENT_ID", "");
  if (!id.empty()) return id;
  std::string host;
  if (auto m = base::ReadFileBounded("/etc/machine-id", 4096); m.ok() && !m->empty()) {
    host.assign(m->begin(), m->end());
  } else {
    char name[256] = {};
    ::gethostname(name, sizeof(name) - 1);
    host = name;
  }
  while (!host.empty() && (host.back() == '\n' || host.back() == ' ')) host.pop_back();
  return absl::StrCat(
      "i-", base::HexEncode(crypto::Sha256(AsBytes(absl::StrCat("confide-parent:", host))))
                .substr(0, 17));
}

absl::Status InitSimulationRoot(const std::string& dir, bool force) {
  if (!force && ::access((dir + "/root.key").c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("a simulation root already exists in ", dir, " (use --force to replace it)"));
  }
  ASSIGN_OR_RETURN(attest::SimulationCa ca, attest::SimulationCa::Create(absl::Now()));
  return ca.Save(dir);
}

absl::StatusOr<EnclaveInfo> RunEnclave(const RunOptions& options) {
  RETURN_IF_ERROR(ValidateEnclaveCid(options.cid));
  if (options.memory_mib < kMinMemoryMib || options.memory_mib > (uint64_t{1} << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--memory must be between ", kMinMemoryMib, " and 1048576 MiB"));
  }
  ASSIGN_OR_RETURN(std::vector<int> cpus, PickCpus(options.cpu_count));
  for (const auto& [flag, value] : {std::pair{"--parent-role", &options.parent_role},
                                    std::pair{"--parent-id", &options.parent_id}}) {
    if (value->size() > 2048 ||
        std::any_of(value->begin(), value->end(), [](char c) { return c < 0x21 || c > 0x7e; })) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " must be at most 2048 printable ASCII characters without spaces"));
    }
  }
  auto p = std::make_unique<Prepared>();
  p->options = options;
  auto data = base::ReadFileBounded(options.image_path, image::kMaxImageBytes);
  if (!data.ok()) {
    return absl::Status(data.status().code(),
                        absl::StrCat("image ", options.image_path, ": ", data.status().message()));
  }
  auto img = image::ParseImage(*data);
  if (!img.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("image ", options.image_path, ": ", img.status().message()));
  }
  p->image = std::move(*img);
  bool has_runtime = false;
  for (const image::FileEntry& f : p->image.runtime) has_runtime |= f.path == kRuntimeBinary;
  if (!has_runtime) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image ", options.image_path, ": the runtime section has no ", kRuntimeBinary));
  }
  // The image's files live in the enclave's memory (its root tmpfs, charged to its memory
  // cgroup), as an EIF is loaded into a Nitro enclave's memory: refuse what cannot fit.
  uint64_t file_bytes = 0;
  for (const auto* section : {&p->image.runtime, &p->image.application}) {
    for (const image::FileEntry& f : *section) file_bytes += f.data.size() + 4096;
  }
  uint64_t need_mib = (file_bytes + kRuntimeHeadroomBytes + (1u << 20) - 1) >> 20;
  if (options.memory_mib < need_mib) {
    return absl::InvalidArgumentError(
        absl::StrCat("--memory ", options.memory_mib, " MiB is too small for image ",
                     options.image_path, ": its files take ", (file_bytes + (1u << 20) - 1) >> 20,
                     " MiB of the enclave's memory; give at least ", need_mib, " MiB"));
  }
  auto ca = attest::SimulationCa::Load(options.sim_root_dir);
  if (!ca.ok()) {
    return absl::Status(
        ca.status().code(),
        absl::StrCat("simulation root ", options.sim_root_dir, ": ", ca.status().message(),
                     " (create one with `confide enclave init-root`)"));
  }
  p->ca = std::make_shared<const attest::SimulationCa>(std::move(*ca));
  RETURN_IF_ERROR(MakeDirs(options.run_dir, 0755));
  RETURN_IF_ERROR(MakeDirs(options.vsock_dir, 0755));
  RETURN_IF_ERROR(CheckSearchable(options.vsock_dir));

  int lock_fd = TryLock(LockPath(options.run_dir, options.cid), /*create=*/true);
  if (lock_fd == -1) {
    return absl::AlreadyExistsError(
        absl::StrCat("CID ", options.cid, " is in use by another enclave"));
  }
  if (lock_fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", LockPath(options.run_dir, options.cid)));
  }
  auto rnd = crypto::RandomBytes(8);
  if (!rnd.ok()) {
    ::unlink(LockPath(options.run_dir, options.cid).c_str());
    ::close(lock_fd);
    return rnd.status();
  }
  EnclaveInfo& info = p->info;
  // nitro-cli's shape: i-<instance>-enc<16 hex>.
  info.id = absl::StrCat("i-confide-enc", base::HexEncode(*rnd));
  info.cid = options.cid;
  info.cpu_ids = cpus;
  info.memory_mib = options.memory_mib;
  info.debug_mode = options.debug_mode;
  char real[PATH_MAX];
  info.image_path = ::realpath(options.image_path.c_str(), real) ? real : options.image_path;
  info.measurements = p->image.measurements;
  info.parent_role = options.parent_role;
  info.parent_id = options.parent_id.empty() ? DefaultParentId() : options.parent_id;
  info.pcr3 = attest::MeasureParent(info.parent_role);
  info.pcr4 = attest::MeasureParent(info.parent_id);
  if (options.debug_mode)
    info.console_path = absl::StrCat(options.run_dir, "/", info.id, ".console");

  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    ::unlink(LockPath(options.run_dir, options.cid).c_str());
    ::close(lock_fd);
    return absl::UnavailableError("cannot create a pipe");
  }
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(report[0]);
    ::close(report[1]);
    ::unlink(LockPath(options.run_dir, options.cid).c_str());
    ::close(lock_fd);
    return absl::UnavailableError("cannot fork the enclave supervisor");
  }
  if (pid == 0) {
    ::close(report[0]);
    Supervise(*p, lock_fd, report[1]);
  }
  ::close(report[1]);
  ::close(lock_fd);  // the supervisor holds the lock from here on
  std::string msg;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(report[0], buf, sizeof(buf));
    if (n > 0 && msg.size() < 65536) {
      msg.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  ::close(report[0]);
  size_t sp = msg.find(' ');
  int code = -1;
  if (sp == std::string::npos || !absl::SimpleAtoi(msg.substr(0, sp), &code)) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    EnclaveInfo dead = info;
    RemoveTraces(options.run_dir, options.vsock_dir, dead);
    ::unlink(LockPath(options.run_dir, options.cid).c_str());
    return absl::InternalError("the enclave supervisor died while starting the enclave");
  }
  if (code != 0) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    return absl::Status(static_cast<absl::StatusCode>(code), msg.substr(sp + 1));
  }
  int64_t us = 0;
  std::vector<std::string> ready = absl::StrSplit(msg.substr(sp + 1), ' ');
  (void)absl::SimpleAtoi(ready[0], &us);
  info.start_to_ready = absl::Microseconds(us);
  if (ready.size() > 1) info.memory_limit = ready[1];
  info.pid = pid;
  return info;
}

absl::StatusOr<std::vector<EnclaveInfo>> DescribeEnclaves(const std::string& run_dir,
                                                          const std::string& vsock_dir) {
  std::vector<EnclaveInfo> out;
  DIR* d = ::opendir(run_dir.c_str());
  if (d == nullptr) return out;  // nothing ever ran here
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 6 && name.substr(name.size() - 6) == ".state") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    auto text = base::ReadFileBounded(run_dir + "/" + name, kMaxStateBytes);
    if (!text.ok()) continue;  // removed meanwhile
    auto info = DecodeState(std::string(text->begin(), text->end()));
    if (!info.ok()) {
      return absl::Status(info.status().code(),
                          absl::StrCat(run_dir, "/", name, ": ", info.status().message()));
    }
    int fd = TryLock(LockPath(run_dir, info->cid), /*create=*/false);
    if (fd >= 0 || fd == -2) {
      // The supervisor is gone (killed without its clean-up; the enclave died with it): record
      // that and remove what it left.
      if (::access(ExitPath(run_dir, info->id).c_str(), F_OK) != 0) {
        ExitRecord r;
        r.id = info->id;
        r.cid = info->cid;
        r.debug_mode = info->debug_mode;
        r.reason = absl::StrCat("its supervisor (pid ", info->pid,
                                ") died without cleaning up; the enclave died with it");
        r.exited_at = absl::Now();
        r.console_path = info->console_path;
        RecordExit(run_dir, r);
      }
      RemoveTraces(run_dir, vsock_dir, *info);
      if (fd >= 0) {
        ::unlink(LockPath(run_dir, info->cid).c_str());
        ::close(fd);
      }
      continue;
    }
    out.push_back(std::move(*info));
  }
  return out;
}

absl::Status TerminateEnclave(const std::string& run_dir, const std::string& vsock_dir,
                              const std::string& id) {
  if (id.empty() || id.find('/') != std::string::npos || id[0] == '.') {
    return absl::InvalidArgumentError("invalid enclave id");
  }
  ASSIGN_OR_RETURN(std::vector<EnclaveInfo> running, DescribeEnclaves(run_dir, vsock_dir));
  const EnclaveInfo* e = nullptr;
  for (const EnclaveInfo& r : running) {
    if (r.id == id) e = &r;
  }
  if (e == nullptr) return absl::NotFoundError(absl::StrCat("no running enclave ", id));
  if (::kill(e->pid, SIGTERM) != 0 && errno != ESRCH) {
    return absl::PermissionDeniedError(absl::StrCat("cannot signal the supervisor of ", id));
  }
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    int fd = TryLock(LockPath(run_dir, e->cid), /*create=*/false);
    if (fd == -2 || fd >= 0) {
      RemoveTraces(run_dir, vsock_dir, *e);
      if (fd >= 0) {
        ::unlink(LockPath(run_dir, e->cid).c_str());
        ::close(fd);
      }
      return absl::OkStatus();
    }
    ::usleep(10000);
  }
  return absl::DeadlineExceededError(absl::StrCat("enclave ", id, " did not stop within 10 s"));
}

absl::StatusOr<std::string> ConsolePath(const std::string& run_dir, const std::string& id) {
  auto no_console = [&] {
    return absl::FailedPreconditionError(
        absl::StrCat("enclave ", id, " was not started with --debug-mode: it has no console"));
  };
  ASSIGN_OR_RETURN(std::vector<EnclaveInfo> running, DescribeEnclaves(run_dir, DefaultVsockDir()));
  for (const EnclaveInfo& r : running) {
    if (r.id != id) continue;
    if (!r.debug_mode) return no_console();
    return r.console_path;
  }
  for (const ExitRecord& r : ListExitRecords(run_dir)) {
    if (r.id != id) continue;
    if (!r.debug_mode) return no_console();
    return r.console_path;
  }
  return absl::NotFoundError(absl::StrCat("no running or recently exited enclave ", id));
}

std::vector<ExitRecord> ListExitRecords(const std::string& run_dir) {
  std::vector<ExitRecord> out;
  DIR* d = ::opendir(run_dir.c_str());
  if (d == nullptr) return out;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 5 && name.substr(name.size() - 5) == ".exit") names.push_back(name);
  }
  ::closedir(d);
  for (const std::string& name : names) {
    auto text = base::ReadFileBounded(run_dir + "/" + name, kMaxStateBytes);
    if (!text.ok()) continue;
    auto r = DecodeExit(std::string(text->begin(), text->end()));
    if (r.ok()) out.push_back(std::move(*r));
  }
  std::sort(out.begin(), out.end(), [](const ExitRecord& a, const ExitRecord& b) {
    return a.exited_at != b.exited_at ? a.exited_at > b.exited_at : a.id < b.id;
  });
  return out;
}

}  // namespace confide::enclave
