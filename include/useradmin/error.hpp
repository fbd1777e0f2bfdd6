// The closed set of outcomes the library reports at its boundary.
#ifndef USERADMIN_ERROR_HPP
#define USERADMIN_ERROR_HPP

#include <chrono>
#include <optional>
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

/// Why a call to the external identity directory failed (directory.md §3).
enum class DirectoryFailureReason {
  /// No answer within the per-call timeout; the change may have been applied.
  timeout,
  /// No connection: refused, name not resolved, TLS handshake or
  /// certificate verification failed.
  unreachable,
  /// The directory answered with a non-2xx status.
  rejected,
  /// The directory answered 2xx-shaped garbage, or broke the protocol.
  bad_response,
};

/// The lowercase name of a reason, e.g. "unreachable". Never null.
USERADMIN_API const char* toString(DirectoryFailureReason reason) noexcept;

/// The structured, client-safe part of an `external_error`: what the 400
/// response's `details` shows. Never a token, secret, URL or upstream body.
struct DirectoryFailure {
  /// The client's name, e.g. "scim" or "logto".
  std::string directory;
  DirectoryFailureReason reason = DirectoryFailureReason::unreachable;
  /// The upstream HTTP status, when there was an answer.
  std::optional<int> http_status;
  /// The upstream `Retry-After`, when it sent one (for retry pacing only).
  std::optional<std::chrono::seconds> retry_after;

  friend bool operator==(const DirectoryFailure& a, const DirectoryFailure& b) {
    return a.directory == b.directory && a.reason == b.reason && a.http_status == b.http_status &&
           a.retry_after == b.retry_after;
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
  /// Set on an `external_error` raised by a directory client: the failure
  /// the response's `details` shows. Absent for other codes.
  std::optional<DirectoryFailure> directory_failure;

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
  /// An `external_error` carrying a structured directory failure; `detail`
  /// is for the log and must not hold secrets or upstream bodies either.
  static Error directoryFailed(DirectoryFailure failure, std::string detail);
  static Error unavailable(std::string detail);
  static Error internal(std::string detail);
};

}  // namespace useradmin

#endif  // USERADMIN_ERROR_HPP
