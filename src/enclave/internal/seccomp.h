// Private to confide::enclave: the sandbox's seccomp filter.
#ifndef CONFIDE_ENCLAVE_INTERNAL_SECCOMP_H_
#define CONFIDE_ENCLAVE_INTERNAL_SECCOMP_H_

#include "base/status.h"

namespace confide::enclave::internal {

// InstallSandboxSeccomp loads the sandbox's seccomp filter into the calling thread (and what
// it creates). Requires no_new_privs to be set already. Denied with EPERM: ptrace,
// process_vm_readv/writev, every mount-table and root change (mount, umount2, pivot_root,
// chroot, the new mount API), unshare, setns, clone with any CLONE_NEW* flag, kernel modules,
// kexec, bpf, perf_event_open, userfaultfd, the key ring, io_uring, reboot, swap, clock
// setting, personality changes. clone3 answers ENOSYS (its flags live in memory the filter
// cannot read), so libc falls back to clone. socket() answers EAFNOSUPPORT for every family but
// AF_UNIX and AF_VSOCK. Syscalls of another architecture kill the process. Internal on
// failure.
absl::Status InstallSandboxSeccomp();

}  // namespace confide::enclave::internal

#endif  // CONFIDE_ENCLAVE_INTERNAL_SECCOMP_H_
