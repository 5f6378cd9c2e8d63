// confide::base status helpers: absl::Status / absl::StatusOr plus the two propagation macros.
//
// Our code does not throw. Functions that can fail because of their input or environment return
// absl::Status or absl::StatusOr<T>; callers propagate with RETURN_IF_ERROR / ASSIGN_OR_RETURN.
#ifndef CONFIDE_BASE_STATUS_H_
#define CONFIDE_BASE_STATUS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define CONFIDE_STATUS_CONCAT_INNER_(a, b) a##b
#define CONFIDE_STATUS_CONCAT_(a, b) CONFIDE_STATUS_CONCAT_INNER_(a, b)

// RETURN_IF_ERROR(expr) returns the absl::Status of `expr` from the enclosing function when it
// is not OK. `expr` may yield absl::Status or absl::StatusOr<T>.
#define RETURN_IF_ERROR(expr)                                          \
  do {                                                                 \
    const auto& confide_status_ref_ = (expr);                          \
    if (!confide_status_ref_.ok()) {                                   \
      return ::confide::base::internal::ToStatus(confide_status_ref_); \
    }                                                                  \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr) evaluates `expr` (an absl::StatusOr<T>), returns its status from
// the enclosing function on error, and otherwise move-assigns the value to `lhs`, which may be
// a declaration (`auto x`, `Bytes out`) or an existing lvalue.
#define ASSIGN_OR_RETURN(lhs, expr) \
  CONFIDE_ASSIGN_OR_RETURN_IMPL_(CONFIDE_STATUS_CONCAT_(confide_statusor_, __LINE__), lhs, expr)

#define CONFIDE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) {                                     \
    return std::move(tmp).status();                    \
  }                                                    \
  lhs = std::move(tmp).value()

namespace confide::base::internal {

inline const absl::Status& ToStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& ToStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace confide::base::internal

#endif  // CONFIDE_BASE_STATUS_H_
