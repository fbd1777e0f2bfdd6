// The real SCIM 2.0 service of tests/directory/scim-server (scimmy on
// express, installed by the ctest fixture `directory.scim.npm_ci`) as a
// child process, plus the useradmin-server flags that point at it.
#ifndef USERADMIN_TESTS_DIRECTORY_SCIM_SERVICE_HPP
#define USERADMIN_TESTS_DIRECTORY_SCIM_SERVICE_HPP
#if defined(USERADMIN_SERVER_PATH) && defined(USERADMIN_SCIM_SERVER_DIR)

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "beast/http_client.hpp"
#include "beast/server_process.hpp"

namespace useradmin::test {

inline const std::string kScimToken = "scim-test-token-s3cr3t";

class ScimService {
 public:
  // Plain http; with `cert`/`key`, https on port() and plain http on
  // controlPort(). `listen_port` 0 takes a free port.
  explicit ScimService(const std::string& err_path, const std::string& cert = {}, const std::string& key = {},
                       std::uint16_t listen_port = 0)
      : process_("node", arguments(cert, key, listen_port), err_path) {
    const std::string line = process_.waitForLine("scim listening on ");
    REQUIRE_FALSE(line.empty());
    port_ = lastNumber(line);
    control_port_ = port_;
    if (!cert.empty()) {
      const std::string plain = process_.waitForLine("scim plain on ");
      REQUIRE_FALSE(plain.empty());
      control_port_ = lastNumber(plain);
    }
  }

  std::uint16_t port() const { return port_; }
  std::uint16_t controlPort() const { return control_port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/scim"; }

  // Creates a SCIM user whose id is `id` (the service takes userName as id).
  void createUser(const std::string& id, bool active) {
    HttpClient c(control_port_, std::chrono::seconds(10), BodyEnding::as_sent);
    const auto r = c.request(http::verb::post, "/scim/Users", scimHeaders(),
                             R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":")" + id +
                                 R"(","active":)" + (active ? "true" : "false") + "}");
    REQUIRE(r.status == 201);
  }

  // The SCIM user's `active`, read back through SCIM itself.
  bool active(const std::string& id) {
    HttpClient c(control_port_, std::chrono::seconds(10), BodyEnding::as_sent);
    const auto r = c.request(http::verb::get, "/scim/Users/" + id, scimHeaders());
    REQUIRE(r.status == 200);
    return r.json().at("active").as_bool();
  }

  // How many PATCHes of this id reached the service.
  std::int64_t patches(const std::string& id) {
    HttpClient c(control_port_, std::chrono::seconds(10), BodyEnding::as_sent);
    const auto r = c.request(http::verb::get, "/control/patches/" + id);
    REQUIRE(r.status == 200);
    return r.json().at("count").as_int64();
  }

  // Creates (or overwrites) many users at once, without SCIM requests.
  void createUsers(const std::vector<std::string>& ids, bool active) {
    std::string body = R"({"active":)" + std::string(active ? "true" : "false") + R"(,"ids":[)";
    for (std::size_t i = 0; i < ids.size(); ++i) body += (i ? ",\"" : "\"") + ids[i] + "\"";
    body += "]}";
    HttpClient c(control_port_, std::chrono::seconds(10), BodyEnding::as_sent);
    const auto r = c.request(http::verb::post, "/control/users", {{"Content-Type", "application/json"}}, body);
    REQUIRE(r.status == 200);
  }

  // Every user's `active` by id, as the service holds it.
  std::map<std::string, bool> allActive() {
    HttpClient c(control_port_, std::chrono::seconds(10), BodyEnding::as_sent);
    const auto r = c.request(http::verb::get, "/control/users");
    REQUIRE(r.status == 200);
    const boost::json::value body = r.json();  // kept alive: the loop reads into it
    std::map<std::string, bool> out;
    for (const auto& [id, active] : body.at("active").as_object()) out[std::string(id)] = active.as_bool();
    return out;
  }

  // `{"status":503}`, `{"delayMs":2000}`, `{"status":409,"count":1}`, `{}` (no fault)...
  void setFault(const std::string& json) {
    HttpClient c(control_port_, std::chrono::seconds(10), BodyEnding::as_sent);
    const auto r = c.request(http::verb::post, "/control/fault", {{"Content-Type", "application/json"}}, json);
    REQUIRE(r.status == 200);
  }

 private:
  // "scim listening on 41943" -> 41943.
  static std::uint16_t lastNumber(const std::string& line) {
    return static_cast<std::uint16_t>(std::stoi(line.substr(line.rfind(' ') + 1)));
  }
  static std::vector<std::string> arguments(const std::string& cert, const std::string& key, std::uint16_t port) {
    std::vector<std::string> args = {std::string(USERADMIN_SCIM_SERVER_DIR) + "/server.js", "--token", kScimToken};
    if (port != 0) args.insert(args.end(), {"--port", std::to_string(port)});
    if (!cert.empty()) args.insert(args.end(), {"--cert", cert, "--key", key});
    return args;
  }
  static std::vector<std::pair<std::string, std::string>> scimHeaders() {
    return {{"Authorization", "Bearer " + kScimToken}, {"Content-Type", "application/scim+json"}};
  }

  ServerProcess process_;
  std::uint16_t port_ = 0;
  std::uint16_t control_port_ = 0;
};

// A server workspace whose users are known to the directory by external ids.
inline constexpr const char* kDirectoryFixture = R"({
  "organizations": [
    {"id": "org_owner", "name": "Acme HQ", "type": "owner"},
    {"id": "org_c1", "name": "Customer One", "type": "customer", "parent_id": "org_owner"}
  ],
  "users": [
    {"id": "usr_root", "username": "root", "email": "root@example.com", "organization_id": "org_owner", "roles": ["super"], "status": "active"},
    {"id": "usr_123456789", "username": "jdoe", "email": "jdoe@example.com", "organization_id": "org_c1", "roles": ["support"],
     "status": "suspended", "external_id": "scim-jdoe"},
    {"id": "usr_alice", "username": "alice", "email": "alice@example.com", "organization_id": "org_c1", "roles": ["support"],
     "status": "active"}
  ]
})";

// Runs a shell command (openssl at test time); true on exit 0.
inline bool shell(const std::string& command) { return std::system(command.c_str()) == 0; }

}  // namespace useradmin::test

#endif
#endif  // USERADMIN_TESTS_DIRECTORY_SCIM_SERVICE_HPP
