// PostgresStoreFactory: the shared behavioural suite on a real PostgreSQL.
// Included by store_factories.hpp (after StoreHandle) when the postgres
// component is built. The server is the throwaway cluster that
// tests/postgres/pg_cluster.sh starts as a ctest fixture; its conninfo
// comes in USERADMIN_TEST_PG_CONNINFO. Every store gets a schema of its
// own, dropped when the handle dies, so each test case starts empty.
#ifndef USERADMIN_TESTS_STORE_POSTGRES_STORE_FACTORY_HPP
#define USERADMIN_TESTS_STORE_POSTGRES_STORE_FACTORY_HPP

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "useradmin/policy.hpp"
#include "useradmin/postgres/postgres_store.hpp"

namespace useradmin::test {

// The test cluster's conninfo, or an exception that says how to get one.
inline std::string testConninfo() {
  const char* conninfo = std::getenv("USERADMIN_TEST_PG_CONNINFO");
  if (conninfo == nullptr || *conninfo == '\0')
    throw std::runtime_error(
        "the PostgreSQL cases need a server: run them through ctest (fixture postgres_cluster), or "
        "tests/postgres/pg_cluster.sh start DIR and export USERADMIN_TEST_PG_CONNINFO=\"$(cat DIR/conninfo)\"");
  return conninfo;
}

// Runs SQL text on a connection of its own; throws on failure (tests only).
inline void pgExecOrThrow(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string why = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("cannot connect to the test PostgreSQL: " + why);
  }
  PQclear(PQexec(c, "SET client_min_messages = warning"));  // no NOTICEs on stderr
  PGresult* r = PQexec(c, sql.c_str());
  const ExecStatusType status = PQresultStatus(r);
  std::string why = PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw std::runtime_error(sql + ": " + why);
}

// A schema name no other case (nor another test process) uses.
inline std::string freshSchemaName() {
  static std::atomic<int> counter{0};
  return "t" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

// A schema dropped with everything in it when the object dies.
class TestSchema {
 public:
  TestSchema() : conninfo_(testConninfo()), name_(freshSchemaName()) {}
  ~TestSchema() {
    try {
      pgExecOrThrow(conninfo_, "DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
    } catch (...) {
    }
  }
  TestSchema(const TestSchema&) = delete;
  TestSchema& operator=(const TestSchema&) = delete;
  const std::string& conninfo() const { return conninfo_; }
  const std::string& name() const { return name_; }
  // Runs SQL with this schema first on the search_path.
  void exec(const std::string& sql) const { pgExecOrThrow(conninfo_, "SET search_path TO " + name_ + "; " + sql); }

 private:
  std::string conninfo_;
  std::string name_;
};

inline PostgresStoreOptions postgresOptions(const TestSchema& schema, const Policy& policy = defaultPolicy()) {
  PostgresStoreOptions options;
  options.conninfo = schema.conninfo();
  options.schema = schema.name();
  options.policy = &policy;
  return options;
}

inline std::unique_ptr<UserStore> openOrThrow(const PostgresStoreOptions& options) {
  auto store = openPostgresStore(options);
  if (!store) throw std::runtime_error("openPostgresStore failed: " + store.error().detail);
  return std::move(store).value();
}

struct PostgresStoreFactory {
  static constexpr const char* kName = "postgres";
  // A store with default options (pool of 8, SERIALIZABLE units) on a new
  // schema, dropped after the store closes (StoreHandle destroys the store
  // before its resources).
  static StoreHandle make(const Policy& policy) {
    auto schema = std::make_shared<TestSchema>();
    auto store = openOrThrow(postgresOptions(*schema, policy));
    return {std::move(schema), std::move(store)};
  }
};

}  // namespace useradmin::test

#endif
