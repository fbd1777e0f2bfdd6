// The real useradmin-server against a real SCIM 2.0 service (scimmy) on
// 127.0.0.1: single-user operations reach SCIM's `active`, and every kind of
// directory failure is the documented 400 with the user left unchanged.
#include "directory/scim_service.hpp"
#if defined(USERADMIN_SERVER_PATH) && defined(USERADMIN_SCIM_SERVER_DIR)

#include <future>
#include <memory>

#include "beast/server_fixture.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

// useradmin-server with --directory scim at `url`, on kDirectoryFixture.
class DirectoryServer {
 public:
  DirectoryServer(const std::string& url, std::vector<std::string> extra = {}) {
    writeFile(ws.seed_path, kDirectoryFixture);
    writeFile(token_path, kScimToken + "\n");
    std::vector<std::string> args = ws.args();
    args.insert(args.end(), {"--directory", "scim", "--directory-url", url, "--directory-token-file", token_path});
    args.insert(args.end(), extra.begin(), extra.end());
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
    const auto r = c.request(http::verb::get, "/api/users/" + id, {bearer(tokenFor("usr_root"))});
    REQUIRE(r.status == 200);
    return std::string(r.json().at("data").at("status").as_string());
  }

  std::string log() const { return readFile(ws.err_path); }

  Workspace ws;
  std::string token_path = ws.dir.file("scim-token");
  std::unique_ptr<ServerProcess> process;
  std::uint16_t port = 0;
};

// The documented external_api_error, with the given reason and status.
void checkExternalError(const HttpResponse& r, const std::string& reason, const std::string& status) {
  CHECK(r.status == 400);
  CHECK(r.body == R"({"code":400,"message":"external service error","data":{"type":"external_api_error","errors":[],)"
                  R"("details":{"directory":"scim","reason":")" +
                      reason + R"(","status":)" + status + "}}}");
}

// Nothing secret or upstream in the server's log (access log included).
void checkLogClean(const std::string& log) {
  CHECK(log.find(kScimToken) == std::string::npos);
  CHECK(log.find("secret upstream text") == std::string::npos);
  CHECK(log.find("Resource scim-jdoe not found") == std::string::npos);
}

}  // namespace

TEST_CASE("directory scim: reactivate and suspend reach the SCIM user's active, by external_id",
          "[directory][scim][npm][slow]") {
  TempDir dir;
  ScimService scim(dir.file("scim.err"));
  scim.createUser("scim-jdoe", false);
  scim.createUser("usr_alice", true);
  DirectoryServer server(scim.url());

  CHECK(server.patch("usr_123456789", "reactivate").status == 200);
  CHECK(scim.active("scim-jdoe"));
  CHECK(server.patch("usr_123456789", "suspend").status == 200);
  CHECK_FALSE(scim.active("scim-jdoe"));
  // No external_id: the directory knows the user by its id.
  CHECK(server.patch("usr_alice", "suspend").status == 200);
  CHECK_FALSE(scim.active("usr_alice"));
  CHECK(server.localStatus("usr_alice") == "suspended");
  checkLogClean(server.log());
}

TEST_CASE("directory scim: a 4xx, a 5xx and a timeout are external_api_error and leave the user as it was",
          "[directory][scim][npm][slow]") {
  TempDir dir;
  ScimService scim(dir.file("scim.err"));
  DirectoryServer server(scim.url(), {"--directory-timeout", "0.5"});

  // SCIM itself refuses a user it does not know: 404.
  checkExternalError(server.patch("usr_123456789", "reactivate"), "rejected", "404");
  CHECK(server.localStatus("usr_123456789") == "suspended");

  scim.createUser("scim-jdoe", false);
  scim.setFault(R"({"status":503,"retryAfter":7})");
  checkExternalError(server.patch("usr_123456789", "reactivate"), "rejected", "503");
  CHECK(server.localStatus("usr_123456789") == "suspended");

  scim.setFault(R"({"delayMs":3000})");
  checkExternalError(server.patch("usr_123456789", "reactivate"), "timeout", "null");
  CHECK(server.localStatus("usr_123456789") == "suspended");

  // And a suspend is undone the same way.
  scim.createUser("usr_alice", true);
  scim.setFault(R"({"status":500})");
  checkExternalError(server.patch("usr_alice", "suspend"), "rejected", "500");
  CHECK(server.localStatus("usr_alice") == "active");
  CHECK(scim.active("usr_alice"));

  scim.setFault("{}");
  CHECK(server.patch("usr_123456789", "reactivate").status == 200);
  CHECK(scim.active("scim-jdoe"));
  checkLogClean(server.log());
}

TEST_CASE("directory scim: a directory that is down is external_api_error (unreachable)", "[directory][scim][npm][slow]") {
  DirectoryServer server("http://127.0.0.1:1/scim");
  checkExternalError(server.patch("usr_123456789", "reactivate"), "unreachable", "null");
  CHECK(server.localStatus("usr_123456789") == "suspended");
  checkLogClean(server.log());
}

TEST_CASE("directory scim: a slow directory does not slow requests that do not need it", "[directory][scim][npm][slow]") {
  TempDir dir;
  ScimService scim(dir.file("scim.err"));
  scim.createUser("scim-jdoe", false);
  DirectoryServer server(scim.url());
  scim.setFault(R"({"delayMs":2500})");

  const auto started = std::chrono::steady_clock::now();
  auto slow = std::async(std::launch::async, [&] { return server.patch("usr_123456789", "reactivate"); });
  // Wait until the slow call has reached the directory.
  while (scim.patches("scim-jdoe") == 0 && std::chrono::steady_clock::now() - started < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(scim.patches("scim-jdoe") == 1);

  const auto before = std::chrono::steady_clock::now();
  CHECK(server.localStatus("usr_alice") == "active");
  {
    HttpClient c(server.port);
    CHECK(c.request(http::verb::patch, "/api/users/usr_alice/suspend", {bearer("not-a-token")}).status == 401);
  }
  const auto quick = std::chrono::steady_clock::now() - before;
  CHECK(quick < std::chrono::milliseconds(1000));
  CHECK(slow.wait_for(std::chrono::seconds(0)) != std::future_status::ready);  // still held by SCIM
  CHECK(slow.get().status == 200);
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(2500));
}

TEST_CASE("directory scim: https with a throwaway CA; an untrusted certificate or a wrong host name fails",
          "[directory][scim][tls][npm][slow]") {
  TempDir dir;
  const std::string d = dir.file("");
  // A CA, and a server certificate for "localhost" only (no IP address).
  REQUIRE(shell("cd '" + d + "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 "
                "-subj /CN=useradmin-test-ca >/dev/null 2>&1"));
  REQUIRE(shell("cd '" + d + "' && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
                "-subj /CN=localhost >/dev/null 2>&1 && printf 'subjectAltName=DNS:localhost\\n' > ext.cnf && "
                "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 "
                "-extfile ext.cnf >/dev/null 2>&1"));
  ScimService scim(dir.file("scim.err"), dir.file("server.pem"), dir.file("server.key"));
  scim.createUser("scim-jdoe", false);
  const std::string port = std::to_string(scim.port());

  {
    DirectoryServer trusted("https://localhost:" + port + "/scim", {"--directory-ca-file", dir.file("ca.pem")});
    CHECK(trusted.patch("usr_123456789", "reactivate").status == 200);
    CHECK(scim.active("scim-jdoe"));
    CHECK(trusted.patch("usr_123456789", "suspend").status == 200);
    CHECK_FALSE(scim.active("scim-jdoe"));
  }
  {
    DirectoryServer untrusted("https://localhost:" + port + "/scim");
    checkExternalError(untrusted.patch("usr_123456789", "reactivate"), "unreachable", "null");
    CHECK(untrusted.localStatus("usr_123456789") == "suspended");
  }
  {
    DirectoryServer wrong_host("https://127.0.0.1:" + port + "/scim", {"--directory-ca-file", dir.file("ca.pem")});
    checkExternalError(wrong_host.patch("usr_123456789", "reactivate"), "unreachable", "null");
    CHECK(wrong_host.localStatus("usr_123456789") == "suspended");
  }
  CHECK_FALSE(scim.active("scim-jdoe"));
  CHECK(scim.patches("scim-jdoe") == 2);  // the refused handshakes sent nothing
}

#endif
