// Strict query-string parsing of the GET routes, as pure functions.
#include <catch2/catch.hpp>

#include "useradmin/beast/query.hpp"

using namespace useradmin;
using namespace useradmin::beast;

namespace {

std::optional<FieldError> parse(std::string_view query, QueryParams& out) {
  return parseQuery(query, {"status", "limit", "after"}, out);
}

}  // namespace

TEST_CASE("query: known parameters are decoded, empty pieces skipped", "[beast][query]") {
  QueryParams q;
  CHECK_FALSE(parse("status=suspended&&limit=%31%30&after=usr%5F1&", q));
  CHECK(q.size() == 3);
  CHECK(q.get("status") == std::string_view("suspended"));
  CHECK(q.get("limit") == std::string_view("10"));
  CHECK(q.get("after") == std::string_view("usr_1"));
  CHECK_FALSE(q.get("missing"));
  QueryParams bare;
  CHECK_FALSE(parse("after", bare));
  CHECK(bare.get("after") == std::string_view(""));
  QueryParams none;
  CHECK_FALSE(parse("", none));
  CHECK(none.size() == 0);
}

TEST_CASE("query: '+' is a literal plus, not a space", "[beast][query]") {
  QueryParams q;
  CHECK_FALSE(parse("after=a+b", q));
  CHECK(q.get("after") == std::string_view("a+b"));
}

TEST_CASE("query: unknown and repeated parameters are refused by name", "[beast][query]") {
  QueryParams q;
  CHECK(parse("status=active&offset=10", q) == FieldError{"offset", "unknown_parameter", ""});
  QueryParams r;
  CHECK(parse("limit=1&limit=2", r) == FieldError{"limit", "repeated_parameter", ""});
  QueryParams encoded;  // a repetition hidden by percent-encoding is still one
  CHECK(parse("limit=1&%6Cimit=2", encoded) == FieldError{"limit", "repeated_parameter", ""});
  QueryParams odd;
  CHECK(parse("st%00atus=x", odd) == FieldError{"st\\x00atus", "unknown_parameter", ""});
  QueryParams cased;
  CHECK(parse("Status=active", cased) == FieldError{"Status", "unknown_parameter", ""});
}

TEST_CASE("query: limit, status and the query part of a target", "[beast][query]") {
  CHECK(parseLimit("100") == std::size_t{100});
  CHECK(parseLimit("0") == std::size_t{0});
  CHECK(parseLimit("99999999999999999999999") == SIZE_MAX);
  for (const char* bad : {"", "-1", "+1", "1.5", " 1", "1 ", "ten", "0x10"}) {
    INFO(bad);
    CHECK_FALSE(parseLimit(bad));
  }
  CHECK(parseStatusFilter("active") == UserStatus::active);
  CHECK(parseStatusFilter("suspended") == UserStatus::suspended);
  CHECK_FALSE(parseStatusFilter("deleted"));
  CHECK_FALSE(parseStatusFilter("Active"));
  CHECK(queryOf("/api/users?limit=1#frag") == "limit=1");
  CHECK(queryOf("/api/users") == "");
  CHECK(queryOf("/api/users?") == "");
}
