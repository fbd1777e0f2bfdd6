// SCIM 2.0 (RFC 7644 §3.5.2): a PatchOp replacing `active`.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "answer.hpp"
#include "http_client.hpp"
#include "useradmin/directory/directory_clients.hpp"

namespace useradmin::directory {

namespace {

namespace json = boost::json;
using detail::HttpAnswer;
using detail::TransportError;

constexpr const char* kName = "scim";

// RFC 7644 §3.12: `scimType` of an error body, for the log.
std::string scimErrorSummary(const std::string& body) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) return {};
  const auto* type = parsed.get_object().if_contains("scimType");
  if (type == nullptr || !type->is_string()) return {};
  return "scimType " + detail::logSafeKeyword(std::string(type->get_string()));
}

class ScimDirectory final : public DirectorySync {
 public:
  ScimDirectory(std::unique_ptr<detail::HttpClient> http, std::string token)
      : http_(std::move(http)), authorization_("Bearer " + std::move(token)) {}

  Status userStatusChanged(const User& user) override {
    detail::HttpRequest request;
    request.method = "PATCH";
    request.target = http_->url().path + "/Users/" + detail::encodePathSegment(directoryIdOf(user));
    request.content_type = "application/scim+json";
    request.authorization = authorization_;
    request.body = std::string(R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],)"
                               R"("Operations":[{"op":"replace","path":"active","value":)") +
                   (user.status == UserStatus::active ? "true" : "false") + "}]}";
    const std::string what = "PATCH /Users/" + detail::encodePathSegment(directoryIdOf(user));
    detail::HttpOutcome outcome = http_->send(request);
    if (const auto* failed = std::get_if<TransportError>(&outcome)) return detail::transportFailure(kName, what, *failed);
    const auto& answer = std::get<HttpAnswer>(outcome);
    if (answer.status == 200 || answer.status == 204) return okStatus();
    if (answer.status >= 200 && answer.status < 300)
      return Error::directoryFailed({kName, DirectoryFailureReason::bad_response, static_cast<int>(answer.status), std::nullopt},
                                    std::string(kName) + " " + what + ": unexpected HTTP " + std::to_string(answer.status));
    return detail::rejection(kName, what, answer, scimErrorSummary(answer.body));
  }

 private:
  std::unique_ptr<detail::HttpClient> http_;
  std::string authorization_;
};

}  // namespace

Result<std::unique_ptr<DirectorySync>> makeScimDirectory(ScimOptions options) {
  auto url = detail::parseBaseUrl(options.url);
  if (!url) return std::move(url).error();
  if (options.bearer_token.empty())
    return Error::invalidArgument({"token", "required", ""}, "scim_token_missing");
  auto http = detail::HttpClient::create(std::move(*url), options.http);
  if (!http) return std::move(http).error();
  return std::unique_ptr<DirectorySync>(
      std::make_unique<ScimDirectory>(std::move(*http), std::move(options.bearer_token)));
}

}  // namespace useradmin::directory
