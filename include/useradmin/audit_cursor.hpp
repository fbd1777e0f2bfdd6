// AuditCursor: a position in the audit log's read order, and its opaque text form.
#ifndef USERADMIN_AUDIT_CURSOR_HPP
#define USERADMIN_AUDIT_CURSOR_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "useradmin/export.hpp"

namespace useradmin {

/// Where an audit event sits in the order a store hands events out, which
/// is not necessarily id order. Assigned by the store; callers treat it as
/// opaque and only hand it back (`AuditQuery::after`). Positions are
/// compared as the pair (`horizon_key`, `event_id`).
///
/// The store's promise (see UserStore::read, AuditQuery): an event becomes
/// readable only once no event with a smaller position can become readable
/// any more, so paging by "position greater than the last one read" neither
/// skips nor repeats an event, whatever order transactions commit in.
///
/// - Stores that commit one transaction at a time and number events in
///   commit order (memory, SQLite) use `horizon_key` = 0: the id order is
///   the commit order, so every snapshot holds a prefix of the log.
/// - A store whose transactions commit out of id order (PostgreSQL:
///   sequence values are taken before commit) puts a key there that it can
///   bound with a stable horizon, e.g. the writing transaction's `xid8`,
///   and returns only events whose key is below the oldest transaction
///   still running (`pg_snapshot_xmin(pg_current_snapshot())`). Such an
///   event's transaction has ended, so nothing can still appear before it;
///   a long transaction delays events, it never loses them.
struct AuditCursor {
  std::int64_t horizon_key = 0;
  std::int64_t event_id = 0;

  friend bool operator==(const AuditCursor& a, const AuditCursor& b) {
    return a.horizon_key == b.horizon_key && a.event_id == b.event_id;
  }
  friend bool operator!=(const AuditCursor& a, const AuditCursor& b) { return !(a == b); }
  friend bool operator<(const AuditCursor& a, const AuditCursor& b) {
    return std::tie(a.horizon_key, a.event_id) < std::tie(b.horizon_key, b.event_id);
  }
};

/// The cursor's text form for clients: URL-safe (RFC 3986 unreserved
/// characters only), e.g. "c0-2a". Its layout is not part of any contract.
USERADMIN_API std::string formatAuditCursor(const AuditCursor& cursor);

/// Parses exactly what formatAuditCursor produces (canonical form only);
/// nullopt for anything else.
USERADMIN_API std::optional<AuditCursor> parseAuditCursor(std::string_view text) noexcept;

}  // namespace useradmin

#endif  // USERADMIN_AUDIT_CURSOR_HPP
