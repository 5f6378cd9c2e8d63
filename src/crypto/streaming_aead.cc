#include "crypto/streaming_aead.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "crypto/aead.h"
#include "crypto/hkdf.h"

namespace confide::crypto {
namespace {

constexpr char kKeyInfo[] = "confide stream AES-256-GCM v1";
constexpr size_t kMaxStreamAadLen = 1024;

absl::Status Truncated() {
  return absl::InvalidArgumentError("ciphertext is truncated or extended");
}

}  // namespace

uint64_t StreamLayout::num_segments() const {
  if (segment_len == 0) return 1;
  if (plaintext_len == 0) return 1;
  return (plaintext_len + segment_len - 1) / segment_len;
}

size_t StreamLayout::SegmentPlaintextLen(uint64_t index) const {
  const uint64_t n = num_segments();
  if (index + 1 < n) return segment_len;
  if (index + 1 == n) return static_cast<size_t>(plaintext_len - index * segment_len);
  return 0;
}

absl::Status ValidateStreamLayout(const StreamLayout& layout) {
  if (layout.segment_len < kStreamMinSegmentLen || layout.segment_len > kStreamMaxSegmentLen) {
    return absl::InvalidArgumentError("stream segment length is outside 4 KiB..64 MiB");
  }
  if (layout.plaintext_len > kStreamMaxPlaintextLen) {
    return absl::InvalidArgumentError("stream plaintext is longer than 2^48 bytes");
  }
  if (layout.num_segments() > kStreamMaxSegments) {
    return absl::InvalidArgumentError("stream has more than 2^32 segments");
  }
  return absl::OkStatus();
}

struct StreamingAead::Impl {
  SecretBytes segment_key;
  std::array<uint8_t, kStreamNoncePrefixLen> nonce_prefix{};
  Bytes aad;
  StreamLayout layout;

  std::array<uint8_t, kAeadNonceLen> Nonce(uint64_t index) const {
    //= Hoang, Reyhanitabar, Rogaway, Vizár 2015, §7 (STREAM): the nonce of segment i is
    //# N || [i] || [last flag], so that position and finality are authenticated.
    std::array<uint8_t, kAeadNonceLen> nonce{};
    std::copy(nonce_prefix.begin(), nonce_prefix.end(), nonce.begin());
    const uint32_t i = static_cast<uint32_t>(index);
    nonce[7] = static_cast<uint8_t>(i >> 24);
    nonce[8] = static_cast<uint8_t>(i >> 16);
    nonce[9] = static_cast<uint8_t>(i >> 8);
    nonce[10] = static_cast<uint8_t>(i);
    nonce[11] = index + 1 == layout.num_segments() ? 0x01 : 0x00;
    return nonce;
  }
};

StreamingAead::StreamingAead(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StreamingAead::StreamingAead(StreamingAead&&) noexcept = default;
StreamingAead& StreamingAead::operator=(StreamingAead&&) noexcept = default;
StreamingAead::~StreamingAead() = default;

const StreamLayout& StreamingAead::layout() const { return impl_->layout; }

absl::StatusOr<StreamingAead> StreamingAead::Create(ByteSpan key, ByteSpan salt,
                                                    ByteSpan nonce_prefix, ByteSpan aad,
                                                    StreamLayout layout) {
  if (key.size() != kStreamKeyLen) {
    return absl::InvalidArgumentError("stream key must be 32 bytes");
  }
  if (salt.size() != kStreamSaltLen) {
    return absl::InvalidArgumentError("stream salt must be 16 bytes");
  }
  if (nonce_prefix.size() != kStreamNoncePrefixLen) {
    return absl::InvalidArgumentError("stream nonce prefix must be 7 bytes");
  }
  if (aad.size() > kMaxStreamAadLen) {
    return absl::InvalidArgumentError("stream associated data is longer than 1 KiB");
  }
  RETURN_IF_ERROR(ValidateStreamLayout(layout));
  auto impl = std::make_unique<Impl>();
  ASSIGN_OR_RETURN(impl->segment_key,
                   Hkdf(HashAlg::kSha256, key, salt, AsBytes(kKeyInfo), kStreamKeyLen));
  std::copy(nonce_prefix.begin(), nonce_prefix.end(), impl->nonce_prefix.begin());
  impl->aad.assign(aad.begin(), aad.end());
  impl->layout = layout;
  return StreamingAead(std::move(impl));
}

absl::Status StreamingAead::SealSegment(uint64_t index, ByteSpan plaintext,
                                        std::span<uint8_t> out) const {
  const StreamLayout& l = impl_->layout;
  if (index >= l.num_segments() || plaintext.size() != l.SegmentPlaintextLen(index) ||
      out.size() != l.SegmentCiphertextLen(index)) {
    return absl::InvalidArgumentError("stream segment does not fit the layout");
  }
  const auto nonce = impl_->Nonce(index);
  return AeadSealInto(AeadAlg::kAes256Gcm, impl_->segment_key.ExposeSecret(), nonce, impl_->aad,
                      plaintext, out);
}

absl::Status StreamingAead::OpenSegment(uint64_t index, ByteSpan ciphertext,
                                        std::span<uint8_t> out) const {
  const StreamLayout& l = impl_->layout;
  if (index >= l.num_segments() || ciphertext.size() != l.SegmentCiphertextLen(index) ||
      out.size() != l.SegmentPlaintextLen(index)) {
    return absl::InvalidArgumentError("stream segment does not fit the layout");
  }
  const auto nonce = impl_->Nonce(index);
  return AeadOpenInto(AeadAlg::kAes256Gcm, impl_->segment_key.ExposeSecret(), nonce, impl_->aad,
                      ciphertext, out);
}

absl::Status StreamingAead::SealAll(ByteSpan plaintext, std::span<uint8_t> out) const {
  const StreamLayout& l = impl_->layout;
  if (plaintext.size() != l.plaintext_len || out.size() != l.ciphertext_len()) {
    return absl::InvalidArgumentError("stream buffers do not fit the layout");
  }
  const uint64_t n = l.num_segments();
  for (uint64_t i = 0; i < n; ++i) {
    const size_t pt_off = static_cast<size_t>(i * l.segment_len);
    const size_t ct_off = static_cast<size_t>(i * (uint64_t{l.segment_len} + kStreamTagLen));
    RETURN_IF_ERROR(SealSegment(i, plaintext.subspan(pt_off, l.SegmentPlaintextLen(i)),
                                out.subspan(ct_off, l.SegmentCiphertextLen(i))));
  }
  return absl::OkStatus();
}

absl::Status StreamingAead::OpenAll(ByteSpan ciphertext, std::span<uint8_t> out,
                                    int threads) const {
  const StreamLayout& l = impl_->layout;
  if (out.size() != l.plaintext_len) {
    return absl::InvalidArgumentError("stream output buffer does not fit the layout");
  }
  if (ciphertext.size() != l.ciphertext_len()) {
    SecureZero(out);
    return Truncated();
  }
  const uint64_t n = l.num_segments();
  const uint64_t workers = std::clamp<uint64_t>(threads < 1 ? 1 : threads, 1, n);
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (;;) {
      if (failed.load(std::memory_order_relaxed)) return;
      const uint64_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n) return;
      const size_t pt_off = static_cast<size_t>(i * l.segment_len);
      const size_t ct_off = static_cast<size_t>(i * (uint64_t{l.segment_len} + kStreamTagLen));
      if (!OpenSegment(i, ciphertext.subspan(ct_off, l.SegmentCiphertextLen(i)),
                       out.subspan(pt_off, l.SegmentPlaintextLen(i)))
               .ok()) {
        failed.store(true);
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(workers - 1));
  for (uint64_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failed.load()) {
    SecureZero(out);
    return absl::UnauthenticatedError("decryption failed");
  }
  return absl::OkStatus();
}

struct StreamDecryptor::State {
  const StreamingAead* aead = nullptr;
  std::span<uint8_t> out;
  int threads = 1;
  bool size_checked = false;
  bool size_ok = false;
  bool finished_ok = false;
  uint64_t next_index = 0;
  uint64_t received = 0;
  Bytes pending;
  absl::Status producer_error;  // set by the producer thread only

  // Worker pool (threads > 1).
  struct Job {
    uint64_t index;
    Bytes ciphertext;
  };
  std::mutex mu;
  std::condition_variable has_job;
  std::condition_variable has_room;
  std::deque<Job> jobs;       // guarded by mu
  bool closed = false;        // guarded by mu
  absl::Status worker_error;  // guarded by mu
  std::vector<std::thread> pool;

  const StreamLayout& layout() const { return aead->layout(); }

  std::span<uint8_t> OutFor(uint64_t index) {
    return out.subspan(static_cast<size_t>(index * layout().segment_len),
                       layout().SegmentPlaintextLen(index));
  }

  void WorkerLoop() {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mu);
        has_job.wait(lock, [&] { return closed || !jobs.empty(); });
        if (jobs.empty()) return;
        job = std::move(jobs.front());
        jobs.pop_front();
        has_room.notify_one();
        if (!worker_error.ok()) continue;  // drain without work after a failure
      }
      absl::Status s = aead->OpenSegment(job.index, job.ciphertext, OutFor(job.index));
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (worker_error.ok()) worker_error = s;
      }
    }
  }

  // StopWorkers joins the workers; with `abort`, queued segments are dropped undecrypted.
  void StopWorkers(bool abort) {
    {
      std::lock_guard<std::mutex> lock(mu);
      closed = true;
      if (abort) jobs.clear();
    }
    has_room.notify_all();
    has_job.notify_all();
    for (auto& t : pool) t.join();
    pool.clear();
  }

  absl::Status WorkerError() {
    std::lock_guard<std::mutex> lock(mu);
    return worker_error;
  }

  // Fail records `s` as the stream's error, stops the workers and wipes the output.
  absl::Status Fail(absl::Status s) {
    if (producer_error.ok()) producer_error = s;
    StopWorkers(/*abort=*/true);
    if (size_ok) SecureZero(out);
    Wipe(pending);
    return producer_error;
  }

  static void Wipe(Bytes& b) {
    SecureZero(b);
    b.clear();
  }

  absl::Status CheckSize() {
    if (!size_checked) {
      size_checked = true;
      size_ok = out.size() == layout().plaintext_len;
    }
    if (!size_ok) return absl::InvalidArgumentError("stream output buffer does not fit the layout");
    return absl::OkStatus();
  }

  absl::Status Dispatch(uint64_t index, Bytes ciphertext) {
    if (threads <= 1) {
      return aead->OpenSegment(index, ciphertext, OutFor(index));
    }
    if (pool.empty()) {
      for (int t = 0; t < threads; ++t) pool.emplace_back([this] { WorkerLoop(); });
    }
    std::unique_lock<std::mutex> lock(mu);
    has_room.wait(
        lock, [&] { return jobs.size() < static_cast<size_t>(2 * threads) || !worker_error.ok(); });
    if (!worker_error.ok()) return worker_error;
    jobs.push_back(Job{index, std::move(ciphertext)});
    lock.unlock();
    has_job.notify_one();
    return absl::OkStatus();
  }
};

StreamDecryptor::StreamDecryptor(const StreamingAead* aead, std::span<uint8_t> out, int threads)
    : state_(std::make_unique<State>()) {
  state_->aead = aead;
  state_->out = out;
  state_->threads = threads < 1 ? 1 : threads;
}

StreamDecryptor::~StreamDecryptor() {
  state_->StopWorkers(/*abort=*/!state_->finished_ok);
  if (!state_->finished_ok) {
    if (state_->size_ok) SecureZero(state_->out);
  }
  State::Wipe(state_->pending);
}

uint64_t StreamDecryptor::bytes_received() const { return state_->received; }

absl::Status StreamDecryptor::Update(ByteSpan data) {
  State& s = *state_;
  if (!s.producer_error.ok()) return s.producer_error;
  if (s.finished_ok) return absl::FailedPreconditionError("stream already finished");
  if (absl::Status st = s.CheckSize(); !st.ok()) return s.Fail(st);
  const StreamLayout& l = s.layout();
  const uint64_t n = l.num_segments();
  while (!data.empty()) {
    if (s.next_index >= n) return s.Fail(Truncated());
    const size_t seg_len = l.SegmentCiphertextLen(s.next_index);
    if (s.threads <= 1 && s.pending.empty() && data.size() >= seg_len) {
      // Inline and whole: open straight from the caller's bytes.
      absl::Status st =
          s.aead->OpenSegment(s.next_index, data.first(seg_len), s.OutFor(s.next_index));
      if (!st.ok()) return s.Fail(st);
      s.received += seg_len;
      data = data.subspan(seg_len);
      ++s.next_index;
      continue;
    }
    if (s.pending.capacity() < seg_len) s.pending.reserve(seg_len);
    const size_t take = std::min(seg_len - s.pending.size(), data.size());
    s.pending.insert(s.pending.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(take));
    s.received += take;
    data = data.subspan(take);
    if (s.pending.size() == seg_len) {
      Bytes segment = std::move(s.pending);
      s.pending = Bytes();
      absl::Status st = s.Dispatch(s.next_index, std::move(segment));
      if (!st.ok()) return s.Fail(st);
      ++s.next_index;
    }
  }
  if (s.threads > 1) {
    if (absl::Status st = s.WorkerError(); !st.ok()) return s.Fail(st);
  }
  return absl::OkStatus();
}

absl::Status StreamDecryptor::Finish() {
  State& s = *state_;
  if (!s.producer_error.ok()) return s.producer_error;
  if (s.finished_ok) return absl::OkStatus();
  if (absl::Status st = s.CheckSize(); !st.ok()) return s.Fail(st);
  if (s.next_index != s.layout().num_segments() || !s.pending.empty()) {
    return s.Fail(Truncated());
  }
  s.StopWorkers(/*abort=*/false);
  if (absl::Status st = s.WorkerError(); !st.ok()) return s.Fail(st);
  s.finished_ok = true;
  return absl::OkStatus();
}

}  // namespace confide::crypto
