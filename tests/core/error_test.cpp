#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "useradmin/error.hpp"
#include "useradmin/result.hpp"

using namespace useradmin;

TEST_CASE("every ErrorCode has a distinct lowercase name", "[error]") {
  std::set<std::string> names;
  for (int i = 0; i < kErrorCodeCount; ++i) {
    const std::string name = toString(static_cast<ErrorCode>(i));
    CHECK_FALSE(name.empty());
    for (char c : name) CHECK(((c >= 'a' && c <= 'z') || c == '_'));
    names.insert(name);
  }
  CHECK(names.size() == static_cast<std::size_t>(kErrorCodeCount));
  CHECK(std::string(toString(ErrorCode::not_found)) == "not_found");
  CHECK(std::string(toString(ErrorCode::failed_precondition)) == "failed_precondition");
}

TEST_CASE("named error constructors carry the contract's client-facing texts", "[error]") {
  CHECK(Error::unauthenticated("expired").message == "invalid token");
  CHECK(Error::unauthenticated("expired").code == ErrorCode::unauthenticated);
  const Error invalid = Error::invalidArgument({"id", "invalid_format", "a b"}, "invalid_id");
  CHECK(invalid.code == ErrorCode::invalid_argument);
  CHECK(invalid.message == "validation failed");
  CHECK(invalid.fields == std::vector<FieldError>{{"id", "invalid_format", "a b"}});
  const Error missing = Error::notFound("usr_1", "no_such_user");
  CHECK(missing.code == ErrorCode::not_found);
  CHECK(missing.message == "user not found");
  CHECK(missing.fields == std::vector<FieldError>{{"id", "not_found", "usr_1"}});
  CHECK(Error::failedPrecondition({"status", "not_suspended", "active"}, "r").message == "validation failed");
  CHECK(Error::permissionDenied("insufficient permissions", "r").code == ErrorCode::permission_denied);
  CHECK(Error::externalError("boom").message == "external service error");
  CHECK(Error::externalError("boom").detail == "boom");
  CHECK(Error::internal("disk").message == "internal server error");
  CHECK(Error::unavailable("busy").code == ErrorCode::unavailable);
}

TEST_CASE("Result holds a value or an error", "[error]") {
  Result<int> ok = 7;
  REQUIRE(ok.has_value());
  CHECK(static_cast<bool>(ok));
  CHECK(*ok == 7);
  Result<int> bad = Error::internal("x");
  CHECK_FALSE(bad.has_value());
  CHECK(bad.error().code == ErrorCode::internal);
  Status fine = okStatus();
  CHECK(fine.has_value());
  Status failed = Error::unavailable("busy");
  REQUIRE_FALSE(failed);
  CHECK(failed.error().detail == "busy");
}
