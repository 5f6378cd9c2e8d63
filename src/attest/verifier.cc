#include "attest/verifier.h"

#include <list>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/ct.h"
#include "cose/sign1.h"
#include "crypto/ecdsa.h"
#include "crypto/sha.h"
#include "crypto/x509.h"

namespace confide::attest {
namespace {

constexpr std::string_view kPemMarker = "-----BEGIN";

absl::Status Reject(absl::StatusCode code, absl::string_view check, absl::string_view detail) {
  return absl::Status(code, absl::StrCat(check, ": ", detail));
}

// ChainCacheKey is SHA-256 over the length-prefixed DER of root, cabundle and leaf, so two
// chains share a key only if every certificate is byte-identical.
Bytes ChainCacheKey(const Bytes& root_der, const AttestationDocument& doc) {
  crypto::Hasher h(crypto::HashAlg::kSha256);
  auto add = [&h](ByteSpan der) {
    uint8_t len[8];
    uint64_t n = der.size();
    for (int i = 7; i >= 0; --i) {
      len[i] = static_cast<uint8_t>(n);
      n >>= 8;
    }
    h.Update(len);
    h.Update(der);
  };
  add(root_der);
  for (const Bytes& c : doc.cabundle) add(c);
  add(doc.certificate);
  return h.Finish();
}

struct CachedChain {
  crypto::Certificate leaf;
  crypto::EcdsaPublicKey leaf_key;
  crypto::ValidityWindow window;
};

}  // namespace

bool IsSimulationRootSubject(const std::string& subject) {
  return subject.find(absl::StrCat("O=", kSimulationOrganization)) != std::string::npos ||
         subject.find(kSimulationRootCommonName) != std::string::npos;
}

struct Verifier::Impl {
  Impl(crypto::Certificate r, VerifierOptions o)
      : root(std::move(r)), root_sha256(crypto::Sha256(root.Der())), options(o) {}

  crypto::Certificate root;
  Bytes root_sha256;
  VerifierOptions options;

  // LRU cache of verified chains: front = most recently used.
  mutable std::mutex mu;
  mutable std::list<std::pair<Bytes, CachedChain>> lru;
  mutable std::map<Bytes, std::list<std::pair<Bytes, CachedChain>>::iterator> index;

  std::optional<CachedChain> Lookup(const Bytes& key, absl::Time at) const {
    std::lock_guard<std::mutex> lock(mu);
    auto it = index.find(key);
    if (it == index.end()) return std::nullopt;
    if (!it->second->second.window.Contains(at)) {
      // Outside the window the chain must be verified again (and will fail if expired).
      lru.erase(it->second);
      index.erase(it);
      return std::nullopt;
    }
    lru.splice(lru.begin(), lru, it->second);
    return it->second->second;
  }

  void Insert(const Bytes& key, CachedChain chain) const {
    if (options.chain_cache_capacity == 0) return;
    std::lock_guard<std::mutex> lock(mu);
    if (index.count(key)) return;
    lru.emplace_front(key, std::move(chain));
    index[key] = lru.begin();
    while (lru.size() > options.chain_cache_capacity) {
      index.erase(lru.back().first);
      lru.pop_back();
    }
  }

  absl::StatusOr<CachedChain> VerifyChainFresh(const AttestationDocument& doc,
                                               absl::Time at) const {
    const std::string check = "certificate chain";
    std::vector<crypto::Certificate> intermediates;
    for (size_t i = 1; i < doc.cabundle.size(); ++i) {
      auto cert = crypto::Certificate::FromDer(doc.cabundle[i]);
      if (!cert.ok()) {
        return Reject(absl::StatusCode::kUnauthenticated, check,
                      absl::StrCat("cabundle[", i, "] is not a valid certificate: ",
                                   std::string(cert.status().message())));
      }
      intermediates.push_back(*std::move(cert));
    }
    auto leaf = crypto::Certificate::FromDer(doc.certificate);
    if (!leaf.ok()) {
      return Reject(
          absl::StatusCode::kUnauthenticated, check,
          absl::StrCat("certificate is not valid: ", std::string(leaf.status().message())));
    }
    absl::Status chain = crypto::VerifyChain(root, intermediates, *leaf, at);
    if (!chain.ok()) {
      return Reject(absl::StatusCode::kUnauthenticated, check, chain.message());
    }
    auto key = leaf->EcdsaKey();
    if (!key.ok() || key->curve() != crypto::Curve::kP384) {
      return Reject(absl::StatusCode::kUnauthenticated, check,
                    "the signing certificate does not hold a P-384 key");
    }
    CachedChain out{*leaf, *key, crypto::ChainValidityWindow(root, intermediates, *leaf)};
    return out;
  }
};

absl::StatusOr<Verifier> Verifier::Create(ByteSpan root, const VerifierOptions& options) {
  std::string_view text = AsStringView(root);
  absl::StatusOr<crypto::Certificate> cert = text.find(kPemMarker) != std::string_view::npos
                                                 ? crypto::Certificate::FromPem(text)
                                                 : crypto::Certificate::FromDer(root);
  if (!cert.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("root certificate does not parse: ", std::string(cert.status().message())));
  }
  if (cert->Subject() != cert->Issuer() || !cert->IsCa()) {
    return absl::InvalidArgumentError("root certificate is not a self-signed CA certificate");
  }
  if (IsSimulationRootSubject(cert->Subject()) && !options.allow_simulation_root) {
    return absl::FailedPreconditionError(
        "the pinned root is a confide simulation root, which signs only emulated (development) "
        "documents; trust it explicitly with allow_simulation_root / --allow-simulation-root");
  }
  return Verifier(std::make_shared<Impl>(*std::move(cert), options));
}

size_t Verifier::cache_size() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->lru.size();
}

absl::StatusOr<VerifiedDocument> Verifier::Verify(ByteSpan document, const Expectations& expect,
                                                  absl::Time at) const {
  using absl::StatusCode;
  // 1. Size.
  if (document.empty() || document.size() > kMaxDocumentLen) {
    return Reject(
        StatusCode::kInvalidArgument, "size",
        absl::StrCat("document is ", document.size(), " bytes; allowed 1..", kMaxDocumentLen));
  }
  // 2. COSE_Sign1 structure and algorithm.
  auto msg = cose::Sign1Message::Parse(document);
  if (!msg.ok()) return Reject(StatusCode::kInvalidArgument, "COSE_Sign1", msg.status().message());
  if (msg->detached()) {
    return Reject(StatusCode::kInvalidArgument, "COSE_Sign1", "payload is missing (detached)");
  }
  auto alg = msg->algorithm();
  if (!alg.ok()) return Reject(StatusCode::kInvalidArgument, "COSE_Sign1", alg.status().message());
  if (*alg != cose::Algorithm::kEs384) {
    return Reject(StatusCode::kInvalidArgument, "COSE_Sign1",
                  "attestation documents must be signed with ES384");
  }
  // 3. Payload syntax. The payload is parsed (bounded) before the signature is checked because
  // the signing key is inside it; nothing from it is trusted until step 5 passes.
  auto doc = ParsePayload(msg->unverified_payload());
  if (!doc.ok()) return Reject(StatusCode::kInvalidArgument, "payload", doc.status().message());

  // 4. Certificate chain.
  if (doc->cabundle.front() != impl_->root.Der()) {
    return Reject(StatusCode::kUnauthenticated, "certificate chain",
                  "cabundle[0] is not the pinned root certificate");
  }
  const Bytes cache_key = ChainCacheKey(impl_->root.Der(), *doc);
  std::optional<CachedChain> chain = impl_->Lookup(cache_key, at);
  const bool from_cache = chain.has_value();
  if (!from_cache) {
    ASSIGN_OR_RETURN(chain, impl_->VerifyChainFresh(*doc, at));
  }

  // 5. Signature.
  if (absl::Status s = msg->Verify(chain->leaf_key); !s.ok()) {
    return Reject(StatusCode::kUnauthenticated, "signature", s.message());
  }
  if (!from_cache) impl_->Insert(cache_key, *chain);

  // 6. Freshness.
  const absl::Time stamp = absl::FromUnixMillis(static_cast<int64_t>(
      std::min<uint64_t>(doc->timestamp_ms, static_cast<uint64_t>(INT64_MAX))));
  if (stamp > at + expect.max_clock_skew) {
    return Reject(StatusCode::kFailedPrecondition, "freshness",
                  "document timestamp is later than the verification time");
  }
  if (stamp < chain->leaf.NotBefore() || stamp > chain->leaf.NotAfter()) {
    return Reject(StatusCode::kFailedPrecondition, "freshness",
                  "document timestamp is outside its signing certificate's validity");
  }
  if (expect.max_age && stamp < at - *expect.max_age) {
    return Reject(StatusCode::kFailedPrecondition, "freshness",
                  absl::StrCat("document is older than the maximum age of ",
                               absl::FormatDuration(*expect.max_age)));
  }

  // 7. Expectations.
  for (const auto& [index, want] : expect.pcrs) {
    auto it = doc->pcrs.find(index);
    if (it == doc->pcrs.end()) {
      return Reject(StatusCode::kFailedPrecondition, "PCRs",
                    absl::StrCat("PCR", index, " is expected but absent"));
    }
    if (!ConstantTimeEquals(it->second, want)) {
      return Reject(StatusCode::kFailedPrecondition, "PCRs",
                    absl::StrCat("PCR", index, " does not match the expected value"));
    }
  }
  auto check_field = [](const char* name, const std::optional<Bytes>& want,
                        const std::optional<Bytes>& got) -> absl::Status {
    if (!want) return absl::OkStatus();
    if (!got) {
      return Reject(StatusCode::kFailedPrecondition, name, "expected but absent");
    }
    if (!ConstantTimeEquals(*got, *want)) {
      return Reject(StatusCode::kFailedPrecondition, name, "does not match the expected value");
    }
    return absl::OkStatus();
  };
  if (absl::Status s = check_field("nonce", expect.nonce, doc->nonce); !s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat(std::string(s.message()), " (stale or replayed document)"));
  }
  RETURN_IF_ERROR(check_field("user_data", expect.user_data, doc->user_data));
  RETURN_IF_ERROR(check_field("public_key", expect.public_key, doc->public_key));

  VerifiedDocument out;
  out.leaf_subject = chain->leaf.Subject();
  out.leaf_not_before = chain->leaf.NotBefore();
  out.leaf_not_after = chain->leaf.NotAfter();
  out.root_subject = impl_->root.Subject();
  out.root_sha256 = impl_->root_sha256;
  out.chain_from_cache = from_cache;
  out.simulation = IsSimulationRootSubject(impl_->root.Subject());
  out.document = *std::move(doc);
  return out;
}

}  // namespace confide::attest
