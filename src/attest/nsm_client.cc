#include "attest/nsm_client.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"

namespace confide::attest {
namespace {

//= https://github.com/torvalds/linux/blob/master/include/uapi/linux/nsm.h
//# struct nsm_iovec { __u64 addr; __u64 len; };
//# struct nsm_raw { struct nsm_iovec request; struct nsm_iovec response; };
//# #define NSM_IOCTL_RAW _IOWR(NSM_MAGIC, 0x0, struct nsm_raw)   (NSM_MAGIC 0x0A)
// (aws-nitro-enclaves-nsm-api src/driver/mod.rs issues the same ioctl with two iovecs.) The
// driver sets response.len to the length of the CBOR response.
struct NsmIovec {
  uint64_t addr;
  uint64_t len;
};
struct NsmRaw {
  NsmIovec request;
  NsmIovec response;
};
constexpr unsigned long kNsmIoctlRaw = _IOWR(0x0A, 0x0, NsmRaw);

absl::Status ErrorCode(const NsmResponse& r, const char* what) {
  if (const auto* e = std::get_if<NsmErrorResponse>(&r)) {
    return absl::FailedPreconditionError(
        absl::StrCat("secure module refused ", what, ": ", NsmErrorCodeName(e->code)));
  }
  return absl::InternalError(absl::StrCat("secure module answered ", what, " with another kind"));
}

template <typename T>
absl::StatusOr<T> Expect(absl::StatusOr<NsmResponse> r, const char* what) {
  if (!r.ok()) return r.status();
  if (auto* v = std::get_if<T>(&*r)) return std::move(*v);
  return ErrorCode(*r, what);
}

bool WriteFull(int fd, ByteSpan data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// ReadFull returns 1 when `out` is filled, 0 on end of stream before any byte, -1 otherwise.
int ReadFull(int fd, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 && done == 0) return 0;
    if (n <= 0) return -1;
    done += static_cast<size_t>(n);
  }
  return 1;
}

bool WriteFrame(int fd, ByteSpan body) {
  uint32_t len = static_cast<uint32_t>(body.size());
  uint8_t head[4] = {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                     static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
  return WriteFull(fd, ByteSpan(head, 4)) && WriteFull(fd, body);
}

// ReadFrame reads one frame of at most `cap` bytes. NotFound at a clean end of stream.
absl::StatusOr<Bytes> ReadFrame(int fd, size_t cap) {
  uint8_t head[4];
  int r = ReadFull(fd, head);
  if (r == 0) return absl::NotFoundError("NSM channel closed");
  if (r < 0) return absl::UnavailableError("NSM channel: read failed");
  uint32_t len = (uint32_t{head[0]} << 24) | (uint32_t{head[1]} << 16) | (uint32_t{head[2]} << 8) |
                 uint32_t{head[3]};
  if (len > cap) return absl::InvalidArgumentError("NSM channel: frame larger than allowed");
  Bytes body(len);
  if (len > 0 && ReadFull(fd, body) != 1) {
    return absl::UnavailableError("NSM channel: truncated frame");
  }
  return body;
}

class DescriptorClient : public NsmClient {
 public:
  explicit DescriptorClient(int fd) : fd_(fd) {}
  ~DescriptorClient() override { ::close(fd_); }

  absl::StatusOr<NsmResponse> Call(const NsmRequest& request) override {
    Bytes req = EncodeNsmRequest(request);
    if (req.size() > kNsmRequestMaxLen) {
      return absl::InvalidArgumentError("NSM request larger than 0x1000 bytes");
    }
    if (!WriteFrame(fd_, req)) return absl::UnavailableError("NSM channel: write failed");
    auto resp = ReadFrame(fd_, kNsmResponseMaxLen);
    if (!resp.ok()) {
      if (absl::IsNotFound(resp.status())) {
        return absl::UnavailableError("NSM channel closed by the launcher");
      }
      return resp.status();
    }
    return DecodeNsmResponse(*resp);
  }

 private:
  int fd_;
};

class DeviceClient : public NsmClient {
 public:
  explicit DeviceClient(int fd) : fd_(fd) {}
  ~DeviceClient() override { ::close(fd_); }

  absl::StatusOr<NsmResponse> Call(const NsmRequest& request) override {
    Bytes req = EncodeNsmRequest(request);
    if (req.size() > kNsmRequestMaxLen) {
      return absl::InvalidArgumentError("NSM request larger than 0x1000 bytes");
    }
    Bytes resp(kNsmResponseMaxLen);
    NsmRaw raw{{reinterpret_cast<uint64_t>(req.data()), req.size()},
               {reinterpret_cast<uint64_t>(resp.data()), resp.size()}};
    if (::ioctl(fd_, kNsmIoctlRaw, &raw) != 0) {
      return absl::UnavailableError(absl::StrCat("NSM ioctl failed (errno ", errno, ")"));
    }
    if (raw.response.len > resp.size()) {
      return absl::InternalError("NSM driver reported an oversized response");
    }
    resp.resize(static_cast<size_t>(raw.response.len));
    return DecodeNsmResponse(resp);
  }

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<Bytes> NsmClient::Attestation(std::optional<Bytes> user_data,
                                             std::optional<Bytes> nonce,
                                             std::optional<Bytes> public_key) {
  ASSIGN_OR_RETURN(auto r, Expect<NsmAttestationResponse>(
                               Call(NsmAttestationRequest{std::move(user_data), std::move(nonce),
                                                          std::move(public_key)}),
                               "Attestation"));
  return std::move(r.document);
}

absl::StatusOr<NsmDescribePcrResponse> NsmClient::DescribePcr(uint16_t index) {
  return Expect<NsmDescribePcrResponse>(Call(NsmDescribePcrRequest{index}), "DescribePCR");
}

absl::StatusOr<Bytes> NsmClient::ExtendPcr(uint16_t index, ByteSpan data) {
  ASSIGN_OR_RETURN(
      auto r, Expect<NsmExtendPcrResponse>(
                  Call(NsmExtendPcrRequest{index, Bytes(data.begin(), data.end())}), "ExtendPCR"));
  return std::move(r.data);
}

absl::Status NsmClient::LockPcr(uint16_t index) {
  return Expect<NsmLockPcrResponse>(Call(NsmLockPcrRequest{index}), "LockPCR").status();
}

absl::Status NsmClient::LockPcrs(uint16_t range) {
  return Expect<NsmLockPcrsResponse>(Call(NsmLockPcrsRequest{range}), "LockPCRs").status();
}

absl::StatusOr<NsmDescribeNsmResponse> NsmClient::DescribeNsm() {
  return Expect<NsmDescribeNsmResponse>(Call(NsmDescribeNsmRequest{}), "DescribeNSM");
}

absl::StatusOr<Bytes> NsmClient::GetRandom() {
  ASSIGN_OR_RETURN(auto r, Expect<NsmGetRandomResponse>(Call(NsmGetRandomRequest{}), "GetRandom"));
  return std::move(r.random);
}

absl::StatusOr<std::unique_ptr<NsmClient>> NewDeviceNsmClient(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot open secure module ", path));
  return std::unique_ptr<NsmClient>(new DeviceClient(fd));
}

absl::StatusOr<std::unique_ptr<NsmClient>> NewDescriptorNsmClient(int fd) {
  if (fd < 0) return absl::InvalidArgumentError("NSM descriptor is negative");
  return std::unique_ptr<NsmClient>(new DescriptorClient(fd));
}

absl::Status ServeNsm(EmulatedNsm& nsm, int fd, const std::function<absl::Time()>& now) {
  for (;;) {
    auto req = ReadFrame(fd, kNsmRequestMaxLen);
    if (!req.ok()) {
      if (absl::IsNotFound(req.status())) return absl::OkStatus();
      if (absl::IsInvalidArgument(req.status())) {
        // Answer like the driver (EMSGSIZE -> InputTooLarge), then stop: framing is lost.
        (void)WriteFrame(fd, EncodeNsmResponse(NsmErrorResponse{NsmErrorCode::kInputTooLarge}));
      }
      return req.status();
    }
    if (!WriteFrame(fd, nsm.HandleRequest(*req, now()))) {
      return absl::UnavailableError("NSM channel: write failed");
    }
  }
}

}  // namespace confide::attest
