#include "kms/key_store.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include "base/bytes.h"
#include "crypto/random.h"
#include "gtest/gtest.h"

namespace confide::kms {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kms_store_XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

KeyRecord MakeKey(const std::string& id) {
  KeyRecord k;
  k.key_id = id;
  k.account = "111122223333";
  k.arn = "arn:aws:kms:us-east-1:111122223333:key/" + id;
  k.creation_date = absl::FromUnixSeconds(1700000000);
  k.description = "test key";
  k.policy = "{}";
  k.tags = {{"team", "a"}};
  return k;
}

SecretBytes Material(uint8_t fill) { return SecretBytes::CopyFrom(Bytes(32, fill)); }

TEST(KeyStoreTest, CreateGetReopen) {
  TempDir dir;
  {
    auto store = OpenSqliteKeyStore(dir.path());
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->CreateKey(MakeKey("k1"), Material(7)).ok());
    EXPECT_EQ((*store)->CreateKey(MakeKey("k1"), Material(7)).code(),
              absl::StatusCode::kAlreadyExists);
  }
  struct stat st;
  ASSERT_EQ(stat((dir.path() + "/root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto store = OpenSqliteKeyStore(dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  auto key = (*store)->GetKey("k1");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->arn, "arn:aws:kms:us-east-1:111122223333:key/k1");
  EXPECT_EQ(key->description, "test key");
  EXPECT_EQ(key->tags.at("team"), "a");
  EXPECT_EQ(key->current_version, 1u);
  EXPECT_EQ(key->creation_date, absl::FromUnixSeconds(1700000000));
  EXPECT_FALSE(key->deletion_date.has_value());
  auto material = (*store)->GetBackingKey("k1", 1);
  ASSERT_TRUE(material.ok());
  EXPECT_EQ(Bytes(material->ExposeSecret().begin(), material->ExposeSecret().end()), Bytes(32, 7));
  EXPECT_EQ((*store)->GetKey("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*store)->GetBackingKey("k1", 2).status().code(), absl::StatusCode::kNotFound);
}

TEST(KeyStoreTest, UpdateRotateAliasesDeleteEachSurviveReopen) {
  TempDir dir;
  auto reopen = [&]() {
    auto s = OpenSqliteKeyStore(dir.path());
    EXPECT_TRUE(s.ok()) << s.status();
    return std::move(*s);
  };
  ASSERT_TRUE(reopen()->CreateKey(MakeKey("k1"), Material(1)).ok());
  ASSERT_TRUE(reopen()->CreateKey(MakeKey("k2"), Material(2)).ok());
  {
    KeyRecord k = *reopen()->GetKey("k1");
    k.key_state = kKeyStatePendingDeletion;
    k.deletion_date = absl::FromUnixSeconds(1800000000);
    k.policy = R"({"Version":"2012-10-17"})";
    k.rotation_enabled = true;
    k.rotation_period_days = 90;
    ASSERT_TRUE(reopen()->UpdateKey(k).ok());
  }
  {
    KeyRecord k = *reopen()->GetKey("k1");
    EXPECT_EQ(k.key_state, kKeyStatePendingDeletion);
    EXPECT_EQ(k.deletion_date, absl::FromUnixSeconds(1800000000));
    EXPECT_TRUE(k.rotation_enabled);
    EXPECT_EQ(k.rotation_period_days, 90);
  }
  auto v = reopen()->AddBackingKey("k1", Material(9));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 2u);
  EXPECT_EQ(reopen()->GetKey("k1")->current_version, 2u);
  EXPECT_EQ(reopen()->GetBackingKey("k1", 1)->ExposeSecret()[0], 1);
  EXPECT_EQ(reopen()->GetBackingKey("k1", 2)->ExposeSecret()[0], 9);

  ASSERT_TRUE(reopen()->CreateAlias({"alias/a", "k1", absl::Now()}).ok());
  EXPECT_EQ(reopen()->CreateAlias({"alias/a", "k2", absl::Now()}).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(reopen()->CreateAlias({"alias/b", "zz", absl::Now()}).code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(reopen()->CreateAlias({"alias/b", "k2", absl::Now()}).ok());
  EXPECT_EQ(reopen()->GetAlias("alias/a")->target_key_id, "k1");
  ASSERT_TRUE(reopen()->UpdateAlias("alias/a", "k2").ok());
  EXPECT_EQ(reopen()->ListAliases("k2")->size(), 2u);
  EXPECT_EQ(reopen()->ListAliases("")->size(), 2u);
  ASSERT_TRUE(reopen()->DeleteAlias("alias/b").ok());
  EXPECT_EQ(reopen()->DeleteAlias("alias/b").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(reopen()->DeleteKey("k2").ok());
  EXPECT_EQ(reopen()->ListKeys()->size(), 1u);
  EXPECT_EQ(reopen()->ListAliases("")->size(), 0u);  // cascaded with k2
  EXPECT_EQ(reopen()->GetBackingKey("k2", 1).status().code(), absl::StatusCode::kNotFound);
}

TEST(KeyStoreTest, RootKeyPermissionsAndWrongRootKey) {
  TempDir dir;
  ASSERT_TRUE((*OpenSqliteKeyStore(dir.path()))->CreateKey(MakeKey("k1"), Material(1)).ok());
  std::string root = dir.path() + "/root.key";
  chmod(root.c_str(), 0644);
  EXPECT_EQ(OpenSqliteKeyStore(dir.path()).status().code(), absl::StatusCode::kFailedPrecondition);
  // A different root key: metadata reads, but key material does not open (DataLoss).
  std::filesystem::remove(root);
  auto store = OpenSqliteKeyStore(dir.path());
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->GetKey("k1").ok());
  EXPECT_EQ((*store)->GetBackingKey("k1", 1).status().code(), absl::StatusCode::kDataLoss);
}

// A child process creates keys as fast as it can and reports each acknowledged id on a pipe;
// the parent SIGKILLs it mid-stream. Every acknowledged key must be in the reopened store, with
// material that opens.
TEST(KeyStoreTest, AcknowledgedWritesSurviveSigkill) {
  for (int round = 0; round < 3; ++round) {
    TempDir dir;
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      auto store = OpenSqliteKeyStore(dir.path());
      if (!store.ok()) _exit(3);
      for (int i = 0;; ++i) {
        std::string id = "key-" + std::to_string(i);
        if (!(*store)->CreateKey(MakeKey(id), Material(static_cast<uint8_t>(i))).ok()) _exit(4);
        std::string line = id + "\n";
        if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
          _exit(5);
        }
      }
    }
    close(fds[1]);
    std::set<std::string> acked;
    std::string buf;
    char chunk[256];
    const size_t kill_after = 20 + static_cast<size_t>(round) * 15;
    while (acked.size() < kill_after) {
      ssize_t n = read(fds[0], chunk, sizeof(chunk));
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      size_t pos;
      while ((pos = buf.find('\n')) != std::string::npos) {
        acked.insert(buf.substr(0, pos));
        buf.erase(0, pos + 1);
      }
    }
    kill(pid, SIGKILL);
    // Drain whatever was acknowledged before the kill landed.
    ssize_t n;
    while ((n = read(fds[0], chunk, sizeof(chunk))) > 0) buf.append(chunk, static_cast<size_t>(n));
    size_t pos;
    while ((pos = buf.find('\n')) != std::string::npos) {
      acked.insert(buf.substr(0, pos));
      buf.erase(0, pos + 1);
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early: " << WEXITSTATUS(status);
    ASSERT_GE(acked.size(), kill_after);

    auto store = OpenSqliteKeyStore(dir.path());
    ASSERT_TRUE(store.ok()) << store.status();
    auto keys = (*store)->ListKeys();
    ASSERT_TRUE(keys.ok());
    std::set<std::string> present;
    for (const auto& k : *keys) present.insert(k.key_id);
    for (const auto& id : acked) {
      EXPECT_TRUE(present.count(id)) << id << " acknowledged but lost";
      EXPECT_TRUE((*store)->GetBackingKey(id, 1).ok()) << id;
    }
  }
}

}  // namespace
}  // namespace confide::kms
