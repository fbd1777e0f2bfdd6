// Serializing the response envelopes: the per-request JSON cost of the adapter.
#include <benchmark/benchmark.h>

#include "support/fixtures.hpp"
#include "useradmin/beast/envelope.hpp"

using namespace useradmin;

namespace {

void BM_EnvelopeReactivatedUser(benchmark::State& state) {
  const User user = test::makeUser("usr_123456789", "org_c1", {"support"});
  for (auto _ : state) benchmark::DoNotOptimize(beast::userEnvelope(user));
}
BENCHMARK(BM_EnvelopeReactivatedUser);

void BM_EnvelopeNotSuspended(benchmark::State& state) {
  const Error error = Error::failedPrecondition({"status", "not_suspended", "active"}, "not_suspended");
  for (auto _ : state) benchmark::DoNotOptimize(beast::errorEnvelope(error));
}
BENCHMARK(BM_EnvelopeNotSuspended);

void BM_EnvelopeNotFound(benchmark::State& state) {
  const Error error = Error::notFound("usr_123456789", "outside_hierarchy");
  for (auto _ : state) benchmark::DoNotOptimize(beast::errorEnvelope(error));
}
BENCHMARK(BM_EnvelopeNotFound);

void BM_EnvelopeInvalidToken(benchmark::State& state) {
  const Error error = Error::unauthenticated("bad_signature");
  for (auto _ : state) benchmark::DoNotOptimize(beast::errorEnvelope(error));
}
BENCHMARK(BM_EnvelopeInvalidToken);

}  // namespace
