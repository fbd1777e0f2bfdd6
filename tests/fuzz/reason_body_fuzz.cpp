// Raw bytes as the body of PATCH .../reactivate (parseReasonBody). Every
// answer must be one the declaration documents: accepted with a note of at
// most 500 code points, or one of five field errors.
#include <string>

#include "fuzz_support.hpp"
#include "useradmin/beast/api.hpp"

using namespace useradmin;

namespace {

std::size_t codePoints(std::string_view utf8) {
  std::size_t n = 0;
  for (const char c : utf8)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

bool isDocumentedRefusal(const FieldError& error) {
  if (error.key == "body")
    return error.message == "invalid_json" || error.message == "duplicate_key" || error.message == "unknown_field";
  if (error.key == "reason") return error.message == "invalid_type" || error.message == "too_long";
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = fuzz::asText(data, size);
  beast::Call call;
  const auto refused = beast::parseReasonBody(body, call);
  if (refused) {
    fuzz::check(isDocumentedRefusal(*refused), "undocumented body refusal", refused->key + "/" + refused->message);
    return 0;
  }
  fuzz::check(codePoints(call.note) <= 500, "accepted a reason over 500 code points");
  fuzz::check(call.note.size() <= body.size(), "the note is longer than the body");
  return 0;
}
