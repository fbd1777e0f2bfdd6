#include "useradmin/beast/request_id.hpp"

#include <chrono>
#include <cstdint>
#include <random>
#include <thread>

namespace useradmin::beast {

namespace {

bool isIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '~' || c == '-';
}

void appendHex(std::string& out, std::uint64_t value, bool pad) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char buf[16];
  int n = 0;
  do {
    buf[n++] = kDigits[value & 0xF];
    value >>= 4;
  } while (value != 0);
  if (pad)
    while (n < 16) buf[n++] = '0';
  while (n > 0) out.push_back(buf[--n]);
}

// The per-thread state: a random prefix drawn once, then a counter.
struct IdState {
  std::uint64_t prefix;
  std::uint64_t counter = 0;

  IdState() {
    std::random_device device;
    const auto now = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::seed_seq seq{device(), device(), static_cast<unsigned>(now), static_cast<unsigned>(now >> 32),
                      static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id()))};
    std::mt19937_64 engine(seq);
    prefix = engine();
  }
};

}  // namespace

bool isSaneRequestId(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (const char c : id)
    if (!isIdChar(c)) return false;
  return true;
}

namespace {

void appendFreshId(std::string& out) {
  thread_local IdState state;
  appendHex(out, state.prefix, true);
  out.push_back('-');
  appendHex(out, ++state.counter, false);
}

}  // namespace

std::string generateRequestId() {
  std::string id;
  id.reserve(33);
  appendFreshId(id);
  return id;
}

std::string chooseRequestId(std::string_view client_id) {
  std::string id;
  assignRequestId(id, client_id);
  return id;
}

void assignRequestId(std::string& out, std::string_view client_id) {
  if (isSaneRequestId(client_id)) {
    out.assign(client_id);
  } else {
    out.clear();
    appendFreshId(out);
  }
}

}  // namespace useradmin::beast
