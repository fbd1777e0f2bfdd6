#include "useradmin/beast/api.hpp"

#include <chrono>
#include <exception>
#include <utility>

#include "useradmin/beast/envelope.hpp"
#include "useradmin/beast/rate_limiter.hpp"

namespace useradmin::beast {

namespace {

// The constant bodies are serialized once.
const std::string& routeNotFoundBody() {
  static const std::string body = simpleEnvelope(404, kRouteNotFoundMessage, EnvelopeData::null);
  return body;
}
const std::string& methodNotAllowedBody() {
  static const std::string body = simpleEnvelope(405, kMethodNotAllowedMessage, EnvelopeData::null);
  return body;
}
const std::string& invalidTokenBody() {
  static const std::string body = simpleEnvelope(401, kInvalidTokenMessage, EnvelopeData::empty_object);
  return body;
}
const std::string& tooManyRequestsBody() {
  static const std::string body = simpleEnvelope(429, kTooManyRequestsMessage, EnvelopeData::null);
  return body;
}
const std::string& internalErrorBody() {
  static const std::string body = simpleEnvelope(500, kInternalErrorMessage, EnvelopeData::null);
  return body;
}

ApiResponse unauthenticated(std::string reason, std::string detail = {}) {
  ApiResponse response;
  response.status = 401;
  response.body = invalidTokenBody();
  response.reason = std::move(reason);
  response.detail = std::move(detail);
  return response;
}

ApiResponse tooManyRequests(std::uint32_t retry_after, const char* reason) {
  ApiResponse response;
  response.status = 429;
  response.body = tooManyRequestsBody();
  response.retry_after = retry_after;
  response.reason = reason;
  return response;
}

// 400 validation failed for a request the adapter refuses by itself.
ApiResponse refusedRequest(FieldError field, const Call& call, const char* reason) {
  ApiResponse response;
  response.status = 400;
  response.body = validationEnvelope({std::move(field)});
  response.actor_id = call.actor.user_id;
  response.reason = reason;
  return response;
}

bool isSpace(char c) { return c == ' ' || c == '\t'; }

// RFC 6750 §2.1: `Bearer` (any case) then one or more spaces then the token.
// Returns false when the scheme is not Bearer; `token` may come back empty.
bool bearerToken(std::string_view value, std::string_view& token) {
  while (!value.empty() && isSpace(value.front())) value.remove_prefix(1);
  while (!value.empty() && isSpace(value.back())) value.remove_suffix(1);
  constexpr std::string_view kScheme = "bearer";
  if (value.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    char c = value[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return false;
  }
  value.remove_prefix(kScheme.size());
  if (!value.empty() && !isSpace(value.front())) return false;  // e.g. "Bearerx"
  while (!value.empty() && isSpace(value.front())) value.remove_prefix(1);
  token = value;
  return true;
}

}  // namespace

ApiResponse internalErrorResponse(std::string detail) {
  ApiResponse response;
  response.status = 500;
  response.body = internalErrorBody();
  response.reason = "internal";
  response.detail = std::move(detail);
  return response;
}

ApiResponse errorResponse(const Error& error) {
  ApiResponse response;
  response.status = httpStatus(error.code);
  response.body = errorEnvelope(error);
  response.reason = error.reason.empty() ? toString(error.code) : error.reason;
  response.detail = error.detail;
  return response;
}

Api::Api(Services services, std::string_view base_path, const std::vector<Route>& routes, RateLimiter* per_client,
         RateLimiter* per_actor)
    : services_(services), router_(base_path, routes), per_client_(per_client), per_actor_(per_actor) {}

Prepared Api::prepare(const ApiRequest& request) const {
  Prepared out;
  // API4: the per-address limit comes first, so floods cost no routing or
  // signature checks.
  if (per_client_ != nullptr) {
    const RateDecision decision = per_client_->acquire(request.client_address, RateLimiter::Clock::now());
    if (!decision.allowed) {
      out.response = tooManyRequests(decision.retry_after_seconds, "rate_limited_client");
      return out;
    }
  }

  RouteMatch match = router_.match(request.method, request.target);
  switch (match.kind) {
    case RouteMatch::Kind::found: out.matched = match.route; break;
    case RouteMatch::Kind::not_found: {
      ApiResponse& response = out.response.emplace();
      response.status = 404;
      response.body = routeNotFoundBody();
      response.reason = "route_not_found";
      return out;
    }
    case RouteMatch::Kind::method_not_allowed: {
      ApiResponse& response = out.response.emplace();
      response.status = 405;
      response.body = methodNotAllowedBody();
      response.allow = match.allow;
      response.reason = "method_not_allowed";
      return out;
    }
  }

  // Authentication (contract §3: every cause is a 401 with WWW-Authenticate).
  if (request.authorization_count == 0) {
    out.response = unauthenticated("missing_credentials");
    return out;
  }
  if (request.authorization_count > 1) {
    out.response = unauthenticated("multiple_authorization_headers");
    return out;
  }
  std::string_view token;
  if (!bearerToken(request.authorization, token)) {
    out.response = unauthenticated("not_bearer");
    return out;
  }
  if (token.empty()) {
    out.response = unauthenticated("missing_token");
    return out;
  }
  auto verified = services_.verifier.verify(token, services_.clock.now());
  if (!verified) {
    out.response = unauthenticated(verified.error().reason, verified.error().detail);
    return out;
  }

  if (per_actor_ != nullptr) {
    const RateDecision decision = per_actor_->acquire(verified->subject, RateLimiter::Clock::now());
    if (!decision.allowed) {
      out.response = tooManyRequests(decision.retry_after_seconds, "rate_limited_actor");
      out.response->actor_id = verified->subject;
      return out;
    }
  }

  Call& call = out.call;
  call.actor.user_id = std::move(verified->subject);
  call.actor.credential_issued_at = verified->issued_at;
  call.actor.scopes = std::move(verified->scopes);
  call.actor.request_id = std::string(request.request_id);
  call.actor.client_address = std::string(request.client_address);
  call.params = std::move(match.params);
  if (match.route->parse_query != nullptr) {
    if (auto refused = match.route->parse_query(queryOf(request.target), call)) {
      out.response = refusedRequest(std::move(*refused), call, "invalid_query");
      return out;
    }
  }
  if (match.route->parse_body != nullptr) {
    if (auto refused = match.route->parse_body(request.body, call)) {
      out.response = refusedRequest(std::move(*refused), call, "invalid_body");
      return out;
    }
  }
  out.route = match.route;
  return out;
}

ApiResponse Api::execute(const Route& route, const Call& call) const noexcept {
  try {
    return route.handler(services_, call);
  } catch (const std::exception& e) {
    try {
      return internalErrorResponse(std::string("handler threw: ") + e.what());
    } catch (...) {
    }
  } catch (...) {
  }
  // Out of memory while reporting: the plainest possible answer.
  ApiResponse response;
  response.status = 500;
  return response;
}

bool Api::runsAsync(const Route& route) const noexcept {
  return route.async_handler != nullptr && services_.admin.completesWithoutBlocking();
}

void Api::executeAsync(const Route& route, Call call, Respond respond) const noexcept {
  if (!runsAsync(route)) {
    ApiResponse response = execute(route, call);
    try {
      respond(std::move(response));
    } catch (...) {
    }
    return;
  }
  try {
    route.async_handler(services_, std::move(call), respond);
    return;
  } catch (const std::exception& e) {
    // Thrown before the library call was started (allocation): answer here.
    try {
      respond(internalErrorResponse(std::string("handler threw: ") + e.what()));
      return;
    } catch (...) {
    }
  } catch (...) {
  }
  try {
    ApiResponse response;
    response.status = 500;
    respond(std::move(response));
  } catch (...) {
  }
}

ApiResponse Api::handle(const ApiRequest& request) const {
  Prepared prepared = prepare(request);
  if (prepared.response) return std::move(*prepared.response);
  return execute(*prepared.route, prepared.call);
}

}  // namespace useradmin::beast
