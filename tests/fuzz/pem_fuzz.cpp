// Raw bytes as PEM key text (JwtKeySource::publicKeyPem), with kid "k1".
#include <string>

#include "key_source_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  useradmin::fuzz::checkKeySource(
      useradmin::JwtKeySource::publicKeyPem(std::string(useradmin::fuzz::asText(data, size)), "k1"));
  return 0;
}
