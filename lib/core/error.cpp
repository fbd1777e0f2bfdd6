#include "useradmin/error.hpp"

#include <utility>

namespace useradmin {

const char* toString(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::unauthenticated: return "unauthenticated";
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::permission_denied: return "permission_denied";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::failed_precondition: return "failed_precondition";
    case ErrorCode::external_error: return "external_error";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::internal: return "internal";
  }
  return "internal";  // unreachable for valid enumerators
}

const char* toString(DirectoryFailureReason reason) noexcept {
  switch (reason) {
    case DirectoryFailureReason::timeout: return "timeout";
    case DirectoryFailureReason::unreachable: return "unreachable";
    case DirectoryFailureReason::rejected: return "rejected";
    case DirectoryFailureReason::bad_response: return "bad_response";
  }
  return "bad_response";  // unreachable for valid enumerators
}

// The messages are the contract's client-facing texts (§2, §3).
Error Error::unauthenticated(std::string reason, std::string detail) {
  return {ErrorCode::unauthenticated, "invalid token", {}, std::move(reason), std::move(detail), {}};
}

Error Error::invalidArgument(FieldError field, std::string reason) {
  return {ErrorCode::invalid_argument, "validation failed", {std::move(field)}, std::move(reason), {}, {}};
}

Error Error::permissionDenied(std::string message, std::string reason) {
  return {ErrorCode::permission_denied, std::move(message), {}, std::move(reason), {}, {}};
}

Error Error::notFound(std::string_view id, std::string reason) {
  return {ErrorCode::not_found, "user not found", {{"id", "not_found", std::string(id)}}, std::move(reason), {}, {}};
}

Error Error::organizationNotFound(std::string_view id, std::string reason) {
  return {ErrorCode::not_found, "organization not found", {{"id", "not_found", std::string(id)}}, std::move(reason), {}, {}};
}

Error Error::failedPrecondition(FieldError field, std::string reason) {
  return {ErrorCode::failed_precondition, "validation failed", {std::move(field)}, std::move(reason), {}, {}};
}

Error Error::externalError(std::string detail) {
  return {ErrorCode::external_error, "external service error", {}, "directory_sync_failed", std::move(detail), {}};
}

Error Error::directoryFailed(DirectoryFailure failure, std::string detail) {
  Error error = externalError(std::move(detail));
  error.directory_failure = std::move(failure);
  return error;
}

Error Error::unavailable(std::string detail) {
  return {ErrorCode::unavailable, "service unavailable", {}, "storage_busy", std::move(detail), {}};
}

Error Error::internal(std::string detail) {
  return {ErrorCode::internal, "internal server error", {}, "internal", std::move(detail), {}};
}

}  // namespace useradmin
