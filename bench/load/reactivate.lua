-- wrk script for PATCH {base}/users/{id}/reactivate.
-- Arguments (after `--`): TOKEN MODE [START] [THREADS]
--   MODE distinct: every request reactivates the next user usr_START, usr_START+1, ...
--   MODE same:     every request targets usr_START (e.g. START=active: usr_active,
--                  an active user, so every answer is 400 not_suspended)
--   MODE denied:   every request targets usr_START with TOKEN lacking manage:users (403)
--   MODE badsig:   TOKEN with its signature altered (401, pure CPU)
-- With THREADS > 1 (wrk -t), each thread takes its own stride of ids, so ids
-- never repeat across threads.
local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  token = args[1]
  mode = args[2] or "distinct"
  start = args[3] or "0"
  stride = tonumber(args[4] or "1")
  next_id = (tonumber(start) or 0) + (thread_index or 0)
  if mode == "badsig" then
    -- Flip the last signature character to another base64url letter.
    local last = token:sub(-1)
    token = token:sub(1, -2) .. (last == "A" and "B" or "A")
  end
  headers = { ["Authorization"] = "Bearer " .. token }
end

function request()
  local id
  if mode == "distinct" then
    id = next_id
    next_id = next_id + stride
  else
    id = start
  end
  return wrk.format("PATCH", "/api/users/usr_" .. id .. "/reactivate", headers, "")
end
