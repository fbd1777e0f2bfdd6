// End-to-end tests of the real useradmin-server binary for the operations
// flags (issue 14): HTTPS with --tls-cert/--tls-key (a CA and a server
// certificate made by openssl at test time, curl --cacert as the client),
// --metrics-listen, and --log-format json.
#ifdef USERADMIN_SERVER_PATH

#include <sys/stat.h>

#include <array>
#include <cstdio>

#include "beast/http_client.hpp"
#include "beast/prometheus_text.hpp"
#include "beast/server_fixture.hpp"
#include "beast/server_process.hpp"
#include "support/fixtures.hpp"

using namespace useradmin;
using namespace useradmin::test;

namespace {

struct Command {
  int rc = -1;
  std::string out;
};

// Runs a shell command; its stdout and exit code.
Command run(const std::string& command) {
  Command result;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) result.out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  result.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

bool exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

// A throwaway CA and a server certificate it signed, for 127.0.0.1 and
// localhost (P-256 keys: quick to make).
struct Certificates {
  std::string ca, cert, key;
  explicit Certificates(const TempDir& dir) : ca(dir.file("ca.pem")), cert(dir.file("server.pem")), key(dir.file("server.key")) {
    const std::string d = dir.file("");
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    REQUIRE(run("cd '" + d + "' && openssl req -x509 " + ec +
                " -keyout ca.key -out ca.pem -days 1 -subj /CN=useradmin-test-ca 2>&1")
                .rc == 0);
    REQUIRE(run("cd '" + d + "' && openssl req " + ec +
                " -keyout server.key -out server.csr -subj /CN=localhost 2>&1 && "
                "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext.cnf && "
                "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem "
                "-days 1 -extfile ext.cnf 2>&1")
                .rc == 0);
  }
};

std::vector<std::string> plus(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

const std::string kReactivate = "/api/users/usr_123456789/reactivate";

}  // namespace

TEST_CASE("process: --tls-cert/--tls-key serve HTTPS that curl --cacert trusts; plaintext is refused",
          "[beast][process][tls]") {
  Workspace ws;
  Certificates certs(ws.dir);
  ServerProcess p(plus(ws.args(), {"--tls-cert", certs.cert, "--tls-key", certs.key, "--metrics-listen",
                                   "127.0.0.1:0", "--header-timeout", "1"}),
                  ws.err_path);
  const std::string metrics_line = p.waitForLine("metrics on ");
  const std::string line = p.waitForLine("listening on ");
  INFO(readFile(ws.err_path));
  REQUIRE(line.rfind("listening on https://127.0.0.1:", 0) == 0);
  REQUIRE(metrics_line.rfind("metrics on http://127.0.0.1:", 0) == 0);
  const std::string url = line.substr(std::string("listening on ").size());
  const std::uint16_t port = portOf(line);
  const std::string metrics_url = metrics_line.substr(std::string("metrics on ").size());
  const std::string token = tokenFor("usr_root");
  const std::string curl = "curl -sS --max-time 10 --cacert '" + certs.ca + "' ";

  // The contract's example over HTTPS.
  const auto reactivated = run(curl + "-X PATCH '" + url + kReactivate + "' -H 'Authorization: Bearer " + token +
                               "' -w '\\n%{http_code}'");
  INFO(reactivated.out);
  CHECK(reactivated.rc == 0);
  CHECK(reactivated.out.find("\"code\":200") != std::string::npos);
  CHECK(reactivated.out.find("\"status\":\"active\"") != std::string::npos);
  CHECK(reactivated.out.substr(reactivated.out.size() - 4) == "\n200");

  // The same limits as plain HTTP: a 9 KiB header block is 431, a 5 KiB body 413.
  const std::string big_header(9 * 1024, 'h');
  CHECK(run(curl + "-o /dev/null -w '%{http_code}' -H 'X-Filler: " + big_header + "' '" + url + "/healthz'").out ==
        "431");
  CHECK(run(curl + "-o /dev/null -w '%{http_code}' -X PATCH --data-binary '" + std::string(5 * 1024, 'b') + "' '" +
            url + kReactivate + "' -H 'Authorization: Bearer " + token + "'")
            .out == "413");
  // Keep-alive over TLS: two requests on one connection (curl reuses it).
  const auto twice = run(curl + "-o /dev/null -o /dev/null -w '%{num_connects} ' '" + url + "/healthz' '" + url +
                         "/readyz'");
  CHECK(twice.out == "1 0 ");

  // TLS 1.2 is accepted too; a client that does not trust the CA is not.
  CHECK(run(curl + "--tlsv1.2 --tls-max 1.2 -o /dev/null -w '%{http_code}' '" + url + "/healthz'").out == "200");
  CHECK(run("curl -sS --max-time 10 -o /dev/null '" + url + "/healthz' 2>/dev/null").rc == 60);
  // Plain HTTP on the TLS port fails at the client.
  CHECK(run("curl -sS --max-time 10 -o /dev/null 'http://127.0.0.1:" + std::to_string(port) + "/healthz' 2>/dev/null")
            .rc != 0);

  // A raw plaintext request: closed without an answer, promptly.
  {
    RawConnection raw(port);
    raw.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const auto result = raw.readUntilClosed(std::chrono::milliseconds(5000));
    CHECK(result.closed);
    CHECK(result.data.find("200 OK") == std::string::npos);
  }
  // A client that connects and never says hello: closed at the header timeout.
  {
    RawConnection silent(port);
    const auto result = silent.readUntilClosed(std::chrono::milliseconds(5000));
    CHECK(result.closed);
    CHECK(result.elapsed < std::chrono::milliseconds(3000));
  }
  // Still serving.
  CHECK(run(curl + "-o /dev/null -w '%{http_code}' '" + url + "/readyz'").out == "200");

  // The metrics listener stays plain HTTP and counted the failed handshakes.
  const auto scraped = run("curl -sS --max-time 10 '" + metrics_url + "'");
  REQUIRE(scraped.rc == 0);
  const auto text = parsePrometheusText(scraped.out);
  CHECK(text.problems.empty());
  CHECK(text.value("useradmin_tls_handshake_failures_total") >= 3);
  CHECK(text.value("useradmin_http_requests_total",
                   {{"route", "/api/users/{id}/reactivate"}, {"method", "PATCH"}, {"status", "200"}}) == 1);
  // The SQLite store reports what it measures (or nothing): either way it parses.
  if (text.family("useradmin_store_commits_total") != nullptr) CHECK(text.value("useradmin_store_commits_total") >= 1);
}

TEST_CASE("process: TLS flags are checked before anything is touched", "[beast][process][tls]") {
  Workspace ws;
  Certificates certs(ws.dir);
  SECTION("one flag without the other is a usage error") {
    ServerProcess p(plus(ws.args(), {"--tls-cert", certs.cert}), ws.err_path);
    CHECK(p.waitExit() == 2);
    const std::string err = readFile(ws.err_path);
    CHECK(err.rfind("useradmin-server: --tls-cert and --tls-key go together", 0) == 0);
  }
  SECTION("a certificate file that is not one is a start-up error naming it") {
    writeFile(ws.dir.file("bad.pem"), "not a certificate\n");
    ServerProcess p(plus(ws.args(), {"--tls-cert", ws.dir.file("bad.pem"), "--tls-key", certs.key}), ws.err_path);
    CHECK(p.waitExit() == 1);
    const std::string err = readFile(ws.err_path);
    INFO(err);
    CHECK(err.find("certificate file " + ws.dir.file("bad.pem")) != std::string::npos);
    CHECK_FALSE(exists(ws.db_path));
  }
  SECTION("a key that does not match the certificate") {
    REQUIRE(run("cd '" + ws.dir.file("") + "' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
                "-out other.key 2>&1").rc == 0);
    ServerProcess p(plus(ws.args(), {"--tls-cert", certs.cert, "--tls-key", ws.dir.file("other.key")}), ws.err_path);
    CHECK(p.waitExit() == 1);
    CHECK(readFile(ws.err_path).find("private key") != std::string::npos);
    CHECK_FALSE(exists(ws.db_path));
  }
  SECTION("the metrics listener cannot be the public one") {
    ServerProcess p(plus(ws.args(), {"--listen", "127.0.0.1:18080", "--metrics-listen", "127.0.0.1:18080"}),
                    ws.err_path);
    CHECK(p.waitExit() == 2);
    CHECK(readFile(ws.err_path).find("--metrics-listen must differ from --listen") != std::string::npos);
  }
}

TEST_CASE("process: --log-format json makes every stderr line one JSON object with ts, level and msg",
          "[beast][process]") {
  Workspace ws;
  ServerProcess p(plus(ws.args(), {"--log-format", "json"}), ws.err_path);
  const std::string line = p.waitForLine("listening on ");
  REQUIRE(line.rfind("listening on http://127.0.0.1:", 0) == 0);  // stdout unchanged
  {
    HttpClient client(portOf(line));
    CHECK(client.request(http::verb::patch, kReactivate).status == 401);
  }
  p.signal(SIGTERM);
  CHECK(p.waitExit() == 0);
  const std::string err = readFile(ws.err_path);
  INFO(err);
  std::vector<boost::json::object> lines;
  std::size_t pos = 0;
  while (pos < err.size()) {
    const auto nl = err.find('\n', pos);
    REQUIRE(nl != std::string::npos);
    boost::system::error_code ec;
    auto value = boost::json::parse(err.substr(pos, nl - pos), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(value.is_object());
    const auto& object = value.as_object();
    CHECK(object.contains("ts"));
    CHECK(object.contains("level"));
    CHECK(object.contains("msg"));
    lines.push_back(object);
    pos = nl + 1;
  }
  const auto find = [&](const std::string& msg) -> const boost::json::object* {
    for (const auto& o : lines)
      if (o.at("msg") == msg.c_str()) return &o;
    return nullptr;
  };
  const auto* listening = find("listening");
  REQUIRE(listening != nullptr);
  CHECK(listening->at("level") == "info");
  CHECK(listening->at("url") == line.substr(std::string("listening on ").size()).c_str());
  const auto* request = find("request");
  REQUIRE(request != nullptr);
  CHECK(request->at("status") == 401);
  CHECK(request->at("reason") == "missing_credentials");
  CHECK(request->at("path") == kReactivate.c_str());
  CHECK(find("SIGTERM received, draining connections") != nullptr);
  CHECK(find("stopped") != nullptr);
}

TEST_CASE("process: --log-format json keeps usage errors one line of text", "[beast][process]") {
  Workspace ws;
  ServerProcess p(plus(ws.args(), {"--log-format", "json", "--no-such-flag"}), ws.err_path);
  CHECK(p.waitExit() == 2);
  CHECK(readFile(ws.err_path).rfind("useradmin-server: unknown option '--no-such-flag'\n", 0) == 0);
}

TEST_CASE("process: text logs stay as they were", "[beast][process]") {
  Workspace ws;
  ServerProcess p(ws.args(), ws.err_path);
  REQUIRE(p.waitForLine("listening on ").rfind("listening on http://", 0) == 0);
  p.signal(SIGTERM);
  CHECK(p.waitExit() == 0);
  const std::string err = readFile(ws.err_path);
  CHECK(err.find("useradmin-server: SIGTERM received, draining connections\n") != std::string::npos);
  CHECK(err.find("useradmin-server: stopped\n") != std::string::npos);
}

#endif
