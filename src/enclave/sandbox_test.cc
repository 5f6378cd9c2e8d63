// Isolation properties of the process sandbox, each proven from inside a sandbox: the body
// tries what an escaping enclave would try and returns 0 only when every attempt failed.
// Needs user namespaces (root on the CI machines); skips clearly where they are unavailable.
#include "enclave/sandbox.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace confide::enclave {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

SandboxSpec BaseSpec() {
  SandboxSpec spec;
  spec.files = {{"app/config.json", ToBytes("{\"port\": 5000}"), 0444},
                {"bin/tool", ToBytes("#!/bin/false\n"), 0555}};
  // Sanitizer runtimes reserve terabytes of address space: RLIMIT_AS cannot apply there.
  spec.memory_bytes = kAsan ? ~0ull : (512ull << 20);
  return spec;
}

// RunInSandbox runs `body` in a sandbox and returns its exit code (-1 on a signal).
int RunInSandbox(const SandboxSpec& spec, std::function<int()> body) {
  auto proc = SpawnSandbox(spec, std::move(body));
  if (!proc.ok()) {
    ADD_FAILURE() << proc.status();
    return -2;
  }
  auto status = proc->Wait(absl::Seconds(60));
  if (!status.ok()) {
    ADD_FAILURE() << status.status();
    return -3;
  }
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

class Sandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    auto probe = SpawnSandbox(BaseSpec(), [] { return 0; });
    if (!probe.ok()) GTEST_SKIP() << "namespaces unavailable here: " << probe.status();
    auto st = probe->Wait(absl::Seconds(30));
    ASSERT_TRUE(st.ok());
    if (!WIFEXITED(*st) || WEXITSTATUS(*st) != 0) {
      GTEST_SKIP() << "sandbox set-up does not work here (exit " << *st << ")";
    }
  }
};

TEST_F(Sandbox, ImageFilesOnAReadOnlyRootAndAWritableTmp) {
  EXPECT_EQ(RunInSandbox(BaseSpec(),
                         [] {
                           std::ifstream in("/app/config.json");
                           std::string s((std::istreambuf_iterator<char>(in)),
                                         std::istreambuf_iterator<char>());
                           if (s != "{\"port\": 5000}") return 1;
                           if (::access("/bin/tool", X_OK) != 0) return 2;
                           int fd = ::open("/app/new", O_WRONLY | O_CREAT, 0644);
                           if (fd >= 0 || errno != EROFS) return 3;
                           if (::chmod("/app/config.json", 0666) == 0) return 4;
                           fd = ::open("/tmp/scratch", O_WRONLY | O_CREAT, 0644);
                           if (fd < 0 || ::write(fd, "x", 1) != 1) return 5;
                           ::close(fd);
                           char host[65] = {};
                           if (::gethostname(host, 64) != 0 || std::string(host) != "enclave") {
                             return 6;
                           }
                           if (::getpid() != 1) return 7;
                           return 0;
                         }),
            0);
}

TEST_F(Sandbox, NoHostPathIsVisible) {
  std::string secret = ::testing::TempDir() + "/confide-host-secret";
  std::ofstream(secret) << "host secret";
  SandboxSpec spec = BaseSpec();
  EXPECT_EQ(RunInSandbox(spec,
                         [secret] {
                           for (const std::string& p :
                                {secret, std::string("/etc/passwd"), std::string("/proc/1/environ"),
                                 std::string("/home"), std::string("/work"), std::string("/usr")}) {
                             if (::access(p.c_str(), F_OK) == 0) return 1;
                           }
                           return 0;
                         }),
            0);
  ::unlink(secret.c_str());
}

TEST_F(Sandbox, NoNetworkToTheHostLoopback) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  // Sanity: the listener is reachable from the host side.
  int host_client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(host_client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(host_client);

  EXPECT_EQ(RunInSandbox(BaseSpec(),
                         [addr] {
                           int s = ::socket(AF_INET, SOCK_STREAM, 0);
                           if (s < 0) return 0;  // even better
                           sockaddr_in to = addr;
                           if (::connect(s, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0) {
                             return 1;
                           }
                           return 0;
                         }),
            0);
  ::close(listener);
}

TEST_F(Sandbox, WritesDoNotSurviveARestart) {
  EXPECT_EQ(RunInSandbox(BaseSpec(),
                         [] {
                           int fd = ::open("/tmp/state", O_WRONLY | O_CREAT, 0644);
                           return fd >= 0 && ::write(fd, "1", 1) == 1 ? 0 : 1;
                         }),
            0);
  EXPECT_EQ(RunInSandbox(BaseSpec(), [] { return ::access("/tmp/state", F_OK) == 0 ? 1 : 0; }), 0);
}

TEST_F(Sandbox, PtraceOfASiblingFailsAndPrivilegesAreGone) {
  EXPECT_EQ(RunInSandbox(BaseSpec(),
                         [] {
                           if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return 1;
                           if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) return 2;
                           pid_t sibling = ::fork();
                           if (sibling == 0) {
                             ::pause();
                             ::_exit(0);
                           }
                           int rc = 0;
                           if (::ptrace(PTRACE_ATTACH, sibling, nullptr, nullptr) == 0) rc = 3;
                           if (::mount("none", "/tmp", "tmpfs", 0, nullptr) == 0) rc = 4;
                           if (::unshare(CLONE_NEWUSER) == 0) rc = 5;
                           if (::setuid(0) != 0 || ::chroot("/tmp") == 0) rc = rc ? rc : 6;
                           ::kill(sibling, SIGKILL);
                           ::waitpid(sibling, nullptr, 0);
                           return rc;
                         }),
            0);
}

TEST_F(Sandbox, SeccompRefusesForeignSocketsNamespacesAndMounts) {
  EXPECT_EQ(RunInSandbox(BaseSpec(),
                         [] {
                           if (::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2) return 1;
                           for (int family : {AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, 0, 200}) {
                             errno = 0;
                             if (::socket(family, SOCK_STREAM, 0) >= 0) return 2;
                             if (errno != EAFNOSUPPORT) return 3;
                           }
                           int u = ::socket(AF_UNIX, SOCK_STREAM, 0);
                           if (u < 0) return 4;
                           ::close(u);
                           errno = 0;
                           if (::unshare(CLONE_NEWNET) == 0 || errno != EPERM) return 5;
                           errno = 0;
                           if (::umount2("/tmp", MNT_DETACH) == 0 || errno != EPERM) return 6;
                           // Plain fork (clone without namespace flags) still works.
                           pid_t child = ::fork();
                           if (child < 0) return 7;
                           if (child == 0) ::_exit(0);
                           int st = 0;
                           ::waitpid(child, &st, 0);
                           return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 8;
                         }),
            0);
}

TEST_F(Sandbox, MemoryIsLimitedByRlimitAsWhereNoCgroupIsUsed) {
  if (kAsan) GTEST_SKIP() << "RLIMIT_AS cannot apply under AddressSanitizer";
  SandboxSpec spec = BaseSpec();
  spec.memory_bytes = 256ull << 20;
  spec.memory_limit = MemoryLimitMode::kRlimitAs;
  auto proc = SpawnSandbox(spec, [] {
    void* p =
        ::mmap(nullptr, 512ull << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? 0 : 1;
  });
  ASSERT_TRUE(proc.ok()) << proc.status();
  EXPECT_EQ(proc->memory_limit(), MemoryLimit::kRlimitAs);
  auto st = proc->Wait(absl::Seconds(60));
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << *st;
}

// TouchMiB maps and writes `mib` MiB, page by page (resident, so charged to the cgroup), and
// returns 0 if it survived. The stores go to an anonymous mapping the sanitizers do not track.
int TouchMiB(size_t mib) {
  size_t n = mib << 20;
  void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 3;
  volatile char* c = static_cast<volatile char*>(p);
  for (size_t i = 0; i < n; i += 4096) c[i] = 1;
  return 0;
}

// WriteTmpMiB fills /tmp/fill with `mib` MiB; returns 0 on success.
int WriteTmpMiB(size_t mib) {
  int fd = ::open("/tmp/fill", O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 4;
  static char block[1 << 16];
  std::memset(block, 'x', sizeof(block));
  for (size_t done = 0; done < (mib << 20); done += sizeof(block)) {
    if (::write(fd, block, sizeof(block)) != static_cast<ssize_t>(sizeof(block))) return 5;
  }
  ::close(fd);
  return 0;
}

// CgroupSpec returns a spec whose memory limit must be a cgroup, or skips the test.
std::optional<SandboxSpec> CgroupSpec(uint64_t memory_mib, uint64_t tmp_mib) {
  SandboxSpec spec = BaseSpec();
  spec.memory_bytes = memory_mib << 20;
  spec.tmp_bytes = tmp_mib << 20;
  spec.memory_limit = MemoryLimitMode::kCgroup;
  auto probe = SpawnSandbox(spec, [] { return 0; });
  if (!probe.ok()) return std::nullopt;
  return spec;
}

TEST_F(Sandbox, ExceedingACgroupMemoryLimitIsAnOomKillTheParentSees) {
  auto spec = CgroupSpec(96, 16);
  if (!spec) GTEST_SKIP() << "no memory cgroup can be made here (RLIMIT_AS is the limit)";
  auto proc = SpawnSandbox(*spec, [] { return TouchMiB(256); });
  ASSERT_TRUE(proc.ok()) << proc.status();
  EXPECT_NE(proc->memory_limit(), MemoryLimit::kRlimitAs);
  auto st = proc->Wait(absl::Seconds(60));
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(WIFSIGNALED(*st) && WTERMSIG(*st) == SIGKILL) << *st;
  EXPECT_TRUE(proc->oom_killed());
  // Positive control: within the limit the same body lives and no OOM kill is counted.
  auto fits = SpawnSandbox(*spec, [] { return TouchMiB(32); });
  ASSERT_TRUE(fits.ok());
  st = fits->Wait(absl::Seconds(60));
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << *st;
  EXPECT_FALSE(fits->oom_killed());
  EXPECT_GE(fits->peak_memory_bytes(), 32ull << 20);
}

TEST_F(Sandbox, FilesInTmpCountAgainstTheMemoryLimit) {
  auto spec = CgroupSpec(112, 72);
  if (!spec) GTEST_SKIP() << "no memory cgroup can be made here (RLIMIT_AS is the limit)";
  // 64 MiB of heap fits in 112 MiB; 64 MiB of /tmp plus 64 MiB of heap does not.
  auto heap_only = SpawnSandbox(*spec, [] { return TouchMiB(64); });
  ASSERT_TRUE(heap_only.ok());
  auto st = heap_only->Wait(absl::Seconds(60));
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << *st;
  auto both = SpawnSandbox(*spec, [] {
    int r = WriteTmpMiB(64);
    return r != 0 ? r : TouchMiB(64);
  });
  ASSERT_TRUE(both.ok());
  st = both->Wait(absl::Seconds(60));
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(WIFSIGNALED(*st) && WTERMSIG(*st) == SIGKILL) << *st;
  EXPECT_TRUE(both->oom_killed());
}

TEST_F(Sandbox, KillStopsAndWaitTimesOut) {
  auto proc = SpawnSandbox(BaseSpec(), [] {
    for (;;) ::pause();
    return 0;
  });
  ASSERT_TRUE(proc.ok());
  EXPECT_EQ(proc->Wait(absl::Milliseconds(50)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  proc->Kill();
  EXPECT_EQ(proc->Wait(absl::Milliseconds(50)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(Sandbox, OnlyListedDescriptorsAreInherited) {
  int keep[2], drop[2];
  ASSERT_EQ(::pipe(keep), 0);
  ASSERT_EQ(::pipe(drop), 0);
  SandboxSpec spec = BaseSpec();
  spec.keep_fds = {keep[1]};
  int kept = keep[1], dropped = drop[1];
  EXPECT_EQ(RunInSandbox(spec,
                         [kept, dropped] {
                           if (::write(dropped, "x", 1) == 1) return 1;
                           return ::write(kept, "ok", 2) == 2 ? 0 : 2;
                         }),
            0);
  ::close(keep[1]);
  ::close(drop[1]);
  char buf[3] = {};
  EXPECT_EQ(::read(keep[0], buf, 2), 2);
  EXPECT_STREQ(buf, "ok");
  ::close(keep[0]);
  ::close(drop[0]);
}

TEST_F(Sandbox, ExecOfAMissingBinaryIsASetupFailure) {
  SandboxSpec spec = BaseSpec();
  spec.argv = {"/bin/missing"};
  auto proc = SpawnSandbox(spec);
  ASSERT_TRUE(proc.ok());
  auto st = proc->Wait(absl::Seconds(30));
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 125);
}

TEST(SandboxSpec, BadSpecsAreRefused) {
  SandboxSpec spec;
  spec.files = {{"../etc/passwd", {}, 0444}};
  EXPECT_EQ(SpawnSandbox(spec, [] { return 0; }).status().code(),
            absl::StatusCode::kInvalidArgument);
  spec.files = {{"/abs", {}, 0444}};
  EXPECT_EQ(SpawnSandbox(spec, [] { return 0; }).status().code(),
            absl::StatusCode::kInvalidArgument);
  spec.files.clear();
  EXPECT_EQ(SpawnSandbox(spec).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace confide::enclave
