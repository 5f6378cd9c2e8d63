#include "kms/identity.h"

#include <filesystem>
#include <string>
#include <vector>

#include "base/file.h"
#include "base/log.h"
#include "gtest/gtest.h"

namespace confide::kms {
namespace {

constexpr char kCanary[] = "CANARYsecretZ9f3xQ";

TEST(IdentityTest, ParsesToml) {
  std::string text = std::string(R"(# confide KMS identities
[[identity]]
access_key_id = "AKIAPARENT0000000001"
secret_access_key = ")") +
                     kCanary + R"("   # the parent's key
principal_arn = "arn:aws:iam::111122223333:role/parent"

[[identity]]
access_key_id = "AKIAADMIN00000000001"
secret_access_key = "s2"
principal_arn = "arn:aws:iam::111122223333:user/admin"
account = "111122223333"
session_token = "tok"
)";
  absl::StatusOr<IdentityStore> store = IdentityStore::Parse(text);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(store->size(), 2u);
  const Identity* parent = store->Find("AKIAPARENT0000000001");
  ASSERT_NE(parent, nullptr);
  EXPECT_EQ(parent->account, "111122223333");
  EXPECT_EQ(AsStringView(parent->secret_access_key.ExposeSecret()), kCanary);
  EXPECT_EQ(store->Find("AKIAADMIN00000000001")->session_token, "tok");
  EXPECT_EQ(store->Find("AKIANOBODY0000000001"), nullptr);
}

TEST(IdentityTest, ParsesJson) {
  absl::StatusOr<IdentityStore> store = IdentityStore::Parse(
      R"({"identities": [{"access_key_id": "AKIAPARENT0000000001", "secret_access_key": "x",
          "principal_arn": "arn:aws:iam::111122223333:root"}]})");
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(store->Find("AKIAPARENT0000000001")->principal_arn, "arn:aws:iam::111122223333:root");
}

TEST(IdentityTest, RejectsBadEntriesWithoutLeakingSecrets) {
  std::string secret_line = std::string("secret_access_key = \"") + kCanary + "\"\n";
  std::vector<std::string> bad = {
      "[[identity]]\naccess_key_id = \"lower0000000000001\"\n" + secret_line +
          "principal_arn = \"arn:aws:iam::111122223333:role/p\"\n",
      "[[identity]]\naccess_key_id = \"AKIAPARENT0000000001\"\n" + secret_line +
          "principal_arn = \"arn:aws:s3:::bucket\"\n",
      "[[identity]]\naccess_key_id = \"AKIAPARENT0000000001\"\n" + secret_line +
          "principal_arn = \"arn:aws:iam::111122223333:role/p\"\naccount = \"999999999999\"\n",
      "[[identity]]\naccess_key_id = \"AKIAPARENT0000000001\"\n" + secret_line +
          "principal_arn = \"arn:aws:iam::111122223333:role/p\"\ncolour = \"x\"\n",
      "[[identity]]\naccess_key_id = \"AKIAPARENT0000000001\"\n" + secret_line + secret_line,
      "[[identity]]\naccess_key_id = \"AKIAPARENT0000000001\"\n" + secret_line,
      "[[identity]]\naccess_key_id = AKIAPARENT0000000001\n" + secret_line,
      "access_key_id = \"AKIAPARENT0000000001\"\n",
      "[[identity]]\naccess_key_id = \"AKIAPARENT0000000001\"\n" + secret_line +
          "principal_arn = \"arn:aws:iam::111122223333:role/p\"\n[[identity]]\n"
          "access_key_id = \"AKIAPARENT0000000001\"\n" +
          secret_line + "principal_arn = \"arn:aws:iam::111122223333:role/p\"\n",
      std::string(R"({"identities": [{"access_key_id": 5}]})"),
      std::string(R"({"identities": [], "extra": 1})"),
      std::string(R"({"identities": [)"),
  };
  for (const std::string& text : bad) {
    absl::StatusOr<IdentityStore> store = IdentityStore::Parse(text);
    EXPECT_FALSE(store.ok()) << text;
    EXPECT_EQ(std::string(store.status().message()).find(kCanary), std::string::npos);
  }
}

TEST(IdentityTest, LoadLogsNoSecrets) {
  std::vector<std::string> lines;
  log::SetSink([&](std::string_view line) { lines.emplace_back(line); });
  log::SetLevel(log::Level::kDebug);
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("confide_kms_identity_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string good = std::string("[[identity]]\naccess_key_id = \"AKIAPARENT0000000001\"\n") +
                     "secret_access_key = \"" + kCanary + "\"\n" +
                     "principal_arn = \"arn:aws:iam::111122223333:role/parent\"\n";
  ASSERT_TRUE(base::WriteFileAtomic((dir / "ok.toml").string(), AsBytes(good), 0600).ok());
  ASSERT_TRUE(
      base::WriteFileAtomic((dir / "bad.toml").string(), AsBytes(good + "oops = " + kCanary), 0600)
          .ok());
  EXPECT_TRUE(IdentityStore::Load((dir / "ok.toml").string()).ok());
  EXPECT_FALSE(IdentityStore::Load((dir / "bad.toml").string()).ok());
  log::SetSink(nullptr);
  log::SetLevel(log::Level::kInfo);
  std::filesystem::remove_all(dir);
  EXPECT_GE(lines.size(), 2u);
  for (const std::string& line : lines) {
    EXPECT_EQ(line.find(kCanary), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace confide::kms
