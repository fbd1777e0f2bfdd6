// End-to-end tests of the real useradmin-server binary: flags, the listening
// line, fixtures, and the graceful exit on SIGTERM.
#ifdef USERADMIN_SERVER_PATH

#include "beast/http_client.hpp"
#include "beast/server_fixture.hpp"
#include "beast/server_process.hpp"
#include "support/fixtures.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

int runToExit(const std::vector<std::string>& args, const std::string& err_path) {
  ServerProcess p(args, err_path);
  return p.waitExit();
}

}  // namespace

TEST_CASE("process: the contract seed example over the real binary, then SIGTERM exits 0",
          "[beast][process][slow]") {
  Workspace ws;
  ServerProcess server(ws.args(), ws.err_path);
  const std::string line = server.waitForLine("listening on ");
  REQUIRE_THAT(line, Catch::Matches("listening on http://127\\.0\\.0\\.1:[0-9]+"));
  const auto port = portOf(line);
  CHECK(port != 0);

  HttpClient idle(port);  // an idle keep-alive connection must not hold up the exit
  {
    HttpClient client(port);
    auto r = client.request(http::verb::patch, "/api/users/usr_123456789/reactivate",
                            {bearer(tokenFor("usr_root")), {"X-Request-Id", "e2e-1"}});
    CHECK(r.status == 200);
    CHECK(r.json().at("data").at("status") == "active");
    CHECK(r.header("x-request-id") == "e2e-1");
  }
  const auto start = std::chrono::steady_clock::now();
  server.signal(SIGTERM);
  CHECK(server.waitExit() == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  const std::string err = readFile(ws.err_path);
  CHECK(err.find("\"request_id\":\"e2e-1\"") != std::string::npos);
  CHECK(err.find("eyJ") == std::string::npos);  // no token in the log

  // The change is durable: the database says active.
  auto store = openSqliteStore(sqliteOptions(ws.db_path));
  REQUIRE(store);
  CHECK((*store)->findUser("usr_123456789").value()->status == UserStatus::active);
}

TEST_CASE("process: SIGINT also shuts down gracefully with exit 0", "[beast][process][slow]") {
  Workspace ws;
  ServerProcess server(ws.args(), ws.err_path);
  REQUIRE_FALSE(server.waitForLine("listening on ").empty());
  server.signal(SIGINT);
  CHECK(server.waitExit() == 0);
}

TEST_CASE("process: a fixture that breaks the model is refused whole, naming the entry", "[beast][process][slow]") {
  Workspace ws;
  std::string bad = kContractFixture;
  const std::string needle = "\"parent_id\": \"org_r1\"";
  bad.replace(bad.find(needle), needle.size(), "\"parent_id\": \"org_zz\"");
  writeFile(ws.seed_path, bad);
  const int code = runToExit(ws.args(), ws.err_path);
  CHECK(code != 0);
  CHECK(code != 2);  // not a usage error
  const std::string err = readFile(ws.err_path);
  INFO(err);
  CHECK(err.find("org_c1") != std::string::npos);
  // Nothing of it was loaded.
  auto store = openSqliteStore(sqliteOptions(ws.db_path));
  REQUIRE(store);
  CHECK_FALSE((*store)->findUser("usr_root").value().has_value());
}

TEST_CASE("process: usage errors exit 2, --help exits 0", "[beast][process]") {
  Workspace ws;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--bogus"}, {"--listen"}, {"--listen", "nohostport"}, {"--listen", "127.0.0.1:99999"},
        {"--threads", "zero"}, {"--durability", "sometimes"}, {"stray"}, {"--rate-limit-ip", "-3"},
        {"--db", ws.db_path}}) {  // the last one: no token keys at all
    INFO(args.front());
    CHECK(runToExit(args, ws.err_path) == 2);
    CHECK_FALSE(readFile(ws.err_path).empty());
  }
  ServerProcess help({"--help"}, ws.err_path);
  CHECK_FALSE(help.waitForLine("  --listen HOST:PORT").empty());
  CHECK(help.waitExit() == 0);
}

TEST_CASE("process: --demo prints working commands, and runs again on its directory", "[beast][process][slow]") {
  Workspace ws;
  const std::string demo_dir = ws.dir.file("demo");
  for (int run = 0; run < 2; ++run) {
    INFO("run " << run);
    ServerProcess server({"--demo", "--demo-dir", demo_dir, "--listen", "127.0.0.1:0"}, ws.err_path);
    const std::string line = server.waitForLine("listening on ");
    REQUIRE_FALSE(line.empty());
    const std::string url = line.substr(std::string("listening on ").size());
    const std::string out = server.stdoutSoFar();
    const std::string example = "curl -X PATCH " + url + "/api/users/usr_123456789/reactivate -H \"Authorization: Bearer ";
    const auto at = out.find(example);
    REQUIRE(at != std::string::npos);
    const auto token_start = at + example.size();
    const std::string token = out.substr(token_start, out.find('"', token_start) - token_start);
    HttpClient client(portOf(line));
    CHECK(client.request(http::verb::patch, "/api/users/usr_123456789/reactivate", {bearer(token)}).status == 200);
    server.signal(SIGTERM);
    CHECK(server.waitExit() == 0);
  }
}

#endif  // USERADMIN_SERVER_PATH
