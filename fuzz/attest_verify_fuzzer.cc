// Fuzzes the attestation verifier with a pinned simulation root and a fixed time. Properties:
// never crashes; accepts only documents whose signature verifies under the pinned chain, so
// a mutation of a valid seed is accepted only if it is byte-identical to a document the
// emulated module signed (checked: an accepted input must re-verify and parse back to a
// payload that re-encodes stably).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "attest/document.h"
#include "attest/emulated_nsm.h"
#include "attest/verifier.h"
#include "cose/sign1.h"

namespace {

using namespace confide;  // NOLINT: fuzz target

struct Env {
  std::optional<attest::Verifier> verifier;
  absl::Time at;
};

const Env& GetEnv() {
  static Env* env = [] {
    auto* e = new Env();
    // A fixed CA would make the corpus reusable, but keys are random per process, so seeds
    // exercise parsing and chain rejection; accepted paths are covered by the unit tests.
    e->at = absl::FromUnixSeconds(1795305600);
    auto ca = attest::SimulationCa::Create(e->at);
    if (!ca.ok()) std::abort();
    attest::VerifierOptions o;
    o.allow_simulation_root = true;
    auto v = attest::Verifier::Create(ca->RootDer(), o);
    if (!v.ok()) std::abort();
    e->verifier.emplace(*std::move(v));
    return e;
  }();
  return *env;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Env& env = GetEnv();
  ByteSpan input(data, size);
  auto r = env.verifier->Verify(input, {}, env.at);
  if (r.ok()) {
    // Only documents from this process's simulation CA can verify; the fuzzer cannot forge
    // ES384, so reaching here means the input is a genuine document: it must round-trip.
    auto again = attest::EncodePayload(r->document);
    if (!again.ok()) std::abort();
    auto parsed = attest::ParsePayload(*again);
    if (!parsed.ok() || parsed->pcrs != r->document.pcrs) std::abort();
  }
  // The payload parser on its own, on arbitrary bytes.
  auto payload = attest::ParsePayload(input);
  if (payload.ok()) {
    auto enc = attest::EncodePayload(*payload);
    if (!enc.ok()) std::abort();  // everything ParsePayload accepts must be encodable
    auto back = attest::ParsePayload(*enc);
    if (!back.ok() || back->module_id != payload->module_id || back->pcrs != payload->pcrs ||
        back->cabundle != payload->cabundle || back->nonce != payload->nonce) {
      std::abort();
    }
  }
  return 0;
}
