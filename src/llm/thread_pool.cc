#include "llm/thread_pool.h"

#include <algorithm>

namespace confide::llm {

ThreadPool::ThreadPool(size_t num_threads) {
  const size_t workers = num_threads > 1 ? num_threads - 1 : 0;
  workers_.reserve(workers);
  for (size_t i = 0; i < workers; ++i) workers_.emplace_back([this, i] { Worker(i + 1); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::Chunk(size_t index, size_t* begin, size_t* end) const {
  const size_t threads = size();
  const size_t blocks = (n_ + grain_ - 1) / grain_;
  const size_t per = blocks / threads, extra = blocks % threads;
  const size_t first = index * per + std::min(index, extra);
  const size_t count = per + (index < extra ? 1 : 0);
  *begin = std::min(n_, first * grain_);
  *end = std::min(n_, (first + count) * grain_);
}

void ThreadPool::ParallelFor(size_t n, absl::FunctionRef<void(size_t, size_t)> fn, size_t grain) {
  if (workers_.empty() || n <= grain) {
    if (n > 0) fn(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &fn;
    n_ = n;
    grain_ = grain == 0 ? 1 : grain;
    pending_ = workers_.size();
    ++generation_;
  }
  work_cv_.notify_all();
  size_t begin, end;
  Chunk(0, &begin, &end);
  if (begin < end) fn(begin, end);
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return pending_ == 0; });
  job_ = nullptr;
}

void ThreadPool::Worker(size_t index) {
  uint64_t seen = 0;
  for (;;) {
    const absl::FunctionRef<void(size_t, size_t)>* job;
    size_t begin, end;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
      Chunk(index, &begin, &end);
    }
    if (begin < end) (*job)(begin, end);
    std::lock_guard<std::mutex> lock(mu_);
    if (--pending_ == 0) done_cv_.notify_one();
  }
}

}  // namespace confide::llm
