// confide::kms AWS Signature Version 4 (header-signed requests): signer and verifier.
//
//= https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
// CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n
//                    SignedHeaders \n HashedPayload
// StringToSign = "AWS4-HMAC-SHA256" \n RequestDateTime \n CredentialScope \n
//                Hex(SHA256(CanonicalRequest))
// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, Date), Region), Service), "aws4_request")
//
// The verifier covers whatever SignedHeaders lists (host must be among them), checks
// x-amz-content-sha256 against the body when present, the session token, the credential scope
// and a ±5 minute clock skew at an injected time, and compares signatures in constant time.
// Errors carry AWS's names (kms/errors.h). Presigned (query-string) requests and SigV4a are not
// supported: the KMS JSON protocol does not use them.
#ifndef CONFIDE_KMS_SIGV4_H_
#define CONFIDE_KMS_SIGV4_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/secret_bytes.h"
#include "kms/http_request.h"
#include "kms/identity.h"

namespace confide::kms {

// SigV4Credentials are what a client signs with.
struct SigV4Credentials {
  std::string access_key_id;
  SecretBytes secret_access_key;
  std::string session_token;  // empty: none
};

// SigV4SignOptions configure SignSigV4.
struct SigV4SignOptions {
  std::string region;
  std::string service;
  absl::Time time;
  // add_content_sha256 adds and signs x-amz-content-sha256 (hex SHA-256 of the body).
  bool add_content_sha256 = false;
  // normalize_path removes dot segments and repeated slashes from the path before signing (every
  // service except S3).
  bool normalize_path = true;
  // sign_session_token signs X-Amz-Security-Token; when false it is added after signing
  // (the 2015 suite's "header-after" form).
  bool sign_session_token = true;
};

// SigV4Trace is the intermediate text of one signature, for tests and debugging. It holds no
// secret.
struct SigV4Trace {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // lowercase hex
  std::string authorization;  // the Authorization header value
};

// SignSigV4 signs `request` in place: it adds X-Amz-Date, X-Amz-Security-Token (when the
// credentials carry one), x-amz-content-sha256 (when asked) and Authorization, signing every
// header present (names lowercased; the request must carry Host). Returns the trace.
// InvalidArgument when Host is missing or the request already has Authorization or X-Amz-Date.
absl::StatusOr<SigV4Trace> SignSigV4(HttpRequest& request, const SigV4Credentials& credentials,
                                     const SigV4SignOptions& options);

// CanonicalRequest returns the SigV4 canonical request of `request` over `signed_headers`
// (lowercase, sorted) with `payload_hash` as the last line. InvalidArgument when a signed header
// is absent.
absl::StatusOr<std::string> CanonicalRequest(const HttpRequest& request,
                                             const std::vector<std::string>& signed_headers,
                                             std::string_view payload_hash, bool normalize_path);

// DeriveSigningKey returns kSigning for `secret_access_key` and the scope's date (YYYYMMDD),
// region and service.
SecretBytes DeriveSigningKey(ByteSpan secret_access_key, std::string_view date,
                             std::string_view region, std::string_view service);

// SigV4VerifyOptions configure VerifySigV4.
struct SigV4VerifyOptions {
  absl::Time now;  // injected clock
  absl::Duration max_skew = absl::Minutes(5);
  std::string region;           // required credential-scope region
  std::string service = "kms";  // required credential-scope service
  bool normalize_path = true;
  // required_signed_headers (lowercase) must all appear in SignedHeaders, in addition to host.
  // The KMS server passes {"x-amz-date", "x-amz-target"} so that a captured request cannot be
  // replayed as another operation (every AWS SDK signs both).
  std::vector<std::string> required_signed_headers;
};

// VerifySigV4 authenticates `request` against `identities` and returns the caller's identity
// (owned by `identities`). Every failure is Unauthenticated with an AWS error name:
//   MissingAuthenticationTokenException  no Authorization header;
//   IncompleteSignatureException  malformed Authorization, credential or SignedHeaders, a missing
//       or malformed X-Amz-Date, a signed header absent, host or a required header not signed;
//   InvalidSignatureException  date outside ±max_skew ("Signature expired" / "not yet current"),
//       wrong scope date, region or service, or a signature mismatch;
//   UnrecognizedClientException  unknown access key or a wrong, missing or unexpected
//       session token;
//   XAmzContentSHA256Mismatch  x-amz-content-sha256 differs from the body's hash.
// Messages never contain the secret, the expected signature or the session token.
absl::StatusOr<const Identity*> VerifySigV4(const HttpRequest& request,
                                            const IdentityStore& identities,
                                            const SigV4VerifyOptions& options);

// FormatAmzDate returns `t` as YYYYMMDD'T'HHMMSS'Z' (UTC).
std::string FormatAmzDate(absl::Time t);

// ParseAmzDate parses YYYYMMDD'T'HHMMSS'Z'. InvalidArgument when malformed.
absl::StatusOr<absl::Time> ParseAmzDate(std::string_view text);

// UriEncode percent-encodes every byte of `s` except A-Z a-z 0-9 - _ . ~ (and '/' when
// `keep_slash`), with uppercase hex, as SigV4 requires.
std::string UriEncode(std::string_view s, bool keep_slash);

}  // namespace confide::kms

#endif  // CONFIDE_KMS_SIGV4_H_
