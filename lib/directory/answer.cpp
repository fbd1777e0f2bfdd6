#include "answer.hpp"

#include <cctype>

namespace useradmin::directory::detail {

Error transportFailure(const std::string& directory, const std::string& what, const TransportError& error) {
  return Error::directoryFailed({directory, error.reason, std::nullopt, std::nullopt},
                                directory + " " + what + ": " + toString(error.reason) + " (" + error.detail + ")");
}

Error rejection(const std::string& directory, const std::string& what, const HttpAnswer& answer,
                const std::string& summary) {
  std::string detail = directory + " " + what + ": HTTP " + std::to_string(answer.status);
  if (!summary.empty()) detail += " (" + summary + ")";
  return Error::directoryFailed(
      {directory, DirectoryFailureReason::rejected, static_cast<int>(answer.status), answer.retry_after}, detail);
}

std::string logSafeKeyword(const std::string& text) {
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (out.size() >= 64) break;
    if (std::isalnum(c) != 0 || c == '_' || c == '.' || c == '-') out += static_cast<char>(c);
  }
  return out;
}

}  // namespace useradmin::directory::detail
