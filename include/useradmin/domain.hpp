// The domain: organizations, users, the acting caller, operations, audit events.
#ifndef USERADMIN_DOMAIN_HPP
#define USERADMIN_DOMAIN_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "useradmin/audit_cursor.hpp"
#include "useradmin/export.hpp"

namespace useradmin {

/// A point in time with millisecond resolution, UTC. Stores keep it as
/// milliseconds since the Unix epoch.
using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::milliseconds>;

/// Milliseconds since the epoch <-> Timestamp.
inline Timestamp timestampFromMillis(std::int64_t ms) { return Timestamp(std::chrono::milliseconds(ms)); }
inline std::int64_t toMillis(Timestamp t) { return t.time_since_epoch().count(); }

/// RFC 3339 UTC text, e.g. "2026-11-01T10:00:00Z" (".123" added when the
/// milliseconds are not zero).
USERADMIN_API std::string formatRfc3339(Timestamp t);
/// Parses RFC 3339 with a `Z` or numeric offset and optional fraction.
/// Returns nullopt for anything else (including out-of-range fields).
USERADMIN_API std::optional<Timestamp> parseRfc3339(std::string_view text);

/// The business chain. The numeric values are the default ranks; a Policy
/// may assign others, but a child must always rank strictly below its parent.
enum class OrgType { customer = 1, reseller = 2, distributor = 3, owner = 4 };

USERADMIN_API const char* toString(OrgType type) noexcept;
USERADMIN_API std::optional<OrgType> parseOrgType(std::string_view text) noexcept;

struct Organization {
  std::string id;
  std::string name;
  OrgType type = OrgType::customer;
  /// Absent only for the root `owner` organization.
  std::optional<std::string> parent_id;
  /// Blocks all users of this organization and of everything below it.
  bool suspended = false;
  /// Soft delete: the organization and its users are invisible.
  bool deleted = false;
  /// When and by whom (user id) it was suspended; absent while not suspended.
  std::optional<Timestamp> suspended_at;
  std::optional<std::string> suspended_by;
  Timestamp updated_at{};
  /// Incremented on every change; the compare-and-set key.
  std::int64_t version = 1;

  friend USERADMIN_API bool operator==(const Organization&, const Organization&);
};

enum class UserStatus { active, suspended, deleted };

USERADMIN_API const char* toString(UserStatus status) noexcept;
USERADMIN_API std::optional<UserStatus> parseUserStatus(std::string_view text) noexcept;

struct User {
  std::string id;
  std::string username;
  std::string email;
  std::string name;
  std::string organization_id;
  std::vector<std::string> roles;
  UserStatus status = UserStatus::active;
  std::optional<Timestamp> suspended_at;
  /// The user id that suspended this user.
  std::optional<std::string> suspended_by;
  /// Set when the suspension cascaded from this organization being suspended.
  std::optional<std::string> suspended_by_org_id;
  /// Credentials issued before this instant are dead, also after a
  /// reactivation. Set on every suspension, never cleared.
  std::optional<Timestamp> tokens_valid_after;
  Timestamp updated_at{};
  /// Incremented on every change; the compare-and-set key.
  std::int64_t version = 1;
  /// The user's id in the external directory (SCIM, Logto); absent means
  /// the same as `id` (see directoryIdOf).
  std::optional<std::string> external_id;

  friend USERADMIN_API bool operator==(const User&, const User&);
};

/// The id the external directory knows the user by: `external_id`, or `id`.
inline const std::string& directoryIdOf(const User& user) { return user.external_id ? *user.external_id : user.id; }

/// Who is calling, as established by the caller's authentication layer.
struct Actor {
  /// The acting user's id (a token's `sub`).
  std::string user_id;
  /// When the caller's credential was issued (a token's `iat`). Rule 1
  /// refuses a credential issued before the user's `tokens_valid_after`,
  /// and one without an issue time once that field is set, so embedders
  /// that authenticate by other means should pass their session's start.
  std::optional<Timestamp> credential_issued_at;
  /// Scopes the credential carries (`scope` / `permissions` claims). When
  /// present they narrow the user's permissions, never widen them.
  std::optional<std::vector<std::string>> scopes;
  /// Correlation id of the request, recorded in the audit event.
  std::string request_id;
  /// The client's network address, recorded in the audit event.
  std::string client_address;
};

/// The operations of the library: the writes, one per audited action name,
/// then the reads (never audited; their names only appear in logs).
enum class Action {
  reactivate_user,
  suspend_user,
  suspend_organization,
  reactivate_organization,
  read_user,
  list_users,
  read_organization,
  read_audit,
};

/// True for the reads (read_user, list_users, read_organization, read_audit).
USERADMIN_API bool isRead(Action action) noexcept;

/// The action name: "user.reactivate", "user.suspend",
/// "organization.suspend", "organization.reactivate" (audited), and
/// "user.read", "user.list", "organization.read", "audit.read". Never null.
USERADMIN_API const char* toString(Action action) noexcept;

/// What an action is applied to.
enum class SubjectKind { user, organization };

/// The audit `target_type`: "user" or "organization". Never null.
USERADMIN_API const char* toString(SubjectKind kind) noexcept;

/// One entry of the append-only audit log: every decision of a write
/// operation except an unauthenticated one produces one; an organization
/// cascade adds one per user whose status changed; undoing a user change
/// after a directory failure (rule 12) produces a second.
struct AuditEvent {
  /// Assigned by the store on append, increasing; 0 before.
  std::int64_t id = 0;
  /// The event's place in the store's read order (set when read back).
  AuditCursor cursor;
  Timestamp time{};
  /// What was attempted, e.g. "user.reactivate" (see toString(Action)).
  std::string action;
  std::string actor_id;
  /// "user" or "organization" (see toString(SubjectKind)).
  std::string target_type = "user";
  std::string target_id;
  /// The organization the target belonged to at decision time (for an
  /// organization target: itself). Absent when the target was not found.
  std::optional<std::string> target_organization_id;
  /// "granted", or the ErrorCode name of the outcome (e.g. "not_found").
  std::string outcome;
  /// The true reason, also when the client was told less (rule 6).
  std::string reason;
  std::string request_id;
  std::string client_address;
  /// Free text the caller supplied with the request, whole (at most
  /// kMaxNoteLength code points, any byte length).
  std::string note;
};

/// Longest note (a request's `reason`), in Unicode code points.
inline constexpr std::size_t kMaxNoteLength = 500;

/// Longest accepted id, in bytes (contract rule 2).
inline constexpr std::size_t kMaxIdLength = 128;

/// True when `id` is 1-128 bytes of RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`): the contract's rule 2 for user ids, already
/// percent-decoded.
USERADMIN_API bool isValidId(std::string_view id) noexcept;

/// The first `max_bytes` of `text` safe to write into a log or echo to a
/// client: every byte outside printable ASCII, and `\`, spelled `\xNN`.
USERADMIN_API std::string printableText(std::string_view text, std::size_t max_bytes);

/// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or
/// code points above U+10FFFF).
USERADMIN_API bool isValidUtf8(std::string_view text) noexcept;

/// The number of code points in UTF-8 `text` (bytes that do not continue a
/// sequence); the length the contract's "500 characters" counts.
USERADMIN_API std::size_t codePointCount(std::string_view text) noexcept;

/// The action name recorded for reactivations.
inline constexpr std::string_view kReactivateAction = "user.reactivate";

}  // namespace useradmin

#endif  // USERADMIN_DOMAIN_HPP
