// The JSON envelope every response carries: {"code","message","data"}.
#ifndef USERADMIN_BEAST_ENVELOPE_HPP
#define USERADMIN_BEAST_ENVELOPE_HPP

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>

#include "useradmin/domain.hpp"
#include "useradmin/error.hpp"
#include "useradmin/user_store.hpp"
#include "useradmin/export.hpp"

namespace useradmin::beast {

/// Every HTTP status the adapter can answer with, ascending. docs/openapi.yaml
/// documents each of them (a test checks it).
inline constexpr std::array<unsigned, 11> kResponseStatuses = {200, 400, 401, 403, 404, 405,
                                                                413, 429, 431, 500, 503};

/// The client-facing texts of the responses the adapter makes up itself.
inline constexpr std::string_view kReactivatedMessage = "user reactivated successfully";
inline constexpr std::string_view kUserSuspendedMessage = "user suspended successfully";
inline constexpr std::string_view kOrganizationSuspendedMessage = "organization suspended successfully";
inline constexpr std::string_view kOrganizationReactivatedMessage = "organization reactivated successfully";
inline constexpr std::string_view kUserRetrievedMessage = "user retrieved successfully";
inline constexpr std::string_view kUsersRetrievedMessage = "users retrieved successfully";
inline constexpr std::string_view kOrganizationRetrievedMessage = "organization retrieved successfully";
inline constexpr std::string_view kAuditEventsRetrievedMessage = "audit events retrieved successfully";
inline constexpr std::string_view kRouteNotFoundMessage = "route not found";
inline constexpr std::string_view kMethodNotAllowedMessage = "method not allowed";
inline constexpr std::string_view kTooManyRequestsMessage = "too many requests";
inline constexpr std::string_view kInternalErrorMessage = "internal server error";
inline constexpr std::string_view kInvalidTokenMessage = "invalid token";
inline constexpr std::string_view kValidationFailedMessage = "validation failed";
inline constexpr std::string_view kBadRequestMessage = "bad request";
inline constexpr std::string_view kPayloadTooLargeMessage = "payload too large";
inline constexpr std::string_view kHeaderTooLargeMessage = "request header fields too large";
inline constexpr std::string_view kServiceUnavailableMessage = "service unavailable";

/// The HTTP status of a library outcome (contract §3). Total over ErrorCode:
/// unauthenticated 401; invalid_argument, failed_precondition and
/// external_error 400; permission_denied 403; not_found 404; unavailable and
/// internal 500.
USERADMIN_API unsigned httpStatus(ErrorCode code) noexcept;

/// The reason phrase of a status line, e.g. "Too Many Requests". Never null.
USERADMIN_API const char* reasonPhrase(unsigned status) noexcept;

/// What `data` holds in an envelope built by simpleEnvelope.
enum class EnvelopeData {
  /// `"data": null` (429, 500, 404 route not found, 405, 413, 431, 503...).
  null,
  /// `"data": {}` (401, 403).
  empty_object,
};

/// `{"code":code,"message":message,"data":null|{}}`.
USERADMIN_API std::string simpleEnvelope(unsigned code, std::string_view message, EnvelopeData data);

/// The 400 validation envelope: `{"code":400,"message":"validation failed",
/// "data":{"type":"validation_error","errors":[{"key","message","value"}...]}}`.
USERADMIN_API std::string validationEnvelope(const std::vector<FieldError>& errors);

/// The envelope of a library error, following the §3 table. `Error::detail`
/// and `Error::reason` are never serialized; 500s carry `data: null` and the
/// generic message only. A 404 carries the error's message ("user not
/// found", "organization not found"). The body's `code` equals
/// httpStatus(error.code).
USERADMIN_API std::string errorEnvelope(const Error& error);

/// The 200 envelope of a reactivated user. `data` is exactly
/// `{"id","username","email","organization_id","status","updated_at"}` with
/// `updated_at` in RFC 3339.
USERADMIN_API std::string userEnvelope(const User& user, std::string_view message = kReactivatedMessage);

/// The user view of lifecycle §5: `id, username, email, name,
/// organization_id, roles, status, suspended_at, suspended_by,
/// suspended_by_org_id, tokens_valid_after, updated_at, version`; absent
/// timestamps and ids are `null`, timestamps RFC 3339. Never a secret.
USERADMIN_API boost::json::object userView(const User& user, const boost::json::storage_ptr& sp = {});

/// The organization view of lifecycle §5: `id, name, type, parent_id,
/// suspended, suspended_at, suspended_by, updated_at`.
USERADMIN_API boost::json::object organizationView(const Organization& org, const boost::json::storage_ptr& sp = {});

/// A 200 envelope whose data is `data`.
USERADMIN_API std::string dataEnvelope(std::string_view message, boost::json::object data);

/// The 200 envelope of a changed organization: its view plus `count_key`
/// (e.g. `suspended_users_count`) = `count`.
USERADMIN_API std::string organizationEnvelope(const Organization& org, std::string_view count_key, std::size_t count,
                                               std::string_view message);

/// One audit event as `GET /audit-events` lists it: `id, cursor, time,
/// action, actor_id, target_type, target_id, target_organization_id,
/// outcome, reason, request_id, client_address, note` (`cursor` in its
/// text form, a missing target organization as null).
USERADMIN_API boost::json::object auditEventView(const AuditEvent& event, const boost::json::storage_ptr& sp = {});

/// The 200 envelope of a page of users:
/// `{"users": [user view...], "next_after": "<id>" | null}`.
USERADMIN_API std::string userPageEnvelope(const UserPage& page);

/// The 200 envelope of a page of audit events:
/// `{"events": [...], "next_after": "<cursor>" | null}`.
USERADMIN_API std::string auditPageEnvelope(const AuditPage& page);

}  // namespace useradmin::beast

#endif  // USERADMIN_BEAST_ENVELOPE_HPP
