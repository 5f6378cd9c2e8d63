// Crash test of `confide kms serve`: SIGKILL at random moments under concurrent load, then check
// that everything the server acknowledged (HTTP 200 received) survived.
//
//   kms_crash_test --confide PATH [--kills N] [--workers W] [--seed S] [--max-run-ms M]
//
// Each cycle starts the real binary on a fresh port over the same data directory, checks the
// state against what was acknowledged so far, checks the audit log with `confide audit verify`,
// then runs W client threads (CreateKey, PutKeyPolicy, EnableKeyRotation, RotateKeyOnDemand,
// ScheduleKeyDeletion, Encrypt, GenerateDataKey) and kills the server with SIGKILL after a
// random delay. A request in flight at the kill is "maybe applied": both outcomes are accepted,
// and whichever the store shows at the next start becomes the expected state. At the end the
// server is stopped with SIGTERM and the log (now closed with a signed checkpoint) is verified
// once more. Exit 0 when every check passed; 1 with the failures listed.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kms/client.h"
#include "nlohmann/json.hpp"

namespace {

using confide::Bytes;
using confide::SecretBytes;
using confide::kms::EncryptionContext;
using confide::kms::KmsClient;
using Json = nlohmann::json;

constexpr char kAccessKeyId[] = "AKIACRASH00000000001";
constexpr char kSecret[] = "crash-test-secret";
constexpr char kAccount[] = "111122223333";

struct Args {
  std::string confide;
  int kills = 15;
  int workers = 6;
  uint64_t seed = 0;  // 0: from the clock (printed, so a failure can be replayed)
  int max_run_ms = 400;
};

// Failures are collected, printed and make the exit status 1.
std::mutex g_fail_mu;
std::vector<std::string> g_failures;
void Fail(const std::string& what) {
  std::lock_guard<std::mutex> lock(g_fail_mu);
  if (g_failures.size() < 50) std::cerr << "FAIL: " << what << "\n";
  g_failures.push_back(what);
}

std::string PolicyText(const std::string& sid) {
  return Json{
      {"Version", "2012-10-17"},
      {"Statement",
       Json::array({Json{{"Sid", sid},
                         {"Effect", "Allow"},
                         {"Principal", {{"AWS", absl::StrCat("arn:aws:iam::", kAccount, ":root")}}},
                         {"Action", "kms:*"},
                         {"Resource", "*"}}})}}
      .dump();
}

struct Cipher {
  Bytes blob;
  Bytes plaintext;
  EncryptionContext ctx;
};

// KeyModel is what the acknowledged history says about one key. Only one worker touches a key.
struct KeyModel {
  std::string id;
  std::string policy_sid;                // the acknowledged policy's Sid; empty: default policy
  std::optional<std::string> maybe_sid;  // a PutKeyPolicy in flight at a kill
  bool rotation = false;                 // EnableKeyRotation acknowledged
  bool maybe_rotation = false;
  bool deletion = false;  // ScheduleKeyDeletion acknowledged
  bool maybe_deletion = false;
  std::vector<Cipher> ciphers;  // acknowledged Encrypt / GenerateDataKey results
  size_t ciphers_checked = 0;   // ciphers[0..ciphers_checked) decrypted after a restart
  bool checked_once = false;
};

struct Counts {
  std::map<std::string, uint64_t> acked;
  uint64_t unacked = 0;
  uint64_t ciphertexts_checked = 0;
  uint64_t keys_checked = 0;
  uint64_t audit_verifications = 0;
};

struct Server {
  pid_t pid = -1;
  uint16_t port = 0;
};

// StartServer runs `confide kms serve` on port 0 and reads the port from its first line. With
// `kill_after_ms` it instead SIGKILLs the server that many milliseconds after the exec, during
// its start (opening the store, repairing and verifying the audit log), and returns nullopt.
std::optional<Server> StartServer(const Args& a, const std::string& dir, int kill_after_ms = -1) {
  int out[2];
  if (pipe(out) != 0) return std::nullopt;
  pid_t pid = fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    dup2(out[1], 1);
    int err = open((dir + "/server.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (err >= 0) dup2(err, 2);
    close(out[0]);
    close(out[1]);
    execl(a.confide.c_str(), a.confide.c_str(), "kms", "serve", "--listen", "127.0.0.1:0",
          "--data-dir", dir.c_str(), "--identities", (dir + "/ids.toml").c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  if (kill_after_ms >= 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    close(out[0]);
    return std::nullopt;
  }
  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
  close(out[0]);  // the server's later stdout writes (none) would get EPIPE, not block
  const std::string prefix = "kms listening on http://127.0.0.1:";
  if (line.rfind(prefix, 0) != 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    Fail(absl::StrCat("server did not start (see ", dir, "/server.log): '", line, "'"));
    return std::nullopt;
  }
  Server s;
  s.pid = pid;
  s.port = static_cast<uint16_t>(std::stoi(line.substr(prefix.size())));
  return s;
}

KmsClient MakeClient(uint16_t port) {
  confide::kms::KmsCredentials creds;
  creds.access_key_id = kAccessKeyId;
  creds.secret_access_key = SecretBytes::CopyFrom(confide::ToBytes(std::string(kSecret)));
  return KmsClient(confide::kms::NewTcpKmsTransport("127.0.0.1", port, absl::Seconds(10)),
                   std::move(creds), "us-east-1", absl::StrCat("127.0.0.1:", port));
}

// Check compares the store with the model after a restart and resolves maybe-applied requests.
// Every new ciphertext is decrypted after the first restart that follows it; older ones are
// sampled (all of them when `full`), so long soaks stay linear.
void Check(const KmsClient& client, KeyModel& k, Counts& counts, bool full, std::mt19937_64& rng) {
  const bool settled = k.checked_once && !k.maybe_sid && !k.maybe_rotation && !k.maybe_deletion &&
                       k.ciphers_checked == k.ciphers.size();
  if (!full && settled && rng() % 8 != 0) return;
  k.checked_once = true;
  ++counts.keys_checked;
  auto described = client.Call("DescribeKey", {{"KeyId", k.id}});
  if (!described.ok()) {
    Fail(absl::StrCat("acknowledged key ", k.id, " is gone: ", described.status().ToString()));
    return;
  }
  const std::string state = (*described)["KeyMetadata"].value("KeyState", "");
  if (state == "PendingDeletion") {
    if (!k.deletion && !k.maybe_deletion) Fail(absl::StrCat("key ", k.id, " pending deletion"));
    k.deletion = true;
  } else if (k.deletion) {
    Fail(absl::StrCat("acknowledged ScheduleKeyDeletion of ", k.id, " lost (state ", state, ")"));
  }
  k.maybe_deletion = false;
  if (k.deletion) return;  // no further use of the key

  auto policy = client.Call("GetKeyPolicy", {{"KeyId", k.id}});
  if (!policy.ok()) {
    Fail(absl::StrCat("GetKeyPolicy ", k.id, ": ", policy.status().ToString()));
  } else {
    Json p = Json::parse((*policy).value("Policy", ""), nullptr, false);
    std::string sid;
    if (p.is_object() && p.contains("Statement") && p["Statement"].is_array() &&
        !p["Statement"].empty() && p["Statement"][0].is_object()) {
      sid = p["Statement"][0].value("Sid", "");
    }
    // Our policies have Sids "w<worker>p<n>"; the default policy has another.
    const bool ours = sid.size() > 1 && sid[0] == 'w' && sid.find('p') != std::string::npos;
    if (k.maybe_sid && sid == *k.maybe_sid) {
      k.policy_sid = sid;
    } else if (k.policy_sid.empty() ? ours : sid != k.policy_sid) {
      Fail(
          absl::StrCat("key ", k.id, " policy Sid '", sid, "', acknowledged '", k.policy_sid, "'"));
    }
    k.maybe_sid.reset();
  }
  auto rotation = client.Call("GetKeyRotationStatus", {{"KeyId", k.id}});
  if (!rotation.ok()) {
    Fail(absl::StrCat("GetKeyRotationStatus ", k.id, ": ", rotation.status().ToString()));
  } else {
    const bool on = (*rotation).value("KeyRotationEnabled", false);
    if (k.rotation && !on) Fail(absl::StrCat("acknowledged EnableKeyRotation of ", k.id, " lost"));
    if (on && !k.rotation && !k.maybe_rotation) {
      Fail(absl::StrCat("key ", k.id, " has rotation on that nobody asked for"));
    }
    k.rotation = on || k.rotation;
    k.maybe_rotation = false;
  }
  for (size_t i = 0; i < k.ciphers.size(); ++i) {
    if (!full && i < k.ciphers_checked && rng() % 16 != 0) continue;
    const Cipher& c = k.ciphers[i];
    ++counts.ciphertexts_checked;
    auto pt = client.Decrypt(c.blob, c.ctx);
    if (!pt.ok()) {
      Fail(absl::StrCat("acknowledged ciphertext of ", k.id,
                        " no longer decrypts: ", pt.status().ToString()));
    } else if (!std::equal(pt->ExposeSecret().begin(), pt->ExposeSecret().end(),
                           c.plaintext.begin(), c.plaintext.end())) {
      Fail(absl::StrCat("ciphertext of ", k.id, " decrypts to other bytes"));
    }
  }
  k.ciphers_checked = k.ciphers.size();
}

// Acked returns whether `s` is an acknowledgement. A transport error (the server was killed) is
// "not acknowledged"; any other error is a failure of the test.
bool Acked(const absl::Status& s, const std::string& op) {
  if (s.ok()) return true;
  if (s.code() != absl::StatusCode::kUnavailable &&
      s.code() != absl::StatusCode::kDeadlineExceeded) {
    Fail(absl::StrCat(op, " failed with a KMS error: ", s.ToString()));
  }
  return false;
}

// Worker owns keys and runs random operations until a request fails (the server was killed).
struct Worker {
  int index = 0;
  std::mt19937_64 rng;
  std::vector<KeyModel> keys;
  uint64_t policy_counter = 0;
  std::map<std::string, uint64_t> acked;
  uint64_t unacked = 0;

  void Run(uint16_t port, const std::atomic<bool>& stop) {
    KmsClient client = MakeClient(port);
    while (!stop.load()) {
      if (!Step(client)) {
        ++unacked;
        return;
      }
    }
  }

  KeyModel* RandomLiveKey() {
    std::vector<KeyModel*> live;
    for (KeyModel& k : keys) {
      if (!k.deletion && !k.maybe_deletion) live.push_back(&k);
    }
    if (live.empty()) return nullptr;
    return live[rng() % live.size()];
  }

  // Step runs one operation; false when it was not acknowledged.
  bool Step(const KmsClient& client) {
    KeyModel* k = RandomLiveKey();
    const int pick = static_cast<int>(rng() % 100);
    if (k == nullptr || pick < 12) {
      auto id = client.CreateKey(absl::StrCat("crash-w", index), std::nullopt);
      if (!Acked(id.status(), "CreateKey")) return false;
      keys.emplace_back();
      keys.back().id = *id;
      ++acked["CreateKey"];
      return true;
    }
    if (pick < 22) {
      const std::string sid = absl::StrCat("w", index, "p", ++policy_counter);
      k->maybe_sid = sid;
      auto r =
          client.Call("PutKeyPolicy",
                      {{"KeyId", k->id}, {"PolicyName", "default"}, {"Policy", PolicyText(sid)}});
      if (!Acked(r.status(), "PutKeyPolicy")) return false;
      k->policy_sid = sid;
      k->maybe_sid.reset();
      ++acked["PutKeyPolicy"];
      return true;
    }
    if (pick < 28) {
      k->maybe_rotation = true;
      if (!Acked(client.Call("EnableKeyRotation", {{"KeyId", k->id}}).status(),
                 "EnableKeyRotation")) {
        return false;
      }
      k->rotation = true;
      k->maybe_rotation = false;
      ++acked["EnableKeyRotation"];
      return true;
    }
    if (pick < 36) {
      if (!Acked(client.Call("RotateKeyOnDemand", {{"KeyId", k->id}}).status(),
                 "RotateKeyOnDemand")) {
        return false;
      }
      ++acked["RotateKeyOnDemand"];
      return true;
    }
    if (pick < 40) {
      // Deletion goes to a key made for it, so the keys that hold ciphertexts stay usable.
      auto id = client.CreateKey(absl::StrCat("crash-w", index, "-doomed"), std::nullopt);
      if (!Acked(id.status(), "CreateKey")) return false;
      keys.emplace_back();
      keys.back().id = *id;
      ++acked["CreateKey"];
      KeyModel& doomed = keys.back();
      doomed.maybe_deletion = true;
      if (!Acked(
              client.Call("ScheduleKeyDeletion", {{"KeyId", doomed.id}, {"PendingWindowInDays", 7}})
                  .status(),
              "ScheduleKeyDeletion")) {
        return false;
      }
      doomed.deletion = true;
      doomed.maybe_deletion = false;
      ++acked["ScheduleKeyDeletion"];
      return true;
    }
    EncryptionContext ctx = {{"worker", std::to_string(index)}};
    if (pick < 70) {
      Bytes pt(1 + rng() % 64);
      for (auto& b : pt) b = static_cast<uint8_t>(rng());
      auto blob = client.Encrypt(k->id, pt, ctx);
      if (!Acked(blob.status(), "Encrypt")) return false;
      k->ciphers.push_back(Cipher{*std::move(blob), pt, ctx});
      ++acked["Encrypt"];
      return true;
    }
    auto dk = client.GenerateDataKey(k->id, ctx);
    if (!Acked(dk.status(), "GenerateDataKey")) return false;
    const auto& secret = dk->plaintext.ExposeSecret();
    k->ciphers.push_back(Cipher{dk->ciphertext_blob, Bytes(secret.begin(), secret.end()), ctx});
    ++acked["GenerateDataKey"];
    return true;
  }
};

bool RunAuditVerify(const Args& a, const std::string& dir) {
  const std::string cmd =
      absl::StrCat("'", a.confide, "' audit verify '", dir, "/audit.log' --public-key '", dir,
                   "/audit-signing-key.pub.pem' >'", dir, "/verify.out' 2>&1");
  int rc = std::system(cmd.c_str());
  if (rc != 0) {
    std::ifstream in(dir + "/verify.out");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Fail(absl::StrCat("confide audit verify rejected the log: ", text));
    return false;
  }
  return true;
}

int Usage() {
  std::cerr << "usage: kms_crash_test --confide PATH [--kills N] [--workers W] [--seed S] "
               "[--max-run-ms M]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (i + 1 >= argc) return Usage();
    std::string v = argv[++i];
    if (f == "--confide") {
      a.confide = v;
    } else if (f == "--kills") {
      a.kills = std::atoi(v.c_str());
    } else if (f == "--workers") {
      a.workers = std::atoi(v.c_str());
    } else if (f == "--seed") {
      a.seed = std::strtoull(v.c_str(), nullptr, 10);
    } else if (f == "--max-run-ms") {
      a.max_run_ms = std::atoi(v.c_str());
    } else {
      return Usage();
    }
  }
  if (a.confide.empty() || a.kills < 1 || a.workers < 1 || a.max_run_ms < 1) return Usage();
  signal(SIGPIPE, SIG_IGN);
  if (a.seed == 0) {
    a.seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  std::mt19937_64 rng(a.seed);
  std::string dir = (std::filesystem::temp_directory_path() / "confide_kms_crash_XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) {
    std::cerr << "cannot create a temporary directory\n";
    return 1;
  }
  std::ofstream(dir + "/ids.toml")
      << "[[identity]]\naccess_key_id = \"" << kAccessKeyId << "\"\nsecret_access_key = \""
      << kSecret << "\"\nprincipal_arn = \"arn:aws:iam::" << kAccount << ":role/admin\"\n";
  std::cout << "kms crash test: " << a.kills << " kills, " << a.workers << " workers, seed "
            << a.seed << ", data dir " << dir << std::endl;

  std::vector<Worker> workers(static_cast<size_t>(a.workers));
  for (size_t i = 0; i < workers.size(); ++i) {
    workers[i].index = static_cast<int>(i);
    workers[i].rng.seed(a.seed + i + 1);
  }
  Counts counts;
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t startup_kills = 0;
  for (int cycle = 0; cycle <= a.kills && g_failures.empty(); ++cycle) {
    if (cycle > 0 && rng() % 6 == 0) {
      // Sometimes the restart itself is killed, at a random moment of its start-up.
      ++startup_kills;
      StartServer(a, dir, static_cast<int>(rng() % 40));
    }
    auto server = StartServer(a, dir);
    if (!server) break;
    {
      KmsClient client = MakeClient(server->port);
      for (Worker& w : workers) {
        for (KeyModel& k : w.keys) Check(client, k, counts, cycle == a.kills, rng);
      }
    }
    if (cycle > 0) {
      ++counts.audit_verifications;
      RunAuditVerify(a, dir);
    }
    if (cycle == a.kills) {
      // Final: a clean stop closes the log with a signed checkpoint; verify that too.
      kill(server->pid, SIGTERM);
      int status = 0;
      waitpid(server->pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Fail("server did not stop cleanly");
      ++counts.audit_verifications;
      RunAuditVerify(a, dir);
      break;
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (Worker& w : workers)
      threads.emplace_back([&w, &server, &stop] { w.Run(server->port, stop); });
    // Mostly kill under load; sometimes right after the start (the log was just repaired).
    const int delay_ms =
        rng() % 5 == 0 ? static_cast<int>(rng() % 5) : 20 + static_cast<int>(rng() % a.max_run_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(server->pid, SIGKILL);
    waitpid(server->pid, nullptr, 0);
    stop.store(true);
    for (auto& t : threads) t.join();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const Worker& w : workers) {
    for (const auto& [op, n] : w.acked) counts.acked[op] += n;
    counts.unacked += w.unacked;
  }
  uint64_t total = 0;
  std::cout << "acknowledged:";
  for (const auto& [op, n] : counts.acked) {
    std::cout << " " << op << "=" << n;
    total += n;
  }
  std::cout << " (total " << total << "); unacknowledged at kills: " << counts.unacked << "\n";
  std::cout << "checked after restarts: " << counts.keys_checked << " key states, "
            << counts.ciphertexts_checked << " ciphertext decryptions, "
            << counts.audit_verifications << " audit log verifications; " << startup_kills
            << " extra kills during start-up; " << seconds << " s\n";
  if (!g_failures.empty()) {
    std::cout << g_failures.size() << " failures; data dir kept: " << dir << "\n";
    return 1;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::cout << "kms crash test passed: " << a.kills << " kills\n";
  return 0;
}
