#include "schema.hpp"

#include <string>

namespace useradmin::detail {

namespace {

// Version 1. Notes on the choices (docs/storage.md has the full story):
// - Text primary keys are the domain ids, and WITHOUT ROWID keeps each row
//   in its primary-key B-tree, so a lookup by id is one tree descent.
// - Timestamps are INTEGER milliseconds since the Unix epoch (UTC).
// - Enumerations are stored as their contract words, checked by CHECK.
// - Foreign keys are immediate (a unit of work that breaks one fails alone,
//   inside its own savepoint); the seed defers them for its transaction so
//   a fixture may list children before parents.
// - Roles live in their own table, ordered by `position`, so the order
//   given is the order read back and a role can be found by name.
// - The audit log is append-only; AUTOINCREMENT guarantees ids are never
//   reused, even after the newest rows were deleted by an archiver.
// - `organizations_generation` counts every change to organizations, made
//   by triggers so no writer (another process, the sqlite3 shell) can skip
//   it: the writer's organization cache checks it once per batch.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE organizations (
  id        TEXT    NOT NULL PRIMARY KEY,
  name      TEXT    NOT NULL,
  type      TEXT    NOT NULL CHECK (type IN ('owner', 'distributor', 'reseller', 'customer')),
  parent_id TEXT    REFERENCES organizations (id),
  suspended INTEGER NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1)),
  deleted   INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) WITHOUT ROWID;
CREATE INDEX organizations_by_parent ON organizations (parent_id);

CREATE TABLE users (
  id                  TEXT    NOT NULL PRIMARY KEY,
  username            TEXT    NOT NULL,
  email               TEXT    NOT NULL,
  name                TEXT    NOT NULL,
  organization_id     TEXT    NOT NULL REFERENCES organizations (id),
  status              TEXT    NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),
  suspended_at        INTEGER,
  suspended_by        TEXT,
  suspended_by_org_id TEXT    REFERENCES organizations (id),
  tokens_valid_after  INTEGER,
  updated_at          INTEGER NOT NULL,
  version             INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX users_by_organization ON users (organization_id);

CREATE TABLE user_roles (
  user_id  TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  role     TEXT    NOT NULL,
  PRIMARY KEY (user_id, position)
) WITHOUT ROWID;

CREATE TABLE audit_events (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  time           INTEGER NOT NULL,
  action         TEXT    NOT NULL,
  actor_id       TEXT    NOT NULL,
  target_id      TEXT    NOT NULL,
  outcome        TEXT    NOT NULL,
  reason         TEXT    NOT NULL,
  request_id     TEXT    NOT NULL,
  client_address TEXT    NOT NULL,
  note           TEXT    NOT NULL
);

CREATE TABLE store_meta (
  key   TEXT    NOT NULL PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO store_meta (key, value) VALUES ('organizations_generation', 0);
CREATE TRIGGER organizations_generation_on_insert AFTER INSERT ON organizations BEGIN
  UPDATE store_meta SET value = value + 1 WHERE key = 'organizations_generation';
END;
CREATE TRIGGER organizations_generation_on_update AFTER UPDATE ON organizations BEGIN
  UPDATE store_meta SET value = value + 1 WHERE key = 'organizations_generation';
END;
CREATE TRIGGER organizations_generation_on_delete AFTER DELETE ON organizations BEGIN
  UPDATE store_meta SET value = value + 1 WHERE key = 'organizations_generation';
END;
)sql";

// Version 2: the lifecycle (organization suspend/reactivate with cascade)
// and the reads of the next steps.
// - Organizations get the bookkeeping users have: `version` (their
//   compare-and-set key), `suspended_at`, `suspended_by`, `updated_at`.
//   Existing rows start at version 1, updated now, and a suspended one as
//   suspended now (the best that is known).
// - Audit events get `target_type` and `target_organization_id`. Every
//   existing event is a user reactivation; its target organization is taken
//   from the user as it is now (the only record there is), NULL when the
//   user does not exist (the target was not found).
// - Indexes: users_by_organization widened to (organization, status, id)
//   for subtree cascades and keyset listings; the partial index of cascade-suspended users by the
//   organization that suspended them; audit events by target organization,
//   target, actor and action, each in id (cursor) order.
constexpr const char* kVersion2 = R"sql(
ALTER TABLE organizations ADD COLUMN suspended_at INTEGER;
ALTER TABLE organizations ADD COLUMN suspended_by TEXT;
ALTER TABLE organizations ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
UPDATE organizations
   SET updated_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000,
       suspended_at = CASE WHEN suspended = 1 THEN CAST(strftime('%s', 'now') AS INTEGER) * 1000 END;

ALTER TABLE audit_events ADD COLUMN target_type TEXT NOT NULL DEFAULT 'user'
  CHECK (target_type IN ('user', 'organization'));
ALTER TABLE audit_events ADD COLUMN target_organization_id TEXT;
UPDATE audit_events
   SET target_organization_id = (SELECT organization_id FROM users WHERE users.id = audit_events.target_id);

DROP INDEX users_by_organization;
CREATE INDEX users_by_organization ON users (organization_id, status, id);
CREATE INDEX users_by_suspending_organization ON users (suspended_by_org_id, id)
  WHERE suspended_by_org_id IS NOT NULL;
CREATE INDEX audit_by_target_organization ON audit_events (target_organization_id, id);
CREATE INDEX audit_by_target ON audit_events (target_id, id);
CREATE INDEX audit_by_actor ON audit_events (actor_id, id);
CREATE INDEX audit_by_action ON audit_events (action, id);
)sql";

// Version 3: the user listings. A page of one status over a large subtree
// walks the users of that status in id order from `after`; (status, id)
// makes that walk a range, however deep `after` is. (Listings of a few
// organizations use version 2's users_by_organization.)
constexpr const char* kVersion3 = R"sql(
CREATE INDEX users_by_status ON users (status, id);
)sql";

// Version 4: directory sync. `external_id` is the user's id in the external
// directory (SCIM, Logto); NULL means "the same as `id`", so existing rows
// need no rewrite.
constexpr const char* kVersion4 = R"sql(
ALTER TABLE users ADD COLUMN external_id TEXT;
)sql";

// Version 5: the directory outbox (directory.md §4). One row per user with
// an undelivered status change (UNIQUE user_id: a newer change replaces the
// row, the latest state wins); AUTOINCREMENT so a replaced row's id is never
// reused and "delivered entry N" cannot remove a newer state. The relay
// walks `directory_outbox_due` in (next_attempt_at, id) order. No foreign
// key to users: the row only names what the directory must be told.
constexpr const char* kVersion5 = R"sql(
CREATE TABLE directory_outbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id         TEXT    NOT NULL UNIQUE,
  external_id     TEXT    NOT NULL,
  status          TEXT    NOT NULL CHECK (status IN ('active', 'suspended')),
  user_version    INTEGER NOT NULL,
  enqueued_at     INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX directory_outbox_due ON directory_outbox (next_attempt_at, id);
)sql";

// Version 6: fewer index writes per status change and per audit event (the
// writer's profile, docs/benchmarks.md "Index writes").
// - audit_by_action and audit_by_target_organization are read by no query
//   of this store: an action filter and the hierarchy check are applied to
//   rows read in id order (reads.cpp), so the two indexes only cost two
//   B-tree inserts per event.
// - users_by_organization loses `status`: with it, every suspend and
//   reactivation moved the user's entry. (organization_id, id) still serves
//   the per-organization listings (a range from `after` in id order, status
//   checked on the row) and the subtree cascades (a range per organization);
//   the lifecycle compare-and-set no longer names organization_id, so a
//   status change leaves this index alone.
// Creating the new index reads every user once (seconds at a million).
// IF EXISTS: dropping what is already gone is the state this step wants.
constexpr const char* kVersion6 = R"sql(
DROP INDEX IF EXISTS audit_by_action;
DROP INDEX IF EXISTS audit_by_target_organization;
DROP INDEX users_by_organization;
CREATE INDEX users_by_organization ON users (organization_id, id);
)sql";

struct DatabaseFacts {
  std::int64_t version = 0;
  std::int64_t application_id = 0;
  std::int64_t objects = 0;
};

// Reads the header fields and the schema size; the first read of the file,
// so this is where "not a database" shows up.
Result<DatabaseFacts> readFacts(Connection& c) {
  DatabaseFacts facts;
  auto version = c.queryInteger("PRAGMA user_version", "reading the schema version");
  if (!version) return std::move(version).error();
  facts.version = *version;
  auto app = c.queryInteger("PRAGMA application_id", "reading the application id");
  if (!app) return std::move(app).error();
  facts.application_id = *app;
  auto objects = c.queryInteger("SELECT count(*) FROM sqlite_schema", "reading the schema");
  if (!objects) return std::move(objects).error();
  facts.objects = *objects;
  return facts;
}

// Rewords a failed first read: the usual cause is a file that is not a
// SQLite database, or a damaged one.
Error unreadable(Error error) {
  if (error.code == ErrorCode::internal)
    error.detail = "not a SQLite database, or a corrupt one (left untouched): " + error.detail;
  return error;
}

Status checkFacts(const DatabaseFacts& facts, int latest) {
  if (facts.application_id != 0 && facts.application_id != kApplicationId)
    return Error::internal("the database belongs to another application (application_id " +
                           std::to_string(facts.application_id) + "); left untouched");
  if (facts.version == 0) {
    if (facts.objects != 0)
      return Error::internal("the database has tables but no useradmin schema version; left untouched");
    return okStatus();
  }
  if (facts.application_id != kApplicationId)
    return Error::internal("the database has schema version " + std::to_string(facts.version) +
                           " but is not a useradmin database; left untouched");
  if (facts.version > latest)
    return Error::internal("the database has schema version " + std::to_string(facts.version) +
                           ", newer than the newest this library knows (" + std::to_string(latest) +
                           "); upgrade the library; left untouched");
  if (facts.version < 0) return Error::internal("the database has a negative schema version; left untouched");
  return okStatus();
}

Status checkSteps(const std::vector<Migration>& steps) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].version != static_cast<int>(i) + 1)
      return Error::internal("migration list is not numbered 1, 2, 3...: step " + std::to_string(i) + " has version " +
                             std::to_string(steps[i].version));
  }
  return okStatus();
}

}  // namespace

const std::vector<Migration>& schemaMigrations() {
  static const std::vector<Migration> steps = {
      {1, "organizations, users, user_roles, audit_events", kVersion1},
      {2, "organization lifecycle columns, audit target columns, read indexes", kVersion2},
      {3, "users by status, for user listings", kVersion3},
      {4, "users.external_id, for directory sync", kVersion4},
      {5, "directory_outbox, for the directory relay", kVersion5},
      {6, "fewer indexes written per status change and per audit event", kVersion6},
  };
  return steps;
}

Status inspectDatabase(Connection& c, const std::vector<Migration>& steps, bool verify) {
  if (Status ok = checkSteps(steps); !ok) return ok;
  auto facts = readFacts(c);
  if (!facts) return unreadable(std::move(facts).error());
  if (Status ok = checkFacts(*facts, static_cast<int>(steps.size())); !ok) return ok;
  if (verify) {
    auto verdict = c.queryText("PRAGMA quick_check", "checking the database");
    if (!verdict) return unreadable(std::move(verdict).error());
    if (*verdict != "ok") return Error::internal("the database is corrupt (left untouched): " + *verdict);
  }
  return okStatus();
}

Result<int> migrate(Connection& c, const std::vector<Migration>& steps, const RetryBudget& budget) {
  if (Status ok = checkSteps(steps); !ok) return std::move(ok).error();
  const int latest = static_cast<int>(steps.size());
  if (Status begun = beginImmediate(c, budget); !begun) return std::move(begun).error();
  // Re-read under the write lock: another process may have migrated since.
  auto facts = readFacts(c);
  if (!facts) {
    rollback(c);
    return unreadable(std::move(facts).error());
  }
  if (Status ok = checkFacts(*facts, latest); !ok) {
    rollback(c);
    return std::move(ok).error();
  }
  const int from = static_cast<int>(facts->version);
  if (from == latest) {
    rollback(c);  // nothing written; ending the transaction this way is cheapest
    return latest;
  }
  for (const Migration& step : steps) {
    if (step.version <= from) continue;
    if (Status applied = c.exec(step.sql, "applying schema migration " + std::to_string(step.version)); !applied) {
      rollback(c);
      return std::move(applied).error();
    }
  }
  const std::string stamp = "PRAGMA application_id = " + std::to_string(kApplicationId) +
                            "; PRAGMA user_version = " + std::to_string(latest) + ";";
  if (Status stamped = c.exec(stamp.c_str(), "recording the schema version"); !stamped) {
    rollback(c);
    return std::move(stamped).error();
  }
  if (Status committed = commit(c, budget); !committed) return std::move(committed).error();
  return latest;
}

}  // namespace useradmin::detail
