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
//   - PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE 0, RLIMIT_CORE 0, RLIMIT_AS = the memory limit,
//     CPU affinity; descriptors other than 0-2 and the listed ones are closed;
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
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/bytes.h"
#include "base/status.h"

namespace confide::enclave {

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
  uint64_t memory_bytes = 256ull << 20;  // RLIMIT_AS
  uint64_t tmp_bytes = 16ull << 20;      // size of the writable /tmp (counted in memory)
  std::vector<int> cpus;                 // affinity; empty = inherit
  std::optional<std::string> vsock_dir;  // host directory bind-mounted at /run/confide/vsock
  std::vector<int> keep_fds;             // descriptors the payload inherits (same numbers)
  uid_t host_uid = 65534;                // what root inside maps to
  gid_t host_gid = 65534;
  std::string hostname = "enclave";
};

// SandboxProcess is a running sandbox. Move-only; destruction kills and reaps it.
class SandboxProcess {
 public:
  SandboxProcess(pid_t pid, std::string staging) : pid_(pid), staging_(std::move(staging)) {}
  SandboxProcess(SandboxProcess&& other) noexcept;
  SandboxProcess& operator=(SandboxProcess&& other) noexcept;
  SandboxProcess(const SandboxProcess&) = delete;
  SandboxProcess& operator=(const SandboxProcess&) = delete;
  ~SandboxProcess();

  pid_t pid() const { return pid_; }
  // Wait waits up to `timeout` for the sandbox to exit and returns its wait status (as
  // waitpid reports it). DeadlineExceeded when it is still running.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // Kill sends SIGKILL (the whole PID namespace dies with its init) and reaps.
  void Kill();

 private:
  void Reaped();
  pid_t pid_ = -1;
  std::string staging_;  // host directory the child mounted its root on; removed when reaped
};

// SpawnSandbox starts a sandbox. With `body`, the child runs it after the set-up and exits
// with its return value (tests use this to prove properties from inside); otherwise it execs
// spec.argv. Status errors: InvalidArgument for an invalid file path or empty argv,
// PermissionDenied / Unavailable when namespaces cannot be created. A set-up failure inside the
// child is reported as exit status 125 + a message on stderr.
absl::StatusOr<SandboxProcess> SpawnSandbox(const SandboxSpec& spec,
                                            std::function<int()> body = nullptr);

}  // namespace confide::enclave

#endif  // CONFIDE_ENCLAVE_SANDBOX_H_
