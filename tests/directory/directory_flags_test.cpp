// The example server's --directory flags: a bad combination is a usage
// error at start-up (exit 2) with a one-line message.
#ifdef USERADMIN_SERVER_PATH

#include "beast/server_process.hpp"

using namespace useradmin::test;

TEST_CASE("directory flags: bad combinations exit 2 with one line naming the problem", "[directory][process]") {
  Workspace ws;
  writeFile(ws.dir.file("token"), "t\n");
  const std::string token = ws.dir.file("token");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--directory", "scim"}, "--directory scim needs --directory-url"},
      {{"--directory", "scim", "--directory-url", "http://127.0.0.1:1"}, "--directory scim needs --directory-token-file"},
      {{"--directory", "logto", "--directory-url", "http://127.0.0.1:1"}, "--directory logto needs --directory-client-id"},
      {{"--directory-url", "http://127.0.0.1:1"}, "--directory-* options need --directory scim or --directory logto"},
      {{"--directory", "scim", "--directory-url", "http://user:pw@127.0.0.1:1", "--directory-token-file", token},
       "--directory-url must not carry credentials"},
      {{"--directory", "scim", "--directory-url", "ftp://127.0.0.1", "--directory-token-file", token},
       "--directory-url must start with http:// or https://"},
      {{"--directory", "ldap"}, "invalid value 'ldap' for --directory"},
      {{"--directory-timeout", "0"}, "invalid value '0' for --directory-timeout"},
  };
  for (const auto& [flags, message] : cases) {
    INFO(message);
    std::vector<std::string> args = ws.args();
    args.insert(args.end(), flags.begin(), flags.end());
    ServerProcess p(args, ws.err_path);
    CHECK(p.waitExit() == 2);
    const std::string err = readFile(ws.err_path);
    CHECK(err.rfind("useradmin-server: " + message, 0) == 0);
    CHECK(err.find("pw@") == std::string::npos);
  }
}

TEST_CASE("directory flags: an unreadable token file is a start-up error (exit 1)", "[directory][process]") {
  Workspace ws;
  std::vector<std::string> args = ws.args();
  args.insert(args.end(), {"--directory", "scim", "--directory-url", "http://127.0.0.1:1", "--directory-token-file",
                           ws.dir.file("missing")});
  ServerProcess p(args, ws.err_path);
  CHECK(p.waitExit() == 1);
  CHECK(readFile(ws.err_path).find("cannot read the directory token file") != std::string::npos);
}

#endif
