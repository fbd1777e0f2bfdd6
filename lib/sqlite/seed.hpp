// Loading a fixture into the database: one transaction, all or nothing.
#ifndef USERADMIN_LIB_SQLITE_SEED_HPP
#define USERADMIN_LIB_SQLITE_SEED_HPP

#include "connection.hpp"
#include "useradmin/fixture.hpp"
#include "useradmin/policy.hpp"
#include "useradmin/result.hpp"

namespace useradmin::detail {

/// Upserts every organization and user of `data` in one `BEGIN IMMEDIATE`
/// transaction and commits only if the resulting model is valid under
/// `policy`: the merged organization tree passes validateDataset (ranks,
/// parents, cycles, the root), every loaded user passes the same user
/// checks, and no stored user is left with a role the policy does not know.
/// Otherwise rolls back and returns validateDataset's error shape
/// (`invalid_argument`, key `organizations[ID]` or `users[ID]`). A fixture
/// listing the same id twice is refused too. Storage failures are
/// `internal` / `unavailable`. Must not be called inside a transaction.
Status seedDataset(Connection& c, const Dataset& data, const Policy& policy, const RetryBudget& budget);

}  // namespace useradmin::detail

#endif  // USERADMIN_LIB_SQLITE_SEED_HPP
