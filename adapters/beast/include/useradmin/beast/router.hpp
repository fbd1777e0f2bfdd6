// Router: maps a request's method and target to a route of the table. Pure:
// no sockets, no allocation beyond the decoded path parameters.
#ifndef USERADMIN_BEAST_ROUTER_HPP
#define USERADMIN_BEAST_ROUTER_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "useradmin/export.hpp"

namespace useradmin::beast {

struct Route;

/// The path parameters of a matched route (`{id}` and the like), already
/// percent-decoded, in pattern order, each with the segment exactly as it
/// appeared in the request path. Holds at most kMaxParams entries.
class USERADMIN_API PathParams {
 public:
  static constexpr std::size_t kMaxParams = 4;

  /// The decoded value of parameter `name`, or an empty view when the
  /// pattern has no such parameter.
  std::string_view get(std::string_view name) const noexcept;
  /// The raw (still percent-encoded) segment of parameter `name`, or an
  /// empty view.
  std::string_view raw(std::string_view name) const noexcept;
  std::size_t size() const noexcept { return size_; }
  /// Appends a parameter; ignored beyond kMaxParams (patterns are checked
  /// against that limit when the router is built). `raw` defaults to `value`.
  void add(std::string_view name, std::string value, std::string raw);
  void add(std::string_view name, std::string value) { add(name, value, value); }
  void clear() noexcept { size_ = 0; }

 private:
  std::array<std::string_view, kMaxParams> names_{};
  std::array<std::string, kMaxParams> values_{};
  std::array<std::string, kMaxParams> raw_values_{};
  std::size_t size_ = 0;
};

/// What the router decided for one request.
struct RouteMatch {
  enum class Kind {
    /// `route` is set and `params` holds its decoded parameters.
    found,
    /// No route has this path: answer 404 "route not found".
    not_found,
    /// Some route has this path, but not with this method: answer 405 with
    /// `allow` as the `Allow` header: every method any route of the table
    /// accepts for this path, once each, in table order (e.g. "GET, PATCH").
    method_not_allowed,
  };
  Kind kind = Kind::not_found;
  const Route* route = nullptr;
  std::string_view allow;
  PathParams params;
};

/// Decodes `%XX` escapes of a path segment. Lenient: a `%` not followed by
/// two hex digits is kept as it is (a `%` is never a valid id character, so
/// the library's rule 2 then refuses the id). `+` stays `+` (paths are not
/// form-encoded). `%2F` becomes `/`, which rule 2 refuses as well.
USERADMIN_API std::string percentDecode(std::string_view segment);

/// Normalizes a base path: "" and "/" mean no prefix; otherwise a leading
/// `/` is ensured and trailing ones removed ("api/" -> "/api").
USERADMIN_API std::string normalizeBasePath(std::string_view base_path);

/// A route table bound to a base path. Patterns are relative to the base
/// path and made of literal segments and `{name}` parameters, e.g.
/// `/users/{id}/reactivate`; a parameter matches exactly one segment (which
/// may be empty). Matching ignores the query string, accepts absolute-form
/// targets (`http://host/api/...`) and is case-sensitive. Immutable after
/// construction; safe to use from many threads.
class USERADMIN_API Router {
 public:
  /// `routes` must outlive the router (the default table is static).
  Router(std::string_view base_path, const std::vector<Route>& routes);

  /// Matches `method` (e.g. "PATCH", case-sensitive as in HTTP) and the raw
  /// request target.
  RouteMatch match(std::string_view method, std::string_view target) const;

  const std::string& basePath() const noexcept { return base_path_; }

 private:
  /// Most routes in a table (they are tracked as bits of a RouteSet).
  static constexpr std::size_t kMaxRoutes = 64;
  /// Most distinct path shapes tried per segment count when building.
  static constexpr std::size_t kMaxPathShapes = 1 << 16;
  using RouteSet = std::uint64_t;  // bit r: routes_[r]
  struct CompiledRoute {
    const Route* route;
    std::vector<std::string_view> segments;  // literal text or "{name}"
  };
  void addAllowValues(std::size_t length);
  const std::string* allowFor(RouteSet routes) const noexcept;

  std::string base_path_;
  std::vector<CompiledRoute> routes_;
  // The "Allow" value (e.g. "GET, PATCH") of every set of routes that can
  // match one path: each method of those routes, once, in table order.
  std::vector<std::pair<RouteSet, std::string>> allow_;
};

}  // namespace useradmin::beast

#endif  // USERADMIN_BEAST_ROUTER_HPP
