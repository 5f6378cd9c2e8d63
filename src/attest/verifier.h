// confide::attest::Verifier: fail-closed verification of Nitro-format attestation documents.
//
// A document is accepted only if every check passes, in this order (the Status of a rejection
// names the first failed check):
//   1. size: at most kMaxDocumentLen bytes;
//   2. COSE_Sign1 structure (tagged or untagged), algorithm ES384 in the protected header;
//   3. payload syntax (document.h: fields, types, sizes);
//   4. certificate chain: cabundle[0] is byte-for-byte the pinned root; cabundle[1..] then the
//      certificate form a valid chain to it at the injected time (expiry included);
//   5. the COSE signature, with the leaf certificate's P-384 key;
//   6. freshness: the document's timestamp is not after `at` (plus skew) nor older than max_age;
//   7. expectations: each expected PCR, the nonce, user_data and public_key (constant time).
//
// A verified chain is cached (keyed by the bytes of the root, the cabundle and the certificate;
// bounded, least recently used evicted) together with its validity window, so a later document
// from the same enclave costs one ECDSA P-384 verification; a cached chain is used only at times
// inside its window, otherwise it is verified again from scratch.
//
// The confide simulation root (the emulated secure module's CA) is refused unless the verifier
// is created with allow_simulation_root.
//
// Verifier is thread-safe and cheap to copy (copies share the cache).
#ifndef CONFIDE_ATTEST_VERIFIER_H_
#define CONFIDE_ATTEST_VERIFIER_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "attest/document.h"
#include "attest/pcr.h"
#include "base/bytes.h"
#include "base/status.h"

namespace confide::attest {

// Expectations are what the relying party requires beyond a valid signature and chain.
struct Expectations {
  // pcrs: each listed PCR must be present with exactly this value.
  PcrMap pcrs;
  // nonce / user_data / public_key: when set, the document must carry exactly these bytes.
  std::optional<Bytes> nonce;
  std::optional<Bytes> user_data;
  std::optional<Bytes> public_key;
  // max_age: when set, reject documents whose timestamp is older than `at - max_age`.
  std::optional<absl::Duration> max_age;
  // max_clock_skew: tolerated amount by which a timestamp may be later than `at`.
  absl::Duration max_clock_skew = absl::Minutes(5);
};

// VerifiedDocument is an accepted document and facts about its chain.
struct VerifiedDocument {
  AttestationDocument document;
  std::string leaf_subject;
  absl::Time leaf_not_before;
  absl::Time leaf_not_after;
  std::string root_subject;
  Bytes root_sha256;      // SHA-256 of the pinned root's DER
  bool chain_from_cache;  // the chain was verified earlier and reused
  // simulation is true when the pinned root is a confide simulation root: the document came
  // from the emulated secure module (development), never from enclave hardware.
  bool simulation;
};

struct VerifierOptions {
  // chain_cache_capacity bounds the number of cached verified chains (0 disables the cache).
  size_t chain_cache_capacity = 256;
  // allow_simulation_root permits pinning confide's simulation root (development and CI).
  bool allow_simulation_root = false;
};

class Verifier {
 public:
  // Create pins `root` (PEM or DER certificate). InvalidArgument if it does not parse or is not
  // a self-signed CA certificate; FailedPrecondition if it is a confide simulation root and
  // options.allow_simulation_root is false.
  static absl::StatusOr<Verifier> Create(ByteSpan root, const VerifierOptions& options = {});

  // Verify checks `document` (raw COSE_Sign1 bytes) at time `at` against `expect`. Returns the
  // verified document, or: InvalidArgument (malformed), Unauthenticated (chain, signature),
  // FailedPrecondition (freshness, expectation mismatch). The message names the failed check.
  absl::StatusOr<VerifiedDocument> Verify(ByteSpan document, const Expectations& expect,
                                          absl::Time at) const;

  // cache_size returns how many verified chains are cached (for tests and metrics).
  size_t cache_size() const;

 private:
  struct Impl;
  explicit Verifier(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

// IsSimulationRootSubject returns true for the subject confide gives its simulation roots.
bool IsSimulationRootSubject(const std::string& subject);

// kSimulationRootCommonName is the CN of every confide simulation root; verifiers refuse a root
// with this CN unless explicitly allowed.
inline constexpr char kSimulationRootCommonName[] = "confide simulation root - NOT FOR PRODUCTION";
inline constexpr char kSimulationOrganization[] = "confide-simulation";

}  // namespace confide::attest

#endif  // CONFIDE_ATTEST_VERIFIER_H_
