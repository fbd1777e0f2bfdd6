#include "useradmin/token_verifier.hpp"

namespace useradmin {

TokenVerifier::~TokenVerifier() = default;

}  // namespace useradmin
