// confide::enclave process sandbox: the isolation primitive of the "process" backend.
//
// SpawnSandbox starts a child in new user, mount, PID, network, IPC and UTS namespaces:
//   - user: root inside maps to an unprivileged host uid/gid (nobody by default), and every
//     capability is dropped before the payload runs;
//   - mount: the root file system is a fresh tmpfs filled with the given files, then remounted
//     read-only; a size-limited writable tmpfs at /tmp; the emulated vsock directory (if any)
//     bind-mounted at /run/confide/vsock; no host path is visible;
//   - network: a new namespace with no interface up (not even loopback);
//   - no nested user namespaces (user.max_user_namespaces = 0 inside), so the dropped
//     capabilities cannot be regained;
//   - memory: a cgroup of its own (v2 memory.max, else v1 memory.limit_in_bytes; see
//     internal/memory_cgroup.h) charging heap, stacks and the tmpfs pages of / and /tmp, so
//     exceeding the limit is an OOM kill the parent can tell apart; where no cgroup can be made,
//     RLIMIT_AS (address space) instead;
//   - PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE 0, RLIMIT_CORE 0, CPU affinity; descriptors other
//     than 0-2 and the listed ones are closed;
//   - a seccomp filter (internal/seccomp.h) refusing ptrace, process_vm_*, mount-table
//     changes, new namespaces, kernel modules, bpf and the like, and sockets other than
//     AF_UNIX / AF_VSOCK.
// What it does not protect against: root (or anyone with CAP_SYS_PTRACE / access to /proc) on
// the host can read the sandbox's memory; the kernel is shared. Production isolation comes from
// enclave hardware (Nitro).
#ifndef CONFIDE_ENCLAVE_SANDBOX_H_
#define CONFIDE_ENCLAVE_SANDBOX_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/bytes.h"
#include "base/status.h"

namespace confide::enclave {

namespace internal {
class MemoryCgroup;
}

// MemoryLimitMode says how a sandbox's memory limit is enforced.
enum class MemoryLimitMode {
  kAuto,      // a memory cgroup where one can be made, RLIMIT_AS otherwise
  kCgroup,    // a memory cgroup or fail (FailedPrecondition saying why none could be made)
  kRlimitAs,  // RLIMIT_AS only
};

// MemoryLimit says how a running sandbox's memory limit is enforced.
enum class MemoryLimit { kCgroupV2, kCgroupV1, kRlimitAs, kNone };

// MemoryLimitName returns "cgroup-v2", "cgroup-v1", "rlimit-as" or "none".
const char* MemoryLimitName(MemoryLimit limit);

// SandboxFile is one file of the sandbox's root file system.
struct SandboxFile {
  std::string path;  // relative, e.g. "bin/confide-enclave"
  Bytes data;
  unsigned mode = 0444;
};

// SandboxSpec describes one sandboxed process.
struct SandboxSpec {
  std::vector<SandboxFile> files;
  // argv[0] is a path inside the sandbox. Ignored when a body is given to SpawnSandbox.
  std::vector<std::string> argv;
  std::vector<std::string> env;
  uint64_t memory_bytes = 256ull << 20;  // limit; >= kUnlimitedMemory means none
  MemoryLimitMode memory_limit = MemoryLimitMode::kAuto;
  uint64_t tmp_bytes = 16ull << 20;      // size of the writable /tmp (counted in memory)
  std::vector<int> cpus;                 // affinity; empty = inherit
  std::optional<std::string> vsock_dir;  // host directory bind-mounted at /run/confide/vsock
  std::vector<int> keep_fds;             // descriptors the payload inherits (same numbers)
  uid_t host_uid = 65534;                // what root inside maps to
  gid_t host_gid = 65534;
  std::string hostname = "enclave";
};

// kUnlimitedMemory: a SandboxSpec::memory_bytes at or above it sets no memory limit (tests
// under AddressSanitizer, whose shadow reserves terabytes of address space).
inline constexpr uint64_t kUnlimitedMemory = uint64_t{1} << 50;

// SandboxProcess is a running sandbox. Move-only; destruction kills and reaps it.
class SandboxProcess {
 public:
  SandboxProcess(pid_t pid, std::string staging);
  SandboxProcess(SandboxProcess&& other) noexcept;
  SandboxProcess& operator=(SandboxProcess&& other) noexcept;
  SandboxProcess(const SandboxProcess&) = delete;
  SandboxProcess& operator=(const SandboxProcess&) = delete;
  ~SandboxProcess();

  pid_t pid() const { return pid_; }
  // memory_limit says how the memory limit is enforced.
  MemoryLimit memory_limit() const { return memory_limit_; }
  // oom_killed returns true once the sandbox has been reaped (Wait/Kill) after the kernel's
  // OOM killer killed a process of it for exceeding its memory cgroup's limit. Always false
  // under RLIMIT_AS (allocations fail there instead).
  bool oom_killed() const { return oom_killed_; }
  // peak_memory_bytes returns the highest memory use its cgroup recorded (set when reaped;
  // 0 when unknown).
  uint64_t peak_memory_bytes() const { return peak_memory_bytes_; }
  // Wait waits up to `timeout` for the sandbox to exit and returns its wait status (as
  // waitpid reports it). DeadlineExceeded when it is still running.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // Kill sends SIGKILL (the whole PID namespace dies with its init) and reaps.
  void Kill();

 private:
  friend absl::StatusOr<SandboxProcess> SpawnSandbox(const SandboxSpec&, std::function<int()>);
  void Reaped();
  pid_t pid_ = -1;
  std::string staging_;  // host directory the child mounted its root on; removed when reaped
  std::unique_ptr<internal::MemoryCgroup> cgroup_;  // removed when reaped
  MemoryLimit memory_limit_ = MemoryLimit::kNone;
  bool oom_killed_ = false;
  uint64_t peak_memory_bytes_ = 0;
};

// SpawnSandbox starts a sandbox. With `body`, the child runs it after the set-up and exits
// with its return value (tests use this to prove properties from inside); otherwise it execs
// spec.argv. Status errors: InvalidArgument for an invalid file path or empty argv,
// PermissionDenied / Unavailable when namespaces cannot be created, FailedPrecondition when
// spec.memory_limit is kCgroup and no memory cgroup can be made. A set-up failure inside the
// child is reported as exit status 125 + a message on stderr.
absl::StatusOr<SandboxProcess> SpawnSandbox(const SandboxSpec& spec,
                                            std::function<int()> body = nullptr);

}  // namespace confide::enclave

#endif  // CONFIDE_ENCLAVE_SANDBOX_H_
