#include "kms/errors.h"

#include <optional>

#include "absl/strings/cord.h"

namespace confide::kms {

absl::Status AwsError(absl::StatusCode code, std::string_view aws_type, std::string_view message) {
  absl::Status status(code, std::string(message));
  status.SetPayload(kAwsErrorPayloadUrl, absl::Cord(std::string(aws_type)));
  return status;
}

std::string AwsErrorType(const absl::Status& status) {
  if (status.ok()) {
    return "";
  }
  auto payload = status.GetPayload(kAwsErrorPayloadUrl);
  if (payload.has_value()) {
    return std::string(*payload);
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return "ValidationException";
    case absl::StatusCode::kNotFound:
      return "NotFoundException";
    case absl::StatusCode::kPermissionDenied:
      return "AccessDeniedException";
    case absl::StatusCode::kUnauthenticated:
      return "UnrecognizedClientException";
    default:
      return "KMSInternalException";
  }
}

}  // namespace confide::kms
