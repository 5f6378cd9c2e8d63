// confide::enclave launcher: the "process" isolation backend's lifecycle (run, describe,
// terminate, console), playing Nitro's hypervisor role.
//
// RunEnclave parses and verifies the image, computes its PCRs, loads the simulation CA (its
// keys stay in the launcher), then forks a supervisor that:
//   1. gives the enclave its own vsock CID directory (<vsock_dir>/<cid>, owned by the uid root
//      inside the sandbox maps to; other CID directories stay read-only to it);
//   2. spawns the sandbox (sandbox.h) with the runtime files under /runtime and the application
//      files under /app, runs /runtime/confide-enclave (through /runtime/ld-linux-*.so.* when the
//      image carries a dynamic loader), passing the NSM socketpair end as CONFIDE_NSM_FD;
//   3. answers the NSM on its end (attest::ServeNsm + EmulatedNsm: debug mode zeros PCR0/1/2/8);
//   4. waits until GET /health answers 200 or 503 (the application still loading its model) on
//      vsock <cid>:kBootPort, writes the state file and
//      reports ready; then waits for SIGTERM or the enclave's exit, records why it ended
//      (<id>.exit: exit status, signal, or an OOM kill by its memory cgroup) and removes every
//      other trace (a debug-mode console is kept with the record, for post-mortems).
// State lives in the run directory: <id>.state (key=value lines) while running, cid-<C>.lock
// held (flock) by the supervisor for its whole life (so an occupied CID is detected even if
// the state file is gone, and a dead supervisor frees it), <id>.console (debug mode only),
// <id>.exit for the last kMaxExitRecords enclaves that ended.
//
// PCR3 and PCR4 are measured at run time, as Nitro's hypervisor does: PCR3 from the parent's
// role (an IAM role ARN on AWS; --parent-role here), PCR4 from the parent's instance ID
// (--parent-id, default DefaultParentId()).
#ifndef CONFIDE_ENCLAVE_LAUNCHER_H_
#define CONFIDE_ENCLAVE_LAUNCHER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/status.h"
#include "image/image.h"

namespace confide::enclave {

// DefaultRunDir returns $CONFIDE_RUN_DIR or "/run/confide/enclaves".
std::string DefaultRunDir();
// DefaultVsockDir returns $CONFIDE_VSOCK_DIR or kDefaultVsockDir.
std::string DefaultVsockDir();
// DefaultSimulationRootDir returns $CONFIDE_SIM_ROOT or "/var/lib/confide/sim-root".
std::string DefaultSimulationRootDir();
// DefaultParentId returns $CONFIDE_PARENT_ID or, shaped like an EC2 instance ID, "i-" and the
// first 17 hex digits of SHA-256("confide-parent:" + /etc/machine-id) (the hostname when there
// is no machine id): stable for a host, different across hosts.
std::string DefaultParentId();
// DefaultParentRole returns $CONFIDE_PARENT_ROLE or "" (no role: PCR3 stays zero).
std::string DefaultParentRole();

// InitSimulationRoot creates a simulation CA in `dir` (keys 0600). AlreadyExists when
// `dir`/root.key exists and !force; errors from SimulationCa::Save otherwise.
absl::Status InitSimulationRoot(const std::string& dir, bool force);

// RunOptions are `confide enclave run`'s arguments.
struct RunOptions {
  std::string image_path;
  int cpu_count = 1;
  uint64_t memory_mib = 256;
  uint32_t cid = 0;
  bool debug_mode = false;
  std::string sim_root_dir;  // simulation CA (InitSimulationRoot)
  std::string run_dir;
  std::string vsock_dir;
  absl::Duration ready_timeout = absl::Seconds(20);
  std::string parent_role;  // measured into PCR3 ("" = no role, PCR3 zero)
  std::string parent_id;    // measured into PCR4 ("" = DefaultParentId())
};

// EnclaveInfo describes a running enclave (what describe prints).
struct EnclaveInfo {
  std::string id;
  pid_t pid = 0;  // the supervisor's pid (nitro-cli's ProcessID)
  uint32_t cid = 0;
  std::vector<int> cpu_ids;
  uint64_t memory_mib = 0;
  bool debug_mode = false;
  std::string state = "RUNNING";
  std::string image_path;
  image::Measurements measurements;
  std::string console_path;  // debug mode only
  absl::Duration start_to_ready;
  std::string parent_role;
  std::string parent_id;
  Bytes pcr3;                // MeasureParent(parent_role)
  Bytes pcr4;                // MeasureParent(parent_id)
  std::string memory_limit;  // how --memory is enforced: MemoryLimitName (sandbox.h)
};

// ExitRecord says how an enclave ended.
struct ExitRecord {
  std::string id;
  uint32_t cid = 0;
  bool debug_mode = false;
  // reason: "terminated", "exit status N", "killed by signal N (NAME)", "out of memory: ...",
  // or "its supervisor died".
  std::string reason;
  bool oom_killed = false;
  absl::Time exited_at;
  std::string console_path;  // debug mode: the console, kept with the record
};

// kMaxExitRecords is how many exit records (and kept consoles) a run directory holds.
inline constexpr size_t kMaxExitRecords = 32;

// kMinMemoryMib is the smallest --memory accepted.
inline constexpr uint64_t kMinMemoryMib = 64;

// RunEnclave starts an enclave and returns once it answers its health endpoint.
// InvalidArgument for a bad CID, CPU count or memory size; NotFound / InvalidArgument naming the
// image or simulation root when they are missing or do not verify; AlreadyExists when the CID is
// in use; Unavailable / Aborted (with the exit status, and in debug mode the console's tail)
// when the enclave fails or exits before it is ready; DeadlineExceeded when it is not ready in
// time. On any failure nothing is left behind (state, lock, console or vsock directory).
// Must be called while the process is single-threaded (it forks).
absl::StatusOr<EnclaveInfo> RunEnclave(const RunOptions& options);

// DescribeEnclaves returns the running enclaves in `run_dir`, removing the state of any whose
// supervisor is gone.
absl::StatusOr<std::vector<EnclaveInfo>> DescribeEnclaves(const std::string& run_dir,
                                                          const std::string& vsock_dir);

// ListExitRecords returns the exit records in `run_dir`, newest first.
std::vector<ExitRecord> ListExitRecords(const std::string& run_dir);

// TerminateEnclave stops enclave `id` and waits until its supervisor has released it.
// NotFound when no such enclave runs; DeadlineExceeded if it does not stop within 10 s.
absl::Status TerminateEnclave(const std::string& run_dir, const std::string& vsock_dir,
                              const std::string& id);

// ConsolePath returns the console file of debug-mode enclave `id`, running or recently exited
// (its exit record keeps it). NotFound when no such enclave runs or has a record;
// FailedPrecondition when it was not started in debug mode.
absl::StatusOr<std::string> ConsolePath(const std::string& run_dir, const std::string& id);

}  // namespace confide::enclave

#endif  // CONFIDE_ENCLAVE_LAUNCHER_H_
