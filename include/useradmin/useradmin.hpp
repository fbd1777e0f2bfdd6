// Umbrella header for the useradmin core library.
#ifndef USERADMIN_USERADMIN_HPP
#define USERADMIN_USERADMIN_HPP

#include "useradmin/admin_service.hpp"
#include "useradmin/authorizer.hpp"
#include "useradmin/clock.hpp"
#include "useradmin/directory_outbox.hpp"
#include "useradmin/directory_relay.hpp"
#include "useradmin/directory_sync.hpp"
#include "useradmin/domain.hpp"
#include "useradmin/error.hpp"
#include "useradmin/export.hpp"
#include "useradmin/fixture.hpp"
#include "useradmin/memory_store.hpp"
#include "useradmin/policy.hpp"
#include "useradmin/reactivation_service.hpp"
#include "useradmin/result.hpp"
#include "useradmin/store_stats.hpp"
#include "useradmin/token_verifier.hpp"
#include "useradmin/user_store.hpp"

#endif  // USERADMIN_USERADMIN_HPP
