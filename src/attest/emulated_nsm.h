// confide::attest emulated secure module: signs Nitro-format attestation documents in
// development and CI, where there is no Nitro hypervisor.
//
// The chain mirrors Nitro's shape at a smaller depth: a simulation root CA (P-384, CN
// kSimulationRootCommonName) -> an intermediate CA -> a short-lived leaf per module (3 hours,
// like a Nitro enclave's signing certificate, re-issued when it has less than half its lifetime
// left). Documents list [root, intermediate] as cabundle. Every Verifier refuses the
// simulation root unless told to trust it (VerifierOptions::allow_simulation_root), so an
// emulated document can never pass for a real one.
//
// Debug mode: as on Nitro, PCR0, PCR1, PCR2 and PCR8 read as zeros, so a debug enclave never
// satisfies a policy pinned to its image.
//
// The module also answers the rest of the NSM API (nsm_codec.h) with Nitro's register rules:
// 32 PCRs; PCR0-15 are locked from the start (read-only to the enclave, set by the launcher);
// PCR16-31 start at zero and can be extended (PCR' = SHA-384(PCR || data)) until locked, by
// LockPCR or LockPCRs. Documents carry the PCRs given at construction plus every locked PCR
// from 16 up.
#ifndef CONFIDE_ATTEST_EMULATED_NSM_H_
#define CONFIDE_ATTEST_EMULATED_NSM_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "attest/nsm_codec.h"
#include "attest/pcr.h"
#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace confide::attest {

// SimulationCa holds the simulation root and intermediate CA keys. Thread-safe for const use.
class SimulationCa {
 public:
  // Create makes a fresh root (valid 10 years from `now` minus 1 hour) and intermediate.
  static absl::StatusOr<SimulationCa> Create(absl::Time now);
  // Load reads a CA saved by Save from `dir` (root.pem, root.key, intermediate.pem,
  // intermediate.key). NotFound / InvalidArgument naming the bad file.
  static absl::StatusOr<SimulationCa> Load(const std::string& dir);
  // Save writes the CA to `dir` (created if missing); keys are written with mode 0600 and each
  // file atomically.
  absl::Status Save(const std::string& dir) const;

  // RootDer / RootPem return the root certificate (what verifiers pin).
  Bytes RootDer() const;
  std::string RootPem() const;
  Bytes IntermediateDer() const;

  struct Leaf;
  // IssueLeaf issues a P-384 leaf certificate for `module_id`, valid from `now` - 1 minute for
  // `lifetime`.
  absl::StatusOr<std::shared_ptr<const Leaf>> IssueLeaf(const std::string& module_id,
                                                        absl::Time now,
                                                        absl::Duration lifetime) const;

  struct State;

 private:
  explicit SimulationCa(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

// EmulatedNsm answers attestation requests for one emulated enclave. Thread-safe.
class EmulatedNsm {
 public:
  // EmulatedNsm signs for `module_id` with `pcrs` (index -> 48-byte value). In debug mode,
  // PCR0/1/2/8 are reported as zeros whatever `pcrs` says.
  EmulatedNsm(std::shared_ptr<const SimulationCa> ca, std::string module_id, PcrMap pcrs,
              bool debug_mode = false);

  // Attest returns a COSE_Sign1 document (untagged, as Nitro emits) at time `now` carrying the
  // given optional fields. InvalidArgument if a field exceeds 1024 bytes (public_key must also
  // be non-empty when given); Internal on a signing failure.
  absl::StatusOr<Bytes> Attest(std::optional<Bytes> user_data, std::optional<Bytes> nonce,
                               std::optional<Bytes> public_key, absl::Time now);

  // pcrs returns the PCRs a document carries now (debug-mode zeros applied; locked PCR16+
  // included).
  PcrMap pcrs() const;

  // kMaxPcrs is the size of the register bank (Nitro's max_pcrs); kFirstWritablePcr the first
  // index the enclave may extend or lock.
  static constexpr uint16_t kMaxPcrs = 32;
  static constexpr uint16_t kFirstWritablePcr = 16;
  // kRandomLen is how many bytes GetRandom returns.
  static constexpr size_t kRandomLen = 256;

  // Process answers one request at time `now`. Failures are NSM error responses, as the real
  // module gives them: InvalidIndex for an index >= kMaxPcrs (or a LockPCRs range above it),
  // ReadOnlyIndex when extending a locked PCR, InputTooLarge for an attestation field over
  // 1024 bytes, InvalidArgument for an empty public_key, InternalError when signing or the
  // CSPRNG fails. Thread-safe.
  NsmResponse Process(const NsmRequest& request, absl::Time now);

  // HandleRequest decodes a CBOR request, processes it and returns the CBOR response: what the
  // launcher answers on the enclave's NSM descriptor. A request larger than kNsmRequestMaxLen
  // gets Error(InputTooLarge), one that does not decode Error(InvalidArgument).
  Bytes HandleRequest(ByteSpan request, absl::Time now);

 private:
  std::shared_ptr<const SimulationCa> ca_;
  std::string module_id_;
  PcrMap pcrs_;  // as given (debug zeros applied); immutable after construction
  mutable std::mutex mu_;
  std::shared_ptr<const SimulationCa::Leaf> leaf_;  // guarded by mu_
  std::vector<Bytes> bank_;                         // guarded by mu_; kMaxPcrs registers
  std::vector<bool> locked_;                        // guarded by mu_
};

}  // namespace confide::attest

#endif  // CONFIDE_ATTEST_EMULATED_NSM_H_
