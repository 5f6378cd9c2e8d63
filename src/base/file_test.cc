#include "base/file.h"

#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"

namespace confide::base {
namespace {

class AtomicFileWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "base_file_XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  size_t Entries() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir_),
                                             std::filesystem::directory_iterator()));
  }
  std::string dir_;
};

TEST_F(AtomicFileWriterTest, CommitReplacesAbandonLeavesTheOldFile) {
  const std::string path = dir_ + "/out";
  ASSERT_TRUE(WriteFileAtomic(path, AsBytes("old")).ok());
  {
    auto w = AtomicFileWriter::Create(path);
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->Write(AsBytes("new ")).ok());
    EXPECT_EQ(Entries(), 2u);  // the old file and the temporary
  }
  EXPECT_EQ(Entries(), 1u);
  EXPECT_EQ(*ReadFileBounded(path, 100), ToBytes("old"));
  auto w = AtomicFileWriter::Create(path, 0600);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(AsBytes("new ")).ok());
  ASSERT_TRUE((*w)->Write(AsBytes("bytes")).ok());
  EXPECT_EQ(*ReadFileBounded(path, 100), ToBytes("old"));
  ASSERT_TRUE((*w)->Commit().ok());
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_FALSE((*w)->Write(AsBytes("x")).ok());
  EXPECT_EQ(*ReadFileBounded(path, 100), ToBytes("new bytes"));
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(Entries(), 1u);
  EXPECT_EQ(AtomicFileWriter::Create(dir_ + "/missing/out").status().code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace confide::base
