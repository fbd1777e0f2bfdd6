// The JSON envelope and the ErrorCode -> HTTP mapping.
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "useradmin/beast/envelope.hpp"

using namespace useradmin;
using namespace useradmin::beast;
namespace json = boost::json;

namespace {
std::string dump(const json::value& v) { return json::serialize(v); }
}  // namespace

TEST_CASE("envelope: every ErrorCode maps to the contract's status", "[beast][envelope]") {
  CHECK(httpStatus(ErrorCode::unauthenticated) == 401);
  CHECK(httpStatus(ErrorCode::invalid_argument) == 400);
  CHECK(httpStatus(ErrorCode::permission_denied) == 403);
  CHECK(httpStatus(ErrorCode::not_found) == 404);
  CHECK(httpStatus(ErrorCode::failed_precondition) == 400);
  CHECK(httpStatus(ErrorCode::external_error) == 400);
  CHECK(httpStatus(ErrorCode::unavailable) == 500);
  CHECK(httpStatus(ErrorCode::internal) == 500);
  // Every mapped status is one the server documents.
  for (int i = 0; i < kErrorCodeCount; ++i) {
    const unsigned status = httpStatus(static_cast<ErrorCode>(i));
    CHECK(std::find(kResponseStatuses.begin(), kResponseStatuses.end(), status) != kResponseStatuses.end());
  }
}

TEST_CASE("envelope: the 200 body has exactly the contract's user fields", "[beast][envelope]") {
  User u;
  u.id = "usr_123456789";
  u.username = "jdoe";
  u.email = "jdoe@example.com";
  u.name = "Jane \"JD\" Doe";
  u.organization_id = "org_c1";
  u.roles = {"support"};
  u.status = UserStatus::active;
  u.tokens_valid_after = timestampFromMillis(1);
  u.updated_at = timestampFromMillis(1793527200000);
  const auto body = json::parse(userEnvelope(u));
  CHECK(dump(body) ==
        R"({"code":200,"message":"user reactivated successfully","data":{"id":"usr_123456789","username":"jdoe",)"
        R"("email":"jdoe@example.com","organization_id":"org_c1","status":"active","updated_at":"2026-11-01T10:00:00Z"}})");
}

TEST_CASE("envelope: validation errors list key, message and value", "[beast][envelope]") {
  const Error e = Error::failedPrecondition({"status", "not_suspended", "active"}, "not_suspended");
  const auto body = json::parse(errorEnvelope(e));
  CHECK(dump(body) == R"({"code":400,"message":"validation failed","data":{"type":"validation_error",)"
                      R"("errors":[{"key":"status","message":"not_suspended","value":"active"}]}})");
  const auto invalid = json::parse(errorEnvelope(Error::invalidArgument({"id", "invalid_format", "a b"}, "bad_id")));
  CHECK(invalid.at("code") == 400);
  CHECK(invalid.at("data").at("errors").at(0).at("value") == "a b");
}

TEST_CASE("envelope: 401, 403 and 404 bodies", "[beast][envelope]") {
  CHECK(dump(json::parse(errorEnvelope(Error::unauthenticated("expired", "exp=...")))) ==
        R"({"code":401,"message":"invalid token","data":{}})");
  CHECK(dump(json::parse(errorEnvelope(Error::permissionDenied("insufficient permissions", "missing_permission")))) ==
        R"({"code":403,"message":"insufficient permissions","data":{}})");
  CHECK(dump(json::parse(errorEnvelope(
            Error::permissionDenied("cannot perform administrative actions on yourself", "self")))) ==
        R"({"code":403,"message":"cannot perform administrative actions on yourself","data":{}})");
  CHECK(dump(json::parse(errorEnvelope(Error::notFound("usr_x", "outside_hierarchy")))) ==
        R"({"code":404,"message":"user not found","data":{"type":"validation_error",)"
        R"("errors":[{"key":"id","message":"not_found","value":"usr_x"}]}})");
}

TEST_CASE("envelope: external and internal errors never show their detail", "[beast][envelope]") {
  const std::string external = errorEnvelope(Error::externalError("ldap password=hunter2 refused"));
  CHECK(dump(json::parse(external)) == R"({"code":400,"message":"external service error",)"
                                       R"("data":{"type":"external_api_error","errors":[],"details":{}}})");
  for (const Error& e : {Error::internal("disk I/O error at /var/db"), Error::unavailable("database is locked")}) {
    const std::string text = errorEnvelope(e);
    CHECK(dump(json::parse(text)) == R"({"code":500,"message":"internal server error","data":null})");
    CHECK(text.find(e.detail) == std::string::npos);
  }
  CHECK(external.find("hunter2") == std::string::npos);
}

TEST_CASE("envelope: simple envelopes and reason phrases", "[beast][envelope]") {
  CHECK(simpleEnvelope(404, kRouteNotFoundMessage, EnvelopeData::null) ==
        R"({"code":404,"message":"route not found","data":null})");
  CHECK(simpleEnvelope(401, kInvalidTokenMessage, EnvelopeData::empty_object) ==
        R"({"code":401,"message":"invalid token","data":{}})");
  CHECK(simpleEnvelope(429, "quote \" and \\ and \n", EnvelopeData::null) ==
        R"({"code":429,"message":"quote \" and \\ and \n","data":null})");
  for (unsigned status : kResponseStatuses) CHECK(std::string(reasonPhrase(status)) != "Unknown");
}

TEST_CASE("envelope: a directory failure shows exactly directory, reason and status (directory.md §3)",
          "[beast][envelope][directory]") {
  const std::string rejected = errorEnvelope(Error::directoryFailed(
      {"scim", DirectoryFailureReason::rejected, 503, std::chrono::seconds(7)}, "scim token=abc body=secret"));
  CHECK(rejected == R"({"code":400,"message":"external service error","data":{"type":"external_api_error",)"
                    R"("errors":[],"details":{"directory":"scim","reason":"rejected","status":503}}})");
  const std::string timeout =
      errorEnvelope(Error::directoryFailed({"logto", DirectoryFailureReason::timeout, std::nullopt, std::nullopt}, "x"));
  CHECK(timeout == R"({"code":400,"message":"external service error","data":{"type":"external_api_error",)"
                   R"("errors":[],"details":{"directory":"logto","reason":"timeout","status":null}}})");
  CHECK(rejected.find("secret") == std::string::npos);
  CHECK(std::string(toString(DirectoryFailureReason::unreachable)) == "unreachable");
  CHECK(std::string(toString(DirectoryFailureReason::bad_response)) == "bad_response");
}
