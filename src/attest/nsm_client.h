// confide::attest NSM client: how code inside an enclave talks to its secure module.
//
// Two backends speak the same CBOR messages (nsm_codec.h):
//   - the real Nitro device, /dev/nsm, through the NSM_IOCTL_RAW ioctl;
//   - a descriptor inherited from the launcher, which plays the hypervisor and answers with
//     EmulatedNsm (ServeNsm below). Messages on the descriptor are framed as a 4-byte
//     big-endian length followed by the CBOR bytes, at most the driver's limits (0x1000 bytes
//     per request, 0x3000 per response), so neither side can be made to buffer more.
// The simulation CA key never enters the enclave: the launcher signs.
#ifndef CONFIDE_ATTEST_NSM_CLIENT_H_
#define CONFIDE_ATTEST_NSM_CLIENT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "attest/emulated_nsm.h"
#include "attest/nsm_codec.h"
#include "base/bytes.h"
#include "base/status.h"

namespace confide::attest {

// NsmClient sends requests to a secure module. Not thread-safe (one request at a time, like
// the device); use one client per thread or a lock.
class NsmClient {
 public:
  virtual ~NsmClient() = default;

  // Call sends `request` and returns the module's response, which may be an
  // NsmErrorResponse. Unavailable when the transport fails, InvalidArgument when the response
  // does not decode or the request is too large to send.
  virtual absl::StatusOr<NsmResponse> Call(const NsmRequest& request) = 0;

  // The helpers below turn an error response into FailedPrecondition naming the NSM error code,
  // and a response of the wrong variant into Internal.
  // Attestation returns a COSE_Sign1 attestation document.
  absl::StatusOr<Bytes> Attestation(std::optional<Bytes> user_data, std::optional<Bytes> nonce,
                                    std::optional<Bytes> public_key);
  // DescribePcr returns a PCR's value and lock state.
  absl::StatusOr<NsmDescribePcrResponse> DescribePcr(uint16_t index);
  // ExtendPcr extends a PCR and returns its new value.
  absl::StatusOr<Bytes> ExtendPcr(uint16_t index, ByteSpan data);
  // LockPcr / LockPcrs lock one PCR / PCRs [0, range).
  absl::Status LockPcr(uint16_t index);
  absl::Status LockPcrs(uint16_t range);
  // DescribeNsm returns the module's description.
  absl::StatusOr<NsmDescribeNsmResponse> DescribeNsm();
  // GetRandom returns random bytes from the module.
  absl::StatusOr<Bytes> GetRandom();
};

// kNitroNsmDevice is the real secure module's device node inside a Nitro enclave.
inline constexpr char kNitroNsmDevice[] = "/dev/nsm";

// NewDeviceNsmClient opens the Nitro device at `path`. NotFound when it cannot be opened.
absl::StatusOr<std::unique_ptr<NsmClient>> NewDeviceNsmClient(
    const std::string& path = kNitroNsmDevice);

// NewDescriptorNsmClient returns a client over the connected stream descriptor `fd` (it takes
// ownership and closes it). InvalidArgument for a negative fd.
absl::StatusOr<std::unique_ptr<NsmClient>> NewDescriptorNsmClient(int fd);

// ServeNsm answers framed requests on `fd` with `nsm` until the peer closes (OK) or a frame is
// malformed or oversized (InvalidArgument; the connection is then useless) or the descriptor
// fails (Unavailable). `now` supplies document timestamps. Does not close `fd`.
absl::Status ServeNsm(EmulatedNsm& nsm, int fd, const std::function<absl::Time()>& now);

}  // namespace confide::attest

#endif  // CONFIDE_ATTEST_NSM_CLIENT_H_
