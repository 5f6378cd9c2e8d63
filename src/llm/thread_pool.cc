#include "llm/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CONFIDE_CPU_RELAX() _mm_pause()
#else
#define CONFIDE_CPU_RELAX() ((void)0)
#endif

namespace confide::llm {
namespace {
// A waiting thread spins with pause (~10-100 ns each) for a short while, then sleeps on a
// condition variable: on an idle machine the next job or the last chunk arrives within the spin,
// and on an overloaded one a sleeper's wake-up preempts (spinning or yielding would instead
// queue behind every other runnable task for each of the ~150 jobs of a token).
constexpr int kPauseSpins = 4000;
}  // namespace

ThreadPool::ThreadPool(size_t num_threads) {
  const size_t workers = num_threads > 1 ? num_threads - 1 : 0;
  workers_.reserve(workers);
  for (size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { Worker(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::RunChunks() {
  for (;;) {
    const size_t first = next_block_.fetch_add(chunk_blocks_, std::memory_order_relaxed);
    if (first >= blocks_) return;
    const size_t begin = first * grain_;
    const size_t end = std::min(n_, (first + chunk_blocks_) * grain_);
    (*job_)(begin, end);
  }
}

void ThreadPool::ParallelFor(size_t n, absl::FunctionRef<void(size_t, size_t)> fn, size_t grain) {
  if (workers_.empty() || n <= grain) {
    if (n > 0) fn(0, n);
    return;
  }
  // The job fields are written before the release increment of generation_, which workers
  // read with acquire order; no worker touches them between jobs (pending_ was 0).
  job_ = &fn;
  n_ = n;
  grain_ = grain == 0 ? 1 : grain;
  blocks_ = (n + grain_ - 1) / grain_;
  chunk_blocks_ = std::max<size_t>(1, blocks_ / (4 * size()));
  next_block_.store(0, std::memory_order_relaxed);
  pending_.store(workers_.size(), std::memory_order_relaxed);
  {
    // Under the lock so that a worker between its predicate check and its wait cannot miss it.
    std::lock_guard<std::mutex> lock(mu_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  work_cv_.notify_all();
  RunChunks();
  for (int spins = 0; spins < kPauseSpins && pending_.load(std::memory_order_acquire) != 0;
       ++spins) {
    CONFIDE_CPU_RELAX();
  }
  if (pending_.load(std::memory_order_acquire) != 0) {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
  }
  job_ = nullptr;
}

void ThreadPool::Worker() {
  uint64_t seen = 0;
  for (;;) {
    for (int spins = 0;
         spins < kPauseSpins && generation_.load(std::memory_order_acquire) == seen &&
         !stop_.load(std::memory_order_relaxed);
         ++spins) {
      CONFIDE_CPU_RELAX();
    }
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] {
        return stop_.load() || generation_.load(std::memory_order_acquire) != seen;
      });
    }
    if (stop_.load()) return;
    seen = generation_.load(std::memory_order_acquire);
    RunChunks();
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Under the lock so that a caller between its predicate check and its wait cannot miss it.
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
  }
}

}  // namespace confide::llm
