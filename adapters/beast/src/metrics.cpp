#include "useradmin/beast/metrics.hpp"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "useradmin/beast/api.hpp"
#include "useradmin/beast/router.hpp"

namespace useradmin::beast {

namespace {

constexpr std::array<std::string_view, 8> kMethods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
                                                      "other"};
// The statuses the server answers; anything else is counted as "other".
constexpr std::array<unsigned, 13> kStatuses = {200, 400, 401, 403, 404, 405, 408, 413, 429, 431, 500, 503, 0};
constexpr std::size_t kSpecialRoutes = 4;
constexpr std::array<std::string_view, kSpecialRoutes> kSpecialNames = {"/healthz", "/readyz", "/metrics",
                                                                        "unmatched"};
constexpr std::size_t kBuckets = kLatencyBucketBounds.size() + 1;  // + Inf
// Shards: I/O threads take one each (round robin); more threads share.
constexpr std::size_t kShards = 16;

std::size_t methodIndex(std::string_view method) noexcept {
  for (std::size_t i = 0; i + 1 < kMethods.size(); ++i)
    if (kMethods[i] == method) return i;
  return kMethods.size() - 1;
}

std::size_t statusIndex(unsigned status) noexcept {
  for (std::size_t i = 0; i + 1 < kStatuses.size(); ++i)
    if (kStatuses[i] == status) return i;
  return kStatuses.size() - 1;
}

const std::vector<std::string_view> kTokenReasons = {
    // The adapter's own.
    "missing_credentials", "multiple_authorization_headers", "not_bearer", "missing_token",
    // The JWT verifier's.
    "alg_none", "alg_not_allowed", "bad_audience", "bad_claims", "bad_header", "bad_issuer", "bad_signature",
    "bad_sub", "crit_unsupported", "expired", "iat_in_future", "malformed", "missing_exp", "missing_sub",
    "not_yet_valid", "too_large", "unknown_kid",
    // The library's (the actor behind a valid token).
    "actor_not_active", "actor_organization_deleted", "actor_organization_suspended", "credential_revoked",
    "unknown_actor",
    // Everything else.
    "other"};

std::size_t tokenReasonIndex(std::string_view reason) noexcept {
  for (std::size_t i = 0; i + 1 < kTokenReasons.size(); ++i)
    if (kTokenReasons[i] == reason) return i;
  return kTokenReasons.size() - 1;
}

using Counter = std::atomic<std::uint64_t>;

void appendEscapedLabel(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
}

// Shortest text that reads back as the same double ("0.005", "2.5", "10").
std::string formatDouble(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

void appendHeader(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out.push_back(' ');
  out += help;
  out += "\n# TYPE ";
  out += name;
  out.push_back(' ');
  out += type;
  out.push_back('\n');
}

// A histogram whose buckets are given as non-cumulative counts (StoreStats).
void appendStoreHistogram(std::string& out, std::string_view name, std::string_view help, const Histogram& h) {
  if (h.upper_bounds.empty() || h.counts.size() != h.upper_bounds.size() + 1) return;
  appendHeader(out, name, "histogram", help);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.upper_bounds.size(); ++i) {
    cumulative += h.counts[i];
    out += name;
    out += "_bucket{le=\"" + formatDouble(h.upper_bounds[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += h.counts.back();
  out += name;
  out += "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += name;
  out += "_sum " + formatDouble(h.sum) + "\n";
  out += name;
  // The count is the +Inf bucket by definition; a store whose two disagree
  // mid-update must not produce an inconsistent histogram.
  out += "_count " + std::to_string(cumulative) + "\n";
}

}  // namespace

const std::vector<std::string_view>& knownTokenRefusalReasons() { return kTokenReasons; }

struct Metrics::Impl {
  // Layout of one shard's counters.
  std::size_t routes = 0;  // table routes + specials
  std::size_t requests_at = 0;
  std::size_t buckets_at = 0;   // routes x kBuckets
  std::size_t sums_at = 0;      // routes (nanoseconds)
  std::size_t tokens_at = 0;    // token reasons
  std::size_t limiters_at = 0;  // client, actor
  std::size_t tls_at = 0;
  std::size_t per_shard = 0;
  std::size_t stride = 0;  // per_shard rounded up to a cache line of counters

  const Route* table_begin = nullptr;
  std::size_t table_size = 0;
  std::vector<std::string> route_labels;   // escaped route template
  std::vector<std::string> method_labels;  // per route: its method for table routes, empty for specials
  std::unique_ptr<Counter[]> counters;

  std::atomic<std::size_t> next_shard{0};

  Counter* shard() noexcept {
    thread_local const Impl* owner = nullptr;
    thread_local std::size_t index = 0;
    if (owner != this) {
      owner = this;
      index = next_shard.fetch_add(1, std::memory_order_relaxed) % kShards;
    }
    return &counters[index * stride];
  }

  std::uint64_t sum(std::size_t offset) const noexcept {
    std::uint64_t total = 0;
    for (std::size_t s = 0; s < kShards; ++s) total += counters[s * stride + offset].load(std::memory_order_relaxed);
    return total;
  }

  std::size_t requestOffset(std::size_t route, std::size_t method, std::size_t status) const noexcept {
    return requests_at + (route * kMethods.size() + method) * kStatuses.size() + status;
  }
};

Metrics::Metrics(std::string_view base_path, const std::vector<Route>& routes) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.table_begin = routes.data();
  m.table_size = routes.size();
  m.routes = routes.size() + kSpecialRoutes;
  const std::string base = normalizeBasePath(base_path);
  for (const auto& route : routes) {
    std::string label;
    appendEscapedLabel(label, base + std::string(route.pattern));
    m.route_labels.push_back(std::move(label));
  }
  for (const auto name : kSpecialNames) m.route_labels.emplace_back(name);
  m.requests_at = 0;
  m.buckets_at = m.requests_at + m.routes * kMethods.size() * kStatuses.size();
  m.sums_at = m.buckets_at + m.routes * kBuckets;
  m.tokens_at = m.sums_at + m.routes;
  m.limiters_at = m.tokens_at + kTokenReasons.size();
  m.tls_at = m.limiters_at + 2;
  m.per_shard = m.tls_at + 1;
  constexpr std::size_t kLine = 64 / sizeof(Counter);
  m.stride = (m.per_shard + kLine - 1) / kLine * kLine + kLine;  // plus a line between shards
  m.counters = std::make_unique<Counter[]>(m.stride * kShards);
  for (std::size_t i = 0; i < m.stride * kShards; ++i) m.counters[i].store(0, std::memory_order_relaxed);
}

Metrics::~Metrics() = default;

std::size_t Metrics::routeSlot(const Route* route) const noexcept {
  const Impl& m = *impl_;
  if (route == nullptr || route < m.table_begin || route >= m.table_begin + m.table_size)
    return specialSlot(Special::unmatched);
  return static_cast<std::size_t>(route - m.table_begin);
}

std::size_t Metrics::specialSlot(Special special) const noexcept {
  return impl_->table_size + static_cast<std::size_t>(special);
}

void Metrics::recordRequest(std::size_t route_slot, std::string_view method, unsigned status,
                            std::uint64_t latency_ns) noexcept {
  Impl& m = *impl_;
  if (route_slot >= m.routes) route_slot = specialSlot(Special::unmatched);
  Counter* c = m.shard();
  c[m.requestOffset(route_slot, methodIndex(method), statusIndex(status))].fetch_add(1, std::memory_order_relaxed);
  const double seconds = static_cast<double>(latency_ns) / 1e9;
  std::size_t bucket = 0;
  while (bucket < kLatencyBucketBounds.size() && seconds > kLatencyBucketBounds[bucket]) ++bucket;
  c[m.buckets_at + route_slot * kBuckets + bucket].fetch_add(1, std::memory_order_relaxed);
  c[m.sums_at + route_slot].fetch_add(latency_ns, std::memory_order_relaxed);
}

void Metrics::recordTokenRefusal(std::string_view reason) noexcept {
  Impl& m = *impl_;
  m.shard()[m.tokens_at + tokenReasonIndex(reason)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::recordRateLimitRefusal(Limiter limiter) noexcept {
  Impl& m = *impl_;
  m.shard()[m.limiters_at + (limiter == Limiter::client ? 0 : 1)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::recordTlsHandshakeFailure() noexcept {
  Impl& m = *impl_;
  m.shard()[m.tls_at].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::render(const MetricsExtras& extras, std::string& out) const {
  const Impl& m = *impl_;

  // Requests by route, method and status: only the series seen so far.
  appendHeader(out, "useradmin_http_requests_total", "counter",
               "HTTP requests answered, by route template, method and status.");
  for (std::size_t r = 0; r < m.routes; ++r) {
    for (std::size_t k = 0; k < kMethods.size(); ++k) {
      for (std::size_t s = 0; s < kStatuses.size(); ++s) {
        const std::uint64_t n = m.sum(m.requestOffset(r, k, s));
        if (n == 0) continue;
        out += "useradmin_http_requests_total{route=\"";
        out += m.route_labels[r];
        out += "\",method=\"";
        out += kMethods[k];
        out += "\",status=\"";
        out += kStatuses[s] == 0 ? std::string("other") : std::to_string(kStatuses[s]);
        out += "\"} " + std::to_string(n) + "\n";
      }
    }
  }

  // Latency per route: every route, so dashboards see zeros too.
  appendHeader(out, "useradmin_http_request_duration_seconds", "histogram",
               "Time from a request's first byte to its response written, by route template.");
  for (std::size_t r = 0; r < m.routes; ++r) {
    std::uint64_t cumulative = 0;
    const std::string label = "route=\"" + m.route_labels[r] + "\"";
    for (std::size_t b = 0; b < kBuckets; ++b) {
      cumulative += m.sum(m.buckets_at + r * kBuckets + b);
      out += "useradmin_http_request_duration_seconds_bucket{" + label + ",le=\"";
      out += b < kLatencyBucketBounds.size() ? formatDouble(kLatencyBucketBounds[b]) : std::string("+Inf");
      out += "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "useradmin_http_request_duration_seconds_sum{" + label + "} " +
           formatDouble(static_cast<double>(m.sum(m.sums_at + r)) / 1e9) + "\n";
    out += "useradmin_http_request_duration_seconds_count{" + label + "} " + std::to_string(cumulative) + "\n";
  }

  appendHeader(out, "useradmin_http_rate_limit_refusals_total", "counter",
               "Requests refused 429 by a rate limiter (client address or authenticated actor).");
  out += "useradmin_http_rate_limit_refusals_total{limiter=\"client\"} " + std::to_string(m.sum(m.limiters_at)) + "\n";
  out += "useradmin_http_rate_limit_refusals_total{limiter=\"actor\"} " + std::to_string(m.sum(m.limiters_at + 1)) +
         "\n";

  appendHeader(out, "useradmin_http_token_refusals_total", "counter",
               "Requests refused 401, by reason code (docs/security.md).");
  for (std::size_t i = 0; i < kTokenReasons.size(); ++i) {
    const std::uint64_t n = m.sum(m.tokens_at + i);
    if (n == 0) continue;
    out += "useradmin_http_token_refusals_total{reason=\"";
    out += kTokenReasons[i];
    out += "\"} " + std::to_string(n) + "\n";
  }

  appendHeader(out, "useradmin_http_open_connections", "gauge",
               "Connections open now (both listeners, refusals being answered excluded).");
  out += "useradmin_http_open_connections " + std::to_string(extras.open_connections) + "\n";

  appendHeader(out, "useradmin_tls_handshake_failures_total", "counter",
               "TLS handshakes that failed or timed out (plaintext clients on the TLS port included).");
  out += "useradmin_tls_handshake_failures_total " + std::to_string(m.sum(m.tls_at)) + "\n";

  const StoreStats& store = extras.store;
  if (store.available) {
    appendHeader(out, "useradmin_store_commits_total", "counter", "Store transactions committed.");
    out += "useradmin_store_commits_total " + std::to_string(store.commits) + "\n";
    appendHeader(out, "useradmin_store_commit_units_total", "counter",
                 "Units of work carried by committed store transactions.");
    out += "useradmin_store_commit_units_total " + std::to_string(store.units) + "\n";
    appendHeader(out, "useradmin_store_failed_commits_total", "counter", "Store transactions that failed to commit.");
    out += "useradmin_store_failed_commits_total " + std::to_string(store.failed_commits) + "\n";
    appendStoreHistogram(out, "useradmin_store_commit_batch_size", "Units of work per committed store transaction.",
                         store.batch_size);
    appendStoreHistogram(out, "useradmin_store_commit_duration_seconds",
                         "Seconds from a store transaction's start to its durable commit.", store.commit_seconds);
    appendStoreHistogram(out, "useradmin_store_sync_duration_seconds",
                         "Seconds spent in the COMMIT statement (the sync to disk).", store.sync_seconds);
    appendHeader(out, "useradmin_store_queue_depth", "gauge", "Units of work waiting for the store's writer.");
    out += "useradmin_store_queue_depth " + std::to_string(store.queue_depth) + "\n";
    appendHeader(out, "useradmin_store_retries_total", "counter",
                 "Units of work run again after a serialization failure or deadlock.");
    out += "useradmin_store_retries_total " + std::to_string(store.retries) + "\n";
    appendHeader(out, "useradmin_store_pool_waits_total", "counter",
                 "Store calls that waited for a pooled database connection.");
    out += "useradmin_store_pool_waits_total " + std::to_string(store.pool_waits) + "\n";
    appendHeader(out, "useradmin_store_pool_wait_seconds_total", "counter",
                 "Seconds store calls spent waiting for a pooled database connection.");
    out += "useradmin_store_pool_wait_seconds_total " + formatDouble(store.pool_wait_seconds) + "\n";
  }

  if (extras.outbox_depth) {
    appendHeader(out, "useradmin_directory_outbox_depth", "gauge",
                 "Directory changes waiting in the outbox for the relay.");
    out += "useradmin_directory_outbox_depth " + std::to_string(*extras.outbox_depth) + "\n";
  }
}

}  // namespace useradmin::beast
