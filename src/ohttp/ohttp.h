// confide::ohttp Oblivious HTTP (RFC 9458): key configurations and the encapsulation of
// requests and responses with HPKE (crypto/hpke.h).
//
// The enclave holds a Gateway (its private keys); a client that verified the enclave's
// attestation (whose user_data is SHA-256 of the key configuration list) encapsulates each
// request to the configuration and opens the response with the context it kept. Everything
// here is pure computation: no I/O.
//
// Errors: InvalidArgument for malformed input, an unknown key id or an unsupported algorithm;
// Unauthenticated ("OHTTP decryption failed") for every cryptographic failure, one error with
// no detail (no oracle).
#ifndef CONFIDE_OHTTP_OHTTP_H_
#define CONFIDE_OHTTP_OHTTP_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/hpke.h"

namespace confide::ohttp {

struct SymmetricAlgorithm {
  uint16_t kdf_id = 0x0001;   // HKDF-SHA256
  uint16_t aead_id = 0x0001;  // AES-128-GCM
  bool operator==(const SymmetricAlgorithm&) const = default;
};

// KeyConfig is one key configuration (RFC 9458 §3.1).
struct KeyConfig {
  uint8_t key_id = 0;
  uint16_t kem_id = 0x0020;  // DHKEM(X25519, HKDF-SHA256)
  Bytes public_key;
  std::vector<SymmetricAlgorithm> algorithms;
  bool operator==(const KeyConfig&) const = default;
};

// EncodeKeyConfig returns the RFC 9458 §3.1 encoding. InvalidArgument if the KEM is
// unsupported, the key has the wrong length, or there are no (or more than 16383) algorithms.
absl::StatusOr<Bytes> EncodeKeyConfig(const KeyConfig& config);
// DecodeKeyConfig parses exactly one key configuration. InvalidArgument on truncation, trailing
// bytes, an unsupported KEM (its key length is unknown), an invalid public key, or an
// algorithms length that is zero or not a multiple of 4.
absl::StatusOr<KeyConfig> DecodeKeyConfig(ByteSpan data);
// EncodeKeyConfigList returns the application/ohttp-keys encoding (§3.2): each configuration
// prefixed with its 2-byte length.
absl::StatusOr<Bytes> EncodeKeyConfigList(std::span<const KeyConfig> configs);
// DecodeKeyConfigList parses application/ohttp-keys, skipping configurations whose KEM is not
// supported (as §3.2 allows). InvalidArgument when malformed or when nothing usable remains.
absl::StatusOr<std::vector<KeyConfig>> DecodeKeyConfigList(ByteSpan data);

// Labels bind a message to its media type (§4.6).
struct Labels {
  std::string request = "message/bhttp request";
  std::string response = "message/bhttp response";
};

// ClientResponseContext opens the response to one request. Move-only; holds a secret.
class ClientResponseContext {
 public:
  // DecapsulateResponse opens an Encapsulated Response (§4.4). Unauthenticated on any failure.
  absl::StatusOr<Bytes> DecapsulateResponse(ByteSpan encapsulated_response) const;

  ClientResponseContext(crypto::HpkeSuite suite, Bytes enc, SecretBytes secret)
      : suite_(suite), enc_(std::move(enc)), secret_(std::move(secret)) {}

 private:
  crypto::HpkeSuite suite_;
  Bytes enc_;
  SecretBytes secret_;
};

struct ClientRequest {
  Bytes encapsulated;  // message/ohttp-req body
  ClientResponseContext context;
};

// EncapsulateRequest seals `request` (usually a Binary HTTP message) to `config` with
// `algorithm`, which must be one the configuration lists. A fresh HPKE context each call
// (§6.1).
absl::StatusOr<ClientRequest> EncapsulateRequest(const KeyConfig& config,
                                                 const SymmetricAlgorithm& algorithm,
                                                 ByteSpan request, const Labels& labels = {});
// EncapsulateRequestForTesting is EncapsulateRequest with a fixed ephemeral key, to reproduce
// published vectors. Never use it outside tests.
absl::StatusOr<ClientRequest> EncapsulateRequestForTesting(const KeyConfig& config,
                                                           const SymmetricAlgorithm& algorithm,
                                                           ByteSpan request,
                                                           const SecretBytes& ephemeral_key,
                                                           const Labels& labels = {});

// GatewayKey is a key pair with its published configuration. Move-only.
class GatewayKey {
 public:
  // Generate creates a fresh key for `kem_id` offering `algorithms`.
  static absl::StatusOr<GatewayKey> Generate(uint8_t key_id, uint16_t kem_id,
                                             std::vector<SymmetricAlgorithm> algorithms);
  // FromPrivateKey wraps an existing private key (e.g. a published test vector).
  static absl::StatusOr<GatewayKey> FromPrivateKey(uint8_t key_id, uint16_t kem_id,
                                                   SecretBytes private_key,
                                                   std::vector<SymmetricAlgorithm> algorithms);
  const KeyConfig& config() const { return config_; }
  const SecretBytes& private_key() const { return private_key_; }

 private:
  GatewayKey(KeyConfig config, SecretBytes private_key)
      : config_(std::move(config)), private_key_(std::move(private_key)) {}
  KeyConfig config_;
  SecretBytes private_key_;
};

// ServerResponseContext seals the response to one decapsulated request. Move-only.
class ServerResponseContext {
 public:
  // EncapsulateResponse seals `response` with a fresh random response nonce (§4.4).
  absl::StatusOr<Bytes> EncapsulateResponse(ByteSpan response) const;
  // EncapsulateResponseForTesting uses `response_nonce` (max(Nn, Nk) bytes).
  absl::StatusOr<Bytes> EncapsulateResponseForTesting(ByteSpan response,
                                                      ByteSpan response_nonce) const;

  ServerResponseContext(crypto::HpkeSuite suite, Bytes enc, SecretBytes secret)
      : suite_(suite), enc_(std::move(enc)), secret_(std::move(secret)) {}

 private:
  crypto::HpkeSuite suite_;
  Bytes enc_;
  SecretBytes secret_;
};

struct DecapsulatedRequest {
  Bytes request;
  uint8_t key_id;
  ServerResponseContext context;
};

// Gateway decapsulates requests for a set of keys (several during rotation). Thread-safe.
class Gateway {
 public:
  // Create takes the keys; InvalidArgument if empty or two share a key id.
  static absl::StatusOr<Gateway> Create(std::vector<GatewayKey> keys);
  // KeyConfigs returns the configurations in application/ohttp-keys form.
  const Bytes& EncodedKeyConfigs() const { return encoded_configs_; }
  std::vector<KeyConfig> Configs() const;

  // DecapsulateRequest opens an Encapsulated Request (§4.3). InvalidArgument for a malformed
  // header, an unknown key id or an algorithm the key does not offer; Unauthenticated when
  // decryption fails.
  absl::StatusOr<DecapsulatedRequest> DecapsulateRequest(ByteSpan encapsulated,
                                                         const Labels& labels = {}) const;

 private:
  friend class ChunkedRequestReceiver;
  Gateway(std::vector<GatewayKey> keys, Bytes encoded)
      : keys_(std::move(keys)), encoded_configs_(std::move(encoded)) {}
  std::vector<GatewayKey> keys_;
  Bytes encoded_configs_;
};

}  // namespace confide::ohttp

#endif  // CONFIDE_OHTTP_OHTTP_H_
