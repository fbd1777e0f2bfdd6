// Api: the HTTP semantics of the adapter as plain functions over plain data.
// The server feeds it parsed requests and writes what it returns; tests call
// it directly, without sockets.
#ifndef USERADMIN_BEAST_API_HPP
#define USERADMIN_BEAST_API_HPP

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "useradmin/beast/query.hpp"
#include "useradmin/beast/router.hpp"
#include "useradmin/clock.hpp"
#include "useradmin/domain.hpp"
#include "useradmin/error.hpp"
#include "useradmin/export.hpp"
#include "useradmin/admin_service.hpp"
#include "useradmin/token_verifier.hpp"

namespace useradmin::beast {

class RateLimiter;

/// What the handlers work with. The referenced objects must outlive every
/// Api and Server using them; all are safe for concurrent use.
struct Services {
  AdminService& admin;
  const TokenVerifier& verifier;
  /// The time tokens are verified against.
  const Clock& clock;
};

/// One parsed HTTP request, as views into the server's buffers.
struct ApiRequest {
  std::string_view method;
  /// The raw request-target, e.g. `/api/users/usr%5F1/reactivate?x=1`.
  std::string_view target;
  /// The `Authorization` header value; empty when absent.
  std::string_view authorization;
  /// How many `Authorization` fields the request had (more than one is
  /// refused as unauthenticated).
  unsigned authorization_count = 0;
  std::string_view body;
  /// The id chosen for this request (see chooseRequestId).
  std::string_view request_id;
  std::string_view client_address;
};

/// A response to write. `body` is the serialized envelope; the headers the
/// server adds follow from the other fields: `WWW-Authenticate: Bearer` when
/// `status` is 401, `Allow` when `allow` is not empty, `Retry-After` when
/// `retry_after` > 0.
struct ApiResponse {
  unsigned status = 500;
  std::string body;
  std::string_view allow;
  std::uint32_t retry_after = 0;
  /// The `Content-Type`; empty means `application/json` (every answer but
  /// the metrics text).
  std::string_view content_type;
  /// For the access log only: the authenticated actor, the refusal's reason
  /// code, and the log-only detail of a 500 or an external error.
  std::string actor_id;
  std::string reason;
  std::string detail;
};

/// A request that passed everything decided before the library call
/// (route, authentication, rate limits, body); a worker thread runs it.
struct Call {
  Actor actor;
  PathParams params;
  /// The request body's `reason`, recorded with the audit event.
  std::string note;
  /// The query parameters, for routes with a query parser (already
  /// checked by it); empty otherwise.
  QueryParams query;
};

/// Reads a route's request body into `call`; returns the offending field
/// when the body is refused (answered as 400 validation failed).
using BodyParser = std::optional<FieldError> (*)(std::string_view body, Call& call);
/// Reads a route's query string (the part after `?`, possibly empty) into
/// `call`; returns the offending parameter when it is refused (answered as
/// 400 validation failed).
using QueryParser = std::optional<FieldError> (*)(std::string_view query, Call& call);
/// Runs a route: one call into the library, turned into a response.
using Handler = ApiResponse (*)(const Services& services, const Call& call);
/// What an asynchronous handler calls, exactly once, with the response. It
/// runs on whatever thread completes the library call (the SQLite store's
/// writer), so it must be short and must not throw.
using Respond = std::function<void(ApiResponse)>;
/// A route's handler that does not block on storage: it starts the library
/// call and returns; `respond` gets the response (the same one `Handler`
/// would have returned).
using AsyncHandler = void (*)(const Services& services, Call call, Respond respond);

/// One line of the route table. Every route requires a bearer token.
struct Route {
  /// The HTTP method, e.g. "PATCH".
  std::string_view method;
  /// Relative to the base path, e.g. "/users/{id}/reactivate".
  std::string_view pattern;
  BodyParser parse_body;
  Handler handler;
  /// Null: the query string is ignored (the PATCH routes, as the contract
  /// keeps them).
  QueryParser parse_query = nullptr;
  /// When set, the same call without blocking (see Api::runsAsync).
  AsyncHandler async_handler = nullptr;
};

/// The adapter's route table: `PATCH /users/{id}/reactivate`,
/// `PATCH /users/{id}/suspend`, `PATCH /organizations/{id}/suspend`,
/// `PATCH /organizations/{id}/reactivate`, and the reads `GET /users/{id}`,
/// `GET /users`, `GET /organizations/{id}`, `GET /audit-events`. New endpoints add a line here
/// (and a handler), not a branch in the server.
USERADMIN_API const std::vector<Route>& apiRoutes();

/// The body parser of routes that take the optional `{"reason": "..."}`:
/// empty (or whitespace-only) and `{}` are accepted; `reason` must be a
/// string of at most 500 characters (Unicode code points). Refusals:
/// not JSON or not an object -> key `body`, message `invalid_json`; a key
/// repeated within one object (at any depth) -> key `body`, message
/// `duplicate_key`, value the key; any other
/// key -> key `body`, message `unknown_field`, value the key; `reason` not a
/// string -> key `reason`, message `invalid_type`; too long -> key `reason`,
/// message `too_long`.
USERADMIN_API std::optional<FieldError> parseReasonBody(std::string_view body, Call& call);

/// The outcome of Api::prepare.
struct Prepared {
  /// Set when the request is already decided (404, 405, 401, 429, 400).
  std::optional<ApiResponse> response;
  /// Otherwise the route to run, with its call.
  const Route* route = nullptr;
  Call call;
  /// The route the request matched, also when `response` is already set
  /// (401, 429 per actor, 400); null when routing did not match (or was not
  /// reached). For metrics labels.
  const Route* matched = nullptr;
};

/// The adapter's request semantics over a route table. Immutable after
/// construction (the rate limiters are internally synchronized): safe to use
/// from many threads at once.
class USERADMIN_API Api {
 public:
  /// `routes` must outlive the Api. The limiters are optional (null: off)
  /// and must outlive the Api.
  Api(Services services, std::string_view base_path, const std::vector<Route>& routes = apiRoutes(),
      RateLimiter* per_client = nullptr, RateLimiter* per_actor = nullptr);

  /// Everything that needs no storage, in this order: the client-address
  /// rate limit (429), routing (404 route not found, 405), the bearer token
  /// (401: absent, not `Bearer`, several `Authorization` fields, or refused
  /// by the verifier), the actor rate limit (429), the query string of
  /// routes that read one, then the body (400). Pure CPU;
  /// meant for the I/O thread.
  Prepared prepare(const ApiRequest& request) const;

  /// Runs a prepared call: the route's handler, i.e. the library call, which
  /// may block on storage; meant for a worker thread. Never throws: an
  /// exception becomes a 500.
  ApiResponse execute(const Route& route, const Call& call) const noexcept;

  /// Whether executeAsync runs `route` without blocking the caller: the
  /// route has an asynchronous handler and the library call would not
  /// block (no directory to call, and a store that completes units on its
  /// own thread: AdminService::completesWithoutBlocking).
  /// The server then calls it from its I/O thread instead of a worker.
  bool runsAsync(const Route& route) const noexcept;

  /// execute, with the response delivered to `respond` (exactly once, never
  /// throwing: an exception becomes a 500). Without runsAsync(route) it is
  /// execute on the calling thread.
  void executeAsync(const Route& route, Call call, Respond respond) const noexcept;

  /// prepare, then execute when needed: the whole request synchronously.
  ApiResponse handle(const ApiRequest& request) const;

  const Router& router() const noexcept { return router_; }

 private:
  Services services_;
  Router router_;
  RateLimiter* per_client_;
  RateLimiter* per_actor_;
};

/// The 500 answer: `{"code":500,"message":"internal server error","data":null}`,
/// with `detail` kept for the log.
USERADMIN_API ApiResponse internalErrorResponse(std::string detail);

/// The answer for a library error (status and envelope per §3), with the
/// error's reason and detail kept for the log.
USERADMIN_API ApiResponse errorResponse(const Error& error);

/// `error` as the client sees it for a request with path parameters
/// `params`: the `value` of a field error on a path parameter is what the
/// client sent, i.e. the decoded value when it is valid UTF-8 (the JSON
/// serializer escapes what JSON requires, `\u0000` included), otherwise the
/// segment exactly as it appeared, percent-encoded, in the request path.
USERADMIN_API Error echoPathParameters(Error error, const PathParams& params);

}  // namespace useradmin::beast

#endif  // USERADMIN_BEAST_API_HPP
