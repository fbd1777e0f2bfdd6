// docs/openapi.yaml against real responses: the real server behind Prism's
// validating proxy (@stoplight/prism-cli, installed from tests/openapi's lock
// file by the ctest fixture openapi.npm_ci). Every answer the server gives
// to the requests below must be declared: its status for the operation, its
// body's shape. Prism reports what it cannot match in the `sl-violations`
// header; a response-side violation, or a request that matches no declared
// operation, fails the test. Prism cannot proxy HEAD answers (it parses the
// empty body as JSON), so HEAD is checked elsewhere (probes_test, api_test).
//
// Prism ignores the servers' base path, so the server runs with
// `--base-path /` (the routes are the same, without the /api prefix).
//
// Run by ctest as openapi.prism_contract, which sets
// USERADMIN_OPENAPI_TOOLS_DIR to the npm-installed tools.
#ifdef USERADMIN_SERVER_PATH

#include <cstdlib>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "beast/http_client.hpp"
#include "beast/server_fixture.hpp"
#include "beast/server_process.hpp"
#include "support/fixtures.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

const std::string kSpec = std::string(USERADMIN_TEST_SOURCE_DIR) + "/../docs/openapi.yaml";
std::string prismPath() {
  const char* dir = std::getenv("USERADMIN_OPENAPI_TOOLS_DIR");
  if (dir == nullptr || *dir == '\0') FAIL("USERADMIN_OPENAPI_TOOLS_DIR is not set: run this through ctest (openapi.prism_contract)");
  return std::string(dir) + "/node_modules/.bin/prism";
}

std::uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t size = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

// Prism's validating proxy in front of `upstream_port`, checking `spec`.
class PrismProxy {
 public:
  PrismProxy(const std::string& spec, std::uint16_t upstream_port, const std::string& log_path)
      : port_(freePort()),
        process_(prismPath(),
                 {"proxy", spec, "http://127.0.0.1:" + std::to_string(upstream_port), "-h", "127.0.0.1", "-p",
                  std::to_string(port_)},
                 log_path) {}

  // Waits until Prism answers (it takes seconds to load the document).
  bool waitReady() {
    for (int i = 0; i < 300; ++i) {
      try {
        HttpClient probe(port_, std::chrono::seconds(2), BodyEnding::as_sent);
        if (probe.request(http::verb::get, "/healthz").status != 0) return true;
      } catch (...) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::uint16_t port() const { return port_; }

 private:
  std::uint16_t port_;
  ServerProcess process_;
};

// The violations Prism reported for one exchange.
struct Violations {
  std::vector<std::string> response;  // the response is not what the document declares
  bool route_not_found = false;       // the request matched no declared operation
  std::string raw;
};

Violations violationsOf(const HttpResponse& r) {
  Violations v;
  v.raw = r.header("sl-violations");
  if (v.raw.empty()) return v;
  const auto list = boost::json::parse(v.raw);
  for (const auto& item : list.as_array()) {
    const auto& object = item.as_object();
    const auto& location = object.at("location").as_array();
    const std::string message(object.at("message").as_string());
    const std::string where = location.empty() ? std::string() : std::string(location.at(0).as_string());
    if (where == "response") v.response.push_back(message);
    if (message.find("Route not resolved") != std::string::npos || message.find("route not found") != std::string::npos)
      v.route_not_found = true;
  }
  return v;
}

struct Exchange {
  http::verb method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  unsigned expected;
};

}  // namespace

TEST_CASE("openapi: every answer of the server matches docs/openapi.yaml (Prism's validating proxy)",
          "[openapi][slow]") {
  Workspace ws;
  // A per-actor bucket that only the "usr_ghost" exchanges exhaust.
  std::vector<std::string> args = ws.args();
  args.insert(args.end(), {"--base-path", "/", "--rate-limit-actor", "1/m", "--rate-limit-actor-burst", "40"});
  ServerProcess server(args, ws.err_path);
  const std::string line = server.waitForLine("listening on ");
  REQUIRE_FALSE(line.empty());
  const std::uint16_t upstream = portOf(line);

  // The control: the same document with the probe's status values changed,
  // so the real /healthz answer no longer fits it.
  std::string mutated = readFile(kSpec);
  const std::string enum_line = "enum: [ok, ready, not_ready]";
  REQUIRE(mutated.find(enum_line) != std::string::npos);
  mutated.replace(mutated.find(enum_line), enum_line.size(), "enum: [ready, not_ready]");
  writeFile(ws.dir.file("mutated.yaml"), mutated);

  PrismProxy prism(kSpec, upstream, ws.dir.file("prism.log"));
  PrismProxy control(ws.dir.file("mutated.yaml"), upstream, ws.dir.file("prism-control.log"));
  REQUIRE(prism.waitReady());
  REQUIRE(control.waitReady());

  const auto root = bearer(tokenFor("usr_root"));
  const auto support = bearer(tokenFor("usr_123456789"));
  const std::string big(5000, 'x');
  std::vector<Exchange> exchanges = {
      {http::verb::patch, "/users/usr_123456789/reactivate", {root}, "", 200},
      {http::verb::patch, "/users/usr_123456789/reactivate", {root}, R"({"reason":"again"})", 400},
      {http::verb::patch, "/users/usr_123456789/reactivate", {}, "", 401},
      {http::verb::patch, "/users/usr_123456789/reactivate", {bearer("not.a.jwt")}, "", 401},
      {http::verb::patch, "/users/usr_root/suspend", {support}, "", 403},
      {http::verb::patch, "/users/usr_nobody/reactivate", {root}, "", 404},
      {http::verb::patch, "/users/bad%24id/reactivate", {root}, "", 400},
      {http::verb::patch, "/users/usr_123456789/reactivate", {root}, R"({"x":1})", 400},
      {http::verb::patch, "/users/usr_123456789/reactivate", {root}, R"({"reason":")" + big + R"("})", 413},
      {http::verb::patch, "/users/usr_123456789/suspend", {root}, "", 200},
      {http::verb::patch, "/users/usr_123456789/suspend", {root}, "", 400},
      {http::verb::get, "/users/usr_123456789", {root}, "", 200},
      {http::verb::get, "/users/usr_nobody", {root}, "", 404},
      {http::verb::get, "/users?status=suspended&limit=10", {root}, "", 200},
      {http::verb::get, "/users?bogus=1", {root}, "", 400},
      {http::verb::get, "/organizations/org_c1", {root}, "", 200},
      {http::verb::get, "/organizations/org_nowhere", {root}, "", 404},
      {http::verb::get, "/audit-events?limit=5", {root}, "", 200},
      {http::verb::get, "/audit-events?limit=0", {root}, "", 400},
      {http::verb::patch, "/organizations/org_c1/suspend", {root}, "", 200},
      {http::verb::patch, "/organizations/org_c1/reactivate", {root}, "", 200},
      {http::verb::get, "/healthz", {}, "", 200},
      {http::verb::get, "/readyz", {}, "", 200},
      {http::verb::post, "/healthz", {}, "", 405},
      {http::verb::delete_, "/readyz", {}, "", 405},
      {http::verb::get, "/nowhere", {}, "", 404},
      {http::verb::delete_, "/nowhere", {root}, "", 404},
      {http::verb::post, "/users", {root}, "", 405},
  };
  // Every method but PATCH on a PATCH route, every one but GET on a GET route.
  for (const auto method : {http::verb::get, http::verb::post, http::verb::put, http::verb::delete_,
                            http::verb::options, http::verb::trace})
    exchanges.push_back({method, "/organizations/org_c1/suspend", {}, "", 405});
  for (const auto method :
       {http::verb::post, http::verb::put, http::verb::delete_, http::verb::options, http::verb::patch, http::verb::trace})
    exchanges.push_back({method, "/audit-events", {root}, "", 405});
  // An actor whose bucket runs out: 40 refusals of the unknown actor (401), then 429.
  const auto ghost = bearer(tokenFor("usr_ghost"));
  for (int i = 0; i < 40; ++i) exchanges.push_back({http::verb::get, "/users/usr_root", {ghost}, "", 401});
  exchanges.push_back({http::verb::get, "/users/usr_root", {ghost}, "", 429});

  HttpClient client(prism.port(), std::chrono::seconds(20), BodyEnding::as_sent);
  int checked = 0;
  for (const auto& e : exchanges) {
    INFO(http::to_string(e.method) << " " << e.target << " -> expected " << e.expected);
    const auto r = client.request(e.method, e.target, e.headers, e.body);
    INFO("status " << r.status << ", body " << r.body << ", sl-violations " << r.header("sl-violations"));
    CHECK(r.status == e.expected);
    const auto v = violationsOf(r);
    CHECK(v.response.empty());
    CHECK_FALSE(v.route_not_found);
    ++checked;
  }
  CHECK(checked == static_cast<int>(exchanges.size()));

  // The controls: the checker does fail on what the document does not declare.
  {
    HttpClient c(prism.port(), std::chrono::seconds(20), BodyEnding::as_sent);
    const auto r = c.request(http::verb::get, "/a/b/c");  // a 404 on a path OpenAPI cannot template
    CHECK(r.status == 404);
    CHECK(violationsOf(r).route_not_found);
  }
  {
    HttpClient c(control.port(), std::chrono::seconds(20), BodyEnding::as_sent);
    const auto r = c.request(http::verb::get, "/healthz");
    CHECK(r.status == 200);
    CHECK_FALSE(violationsOf(r).response.empty());
  }
}

#endif
