// The storage ceiling for the load test: raw SQLite transactions doing the
// same writes as one reactivation (UPDATE the user on id+version, INSERT an
// audit row), with prepared statements, on a file in the given directory.
// Prints transactions/s for each synchronous level and batch size, so the
// endpoint's write throughput can be stated as a ratio of it.
//
//   useradmin-sqlite-ceiling DIR [SECONDS_PER_CASE]
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

void exec(sqlite3* db, const char* sql) { check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), db, sql); }

double run(const std::string& path, const char* synchronous, int batch, double seconds) {
  std::remove(path.c_str());
  std::remove((path + "-wal").c_str());
  std::remove((path + "-shm").c_str());
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, (std::string("PRAGMA synchronous=") + synchronous).c_str());
  exec(db,
       "CREATE TABLE users(id TEXT PRIMARY KEY, status TEXT NOT NULL, version INTEGER NOT NULL, "
       "updated_at INTEGER NOT NULL) WITHOUT ROWID;"
       "CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER, action TEXT, actor_id TEXT, "
       "target_id TEXT, outcome TEXT, reason TEXT, request_id TEXT, client_address TEXT, note TEXT)");
  constexpr int kRows = 200000;
  exec(db, "BEGIN");
  sqlite3_stmt* ins = nullptr;
  check(sqlite3_prepare_v2(db, "INSERT INTO users VALUES(?, 'suspended', 1, 0)", -1, &ins, nullptr), db, "prep");
  for (int i = 0; i < kRows; ++i) {
    const std::string id = "usr_" + std::to_string(i);
    sqlite3_bind_text(ins, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    check(sqlite3_step(ins), db, "insert");
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  exec(db, "COMMIT");

  sqlite3_stmt* upd = nullptr;
  sqlite3_stmt* aud = nullptr;
  check(sqlite3_prepare_v2(db, "UPDATE users SET status='active', version=version+1, updated_at=? "
                               "WHERE id=? AND version=1", -1, &upd, nullptr), db, "prep upd");
  check(sqlite3_prepare_v2(db, "INSERT INTO audit(time, action, actor_id, target_id, outcome, reason, request_id, "
                               "client_address, note) VALUES(?, 'user.reactivate', 'usr_root', ?, 'granted', "
                               "'reactivated', 'req', '127.0.0.1', '')", -1, &aud, nullptr), db, "prep aud");
  const auto start = std::chrono::steady_clock::now();
  int done = 0;
  while (done + batch <= kRows) {
    exec(db, "BEGIN IMMEDIATE");
    for (int i = 0; i < batch; ++i, ++done) {
      const std::string id = "usr_" + std::to_string(done);
      sqlite3_bind_int64(upd, 1, done);
      sqlite3_bind_text(upd, 2, id.c_str(), -1, SQLITE_TRANSIENT);
      check(sqlite3_step(upd), db, "update");
      sqlite3_reset(upd);
      sqlite3_bind_int64(aud, 1, done);
      sqlite3_bind_text(aud, 2, id.c_str(), -1, SQLITE_TRANSIENT);
      check(sqlite3_step(aud), db, "audit");
      sqlite3_reset(aud);
    }
    exec(db, "COMMIT");
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds) break;
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sqlite3_finalize(upd);
  sqlite3_finalize(aud);
  sqlite3_close(db);
  return done / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [SECONDS_PER_CASE]\n", argv[0]);
    return 2;
  }
  const std::string path = std::string(argv[1]) + "/ceiling.db";
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  std::printf("synchronous,batch,transactions_per_second\n");
  for (const char* sync : {"FULL", "NORMAL"}) {
    for (int batch : {1, 16, 64}) std::printf("%s,%d,%.0f\n", sync, batch, run(path, sync, batch, seconds));
  }
  std::remove(path.c_str());
  return 0;
}
