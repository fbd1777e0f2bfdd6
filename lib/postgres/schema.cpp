#include "schema.hpp"

#include <string>

namespace useradmin::pg {

namespace {

// Version 1: the model as SQLite schema version 4 has it.
// - Ids are text in the "C" collation, so ORDER BY id and `id > $after`
//   are byte order (the keyset pagination contract) whatever the
//   database's default collation is.
// - Timestamps are bigint milliseconds since the Unix epoch (UTC), as in
//   SQLite, so both stores read and write the same values.
// - Foreign keys are DEFERRABLE (immediate unless a transaction defers
//   them): the seed defers them so a fixture may list children first.
// - audit_events.horizon_key is the writing transaction's id (xid8, as
//   bigint). Ids come from a sequence before commit, so id order is not
//   commit order across connections; readers hand out only events whose
//   horizon_key is below the oldest transaction still running
//   (pg_snapshot_xmin), see include/useradmin/audit_cursor.hpp.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE organizations (
  id           text COLLATE "C" NOT NULL PRIMARY KEY,
  name         text    NOT NULL,
  type         text    NOT NULL CHECK (type IN ('owner', 'distributor', 'reseller', 'customer')),
  parent_id    text COLLATE "C" REFERENCES organizations (id) DEFERRABLE INITIALLY IMMEDIATE,
  suspended    boolean NOT NULL DEFAULT false,
  deleted      boolean NOT NULL DEFAULT false,
  suspended_at bigint,
  suspended_by text,
  updated_at   bigint  NOT NULL,
  version      bigint  NOT NULL
);
CREATE INDEX organizations_by_parent ON organizations (parent_id);

CREATE TABLE users (
  id                  text COLLATE "C" NOT NULL PRIMARY KEY,
  username            text   NOT NULL,
  email               text   NOT NULL,
  name                text   NOT NULL,
  organization_id     text COLLATE "C" NOT NULL REFERENCES organizations (id) DEFERRABLE INITIALLY IMMEDIATE,
  status              text   NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),
  suspended_at        bigint,
  suspended_by        text,
  suspended_by_org_id text COLLATE "C" REFERENCES organizations (id) DEFERRABLE INITIALLY IMMEDIATE,
  tokens_valid_after  bigint,
  updated_at          bigint NOT NULL,
  version             bigint NOT NULL,
  external_id         text
);
CREATE INDEX users_by_organization ON users (organization_id, status, id);
CREATE INDEX users_by_suspending_organization ON users (suspended_by_org_id, id)
  WHERE suspended_by_org_id IS NOT NULL;
CREATE INDEX users_by_status ON users (status, id);

CREATE TABLE user_roles (
  user_id  text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY IMMEDIATE,
  position integer NOT NULL,
  role     text    NOT NULL,
  PRIMARY KEY (user_id, position)
);
CREATE INDEX user_roles_by_role ON user_roles (role);

CREATE TABLE audit_events (
  id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  horizon_key            bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
  time                   bigint NOT NULL,
  action                 text   NOT NULL,
  actor_id               text   NOT NULL,
  target_type            text   NOT NULL CHECK (target_type IN ('user', 'organization')),
  target_id              text   NOT NULL,
  target_organization_id text COLLATE "C",
  outcome                text   NOT NULL,
  reason                 text   NOT NULL,
  request_id             text   NOT NULL,
  client_address         text   NOT NULL,
  note                   text   NOT NULL
);
CREATE INDEX audit_by_position ON audit_events (horizon_key, id);
CREATE INDEX audit_by_target_organization ON audit_events (target_organization_id, horizon_key, id);
CREATE INDEX audit_by_target ON audit_events (target_id, horizon_key, id);
CREATE INDEX audit_by_actor ON audit_events (actor_id, horizon_key, id);
CREATE INDEX audit_by_action ON audit_events (action, horizon_key, id);
)sql";

// Version 2: the directory outbox (directory.md §4), as SQLite schema 5.
// One row per user with an undelivered status change (UNIQUE user_id: a
// newer change replaces the row and takes a new id, so "delivered entry N"
// never removes a newer state); the relay walks (next_attempt_at, id).
constexpr const char* kVersion2 = R"sql(
CREATE TABLE directory_outbox (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id         text COLLATE "C" NOT NULL UNIQUE,
  external_id     text    NOT NULL,
  status          text    NOT NULL CHECK (status IN ('active', 'suspended')),
  user_version    bigint  NOT NULL,
  enqueued_at     bigint  NOT NULL,
  next_attempt_at bigint  NOT NULL,
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text    NOT NULL DEFAULT ''
);
CREATE INDEX directory_outbox_due ON directory_outbox (next_attempt_at, id);
)sql";

// An arbitrary constant: the advisory lock key migrations hold ("UADM").
constexpr const char* kLock = "SELECT pg_advisory_xact_lock(1430340685)";

Status rollback(Connection& c) {
  auto r = c.exec("ROLLBACK", "rolling back the migration");
  if (!r) return std::move(r).error();
  return okStatus();
}

}  // namespace

const std::vector<Migration>& schemaMigrations() {
  static const std::vector<Migration> steps = {
      {1, "organizations, users, user_roles, audit_events (as SQLite schema 4)", kVersion1},
      {2, "directory_outbox, for the directory relay (as SQLite schema 5)", kVersion2},
  };
  return steps;
}

Result<int> migrate(Connection& c, const std::vector<Migration>& steps) {
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (steps[i].version != static_cast<int>(i) + 1) return Error::internal("migration list is not numbered 1, 2, 3...");
  const int latest = static_cast<int>(steps.size());
  if (auto begun = c.exec("BEGIN ISOLATION LEVEL READ COMMITTED", "starting the migration"); !begun)
    return std::move(begun).error();
  auto fail = [&](Error e) -> Result<int> {
    static_cast<void>(rollback(c));
    return e;
  };
  if (auto locked = c.exec(kLock, "locking the schema for migration"); !locked) return fail(std::move(locked).error());
  // Re-read under the lock: another instance may have migrated meanwhile.
  auto facts = c.exec(
      "SELECT to_regclass('useradmin_schema') IS NOT NULL, to_regclass('organizations') IS NOT NULL,"
      "       to_regclass('users') IS NOT NULL, to_regclass('audit_events') IS NOT NULL",
      "reading the schema");
  if (!facts) return fail(std::move(facts).error());
  int from = 0;
  if (facts->boolean(0, 0)) {
    auto version = c.exec("SELECT version FROM useradmin_schema", "reading the schema version");
    if (!version) return fail(std::move(version).error());
    if (version->rows() != 1) return fail(Error::internal("useradmin_schema must hold exactly one row; left untouched"));
    from = static_cast<int>(version->integer(0, 0));
  } else if (facts->boolean(0, 1) || facts->boolean(0, 2) || facts->boolean(0, 3)) {
    return fail(Error::internal(
        "the schema has organizations/users/audit_events tables but no useradmin_schema version; left untouched"));
  }
  if (from > latest)
    return fail(Error::internal("the database has schema version " + std::to_string(from) +
                                ", newer than the newest this library knows (" + std::to_string(latest) +
                                "); upgrade the library; left untouched"));
  if (from < 0) return fail(Error::internal("the database has a negative schema version; left untouched"));
  if (from == latest) {
    static_cast<void>(rollback(c));
    return latest;
  }
  if (from == 0) {
    auto made = c.exec("CREATE TABLE useradmin_schema (version integer NOT NULL); "
                       "INSERT INTO useradmin_schema (version) VALUES (0)",
                       "creating useradmin_schema");
    if (!made) return fail(std::move(made).error());
  }
  for (const Migration& step : steps) {
    if (step.version <= from) continue;
    if (auto applied = c.exec(step.sql, "applying schema migration " + std::to_string(step.version)); !applied)
      return fail(std::move(applied).error());
  }
  const std::string stamp = "UPDATE useradmin_schema SET version = " + std::to_string(latest);
  if (auto stamped = c.exec(stamp.c_str(), "recording the schema version"); !stamped)
    return fail(std::move(stamped).error());
  if (auto committed = c.exec("COMMIT", "committing the migration"); !committed) return std::move(committed).error();
  return latest;
}

}  // namespace useradmin::pg
