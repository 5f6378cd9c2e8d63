// confide::kms audit log: every key operation, allowed or denied, as a hash-chained JSON line,
// with periodic signed checkpoints (DESIGN.md §4).
//
// Each line is one JSON object. Every line holds "seq" (0, 1, 2, ...) and "prev", the SHA-256
// (hex) of the previous line's bytes (64 zeros for the first line), so an edited, deleted,
// inserted or reordered line breaks the chain. Every `checkpoint_every` records (and on Close)
// a checkpoint line is appended whose "signature" is ECDSA P-384 over the line without its
// signature field, made with the log's signing key: a verifier holding the public key detects
// any rewrite of the history up to the last checkpoint, even by someone who recomputes the
// hashes. Lines after the last checkpoint are reported as unanchored.
//
// Events carry ids, principals, operation names, PCR values and outcomes — never plaintext,
// key material or tokens: AuditEvent has no field that could hold them, and every string field
// must pass the identifier check of base/log.h or is rejected.
//
// Durability: Append returns only after the line is on disk (fdatasync). Concurrent appends
// share one write and one fdatasync (group commit: the first waiter writes every queued line
// while later ones queue the next batch). The file is extended in zero-filled chunks ahead of
// the data so that a batch's fdatasync flushes data only; the padding is truncated on Close and
// on Open, and VerifyAuditLog ignores trailing NUL bytes. Opening a log verifies its chain,
// drops a torn last line left by a crash (never acknowledged), records that repair as an
// "AuditLogTornTailDropped" event (with droppedBytes) and continues the chain. Thread-safe.
#ifndef CONFIDE_KMS_AUDIT_LOG_H_
#define CONFIDE_KMS_AUDIT_LOG_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/bytes.h"
#include "base/status.h"
#include "crypto/ecdsa.h"

namespace confide::kms {

struct AuditEvent {
  absl::Time event_time;
  std::string event_name;  // e.g. "Decrypt"
  std::string principal;   // caller ARN
  std::string key_id;      // key ARN or id; empty when none
  std::string request_id;
  std::vector<std::string> encryption_context_keys;  // keys only, never values
  std::map<std::string, std::string> recipient;      // "PCR0" / "ImageSha384" -> hex
  std::string error_code;                            // empty when allowed and successful
  std::string source_ip;
};

struct AuditLogOptions {
  size_t checkpoint_every = 1000;  // records between signed checkpoints (>= 1)
};

// AuditLogStats are an AuditLog's counters since it was opened.
struct AuditLogStats {
  uint64_t lines_synced = 0;  // lines made durable (events and checkpoints)
  uint64_t syncs = 0;         // fdatasync calls that made them durable
};

class AuditLog {
 public:
  // Open opens or creates the log at `path`, signing checkpoints with `signing_key` (P-384).
  // DataLoss if the existing log's chain is broken (the message names the line);
  // PermissionDenied / Internal for file errors.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path,
                                                        crypto::EcdsaPrivateKey signing_key,
                                                        const AuditLogOptions& options = {});
  ~AuditLog();

  // Append writes `event` durably. InvalidArgument if a string field is not an identifier.
  absl::Status Append(const AuditEvent& event);
  // AppendAsync appends `events` (consecutive lines; all or none) and returns at once; `done`
  // runs exactly once: with OK once every line is durable (on the thread that synced them), or
  // with the error (on this thread when an event is invalid or the log is closed or broken; on
  // a syncing thread when the write fails). Lines are durable in order, so a later `done` never
  // runs before an earlier one's lines are on disk. Used by the server so that no thread sleeps
  // per request while its line waits for the next group fdatasync.
  void AppendAsync(const std::vector<AuditEvent>& events, std::function<void(absl::Status)> done);
  // Checkpoint appends a signed checkpoint now.
  absl::Status Checkpoint();
  // Close appends a final checkpoint (if records follow the last one) and closes the file.
  absl::Status Close();

  // next_seq returns the seq the next line will carry.
  uint64_t next_seq() const;
  // stats returns the counters since Open.
  AuditLogStats stats() const;

  struct Impl;

 private:
  explicit AuditLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// AuditVerification summarises a verified log.
struct AuditVerification {
  uint64_t records = 0;      // event lines
  uint64_t checkpoints = 0;  // signed checkpoint lines
  uint64_t unanchored = 0;   // event lines after the last checkpoint
};

// VerifyAuditLog checks every line of `contents`: JSON, seq order, the hash chain, and each
// checkpoint's signature with `public_key` (when given; when null the
// signatures are then not checked — callers should always pass the key).
// DataLoss naming the first bad line (1-based) on any edit, deletion, insertion or reorder.
absl::StatusOr<AuditVerification> VerifyAuditLog(ByteSpan contents,
                                                 const crypto::EcdsaPublicKey* public_key);

}  // namespace confide::kms

#endif  // CONFIDE_KMS_AUDIT_LOG_H_
