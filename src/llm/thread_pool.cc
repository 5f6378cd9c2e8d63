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
  const size_t threads = size();
  for (;;) {
    // Everything that decides whether and what to claim is in the one word: a thread that
    // loaded a finished job's word can only succeed in its exchange while that word is still
    // current, and then the job has nothing left, so it returned above instead.
    uint64_t v = claim_.load(std::memory_order_acquire);
    const size_t next = static_cast<size_t>(v & kFieldMask);
    const size_t blocks = static_cast<size_t>((v >> kBlocksShift) & kFieldMask);
    if (next >= blocks) return;
    const size_t take = std::max<size_t>(1, (blocks - next) / (2 * threads));
    if (!claim_.compare_exchange_weak(v, v + take, std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
      continue;
    }
    // The claim proves the job is open, so these are its fields (written before claim_ was
    // published, and not rewritten until its last chunk is done).
    const size_t grain = grain_.load(std::memory_order_relaxed);
    const size_t n = n_.load(std::memory_order_relaxed);
    const size_t end = std::min(n, (next + take) * grain);
    (*job_.load(std::memory_order_relaxed))(next * grain, end);
    if (done_blocks_.fetch_add(take, std::memory_order_acq_rel) + take == blocks) {
      // The last chunk: wake the caller if it sleeps (under the lock so that a caller between
      // its predicate check and its wait cannot miss it).
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::ParallelFor(size_t n, absl::FunctionRef<void(size_t, size_t)> fn, size_t grain) {
  if (grain == 0) grain = 1;
  const size_t blocks = (n + grain - 1) / grain;
  if (workers_.empty() || n <= grain || blocks > kFieldMask) {
    if (n > 0) fn(0, n);
    return;
  }
  job_.store(&fn, std::memory_order_relaxed);
  n_.store(n, std::memory_order_relaxed);
  grain_.store(grain, std::memory_order_relaxed);
  done_blocks_.store(0, std::memory_order_relaxed);
  job_number_ = (job_number_ + 1) & kJobMask;
  claim_.store(static_cast<uint64_t>(job_number_) << kJobShift | static_cast<uint64_t>(blocks)
                                                                     << kBlocksShift,
               std::memory_order_release);
  // Sequentially consistent with the worker's sleepers_ increment and generation_ check: either
  // we see it going to sleep (and notify under the lock, which it holds until it waits) or it
  // sees the new generation and does not sleep.
  generation_.fetch_add(1);
  if (sleepers_.load() != 0) {
    std::lock_guard<std::mutex> lock(mu_);
    work_cv_.notify_all();
  }
  RunChunks();
  // Only chunks other threads took are left; wait for those, not for the threads.
  for (int spins = 0; spins < kPauseSpins && done_blocks_.load(std::memory_order_acquire) != blocks;
       ++spins) {
    CONFIDE_CPU_RELAX();
  }
  if (done_blocks_.load(std::memory_order_acquire) != blocks) {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return done_blocks_.load(std::memory_order_acquire) == blocks; });
  }
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
    if (generation_.load(std::memory_order_acquire) == seen && !stop_.load()) {
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1);
      work_cv_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
      sleepers_.fetch_sub(1);
    }
    if (stop_.load()) return;
    seen = generation_.load(std::memory_order_acquire);
    RunChunks();
  }
}

}  // namespace confide::llm
