// Organization cascades as set-based statements: the subtree by a recursive
// query, the users changed by one UPDATE, their audit events by one
// INSERT ... SELECT. Callers own the transaction.
#ifndef USERADMIN_LIB_SQLITE_CASCADE_HPP
#define USERADMIN_LIB_SQLITE_CASCADE_HPP

#include <string>
#include <vector>

#include "connection.hpp"
#include "useradmin/result.hpp"
#include "useradmin/user_store.hpp"

namespace useradmin::detail {

/// UnitOfWork::suspendCascade on `c`.
Result<std::vector<std::string>> suspendCascade(Connection& c, const Cascade& cascade);

/// UnitOfWork::reactivateCascade on `c`.
Result<std::vector<std::string>> reactivateCascade(Connection& c, const Cascade& cascade);

}  // namespace useradmin::detail

#endif  // USERADMIN_LIB_SQLITE_CASCADE_HPP
