-- bench/scale/jobs.lua — M concurrent jobs from one thread: M hy3d.spawn tasks (submit, then
-- client:wait) driven by hy3d.run against a sandbox that runs every job for a known time. Prints
-- wall time against that job time, client CPU (user+sys), resident memory (before, peak, after, and
-- after a full GC), and writes the figures as JSON. Asserts nothing about speed.
--
-- Usage: lua5.4 bench/scale/jobs.lua URL [M] [JOB_SECONDS] [POLL_INTERVAL] [OUT.json]
-- (bench/scale/run.sh starts the sandbox with --wait-s/--run-s and passes their sum as JOB_SECONDS.)
-- HY3D_SCALE_GC=incremental|generational|pause=N|stepmul=N sets the collector for an experiment;
-- HY3D_SANDBOX_PID (set by run.sh) adds the sandbox's own CPU time during the run.
-- HY3D_SCALE_LIMIT (seconds, default 120): a run whose jobs are not all done by then stops there
-- and reports what finished ("stalled"), so a stuck run never hangs bench/scale/run.sh.
package.path = "./bench/scale/?.lua;" .. package.path
local lib = require "lib"
local hy3d = require "hy3d"
local core = require "hy3d.core"

local url = assert(arg[1], "usage: jobs.lua URL [M] [JOB_SECONDS] [POLL_INTERVAL] [OUT.json]")
local m = tonumber(arg[2] or "1000")
local job_s = tonumber(arg[3] or "3.5")
local interval = tonumber(arg[4] or "0.5")
local out = arg[5]
local now, round = core.now, lib.round

local gc = lib.apply_gc()

local function sandbox_stats()
  local p = io.popen(("curl -s --max-time 5 %q"):format(url .. "/_sandbox/stats"))
  local s = p and p:read("a") or ""
  if p then p:close() end
  local ok, t = pcall(core.decode, s)
  return ok and type(t) == "table" and t or {}
end

local client = hy3d.new { api_key = "sk-hy3d-sandbox", base_url = url, poll_interval = interval }

-- Warm-up: one submit and one query, so code, libcurl's and OpenSSL's one-time state are loaded
-- before the baseline.
do
  local job = assert(client:submit { Prompt = "warm-up" })
  assert(client:query(job))
end
collectgarbage("collect")
collectgarbage("collect")
local st0 = sandbox_stats()
local mem0, lua0 = lib.mem(), collectgarbage("count")
local peak_ok = lib.reset_peak()
local u0, s0 = lib.cpu()
local c0 = os.clock()
local spid = os.getenv("HY3D_SANDBOX_PID")
local su0, ss0 = lib.cpu(spid)

-- Failed tasks are counted and the first error kept, not printed one line each.
local first_error
require("hy3d.scheduler").on_error = function(_, err) first_error = first_error or err end

local t0 = now()
local done_at, failed = {}, 0
for i = 1, m do
  hy3d.spawn(function()
    local job = assert(client:submit { Prompt = "scale job " .. i })
    local res, err = client:wait(job)
    if not res then failed = failed + 1; error(tostring(err), 0) end
    done_at[#done_at + 1] = now() - t0
  end)
end

-- A sampler task: resident memory, the Lua heap and requests in flight every 100 ms (a timer
-- wake-up, so it costs the pump next to nothing).
local samples = {}
local lua_peak, inflight_peak = lua0, 0
hy3d.spawn(function()
  while #done_at + failed < m do
    local mem = lib.mem()
    local heap, pend = collectgarbage("count"), client._transport.engine:pending()
    if heap > lua_peak then lua_peak = heap end
    if pend > inflight_peak then inflight_peak = pend end
    samples[#samples + 1] = { t = round(now() - t0, 2), rss_mb = round((mem.rss - mem0.rss) / 1024, 1),
                              lua_mb = round((heap - lua0) / 1024, 1), inflight = pend }
    hy3d.sleep(0.1)
  end
end)

-- hy3d.run(), with a limit: hy3d.step(1) is what it loops on.
local limit = tonumber(os.getenv("HY3D_SCALE_LIMIT") or "") or 120
local live
repeat live = hy3d.step(1) until live == 0 or now() - t0 > limit
local stalled = live > 0
local ok = not stalled and failed == 0 and first_error == nil
local errs = { n = failed }
local wall = now() - t0
local u1, s1 = lib.cpu()
local cpu = os.clock() - c0
local su1, ss1 = lib.cpu(spid)
local mem1, lua1 = lib.mem(), collectgarbage("count")
collectgarbage("collect")
collectgarbage("collect")
local mem2, lua2 = lib.mem(), collectgarbage("count")
local st1 = sandbox_stats()
client:close()

local function delta(a, b) return b and a and math.floor(b - a) or nil end
local reqs = delta(st0.requests_served, st1.requests_served)
local conns = delta(st0.connections_opened, st1.connections_opened)
local target = job_s + 2 * interval
-- The ideal: the job time plus the poll interval's granularity (a job is seen done at the first
-- poll after it ends, up to one interval late); issue #20 asks for wall <= 1.1x that at 10,000 jobs.
local ideal = job_s + interval
local first = lib.quantile(done_at, 0) or 0
local med = lib.quantile(done_at, 0.5) or 0
local result = {
  jobs = m,
  finished = #done_at,
  failed = failed,
  ok = ok,
  stalled = stalled or nil,
  stalled_tasks = stalled and live - 1 or nil,    -- (the sampler is one of the live tasks)
  error = first_error and tostring(first_error):match("^[^\n]*") or nil,
  job_seconds = job_s,
  poll_interval = interval,
  target_wall_s = target,
  wall_s = round(wall, 3),
  first_done_s = round(first, 3),
  median_done_s = round(med, 3),
  wall_met = not stalled and wall <= target,
  ideal_wall_s = ideal,
  wall_vs_ideal = round(wall / ideal, 3),
  cpu_s = round(cpu, 3),
  cpu_user_s = round(u1 - u0, 2),
  cpu_sys_s = round(s1 - s0, 2),
  cpu_per_job_ms = round(cpu / m * 1000, 3),
  requests = reqs,
  cpu_per_request_us = reqs and reqs > 0 and round(cpu / reqs * 1e6, 1) or nil,
  connections_opened = conns,
  sandbox_jobs_created = delta(st0.jobs_created, st1.jobs_created),
  sandbox_connections_evicted = delta(st0.connections_evicted, st1.connections_evicted),
  sandbox_cpu_s = spid and round(su1 + ss1 - su0 - ss0, 2) or nil,
  inflight_peak = inflight_peak,
  rss_before_mb = round(mem0.rss / 1024, 1),
  rss_growth_mb = round((mem1.rss - mem0.rss) / 1024, 1),
  rss_peak_growth_mb = peak_ok and round((mem1.hwm - mem0.rss) / 1024, 1) or nil,
  rss_after_gc_growth_mb = round((mem2.rss - mem0.rss) / 1024, 1),
  lua_heap_growth_mb = round((lua1 - lua0) / 1024, 1),
  lua_heap_peak_growth_mb = round((lua_peak - lua0) / 1024, 1),
  lua_heap_after_gc_growth_mb = round((lua2 - lua0) / 1024, 1),
  memory_target_mb = 20,
  gc = gc,
  samples = samples,
}
result.memory_met = (result.rss_peak_growth_mb or result.rss_growth_mb) < 20
result.rss_per_job_kb = round((result.rss_peak_growth_mb or result.rss_growth_mb) * 1024 / m, 2)
-- The sandbox is one Lua process: when it was busy most of the run, it set the pace, not the client.
result.sandbox_busy = result.sandbox_cpu_s and round(result.sandbox_cpu_s / wall, 2) or nil
result.sandbox_bound = result.sandbox_busy ~= nil and result.sandbox_busy >= 0.8

print(("jobs: %d concurrent jobs of %.1f s (polls every %.2f s) %s in %.2f s wall (target %.2f s: %s); "
  .. "first done %.2f s, median %.2f s"):format(m, job_s, interval,
  ok and "finished" or stalled and ("STALLED (%d jobs not done after %d s; %d failed)"):format(live - 1, limit, failed)
  or ("FAILED (%d tasks; first: %s)"):format(errs.n, tostring(result.error)), wall, target,
  result.wall_met and "met" or "missed", first, med))
print(("jobs: client CPU %.2f s (user %.2f, sys %.2f) = %.2f ms per job%s; %s connections opened, peak %d requests "
  .. "in flight (sampled); sandbox CPU %s s"):format(cpu, u1 - u0, s1 - s0, cpu / m * 1000,
  reqs and (", %.0f µs per request (%d requests)"):format(cpu / reqs * 1e6, reqs) or "",
  tostring(conns), inflight_peak, tostring(result.sandbox_cpu_s)))
print(("jobs: RSS %.1f MB before; +%.1f MB after, peak +%s MB, +%.1f MB after a full GC (target < 20 MB: %s); "
  .. "Lua heap +%.1f MB after, peak +%.1f MB, +%.1f MB after GC"):format(mem0.rss / 1024, result.rss_growth_mb,
  tostring(result.rss_peak_growth_mb), result.rss_after_gc_growth_mb, result.memory_met and "met" or "missed",
  result.lua_heap_growth_mb, result.lua_heap_peak_growth_mb, result.lua_heap_after_gc_growth_mb))
print(("jobs: wall %.2f s = %.2fx the ideal %.2f s (job time + one poll interval); RSS peak growth %.2f kB per job; "
  .. "client CPU %.1f%% of the wall, sandbox CPU %s"):format(wall, wall / ideal, ideal, result.rss_per_job_kb,
  cpu / wall * 100, result.sandbox_busy and ("%.0f%%"):format(result.sandbox_busy * 100) or "?"))
if stalled then
  print(("jobs: the sandbox created %s of the %d jobs and evicted %s connections (it keeps at most 900 open: "
    .. "luasocket's select; a submit it drops leaves its task waiting)"):format(
    tostring(delta(st0.jobs_created, st1.jobs_created)), m,
    tostring(delta(st0.connections_evicted, st1.connections_evicted))))
end
if result.sandbox_bound then
  print("jobs: the sandbox (one Lua process) was busy " .. math.floor(result.sandbox_busy * 100 + 0.5)
    .. "% of the wall time: it, not the client, set the pace; the client's own cost is its CPU above")
end
lib.write_json(out, result)
