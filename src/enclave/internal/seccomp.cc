#include "enclave/internal/seccomp.h"

#include <sched.h>
#include <seccomp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace confide::enclave::internal {
namespace {

// Families socket() may create: the only channels into and out of an enclave.
bool AllowedFamily(int family) { return family == AF_UNIX || family == AF_VSOCK; }

class Filter {
 public:
  Filter() : ctx_(seccomp_init(SCMP_ACT_ALLOW)) {}
  ~Filter() {
    if (ctx_ != nullptr) seccomp_release(ctx_);
  }
  bool ok() const { return ctx_ != nullptr && rc_ == 0; }
  const char* failed() const { return failed_; }

  void Deny(int syscall_nr, const char* name, uint32_t action = SCMP_ACT_ERRNO(EPERM)) {
    if (syscall_nr < 0) return;  // not on this architecture
    Note(seccomp_rule_add(ctx_, action, syscall_nr, 0), name);
  }
  void DenyIfArg0Masked(int syscall_nr, uint64_t mask, const char* name) {
    scmp_arg_cmp cmp{0, SCMP_CMP_MASKED_EQ, mask, mask};
    Note(seccomp_rule_add(ctx_, SCMP_ACT_ERRNO(EPERM), syscall_nr, 1, cmp), name);
  }
  void DenyIfArg0(int syscall_nr, uint32_t action, scmp_compare op, uint64_t value,
                  const char* name) {
    // Spelled out rather than SCMP_A0(op, value): the two-argument macro leaves datum_b to
    // the compiler, which clang's -Wmissing-field-initializers refuses.
    scmp_arg_cmp cmp{0, op, value, 0};
    Note(seccomp_rule_add(ctx_, action, syscall_nr, 1, cmp), name);
  }
  int Load() { return seccomp_load(ctx_); }

 private:
  void Note(int rc, const char* name) {
    if (rc != 0 && rc_ == 0) {
      rc_ = rc;
      failed_ = name;
    }
  }
  scmp_filter_ctx ctx_;
  int rc_ = 0;
  const char* failed_ = "seccomp_init";
};

}  // namespace

absl::Status InstallSandboxSeccomp() {
  Filter f;
  // Another process's memory.
  f.Deny(SCMP_SYS(ptrace), "ptrace");
  f.Deny(SCMP_SYS(process_vm_readv), "process_vm_readv");
  f.Deny(SCMP_SYS(process_vm_writev), "process_vm_writev");
  // The mount table and the root.
  for (auto [nr, name] : {std::pair{SCMP_SYS(mount), "mount"},
                          {SCMP_SYS(umount2), "umount2"},
                          {SCMP_SYS(pivot_root), "pivot_root"},
                          {SCMP_SYS(chroot), "chroot"},
                          {SCMP_SYS(open_tree), "open_tree"},
                          {SCMP_SYS(move_mount), "move_mount"},
                          {SCMP_SYS(fsopen), "fsopen"},
                          {SCMP_SYS(fsconfig), "fsconfig"},
                          {SCMP_SYS(fsmount), "fsmount"},
                          {SCMP_SYS(fspick), "fspick"},
                          {SCMP_SYS(mount_setattr), "mount_setattr"}}) {
    f.Deny(nr, name);
  }
  // New namespaces.
  f.Deny(SCMP_SYS(unshare), "unshare");
  f.Deny(SCMP_SYS(setns), "setns");
  for (uint64_t flag : {CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC,
                        CLONE_NEWUTS, CLONE_NEWCGROUP}) {
    f.DenyIfArg0Masked(SCMP_SYS(clone), flag, "clone namespace flag");
  }
  f.Deny(SCMP_SYS(clone3), "clone3", SCMP_ACT_ERRNO(ENOSYS));
  // The kernel itself.
  for (auto [nr, name] : {std::pair{SCMP_SYS(init_module), "init_module"},
                          {SCMP_SYS(finit_module), "finit_module"},
                          {SCMP_SYS(delete_module), "delete_module"},
                          {SCMP_SYS(kexec_load), "kexec_load"},
                          {SCMP_SYS(kexec_file_load), "kexec_file_load"},
                          {SCMP_SYS(bpf), "bpf"},
                          {SCMP_SYS(perf_event_open), "perf_event_open"},
                          {SCMP_SYS(userfaultfd), "userfaultfd"},
                          {SCMP_SYS(keyctl), "keyctl"},
                          {SCMP_SYS(add_key), "add_key"},
                          {SCMP_SYS(request_key), "request_key"},
                          {SCMP_SYS(io_uring_setup), "io_uring_setup"},
                          {SCMP_SYS(reboot), "reboot"},
                          {SCMP_SYS(swapon), "swapon"},
                          {SCMP_SYS(swapoff), "swapoff"},
                          {SCMP_SYS(settimeofday), "settimeofday"},
                          {SCMP_SYS(clock_settime), "clock_settime"},
                          {SCMP_SYS(personality), "personality"}}) {
    f.Deny(nr, name);
  }
  // Sockets: AF_UNIX (the emulated vsock and the NSM descriptor) and AF_VSOCK only. One rule
  // per other family keeps to single comparisons, which every libseccomp version supports.
  constexpr int kMaxFamily = 64;
  for (int family = 0; family < kMaxFamily; ++family) {
    if (AllowedFamily(family)) continue;
    f.DenyIfArg0(SCMP_SYS(socket), SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_CMP_EQ,
                 static_cast<uint64_t>(family), "socket family");
  }
  f.DenyIfArg0(SCMP_SYS(socket), SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_CMP_GE, kMaxFamily,
               "socket family");
  if (!f.ok()) {
    return absl::InternalError(absl::StrCat("seccomp rule failed: ", f.failed()));
  }
  if (int rc = f.Load(); rc != 0) {
    return absl::InternalError(absl::StrCat("seccomp_load failed: ", -rc));
  }
  return absl::OkStatus();
}

}  // namespace confide::enclave::internal
