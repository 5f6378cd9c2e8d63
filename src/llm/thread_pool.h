// confide::llm ThreadPool: a fixed set of threads for data-parallel kernels.
#ifndef CONFIDE_LLM_THREAD_POOL_H_
#define CONFIDE_LLM_THREAD_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"

namespace confide::llm {

// ThreadPool runs ParallelFor over `num_threads` threads: the caller plus num_threads - 1
// workers started in the constructor and joined in the destructor. ParallelFor allocates
// nothing. A forward pass issues a few hundred small jobs per token, so idle workers spin on
// the job counter for a short while before sleeping on a condition variable, and the caller
// spins likewise for completion: on an idle machine a wake-up costs a cache-line transfer, not
// a futex round trip. A job is done when its chunks are, not when every worker has looked at
// it: on a shared machine a worker the scheduler has preempted (or that still sleeps) costs the
// caller nothing unless it holds a chunk, and chunks shrink towards the end of a job (guided
// scheduling) so that what it holds is small. One ParallelFor at a time: it is not reentrant
// and must be called from one thread (the pool belongs to one Model).
class ThreadPool {
 public:
  // ThreadPool starts max(num_threads, 1) - 1 workers.
  explicit ThreadPool(size_t num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // size returns the number of threads ParallelFor uses, the caller included.
  size_t size() const { return workers_.size() + 1; }

  // ParallelFor splits [0, n) into contiguous chunks (multiples of `grain` except the last;
  // each a share of what is left, so they shrink towards the end) and calls fn(begin, end)
  // once for each, the threads (caller included) taking chunks in turn from a shared counter: a
  // thread the scheduler delays costs the others only the chunk it took, not a fixed share. It
  // returns when every chunk is done. Which thread runs a chunk, and the chunk boundaries,
  // vary; fn must give the same result either way.
  void ParallelFor(size_t n, absl::FunctionRef<void(size_t, size_t)> fn, size_t grain = 1);

 private:
  void Worker();
  // RunChunks takes and runs chunks of the current job until none is left.
  void RunChunks();

  std::mutex mu_;  // guards sleeping on work_cv_ / done_cv_
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::atomic<uint64_t> generation_{0};  // bumped for every job (wakes workers)
  std::atomic<bool> stop_{false};
  // claim_ packs (job number mod 2^24) << 40 | grains of the job << 20 | first grain not yet
  // taken; jobs of more than 2^20 - 1 grains run on the caller alone.
  static constexpr uint64_t kFieldMask = (uint64_t{1} << 20) - 1;
  static constexpr int kBlocksShift = 20;
  static constexpr int kJobShift = 40;
  static constexpr uint32_t kJobMask = (uint32_t{1} << 24) - 1;
  // The job's other fields: written by ParallelFor before claim_ is published with release
  // order, read by a thread only after its compare-exchange on claim_ succeeded (which proves
  // the job is open, so they are not rewritten until its chunk is done).
  std::atomic<const absl::FunctionRef<void(size_t, size_t)>*> job_{nullptr};
  std::atomic<size_t> n_{0};
  std::atomic<size_t> grain_{1};
  std::atomic<uint64_t> claim_{0};
  std::atomic<size_t> done_blocks_{0};  // grains of the current job finished
  std::atomic<size_t> sleepers_{0};     // workers waiting on work_cv_
  uint32_t job_number_ = 0;             // the caller's count of jobs (mod 2^24)
  std::vector<std::thread> workers_;
};

}  // namespace confide::llm

#endif  // CONFIDE_LLM_THREAD_POOL_H_
