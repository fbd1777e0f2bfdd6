// Strict query strings for the GET routes: known parameters only, each at
// most once, values percent-decoded.
#ifndef USERADMIN_BEAST_QUERY_HPP
#define USERADMIN_BEAST_QUERY_HPP

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "useradmin/audit_cursor.hpp"
#include "useradmin/domain.hpp"
#include "useradmin/error.hpp"
#include "useradmin/export.hpp"

namespace useradmin::beast {

/// The decoded parameters of one query string, in request order.
class USERADMIN_API QueryParams {
 public:
  /// The decoded value of `name`, or nullopt when the query has no such
  /// parameter.
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  /// The value of `name` as an owned string, or nullopt.
  std::optional<std::string> copy(std::string_view name) const;
  void add(std::string name, std::string value) { params_.emplace_back(std::move(name), std::move(value)); }
  std::size_t size() const noexcept { return params_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

/// The query part of a request-target (after the first `?`, up to a `#`),
/// empty when there is none.
USERADMIN_API std::string_view queryOf(std::string_view target) noexcept;

/// Parses `query` (`a=1&b=2`) into `out`. Names and values are
/// percent-decoded like path segments (a `%` without two hex digits stays
/// as it is). `+` is a literal plus, not a space: these are RFC 3986
/// queries, not HTML form bodies (no valid id, status, limit or cursor
/// contains either, so a value with one is refused by its own check).
/// Empty pieces (`a=1&&b=2`, a trailing `&`) are skipped; a piece without
/// `=` has an empty value. Refusals, in request order:
/// - a name not in `allowed`: key = the name (bytes outside printable
///   ASCII spelled `\xNN`), message `unknown_parameter`;
/// - a name given twice: key = the name, message `repeated_parameter`.
USERADMIN_API std::optional<FieldError> parseQuery(std::string_view query,
                                                   std::initializer_list<std::string_view> allowed, QueryParams& out);

/// A `limit` value: decimal digits only (no sign, no spaces), saturating
/// at SIZE_MAX so that a huge number is refused by the range check, not
/// read as a small one. nullopt when not all digits.
USERADMIN_API std::optional<std::size_t> parseLimit(std::string_view text) noexcept;

/// A `status` filter: `active` or `suspended` (deleted users are never
/// listed, so `deleted` is refused like any other word).
USERADMIN_API std::optional<UserStatus> parseStatusFilter(std::string_view text) noexcept;

/// `text` made safe to echo in a response: bytes outside printable ASCII
/// (and `\`) spelled `\xNN`, at most 128 input bytes.
USERADMIN_API std::string printableQueryText(std::string_view text);

}  // namespace useradmin::beast

#endif  // USERADMIN_BEAST_QUERY_HPP
