// Raw bytes as a request-target of the read routes (the query parser and the
// limit/status readers behind GET /users and GET /audit-events). Every answer
// must be what query.hpp promises: a refusal naming the offending parameter
// with a documented message, or parameters that each appear once, are
// allowed, and whose limit and status values round-trip.
#include <set>
#include <string>

#include "fuzz_support.hpp"
#include "useradmin/beast/query.hpp"

using namespace useradmin;

namespace {

constexpr std::initializer_list<std::string_view> kAllowed = {"organization_id", "status", "after", "limit"};

bool allowed(std::string_view name) {
  for (const std::string_view a : kAllowed)
    if (a == name) return true;
  return false;
}

void checkValues(const beast::QueryParams& params) {
  if (const auto limit = params.get("limit")) {
    const auto parsed = beast::parseLimit(*limit);
    const bool digits = !limit->empty() && limit->find_first_not_of("0123456789") == std::string_view::npos;
    fuzz::check(parsed.has_value() == digits, "parseLimit disagrees with 'digits only'", *limit);
  }
  if (const auto status = params.get("status")) {
    const auto parsed = beast::parseStatusFilter(*status);
    if (parsed) fuzz::check(*parsed != UserStatus::deleted, "status filter accepted deleted", *status);
    if (parsed) fuzz::check(*status == toString(*parsed), "status filter accepted a spelling of its own", *status);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target = fuzz::asText(data, size);
  const std::string_view query = beast::queryOf(target);
  fuzz::check(query.size() <= target.size(), "queryOf returned more than the target");

  beast::QueryParams params;
  const auto refused = beast::parseQuery(query, kAllowed, params);
  if (refused) {
    fuzz::check(refused->message == "unknown_parameter" || refused->message == "repeated_parameter",
                "undocumented query refusal", refused->message);
    fuzz::check(!refused->key.empty() || refused->message == "unknown_parameter", "refusal names no parameter");
    for (const char c : refused->key) {
      const auto byte = static_cast<unsigned char>(c);
      fuzz::check(byte >= 0x20 && byte < 0x7F, "refusal key is not printable", refused->key);
    }
    return 0;
  }
  std::set<std::string> seen;
  for (const std::string_view name : kAllowed) {
    if (const auto value = params.get(name)) seen.insert(std::string(name));
  }
  fuzz::check(seen.size() == params.size(), "a parameter is neither allowed nor unique");
  for (const std::string& name : seen) fuzz::check(allowed(name), "accepted an unknown parameter", name);
  checkValues(params);
  const std::string printable = beast::printableQueryText(query);
  for (const char c : printable) {
    const auto byte = static_cast<unsigned char>(c);
    fuzz::check(byte >= 0x20 && byte < 0x7F, "printableQueryText left a raw byte", printable);
  }
  return 0;
}
