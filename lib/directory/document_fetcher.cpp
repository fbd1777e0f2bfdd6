#include "useradmin/directory/document_fetcher.hpp"

#include <utility>

#include "http_client.hpp"

namespace useradmin::directory {

DocumentFetcher::~DocumentFetcher() = default;

namespace {

// The HTTP client words its failures for directory calls ("connecting to
// the directory"); this peer is whatever server the URL names.
std::string peerNeutral(std::string text) {
  for (const std::string from : {"the directory's", "the directory host", "the directory"}) {
    const std::string to = from == "the directory's"      ? "the server's"
                           : from == "the directory host" ? "the host"
                                                          : "the server";
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  }
  return text;
}

class HttpDocumentFetcher final : public DocumentFetcher {
 public:
  HttpDocumentFetcher(std::unique_ptr<detail::HttpClient> client, std::string shown)
      : client_(std::move(client)), shown_(std::move(shown)) {}

  Result<FetchedDocument> get() override {
    detail::HttpRequest request;
    request.method = "GET";
    request.target = client_->url().path.empty() ? "/" : client_->url().path;
    detail::HttpOutcome outcome = client_->send(request);
    if (const auto* failed = std::get_if<detail::TransportError>(&outcome))
      return Error::unavailable("GET " + shown_ + " failed: " + peerNeutral(failed->detail));
    auto& answer = std::get<detail::HttpAnswer>(outcome);
    if (answer.status != 200)
      return Error::unavailable("GET " + shown_ + " answered HTTP " + std::to_string(answer.status));
    return FetchedDocument{std::move(answer.body), std::move(answer.cache_control)};
  }

 private:
  std::unique_ptr<detail::HttpClient> client_;
  std::string shown_;  // scheme, host, port and path: what log lines name
};

}  // namespace

Result<std::unique_ptr<DocumentFetcher>> DocumentFetcher::create(const std::string& url, HttpOptions options) {
  auto parsed = detail::parseBaseUrl(url);
  if (!parsed) return std::move(parsed).error();
  auto client = detail::HttpClient::create(*parsed, std::move(options));
  if (!client) return std::move(client).error();
  return std::unique_ptr<DocumentFetcher>(std::make_unique<HttpDocumentFetcher>(std::move(*client), url));
}

}  // namespace useradmin::directory
