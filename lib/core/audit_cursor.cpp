#include "useradmin/audit_cursor.hpp"

#include <cstdio>

namespace useradmin {

namespace {

constexpr std::size_t kMaxHexDigits = 16;

// Lowercase hex, no leading zeros ("0" for zero); only non-negative values
// are ever assigned by stores.
std::string hex(std::int64_t value) {
  char buf[kMaxHexDigits + 1];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(value));
  return buf;
}

// The canonical hex of a non-negative int64, or nullopt.
std::optional<std::int64_t> parseHex(std::string_view text) noexcept {
  if (text.empty() || text.size() > kMaxHexDigits) return std::nullopt;
  if (text.size() > 1 && text.front() == '0') return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (digit < 0) return std::nullopt;
    value = value * 16 + static_cast<std::uint64_t>(digit);
  }
  if (value > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

}  // namespace

std::string formatAuditCursor(const AuditCursor& cursor) {
  return "c" + hex(cursor.horizon_key) + "-" + hex(cursor.event_id);
}

std::optional<AuditCursor> parseAuditCursor(std::string_view text) noexcept {
  if (text.size() < 4 || text.front() != 'c') return std::nullopt;
  text.remove_prefix(1);
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto key = parseHex(text.substr(0, dash));
  const auto id = parseHex(text.substr(dash + 1));
  if (!key || !id) return std::nullopt;
  return AuditCursor{*key, *id};
}

}  // namespace useradmin
