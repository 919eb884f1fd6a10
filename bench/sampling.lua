-- wrk's requests for bench/sampling.js: a different user (and so a different response and
-- cache entry) on each request, with the bearer token the service's auth middleware reads.
local token = "eyJzdWIiOiJ1c2VyLTEifQ" -- base64url of {"sub":"user-1"}
local counter = 0

request = function()
  counter = counter + 1
  local user = (counter * 7919) % 20000
  return wrk.format("GET", "/users/" .. user .. "/orders?limit=10&currency=GBP", { ["Authorization"] = "Bearer " .. token })
end
