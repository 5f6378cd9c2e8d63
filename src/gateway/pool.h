// confide::gateway enclave pool: which enclaves exist, which are healthy, and which one holds
// each OHTTP key id.
//
// The pool knows a fixed list of enclave vsock addresses. A health check (a background thread
// every `health_interval`, or CheckNow) asks each enclave for GET /health and GET /ohttp-keys
// (through a Prober) and parses the key configuration list. An enclave is routable when its
// last check succeeded and none of its key ids is held by another routable enclave: key ids are
// how a sealed request finds the enclave that can open it (sealed-path.md §1: key id =
// CID & 0xff), so a duplicate is reported as an error on the enclave that claimed it second
// (the current holder keeps it) and that enclave takes no traffic until the conflict is gone.
// Keys are refetched on every check, so an enclave that restarted with fresh keys is routed by
// its new key ids from the first check that sees it back.
//
// Thread-safe. The pool never sees request content; it logs CIDs, key ids of enclaves and
// status codes only.
#ifndef CONFIDE_GATEWAY_POOL_H_
#define CONFIDE_GATEWAY_POOL_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "base/bytes.h"
#include "base/status.h"
#include "enclave/vsock.h"

namespace confide::gateway {

// kMaxOhttpKeysBytes caps an enclave's application/ohttp-keys answer.
inline constexpr size_t kMaxOhttpKeysBytes = 64 * 1024;

// Prober checks one enclave: OK with its application/ohttp-keys bytes when GET /health answered
// 200 and GET /ohttp-keys 200; an error status naming what failed otherwise. Called from the
// health thread (or CheckNow's caller), one enclave at a time.
using Prober = std::function<absl::StatusOr<Bytes>(const enclave::VsockAddress& enclave)>;

// EnclaveState is what the pool knows about one enclave.
struct EnclaveState {
  enclave::VsockAddress address;
  bool healthy = false;   // the last check succeeded (and the key list parsed)
  bool routable = false;  // healthy and owns all of its key ids
  std::vector<uint8_t> key_ids;
  Bytes ohttp_keys;             // the enclave's application/ohttp-keys (empty until first healthy)
  std::string error;            // why not routable ("" when routable); never content
  uint64_t key_generation = 0;  // bumps whenever the enclave's key list changes
};

// Target is an enclave chosen for one request.
struct Target {
  enclave::VsockAddress address;
  Bytes ohttp_keys;
};

struct PoolOptions {
  absl::Duration health_interval = absl::Seconds(5);
};

class EnclavePool {
 public:
  // Observer is told the states after every check or failure report (for gauges). Called
  // without the pool's lock held, from the thread that caused the change.
  using Observer = std::function<void(const std::vector<EnclaveState>&)>;

  // Create returns a pool over `enclaves` (all unhealthy until the first check). InvalidArgument
  // for an empty list, a CID that is not an enclave CID, or an address listed twice.
  static absl::StatusOr<std::unique_ptr<EnclavePool>> Create(
      std::vector<enclave::VsockAddress> enclaves, PoolOptions options, Prober prober);
  ~EnclavePool();
  EnclavePool(const EnclavePool&) = delete;
  EnclavePool& operator=(const EnclavePool&) = delete;

  // SetObserver installs the observer (before Start).
  void SetObserver(Observer observer);
  // CheckNow probes every enclave once and updates routing. Returns when done.
  void CheckNow();
  // Start runs CheckNow at once and then every health_interval on a background thread.
  void Start();
  // Stop ends the background thread (idempotent; also on destruction).
  void Stop();

  // Route returns the routable enclave holding `key_id`. NotFound when none does (the client's
  // key is unknown or its enclave is gone: RFC 9458 §6's key problem).
  absl::StatusOr<Target> Route(uint8_t key_id) const;
  // Pick returns a routable enclave, round robin. Unavailable when none is routable.
  absl::StatusOr<Target> Pick();
  // ReportFailure marks `enclave` unhealthy at once after a failed exchange (connection refused
  // or broken), so traffic stops before the next check; the next successful check restores it.
  void ReportFailure(const enclave::VsockAddress& enclave, const absl::Status& status);

  // Snapshot returns every enclave's state, in the order given to Create.
  std::vector<EnclaveState> Snapshot() const;
  // RoutableCount returns how many enclaves are routable.
  size_t RoutableCount() const;

 private:
  EnclavePool(std::vector<enclave::VsockAddress> enclaves, PoolOptions options, Prober prober);
  void RecomputeRoutingLocked();
  void Notify();
  void Loop();

  const PoolOptions options_;
  Prober prober_;
  Observer observer_;
  mutable std::mutex mu_;
  std::vector<EnclaveState> states_;
  std::array<int, 256> owner_;  // key id -> index into states_, -1 when unowned
  std::atomic<uint64_t> next_pick_{0};

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace confide::gateway

#endif  // CONFIDE_GATEWAY_POOL_H_
