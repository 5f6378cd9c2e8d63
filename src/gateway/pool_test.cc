// The enclave pool with a scripted prober: routing by key id, round robin, health removal, key
// refresh after a restart and duplicate key ids.
#include "gateway/pool.h"

#include <map>
#include <mutex>

#include "gtest/gtest.h"
#include "ohttp/ohttp.h"

namespace confide::gateway {
namespace {

using enclave::VsockAddress;

Bytes KeysFor(std::vector<uint8_t> key_ids) {
  std::vector<ohttp::KeyConfig> configs;
  for (uint8_t id : key_ids) {
    auto k = ohttp::GatewayKey::Generate(id, 0x0020, {{0x0001, 0x0001}});
    EXPECT_TRUE(k.ok());
    configs.push_back(k->config());
  }
  auto encoded = ohttp::EncodeKeyConfigList(configs);
  EXPECT_TRUE(encoded.ok());
  return *encoded;
}

class FakeEnclaves {
 public:
  void Set(uint32_t cid, absl::StatusOr<Bytes> answer) {
    std::lock_guard<std::mutex> lock(mu_);
    answers_.insert_or_assign(cid, std::move(answer));
  }
  Prober prober() {
    return [this](const VsockAddress& a) -> absl::StatusOr<Bytes> {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = answers_.find(a.cid);
      if (it == answers_.end()) return absl::UnavailableError("connection refused");
      return it->second;
    };
  }

 private:
  std::mutex mu_;
  std::map<uint32_t, absl::StatusOr<Bytes>> answers_;
};

std::vector<VsockAddress> Addresses(std::vector<uint32_t> cids) {
  std::vector<VsockAddress> out;
  for (uint32_t c : cids) out.push_back({c, 5000});
  return out;
}

TEST(PoolTest, CreateRejectsBadLists) {
  FakeEnclaves f;
  EXPECT_FALSE(EnclavePool::Create({}, {}, f.prober()).ok());
  EXPECT_FALSE(EnclavePool::Create(Addresses({3}), {}, f.prober()).ok());
  EXPECT_FALSE(EnclavePool::Create(Addresses({16, 16}), {}, f.prober()).ok());
  EXPECT_FALSE(EnclavePool::Create(Addresses({16}), {}, nullptr).ok());
  EXPECT_TRUE(EnclavePool::Create(Addresses({16, 17}), {}, f.prober()).ok());
}

TEST(PoolTest, NothingRoutableBeforeTheFirstCheck) {
  FakeEnclaves f;
  f.Set(16, KeysFor({16}));
  auto pool = EnclavePool::Create(Addresses({16}), {}, f.prober());
  ASSERT_TRUE(pool.ok());
  EXPECT_TRUE(absl::IsNotFound((*pool)->Route(16).status()));
  EXPECT_TRUE(absl::IsUnavailable((*pool)->Pick().status()));
  EXPECT_EQ((*pool)->RoutableCount(), 0u);
}

TEST(PoolTest, RoutesByKeyIdAndPicksRoundRobin) {
  FakeEnclaves f;
  Bytes k16 = KeysFor({16}), k17 = KeysFor({17});
  f.Set(16, k16);
  f.Set(17, k17);
  auto pool = EnclavePool::Create(Addresses({16, 17, 18}), {}, f.prober());
  ASSERT_TRUE(pool.ok());
  (*pool)->CheckNow();
  EXPECT_EQ((*pool)->RoutableCount(), 2u);
  auto r16 = (*pool)->Route(16);
  ASSERT_TRUE(r16.ok());
  EXPECT_EQ(r16->address, (VsockAddress{16, 5000}));
  EXPECT_EQ(r16->ohttp_keys, k16);
  auto r17 = (*pool)->Route(17);
  ASSERT_TRUE(r17.ok());
  EXPECT_EQ(r17->address.cid, 17u);
  EXPECT_TRUE(absl::IsNotFound((*pool)->Route(18).status()));
  EXPECT_TRUE(absl::IsNotFound((*pool)->Route(0).status()));
  // Round robin over the two healthy enclaves, never the dead one.
  std::map<uint32_t, int> picks;
  for (int i = 0; i < 10; ++i) {
    auto p = (*pool)->Pick();
    ASSERT_TRUE(p.ok());
    ++picks[p->address.cid];
    EXPECT_EQ(p->ohttp_keys, p->address.cid == 16 ? k16 : k17);
  }
  EXPECT_EQ(picks[16], 5);
  EXPECT_EQ(picks[17], 5);
  auto states = (*pool)->Snapshot();
  ASSERT_EQ(states.size(), 3u);
  EXPECT_TRUE(states[0].routable);
  EXPECT_FALSE(states[2].healthy);
  EXPECT_NE(states[2].error.find("refused"), std::string::npos);
}

TEST(PoolTest, UnhealthyEnclaveIsRemovedAndRestoredWithFreshKeys) {
  FakeEnclaves f;
  f.Set(16, KeysFor({16}));
  auto pool = EnclavePool::Create(Addresses({16}), {}, f.prober());
  ASSERT_TRUE(pool.ok());
  std::vector<size_t> observed;
  (*pool)->SetObserver(
      [&](const std::vector<EnclaveState>& s) { observed.push_back(s[0].routable ? 1 : 0); });
  (*pool)->CheckNow();
  ASSERT_TRUE((*pool)->Route(16).ok());
  const uint64_t gen = (*pool)->Snapshot()[0].key_generation;
  f.Set(16, absl::InternalError("health check: status 503"));
  (*pool)->CheckNow();
  EXPECT_TRUE(absl::IsNotFound((*pool)->Route(16).status()));
  // The enclave restarts with a new key (same id, new public key): routed with the new list.
  Bytes fresh = KeysFor({16});
  f.Set(16, fresh);
  (*pool)->CheckNow();
  auto r = (*pool)->Route(16);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ohttp_keys, fresh);
  EXPECT_GT((*pool)->Snapshot()[0].key_generation, gen);
  EXPECT_EQ(observed, (std::vector<size_t>{1, 0, 1}));
}

TEST(PoolTest, ReportFailureRemovesAtOnce) {
  FakeEnclaves f;
  f.Set(16, KeysFor({16}));
  auto pool = EnclavePool::Create(Addresses({16}), {}, f.prober());
  ASSERT_TRUE(pool.ok());
  (*pool)->CheckNow();
  ASSERT_TRUE((*pool)->Route(16).ok());
  (*pool)->ReportFailure({16, 5000}, absl::UnavailableError("connection refused"));
  EXPECT_FALSE((*pool)->Route(16).ok());
  EXPECT_FALSE((*pool)->Pick().ok());
  (*pool)->CheckNow();  // still answering: back in
  EXPECT_TRUE((*pool)->Route(16).ok());
}

TEST(PoolTest, MalformedOrOversizedKeyListIsUnhealthy) {
  FakeEnclaves f;
  f.Set(16, Bytes{0x00, 0x05, 0x01});
  f.Set(17, Bytes(kMaxOhttpKeysBytes + 1, 0));
  auto pool = EnclavePool::Create(Addresses({16, 17}), {}, f.prober());
  ASSERT_TRUE(pool.ok());
  (*pool)->CheckNow();
  EXPECT_EQ((*pool)->RoutableCount(), 0u);
  auto states = (*pool)->Snapshot();
  EXPECT_NE(states[0].error.find("OHTTP key list"), std::string::npos);
  EXPECT_NE(states[1].error.find("too large"), std::string::npos);
}

TEST(PoolTest, DuplicateKeyIdIsAnErrorForTheSecondEnclave) {
  FakeEnclaves f;
  f.Set(16, KeysFor({16}));
  f.Set(272, KeysFor({16}));  // 272 & 0xff == 16: a misconfigured pool
  auto pool = EnclavePool::Create(Addresses({16, 272}), {}, f.prober());
  ASSERT_TRUE(pool.ok());
  (*pool)->CheckNow();
  auto states = (*pool)->Snapshot();
  EXPECT_TRUE(states[0].routable);
  EXPECT_TRUE(states[1].healthy);
  EXPECT_FALSE(states[1].routable);
  EXPECT_NE(states[1].error.find("duplicate OHTTP key id 16"), std::string::npos);
  EXPECT_EQ((*pool)->Route(16)->address.cid, 16u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ((*pool)->Pick()->address.cid, 16u);
  // The holder keeps the id while healthy, even against an enclave listed before it.
  f.Set(16, absl::UnavailableError("gone"));
  (*pool)->CheckNow();
  EXPECT_EQ((*pool)->Route(16)->address.cid, 272u);
  f.Set(16, KeysFor({16}));
  (*pool)->CheckNow();
  EXPECT_EQ((*pool)->Route(16)->address.cid, 272u);
  states = (*pool)->Snapshot();
  EXPECT_FALSE(states[0].routable);
  EXPECT_NE(states[0].error.find("held by enclave 272:5000"), std::string::npos);
}

TEST(PoolTest, SeveralKeyIdsPerEnclave) {
  FakeEnclaves f;
  f.Set(16, KeysFor({1, 2}));
  f.Set(17, KeysFor({2, 3}));
  auto pool = EnclavePool::Create(Addresses({16, 17}), {}, f.prober());
  ASSERT_TRUE(pool.ok());
  (*pool)->CheckNow();
  EXPECT_EQ((*pool)->Route(1)->address.cid, 16u);
  EXPECT_EQ((*pool)->Route(2)->address.cid, 16u);
  // 17 conflicts on id 2, so none of its ids (not even 3) is routed to it.
  EXPECT_FALSE((*pool)->Route(3).ok());
}

TEST(PoolTest, BackgroundCheckerStartsAndStops) {
  FakeEnclaves f;
  f.Set(16, KeysFor({16}));
  auto pool =
      EnclavePool::Create(Addresses({16}), {.health_interval = absl::Milliseconds(5)}, f.prober());
  ASSERT_TRUE(pool.ok());
  (*pool)->Start();  // checks once before returning
  EXPECT_TRUE((*pool)->Route(16).ok());
  (*pool)->Stop();
  (*pool)->Stop();
}

}  // namespace
}  // namespace confide::gateway
