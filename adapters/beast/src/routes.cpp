// The route table and its handlers: each handler is one call into the library.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "useradmin/beast/api.hpp"
#include "useradmin/beast/envelope.hpp"

namespace useradmin::beast {

namespace json = boost::json;

namespace {

// The response for a library result: `ok(value)` on success, the error
// envelope (with path parameters echoed as sent) otherwise.
template <class T, class Ok>
ApiResponse respond(const Call& call, const Result<T>& result, Ok ok) {
  ApiResponse response;
  if (result) {
    response.status = 200;
    response.body = ok(*result);
  } else {
    response = errorResponse(echoPathParameters(result.error(), call.params));
  }
  response.actor_id = call.actor.user_id;
  return response;
}

// PATCH {base}/users/{id}/reactivate (contract §3): the contract's six fields.
ApiResponse reactivationResponse(const Call& call, const Result<User>& result) {
  return respond(call, result, [](const User& user) { return userEnvelope(user); });
}

// PATCH {base}/users/{id}/suspend (lifecycle §2): the user view.
ApiResponse suspensionResponse(const Call& call, const Result<User>& result) {
  return respond(call, result, [](const User& user) { return dataEnvelope(kUserSuspendedMessage, userView(user)); });
}

// PATCH {base}/organizations/{id}/suspend (lifecycle §3).
ApiResponse organizationSuspensionResponse(const Call& call, const Result<OrganizationChange>& result) {
  return respond(call, result, [](const OrganizationChange& change) {
    return organizationEnvelope(change.organization, "suspended_users_count", change.changed_user_ids.size(),
                                kOrganizationSuspendedMessage);
  });
}

// PATCH {base}/organizations/{id}/reactivate (lifecycle §4).
ApiResponse organizationReactivationResponse(const Call& call, const Result<OrganizationChange>& result) {
  return respond(call, result, [](const OrganizationChange& change) {
    return organizationEnvelope(change.organization, "reactivated_users_count", change.changed_user_ids.size(),
                                kOrganizationReactivatedMessage);
  });
}

ApiResponse reactivateUserHandler(const Services& services, const Call& call) {
  return reactivationResponse(call, services.admin.reactivateUser(call.actor, call.params.get("id"), call.note));
}

ApiResponse suspendUserHandler(const Services& services, const Call& call) {
  return suspensionResponse(call, services.admin.suspendUser(call.actor, call.params.get("id"), call.note));
}

ApiResponse suspendOrganizationHandler(const Services& services, const Call& call) {
  return organizationSuspensionResponse(
      call, services.admin.suspendOrganization(call.actor, call.params.get("id"), call.note));
}

ApiResponse reactivateOrganizationHandler(const Services& services, const Call& call) {
  return organizationReactivationResponse(
      call, services.admin.reactivateOrganization(call.actor, call.params.get("id"), call.note));
}

// The write routes without blocking on storage: `start` is the service's
// …Async call, and the response is built by `render` where the store
// completes the unit (the SQLite writer, after its COMMIT), then handed to
// `respond`. The same response as the blocking handler's.
template <class T>
using AsyncStart = void (AdminService::*)(Actor, std::string, std::string, std::function<void(Result<T>)>);

template <class T>
void startAsync(const Services& services, Call call, Respond respond, AsyncStart<T> start,
                ApiResponse (*render)(const Call&, const Result<T>&)) {
  auto shared = std::make_shared<Call>(std::move(call));
  std::string id(shared->params.get("id"));
  (services.admin.*start)(shared->actor, std::move(id), shared->note,
                          [shared, render, respond = std::move(respond)](Result<T> result) {
                            ApiResponse response;
                            try {
                              response = render(*shared, result);
                            } catch (...) {
                              response = ApiResponse{};  // a bare 500: out of memory
                            }
                            respond(std::move(response));
                          });
}

void reactivateUserAsyncHandler(const Services& services, Call call, Respond respond) {
  startAsync<User>(services, std::move(call), std::move(respond), &AdminService::reactivateUserAsync,
                   &reactivationResponse);
}

void suspendUserAsyncHandler(const Services& services, Call call, Respond respond) {
  startAsync<User>(services, std::move(call), std::move(respond), &AdminService::suspendUserAsync,
                   &suspensionResponse);
}

void suspendOrganizationAsyncHandler(const Services& services, Call call, Respond respond) {
  startAsync<OrganizationChange>(services, std::move(call), std::move(respond),
                                 &AdminService::suspendOrganizationAsync, &organizationSuspensionResponse);
}

void reactivateOrganizationAsyncHandler(const Services& services, Call call, Respond respond) {
  startAsync<OrganizationChange>(services, std::move(call), std::move(respond),
                                 &AdminService::reactivateOrganizationAsync, &organizationReactivationResponse);
}

// ---- The reads (lifecycle §5) ----

// GET {base}/users/{id}
ApiResponse getUserHandler(const Services& services, const Call& call) {
  return respond(call, services.admin.getUser(call.actor, call.params.get("id")),
                 [](const User& user) { return dataEnvelope(kUserRetrievedMessage, userView(user)); });
}

// GET {base}/users?organization_id=&status=&after=&limit= (values checked by parseUserListQuery).
ApiResponse listUsersHandler(const Services& services, const Call& call) {
  UserListRequest request;
  request.organization_id = call.query.copy("organization_id");
  if (const auto status = call.query.get("status")) request.status = parseStatusFilter(*status);
  request.after = call.query.copy("after");
  if (const auto limit = call.query.get("limit")) request.limit = parseLimit(*limit).value_or(0);
  return respond(call, services.admin.listUsers(call.actor, request), &userPageEnvelope);
}

// GET {base}/organizations/{id}
ApiResponse getOrganizationHandler(const Services& services, const Call& call) {
  return respond(call, services.admin.getOrganization(call.actor, call.params.get("id")), [](const Organization& org) {
    return dataEnvelope(kOrganizationRetrievedMessage, organizationView(org));
  });
}

// GET {base}/audit-events?after=&limit=&target_id=&actor_id=&action= (checked by parseAuditQuery).
ApiResponse auditEventsHandler(const Services& services, const Call& call) {
  AuditRequest request;
  request.target_id = call.query.copy("target_id");
  request.actor_id = call.query.copy("actor_id");
  request.action = call.query.copy("action");
  if (const auto after = call.query.get("after")) request.after = parseAuditCursor(*after);
  if (const auto limit = call.query.get("limit")) request.limit = parseLimit(*limit).value_or(0);
  return respond(call, services.admin.auditEvents(call.actor, request), &auditPageEnvelope);
}

// A parameter whose value the adapter cannot even read as its type.
std::optional<FieldError> unreadable(const QueryParams& q, const char* name, bool (*readable)(std::string_view),
                                     const char* message) {
  const auto value = q.get(name);
  if (!value || readable(*value)) return std::nullopt;
  return FieldError{name, message, printableQueryText(*value)};
}

bool isLimit(std::string_view text) { return parseLimit(text).has_value(); }
bool isStatus(std::string_view text) { return parseStatusFilter(text).has_value(); }
bool isCursor(std::string_view text) { return parseAuditCursor(text).has_value(); }

std::optional<FieldError> parseNoQuery(std::string_view query, Call& call) { return parseQuery(query, {}, call.query); }

std::optional<FieldError> parseUserListQuery(std::string_view query, Call& call) {
  if (auto refused = parseQuery(query, {"organization_id", "status", "after", "limit"}, call.query)) return refused;
  if (auto refused = unreadable(call.query, "status", &isStatus, "invalid_value")) return refused;
  return unreadable(call.query, "limit", &isLimit, "invalid_format");
}

std::optional<FieldError> parseAuditQuery(std::string_view query, Call& call) {
  if (auto refused = parseQuery(query, {"after", "limit", "target_id", "actor_id", "action"}, call.query))
    return refused;
  if (auto refused = unreadable(call.query, "after", &isCursor, "invalid_format")) return refused;
  return unreadable(call.query, "limit", &isLimit, "invalid_format");
}

// At most `max` bytes of `text`, not splitting a UTF-8 sequence.
std::string_view utf8Prefix(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text;
  while (max > 0 && (static_cast<unsigned char>(text[max]) & 0xC0) == 0x80) --max;
  return text.substr(0, max);
}

bool isBlank(std::string_view text) {
  for (const char c : text)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

// A JSON event handler that only watches object keys: it stops at the first
// key repeated within one object. boost::json::parse keeps the last of
// duplicate keys silently, so a body like {"reason":5,"reason":"x"} would
// otherwise mean whatever the last writer says (the token parser refuses
// them for the same reason).
class DuplicateKeyFinder {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  std::optional<std::string> duplicate;

  bool on_object_begin(boost::system::error_code&) {
    open_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    open_.pop_back();
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, boost::system::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, boost::system::error_code& ec) {
    key_.append(s.data(), s.size());
    std::vector<std::string>& seen = open_.back();
    for (const auto& k : seen) {
      if (k == key_) {
        duplicate = key_;
        ec = json::error::syntax;  // stops the parser; `duplicate` says why
        return false;
      }
    }
    seen.push_back(std::move(key_));
    key_.clear();
    return true;
  }
  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t, boost::system::error_code&) { return true; }
  bool on_string_part(json::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) { return true; }
  bool on_double(double, json::string_view, boost::system::error_code&) { return true; }
  bool on_bool(bool, boost::system::error_code&) { return true; }
  bool on_null(boost::system::error_code&) { return true; }
  bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(json::string_view, boost::system::error_code&) { return true; }

 private:
  std::vector<std::vector<std::string>> open_;  // keys of each object being read
  std::string key_;
};

// The first key repeated within one object of `body` (already known to be
// valid JSON), at any depth.
std::optional<std::string> duplicateKey(std::string_view body, const json::parse_options& options) {
  json::basic_parser<DuplicateKeyFinder> parser(options);
  boost::system::error_code ec;
  parser.write_some(false, body.data(), body.size(), ec);
  return std::move(parser.handler().duplicate);
}

// `raw` as a client would have to write it: a path segment may carry bytes
// that were never percent-encoded (obs-text), and echoing those would put
// invalid UTF-8 into the JSON body, so they are encoded here; what the
// client did encode stays exactly as it was sent.
std::string percentEncodedSegment(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (const char c : raw) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte > 0x20 && byte < 0x7F) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0F]);
    }
  }
  return out;
}

}  // namespace

Error echoPathParameters(Error error, const PathParams& params) {
  for (FieldError& field : error.fields) {
    const std::string_view raw = params.raw(field.key);
    if (raw.empty()) continue;
    const std::string_view decoded = params.get(field.key);
    field.value = isValidUtf8(decoded) ? std::string(decoded) : percentEncodedSegment(raw);
  }
  return error;
}

std::optional<FieldError> parseReasonBody(std::string_view body, Call& call) {
  if (isBlank(body)) return std::nullopt;
  unsigned char arena[4096];
  json::monotonic_resource mr(arena, sizeof arena);
  json::parse_options options;
  options.max_depth = 4;
  boost::system::error_code ec;
  json::value parsed = json::parse(json::string_view(body.data(), body.size()), ec, &mr, options);
  if (ec || !parsed.is_object()) return FieldError{"body", "invalid_json", ""};
  if (auto repeated = duplicateKey(body, options)) {
    return FieldError{"body", "duplicate_key", std::string(utf8Prefix(*repeated, 64))};
  }
  for (const auto& entry : parsed.get_object()) {
    const std::string_view key(entry.key().data(), entry.key().size());
    if (key != "reason") return FieldError{"body", "unknown_field", std::string(utf8Prefix(key, 64))};
    if (!entry.value().is_string()) return FieldError{"reason", "invalid_type", ""};
    const json::string& reason = entry.value().get_string();
    const std::string_view text(reason.data(), reason.size());
    if (codePointCount(text) > kMaxNoteLength) return FieldError{"reason", "too_long", ""};
    call.note.assign(text);
  }
  return std::nullopt;
}

const std::vector<Route>& apiRoutes() {
  static const std::vector<Route> routes = {
      // method  pattern                            body parser        handler
      {"PATCH", "/users/{id}/reactivate", &parseReasonBody, &reactivateUserHandler, nullptr,
       &reactivateUserAsyncHandler},
      {"PATCH", "/users/{id}/suspend", &parseReasonBody, &suspendUserHandler, nullptr, &suspendUserAsyncHandler},
      {"PATCH", "/organizations/{id}/suspend", &parseReasonBody, &suspendOrganizationHandler, nullptr,
       &suspendOrganizationAsyncHandler},
      {"PATCH", "/organizations/{id}/reactivate", &parseReasonBody, &reactivateOrganizationHandler, nullptr,
       &reactivateOrganizationAsyncHandler},
      // The reads take no body, and refuse a query parameter they do not know.
      {"GET", "/users/{id}", nullptr, &getUserHandler, &parseNoQuery},
      {"GET", "/users", nullptr, &listUsersHandler, &parseUserListQuery},
      {"GET", "/organizations/{id}", nullptr, &getOrganizationHandler, &parseNoQuery},
      {"GET", "/audit-events", nullptr, &auditEventsHandler, &parseAuditQuery},
  };
  return routes;
}

}  // namespace useradmin::beast
