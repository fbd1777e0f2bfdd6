#include "base64url.hpp"

#include <array>
#include <cstdint>

namespace useradmin::detail {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalid = 0xff;

// Character -> 6-bit value, kInvalid for anything outside the alphabet.
constexpr std::array<std::uint8_t, 256> makeDecodeTable() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = i;
  return table;
}
constexpr std::array<std::uint8_t, 256> kDecode = makeDecodeTable();

std::uint8_t sextet(char c) noexcept { return kDecode[static_cast<unsigned char>(c)]; }

}  // namespace

bool isBase64urlAlphabet(std::string_view text) noexcept {
  for (char c : text) {
    if (sextet(c) == kInvalid) return false;
  }
  return true;
}

bool base64urlDecode(std::string_view text, std::string& out) {
  const std::size_t tail = text.size() % 4;
  if (tail == 1) {  // 6 bits cannot hold a byte
    out.clear();
    return false;
  }
  out.resize(text.size() / 4 * 3 + (tail == 0 ? 0 : tail - 1));
  char* dst = out.data();
  auto put = [&dst](std::uint32_t byte) { *dst++ = static_cast<char>(byte & 0xffu); };
  std::size_t i = 0;
  for (; i + 4 <= text.size(); i += 4) {
    const std::uint32_t a = sextet(text[i]), b = sextet(text[i + 1]), c = sextet(text[i + 2]),
                        d = sextet(text[i + 3]);
    if ((a | b | c | d) & 0xc0u) return false;
    const std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    put(v >> 16);
    put(v >> 8);
    put(v);
  }
  if (tail == 2) {
    const std::uint32_t a = sextet(text[i]), b = sextet(text[i + 1]);
    if ((a | b) & 0xc0u) return false;
    if (b & 0x0fu) return false;  // non-canonical: unused low 4 bits set
    put((a << 2) | (b >> 4));
  } else if (tail == 3) {
    const std::uint32_t a = sextet(text[i]), b = sextet(text[i + 1]), c = sextet(text[i + 2]);
    if ((a | b | c) & 0xc0u) return false;
    if (c & 0x03u) return false;  // non-canonical: unused low 2 bits set
    const std::uint32_t v = (a << 10) | (b << 4) | (c >> 2);
    put(v >> 8);
    put(v);
  }
  return true;
}

std::string base64urlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out.push_back(kAlphabet[(v >> 18) & 0x3fu]);
    out.push_back(kAlphabet[(v >> 12) & 0x3fu]);
    out.push_back(kAlphabet[(v >> 6) & 0x3fu]);
    out.push_back(kAlphabet[v & 0x3fu]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = byte(i) << 16;
    out.push_back(kAlphabet[(v >> 18) & 0x3fu]);
    out.push_back(kAlphabet[(v >> 12) & 0x3fu]);
  } else if (rest == 2) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out.push_back(kAlphabet[(v >> 18) & 0x3fu]);
    out.push_back(kAlphabet[(v >> 12) & 0x3fu]);
    out.push_back(kAlphabet[(v >> 6) & 0x3fu]);
  }
  return out;
}

}  // namespace useradmin::detail
