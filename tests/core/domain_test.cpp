#include <catch2/catch.hpp>

#include "useradmin/domain.hpp"

using namespace useradmin;

TEST_CASE("isValidId accepts 1-128 RFC 3986 unreserved characters only", "[domain]") {
  CHECK(isValidId("usr_123456789"));
  CHECK(isValidId("A-z.0_9~"));
  CHECK(isValidId(std::string(128, 'x')));
  CHECK_FALSE(isValidId(""));
  CHECK_FALSE(isValidId(std::string(129, 'x')));
  for (const char* bad : {"a b", "a/b", "a%20", "a+b", "a:b", "a@b", "\xC3\xA9", "a?b", "a#b"}) {
    INFO(bad);
    CHECK_FALSE(isValidId(bad));
  }
  CHECK_FALSE(isValidId(std::string("a\0b", 3)));
}

TEST_CASE("RFC 3339 timestamps parse and format in UTC", "[domain]") {
  const auto t = parseRfc3339("2026-11-01T10:00:00Z");
  REQUIRE(t);
  CHECK(toMillis(*t) == 1793527200000);
  CHECK(formatRfc3339(*t) == "2026-11-01T10:00:00Z");
  CHECK(formatRfc3339(*t + std::chrono::milliseconds(5)) == "2026-11-01T10:00:00.005Z");
  CHECK(parseRfc3339("2026-11-01T12:30:00+02:30") == *t);
  CHECK(parseRfc3339("2026-11-01T10:00:00.25Z") == *t + std::chrono::milliseconds(250));
  CHECK(parseRfc3339("1970-01-01T00:00:00Z") == timestampFromMillis(0));
  CHECK(parseRfc3339("2024-02-29T00:00:00Z"));
  for (const char* bad : {"", "2026-11-01", "2026-11-01 10:00:00Z", "2026-13-01T10:00:00Z", "2025-02-29T00:00:00Z",
                          "2026-11-01T24:00:00Z", "2026-11-01T10:00:00", "2026-11-01T10:00:00Zjunk",
                          "2026-11-01T10:00:00.Z"}) {
    INFO(bad);
    CHECK_FALSE(parseRfc3339(bad));
  }
}

TEST_CASE("organization types and user statuses round-trip through their names", "[domain]") {
  for (OrgType t : {OrgType::owner, OrgType::distributor, OrgType::reseller, OrgType::customer})
    CHECK(parseOrgType(toString(t)) == t);
  for (UserStatus s : {UserStatus::active, UserStatus::suspended, UserStatus::deleted})
    CHECK(parseUserStatus(toString(s)) == s);
  CHECK_FALSE(parseOrgType("Owner"));
  CHECK_FALSE(parseUserStatus("disabled"));
}
