// GET of one document over HTTP(S) with the directory clients' HTTP/TLS
// client (certificate and host name verified, one deadline per call). Used
// by the example server to fetch an issuer's JWK Set (--jwks-url); the JWT
// component itself does no networking.
#ifndef USERADMIN_DIRECTORY_DOCUMENT_FETCHER_HPP
#define USERADMIN_DIRECTORY_DOCUMENT_FETCHER_HPP

#include <memory>
#include <string>

#include "useradmin/directory/directory_clients.hpp"
#include "useradmin/export.hpp"
#include "useradmin/result.hpp"

namespace useradmin::directory {

/// A 200 answer.
struct FetchedDocument {
  std::string body;
  /// The answer's Cache-Control header as sent; empty when absent.
  std::string cache_control;
};

/// Fetches one URL again and again over a pooled keep-alive connection.
class USERADMIN_API DocumentFetcher {
 public:
  /// `url` is `http[s]://host[:port][/path]` (no user-info, query or
  /// fragment). `invalid_argument` for a malformed URL, `internal` when the
  /// CA file cannot be loaded.
  static Result<std::unique_ptr<DocumentFetcher>> create(const std::string& url, HttpOptions options);

  DocumentFetcher() = default;
  DocumentFetcher(const DocumentFetcher&) = delete;
  DocumentFetcher& operator=(const DocumentFetcher&) = delete;
  virtual ~DocumentFetcher();

  /// One GET within the timeout; blocks the calling thread. `unavailable`
  /// (detail log-safe: no body) on a transport failure, an untrusted
  /// certificate or host name, a timeout, or a status other than 200.
  /// Safe to call from several threads.
  virtual Result<FetchedDocument> get() = 0;
};

}  // namespace useradmin::directory

#endif  // USERADMIN_DIRECTORY_DOCUMENT_FETCHER_HPP
