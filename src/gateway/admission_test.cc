// Admission control: immediate slots, FIFO hand-over, refusal when the queue is full or the
// wait ends. No timing asserts: waiters are observed through queued(), and timeouts are only
// checked for their outcome.
#include "gateway/admission.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace confide::gateway {
namespace {

void WaitForQueued(const AdmissionController& c, size_t n) {
  while (c.queued() != n) std::this_thread::yield();
}

TEST(AdmissionTest, SlotsUpToTheLimitThenRefusalWithoutQueue) {
  AdmissionController c({.max_inflight = 2, .max_queue = 0, .max_wait = absl::Seconds(3)});
  auto a = c.Acquire();
  auto b = c.Acquire();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(c.inflight(), 2u);
  auto refused = c.Acquire();
  EXPECT_TRUE(absl::IsResourceExhausted(refused.status())) << refused.status();
  EXPECT_EQ(c.RetryAfterSeconds(), 3);
  a->Release();
  EXPECT_EQ(c.inflight(), 1u);
  auto again = c.Acquire();
  EXPECT_TRUE(again.ok());
}

TEST(AdmissionTest, QueueFullIsRefusedAtOnce) {
  AdmissionController c({.max_inflight = 1, .max_queue = 1, .max_wait = absl::Hours(1)});
  auto held = c.Acquire();
  ASSERT_TRUE(held.ok());
  std::thread waiter([&] {
    auto s = c.Acquire();
    EXPECT_TRUE(s.ok());
  });
  WaitForQueued(c, 1);
  auto refused = c.Acquire();
  EXPECT_TRUE(absl::IsResourceExhausted(refused.status()));
  EXPECT_NE(std::string(refused.status().message()).find("full"), std::string::npos);
  held->Release();
  waiter.join();
  EXPECT_EQ(c.inflight(), 0u);
  EXPECT_EQ(c.queued(), 0u);
}

TEST(AdmissionTest, WaitersAreAdmittedInArrivalOrder) {
  AdmissionController c({.max_inflight = 1, .max_queue = 8, .max_wait = absl::Hours(1)});
  auto held = c.Acquire();
  ASSERT_TRUE(held.ok());
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&, i] {
      auto s = c.Acquire();
      ASSERT_TRUE(s.ok());
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(i);
    });
    WaitForQueued(c, static_cast<size_t>(i + 1));  // i is queued before i+1 starts
  }
  held->Release();  // each waiter releases on return, admitting the next
  for (auto& t : threads) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(c.inflight(), 0u);
}

TEST(AdmissionTest, NewcomerDoesNotOvertakeAWaiter) {
  AdmissionController c({.max_inflight = 1, .max_queue = 4, .max_wait = absl::Hours(1)});
  auto held = c.Acquire();
  ASSERT_TRUE(held.ok());
  std::atomic<bool> waiter_done{false};
  std::thread waiter([&] {
    auto s = c.Acquire();
    EXPECT_TRUE(s.ok());
    waiter_done = true;
    // Holds the slot until the end of the thread.
    while (c.queued() == 0) std::this_thread::yield();
  });
  WaitForQueued(c, 1);
  held->Release();
  // The slot went to the waiter, so a newcomer queues (and is admitted when the waiter ends).
  auto late = c.Acquire();
  EXPECT_TRUE(late.ok());
  EXPECT_TRUE(waiter_done.load());
  waiter.join();
}

TEST(AdmissionTest, WaitEndsWithRefusalAndLeavesTheQueue) {
  AdmissionController c({.max_inflight = 1, .max_queue = 4, .max_wait = absl::Milliseconds(20)});
  auto held = c.Acquire();
  ASSERT_TRUE(held.ok());
  auto late = c.Acquire();
  EXPECT_TRUE(absl::IsResourceExhausted(late.status()));
  EXPECT_NE(std::string(late.status().message()).find("wait"), std::string::npos);
  EXPECT_EQ(c.queued(), 0u);
  EXPECT_EQ(c.inflight(), 1u);
  // A request deadline already passed also ends the wait.
  auto past = c.Acquire(absl::Now() - absl::Seconds(1));
  EXPECT_TRUE(absl::IsResourceExhausted(past.status()));
  EXPECT_EQ(c.RetryAfterSeconds(), 1);
}

TEST(AdmissionTest, ObserverSeesGaugeChanges) {
  std::vector<std::pair<size_t, size_t>> seen;
  AdmissionController c(
      {.max_inflight = 1, .max_queue = 0, .max_wait = absl::Seconds(1)},
      [&](size_t inflight, size_t queued) { seen.emplace_back(inflight, queued); });
  {
    auto s = c.Acquire();
    ASSERT_TRUE(s.ok());
    Slot moved = std::move(*s);
    EXPECT_TRUE(moved.held());
  }
  EXPECT_EQ(seen, (std::vector<std::pair<size_t, size_t>>{{1, 0}, {0, 0}}));
}

}  // namespace
}  // namespace confide::gateway
