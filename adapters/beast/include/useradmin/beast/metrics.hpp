// Metrics: the server's counters and histograms, rendered in the Prometheus
// text exposition format 0.0.4 (served as GET /metrics on the metrics
// listener, see ServerOptions::metrics_port and docs/operations.md).
#ifndef USERADMIN_BEAST_METRICS_HPP
#define USERADMIN_BEAST_METRICS_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "useradmin/export.hpp"
#include "useradmin/store_stats.hpp"

namespace useradmin::beast {

struct Route;

/// The path the metrics listener answers with the exposition text.
inline constexpr std::string_view kMetricsPath = "/metrics";
/// The exposition format's media type.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the request latency histograms.
inline constexpr std::array<double, 14> kLatencyBucketBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};

/// What is rendered besides the counters: read at scrape time.
struct MetricsExtras {
  std::size_t open_connections = 0;
  /// From ServerOptions::store_stats; families skipped when not available.
  StoreStats store;
  /// From ServerOptions::directory_outbox_depth; the gauge is skipped when
  /// absent.
  std::optional<std::uint64_t> outbox_depth;
};

/// The counters. Recording is wait-free: relaxed atomic increments on a
/// shard chosen per thread (so I/O threads do not share cache lines);
/// rendering sums the shards. Label values are bounded: `route` is a route
/// template of the table (base path included), `/healthz`, `/readyz`,
/// `/metrics` or `unmatched` (no route: 404, 405, and what is refused before
/// routing); `method` is GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or
/// `other`; `status` is one of the codes the server answers, else `other`;
/// a token refusal's `reason` is a known reason code, else `other`.
class USERADMIN_API Metrics {
 public:
  /// Slots for the requests that match no table route.
  enum class Special : std::size_t { healthz = 0, readyz = 1, metrics = 2, unmatched = 3 };
  enum class Limiter { client, actor };

  /// `routes` must outlive the Metrics (the default table is static).
  Metrics(std::string_view base_path, const std::vector<Route>& routes);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// The slot of a route of the table (Special::unmatched for null or a
  /// route from another table).
  std::size_t routeSlot(const Route* route) const noexcept;
  std::size_t specialSlot(Special special) const noexcept;

  /// One answered request: its slot, the request method as sent, the
  /// status and the latency (first byte read to response written).
  void recordRequest(std::size_t route_slot, std::string_view method, unsigned status,
                     std::uint64_t latency_ns) noexcept;
  /// A 401, by the reason code of the refusal.
  void recordTokenRefusal(std::string_view reason) noexcept;
  void recordRateLimitRefusal(Limiter limiter) noexcept;
  void recordTlsHandshakeFailure() noexcept;

  /// Appends the exposition text (every line ends with '\n').
  void render(const MetricsExtras& extras, std::string& out) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// The token refusal reasons that get their own label value.
USERADMIN_API const std::vector<std::string_view>& knownTokenRefusalReasons();

}  // namespace useradmin::beast

#endif  // USERADMIN_BEAST_METRICS_HPP
