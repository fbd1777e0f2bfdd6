// The real directory clients behind the core's DirectorySync: SCIM 2.0 and
// the Logto Management API (directory.md §2).
#ifndef USERADMIN_DIRECTORY_DIRECTORY_CLIENTS_HPP
#define USERADMIN_DIRECTORY_DIRECTORY_CLIENTS_HPP

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "useradmin/directory_sync.hpp"
#include "useradmin/export.hpp"
#include "useradmin/result.hpp"

namespace useradmin::directory {

/// How every call reaches the directory.
struct HttpOptions {
  /// Per call, from connecting to the last byte of the answer.
  std::chrono::milliseconds timeout{5'000};
  /// An extra PEM CA bundle trusted for `https`, besides the system store.
  std::optional<std::string> ca_file;
};

/// A SCIM 2.0 service (RFC 7644): `PATCH {url}/Users/{external_id}`.
struct ScimOptions {
  /// `http://` or `https://` base URL, e.g. `https://idp.example/scim/v2`.
  /// No user-info part: credentials go in `bearer_token`.
  std::string url;
  std::string bearer_token;
  HttpOptions http;
};

/// The Logto Management API: `PATCH {url}/api/users/{external_id}/is-suspended`
/// with a machine-to-machine token from `POST {url}/oidc/token`.
struct LogtoOptions {
  std::string url;
  std::string client_id;
  std::string client_secret;
  /// The API resource indicator, e.g. `https://default.logto.app/api`.
  std::string resource;
  HttpOptions http;
};

/// A SCIM client. `invalid_argument` for a malformed URL or empty token,
/// `internal` when the CA file cannot be loaded. Thread-safe: concurrent
/// calls each take a pooled keep-alive connection. Calls block the calling
/// thread (a worker, never an I/O thread) for at most the timeout.
USERADMIN_API Result<std::unique_ptr<DirectorySync>> makeScimDirectory(ScimOptions options);

/// A Logto client; same contract as makeScimDirectory. The token is cached
/// until 30 s before it expires and fetched again once on a 401.
USERADMIN_API Result<std::unique_ptr<DirectorySync>> makeLogtoDirectory(LogtoOptions options);

}  // namespace useradmin::directory

#endif  // USERADMIN_DIRECTORY_DIRECTORY_CLIENTS_HPP
