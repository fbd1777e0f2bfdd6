// Request ids: accept a sane client-supplied X-Request-Id or make a fresh one.
#ifndef USERADMIN_BEAST_REQUEST_ID_HPP
#define USERADMIN_BEAST_REQUEST_ID_HPP

#include <cstddef>
#include <string>
#include <string_view>

#include "useradmin/export.hpp"

namespace useradmin::beast {

/// Longest client-supplied request id that is echoed.
inline constexpr std::size_t kMaxRequestIdLength = 128;

/// True when `id` is 1-128 characters of `A-Z a-z 0-9 . _ ~ -`: safe to echo
/// in a header and to store in the audit log as it is.
USERADMIN_API bool isSaneRequestId(std::string_view id) noexcept;

/// A fresh request id such as `5f3a9c0e1b2d4a67-1a2b`: a random 64-bit
/// prefix drawn once per thread, then a per-thread counter, both in hex.
/// Unique within the process (and, with overwhelming probability, across
/// processes); costs no system call after a thread's first id.
USERADMIN_API std::string generateRequestId();

/// The id to use for a request: `client_id` when sane, else a fresh one.
USERADMIN_API std::string chooseRequestId(std::string_view client_id);

/// chooseRequestId into `out`, reusing its capacity (no allocation once a
/// connection has served a request).
USERADMIN_API void assignRequestId(std::string& out, std::string_view client_id);

}  // namespace useradmin::beast

#endif  // USERADMIN_BEAST_REQUEST_ID_HPP
