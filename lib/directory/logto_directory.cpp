// The Logto Management API: `PATCH /api/users/{id}/is-suspended` with a
// machine-to-machine token (OAuth 2.0 client credentials at /oidc/token).
#include <chrono>
#include <mutex>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <openssl/evp.h>

#include "answer.hpp"
#include "http_client.hpp"
#include "useradmin/directory/directory_clients.hpp"

namespace useradmin::directory {

namespace {

namespace json = boost::json;
using detail::HttpAnswer;
using detail::TransportError;
using Clock = std::chrono::steady_clock;

constexpr const char* kName = "logto";
// A cached token is not used in its last 30 s, so it cannot expire in flight.
constexpr std::chrono::seconds kExpiryMargin{30};

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Logto's error bodies carry a `code` ("entity.not_exists_with_id"); the
// OAuth token endpoint an `error` ("invalid_client"). Either, for the log.
std::string logtoErrorSummary(const std::string& body) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) return {};
  for (const char* key : {"code", "error"}) {
    const auto* value = parsed.get_object().if_contains(key);
    if (value != nullptr && value->is_string())
      return std::string(key) + " " + detail::logSafeKeyword(std::string(value->get_string()));
  }
  return {};
}

struct Token {
  std::string value;
  Clock::time_point usable_until;
};

class LogtoDirectory final : public DirectorySync {
 public:
  LogtoDirectory(std::unique_ptr<detail::HttpClient> http, LogtoOptions options)
      : http_(std::move(http)), options_(std::move(options)) {}

  Status userStatusChanged(const User& user) override {
    auto token = currentToken();
    if (!token) return std::move(token).error();
    detail::HttpRequest request;
    request.method = "PATCH";
    const std::string path = "/api/users/" + detail::encodePathSegment(directoryIdOf(user)) + "/is-suspended";
    request.target = http_->url().path + path;
    request.content_type = "application/json";
    request.body = std::string(R"({"isSuspended":)") + (user.status == UserStatus::active ? "false" : "true") + "}";
    for (int attempt = 0;; ++attempt) {
      request.authorization = "Bearer " + *token;
      detail::HttpOutcome outcome = http_->send(request);
      if (const auto* failed = std::get_if<TransportError>(&outcome))
        return detail::transportFailure(kName, "PATCH " + path, *failed);
      const auto& answer = std::get<HttpAnswer>(outcome);
      if (answer.status >= 200 && answer.status < 300) return okStatus();
      // A token revoked or expired early: fetch a new one, once.
      if (answer.status != 401 || attempt > 0) return detail::rejection(kName, "PATCH " + path, answer, logtoErrorSummary(answer.body));
      forget(*token);
      token = currentToken();
      if (!token) return std::move(token).error();
    }
  }

 private:
  Result<std::string> currentToken() {
    std::lock_guard<std::mutex> lock(token_mutex_);
    if (token_ && Clock::now() < token_->usable_until) return token_->value;
    auto fetched = fetchToken();
    if (!fetched) return std::move(fetched).error();
    token_ = std::move(*fetched);
    return token_->value;
  }

  void forget(const std::string& stale) {
    std::lock_guard<std::mutex> lock(token_mutex_);
    if (token_ && token_->value == stale) token_.reset();
  }

  Result<Token> fetchToken() {
    detail::HttpRequest request;
    request.method = "POST";
    request.target = http_->url().path + "/oidc/token";
    request.content_type = "application/x-www-form-urlencoded";
    request.authorization = "Basic " + base64(options_.client_id + ":" + options_.client_secret);
    request.body = "grant_type=client_credentials&resource=" + detail::encodePathSegment(options_.resource) + "&scope=all";
    const Clock::time_point asked = Clock::now();
    detail::HttpOutcome outcome = http_->send(request);
    if (const auto* failed = std::get_if<TransportError>(&outcome))
      return detail::transportFailure(kName, "POST /oidc/token", *failed);
    const auto& answer = std::get<HttpAnswer>(outcome);
    if (answer.status != 200) return detail::rejection(kName, "POST /oidc/token", answer, logtoErrorSummary(answer.body));
    boost::system::error_code ec;
    const json::value parsed = json::parse(answer.body, ec);
    const json::object* body = ec ? nullptr : parsed.if_object();
    const json::value* access = body != nullptr ? body->if_contains("access_token") : nullptr;
    const json::value* expires = body != nullptr ? body->if_contains("expires_in") : nullptr;
    if (access == nullptr || !access->is_string() || access->get_string().empty() || expires == nullptr ||
        !expires->is_number())
      return Error::directoryFailed({kName, DirectoryFailureReason::bad_response, 200, std::nullopt},
                                    "logto POST /oidc/token: no access_token/expires_in in the answer");
    const auto lifetime = std::chrono::seconds(static_cast<std::int64_t>(expires->to_number<double>()));
    return Token{std::string(access->get_string()), asked + lifetime - kExpiryMargin};
  }

  std::unique_ptr<detail::HttpClient> http_;
  LogtoOptions options_;
  std::mutex token_mutex_;
  std::optional<Token> token_;
};

}  // namespace

Result<std::unique_ptr<DirectorySync>> makeLogtoDirectory(LogtoOptions options) {
  auto url = detail::parseBaseUrl(options.url);
  if (!url) return std::move(url).error();
  if (options.client_id.empty() || options.client_secret.empty() || options.resource.empty())
    return Error::invalidArgument({"credentials", "required", ""}, "logto_credentials_missing");
  auto http = detail::HttpClient::create(std::move(*url), options.http);
  if (!http) return std::move(http).error();
  return std::unique_ptr<DirectorySync>(std::make_unique<LogtoDirectory>(std::move(*http), std::move(options)));
}

}  // namespace useradmin::directory
