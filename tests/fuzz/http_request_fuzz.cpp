// Raw bytes as what a client sends on one connection: Beast's request parser
// reads request after request from the buffer (pipelining), each one goes
// through Api::handle over a freshly seeded memory store and an HS256
// verifier, no sockets, with the request id chosen as the server does. Every
// response must be one the contract documents, with a JSON envelope whose
// `code` equals the status.
#include <memory>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "fuzz_support.hpp"
#include "useradmin/authorizer.hpp"
#include "useradmin/beast/api.hpp"
#include "useradmin/beast/envelope.hpp"
#include "useradmin/beast/request_id.hpp"
#include "useradmin/beast/server.hpp"
#include "useradmin/fixture.hpp"
#include "useradmin/jwt/jwt_verifier.hpp"
#include "useradmin/memory_store.hpp"
#include "useradmin/policy.hpp"
#include "useradmin/reactivation_service.hpp"

namespace {

using namespace useradmin;
namespace http = boost::beast::http;
namespace json = boost::json;

// The personas the committed requests' tokens name (tests/fuzz/corpus/http_request).
constexpr std::string_view kFixture = R"({
  "organizations": [
    {"id": "org_owner", "name": "HQ", "type": "owner"},
    {"id": "org_d1", "name": "North", "type": "distributor", "parent_id": "org_owner"},
    {"id": "org_r1", "name": "Reseller", "type": "reseller", "parent_id": "org_d1"},
    {"id": "org_c1", "name": "Customer", "type": "customer", "parent_id": "org_r1"}],
  "users": [
    {"id": "usr_root", "username": "root", "email": "root@example.com", "organization_id": "org_owner",
     "roles": ["super"], "status": "active"},
    {"id": "usr_admin", "username": "admin", "email": "admin@example.com", "organization_id": "org_d1",
     "roles": ["admin"], "status": "active"},
    {"id": "usr_support", "username": "support", "email": "support@example.com", "organization_id": "org_c1",
     "roles": ["support"], "status": "active"},
    {"id": "usr_123456789", "username": "jdoe", "email": "jdoe@example.com", "organization_id": "org_c1",
     "roles": ["support"], "status": "suspended", "suspended_by_org_id": "org_d1"},
    {"id": "usr_reseller", "username": "res", "email": "res@example.com", "organization_id": "org_r1",
     "roles": ["admin"], "status": "suspended", "suspended_by_org_id": "org_owner"},
    {"id": "usr_gone", "username": "gone", "email": "gone@example.com", "organization_id": "org_c1",
     "roles": [], "status": "deleted"}]})";

// Requests one input may hold; bounds the work per input.
constexpr int kMaxRequests = 16;

const Dataset& dataset() {
  static const Dataset data = [] {
    auto loaded = loadFixture(kFixture, defaultPolicy(), fuzz::fuzzNow());
    if (!loaded) fuzz::fail("the harness's fixture is refused", loaded.error().reason);
    return std::move(loaded).value();
  }();
  return data;
}

const TokenVerifier& verifier() {
  static const std::unique_ptr<TokenVerifier> instance = [] {
    JwtVerifierOptions options;
    options.keys.push_back(JwtKeySource::hs256Secret(std::string(fuzz::kHs256Secret)));
    auto made = makeJwtVerifier(options);
    if (!made) fuzz::fail("the harness's verifier options are refused", made.error().detail);
    return std::move(made).value();
  }();
  return *instance;
}

// One connection's server side: state starts fresh for every input, so a
// finding replays from its input alone.
struct Connection {
  fuzz::FixedClock clock;
  std::unique_ptr<UserStore> store = makeMemoryStore(defaultPolicy());
  std::unique_ptr<Authorizer> authorizer = makePolicyAuthorizer(defaultPolicy());
  AdminService service{{*store, *authorizer, clock, nullptr}};
  beast::Api api{beast::Services{service, verifier(), clock}, "/api"};

  Connection() {
    if (!store->seed(dataset())) fuzz::fail("the harness's fixture does not seed");
  }
};

// A 200's data is the shape its message announces: a user in the state the
// operation leaves it in, an organization with its cascade count, or a page.
void checkSuccess(std::string_view message, const json::value& data, std::string_view body) {
  fuzz::check(data.is_object(), "200 data is not an object", body);
  const json::object& object = data.as_object();
  auto has = [&](std::string_view key) { return object.contains(key); };
  if (message == "user reactivated successfully")
    fuzz::check(has("id") && object.at("status") == "active", "reactivation left no active user", body);
  else if (message == "user suspended successfully")
    fuzz::check(has("id") && object.at("status") == "suspended", "suspension left no suspended user", body);
  else if (message == "organization suspended successfully")
    fuzz::check(has("id") && has("suspended_users_count") && object.at("suspended") == true,
                "organization suspension without its count", body);
  else if (message == "organization reactivated successfully")
    fuzz::check(has("id") && has("reactivated_users_count") && object.at("suspended") == false,
                "organization reactivation without its count", body);
  else if (message == "user retrieved successfully" || message == "organization retrieved successfully")
    fuzz::check(has("id"), "a read without an id", body);
  else if (message == "users retrieved successfully")
    fuzz::check(has("users") && has("next_after"), "a user page without users or next_after", body);
  else if (message == "audit events retrieved successfully")
    fuzz::check(has("events") && has("next_after"), "an audit page without events or next_after", body);
  else
    fuzz::fail("a 200 with an undocumented message", body);
}

bool documented(unsigned status) {
  for (const unsigned s : beast::kResponseStatuses)
    if (s == status) return true;
  return false;
}

void checkResponse(const beast::ApiResponse& response) {
  fuzz::check(documented(response.status), "undocumented status", std::to_string(response.status));
  fuzz::check(response.status != 500, "internal error on a healthy memory store", response.detail);
  boost::system::error_code ec;
  const json::value body = json::parse(response.body, ec);
  fuzz::check(!ec && body.is_object() && body.as_object().size() == 3, "the body is not an envelope", response.body);
  const json::object& envelope = body.as_object();
  const json::value* code = envelope.if_contains("code");
  const json::value* message = envelope.if_contains("message");
  fuzz::check(code != nullptr && code->is_int64() && code->as_int64() == response.status,
              "the envelope's code is not the status", response.body);
  fuzz::check(message != nullptr && message->is_string() && !message->as_string().empty(),
              "the envelope has no message", response.body);
  const json::value* data = envelope.if_contains("data");
  fuzz::check(data != nullptr, "the envelope has no data", response.body);
  if (response.status == 401) fuzz::check(data->is_object() && data->as_object().empty(), "401 data is not {}");
  if (response.status == 405) fuzz::check(!response.allow.empty(), "405 without Allow");
  if (response.status == 200) checkSuccess(message->as_string(), *data, response.body);
  fuzz::check(response.retry_after == 0 || response.status == 429, "Retry-After outside a 429");
}

std::string_view field(const http::request<http::string_body>& message, std::string_view name) {
  const auto found = message.find(boost::beast::string_view(name.data(), name.size()));
  return found == message.end() ? std::string_view() : std::string_view(found->value().data(), found->value().size());
}

void handle(const Connection& connection, const http::request<http::string_body>& message) {
  beast::ApiRequest request;
  const auto method = message.method_string();
  request.method = {method.data(), method.size()};
  const auto target = message.target();
  request.target = {target.data(), target.size()};
  request.authorization = field(message, "Authorization");
  request.authorization_count = static_cast<unsigned>(message.count(http::field::authorization));
  request.body = message.body();
  const std::string request_id = beast::chooseRequestId(field(message, "X-Request-Id"));
  fuzz::check(beast::isSaneRequestId(request_id), "the chosen request id is not sane", request_id);
  request.request_id = request_id;
  request.client_address = "192.0.2.1";
  checkResponse(connection.api.handle(request));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest = fuzz::asText(data, size);
  const beast::ServerOptions limits;
  const Connection connection;
  for (int n = 0; n < kMaxRequests && !rest.empty(); ++n) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(limits.max_header_bytes);
    parser.body_limit(limits.max_body_bytes);
    parser.eager(true);
    boost::beast::error_code ec;
    while (!parser.is_done() && !rest.empty()) {
      const std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(used);
      if (ec == http::error::need_more && used > 0) ec = {};
      if (ec) break;
    }
    // The server answers a malformed or oversized request itself and
    // closes; a request cut short has nobody left to answer.
    if (!parser.is_done()) return 0;
    handle(connection, parser.get());
  }
  return 0;
}
