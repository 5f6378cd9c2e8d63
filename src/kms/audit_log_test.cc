#include "kms/audit_log.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "base/encoding.h"
#include "base/file.h"
#include "crypto/sha.h"
#include "gtest/gtest.h"
#include "kms/internal/audit_event_json.h"
#include "nlohmann/json.hpp"

namespace confide::kms {
namespace {

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("confide_audit_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".jsonl"))
                .string();
    std::filesystem::remove(path_);
    auto key = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384);
    key_pem_ = std::string(AsStringView(key->Pem().ExposeSecret()));
    pub_.emplace(key->PublicKey());
  }
  void TearDown() override { std::filesystem::remove(path_); }

  std::unique_ptr<AuditLog> OpenLog(size_t every = 4) {
    auto key = crypto::EcdsaPrivateKey::FromPem(key_pem_);
    auto log = AuditLog::Open(path_, *std::move(key), {every});
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }
  static AuditEvent Event(int i) {
    AuditEvent e;
    e.event_time = absl::FromUnixSeconds(1795305600 + i);
    e.event_name = i % 2 ? "Decrypt" : "GenerateDataKey";
    e.principal = "arn:aws:iam::111122223333:role/parent";
    e.key_id = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    e.request_id = "req-" + std::to_string(i);
    e.encryption_context_keys = {"tenant", "purpose"};
    e.recipient = {{"PCR0", std::string(96, 'a')}};
    if (i % 5 == 0) e.error_code = "AccessDeniedException";
    return e;
  }
  std::vector<std::string> Lines() {
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  void WriteLines(const std::vector<std::string>& lines) {
    std::ofstream out(path_, std::ios::trunc);
    for (const auto& l : lines) out << l << "\n";
  }
  absl::StatusOr<AuditVerification> Verify() {
    auto bytes = base::ReadFileBounded(path_, 1 << 26);
    if (!bytes.ok()) return bytes.status();
    return VerifyAuditLog(*bytes, &*pub_);
  }

  std::string path_;
  std::string key_pem_;
  std::optional<crypto::EcdsaPublicKey> pub_;
};

TEST_F(AuditLogTest, ChainAndCheckpointsVerify) {
  auto log = OpenLog(4);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append(Event(i)).ok());
  ASSERT_TRUE(log->Close().ok());
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->records, 10u);
  EXPECT_EQ(v->checkpoints, 3u);  // after 4, after 8, and on close
  EXPECT_EQ(v->unanchored, 0u);
  // No free text in any line: only the fields we wrote.
  for (const std::string& l : Lines()) EXPECT_EQ(l.find("\"plaintext\""), std::string::npos);
}

TEST_F(AuditLogTest, EveryEditDeletionInsertionAndReorderIsDetected) {
  auto log = OpenLog(4);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append(Event(i)).ok());
  ASSERT_TRUE(log->Close().ok());
  const std::vector<std::string> good = Lines();
  ASSERT_EQ(good.size(), 13u);
  for (size_t i = 0; i < good.size(); ++i) {
    // Edit: change one character inside the line.
    auto edited = good;
    edited[i][edited[i].size() / 2] ^= 1;
    WriteLines(edited);
    EXPECT_FALSE(Verify().ok()) << "edit of line " << i;
    // Delete.
    auto deleted = good;
    deleted.erase(deleted.begin() + static_cast<long>(i));
    WriteLines(deleted);
    if (i + 1 < good.size()) {
      auto s = Verify();
      EXPECT_FALSE(s.ok()) << "deletion of line " << i;
    }
    // Duplicate (insertion).
    auto inserted = good;
    inserted.insert(inserted.begin() + static_cast<long>(i), good[i]);
    WriteLines(inserted);
    EXPECT_FALSE(Verify().ok()) << "duplicate of line " << i;
    // Swap with the next line.
    if (i + 1 < good.size()) {
      auto swapped = good;
      std::swap(swapped[i], swapped[i + 1]);
      WriteLines(swapped);
      EXPECT_FALSE(Verify().ok()) << "swap of line " << i;
    }
  }
}

TEST_F(AuditLogTest, RewritingHistoryWithRecomputedHashesFailsTheSignature) {
  auto log = OpenLog(100);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->Append(Event(i)).ok());
  ASSERT_TRUE(log->Close().ok());
  // An attacker without the signing key rewrites line 2 and re-chains every later line.
  std::vector<std::string> lines = Lines();
  auto key = crypto::EcdsaPrivateKey::Generate(crypto::Curve::kP384);  // not the log's key
  std::string prev;
  for (size_t i = 0; i < lines.size(); ++i) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(lines[i]);
    if (i == 2) j["errorCode"] = "None";
    if (i > 0) j["prev"] = prev;
    if (j.contains("signature")) {
      j.erase("signature");
      j["signature"] =
          base::Base64Encode(*key->Sign(AsBytes(j.dump()), crypto::SignatureFormat::kRaw));
    }
    lines[i] = j.dump();
    prev = base::HexEncode(crypto::Sha256(AsBytes(lines[i])));
  }
  WriteLines(lines);
  auto v = Verify();
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(absl::StrContains(v.status().message(), "signature")) << v.status();
}

TEST_F(AuditLogTest, ReopenContinuesAndDropsATornTail) {
  {
    auto log = OpenLog(3);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(log->Append(Event(i)).ok());
    // No Close: simulate a crash that also tore a half-written line.
  }
  {
    std::ofstream out(path_, std::ios::app);
    out << R"({"seq":99,"prev":"00)";
  }
  auto log = OpenLog(3);
  ASSERT_NE(log, nullptr);
  for (int i = 4; i < 7; ++i) ASSERT_TRUE(log->Append(Event(i)).ok());
  ASSERT_TRUE(log->Close().ok());
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.status();
  // 7 events and the repair record that Open chained in place of the torn bytes.
  EXPECT_EQ(v->records, 8u);
  size_t repairs = 0;
  for (const std::string& l : Lines()) {
    if (absl::StrContains(l, R"("eventName":"AuditLogTornTailDropped")")) {
      ++repairs;
      EXPECT_TRUE(absl::StrContains(l, R"("droppedBytes":20)")) << l;
    }
  }
  EXPECT_EQ(repairs, 1u);
  // A broken chain refuses to open (no silent continuation of a tampered log).
  auto lines = Lines();
  lines[1][lines[1].size() / 2] ^= 1;
  WriteLines(lines);
  auto key = crypto::EcdsaPrivateKey::FromPem(key_pem_);
  auto reopened = AuditLog::Open(path_, *std::move(key));
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(AuditLogTest, ZeroPaddingOfAnUnclosedLogIsIgnoredAndTruncated) {
  absl::StatusOr<Bytes> bytes;
  {
    auto log = OpenLog(100);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->Append(Event(i)).ok());
    // What a crash leaves: the file as it is while open, with its preallocated zero padding.
    bytes = base::ReadFileBounded(path_, 1 << 26);
  }
  ASSERT_TRUE(bytes.ok());
  ASSERT_TRUE(base::WriteFileAtomic(path_, *bytes, 0600).ok());
  ASSERT_FALSE(bytes->empty());
  EXPECT_EQ(bytes->back(), 0) << "expected zero padding after the data";
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->records, 3u);
  auto log = OpenLog(100);  // padding only: nothing torn, nothing to record
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->next_seq(), 3u);
  ASSERT_TRUE(log->Append(Event(3)).ok());
  ASSERT_TRUE(log->Close().ok());
  bytes = base::ReadFileBounded(path_, 1 << 26);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->back(), '\n') << "Close truncates the padding";
  v = Verify();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->records, 4u);
  EXPECT_EQ(v->unanchored, 0u);
}

TEST_F(AuditLogTest, AHoleAfterTheAcknowledgedDataEndsIt) {
  {
    auto log = OpenLog(100);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->Append(Event(i)).ok());
  }
  // A power loss can persist a later block of an unflushed batch but not an earlier one:
  // zeros, then a line fragment. Everything from the first zero on was never acknowledged.
  {
    std::ofstream out(path_, std::ios::app | std::ios::binary);
    out << std::string(100, '\0') << R"(ext","eventName":"Decrypt"})"
        << "\n"
        << std::string(50, '\0');
  }
  auto log = OpenLog(100);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->next_seq(), 5u);  // 3 events, the closing checkpoint, the repair record
  ASSERT_TRUE(log->Close().ok());
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->records, 4u);
}

TEST_F(AuditLogTest, ConcurrentAppendsShareFsyncsAndStayChained) {
  auto log = OpenLog(50);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) ASSERT_TRUE(log->Append(Event(t * 1000 + i)).ok());
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(log->Close().ok());
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->records, 800u);
}

TEST_F(AuditLogTest, FreeTextIsRefused) {
  auto log = OpenLog();
  AuditEvent e = Event(1);
  e.principal = "the patient John Doe";
  EXPECT_EQ(log->Append(e).code(), absl::StatusCode::kInvalidArgument);
  e = Event(1);
  e.encryption_context_keys = {"ok", "has space"};
  EXPECT_EQ(log->Append(e).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log->next_seq(), 0u);  // nothing was written
}

TEST_F(AuditLogTest, DirectSerializationEqualsOrderedJson) {
  for (int i = 0; i < 200; ++i) {
    AuditEvent e = Event(i);
    e.event_time = absl::FromUnixMicros(1795305600000000 + int64_t{i} * 7777777);
    if (i % 3 == 0) e.key_id.clear();
    if (i % 4 == 0) e.encryption_context_keys.clear();
    if (i % 6 == 0) e.recipient.clear();
    if (i % 7 == 0) e.recipient = {{"PCR8", "ab"}, {"ImageSha384", "cd"}, {"PCR0", "ef"}};
    if (i % 2 == 0) e.source_ip = "10.0.0." + std::to_string(i);
    EXPECT_EQ(internal::SerializeEvent(e), internal::SerializeEventWithJson(e)) << i;
  }
}

// Asynchronous appends, interleaved with blocking ones from other threads: every callback runs
// once, with OK, only after its line is on disk (the file already holds it when the callback
// runs), and the chain verifies.
TEST_F(AuditLogTest, AsyncAppendsCompleteOnceDurableAndInterleaveWithBlockingOnes) {
  auto log = OpenLog(25);
  constexpr int kAsync = 400;
  std::atomic<int> ok{0}, failed{0}, missing{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAsync / 4; ++i) {
        AuditEvent e = Event(t * 1000 + i);
        e.request_id = "async-" + std::to_string(t) + "-" + std::to_string(i);
        const std::string id = e.request_id;
        log->AppendAsync({e}, [&, id](absl::Status st) {
          if (!st.ok()) {
            ++failed;
            return;
          }
          auto bytes = base::ReadFileBounded(path_, 1 << 26);
          if (!bytes.ok() ||
              std::string(AsStringView(*bytes)).find("\"" + id + "\"") == std::string::npos) {
            ++missing;
          }
          ++ok;
        });
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(log->Append(Event(9000 + i)).ok());
  });
  for (auto& th : threads) th.join();
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(ok.load(), kAsync);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(missing.load(), 0);
  auto v = Verify();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->records, static_cast<uint64_t>(kAsync + 50));
}

TEST_F(AuditLogTest, AsyncAppendFailsAtOnceForFreeTextAndAfterClose) {
  auto log = OpenLog();
  AuditEvent bad = Event(1);
  bad.principal = "free text";
  absl::Status got = absl::OkStatus();
  int calls = 0;
  // Both events or neither: the valid first one must not be written either.
  log->AppendAsync({Event(0), bad}, [&](absl::Status st) {
    got = st;
    ++calls;
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log->next_seq(), 0u);
  ASSERT_TRUE(log->Close().ok());
  log->AppendAsync({Event(2)}, [&](absl::Status st) {
    got = st;
    ++calls;
  });
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(got.code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace confide::kms
