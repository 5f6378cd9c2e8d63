#include "llm/thread_pool.h"

#include <atomic>
#include <vector>

#include "gtest/gtest.h"

namespace confide::llm {
namespace {

TEST(ThreadPoolTest, CoversEveryIndexExactlyOnce) {
  for (size_t threads : {1u, 2u, 3u, 8u}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (size_t n : {0u, 1u, 2u, 7u, 16u, 100u, 1000u}) {
      for (size_t grain : {1u, 4u, 16u}) {
        for (int rep = 0; rep < 20; ++rep) {
          std::vector<std::atomic<int>> hits(n);
          pool.ParallelFor(
              n,
              [&](size_t b, size_t e) {
                ASSERT_LT(b, e);
                for (size_t i = b; i < e; ++i) hits[i].fetch_add(1);
              },
              grain);
          for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << threads << " " << n;
        }
      }
    }
  }
  ThreadPool none(0);  // treated as 1
  EXPECT_EQ(none.size(), 1u);
}

// Many short jobs back to back: workers that arrive late for one job (or wake for it after it
// finished) must never run a chunk of it twice, miss one, or mix its fields with the next's.
TEST(ThreadPoolTest, BackToBackJobsCoverEveryIndexOnce) {
  for (size_t threads : {2u, 4u}) {
    ThreadPool pool(threads);
    std::vector<std::atomic<int>> hits(300);
    for (int job = 0; job < 3000; ++job) {
      const size_t n = 2 + static_cast<size_t>(job * 37) % 299, grain = 1 + job % 3;
      for (size_t i = 0; i < n; ++i) hits[i].store(0, std::memory_order_relaxed);
      pool.ParallelFor(
          n,
          [&](size_t b, size_t e) {
            for (size_t i = b; i < e; ++i) hits[i].fetch_add(1, std::memory_order_relaxed);
          },
          grain);
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << job << " " << i;
    }
  }
}

TEST(ThreadPoolTest, ChunksAreGrainAligned) {
  ThreadPool pool(3);
  std::atomic<int> bad{0};
  pool.ParallelFor(
      100, [&](size_t b, size_t e) { bad += (b % 16 != 0 || (e % 16 != 0 && e != 100)); }, 16);
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace confide::llm
