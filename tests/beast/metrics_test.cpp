// GET /metrics on the metrics listener: the exposition text parses strictly,
// and under concurrent load the counters equal what the test sent.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "beast/http_client.hpp"
#include "beast/prometheus_text.hpp"
#include "beast/server_fixture.hpp"
#include "useradmin/beast/metrics.hpp"

namespace useradmin::test {
namespace {

TestServerConfig metricsConfig() {
  TestServerConfig config;
  config.options.metrics_port = 0;
  return config;
}

struct Scrape {
  HttpResponse response;
  PromText text;
};

Scrape scrape(std::uint16_t port) {
  HttpClient client(port, std::chrono::seconds(10), BodyEnding::as_sent);
  Scrape s;
  s.response = client.request(http::verb::get, "/metrics");
  s.text = parsePrometheusText(s.response.body);
  return s;
}

std::string problems(const PromText& text) {
  std::string all;
  for (const auto& p : text.problems) all += p + "\n";
  return all;
}

// Scrapes until `name{labels}` reaches `expected` (the counters are bumped
// after a response is written, so the client may see it a moment earlier).
Scrape scrapeUntil(std::uint16_t port, const std::string& name, const std::map<std::string, std::string>& labels,
                   double expected) {
  Scrape s;
  for (int i = 0; i < 100; ++i) {
    s = scrape(port);
    if (s.text.value(name, labels) == expected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return s;
}

const std::string kReactivate = "/api/users/{id}/reactivate";

}  // namespace

TEST_CASE("metrics: the listener is separate, off by default, and answers only its paths", "[beast][metrics]") {
  SECTION("off by default: no metrics listener, /metrics on the API listener is an unknown route") {
    TestServer server;
    CHECK(server.server().metricsPort() == 0);
    CHECK(server.server().metricsUrl().empty());
    HttpClient client(server.port());
    CHECK(client.request(http::verb::get, "/metrics").status == 404);
  }
  SECTION("on: its own port; /metrics there, not on the API port") {
    TestServer server(metricsConfig());
    const auto port = server.server().metricsPort();
    REQUIRE(port != 0);
    CHECK(port != server.port());
    CHECK(server.server().metricsUrl() == "http://127.0.0.1:" + std::to_string(port) + "/metrics");
    HttpClient api(server.port());
    CHECK(api.request(http::verb::get, "/metrics").status == 404);

    HttpClient metrics(port, std::chrono::seconds(10), BodyEnding::as_sent);
    const auto ok = metrics.request(http::verb::get, "/metrics");
    CHECK(ok.status == 200);
    CHECK(ok.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
    const auto head = (metrics.send(http::verb::head, "/metrics"), metrics.receive(true));
    CHECK(head.status == 200);
    const auto post = metrics.request(http::verb::post, "/metrics");
    CHECK(post.status == 405);
    CHECK(post.header("allow") == "GET, HEAD");
    CHECK(metrics.request(http::verb::get, "/api/users/usr_1").status == 404);  // no API here
    CHECK(metrics.request(http::verb::get, "/healthz").status == 200);
    CHECK(metrics.request(http::verb::get, "/readyz").status == 200);
  }
}

TEST_CASE("metrics: every line of a scrape parses strictly and follows the naming conventions", "[beast][metrics]") {
  TestServerConfig config = metricsConfig();
  config.options.client_rate_limit = beast::RateLimit{1000, 1000};
  StoreStats stats;
  stats.available = true;
  stats.commits = 7;
  stats.units = 19;
  stats.failed_commits = 1;
  stats.batch_size = {{1, 2, 4, 8}, {2, 3, 1, 1, 0}, 19, 7};
  stats.commit_seconds = {{0.001, 0.01}, {5, 1, 1}, 0.5, 7};
  stats.queue_depth = 3;
  stats.retries = 4;
  stats.pool_waits = 2;
  stats.pool_wait_seconds = 0.25;
  config.options.store_stats = [stats] { return stats; };
  config.options.directory_outbox_depth = [] { return std::optional<std::uint64_t>(42); };
  TestServer server(config);

  HttpClient client(server.port());
  CHECK(client.request(http::verb::patch, reactivatePath("usr_123456789")).status == 401);
  CHECK(client.request(http::verb::patch, reactivatePath("usr_123456789"), {bearer("not-a-jwt")}).status == 401);
  CHECK(client.request(http::verb::patch, reactivatePath("usr_123456789"), {bearer(tokenFor("usr_root"))}).status ==
        200);
  CHECK(client.request(http::verb::delete_, reactivatePath("usr_123456789")).status == 405);
  CHECK(client.request(http::verb::get, "/nowhere").status == 404);
  CHECK(client.request(http::verb::get, "/healthz").status == 200);

  // A request is counted once its response is written, which may be just
  // after the client read it: wait for the last one (one connection, so
  // every earlier one is counted by then).
  const auto s = scrapeUntil(server.server().metricsPort(), "useradmin_http_requests_total",
                             {{"route", "/healthz"}, {"status", "200"}}, 1);
  REQUIRE(s.response.status == 200);
  INFO(s.response.body);
  CHECK(problems(s.text).empty());

  // Names: our prefix, counters end in _total, durations in _seconds.
  for (const auto& f : s.text.families) {
    CHECK(f.name.rfind("useradmin_", 0) == 0);
    CHECK_FALSE(f.help.empty());
    if (f.type == "counter") CHECK(f.name.size() > 6);
    if (f.type == "counter") CHECK(f.name.compare(f.name.size() - 6, 6, "_total") == 0);
    if (f.name.find("duration") != std::string::npos) CHECK(f.name.compare(f.name.size() - 8, 8, "_seconds") == 0);
  }

  const auto count = [&](const std::string& route, const std::string& method, const std::string& status) {
    return s.text.value("useradmin_http_requests_total", {{"route", route}, {"method", method}, {"status", status}});
  };
  CHECK(count(kReactivate, "PATCH", "401") == 2);
  CHECK(count(kReactivate, "PATCH", "200") == 1);
  CHECK(count("unmatched", "DELETE", "405") == 1);  // no route for the method: unmatched
  CHECK(count("unmatched", "GET", "404") == 1);
  CHECK(count("/healthz", "GET", "200") == 1);
  CHECK(s.text.value("useradmin_http_token_refusals_total", {{"reason", "missing_credentials"}}) == 1);
  CHECK(s.text.value("useradmin_http_token_refusals_total", {{"reason", "malformed"}}) == 1);
  CHECK(s.text.value("useradmin_http_request_duration_seconds_count", {{"route", kReactivate}}) == 3);
  CHECK(s.text.value("useradmin_http_rate_limit_refusals_total", {{"limiter", "client"}}) == 0);
  CHECK(s.text.value("useradmin_http_open_connections") >= 1);  // this scrape's own connection at least

  // The store's statistics, converted to cumulative buckets.
  CHECK(s.text.value("useradmin_store_commits_total") == 7);
  CHECK(s.text.value("useradmin_store_commit_units_total") == 19);
  CHECK(s.text.value("useradmin_store_failed_commits_total") == 1);
  CHECK(s.text.value("useradmin_store_commit_batch_size_bucket", {{"le", "2"}}) == 5);
  CHECK(s.text.value("useradmin_store_commit_batch_size_bucket", {{"le", "+Inf"}}) == 7);
  CHECK(s.text.value("useradmin_store_commit_duration_seconds_bucket", {{"le", "0.01"}}) == 6);
  CHECK(s.text.value("useradmin_store_queue_depth") == 3);
  CHECK(s.text.value("useradmin_store_retries_total") == 4);
  CHECK(s.text.value("useradmin_store_pool_waits_total") == 2);
  CHECK(s.text.value("useradmin_store_pool_wait_seconds_total").value_or(-1) == Approx(0.25));
  CHECK(s.text.family("useradmin_store_sync_duration_seconds") == nullptr);  // empty histogram: skipped
  CHECK(s.text.value("useradmin_directory_outbox_depth") == 42);
}

TEST_CASE("metrics: store families are skipped when the store measures nothing", "[beast][metrics]") {
  TestServerConfig config = metricsConfig();
  config.options.store_stats = [] { return StoreStats{}; };  // available = false
  TestServer server(config);
  const auto s = scrape(server.server().metricsPort());
  CHECK(problems(s.text).empty());
  for (const auto& f : s.text.families) CHECK(f.name.rfind("useradmin_store_", 0) != 0);
  CHECK(s.text.family("useradmin_directory_outbox_depth") == nullptr);
}

TEST_CASE("metrics: rate-limit refusals are counted per limiter", "[beast][metrics]") {
  TestServerConfig config = metricsConfig();
  config.options.client_rate_limit = beast::RateLimit{0.001, 2};
  TestServer server(config);
  HttpClient client(server.port());
  for (int i = 0; i < 5; ++i) client.request(http::verb::patch, reactivatePath("usr_123456789"));
  const auto s = scrapeUntil(server.server().metricsPort(), "useradmin_http_rate_limit_refusals_total",
                             {{"limiter", "client"}}, 3);
  CHECK(problems(s.text).empty());
  CHECK(s.text.value("useradmin_http_rate_limit_refusals_total", {{"limiter", "client"}}) == 3);
  // Refused before routing: no route label to give them.
  CHECK(s.text.value("useradmin_http_requests_total", {{"route", "unmatched"}, {"status", "429"}}) == 3);
  CHECK(s.text.value("useradmin_http_requests_total", {{"route", kReactivate}, {"status", "401"}}) == 2);
}

TEST_CASE("metrics: a connection refused 503 at the limit counts as unmatched", "[beast][metrics]") {
  TestServerConfig config = metricsConfig();
  config.options.max_connections = 2;
  config.options.evict_idle_after = std::chrono::seconds(60);
  TestServer server(config);
  {
    RawConnection first(server.port());
    RawConnection second(server.port());
    for (int i = 0; i < 200 && server.server().connectionCount() < 2; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    RawConnection refused(server.port());
    CHECK(rawStatus(refused.readUntilClosed().data) == 503);
  }
  for (int i = 0; i < 200 && server.server().connectionCount() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto s = scrapeUntil(server.server().metricsPort(), "useradmin_http_requests_total",
                             {{"route", "unmatched"}, {"status", "503"}}, 1);
  CHECK(problems(s.text).empty());
  CHECK(s.text.value("useradmin_http_requests_total", {{"route", "unmatched"}, {"status", "503"}}) == 1);
  CHECK(s.text.value("useradmin_http_request_duration_seconds_count", {{"route", kReactivate}}) == 0);
}

TEST_CASE("metrics: under concurrent load the request counter equals the requests sent", "[beast][metrics]") {
  TestServerConfig config = metricsConfig();
  config.options.io_threads = 2;
  TestServer server(config);
  constexpr int kClients = 16;
  constexpr int kPerClient = 200;
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      try {
        HttpClient client(server.port());
        for (int i = 0; i < kPerClient; ++i) {
          // Half without a token (401), half to an unknown path (404).
          const bool unknown = (i + c) % 2 == 0;
          const auto r = unknown ? client.request(http::verb::get, "/api/nothing")
                                 : client.request(http::verb::patch, reactivatePath("usr_" + std::to_string(i)));
          if (r.status != (unknown ? 404u : 401u)) ++wrong;
        }
      } catch (...) {
        wrong += 1000;
      }
    });
  }
  // Scrapes while the load runs: each one parses.
  int scrapes = 0;
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done) {
      const auto s = scrape(server.server().metricsPort());
      if (!s.text.problems.empty() || s.response.status != 200) wrong += 1;
      ++scrapes;
    }
  });
  for (auto& t : clients) t.join();
  done = true;
  scraper.join();
  CHECK(wrong == 0);
  CHECK(scrapes > 0);

  constexpr int kTotal = kClients * kPerClient;
  const auto s =
      scrapeUntil(server.server().metricsPort(), "useradmin_http_request_duration_seconds_count", {{"route", kReactivate}},
                  kTotal / 2);
  CHECK(problems(s.text).empty());
  const auto v401 =
      s.text.value("useradmin_http_requests_total", {{"route", kReactivate}, {"method", "PATCH"}, {"status", "401"}});
  const auto v404 =
      s.text.value("useradmin_http_requests_total", {{"route", "unmatched"}, {"method", "GET"}, {"status", "404"}});
  CHECK(v401 == kTotal / 2);
  CHECK(v404 == kTotal / 2);
  CHECK(s.text.value("useradmin_http_token_refusals_total", {{"reason", "missing_credentials"}}) == kTotal / 2);
  CHECK(s.text.value("useradmin_http_request_duration_seconds_count", {{"route", kReactivate}}) == kTotal / 2);
  CHECK(s.text.value("useradmin_http_request_duration_seconds_count", {{"route", "unmatched"}}) == kTotal / 2);
  // Every API request sent and nothing else on the API routes.
  double api_total = 0;
  for (const auto& sample : s.text.family("useradmin_http_requests_total")->samples)
    if (sample.labels.at("route") != "/metrics") api_total += sample.value;
  CHECK(api_total == kTotal);
}

TEST_CASE("metrics: label values are escaped (a base path with quotes and backslashes)", "[beast][metrics]") {
  beast::Metrics metrics("/we\"ird\\base", beast::apiRoutes());
  metrics.recordRequest(metrics.routeSlot(&beast::apiRoutes()[0]), "PATCH", 200, 1'000'000);
  metrics.recordRequest(metrics.specialSlot(beast::Metrics::Special::unmatched), "BREW", 418, 20'000'000'000ull);
  metrics.recordTokenRefusal("a reason nobody knows");
  std::string text;
  metrics.render({}, text);
  const auto parsed = parsePrometheusText(text);
  INFO(text);
  CHECK(problems(parsed).empty());
  const std::string route = "/we\"ird\\base" + std::string(beast::apiRoutes()[0].pattern);
  CHECK(parsed.value("useradmin_http_requests_total", {{"route", route}, {"status", "200"}}) == 1);
  // Unknown method, status and reason fold into "other": bounded labels.
  CHECK(parsed.value("useradmin_http_requests_total", {{"method", "other"}, {"status", "other"}}) == 1);
  CHECK(parsed.value("useradmin_http_token_refusals_total", {{"reason", "other"}}) == 1);
  // 1 ms lands in the 0.001 bucket; 20 s only in +Inf.
  CHECK(parsed.value("useradmin_http_request_duration_seconds_bucket", {{"route", route}, {"le", "0.001"}}) == 1);
  CHECK(parsed.value("useradmin_http_request_duration_seconds_bucket", {{"route", route}, {"le", "0.0005"}}) == 0);
  CHECK(parsed.value("useradmin_http_request_duration_seconds_bucket", {{"route", "unmatched"}, {"le", "10"}}) == 0);
  CHECK(parsed.value("useradmin_http_request_duration_seconds_bucket", {{"route", "unmatched"}, {"le", "+Inf"}}) ==
        1);
  CHECK(parsed.value("useradmin_http_request_duration_seconds_sum", {{"route", "unmatched"}}) == 20);
}

TEST_CASE("metrics: the strict parser refuses what the format does not allow", "[beast][metrics]") {
  // The checker itself must be able to fail.
  CHECK_FALSE(parsePrometheusText("x_total 1\n").problems.empty());                              // no TYPE
  CHECK_FALSE(parsePrometheusText("# TYPE x counter\nx{a=\"b\\q\"} 1\n").problems.empty());     // bad escape
  CHECK_FALSE(parsePrometheusText("# TYPE x counter\nx 1\n# TYPE y gauge\ny 1\nx 2\n").problems.empty());
  CHECK_FALSE(parsePrometheusText("# TYPE x counter\nx one\n").problems.empty());
  CHECK_FALSE(parsePrometheusText("# TYPE x counter\nx 1").problems.empty());  // no final newline
  CHECK_FALSE(parsePrometheusText("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                                  "h_sum 1\nh_count 1\n")
                  .problems.empty());  // not cumulative
  CHECK_FALSE(parsePrometheusText("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                                  "h_sum 1\nh_count 3\n")
                  .problems.empty());  // +Inf != count
  CHECK(parsePrometheusText("# HELP x A counter.\n# TYPE x counter\nx{a=\"q\\\"\\\\\\n\"} 1\n").problems.empty());
}

}  // namespace useradmin::test
