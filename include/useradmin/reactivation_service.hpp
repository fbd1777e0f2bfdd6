// The library's first entry point under its first name: ReactivationService
// is AdminService, kept so code written against it keeps compiling.
#ifndef USERADMIN_REACTIVATION_SERVICE_HPP
#define USERADMIN_REACTIVATION_SERVICE_HPP

#include "useradmin/admin_service.hpp"

namespace useradmin {

/// The former name of AdminService; same type.
using ReactivationService = AdminService;

}  // namespace useradmin

#endif  // USERADMIN_REACTIVATION_SERVICE_HPP
