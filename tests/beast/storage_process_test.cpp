// Storage faults over real HTTP with the real useradmin-server binary: a
// database that cannot be written stops the start; a write that fails at
// run time answers 500 and the next one, once the cause is gone, succeeds.
#ifdef USERADMIN_SERVER_PATH

#include "beast/http_client.hpp"
#include "beast/server_process.hpp"
#include "sqlite/sqlite_test_support.hpp"
#include "support/immutable_file.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

const std::string kPrefix = "usr_http_fault_";

HttpResponse reactivate(HttpClient& client, const std::string& id) {
  return client.request(http::verb::patch, "/api/users/" + id + "/reactivate", {bearer(tokenFor("usr_root"))});
}

}  // namespace

TEST_CASE("process: a database that cannot be written stops the start with exit 1 and one line",
          "[beast][process][faults]") {
  Workspace ws;
  REQUIRE(openOrThrow(sqliteOptions(ws.db_path))->seed(standardDataset()));
  ImmutableFile immutable(ws.db_path);
  if (!immutable.active()) {
    WARN("the immutable attribute is not available here (needs root and ext4/xfs/btrfs); not tested");
    return;
  }
  ServerProcess server(ws.argsWithoutSeed(), ws.err_path);
  CHECK(server.waitForLine("listening on ", std::chrono::seconds(5)).empty());
  CHECK(server.waitExit(std::chrono::seconds(5)) == 1);
  const auto lines = completeLines(readFile(ws.err_path));
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], Catch::Contains(ws.db_path) && Catch::Contains("cannot be written"));
}

TEST_CASE("process: a write failing at run time answers 500, and the server recovers without a restart",
          "[beast][process][faults][slow]") {
  Workspace ws;
  REQUIRE(openOrThrow(sqliteOptions(ws.db_path))->seed(datasetWithSuspended(kPrefix, 4)));
  ServerProcess server(ws.argsWithoutSeed(), ws.err_path);
  const std::string line = server.waitForLine("listening on ");
  REQUIRE_FALSE(line.empty());
  HttpClient client(portOf(line));
  REQUIRE(reactivate(client, kPrefix + "0").status == 200);

  // The WAL made immutable: the server's open descriptor stops taking writes.
  ImmutableFile immutable(ws.db_path + "-wal");
  if (!immutable.active()) {
    WARN("the immutable attribute is not available here (needs root and ext4/xfs/btrfs); not tested");
    return;
  }
  const auto failed = reactivate(client, kPrefix + "1");
  CHECK(failed.status == 500);
  CHECK(failed.json().at("message") == "internal server error");
  CHECK(failed.json().at("data").is_null());
  // Requests that need no write are still answered.
  CHECK(client.request(http::verb::patch, "/api/users/" + kPrefix + "1/reactivate", {bearer("not-a-token")}).status ==
        401);
  immutable.release();
  CHECK(reactivate(client, kPrefix + "1").status == 200);
  CHECK(reactivate(client, kPrefix + "2").status == 200);

  // Killed without a chance to checkpoint: every acknowledged change is there.
  server.signal(SIGKILL);
  server.waitExit();
  RawDb raw(ws.db_path);
  CHECK(raw.text("PRAGMA integrity_check") == "ok");
  CHECK(raw.rows("SELECT id FROM users WHERE status = 'active' AND id LIKE 'usr_http_fault_%' ORDER BY id") ==
        std::vector<std::vector<std::string>>{{kPrefix + "0"}, {kPrefix + "1"}, {kPrefix + "2"}});
  CHECK(raw.integer("SELECT count(*) FROM audit_events WHERE outcome = 'granted'") == 3);
}

TEST_CASE("process: a deleted WAL turns /readyz to 503 while the server keeps answering", "[beast][process][faults]") {
  Workspace ws;
  REQUIRE(openOrThrow(sqliteOptions(ws.db_path))->seed(datasetWithSuspended(kPrefix, 2)));
  ServerProcess server(ws.argsWithoutSeed(), ws.err_path);
  const std::string line = server.waitForLine("listening on ");
  REQUIRE_FALSE(line.empty());
  HttpClient client(portOf(line));
  REQUIRE(reactivate(client, kPrefix + "0").status == 200);
  REQUIRE(client.request(http::verb::get, "/readyz").status == 200);

  REQUIRE(::unlink((ws.db_path + "-wal").c_str()) == 0);
  // The store notices on its next commit or within its idle check interval.
  unsigned ready_status = 200;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ready_status == 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ready_status = client.request(http::verb::get, "/readyz").status;
  }
  CHECK(ready_status == 503);
  CHECK(client.request(http::verb::get, "/healthz").status == 200);
  // ...and says so once, loudly, from its writer's idle check.
  const auto log_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (readFile(ws.err_path).find("writes are refused") == std::string::npos &&
         std::chrono::steady_clock::now() < log_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_THAT(readFile(ws.err_path), Catch::Contains("-wal") && Catch::Contains("writes are refused"));
}

#endif  // USERADMIN_SERVER_PATH
