--- bench/overhead/common.lua — what every Lua contender shares: the arguments, the bodies and
-- the one JSON line it prints. Runs on Lua 5.1 to 5.4 and LuaJIT, with no module of its own.
-- A contender: `INTERPRETER bench/overhead/NAME.lua URL N [DOOR]` does 1 submit, then N queries.
local M = {}

M.url = assert(arg[1], "usage: contender URL N [gateway|api3]")
M.n = assert(tonumber(arg[2]), "usage: contender URL N [gateway|api3]")
M.door = arg[3] or "gateway"
M.api_key = "sk-hy3d-sandbox"
M.secret_id = "AKIDhy3dSandboxSecretId0000000000"
M.secret_key = "hy3dSandboxSecretKey000000000000"
M.prompt = "a small wooden chair"                  -- the submit body is {"Prompt":"a small wooden chair"}
M.job_id = "1357237233311637504"                   -- what the bench server's submit answers

local function percentile(sorted, p)
  if #sorted == 0 then return 0 end
  return sorted[math.max(1, math.ceil(#sorted * p))]
end

local function num(x)
  return ("%.3f"):format(x)
end

--- Prints the contender's line. lat: seconds per query; wall and cpu: seconds the N queries took
-- (cpu = os.clock, user+sys of the process); submit: seconds of the submit.
function M.report(name, lat, wall, cpu, submit, errors, extra)
  local sorted = {}
  for i = 1, #lat do sorted[i] = lat[i] end
  table.sort(sorted)
  local parts = {
    ('"name":"%s"'):format(name), ('"requests":%d'):format(#lat), '"p50_us":' .. num(percentile(sorted, 0.5) * 1e6),
    '"p99_us":' .. num(percentile(sorted, 0.99) * 1e6), '"mean_us":' .. num(#lat > 0 and wall / #lat * 1e6 or 0),
    '"wall_s":' .. num(wall), '"cpu_s":' .. num(cpu), '"submit_us":' .. num(submit * 1e6),
    ('"errors":%d'):format(errors or 0),
  }
  for k, v in pairs(extra or {}) do parts[#parts + 1] = ('"%s":"%s"'):format(k, tostring(v)) end
  io.write("{", table.concat(parts, ","), "}\n")
end

--- The sequence of a peer contender, given its post(path, params) -> the unwrapped Response and
-- a clock in seconds: one submit, then N timed queries of that job; prints the line as `name`.
function M.run(name, post, clock)
  local t = clock()
  local job = post("/v1/ai3d/submit", { Prompt = M.prompt })
  local submit = clock() - t
  assert(job.JobId, "no JobId")
  local lat, errors = {}, 0
  local c0, w0 = os.clock(), clock()
  for i = 1, M.n do
    local a = clock()
    local res = post("/v1/ai3d/query", { JobId = job.JobId })
    lat[i] = clock() - a
    if res.Status ~= "DONE" then errors = errors + 1 end
  end
  M.report(name, lat, clock() - w0, os.clock() - c0, submit, errors)
end

return M
