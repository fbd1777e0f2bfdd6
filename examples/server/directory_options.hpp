// The directory flags of useradmin-server (directory.md §5), kept apart
// from the other flags: parsing, start-up validation and building the
// client.
#ifndef USERADMIN_EXAMPLES_SERVER_DIRECTORY_OPTIONS_HPP
#define USERADMIN_EXAMPLES_SERVER_DIRECTORY_OPTIONS_HPP

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "useradmin/directory_sync.hpp"
#include "useradmin/result.hpp"

namespace useradmin::server {

enum class DirectoryKind { none, scim, logto };

struct DirectoryFlags {
  DirectoryKind kind = DirectoryKind::none;
  std::optional<std::string> url;
  std::optional<std::string> token_file;
  std::optional<std::string> client_id;
  std::optional<std::string> client_secret_file;
  std::optional<std::string> resource;
  std::chrono::milliseconds timeout{5'000};
  std::optional<std::string> ca_file;
};

/// `--directory*` flag name -> setter (false on a malformed value).
std::map<std::string, std::function<bool(const std::string&)>> directoryFlagSetters(DirectoryFlags& flags);

/// A bad combination (a client without its URL or credentials, credentials
/// without a client): the one-line usage message; empty when fine.
std::string checkDirectoryFlags(const DirectoryFlags& flags);

/// The --help lines of the directory flags.
const char* directoryUsageText();

/// The configured client (null for `none`), its secrets read from their
/// files. An error names the file or the refused URL, never a secret.
Result<std::unique_ptr<DirectorySync>> makeDirectory(const DirectoryFlags& flags);

}  // namespace useradmin::server

#endif  // USERADMIN_EXAMPLES_SERVER_DIRECTORY_OPTIONS_HPP
