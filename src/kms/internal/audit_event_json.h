// Private to confide::kms: how an audit event becomes the members of its log line.
#ifndef CONFIDE_KMS_INTERNAL_AUDIT_EVENT_JSON_H_
#define CONFIDE_KMS_INTERNAL_AUDIT_EVENT_JSON_H_

#include <string>

#include "kms/audit_log.h"

namespace confide::kms::internal {

// SerializeEvent returns `e` (already checked: every string is an identifier) as the JSON
// object of its line's members, written directly; SerializeEventWithJson the same through
// nlohmann's ordered_json, the reference SerializeEvent must equal byte for byte.
std::string SerializeEvent(const AuditEvent& e);
std::string SerializeEventWithJson(const AuditEvent& e);

}  // namespace confide::kms::internal

#endif  // CONFIDE_KMS_INTERNAL_AUDIT_EVENT_JSON_H_
