-- PATCH /api/users/usr_42/suspend on a suspended user: every answer 400 not_active.
function init(args)
  headers = { ["Authorization"] = "Bearer " .. args[1] }
end
function request()
  return wrk.format("PATCH", "/api/users/usr_42/suspend", headers, "")
end
