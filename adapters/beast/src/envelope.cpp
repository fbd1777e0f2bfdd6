#include "useradmin/beast/envelope.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace useradmin::beast {

namespace json = boost::json;

namespace {

// Envelopes are small: building them in a stack buffer makes the JSON tree
// allocation-free; only the serialized string is allocated.
constexpr std::size_t kArenaBytes = 2048;

json::object makeEnvelope(unsigned code, std::string_view message, const json::storage_ptr& sp) {
  json::object envelope(sp);
  envelope.reserve(3);
  envelope.emplace("code", code);
  envelope.emplace("message", json::string_view(message.data(), message.size()));
  envelope.emplace("data", nullptr);
  return envelope;
}

json::string_view jsv(std::string_view s) { return {s.data(), s.size()}; }

json::value optionalText(const std::optional<std::string>& text, const json::storage_ptr& sp) {
  if (!text) return json::value(nullptr, sp);
  return json::value(jsv(*text), sp);
}

json::value optionalTime(const std::optional<Timestamp>& time, const json::storage_ptr& sp) {
  if (!time) return json::value(nullptr, sp);
  return json::value(jsv(formatRfc3339(*time)), sp);
}

void setValidationData(json::object& envelope, const std::vector<FieldError>& errors, const json::storage_ptr& sp) {
  json::object data(sp);
  data.emplace("type", "validation_error");
  json::array list(sp);
  list.reserve(errors.size());
  for (const FieldError& field : errors) {
    json::object entry(sp);
    entry.reserve(3);
    entry.emplace("key", jsv(field.key));
    entry.emplace("message", jsv(field.message));
    entry.emplace("value", jsv(field.value));
    list.emplace_back(std::move(entry));
  }
  data.emplace("errors", std::move(list));
  envelope["data"] = std::move(data);
}

// directory.md §3: `{"directory","reason","status"}` from the structured
// failure only; `{}` for an embedder's hook that gave none. Error::detail
// (free text) never reaches the client.
json::object directoryDetails(const std::optional<DirectoryFailure>& failure, const json::storage_ptr& sp) {
  json::object details(sp);
  if (!failure) return details;
  details.reserve(3);
  details.emplace("directory", jsv(failure->directory));
  details.emplace("reason", toString(failure->reason));
  if (failure->http_status)
    details.emplace("status", *failure->http_status);
  else
    details.emplace("status", nullptr);
  return details;
}

}  // namespace

unsigned httpStatus(ErrorCode code) noexcept {
  // No default: adding an ErrorCode without a mapping is a compile warning
  // (an error in our builds).
  switch (code) {
    case ErrorCode::unauthenticated: return 401;
    case ErrorCode::invalid_argument: return 400;
    case ErrorCode::permission_denied: return 403;
    case ErrorCode::not_found: return 404;
    case ErrorCode::failed_precondition: return 400;
    case ErrorCode::external_error: return 400;
    case ErrorCode::unavailable: return 500;
    case ErrorCode::internal: return 500;
  }
  return 500;  // unreachable for valid enumerators
}

const char* reasonPhrase(unsigned status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::string simpleEnvelope(unsigned code, std::string_view message, EnvelopeData data) {
  unsigned char arena[kArenaBytes];
  json::monotonic_resource mr(arena, sizeof arena);
  json::storage_ptr sp(&mr);
  json::object envelope = makeEnvelope(code, message, sp);
  if (data == EnvelopeData::empty_object) envelope["data"] = json::object(sp);
  return json::serialize(envelope);
}

std::string validationEnvelope(const std::vector<FieldError>& errors) {
  unsigned char arena[kArenaBytes];
  json::monotonic_resource mr(arena, sizeof arena);
  json::storage_ptr sp(&mr);
  json::object envelope = makeEnvelope(400, kValidationFailedMessage, sp);
  setValidationData(envelope, errors, sp);
  return json::serialize(envelope);
}

std::string errorEnvelope(const Error& error) {
  unsigned char arena[kArenaBytes];
  json::monotonic_resource mr(arena, sizeof arena);
  json::storage_ptr sp(&mr);
  const unsigned status = httpStatus(error.code);
  // Each message is fixed by the contract except the 403 texts of §2.
  switch (error.code) {
    case ErrorCode::unauthenticated: return simpleEnvelope(status, kInvalidTokenMessage, EnvelopeData::empty_object);
    case ErrorCode::invalid_argument:
    case ErrorCode::failed_precondition: return validationEnvelope(error.fields);
    case ErrorCode::permission_denied:
      return simpleEnvelope(status, error.message.empty() ? std::string_view("insufficient permissions") : error.message,
                            EnvelopeData::empty_object);
    case ErrorCode::not_found: {
      json::object envelope =
          makeEnvelope(status, error.message.empty() ? std::string_view("user not found") : error.message, sp);
      setValidationData(envelope, error.fields, sp);
      return json::serialize(envelope);
    }
    case ErrorCode::external_error: {
      json::object envelope = makeEnvelope(status, "external service error", sp);
      json::object data(sp);
      data.emplace("type", "external_api_error");
      data.emplace("errors", json::array(sp));
      data.emplace("details", directoryDetails(error.directory_failure, sp));
      envelope["data"] = std::move(data);
      return json::serialize(envelope);
    }
    case ErrorCode::unavailable:
    case ErrorCode::internal: return simpleEnvelope(status, kInternalErrorMessage, EnvelopeData::null);
  }
  return simpleEnvelope(500, kInternalErrorMessage, EnvelopeData::null);
}

std::string userEnvelope(const User& user, std::string_view message) {
  unsigned char arena[kArenaBytes];
  json::monotonic_resource mr(arena, sizeof arena);
  json::storage_ptr sp(&mr);
  json::object envelope = makeEnvelope(200, message, sp);
  json::object data(sp);
  data.reserve(6);
  data.emplace("id", jsv(user.id));
  data.emplace("username", jsv(user.username));
  data.emplace("email", jsv(user.email));
  data.emplace("organization_id", jsv(user.organization_id));
  data.emplace("status", toString(user.status));
  const std::string updated = formatRfc3339(user.updated_at);
  data.emplace("updated_at", jsv(updated));
  envelope["data"] = std::move(data);
  return json::serialize(envelope);
}

}  // namespace useradmin::beast

namespace useradmin::beast {

json::object userView(const User& user, const json::storage_ptr& sp) {
  json::object view(sp);
  view.reserve(13);
  view.emplace("id", jsv(user.id));
  view.emplace("username", jsv(user.username));
  view.emplace("email", jsv(user.email));
  view.emplace("name", jsv(user.name));
  view.emplace("organization_id", jsv(user.organization_id));
  json::array roles(sp);
  for (const auto& role : user.roles) roles.emplace_back(jsv(role));
  view.emplace("roles", std::move(roles));
  view.emplace("status", toString(user.status));
  view.emplace("suspended_at", optionalTime(user.suspended_at, sp));
  view.emplace("suspended_by", optionalText(user.suspended_by, sp));
  view.emplace("suspended_by_org_id", optionalText(user.suspended_by_org_id, sp));
  view.emplace("tokens_valid_after", optionalTime(user.tokens_valid_after, sp));
  view.emplace("updated_at", jsv(formatRfc3339(user.updated_at)));
  view.emplace("version", user.version);
  return view;
}

json::object organizationView(const Organization& org, const json::storage_ptr& sp) {
  json::object view(sp);
  view.reserve(9);
  view.emplace("id", jsv(org.id));
  view.emplace("name", jsv(org.name));
  view.emplace("type", toString(org.type));
  view.emplace("parent_id", optionalText(org.parent_id, sp));
  view.emplace("suspended", org.suspended);
  view.emplace("suspended_at", optionalTime(org.suspended_at, sp));
  view.emplace("suspended_by", optionalText(org.suspended_by, sp));
  view.emplace("updated_at", jsv(formatRfc3339(org.updated_at)));
  return view;
}

std::string dataEnvelope(std::string_view message, json::object data) {
  json::object envelope = makeEnvelope(200, message, data.storage());
  envelope["data"] = std::move(data);
  return json::serialize(envelope);
}

std::string organizationEnvelope(const Organization& org, std::string_view count_key, std::size_t count,
                                 std::string_view message) {
  unsigned char arena[kArenaBytes];
  json::monotonic_resource mr(arena, sizeof arena);
  json::storage_ptr sp(&mr);
  json::object data = organizationView(org, sp);
  data.emplace(jsv(count_key), static_cast<std::uint64_t>(count));
  return dataEnvelope(message, std::move(data));
}

json::object auditEventView(const AuditEvent& event, const json::storage_ptr& sp) {
  json::object view(sp);
  view.reserve(13);
  view.emplace("id", event.id);
  view.emplace("cursor", jsv(formatAuditCursor(event.cursor)));
  view.emplace("time", jsv(formatRfc3339(event.time)));
  view.emplace("action", jsv(event.action));
  view.emplace("actor_id", jsv(event.actor_id));
  view.emplace("target_type", jsv(event.target_type));
  view.emplace("target_id", jsv(event.target_id));
  view.emplace("target_organization_id", optionalText(event.target_organization_id, sp));
  view.emplace("outcome", jsv(event.outcome));
  view.emplace("reason", jsv(event.reason));
  view.emplace("request_id", jsv(event.request_id));
  view.emplace("client_address", jsv(event.client_address));
  view.emplace("note", jsv(event.note));
  return view;
}

namespace {

// `{"<list_key>": [view(item)...], "next_after": next | null}` in a 200 envelope.
template <class Item, class View>
std::string pageEnvelope(std::string_view message, const char* list_key, const std::vector<Item>& items,
                         const std::optional<std::string>& next, View view) {
  json::storage_ptr sp = json::make_shared_resource<json::monotonic_resource>();
  json::array list(sp);
  list.reserve(items.size());
  for (const Item& item : items) list.emplace_back(view(item, sp));
  json::object data(sp);
  data.emplace(list_key, std::move(list));
  data.emplace("next_after", optionalText(next, sp));
  return dataEnvelope(message, std::move(data));
}

}  // namespace

std::string userPageEnvelope(const UserPage& page) {
  return pageEnvelope(kUsersRetrievedMessage, "users", page.users, page.next_after,
                      [](const User& u, const json::storage_ptr& sp) { return userView(u, sp); });
}

std::string auditPageEnvelope(const AuditPage& page) {
  std::optional<std::string> next;
  if (page.next_after) next = formatAuditCursor(*page.next_after);
  return pageEnvelope(kAuditEventsRetrievedMessage, "events", page.events, next,
                      [](const AuditEvent& e, const json::storage_ptr& sp) { return auditEventView(e, sp); });
}

}  // namespace useradmin::beast
