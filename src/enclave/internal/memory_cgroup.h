// confide::enclave::internal memory cgroups: the process backend's memory limit.
//
// A sandbox's memory is limited by a cgroup of its own where the host lets us make one, so
// that everything the enclave makes resident — heap, stacks, and the tmpfs pages of its root
// file system and /tmp — is charged against --memory, and exceeding it gets the enclave killed
// by the kernel's OOM killer (which we can tell apart from other deaths). In order:
//   1. cgroup v2 (memory.max, memory.swap.max = 0, memory.oom.group = 1) when a cgroup2 file
//      system is mounted, its root offers the memory controller and we may enable it;
//   2. cgroup v1's memory hierarchy (memory.limit_in_bytes and, when swap accounting is on,
//      memory.memsw.limit_in_bytes) when it is mounted and writable;
//   3. otherwise the caller falls back to RLIMIT_AS (address space, not resident memory).
// Cgroups are made under "<hierarchy>/confide/<name>" and removed when the sandbox is gone.
#ifndef CONFIDE_ENCLAVE_INTERNAL_MEMORY_CGROUP_H_
#define CONFIDE_ENCLAVE_INTERNAL_MEMORY_CGROUP_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace confide::enclave::internal {

// CgroupMounts says where the cgroup file systems are mounted ("" when absent).
struct CgroupMounts {
  std::string v2;         // a cgroup2 mount point
  std::string v1_memory;  // a cgroup v1 mount point whose hierarchy has the memory controller
};

// ParseCgroupMounts reads /proc/<pid>/mountinfo text (proc(5)): field 5 is the mount point,
// the field after " - " the file-system type, the one after that the source and then the
// super options, which name the v1 controllers. Lines it does not understand are skipped.
CgroupMounts ParseCgroupMounts(std::string_view mountinfo);

// DetectCgroupMounts parses /proc/self/mountinfo (empty mounts when unreadable).
CgroupMounts DetectCgroupMounts();

// MemoryCgroup is one sandbox's memory cgroup. Destruction kills what is still in it and
// removes it.
class MemoryCgroup {
 public:
  enum class Version { kV2, kV1 };

  // Create makes "<hierarchy>/confide/<name>" limited to `limit_bytes` (v2 preferred, then v1).
  // FailedPrecondition, naming why each hierarchy was unusable, when neither works;
  // InvalidArgument for a name that is not one path component.
  static absl::StatusOr<std::unique_ptr<MemoryCgroup>> Create(const CgroupMounts& mounts,
                                                              std::string_view name,
                                                              uint64_t limit_bytes);
  ~MemoryCgroup();
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;

  // AddProcess moves `pid` into the cgroup (its future children follow it). Internal when the
  // kernel refuses.
  absl::Status AddProcess(pid_t pid);

  Version version() const { return version_; }
  const std::string& path() const { return path_; }

  // OomKills returns how many processes the kernel's OOM killer killed in this cgroup
  // (memory.events "oom_kill" on v2, memory.oom_control "oom_kill" on v1; 0 when unreadable).
  uint64_t OomKills() const;

  // PeakBytes returns the highest memory use seen (memory.peak on v2, where the kernel has it;
  // memory.max_usage_in_bytes on v1), 0 when unknown.
  uint64_t PeakBytes() const;

 private:
  MemoryCgroup(Version version, std::string path) : version_(version), path_(std::move(path)) {}
  Version version_;
  std::string path_;
};

// ReadKeyedCounter returns the value of `key` in a "key value" per line file such as
// memory.events, or 0 when the file or key is absent.
uint64_t ReadKeyedCounter(const std::string& path, std::string_view key);

}  // namespace confide::enclave::internal

#endif  // CONFIDE_ENCLAVE_INTERNAL_MEMORY_CGROUP_H_
