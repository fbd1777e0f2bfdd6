// What metrics cost per request on the hot path: the counters a 401 bumps
// (request by route/method/status, latency bucket and sum, token refusal
// reason), alone and from several threads at once; and a full render.
#include <benchmark/benchmark.h>

#include <string>

#include "useradmin/beast/api.hpp"
#include "useradmin/beast/metrics.hpp"

using namespace useradmin;

namespace {

beast::Metrics& metrics() {
  static beast::Metrics instance("/api", beast::apiRoutes());
  return instance;
}

void BM_MetricsRecordUnauthorized(benchmark::State& state) {
  beast::Metrics& m = metrics();
  const std::size_t slot = m.routeSlot(&beast::apiRoutes()[0]);
  std::uint64_t latency = 180'000;
  for (auto _ : state) {
    m.recordRequest(slot, "PATCH", 401, latency);
    m.recordTokenRefusal("bad_signature");
    latency ^= 1;
  }
}
BENCHMARK(BM_MetricsRecordUnauthorized)->Threads(1)->Threads(2)->Threads(4);

void BM_MetricsRender(benchmark::State& state) {
  beast::Metrics& m = metrics();
  std::string out;
  for (auto _ : state) {
    out.clear();
    m.render({}, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_MetricsRender);

}  // namespace
