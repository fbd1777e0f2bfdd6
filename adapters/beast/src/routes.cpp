// The route table and its handlers: each handler is one call into the library.
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "useradmin/beast/api.hpp"
#include "useradmin/beast/envelope.hpp"

namespace useradmin::beast {

namespace json = boost::json;

namespace {

// PATCH {base}/users/{id}/reactivate (contract §3).
ApiResponse reactivateUserHandler(const Services& services, const Call& call) {
  auto result = services.reactivation.reactivateUser(call.actor, call.params.get("id"), call.note);
  ApiResponse response;
  if (result) {
    response.status = 200;
    response.body = userEnvelope(*result);
  } else {
    response = errorResponse(result.error());
  }
  response.actor_id = call.actor.user_id;
  return response;
}

std::size_t codePoints(std::string_view utf8) {
  std::size_t n = 0;
  for (const char c : utf8)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
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

}  // namespace

std::optional<FieldError> parseReasonBody(std::string_view body, Call& call) {
  if (isBlank(body)) return std::nullopt;
  unsigned char arena[4096];
  json::monotonic_resource mr(arena, sizeof arena);
  json::parse_options options;
  options.max_depth = 4;
  boost::system::error_code ec;
  json::value parsed = json::parse(json::string_view(body.data(), body.size()), ec, &mr, options);
  if (ec || !parsed.is_object()) return FieldError{"body", "invalid_json", ""};
  for (const auto& entry : parsed.get_object()) {
    const std::string_view key(entry.key().data(), entry.key().size());
    if (key != "reason") return FieldError{"body", "unknown_field", std::string(utf8Prefix(key, 64))};
    if (!entry.value().is_string()) return FieldError{"reason", "invalid_type", ""};
    const json::string& reason = entry.value().get_string();
    const std::string_view text(reason.data(), reason.size());
    if (codePoints(text) > kMaxNoteLength) return FieldError{"reason", "too_long", ""};
    call.note.assign(text);
  }
  return std::nullopt;
}

const std::vector<Route>& apiRoutes() {
  static const std::vector<Route> routes = {
      // method  pattern                    body parser        handler
      {"PATCH", "/users/{id}/reactivate", &parseReasonBody, &reactivateUserHandler},
  };
  return routes;
}

}  // namespace useradmin::beast
