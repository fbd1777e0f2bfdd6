// A local HTTPS JWK Set issuer for the --jwks-url tests: a throwaway CA and
// a server certificate for "localhost" made by openssl at test time, and
// tests/directory/jwks-server/server.js (node's https module, no packages)
// serving the key set the test writes, so the test can rotate keys, change
// Cache-Control, stop and restart the issuer, and count its requests.
#ifndef USERADMIN_TESTS_DIRECTORY_JWKS_ISSUER_HPP
#define USERADMIN_TESTS_DIRECTORY_JWKS_ISSUER_HPP
#if defined(USERADMIN_SERVER_PATH)

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "beast/server_process.hpp"
#include "useradmin/jwt/jwt_issuer.hpp"

namespace useradmin::test {

// Each kid's HS256 secret (an `oct` JWK): deterministic, 40+ bytes.
inline std::string secretOf(const std::string& kid) { return "jwks-test-secret-" + kid + "-0123456789abcdefghij"; }

// A JWK Set with one `oct` key per kid.
inline std::string jwksWith(const std::vector<std::string>& kids) {
  std::string json = "{\"keys\":[";
  for (std::size_t i = 0; i < kids.size(); ++i) {
    if (i > 0) json += ",";
    json += "{\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"sig\",\"kid\":\"" + kids[i] + "\",\"k\":\"" +
            base64urlEncode(secretOf(kids[i])) + "\"}";
  }
  return json + "]}";
}

class JwksIssuer {
 public:
  JwksIssuer() {
    const std::string d = dir_.file("");
    // EC keys: much faster to make than RSA, as good for the handshake.
    const bool made =
        std::system(("cd '" + d + "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                     "-keyout ca.key -out ca.pem -days 1 -subj /CN=useradmin-jwks-test-ca >/dev/null 2>&1 && "
                     "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key "
                     "-out server.csr -subj /CN=localhost >/dev/null 2>&1 && "
                     "printf 'subjectAltName=DNS:localhost\\n' > ext.cnf && "
                     "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem "
                     "-days 1 -extfile ext.cnf >/dev/null 2>&1")
                        .c_str()) == 0;
    REQUIRE(made);
    start(0);
  }

  // The URL with the certificate's host name (trusted with caFile()).
  std::string url() const { return "https://localhost:" + std::to_string(port_) + "/jwks"; }
  std::string caFile() const { return dir_.file("ca.pem"); }
  std::uint16_t port() const { return port_; }
  std::string file(const std::string& name) const { return dir_.file(name); }

  void serve(const std::vector<std::string>& kids) { writeFile(dir_.file("jwks.json"), jwksWith(kids)); }
  void serveText(const std::string& text) { writeFile(dir_.file("jwks.json"), text); }
  void cacheControl(const std::string& value) { writeFile(dir_.file("cache-control"), value); }

  // Requests answered so far (over all runs of the process).
  int requests() const {
    const std::string text = readFile(dir_.file("requests"));
    return text.empty() ? 0 : std::stoi(text);
  }

  // The issuer goes down (connections refused) and comes back on its port.
  void stop() { process_.reset(); }
  void restart() { start(port_); }

 private:
  void start(std::uint16_t port) {
    const std::string script = std::string(USERADMIN_TEST_SOURCE_DIR) + "/directory/jwks-server/server.js";
    std::vector<std::string> args = {script, dir_.file("server.pem"), dir_.file("server.key"), dir_.file("")};
    if (port != 0) args.push_back(std::to_string(port));
    process_ = std::make_unique<ServerProcess>("node", args, dir_.file("issuer.err"));
    const std::string line = process_->waitForLine("jwks listening on ");
    REQUIRE_FALSE(line.empty());
    port_ = static_cast<std::uint16_t>(std::stoi(line.substr(line.rfind(' ') + 1)));
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> process_;
  std::uint16_t port_ = 0;
};

// Polls `condition` every 20 ms until it holds or `timeout` passes.
template <class F>
bool eventually(F condition, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace useradmin::test

#endif  // USERADMIN_SERVER_PATH
#endif  // USERADMIN_TESTS_DIRECTORY_JWKS_ISSUER_HPP
