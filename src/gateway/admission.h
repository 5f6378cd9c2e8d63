// confide::gateway admission control: at most N forwarded requests in flight, a bounded FIFO
// queue of waiters with a maximum wait, and a clear refusal (the handler answers 429 with
// Retry-After) beyond that.
//
// A waiter is admitted strictly in arrival order: a released slot goes to the oldest waiter,
// never to a newcomer that happens to run first. The controller is thread-safe; a Slot is a
// move-only RAII handle that returns its slot on destruction (it may be released on another
// thread than the one that acquired it, e.g. at the end of a streamed response).
#ifndef CONFIDE_GATEWAY_ADMISSION_H_
#define CONFIDE_GATEWAY_ADMISSION_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "absl/time/time.h"
#include "base/status.h"

namespace confide::gateway {

struct AdmissionOptions {
  size_t max_inflight = 64;                     // slots; at least 1
  size_t max_queue = 256;                       // waiters beyond the slots; 0: no queue
  absl::Duration max_wait = absl::Seconds(10);  // longest a waiter queues
};

class AdmissionController;

// Slot is one admitted request. Releasing it (destruction or Release) admits the next waiter.
class Slot {
 public:
  Slot() = default;
  Slot(Slot&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
  Slot& operator=(Slot&& other) noexcept;
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() { Release(); }
  // Release returns the slot (idempotent).
  void Release();
  bool held() const { return owner_ != nullptr; }

 private:
  friend class AdmissionController;
  explicit Slot(AdmissionController* owner) : owner_(owner) {}
  AdmissionController* owner_ = nullptr;
};

// AdmissionController hands out Slots. It must outlive every Slot it handed out.
class AdmissionController {
 public:
  // Observer is told (inflight, queued) after every change, for gauges. Called with the
  // controller's lock held: it must not call back into the controller.
  using Observer = std::function<void(size_t inflight, size_t queued)>;

  explicit AdmissionController(AdmissionOptions options, Observer observer = nullptr);
  AdmissionController(const AdmissionController&) = delete;
  AdmissionController& operator=(const AdmissionController&) = delete;

  // Acquire returns a Slot at once when one is free; otherwise it queues (FIFO) for at most
  // min(max_wait, deadline - now). ResourceExhausted "queue full" when max_queue waiters
  // already wait, ResourceExhausted "queue wait exceeded" when the wait ends without a slot.
  absl::StatusOr<Slot> Acquire(absl::Time deadline = absl::InfiniteFuture());

  // RetryAfterSeconds returns the Retry-After value to send with a refusal: the queue's
  // maximum wait rounded up, at least 1 second.
  int64_t RetryAfterSeconds() const;

  size_t inflight() const;
  size_t queued() const;
  const AdmissionOptions& options() const { return options_; }

 private:
  friend class Slot;
  struct Waiter {
    bool granted = false;
  };
  void ReleaseOne();
  void NotifyLocked();

  const AdmissionOptions options_;
  Observer observer_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  size_t inflight_ = 0;
  std::deque<Waiter*> queue_;
};

}  // namespace confide::gateway

#endif  // CONFIDE_GATEWAY_ADMISSION_H_
