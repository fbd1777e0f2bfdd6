// Raw bytes as a JWK Set document (JwtKeySource::jwks).
#include <string>

#include "key_source_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  useradmin::fuzz::checkKeySource(useradmin::JwtKeySource::jwks(std::string(useradmin::fuzz::asText(data, size))));
  return 0;
}
