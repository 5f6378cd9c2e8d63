// confide::kms errors: absl::Status values that carry AWS's error name ("__type").
//
// The HTTP layer maps a Status to AWS's JSON error body {"__type": ..., "message": ...} and HTTP
// status. The AWS name travels as a Status payload so that the code (for our own callers) and
// the name (for AWS clients) cannot drift apart.
#ifndef CONFIDE_KMS_ERRORS_H_
#define CONFIDE_KMS_ERRORS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace confide::kms {

// kAwsErrorPayloadUrl is the Status payload type URL under which the AWS error name is stored.
inline constexpr char kAwsErrorPayloadUrl[] = "type.confide/aws-error";

// AwsError returns a Status with `code` and `message` whose payload names the AWS error
// `aws_type` (e.g. "InvalidSignatureException"). `message` must not carry secrets or payloads.
absl::Status AwsError(absl::StatusCode code, std::string_view aws_type, std::string_view message);

// AwsErrorType returns the AWS error name carried by `status`, or a name derived from its code
// when none was attached (InvalidArgument -> ValidationException, NotFound ->
// NotFoundException, PermissionDenied -> AccessDeniedException, Unauthenticated ->
// UnrecognizedClientException, otherwise KMSInternalException). Empty for OK.
std::string AwsErrorType(const absl::Status& status);

}  // namespace confide::kms

#endif  // CONFIDE_KMS_ERRORS_H_
