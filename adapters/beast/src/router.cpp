#include "useradmin/beast/router.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "useradmin/beast/api.hpp"

namespace useradmin::beast {

namespace {

bool isParam(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits "/a/b/c" into {"a","b","c"}; "" into {}. A trailing slash gives a
// trailing empty segment, so "/users/x/reactivate/" does not match.
std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty()) return out;
  if (path.front() == '/') path.remove_prefix(1);
  for (;;) {
    const auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// The path part of a request-target: absolute-form is reduced to its path,
// and the query (and a stray fragment) is dropped.
std::string_view targetPath(std::string_view target) {
  if (target.size() > 7 && (target.compare(0, 7, "http://") == 0 || target.compare(0, 8, "https://") == 0)) {
    const auto scheme_end = target.find("//") + 2;
    const auto path_start = target.find('/', scheme_end);
    target = path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
  }
  const auto end = target.find_first_of("?#");
  return target.substr(0, end);
}

}  // namespace

std::string_view PathParams::get(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < size_; ++i)
    if (names_[i] == name) return values_[i];
  return {};
}

std::string_view PathParams::raw(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < size_; ++i)
    if (names_[i] == name) return raw_values_[i];
  return {};
}

void PathParams::add(std::string_view name, std::string value, std::string raw) {
  if (size_ == kMaxParams) return;
  names_[size_] = name;
  values_[size_] = std::move(value);
  raw_values_[size_] = std::move(raw);
  ++size_;
}

std::string percentDecode(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (std::size_t i = 0; i < segment.size(); ++i) {
    const char c = segment[i];
    if (c == '%' && i + 2 < segment.size()) {
      const int hi = hexValue(segment[i + 1]);
      const int lo = hexValue(segment[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(c);
  }
  return out;
}

std::string normalizeBasePath(std::string_view base_path) {
  while (!base_path.empty() && base_path.back() == '/') base_path.remove_suffix(1);
  if (base_path.empty()) return {};
  std::string out;
  if (base_path.front() != '/') out.push_back('/');
  out.append(base_path);
  return out;
}

Router::Router(std::string_view base_path, const std::vector<Route>& routes)
    : base_path_(normalizeBasePath(base_path)) {
  if (routes.size() > kMaxRoutes) throw std::invalid_argument("route table has more than 64 routes");
  for (const Route& route : routes) {
    CompiledRoute compiled{&route, splitPath(route.pattern)};
    std::size_t params = 0;
    for (auto segment : compiled.segments)
      if (isParam(segment)) ++params;
    if (params > PathParams::kMaxParams) throw std::invalid_argument("route pattern has too many parameters");
    routes_.push_back(std::move(compiled));
  }
  std::size_t longest = 0;
  for (const auto& compiled : routes_) longest = std::max(longest, compiled.segments.size());
  for (std::size_t length = 0; length <= longest; ++length) addAllowValues(length);
}

// Which routes match a path depends only on which of the patterns'
// literals each segment equals (or none). Trying every such choice finds
// every set of routes that can match one path, and each set's Allow value
// is made once, here: a 405 then costs no allocation, and lists every
// method of the path even when several patterns match it.
void Router::addAllowValues(std::size_t length) {
  std::vector<std::vector<std::string_view>> choices(length);  // per segment; "" = no literal
  for (auto& options : choices) options.push_back({});
  for (const auto& compiled : routes_) {
    if (compiled.segments.size() != length) continue;
    for (std::size_t i = 0; i < length; ++i) {
      const auto segment = compiled.segments[i];
      auto& options = choices[i];
      if (!isParam(segment) && std::find(options.begin(), options.end(), segment) == options.end())
        options.push_back(segment);
    }
  }
  std::size_t combinations = 1;
  for (const auto& options : choices) {
    combinations *= options.size();
    if (combinations > kMaxPathShapes) throw std::invalid_argument("route table too irregular to index");
  }
  for (std::size_t n = 0; n < combinations; ++n) {
    RouteSet matching = 0;
    std::size_t rest = n;
    std::vector<std::string_view> path(length);
    for (std::size_t i = 0; i < length; ++i) {
      path[i] = choices[i][rest % choices[i].size()];
      rest /= choices[i].size();
    }
    for (std::size_t r = 0; r < routes_.size(); ++r) {
      const auto& segments = routes_[r].segments;
      if (segments.size() != length) continue;
      bool same = true;
      for (std::size_t i = 0; i < length && same; ++i) same = isParam(segments[i]) || segments[i] == path[i];
      if (same) matching |= RouteSet{1} << r;
    }
    if (matching == 0 || allowFor(matching) != nullptr) continue;
    std::string allow;
    std::vector<std::string_view> methods;
    for (std::size_t r = 0; r < routes_.size(); ++r) {
      const auto method = routes_[r].route->method;
      if ((matching >> r & 1) == 0 || std::find(methods.begin(), methods.end(), method) != methods.end()) continue;
      methods.push_back(method);
      if (!allow.empty()) allow += ", ";
      allow += method;
    }
    allow_.emplace_back(matching, std::move(allow));
  }
}

const std::string* Router::allowFor(RouteSet routes) const noexcept {
  for (const auto& [set, allow] : allow_)
    if (set == routes) return &allow;
  return nullptr;
}

RouteMatch Router::match(std::string_view method, std::string_view target) const {
  RouteMatch result;
  std::string_view path = targetPath(target);
  // The base path must be followed by '/' (or end the path).
  if (path.compare(0, base_path_.size(), base_path_) != 0) return result;
  path.remove_prefix(base_path_.size());
  if (!path.empty() && path.front() != '/') return result;

  // Split without allocating: at most as many segments as the longest pattern.
  constexpr std::size_t kMaxSegments = 16;
  std::string_view segments[kMaxSegments];
  std::size_t count = 0;
  if (!path.empty()) {
    std::string_view rest = path.substr(1);
    for (;;) {
      if (count == kMaxSegments) return result;
      const auto slash = rest.find('/');
      segments[count++] = rest.substr(0, slash);
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
  }

  RouteSet path_matches = 0;
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    const CompiledRoute& compiled = routes_[r];
    if (compiled.segments.size() != count) continue;
    bool same_path = true;
    for (std::size_t i = 0; i < count && same_path; ++i)
      same_path = isParam(compiled.segments[i]) || compiled.segments[i] == segments[i];
    if (!same_path) continue;
    path_matches |= RouteSet{1} << r;
    if (compiled.route->method != method) continue;
    result.kind = RouteMatch::Kind::found;
    result.route = compiled.route;
    for (std::size_t i = 0; i < count; ++i) {
      const auto pattern = compiled.segments[i];
      if (isParam(pattern))
        result.params.add(pattern.substr(1, pattern.size() - 2), percentDecode(segments[i]), std::string(segments[i]));
    }
    return result;
  }
  if (path_matches != 0) {
    result.kind = RouteMatch::Kind::method_not_allowed;
    if (const std::string* allow = allowFor(path_matches)) result.allow = *allow;
  }
  return result;
}

}  // namespace useradmin::beast
