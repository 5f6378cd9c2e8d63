#include "gateway/pool.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "ohttp/ohttp.h"

namespace confide::gateway {

EnclavePool::EnclavePool(std::vector<enclave::VsockAddress> enclaves, PoolOptions options,
                         Prober prober)
    : options_(options), prober_(std::move(prober)) {
  owner_.fill(-1);
  for (const auto& a : enclaves) {
    EnclaveState s;
    s.address = a;
    s.error = "not checked yet";
    states_.push_back(std::move(s));
  }
}

absl::StatusOr<std::unique_ptr<EnclavePool>> EnclavePool::Create(
    std::vector<enclave::VsockAddress> enclaves, PoolOptions options, Prober prober) {
  if (enclaves.empty()) return absl::InvalidArgumentError("the enclave pool is empty");
  if (!prober) return absl::InvalidArgumentError("the enclave pool needs a prober");
  std::set<std::pair<uint32_t, uint32_t>> seen;
  for (const auto& a : enclaves) {
    RETURN_IF_ERROR(enclave::ValidateEnclaveCid(a.cid));
    if (!seen.emplace(a.cid, a.port).second) {
      return absl::InvalidArgumentError(absl::StrCat("enclave ", a.ToString(), " is listed twice"));
    }
  }
  return std::unique_ptr<EnclavePool>(
      new EnclavePool(std::move(enclaves), options, std::move(prober)));
}

EnclavePool::~EnclavePool() { Stop(); }

void EnclavePool::SetObserver(Observer observer) {
  std::lock_guard<std::mutex> lock(mu_);
  observer_ = std::move(observer);
}

void EnclavePool::CheckNow() {
  std::vector<enclave::VsockAddress> addresses;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : states_) addresses.push_back(s.address);
  }
  // Probe without the lock: a slow enclave must not stall routing.
  std::vector<absl::StatusOr<Bytes>> results;
  results.reserve(addresses.size());
  for (const auto& a : addresses) {
    absl::StatusOr<Bytes> keys = prober_(a);
    if (keys.ok() && keys->size() > kMaxOhttpKeysBytes) {
      keys = absl::InvalidArgumentError("OHTTP key list too large");
    }
    results.push_back(std::move(keys));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < states_.size(); ++i) {
      EnclaveState& s = states_[i];
      const bool was_healthy = s.healthy;
      absl::StatusOr<Bytes>& r = results[i];
      std::vector<uint8_t> ids;
      absl::Status st = r.status();
      if (st.ok()) {
        auto configs = ohttp::DecodeKeyConfigList(*r);
        if (!configs.ok()) {
          st = absl::InvalidArgumentError(
              absl::StrCat("unusable OHTTP key list: ", std::string(configs.status().message())));
        } else {
          for (const auto& c : *configs) ids.push_back(c.key_id);
          std::sort(ids.begin(), ids.end());
          ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        }
      }
      if (!st.ok()) {
        s.healthy = false;
        s.error = std::string(st.message());
        if (was_healthy) {
          log::Warning("gateway.enclave_down",
                       {{"cid", s.address.cid}, {"port", s.address.port}, {"status", st}});
        }
        continue;
      }
      if (*r != s.ohttp_keys) {
        s.ohttp_keys = std::move(*r);
        s.key_ids = std::move(ids);
        ++s.key_generation;
        for (uint8_t id : s.key_ids) {
          log::Info("gateway.enclave_key",
                    {{"cid", s.address.cid}, {"key_id", id}, {"generation", s.key_generation}});
        }
      }
      s.healthy = true;
      s.error.clear();
      if (!was_healthy) {
        log::Info("gateway.enclave_up", {{"cid", s.address.cid}, {"port", s.address.port}});
      }
    }
    RecomputeRoutingLocked();
  }
  Notify();
}

void EnclavePool::RecomputeRoutingLocked() {
  std::array<int, 256> owner;
  owner.fill(-1);
  // Holders keep their key ids while they stay healthy and still offer them.
  for (int id = 0; id < 256; ++id) {
    const int prev = owner_[id];
    if (prev < 0) continue;
    const EnclaveState& s = states_[prev];
    if (s.healthy && s.routable &&
        std::binary_search(s.key_ids.begin(), s.key_ids.end(), static_cast<uint8_t>(id))) {
      owner[id] = prev;
    }
  }
  for (size_t i = 0; i < states_.size(); ++i) {
    EnclaveState& s = states_[i];
    s.routable = false;
    if (!s.healthy) continue;
    std::optional<std::pair<uint8_t, int>> conflict;
    for (uint8_t id : s.key_ids) {
      if (owner[id] >= 0 && owner[id] != static_cast<int>(i)) {
        conflict = {id, owner[id]};
        break;
      }
    }
    if (conflict) {
      const EnclaveState& holder = states_[conflict->second];
      s.error = absl::StrCat("duplicate OHTTP key id ", conflict->first, " (held by enclave ",
                             holder.address.ToString(), ")");
      // Reported at every check while it lasts: an operator must fix the pool's CIDs.
      log::Error("gateway.duplicate_key_id", {{"cid", s.address.cid},
                                              {"key_id", conflict->first},
                                              {"holder_cid", holder.address.cid}});
      continue;
    }
    for (uint8_t id : s.key_ids) owner[id] = static_cast<int>(i);
    s.routable = true;
  }
  owner_ = owner;
}

void EnclavePool::Notify() {
  Observer observer;
  std::vector<EnclaveState> snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!observer_) return;
    observer = observer_;
    snapshot = states_;
  }
  observer(snapshot);
}

void EnclavePool::Start() {
  CheckNow();
  std::lock_guard<std::mutex> lock(loop_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void EnclavePool::Loop() {
  std::unique_lock<std::mutex> lock(loop_mu_);
  while (!stopping_) {
    loop_cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.health_interval),
                      [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    CheckNow();
    lock.lock();
  }
}

void EnclavePool::Stop() {
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    stopping_ = true;
  }
  loop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<Target> EnclavePool::Route(uint8_t key_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const int i = owner_[key_id];
  if (i < 0 || !states_[i].routable) {
    return absl::NotFoundError("no healthy enclave holds this OHTTP key id");
  }
  return Target{states_[i].address, states_[i].ohttp_keys};
}

absl::StatusOr<Target> EnclavePool::Pick() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const EnclaveState*> routable;
  for (const EnclaveState& s : states_) {
    if (s.routable) routable.push_back(&s);
  }
  if (routable.empty()) return absl::UnavailableError("no healthy enclave");
  const EnclaveState& s = *routable[next_pick_.fetch_add(1) % routable.size()];
  return Target{s.address, s.ohttp_keys};
}

void EnclavePool::ReportFailure(const enclave::VsockAddress& enclave, const absl::Status& status) {
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (EnclaveState& s : states_) {
      if (s.address == enclave && s.healthy) {
        s.healthy = false;
        s.error = absl::StrCat("exchange failed: ", std::string(status.message()));
        log::Warning("gateway.enclave_down",
                     {{"cid", s.address.cid}, {"port", s.address.port}, {"status", status}});
        changed = true;
      }
    }
    if (changed) RecomputeRoutingLocked();
  }
  if (changed) Notify();
}

std::vector<EnclaveState> EnclavePool::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return states_;
}

size_t EnclavePool::RoutableCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<size_t>(std::count_if(states_.begin(), states_.end(),
                                           [](const EnclaveState& s) { return s.routable; }));
}

}  // namespace confide::gateway
