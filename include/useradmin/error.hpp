// The closed set of outcomes the library reports at its boundary.
#ifndef USERADMIN_ERROR_HPP
#define USERADMIN_ERROR_HPP

#include <string>
#include <string_view>
#include <vector>

#include "useradmin/export.hpp"

namespace useradmin {

/// Why an operation did not succeed. The enumerators carry the outcome words
/// of the behaviour contract, so a search from the contract finds the code.
/// The set is closed: a `switch` without `default` over it is total.
enum class ErrorCode {
  /// The caller's credential or identity is not acceptable (contract rule 1).
  unauthenticated,
  /// A request argument is malformed; `Error::fields` names it (rule 2).
  invalid_argument,
  /// The caller is known but may not do this (rules 3, 4, 7, 8).
  permission_denied,
  /// The target does not exist or is invisible to the caller (rules 5, 6).
  not_found,
  /// The target is not in a state that allows the operation (rules 9, 10).
  failed_precondition,
  /// The external identity directory refused or failed (rule 12).
  external_error,
  /// A transient condition (storage busy past its retry budget); retrying
  /// later may succeed. Nothing was changed.
  unavailable,
  /// A bug or a storage failure. Nothing was changed; `Error::detail` says
  /// what happened, for the log only.
  internal,
};

/// Number of enumerators in ErrorCode; keep in step with the enum.
inline constexpr int kErrorCodeCount = 8;

/// The lowercase name of a code, e.g. "not_found". Never null.
USERADMIN_API const char* toString(ErrorCode code) noexcept;

/// One offending field of a validation outcome: the contract's
/// `{"key","message","value"}` triple (e.g. `id`, `invalid_format`, `x y`).
struct FieldError {
  std::string key;
  std::string message;
  std::string value;

  friend bool operator==(const FieldError& a, const FieldError& b) {
    return a.key == b.key && a.message == b.message && a.value == b.value;
  }
};

/// A failed outcome. `message` and `fields` are safe to show to the client;
/// `reason` is a stable machine code for audit records and logs (e.g.
/// "outside_hierarchy", which a client only ever sees as a plain not_found);
/// `detail` is free text for the server log and is never serialized.
struct USERADMIN_API Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  std::vector<FieldError> fields;
  std::string reason;
  std::string detail;

  static Error unauthenticated(std::string reason, std::string detail = {});
  static Error invalidArgument(FieldError field, std::string reason);
  static Error permissionDenied(std::string message, std::string reason);
  /// A user that is missing or invisible: "user not found", field `id`.
  static Error notFound(std::string_view id, std::string reason);
  /// An organization that is missing or invisible: "organization not
  /// found", field `id`.
  static Error organizationNotFound(std::string_view id, std::string reason);
  static Error failedPrecondition(FieldError field, std::string reason);
  static Error externalError(std::string detail);
  static Error unavailable(std::string detail);
  static Error internal(std::string detail);
};

}  // namespace useradmin

#endif  // USERADMIN_ERROR_HPP
