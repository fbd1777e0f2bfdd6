#include "useradmin/beast/query.hpp"

#include <algorithm>
#include <limits>

#include "useradmin/beast/router.hpp"

namespace useradmin::beast {

namespace {

constexpr std::size_t kMaxEchoedBytes = 128;

}  // namespace

std::optional<std::string_view> QueryParams::get(std::string_view name) const noexcept {
  for (const auto& [key, value] : params_)
    if (key == name) return std::string_view(value);
  return std::nullopt;
}

std::optional<std::string> QueryParams::copy(std::string_view name) const {
  const auto value = get(name);
  if (!value) return std::nullopt;
  return std::string(*value);
}

std::string_view queryOf(std::string_view target) noexcept {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return {};
  std::string_view query = target.substr(question + 1);
  return query.substr(0, query.find('#'));
}

std::string printableQueryText(std::string_view text) { return printableText(text, kMaxEchoedBytes); }

std::optional<FieldError> parseQuery(std::string_view query, std::initializer_list<std::string_view> allowed,
                                     QueryParams& out) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (piece.empty()) continue;
    const auto eq = piece.find('=');
    std::string name = percentDecode(piece.substr(0, eq));
    std::string value = eq == std::string_view::npos ? std::string() : percentDecode(piece.substr(eq + 1));
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      return FieldError{printableQueryText(name), "unknown_parameter", ""};
    if (out.get(name)) return FieldError{name, "repeated_parameter", ""};
    out.add(std::move(name), std::move(value));
  }
  return std::nullopt;
}

std::optional<std::size_t> parseLimit(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  std::size_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::size_t>(c - '0');
    value = value > (kMax - digit) / 10 ? kMax : value * 10 + digit;
  }
  return value;
}

std::optional<UserStatus> parseStatusFilter(std::string_view text) noexcept {
  const auto status = parseUserStatus(text);
  if (!status || *status == UserStatus::deleted) return std::nullopt;
  return status;
}

}  // namespace useradmin::beast
