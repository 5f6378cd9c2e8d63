#include "kms/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/encoding.h"
#include "base/file.h"
#include "base/log.h"
#include "crypto/sha.h"
#include "kms/internal/audit_event_json.h"
#include "nlohmann/json.hpp"

namespace confide::kms {
namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kMaxLineBytes = 64 * 1024;
// The log file is extended in zero-filled chunks ahead of the data, so that the fdatasync of a
// batch flushes data only: overwriting already-written blocks changes no file size and no extent,
// which on ext4/xfs spares a journal commit per batch (several times faster here). The padding
// is truncated on Close and on Open, and readers ignore trailing NUL bytes.
constexpr uint64_t kPreallocateBytes = 2 << 20;
constexpr size_t kMaxLogBytes = size_t{4} << 30;
const std::string kZeroHash(64, '0');

bool IsIdentifier(const std::string& s) {
  // The same rule as log::SafeText::Identifier: ids, ARNs, hex, names; never free text.
  if (s.size() > 2048) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '/' || c == '@' || c == '+' ||
                    c == '=' || c == ',' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::Status CheckEvent(const AuditEvent& e) {
  auto check = [](const std::string& s, const char* field) -> absl::Status {
    if (!IsIdentifier(s)) {
      return absl::InvalidArgumentError(
          absl::StrCat("audit event field '", field, "' is not an identifier"));
    }
    return absl::OkStatus();
  };
  if (e.event_name.empty()) return absl::InvalidArgumentError("audit event needs a name");
  RETURN_IF_ERROR(check(e.event_name, "eventName"));
  RETURN_IF_ERROR(check(e.principal, "principal"));
  RETURN_IF_ERROR(check(e.key_id, "keyId"));
  RETURN_IF_ERROR(check(e.request_id, "requestId"));
  RETURN_IF_ERROR(check(e.error_code, "errorCode"));
  RETURN_IF_ERROR(check(e.source_ip, "sourceIp"));
  for (const std::string& k : e.encryption_context_keys) {
    RETURN_IF_ERROR(check(k, "encryptionContextKeys"));
  }
  for (const auto& [k, v] : e.recipient) {
    RETURN_IF_ERROR(check(k, "recipient"));
    RETURN_IF_ERROR(check(v, "recipient"));
  }
  return absl::OkStatus();
}

std::string HashHex(std::string_view line) {
  return base::HexEncode(crypto::Sha256(AsBytes(line)));
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

absl::Status DataLoss(size_t line_no, const std::string& what) {
  return absl::DataLossError(absl::StrCat("audit log line ", line_no, ": ", what));
}

// Verifier walks lines in order. It is shared by VerifyAuditLog and AuditLog::Open.
struct ChainState {
  uint64_t seq = 0;
  std::string prev = kZeroHash;
  AuditVerification summary;
};

absl::Status VerifyLine(std::string_view line, size_t line_no,
                        const crypto::EcdsaPublicKey* public_key, ChainState& state) {
  if (line.size() > kMaxLineBytes) return DataLoss(line_no, "line is too long");
  Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return DataLoss(line_no, "not a JSON object");
  if (!j.contains("seq") || !j["seq"].is_number_unsigned() ||
      j["seq"].get<uint64_t>() != state.seq) {
    return DataLoss(line_no, absl::StrCat("expected seq ", state.seq,
                                          " (a line was removed, inserted or reordered)"));
  }
  if (!j.contains("prev") || !j["prev"].is_string() || j["prev"].get<std::string>() != state.prev) {
    return DataLoss(line_no, "hash chain broken (a previous line was edited or removed)");
  }
  if (j.contains("checkpoint")) {
    const Json& cp = j["checkpoint"];
    if (!cp.is_object() || !cp.contains("records") || !cp["records"].is_number_unsigned() ||
        cp["records"].get<uint64_t>() != state.summary.records) {
      return DataLoss(line_no, "checkpoint record count does not match the log");
    }
    if (!j.contains("signature") || !j["signature"].is_string()) {
      return DataLoss(line_no, "checkpoint is not signed");
    }
    if (public_key != nullptr) {
      auto sig = base::Base64Decode(j["signature"].get<std::string>());
      Json unsigned_line = j;
      unsigned_line.erase("signature");
      if (!sig.ok() ||
          !public_key->Verify(AsBytes(unsigned_line.dump()), *sig, crypto::SignatureFormat::kRaw)
               .ok()) {
        return DataLoss(line_no, "checkpoint signature does not verify");
      }
    }
    ++state.summary.checkpoints;
    state.summary.unanchored = 0;
  } else {
    if (!j.contains("eventName")) return DataLoss(line_no, "not an event or checkpoint");
    ++state.summary.records;
    ++state.summary.unanchored;
  }
  state.prev = HashHex(line);
  ++state.seq;
  return absl::OkStatus();
}

}  // namespace

struct AuditLog::Impl {
  Impl(crypto::EcdsaPrivateKey k, AuditLogOptions o) : key(std::move(k)), options(o) {}
  ~Impl() {
    if (fd >= 0) ::close(fd);
  }

  crypto::EcdsaPrivateKey key;
  AuditLogOptions options;
  mutable std::mutex mu;
  std::condition_variable idle_cv;  // a leader finished (Close waits for no leader)
  // batch_cv[b % 2]: waiters whose lines are in batch b. At most two batches are live (one being
  // synced, one filling), so a leader finishing batch b wakes exactly the requests it made
  // durable, plus one request of batch b + 1 to lead it — not every waiting handler thread.
  std::condition_variable batch_cv[2];
  int fd = -1;
  ChainState chain;             // guarded by mu; covers every line added (written or pending)
  std::string pending;          // guarded by mu: lines added but not yet written
  uint64_t lines_added = 0;     // guarded by mu
  uint64_t lines_synced = 0;    // guarded by mu
  uint64_t lines_at_open = 0;   // guarded by mu
  uint64_t syncs = 0;           // guarded by mu
  bool syncing = false;         // guarded by mu: a leader is writing and syncing a batch
  uint64_t batches_taken = 0;   // guarded by mu: batches a leader has taken (the next is this)
  uint64_t syncing_covers = 0;  // guarded by mu: lines_added when the syncing batch was taken
  // AppendAsync's requests, in line order: `done` runs once the line `target` is durable (or the
  // log broke), on whichever thread made it so, with mu released.
  struct Waiter {
    uint64_t target;
    std::function<void(absl::Status)> done;
  };
  std::deque<Waiter> async_waiters;  // guarded by mu
  // The flusher thread leads batches that only AppendAsync callers wait for (they never block).
  std::condition_variable flusher_cv;
  bool stopping = false;  // guarded by mu
  std::thread flusher;
  // Only the leader (or Open/Close, with no leader) touches these:
  uint64_t data_end = 0;       // file offset of the next line
  uint64_t allocated_end = 0;  // file size: data, then zero padding
  absl::Status broken;         // a failed write makes the log refuse further appends

  // AddLine chains `body` (a serialized JSON object without seq and prev) as the next line and
  // queues it for the next batch write. mu held. The line is
  // {"seq":N,"prev":"<hex>",<body's members>}: the same bytes ordered_json would produce.
  void AddLine(std::string_view body) {
    std::string text = absl::StrCat("{\"seq\":", chain.seq, ",\"prev\":\"", chain.prev, "\"",
                                    body.size() > 2 ? "," : "");
    text.append(body.substr(1));
    // Advance the chain exactly as VerifyLine does for an event line.
    chain.prev = HashHex(text);
    ++chain.seq;
    ++chain.summary.records;
    ++chain.summary.unanchored;
    pending.append(text);
    pending.push_back('\n');
    ++lines_added;
  }

  // AddEventLocked chains and queues a serialized event (and a checkpoint when one is due).
  // FailedPrecondition when closed; the write error once the log broke. mu held.
  absl::Status AddEventLocked(const std::string& body);

  // AddCheckpoint queues a signed checkpoint line. mu held.
  absl::Status AddCheckpoint() {
    RETURN_IF_ERROR(broken);
    Json line;
    line["seq"] = chain.seq;
    line["prev"] = chain.prev;
    line["checkpoint"] = Json{{"records", chain.summary.records}};
    line["eventTime"] = FormatRfc3339(absl::Now());
    ASSIGN_OR_RETURN(Bytes sig, key.Sign(AsBytes(line.dump()), crypto::SignatureFormat::kRaw));
    line["signature"] = base::Base64Encode(sig);
    std::string text = line.dump();
    ChainState next = chain;
    RETURN_IF_ERROR(VerifyLine(text, 0, nullptr, next));  // advances the counters
    chain = next;
    pending.append(text);
    pending.push_back('\n');
    ++lines_added;
    return absl::OkStatus();
  }

  // SyncThrough blocks until the first `target` lines are durable (group commit). The first
  // waiter becomes the leader: it takes every pending line, writes them with one write() and
  // makes them durable with one fdatasync, with mu released, while later requests queue the
  // next batch. mu held via `lock`.
  absl::Status SyncThrough(std::unique_lock<std::mutex>& lock, uint64_t target) {
    while (lines_synced < target) {
      RETURN_IF_ERROR(broken);
      if (syncing) {
        // In the batch being synced, or in the one filling behind it.
        const uint64_t batch = target <= syncing_covers ? batches_taken - 1 : batches_taken;
        batch_cv[batch % 2].wait(lock);
        continue;
      }
      RunBatch(lock);
    }
    return absl::OkStatus();
  }

  // RunBatch leads one batch: takes every pending line, writes and syncs them with mu released,
  // wakes the blocked writers it made durable (and one of the next batch, to lead it, or the
  // flusher), then runs the AppendAsync callbacks it completed, with mu released. mu held via
  // `lock` on entry and on return; no other leader may be running.
  void RunBatch(std::unique_lock<std::mutex>& lock) {
    syncing = true;
    const uint64_t index = batches_taken++;
    std::string batch;
    batch.swap(pending);
    const uint64_t covering = lines_added;
    syncing_covers = covering;
    lock.unlock();
    absl::Status st = WriteAndSync(batch);
    lock.lock();
    syncing = false;
    if (!st.ok()) {
      broken = st;
      batch_cv[(index + 1) % 2].notify_all();  // everyone behind fails too
    } else {
      lines_synced = covering;
      ++syncs;
      if (lines_added > covering) {
        batch_cv[(index + 1) % 2].notify_one();  // the next leader
        flusher_cv.notify_one();                 // or the flusher, for asynchronous lines
      }
    }
    batch_cv[index % 2].notify_all();
    idle_cv.notify_all();
    std::vector<Waiter> ready;
    while (!async_waiters.empty() &&
           (!broken.ok() || async_waiters.front().target <= lines_synced)) {
      ready.push_back(std::move(async_waiters.front()));
      async_waiters.pop_front();
    }
    if (ready.empty()) return;
    const absl::Status result = broken;
    lock.unlock();
    for (Waiter& w : ready) w.done(result);
    lock.lock();
  }

  // FlusherLoop leads batches while asynchronous appenders wait and no other leader runs, until
  // Close stops it (after draining).
  void FlusherLoop() {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      flusher_cv.wait(lock, [&] {
        return stopping || (!syncing && !async_waiters.empty() && lines_synced < lines_added);
      });
      if (stopping) return;
      // Let handler threads that are ready to append do so first: a bigger batch costs one
      // flush instead of several (each flush is a device round trip).
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
      if (stopping) return;
      if (syncing || lines_synced >= lines_added) continue;
      RunBatch(lock);
    }
  }

  // WriteAndSync writes `batch` at data_end, first extending the zero padding when it would not
  // fit, and makes it durable with one fdatasync. Called by the leader only.
  absl::Status WriteAndSync(std::string_view batch) {
    if (batch.empty()) return absl::OkStatus();
    if (data_end + batch.size() > allocated_end) {
      const uint64_t want = data_end + batch.size() + kPreallocateBytes;
      static const std::string* zeros = new std::string(64 * 1024, '\0');
      while (allocated_end < want) {
        const size_t n =
            static_cast<size_t>(std::min<uint64_t>(zeros->size(), want - allocated_end));
        RETURN_IF_ERROR(PwriteAll(std::string_view(zeros->data(), n), allocated_end));
        allocated_end += n;
      }
    }
    RETURN_IF_ERROR(PwriteAll(batch, data_end));
    if (::fdatasync(fd) != 0) {
      return absl::InternalError("audit log fsync failed; the log refuses further appends");
    }
    data_end += batch.size();
    return absl::OkStatus();
  }

  absl::Status PwriteAll(std::string_view bytes, uint64_t offset) const {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n =
          ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return absl::InternalError("audit log write failed; the log refuses further appends");
      }
      done += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }
};

AuditLog::AuditLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditLog::~AuditLog() {
  if (impl_ && impl_->fd >= 0) (void)Close();
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path,
                                                         crypto::EcdsaPrivateKey signing_key,
                                                         const AuditLogOptions& options) {
  if (options.checkpoint_every == 0) {
    return absl::InvalidArgumentError("audit log checkpoint_every must be at least 1");
  }
  if (signing_key.curve() != crypto::Curve::kP384) {
    return absl::InvalidArgumentError("audit log signing key must be P-384");
  }
  auto impl = std::make_unique<Impl>(std::move(signing_key), options);
  impl->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (impl->fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot open audit log ", path));
  }
  auto existing = base::ReadFileBounded(path, kMaxLogBytes);
  if (!existing.ok()) return existing.status();
  std::string_view text = AsStringView(*existing);
  size_t torn_bytes = 0;
  // After the last newline there may be zero padding (a server that did not Close) and, before
  // it, a torn line (a batch a crash interrupted: never acknowledged). Drop both.
  // Lines never contain a NUL byte (JSON escapes it), and every acknowledged line was flushed,
  // so the first NUL ends the acknowledged data even if a power loss persisted later blocks of
  // an unflushed batch but not earlier ones.
  const std::string_view before_nul = text.substr(0, text.find('\0'));
  const size_t complete =
      before_nul.rfind('\n') == std::string_view::npos ? 0 : before_nul.rfind('\n') + 1;
  if (complete != text.size()) {
    if (::ftruncate(impl->fd, static_cast<off_t>(complete)) != 0 || ::fdatasync(impl->fd) != 0) {
      return absl::InternalError(absl::StrCat("cannot truncate the tail of ", path));
    }
    std::string_view tail = text.substr(complete);
    for (char c : tail) torn_bytes += c != '\0' ? 1 : 0;
    if (torn_bytes > 0) log::Warning("audit.torn_tail_dropped", {{"bytes", torn_bytes}});
    text = text.substr(0, complete);
  }
  impl->data_end = complete;
  impl->allocated_end = complete;
  const crypto::EcdsaPublicKey pub = impl->key.PublicKey();
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    RETURN_IF_ERROR(VerifyLine(text.substr(0, nl), ++line_no, &pub, impl->chain));
    text.remove_prefix(nl + 1);
    ++impl->lines_added;
  }
  impl->lines_synced = impl->lines_added;
  impl->lines_at_open = impl->lines_added;
  if (torn_bytes > 0) {
    // The dropped bytes were a line a crash interrupted (never acknowledged: Append returns only
    // after its line is durable). Record the repair in the chain itself.
    Json j;
    j["eventTime"] = FormatRfc3339(absl::Now());
    j["eventName"] = "AuditLogTornTailDropped";
    j["principal"] = "confide-kms";
    j["droppedBytes"] = torn_bytes;
    std::unique_lock<std::mutex> lock(impl->mu);
    impl->AddLine(j.dump());
    RETURN_IF_ERROR(impl->SyncThrough(lock, impl->lines_added));
  }
  impl->flusher = std::thread([raw = impl.get()] { raw->FlusherLoop(); });
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(impl)));
}

namespace {}  // namespace

namespace internal {

// SerializeEvent returns the event's members as a JSON object (AddLine prepends seq and prev):
// the bytes ordered_json's dump() gives, written directly. CheckEvent has already limited every
// string to identifier characters, none of which JSON escapes, so each is copied verbatim.
std::string SerializeEvent(const AuditEvent& e) {
  std::string out;
  out.reserve(256);
  auto member = [&out](const char* name, const std::string& value) {
    absl::StrAppend(&out, out.empty() ? "{\"" : ",\"", name, "\":\"", value, "\"");
  };
  member("eventTime", FormatRfc3339(e.event_time));
  member("eventName", e.event_name);
  member("principal", e.principal);
  if (!e.key_id.empty()) member("keyId", e.key_id);
  member("requestId", e.request_id);
  if (!e.encryption_context_keys.empty()) {
    out.append(",\"encryptionContextKeys\":[");
    for (size_t i = 0; i < e.encryption_context_keys.size(); ++i) {
      absl::StrAppend(&out, i == 0 ? "\"" : ",\"", e.encryption_context_keys[i], "\"");
    }
    out.push_back(']');
  }
  if (!e.recipient.empty()) {
    out.append(",\"recipient\":{");
    bool first = true;
    for (const auto& [k, v] : e.recipient) {
      absl::StrAppend(&out, first ? "\"" : ",\"", k, "\":\"", v, "\"");
      first = false;
    }
    out.push_back('}');
  }
  if (!e.error_code.empty()) member("errorCode", e.error_code);
  if (!e.source_ip.empty()) member("sourceIp", e.source_ip);
  out.push_back('}');
  return out;
}

// SerializeEventWithJson is SerializeEvent through ordered_json (the reference it must equal).
std::string SerializeEventWithJson(const AuditEvent& e) {
  Json j;
  j["eventTime"] = FormatRfc3339(e.event_time);
  j["eventName"] = e.event_name;
  j["principal"] = e.principal;
  if (!e.key_id.empty()) j["keyId"] = e.key_id;
  j["requestId"] = e.request_id;
  if (!e.encryption_context_keys.empty()) j["encryptionContextKeys"] = e.encryption_context_keys;
  if (!e.recipient.empty()) {
    Json r = Json::object();
    for (const auto& [k, v] : e.recipient) r[k] = v;
    j["recipient"] = r;
  }
  if (!e.error_code.empty()) j["errorCode"] = e.error_code;
  if (!e.source_ip.empty()) j["sourceIp"] = e.source_ip;
  return j.dump();
}

}  // namespace internal

absl::Status AuditLog::Impl::AddEventLocked(const std::string& body) {
  if (fd < 0) return absl::FailedPreconditionError("audit log is closed");
  RETURN_IF_ERROR(broken);
  AddLine(body);
  if (chain.summary.unanchored >= options.checkpoint_every) RETURN_IF_ERROR(AddCheckpoint());
  return absl::OkStatus();
}

absl::Status AuditLog::Append(const AuditEvent& e) {
  RETURN_IF_ERROR(CheckEvent(e));
  // Serialize outside the lock; only chaining and queuing happen under it.
  const std::string body = internal::SerializeEvent(e);
  std::unique_lock<std::mutex> lock(impl_->mu);
  RETURN_IF_ERROR(impl_->AddEventLocked(body));
  return impl_->SyncThrough(lock, impl_->lines_added);
}

void AuditLog::AppendAsync(const std::vector<AuditEvent>& events,
                           std::function<void(absl::Status)> done) {
  std::vector<std::string> bodies;
  bodies.reserve(events.size());
  for (const AuditEvent& e : events) {
    if (absl::Status st = CheckEvent(e); !st.ok()) return done(st);
    bodies.push_back(internal::SerializeEvent(e));
  }
  std::unique_lock<std::mutex> lock(impl_->mu);
  absl::Status st =
      impl_->stopping ? absl::FailedPreconditionError("audit log is closed") : absl::OkStatus();
  for (const std::string& body : bodies) {
    if (st.ok()) st = impl_->AddEventLocked(body);
  }
  if (!st.ok()) {
    lock.unlock();
    return done(st);
  }
  impl_->async_waiters.push_back({impl_->lines_added, std::move(done)});
  if (!impl_->syncing) impl_->flusher_cv.notify_one();
}

absl::Status AuditLog::Checkpoint() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  if (impl_->fd < 0) return absl::FailedPreconditionError("audit log is closed");
  RETURN_IF_ERROR(impl_->AddCheckpoint());
  return impl_->SyncThrough(lock, impl_->lines_added);
}

absl::Status AuditLog::Close() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  if (impl_->fd < 0) return absl::OkStatus();
  absl::Status s;
  if (impl_->chain.summary.unanchored > 0) s = impl_->AddCheckpoint();
  if (s.ok()) s = impl_->SyncThrough(lock, impl_->lines_added);
  // Wait for a leader still writing (it uses fd with mu released).
  impl_->idle_cv.wait(lock, [&] { return !impl_->syncing; });
  // Asynchronous appenders were all answered by the last batch (or failed with the log); stop
  // the flusher (after a broken write, fail whoever is left).
  impl_->stopping = true;
  impl_->flusher_cv.notify_all();
  std::vector<Impl::Waiter> left;
  for (Impl::Waiter& w : impl_->async_waiters) left.push_back(std::move(w));
  impl_->async_waiters.clear();
  lock.unlock();
  if (impl_->flusher.joinable()) impl_->flusher.join();
  for (Impl::Waiter& w : left) w.done(s.ok() ? absl::InternalError("audit log closed") : s);
  lock.lock();
  if (s.ok() && impl_->allocated_end != impl_->data_end) {
    // Drop the zero padding: a closed log ends with its last line.
    if (::ftruncate(impl_->fd, static_cast<off_t>(impl_->data_end)) != 0 ||
        ::fdatasync(impl_->fd) != 0) {
      s = absl::InternalError("audit log: cannot truncate the padding on close");
    }
  }
  ::close(impl_->fd);
  impl_->fd = -1;
  return s;
}

uint64_t AuditLog::next_seq() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->chain.seq;
}

AuditLogStats AuditLog::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return AuditLogStats{impl_->lines_synced - impl_->lines_at_open, impl_->syncs};
}

absl::StatusOr<AuditVerification> VerifyAuditLog(ByteSpan contents,
                                                 const crypto::EcdsaPublicKey* public_key) {
  std::string_view text = AsStringView(contents);
  // Zero padding after the data is the preallocated space of a log still open (or of a server
  // that crashed); it holds no record.
  while (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  if (!text.empty() && text.back() != '\n') {
    return DataLoss(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1,
                    "torn last line (no newline)");
  }
  ChainState state;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    RETURN_IF_ERROR(VerifyLine(text.substr(0, nl), ++line_no, public_key, state));
    text.remove_prefix(nl + 1);
  }
  return state.summary;
}

}  // namespace confide::kms
