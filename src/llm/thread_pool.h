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
// a futex round trip; on a busy one threads sleep and are woken as before. One
// ParallelFor at a time: it is not reentrant and must be called from one thread (the pool belongs
// to one Model).
class ThreadPool {
 public:
  // ThreadPool starts max(num_threads, 1) - 1 workers.
  explicit ThreadPool(size_t num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // size returns the number of threads ParallelFor uses, the caller included.
  size_t size() const { return workers_.size() + 1; }

  // ParallelFor splits [0, n) into contiguous chunks (multiples of `grain` except the last,
  // about four per thread) and calls fn(begin, end) once for each, the threads (caller
  // included) taking chunks in turn from a shared counter: a thread the scheduler delays costs
  // the others only the chunks it took, not a fixed share. It returns when every chunk is done.
  // Which thread runs a chunk varies; fn must give the same result either way.
  void ParallelFor(size_t n, absl::FunctionRef<void(size_t, size_t)> fn, size_t grain = 1);

 private:
  void Worker();
  // RunChunks takes and runs chunks of the current job until none is left.
  void RunChunks();

  std::mutex mu_;  // guards sleeping on work_cv_ / done_cv_ (the fields below are atomics or
                   // published before generation_ is bumped with release order)
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::atomic<uint64_t> generation_{0};  // bumped for every job
  std::atomic<size_t> pending_{0};       // workers still running the current job
  std::atomic<bool> stop_{false};
  const absl::FunctionRef<void(size_t, size_t)>* job_ = nullptr;
  size_t n_ = 0;
  size_t grain_ = 1;
  size_t blocks_ = 0;                  // grains in [0, n_)
  size_t chunk_blocks_ = 1;            // grains per chunk
  std::atomic<size_t> next_block_{0};  // first grain not yet taken
  std::vector<std::thread> workers_;
};

}  // namespace confide::llm

#endif  // CONFIDE_LLM_THREAD_POOL_H_
