#include "useradmin/directory/document_fetcher.hpp"

#include <utility>

#include "http_client.hpp"

namespace useradmin::directory {

DocumentFetcher::~DocumentFetcher() = default;

namespace {

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
      return Error::unavailable("GET " + shown_ + " failed: " + failed->detail);
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
