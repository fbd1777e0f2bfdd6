#include "useradmin/jwt/remote_jwks.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "jwks.hpp"
#include "keys.hpp"
#include "verifier.hpp"

namespace useradmin {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The `max-age` of a Cache-Control value in seconds; nullopt when absent or
// malformed. Sets `no_cache` for `no-store` and `no-cache`.
std::optional<long long> maxAge(const std::string& value, bool& no_cache) {
  no_cache = false;
  std::optional<long long> age;
  std::size_t pos = 0;
  while (pos <= value.size()) {
    std::size_t comma = value.find(',', pos);
    if (comma == std::string::npos) comma = value.size();
    std::string directive = value.substr(pos, comma - pos);
    pos = comma + 1;
    // Trim and lower-case the name (values here are digits only).
    const auto first = directive.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    directive = directive.substr(first, directive.find_last_not_of(" \t") - first + 1);
    for (char& c : directive) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (directive == "no-store" || directive == "no-cache" || directive.rfind("no-cache=", 0) == 0) {
      no_cache = true;
      continue;
    }
    if (directive.rfind("max-age=", 0) != 0) continue;
    std::string number = directive.substr(8);
    if (number.size() >= 2 && number.front() == '"' && number.back() == '"')
      number = number.substr(1, number.size() - 2);
    if (number.empty() || number.size() > 12 || number.find_first_not_of("0123456789") != std::string::npos) {
      age.reset();  // a malformed max-age: as if there were none (RFC 9111 §4.2.1)
      continue;
    }
    age = std::stoll(number);
  }
  return age;
}

// Text from the fetched document (kids, and key errors quoting them) made
// safe for a log line: printable ASCII only, other bytes as '?', cut to
// `limit` characters.
std::string printable(const std::string& text, std::size_t limit) {
  std::string out;
  for (const char c : text) {
    if (out.size() == limit) {
      out += "...";
      break;
    }
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

std::string listKids(const std::vector<std::string>& kids) {
  std::string text;
  for (const auto& kid : kids) {
    if (!text.empty()) text += ", ";
    text += kid.empty() ? std::string("(no kid)") : "\"" + printable(kid, 64) + "\"";
  }
  return text.empty() ? std::string("none") : text;
}

std::string showSeconds(milliseconds d) {
  const long long ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s";
}

// One usable key set: what verify() runs against.
struct KeySet {
  std::unique_ptr<TokenVerifier> verifier;
  std::vector<std::string> kids;
  std::string body;  // to tell a changed document from the same one again
};

class RemoteVerifier final : public RemoteJwksVerifier {
 public:
  RemoteVerifier(JwtVerifierOptions base, RemoteJwksOptions remote)
      : base_(std::move(base)), remote_(std::move(remote)) {}

  ~RemoteVerifier() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  // The first fetch, on the caller's thread; then the background thread.
  Status start() {
    const Clock::time_point now = Clock::now();
    std::string problem;
    std::optional<milliseconds> delay = fetchOnce(problem);
    if (!delay) return Error::unavailable("first fetch of the JWK Set from " + remote_.name + " failed: " + problem);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last_attempt_ = now;
      next_fetch_ = now + *delay;
    }
    worker_ = std::thread([this] { run(); });
    return okStatus();
  }

  Result<VerifiedToken> verify(std::string_view token, Timestamp now) const override {
    std::shared_ptr<const KeySet> set = current();
    Result<VerifiedToken> result = set->verifier->verify(token, now);
    if (!result && result.error().reason == "unknown_kid") askForRefetch();
    return result;
  }

  RemoteJwksStats stats() const override {
    RemoteJwksStats out;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      out.fetches = fetches_;
      out.failures = failures_;
      out.changes = changes_;
    }
    out.kids = current()->kids;
    return out;
  }

 private:
  std::shared_ptr<const KeySet> current() const {
    std::lock_guard<std::mutex> lock(current_mutex_);
    return current_;
  }

  void askForRefetch() const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (kid_refetch_wanted_) return;
      kid_refetch_wanted_ = true;
    }
    wake_.notify_all();
  }

  void log(const std::string& line) const {
    if (!remote_.log) return;
    try {
      remote_.log(line);
    } catch (...) {  // a failing log sink must not stop the refreshes
    }
  }

  // Fetches, checks and installs one document. The refresh delay it asks
  // for on success; nullopt (with `problem`) on failure.
  std::optional<milliseconds> fetchOnce(std::string& problem) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++fetches_;
    }
    Result<JwksDocument> document = [&]() -> Result<JwksDocument> {
      try {
        return remote_.fetch();
      } catch (const std::exception& e) {
        return Error::internal(std::string("the fetch threw: ") + e.what());
      }
    }();
    std::optional<KeySet> set;
    if (!document) {
      problem = document.error().detail.empty() ? document.error().message : document.error().detail;
    } else {
      auto keys = detail::keysFromJwks(document->body, base_.min_secret_size, remote_.name);
      if (!keys) {
        const Error& e = keys.error();
        problem = "the document is not a usable JWK Set: " +
                  (e.fields.empty() ? e.detail : e.fields.front().key + ": " + e.fields.front().message);
      } else {
        set.emplace();
        for (const auto& key : *keys) set->kids.push_back(key.hasKid() ? key.kid() : std::string());
        set->body = document->body;
        set->verifier = detail::makeVerifierFromKeys(std::move(keys.value()), base_);
      }
    }
    if (!set) {
      problem = printable(problem, 1024);
      std::lock_guard<std::mutex> lock(mutex_);
      ++failures_;
      return std::nullopt;
    }

    const milliseconds delay = jwksRefreshInterval(document->cache_control, remote_);
    std::shared_ptr<const KeySet> previous = current();
    auto next = std::make_shared<const KeySet>(std::move(*set));
    {
      std::lock_guard<std::mutex> lock(current_mutex_);
      current_ = next;
    }
    if (!previous) {
      log("JWKS " + remote_.name + ": loaded " + std::to_string(next->kids.size()) + " key(s), kid " +
          listKids(next->kids) + "; next refresh in " + showSeconds(delay));
    } else if (previous->body != next->body) {
      std::vector<std::string> added, removed;
      const std::multiset<std::string> before(previous->kids.begin(), previous->kids.end());
      const std::multiset<std::string> after(next->kids.begin(), next->kids.end());
      std::set_difference(after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(added));
      std::set_difference(before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(removed));
      std::string what = added.empty() && removed.empty()
                             ? std::string("key material changed under the same kids")
                             : "added kid " + listKids(added) + ", removed kid " + listKids(removed);
      log("JWKS " + remote_.name + ": key set changed: " + what + "; now " + std::to_string(next->kids.size()) +
          " key(s), kid " + listKids(next->kids) + "; next refresh in " + showSeconds(delay));
      std::lock_guard<std::mutex> lock(mutex_);
      ++changes_;
    }
    return delay;
  }

  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      Clock::time_point due = next_fetch_;
      if (kid_refetch_wanted_) due = std::min(due, last_attempt_ + remote_.unknown_kid_interval);
      const Clock::time_point now = Clock::now();
      if (now < due) {
        wake_.wait_until(lock, due);
        continue;
      }
      const bool for_kid = kid_refetch_wanted_ && now >= last_attempt_ + remote_.unknown_kid_interval &&
                           now < next_fetch_;
      last_attempt_ = now;
      lock.unlock();
      std::string problem;
      std::optional<milliseconds> delay;
      try {
        delay = fetchOnce(problem);
      } catch (const std::exception& e) {  // memory exhaustion: a failed fetch, not a dead thread
        problem = std::string("internal error: ") + e.what();
        std::lock_guard<std::mutex> counted(mutex_);
        ++failures_;
      }
      lock.lock();
      // This fetch answers every unknown-kid request made before it ended
      // (those made while it ran did not wake anyone: the flag was set).
      kid_refetch_wanted_ = false;
      if (delay) {
        const int failed_before = consecutive_failures_;
        consecutive_failures_ = 0;
        next_fetch_ = now + *delay;
        if (failed_before > 0) {
          lock.unlock();
          log("JWKS " + remote_.name + ": fetched again after " + std::to_string(failed_before) +
              " failed attempt(s); next refresh in " + showSeconds(*delay));
          lock.lock();
        }
        continue;
      }
      milliseconds retry = remote_.retry_min;
      for (int i = 0; i < consecutive_failures_ && retry < remote_.retry_max; ++i) retry *= 2;
      retry = std::min(retry, remote_.retry_max);
      ++consecutive_failures_;
      next_fetch_ = now + retry;
      const std::size_t kept = current()->kids.size();
      lock.unlock();
      log("JWKS " + remote_.name + ": " + (for_kid ? "refetch for an unknown kid" : "refresh") +
          " failed: " + problem + "; still using the last good set (" + std::to_string(kept) +
          " key(s)); retry in " + showSeconds(retry));
      lock.lock();
    }
  }

  const JwtVerifierOptions base_;
  const RemoteJwksOptions remote_;

  mutable std::mutex current_mutex_;  // guards only the pointer swap
  std::shared_ptr<const KeySet> current_;

  mutable std::mutex mutex_;  // the schedule and the counters
  mutable std::condition_variable wake_;
  mutable bool kid_refetch_wanted_ = false;
  bool stop_ = false;
  Clock::time_point last_attempt_{};
  Clock::time_point next_fetch_{};
  int consecutive_failures_ = 0;
  std::uint64_t fetches_ = 0;
  std::uint64_t failures_ = 0;
  std::uint64_t changes_ = 0;
  std::thread worker_;
};

}  // namespace

milliseconds jwksRefreshInterval(const std::string& cache_control, const RemoteJwksOptions& options) {
  bool no_cache = false;
  const std::optional<long long> age = maxAge(cache_control, no_cache);
  if (no_cache) return options.min_refresh;
  milliseconds delay = options.default_refresh;
  if (age) {
    // 90 % of the lifetime, computed without overflow for huge max-age values.
    const long long capped = std::min<long long>(*age, 10LL * 365 * 24 * 3600);
    delay = milliseconds(capped * 900);
  }
  return std::clamp(delay, options.min_refresh, options.max_refresh);
}

Result<std::unique_ptr<RemoteJwksVerifier>> makeRemoteJwksVerifier(JwtVerifierOptions base,
                                                                   RemoteJwksOptions remote) {
  try {
    if (!base.keys.empty())
      return detail::verifierOptionError("keys", "static keys cannot be combined with a fetched JWK Set");
    if (auto checked = detail::checkVerifierOptions(base); !checked) return std::move(checked).error();
    if (!remote.fetch) return detail::verifierOptionError("fetch", "no fetch function given");
    const milliseconds zero{0};
    if (remote.min_refresh <= zero || remote.max_refresh < remote.min_refresh)
      return detail::verifierOptionError("min_refresh", "need 0 < min_refresh <= max_refresh");
    if (remote.default_refresh <= zero)
      return detail::verifierOptionError("default_refresh", "default_refresh must be positive");
    if (remote.unknown_kid_interval <= zero)
      return detail::verifierOptionError("unknown_kid_interval", "unknown_kid_interval must be positive");
    if (remote.retry_min <= zero || remote.retry_max < remote.retry_min)
      return detail::verifierOptionError("retry_min", "need 0 < retry_min <= retry_max");
    auto verifier = std::make_unique<RemoteVerifier>(std::move(base), std::move(remote));
    if (auto started = verifier->start(); !started) return std::move(started).error();
    return std::unique_ptr<RemoteJwksVerifier>(std::move(verifier));
  } catch (const std::exception& e) {
    return Error::internal(std::string("cannot build the JWKS verifier: ") + e.what());
  }
}

}  // namespace useradmin
