// The real useradmin-server with --directory logto against the Logto
// stand-in of tests/directory/scim-server/logto-standin.js (no Logto server
// can run here): the M2M token is fetched with Basic auth, cached, fetched
// again once on a 401, and every failure is the documented 400.
#include "directory/scim_service.hpp"
#if defined(USERADMIN_SERVER_PATH) && defined(USERADMIN_SCIM_SERVER_DIR)

#include <memory>

#include "beast/server_fixture.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

const std::string kClientSecret = "logto-client-s3cret";
const std::string kResource = "https://default.logto.app/api";

class LogtoStandIn {
 public:
  explicit LogtoStandIn(const std::string& err_path)
      : process_("node",
                 {std::string(USERADMIN_SCIM_SERVER_DIR) + "/logto-standin.js", "--client-id", "m2m-app",
                  "--client-secret", kClientSecret, "--resource", kResource},
                 err_path) {
    const std::string line = process_.waitForLine("logto listening on ");
    REQUIRE_FALSE(line.empty());
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(line.rfind(' ') + 1)));
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void createUser(const std::string& id, bool suspended) {
    HttpClient c(port_, std::chrono::seconds(10), BodyEnding::as_sent);
    CHECK(c.request(http::verb::post, "/control/users", {{"Content-Type", "application/json"}},
                    R"({"id":")" + id + R"(","isSuspended":)" + (suspended ? "true" : "false") + "}")
              .status == 201);
  }
  bool suspended(const std::string& id) {
    HttpClient c(port_, std::chrono::seconds(10), BodyEnding::as_sent);
    const auto r = c.request(http::verb::get, "/control/users/" + id);
    REQUIRE(r.status == 200);
    return r.json().at("isSuspended").as_bool();
  }
  std::int64_t tokenRequests() {
    HttpClient c(port_, std::chrono::seconds(10), BodyEnding::as_sent);
    return c.request(http::verb::get, "/control/calls").json().at("tokens").as_int64();
  }
  void revokeTokens() {
    HttpClient c(port_, std::chrono::seconds(10), BodyEnding::as_sent);
    CHECK(c.request(http::verb::post, "/control/revoke").status == 200);
  }

 private:
  ServerProcess process_;
  std::uint16_t port_ = 0;
};

class LogtoServer {
 public:
  LogtoServer(const std::string& url, const std::string& secret) {
    writeFile(ws.seed_path, kDirectoryFixture);
    writeFile(secret_path, secret + "\n");
    std::vector<std::string> args = ws.args();
    args.insert(args.end(), {"--directory", "logto", "--directory-url", url, "--directory-client-id", "m2m-app",
                             "--directory-client-secret-file", secret_path, "--directory-resource", kResource});
    process = std::make_unique<ServerProcess>(args, ws.err_path);
    const std::string line = process->waitForLine("listening on ");
    REQUIRE_FALSE(line.empty());
    port = portOf(line);
  }
  HttpResponse patch(const std::string& id, const std::string& action) {
    HttpClient c(port);
    return c.request(http::verb::patch, "/api/users/" + id + "/" + action, {bearer(tokenFor("usr_root"))});
  }
  std::string localStatus(const std::string& id) {
    HttpClient c(port);
    return std::string(c.request(http::verb::get, "/api/users/" + id, {bearer(tokenFor("usr_root"))})
                           .json().at("data").at("status").as_string());
  }

  Workspace ws;
  std::string secret_path = ws.dir.file("logto-secret");
  std::unique_ptr<ServerProcess> process;
  std::uint16_t port = 0;
};

std::string logtoError(const std::string& status) {
  return R"({"code":400,"message":"external service error","data":{"type":"external_api_error","errors":[],)"
         R"("details":{"directory":"logto","reason":"rejected","status":)" + status + "}}}";
}

}  // namespace

TEST_CASE("directory logto (stand-in): is-suspended follows reactivate and suspend; the token is cached, "
          "fetched again once on a 401", "[directory][logto][npm][slow]") {
  TempDir dir;
  LogtoStandIn logto(dir.file("logto.err"));
  logto.createUser("scim-jdoe", true);
  LogtoServer server(logto.url(), kClientSecret);

  CHECK(server.patch("usr_123456789", "reactivate").status == 200);
  CHECK_FALSE(logto.suspended("scim-jdoe"));
  CHECK(server.patch("usr_123456789", "suspend").status == 200);
  CHECK(logto.suspended("scim-jdoe"));
  CHECK(logto.tokenRequests() == 1);

  logto.revokeTokens();
  CHECK(server.patch("usr_123456789", "reactivate").status == 200);
  CHECK_FALSE(logto.suspended("scim-jdoe"));
  CHECK(logto.tokenRequests() == 2);

  // Logto's 404 for an unknown user: the documented 400, nothing changed here.
  const auto missing = server.patch("usr_alice", "suspend");
  CHECK(missing.status == 400);
  CHECK(missing.body == logtoError("404"));
  CHECK(server.localStatus("usr_alice") == "active");
  const std::string log = readFile(server.ws.err_path);
  CHECK(log.find(kClientSecret) == std::string::npos);
  CHECK(log.find("does not exist") == std::string::npos);  // no upstream text
}

TEST_CASE("directory logto (stand-in): refused client credentials are external_api_error", "[directory][logto][npm][slow]") {
  TempDir dir;
  LogtoStandIn logto(dir.file("logto.err"));
  logto.createUser("scim-jdoe", true);
  LogtoServer server(logto.url(), "wrong-secret");
  const auto r = server.patch("usr_123456789", "reactivate");
  CHECK(r.status == 400);
  CHECK(r.body == logtoError("401"));
  CHECK(server.localStatus("usr_123456789") == "suspended");
  CHECK(logto.suspended("scim-jdoe"));
  CHECK(readFile(server.ws.err_path).find("wrong-secret") == std::string::npos);
}

#endif
