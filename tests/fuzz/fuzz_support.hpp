// What the libFuzzer harnesses share: the input as text, a fixed clock, the
// keys tokens are signed with, and invariant checks that turn a broken
// promise into a finding (abort, which libFuzzer reports as a crash and
// keeps the input).
#ifndef USERADMIN_TESTS_FUZZ_FUZZ_SUPPORT_HPP
#define USERADMIN_TESTS_FUZZ_FUZZ_SUPPORT_HPP

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "useradmin/clock.hpp"
#include "useradmin/domain.hpp"

namespace useradmin::fuzz {

inline std::string_view asText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz invariant broken: %s [%.*s]\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline void check(bool holds, const char* what, std::string_view detail = {}) {
  if (!holds) fail(what, detail);
}

/// 2026-11-01T10:00:00Z: the time every harness verifies tokens at, so a run
/// is reproducible and the committed tokens (which expire in 2100) stay valid.
inline Timestamp fuzzNow() { return timestampFromMillis(1793527200000); }

class FixedClock final : public Clock {
 public:
  Timestamp now() const override { return fuzzNow(); }
};

/// The HS256 secret of the committed tokens (tests/fuzz/corpus/*).
inline constexpr std::string_view kHs256Secret = "fuzz-hs256-secret-0123456789-abcdefghij";

/// Public halves of throwaway keys that signed the committed ES256 and EdDSA
/// tokens; the private halves were discarded.
inline constexpr std::string_view kEs256PublicPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEnlUXXERuO8LtDEAY1JuORJ7ISUld\n"
    "WsE5CFiYiHTqVHFTuKKHYQpJ5ze5ENuOIixLa9H1Lvvdr25gGXo44TyB4w==\n"
    "-----END PUBLIC KEY-----\n";
inline constexpr std::string_view kEd25519PublicPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAGwPS23HJFqNXtM8PtueM/OLyEoKeXv4mwAe7YoiOBZk=\n"
    "-----END PUBLIC KEY-----\n";

}  // namespace useradmin::fuzz

#endif  // USERADMIN_TESTS_FUZZ_FUZZ_SUPPORT_HPP
