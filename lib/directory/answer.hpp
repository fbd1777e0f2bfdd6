// Turning HTTP outcomes into the core's directory failures, shared by the
// SCIM and Logto clients.
#ifndef USERADMIN_DIRECTORY_ANSWER_HPP
#define USERADMIN_DIRECTORY_ANSWER_HPP

#include <string>

#include "http_client.hpp"
#include "useradmin/result.hpp"

namespace useradmin::directory::detail {

/// `external_error` for a transport failure (no answer).
Error transportFailure(const std::string& directory, const std::string& what, const TransportError& error);

/// `external_error` with reason `rejected` for a non-2xx answer. `summary`
/// is log-safe text about the answer (e.g. the SCIM `scimType`), never the
/// body itself.
Error rejection(const std::string& directory, const std::string& what, const HttpAnswer& answer,
                const std::string& summary);

/// Keeps only [A-Za-z0-9_.-] of an upstream keyword, at most 64 bytes, so it
/// can be logged without carrying upstream text.
std::string logSafeKeyword(const std::string& text);

}  // namespace useradmin::directory::detail

#endif  // USERADMIN_DIRECTORY_ANSWER_HPP
