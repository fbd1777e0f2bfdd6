#include "useradmin/domain.hpp"

#include <cstdio>
#include <ctime>

namespace useradmin {

bool operator==(const Organization& a, const Organization& b) {
  return a.id == b.id && a.name == b.name && a.type == b.type && a.parent_id == b.parent_id &&
         a.suspended == b.suspended && a.deleted == b.deleted && a.suspended_at == b.suspended_at &&
         a.suspended_by == b.suspended_by && a.updated_at == b.updated_at && a.version == b.version;
}

bool operator==(const User& a, const User& b) {
  return a.id == b.id && a.username == b.username && a.email == b.email && a.name == b.name &&
         a.organization_id == b.organization_id && a.roles == b.roles && a.status == b.status &&
         a.suspended_at == b.suspended_at && a.suspended_by == b.suspended_by &&
         a.suspended_by_org_id == b.suspended_by_org_id && a.tokens_valid_after == b.tokens_valid_after &&
         a.updated_at == b.updated_at && a.version == b.version && a.external_id == b.external_id;
}

const char* toString(OrgType type) noexcept {
  switch (type) {
    case OrgType::owner: return "owner";
    case OrgType::distributor: return "distributor";
    case OrgType::reseller: return "reseller";
    case OrgType::customer: return "customer";
  }
  return "customer";
}

std::optional<OrgType> parseOrgType(std::string_view text) noexcept {
  if (text == "owner") return OrgType::owner;
  if (text == "distributor") return OrgType::distributor;
  if (text == "reseller") return OrgType::reseller;
  if (text == "customer") return OrgType::customer;
  return std::nullopt;
}

const char* toString(UserStatus status) noexcept {
  switch (status) {
    case UserStatus::active: return "active";
    case UserStatus::suspended: return "suspended";
    case UserStatus::deleted: return "deleted";
  }
  return "deleted";
}

std::optional<UserStatus> parseUserStatus(std::string_view text) noexcept {
  if (text == "active") return UserStatus::active;
  if (text == "suspended") return UserStatus::suspended;
  if (text == "deleted") return UserStatus::deleted;
  return std::nullopt;
}

std::string printableText(std::string_view text, std::size_t max_bytes) {
  std::string out;
  for (const char c : text.substr(0, max_bytes)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F && c != '\\') {
      out.push_back(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02X", byte);
      out += buf;
    }
  }
  return out;
}

bool isValidId(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (!unreserved) return false;
  }
  return true;
}

bool isRead(Action action) noexcept {
  switch (action) {
    case Action::reactivate_user:
    case Action::suspend_user:
    case Action::suspend_organization:
    case Action::reactivate_organization: return false;
    case Action::read_user:
    case Action::list_users:
    case Action::read_organization:
    case Action::read_audit: return true;
  }
  return false;
}

const char* toString(Action action) noexcept {
  switch (action) {
    case Action::reactivate_user: return "user.reactivate";
    case Action::suspend_user: return "user.suspend";
    case Action::suspend_organization: return "organization.suspend";
    case Action::reactivate_organization: return "organization.reactivate";
    case Action::read_user: return "user.read";
    case Action::list_users: return "user.list";
    case Action::read_organization: return "organization.read";
    case Action::read_audit: return "audit.read";
  }
  return "user.reactivate";
}

const char* toString(SubjectKind kind) noexcept {
  switch (kind) {
    case SubjectKind::user: return "user";
    case SubjectKind::organization: return "organization";
  }
  return "user";
}

std::size_t codePointCount(std::string_view text) noexcept {
  std::size_t n = 0;
  for (const char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

bool isValidUtf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t cp = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    }
    if (lead >= 0xC2 && lead <= 0xDF) length = 2, cp = lead & 0x1Fu;
    else if (lead >= 0xE0 && lead <= 0xEF) length = 3, cp = lead & 0x0Fu;
    else if (lead >= 0xF0 && lead <= 0xF4) length = 4, cp = lead & 0x07u;
    else return false;
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3Fu);
    }
    // Overlong forms, UTF-16 surrogates and values past Unicode's end.
    if ((length == 3 && cp < 0x800) || (length == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += length;
  }
  return true;
}

namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
// public-domain algorithm), so no time zone database or timegm is needed.
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned mp = m > 2 ? m - 3 : m + 9;
  const unsigned doy = (153 * mp + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool isLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int daysInMonth(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && isLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`.
bool readDigits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

std::string formatRfc3339(Timestamp t) {
  const std::int64_t ms = toMillis(t);
  std::int64_t secs = ms / 1000;
  std::int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    secs -= 1;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  if (frac == 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(frac));
  }
  return buf;
}

std::optional<Timestamp> parseRfc3339(std::string_view s) {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!readDigits(s, pos, 4, year) || !expect(s, pos, '-') || !readDigits(s, pos, 2, month) ||
      !expect(s, pos, '-') || !readDigits(s, pos, 2, day))
    return std::nullopt;
  if (!(expect(s, pos, 'T') || expect(s, pos, 't'))) return std::nullopt;
  if (!readDigits(s, pos, 2, hour) || !expect(s, pos, ':') || !readDigits(s, pos, 2, minute) ||
      !expect(s, pos, ':') || !readDigits(s, pos, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 ||
      second > 60)
    return std::nullopt;
  int millis = 0;
  if (expect(s, pos, '.')) {
    std::size_t digits = 0;
    int scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
  }
  std::int64_t offset_minutes = 0;
  if (expect(s, pos, 'Z') || expect(s, pos, 'z')) {
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const bool negative = s[pos] == '-';
    ++pos;
    int oh = 0, om = 0;
    if (!readDigits(s, pos, 2, oh) || !expect(s, pos, ':') || !readDigits(s, pos, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_minutes = (negative ? -1 : 1) * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  if (second == 60) second = 59;  // leap second: clamp, system_clock has none
  const std::int64_t days = daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return timestampFromMillis(secs * 1000 + millis);
}

}  // namespace useradmin
