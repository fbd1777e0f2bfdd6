#include "directory_options.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "useradmin/directory/directory_clients.hpp"

namespace useradmin::server {

namespace {

using Setter = std::function<bool(const std::string&)>;

Setter text(std::optional<std::string>& target) {
  return [&target](const std::string& v) { return !v.empty() && (target = v, true); };
}

// A secret file's contents without the trailing newline(s).
Result<std::string> readSecret(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::internal(std::string("cannot read the ") + what + " file " + path);
  std::ostringstream content;
  content << in.rdbuf();
  std::string secret = content.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return Error::internal(std::string("the ") + what + " file " + path + " is empty");
  return secret;
}

directory::HttpOptions httpOptions(const DirectoryFlags& flags) {
  directory::HttpOptions http;
  http.timeout = flags.timeout;
  http.ca_file = flags.ca_file;
  return http;
}

Result<std::unique_ptr<DirectorySync>> makeLogto(const DirectoryFlags& f) {
  auto secret = readSecret(*f.client_secret_file, "directory client secret");
  if (!secret) return std::move(secret).error();
  return directory::makeLogtoDirectory({*f.url, *f.client_id, std::move(*secret), *f.resource, httpOptions(f)});
}

}  // namespace

std::map<std::string, Setter> directoryFlagSetters(DirectoryFlags& f) {
  return {
      {"--directory",
       [&f](const std::string& v) {
         if (v == "none") f.kind = DirectoryKind::none;
         else if (v == "scim") f.kind = DirectoryKind::scim;
         else if (v == "logto") f.kind = DirectoryKind::logto;
         else return false;
         return true;
       }},
      {"--directory-url", text(f.url)},
      {"--directory-token-file", text(f.token_file)},
      {"--directory-client-id", text(f.client_id)},
      {"--directory-client-secret-file", text(f.client_secret_file)},
      {"--directory-resource", text(f.resource)},
      {"--directory-ca-file", text(f.ca_file)},
      {"--directory-timeout",
       [&f](const std::string& v) {
         char* end = nullptr;
         const double seconds = std::strtod(v.c_str(), &end);
         if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(seconds) || seconds <= 0 || seconds > 600)
           return false;
         f.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000)));
         return f.timeout.count() > 0;
       }},
  };
}

std::string checkDirectoryFlags(const DirectoryFlags& f) {
  const bool logto_credentials = f.client_id || f.client_secret_file || f.resource;
  switch (f.kind) {
    case DirectoryKind::none:
      if (f.url || f.token_file || logto_credentials || f.ca_file)
        return "--directory-* options need --directory scim or --directory logto";
      return {};
    case DirectoryKind::scim:
      if (!f.url) return "--directory scim needs --directory-url";
      if (!f.token_file) return "--directory scim needs --directory-token-file";
      if (logto_credentials) return "--directory-client-id/-client-secret-file/-resource are for --directory logto";
      break;
    case DirectoryKind::logto:
      if (!f.url) return "--directory logto needs --directory-url";
      if (!f.client_id || !f.client_secret_file || !f.resource)
        return "--directory logto needs --directory-client-id, --directory-client-secret-file and --directory-resource";
      if (f.token_file) return "--directory-token-file is for --directory scim";
      break;
  }
  const std::string& url = *f.url;
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    return "--directory-url must start with http:// or https://";
  if (url.find('@') != std::string::npos)
    return "--directory-url must not carry credentials (use the token or secret file)";
  return {};
}

const char* directoryUsageText() {
  return R"(
Directory sync (docs/directory.md):
  --directory none|scim|logto   tell an identity directory of every status change
                                (default none)
  --directory-url URL           base URL of the SCIM service or of the Logto endpoint
  --directory-token-file FILE   SCIM bearer token
  --directory-client-id ID      Logto machine-to-machine application id
  --directory-client-secret-file FILE
                                Logto machine-to-machine application secret
  --directory-resource URI      Logto Management API resource indicator
  --directory-timeout SECONDS   per-call timeout (default 5)
  --directory-ca-file FILE      extra PEM CA bundle trusted for https
)";
}

Result<std::unique_ptr<DirectorySync>> makeDirectory(const DirectoryFlags& f) {
  switch (f.kind) {
    case DirectoryKind::none: return std::unique_ptr<DirectorySync>();
    case DirectoryKind::scim: {
      auto token = readSecret(*f.token_file, "directory token");
      if (!token) return std::move(token).error();
      return directory::makeScimDirectory({*f.url, std::move(*token), httpOptions(f)});
    }
    case DirectoryKind::logto: return makeLogto(f);
  }
  return std::unique_ptr<DirectorySync>();
}

}  // namespace useradmin::server
