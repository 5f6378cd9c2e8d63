// The memory cgroup's bookkeeping: mountinfo parsing, the control files it writes on a cgroup
// v2 tree (a plain directory standing in for cgroupfs, so the v2 path is checked on hosts that
// have none), and its fallbacks. The kernel's side (limits enforced, OOM kills counted) is
// proven in sandbox_test.cc on whatever hierarchy the host offers.
#include "enclave/internal/memory_cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace confide::enclave::internal {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Put(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

class TempTree : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (std::filesystem::temp_directory_path() / "confide-cg-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    root_ = t;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST(CgroupMounts, ParsesHybridAndUnifiedLayouts) {
  // A hybrid host (v1 controllers plus a v2 mount with no controllers in use).
  CgroupMounts hybrid = ParseCgroupMounts(
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "40 31 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n");
  EXPECT_EQ(hybrid.v2, "/sys/fs/cgroup/unified");
  EXPECT_EQ(hybrid.v1_memory, "/sys/fs/cgroup/memory");
  // A unified host, with optional fields before the separator.
  CgroupMounts unified = ParseCgroupMounts(
      "29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
  EXPECT_EQ(unified.v2, "/sys/fs/cgroup");
  EXPECT_EQ(unified.v1_memory, "");
  // v1 hierarchies without memory, and garbage, are ignored.
  CgroupMounts none = ParseCgroupMounts(
      "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct\n"
      "garbage\n- - -\n\n1 2 3\n");
  EXPECT_EQ(none.v2, "");
  EXPECT_EQ(none.v1_memory, "");
}

TEST_F(TempTree, V2EnablesTheControllerTopDownAndSetsTheLimits) {
  Put(root_ + "/cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
  Put(root_ + "/cgroup.subtree_control", "");
  // Files cgroupfs would create in the leaf; the test pre-creates the parent's.
  ASSERT_EQ(::mkdir((root_ + "/confide").c_str(), 0755), 0);
  Put(root_ + "/confide/cgroup.subtree_control", "");
  auto cg = MemoryCgroup::Create(CgroupMounts{root_, ""}, "123-abc", 64ull << 20);
  ASSERT_TRUE(cg.ok()) << cg.status();
  EXPECT_EQ((*cg)->version(), MemoryCgroup::Version::kV2);
  EXPECT_EQ((*cg)->path(), root_ + "/confide/123-abc");
  EXPECT_EQ(Slurp(root_ + "/cgroup.subtree_control"), "+memory");
  EXPECT_EQ(Slurp(root_ + "/confide/cgroup.subtree_control"), "+memory");
  EXPECT_EQ(Slurp(root_ + "/confide/123-abc/memory.max"), "67108864");
  ASSERT_TRUE((*cg)->AddProcess(4242).ok());
  EXPECT_EQ(Slurp(root_ + "/confide/123-abc/cgroup.procs"), "4242");
  Put(root_ + "/confide/123-abc/memory.events",
      "low 0\nhigh 0\nmax 17\noom 2\noom_kill 1\noom_group_kill 1\n");
  EXPECT_EQ((*cg)->OomKills(), 1u);
  Put(root_ + "/confide/123-abc/memory.peak", "1048576\n");
  EXPECT_EQ((*cg)->PeakBytes(), 1048576u);
}

TEST_F(TempTree, V2WithoutTheMemoryControllerFallsBackToV1) {
  std::string v2 = root_ + "/unified", v1 = root_ + "/memory";
  ASSERT_EQ(::mkdir(v2.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(v1.c_str(), 0755), 0);
  Put(v2 + "/cgroup.controllers", "hugetlb\n");
  auto cg = MemoryCgroup::Create(CgroupMounts{v2, v1}, "7-x", 128ull << 20);
  ASSERT_TRUE(cg.ok()) << cg.status();
  EXPECT_EQ((*cg)->version(), MemoryCgroup::Version::kV1);
  EXPECT_EQ(Slurp(v1 + "/confide/7-x/memory.limit_in_bytes"), "134217728");
  Put(v1 + "/confide/7-x/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  EXPECT_EQ((*cg)->OomKills(), 3u);
}

TEST_F(TempTree, NoHierarchySaysWhyForEach) {
  Put(root_ + "/cgroup.controllers", "cpu io\n");
  auto cg = MemoryCgroup::Create(CgroupMounts{root_, ""}, "1-a", 1 << 20);
  ASSERT_EQ(cg.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(cg.status().message().find("does not offer the memory controller"),
            absl::string_view::npos);
  EXPECT_NE(cg.status().message().find("no cgroup v1 memory hierarchy"), absl::string_view::npos);
  EXPECT_EQ(MemoryCgroup::Create(CgroupMounts{}, "1-a", 1 << 20).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(TempTree, NamesMustBeOneComponent) {
  for (const char* bad : {"", "../x", "a/b", ".hidden"}) {
    EXPECT_EQ(MemoryCgroup::Create(CgroupMounts{root_, root_}, bad, 1 << 20).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(TempTree, DestructionRemovesTheCgroup) {
  std::string v1 = root_ + "/memory";
  ASSERT_EQ(::mkdir(v1.c_str(), 0755), 0);
  {
    auto cg = MemoryCgroup::Create(CgroupMounts{"", v1}, "9-z", 1 << 20);
    ASSERT_TRUE(cg.ok()) << cg.status();
    // cgroupfs directories hold only control files, which rmdir ignores; a plain directory
    // does not, so empty it as the kernel's view would be.
    std::filesystem::remove(v1 + "/confide/9-z/memory.limit_in_bytes");
  }
  EXPECT_FALSE(std::filesystem::exists(v1 + "/confide/9-z"));
}

TEST(KeyedCounter, MissingFileOrKeyIsZero) {
  EXPECT_EQ(ReadKeyedCounter("/nonexistent/memory.events", "oom_kill"), 0u);
}

}  // namespace
}  // namespace confide::enclave::internal
