#include "gateway/admission.h"

#include <algorithm>
#include <cmath>

namespace confide::gateway {

Slot& Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = other.owner_;
    other.owner_ = nullptr;
  }
  return *this;
}

void Slot::Release() {
  if (owner_ != nullptr) {
    AdmissionController* owner = owner_;
    owner_ = nullptr;
    owner->ReleaseOne();
  }
}

namespace {
AdmissionOptions Normalized(AdmissionOptions o) {
  o.max_inflight = std::max<size_t>(1, o.max_inflight);
  return o;
}
}  // namespace

AdmissionController::AdmissionController(AdmissionOptions options, Observer observer)
    : options_(Normalized(options)), observer_(std::move(observer)) {}

void AdmissionController::NotifyLocked() {
  if (observer_) observer_(inflight_, queue_.size());
}

absl::StatusOr<Slot> AdmissionController::Acquire(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  // A newcomer may take a free slot only when nobody waits (FIFO).
  if (queue_.empty() && inflight_ < options_.max_inflight) {
    ++inflight_;
    NotifyLocked();
    return Slot(this);
  }
  if (queue_.size() >= options_.max_queue) {
    return absl::ResourceExhaustedError("admission queue full");
  }
  Waiter me;
  queue_.push_back(&me);
  NotifyLocked();
  const absl::Time until = std::min(deadline, absl::Now() + options_.max_wait);
  while (!me.granted) {
    const absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    cv_.wait_for(lock, absl::ToChronoNanoseconds(left));
  }
  if (me.granted) return Slot(this);  // ReleaseOne already counted us in flight
  queue_.erase(std::find(queue_.begin(), queue_.end(), &me));
  NotifyLocked();
  return absl::ResourceExhaustedError("admission queue wait exceeded");
}

void AdmissionController::ReleaseOne() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!queue_.empty()) {
    // Hand the slot straight to the oldest waiter: inflight_ stays the same.
    queue_.front()->granted = true;
    queue_.pop_front();
    cv_.notify_all();
  } else if (inflight_ > 0) {
    --inflight_;
  }
  NotifyLocked();
}

int64_t AdmissionController::RetryAfterSeconds() const {
  const double s = std::ceil(absl::ToDoubleSeconds(options_.max_wait));
  return std::max<int64_t>(1, static_cast<int64_t>(s));
}

size_t AdmissionController::inflight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return inflight_;
}

size_t AdmissionController::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

}  // namespace confide::gateway
