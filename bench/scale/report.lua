-- bench/scale/report.lua — folds the pieces bench/scale/run.sh collected in DIR into one JSON
-- file (OUT) and prints a summary. Usage: lua5.4 bench/scale/report.lua DIR OUT QUICK SERVER DL_MB LUA
package.path = "./bench/scale/?.lua;" .. package.path
local lib = require "lib"
local core = require "hy3d.core"

local dir, out, quick, server, dl_mb, lua = arg[1], arg[2], arg[3] == "1", arg[4], tonumber(arg[5]), arg[6]
local median, round = lib.median, lib.round

local function decode_file(path)
  local s = lib.read(path)
  if not s then return nil end
  return core.decode(s)
end

local function sh(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  local s = p and p:read("a") or ""
  if p then p:close() end
  return (s:gsub("%s+$", ""))
end

local function column(list, field)
  local c = {}
  for i, r in ipairs(list) do c[i] = r[field] end
  return c
end

local function clean(v)                          -- cjson's floats that are whole numbers -> integers
  if type(v) == "number" and math.type and v == math.floor(v) and math.abs(v) < 2^53 then
    return math.tointeger(v)
  elseif type(v) == "table" then
    for k, x in pairs(v) do v[k] = clean(x) end
  end
  return v
end

-- The runs of one benchmark: dir/NAME-1.json, NAME-2.json, ... up to the first missing one.
local function load_runs(name)
  local list = {}
  for i = 1, 100 do
    local r = decode_file(("%s/%s-%d.json"):format(dir, name, i))
    if not r then break end
    list[#list + 1] = clean(r)
  end
  return list
end

-- ===== jobs =====
local runs = load_runs("jobs")
local jobs
if #runs > 0 then
  local walls = column(runs, "wall_s")
  local mid = median(walls)
  local rep
  for _, r in ipairs(runs) do if r.wall_s == mid then rep = r end end
  local peaks = column(runs, "rss_peak_growth_mb")
  jobs = {
    jobs = runs[1].jobs, job_seconds = runs[1].job_seconds, poll_interval = runs[1].poll_interval,
    target_wall_s = runs[1].target_wall_s, memory_target_mb = 20, runs = #runs,
    wall_s = mid, wall_s_runs = walls,
    cpu_s = median(column(runs, "cpu_s")), cpu_s_runs = column(runs, "cpu_s"),
    cpu_user_s = median(column(runs, "cpu_user_s")), cpu_sys_s = median(column(runs, "cpu_sys_s")),
    cpu_per_request_us = median(column(runs, "cpu_per_request_us")),
    requests = rep.requests, connections_opened = rep.connections_opened, inflight_peak = rep.inflight_peak,
    sandbox_cpu_s = rep.sandbox_cpu_s,
    rss_peak_growth_mb = median(peaks), rss_peak_growth_mb_runs = peaks,
    rss_growth_mb = median(column(runs, "rss_growth_mb")),
    rss_after_gc_growth_mb = median(column(runs, "rss_after_gc_growth_mb")),
    lua_heap_peak_growth_mb = median(column(runs, "lua_heap_peak_growth_mb")),
    failed = 0,
    samples_columns = { "t_s", "rss_growth_mb", "lua_heap_growth_mb", "requests_in_flight" },
    samples = {},
  }
  for _, r in ipairs(runs) do jobs.failed = jobs.failed + (r.failed or 0) + (r.ok and 0 or 1) end
  for i, s in ipairs(rep.samples or {}) do jobs.samples[i] = { s.t, s.rss_mb, s.lua_mb, s.inflight } end
  jobs.wall_met = jobs.wall_s <= jobs.target_wall_s
  jobs.memory_met = jobs.rss_peak_growth_mb < 20
  jobs.notes = ("%d hy3d.spawn tasks (submit, then client:wait) driven by hy3d.run in one thread, gateway "
    .. "door, against hy3d-sandbox on the same machine (--rate-limit 0 --concurrency pro=0 --wait-s 0.5 --run-s 3). "
    .. "wall_s: first spawn to hy3d.run's return, median of %d runs; target: job time + 2 poll intervals. "
    .. "CPU: the client process's user+sys. rss_peak_growth_mb: VmHWM (reset before the burst) minus VmRSS "
    .. "before; rss_growth_mb: VmRSS after minus before; samples every 0.1 s of the median run.")
    :format(jobs.jobs, #runs)
end

-- ===== many more jobs (issue #20) =====
local big
do
  local r = load_runs("big")[1]
  if r then
    local malloc = decode_file(dir .. "/malloc.json")
    big = {
      jobs = r.jobs, finished = r.finished, failed = r.failed or 0, stalled = r.stalled, stalled_tasks = r.stalled_tasks,
      sandbox_jobs_created = r.sandbox_jobs_created, sandbox_connections_evicted = r.sandbox_connections_evicted,
      job_seconds = r.job_seconds, poll_interval = r.poll_interval,
      ideal_wall_s = r.ideal_wall_s, wall_s = r.wall_s, wall_vs_ideal = r.wall_vs_ideal, wall_target_ratio = 1.1,
      first_done_s = r.first_done_s, median_done_s = r.median_done_s,
      cpu_s = r.cpu_s, cpu_user_s = r.cpu_user_s, cpu_sys_s = r.cpu_sys_s, cpu_per_request_us = r.cpu_per_request_us,
      requests = r.requests, connections_opened = r.connections_opened, inflight_peak = r.inflight_peak,
      sandbox_cpu_s = r.sandbox_cpu_s, sandbox_busy = r.sandbox_busy, sandbox_bound = r.sandbox_bound,
      rss_peak_growth_mb = r.rss_peak_growth_mb, rss_per_job_kb = r.rss_per_job_kb, rss_per_job_target_kb = 8,
      rss_after_gc_growth_mb = r.rss_after_gc_growth_mb, lua_heap_peak_growth_mb = r.lua_heap_peak_growth_mb,
      malloc_pct = malloc and lib.round(malloc.samples_pct, 1) or nil,
    }
    big.wall_met = not big.stalled and big.wall_vs_ideal ~= nil and big.wall_vs_ideal <= 1.1
    big.memory_met = big.rss_per_job_kb ~= nil and big.rss_per_job_kb <= 8
    big.notes = ("bench/scale/jobs.lua with %d jobs, once, as the 1,000-job run. ideal_wall_s: job time + one poll "
      .. "interval (a job is seen done at the first poll after it ends). rss_per_job_kb: peak resident growth "
      .. "(VmHWM minus VmRSS before) over the jobs. malloc_pct: the client's CPU samples (perf record -F 499) in "
      .. "glibc's allocator (bench/scale/malloc_share.lua). sandbox_busy: the sandbox's CPU over the wall time; "
      .. "at 0.8 or more the sandbox (one Lua process) set the pace (sandbox_bound), not the client. stalled: "
      .. "not every job was done after HY3D_SCALE_LIMIT seconds (the sandbox keeps at most 900 connections "
      .. "and evicts the oldest incomplete one for a new one; a submit it dropped leaves its task waiting)."):format(big.jobs)
  end
end

-- ===== download =====
local download
do
  local h, c = {}, {}
  for line in io.lines(dir .. "/dl-hy3d.jsonl") do
    local r = clean(core.decode(line))
    h[#h + 1] = r
  end
  for line in io.lines(dir .. "/dl-curl.txt") do
    local tt, size, wall, user, sys, maxrss = line:match("^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+)")
    tt, size = tonumber(tt), tonumber(size)
    c[#c + 1] = { seconds = tt, bytes = size, mb_s = round(size / tt / 1e6, 1), process_wall_s = tonumber(wall),
                  cpu_s = round(tonumber(user) + tonumber(sys), 2), max_rss_kb = tonumber(maxrss) }
  end
  local hm, cm = median(column(h, "mb_s")), median(column(c, "mb_s"))
  local hcpu = {}
  for i, r in ipairs(h) do hcpu[i] = round(r.cpu_user_s + r.cpu_sys_s, 2) end
  local growth = column(h, "rss_growth_kb")
  local maxg = 0
  for _, g in ipairs(growth) do if g > maxg then maxg = g end end
  download = {
    bytes = h[1] and h[1].bytes, size_mb = dl_mb, runs = #h, server = server, dest = "/tmp (same disk for both)",
    hy3d = { mb_s = hm, mb_s_runs = column(h, "mb_s"), cpu_s = median(hcpu), cpu_s_runs = hcpu,
             rss_growth_kb = median(growth), rss_growth_kb_max = maxg, rss_growth_kb_runs = growth },
    curl = { mb_s = cm, mb_s_runs = column(c, "mb_s"), cpu_s = median(column(c, "cpu_s")),
             max_rss_kb = median(column(c, "max_rss_kb")), version = sh("curl --version | head -n 1") },
    ratio = round(hm / cm, 3),
    no_file_curl_mb_s = round((tonumber(lib.read(dir .. "/dl-null.txt") or "") or 0) / 1e6, 1),
    throughput_target_ratio = 0.95,
    memory_target_kb = 8192,
  }
  download.throughput_met = download.ratio >= 0.95
  download.memory_met = maxg < 8192
  download.notes = "hy3d: client:download(url, path) in the main thread (blocking), Lua process fresh per run, "
    .. "timed around the call (connection included); curl: `curl -s -o FILE URL`, %{time_total} (excludes its "
    .. "process start). Runs alternate; the file is removed after each. rss_growth_kb: VmHWM (reset just before "
    .. "the call) minus VmRSS before, i.e. the peak resident growth during the download. no_file_curl_mb_s: "
    .. "curl -o /dev/null, what server and loopback deliver when no file is written (the ceiling)."
end

-- ===== update =====
local uruns = load_runs("update")
local update
if #uruns > 0 then
  local function ms(field, key)
    local c = {}
    for i, r in ipairs(uruns) do c[i] = (r[key or "update_ms"] or {})[field] end
    return c
  end
  local function last_of(field)
    local c = {}
    for i, r in ipairs(uruns) do c[i] = r[field] and r[field].last end
    return c
  end
  local idle = {}
  for _, r in ipairs(uruns) do if r.idle_update_us then idle[#idle + 1] = r.idle_update_us.p50 end end
  local frames, over1, desched, failed = 0, 0, 0, 0
  for _, r in ipairs(uruns) do
    frames, over1, failed = frames + r.frames, over1 + r.frames_over_1ms, failed + r.failed
    desched = desched + (r.frames_over_1ms_descheduled or 0)
  end
  update = {
    jobs = uruns[1].jobs, runs = #uruns, frames = frames, frame_ms = uruns[1].frame_ms, failed = failed,
    update_ms = { p50 = median(ms("p50")), p90 = median(ms("p90")), p99 = median(ms("p99")), max = median(ms("max")) },
    update_ms_runs = { p50 = ms("p50"), p99 = ms("p99"), max = ms("max") },
    update_cpu_ms = { p50 = median(ms("p50", "update_cpu_ms")), p99 = median(ms("p99", "update_cpu_ms")),
                      max = median(ms("max", "update_cpu_ms")) },
    update_cpu_ms_runs = { p99 = ms("p99", "update_cpu_ms") },
    frames_over_1ms = over1,
    frames_over_1ms_descheduled = desched,
    seconds_runs = column(uruns, "seconds"),
    inflight_median = median(column(uruns, "inflight_median")),
    budget_ms = uruns[1].budget_ms,
    jobs_done_last_s = median(last_of("jobs_done_s")),
    submits_done_last_s = median(last_of("submits_done_s")),
    idle_update_us_p50 = #idle > 0 and median(idle) or nil,
    target_p99_ms = 1,
  }
  update.met = update.update_ms.p99 < 1
  update.cpu_met = update.update_cpu_ms.p99 ~= nil and update.update_cpu_ms.p99 < 1
  update.notes = "bench/update.lua: 200 hy3d.spawn tasks (submit, client:wait polling every 0.5 s), the sandbox "
    .. "delaying every query by 2 s so ~200 requests stay in flight; client:update() (default 0.25 ms resume "
    .. "budget) once per 16 ms frame, each call timed by the wall clock and by os.clock (update_cpu_ms: the CPU it "
    .. "used; frames_over_1ms_descheduled: frames over 1 ms of wall time that used under 1 ms of CPU, i.e. the "
    .. "process was not running). Figures: the median over runs of each run's percentile. "
    .. "idle_update_us_p50: a second extra update() right after a frame's, every 25th frame (with a backlog "
    .. "of due tasks it still resumes one). submits_done_last_s / jobs_done_last_s: when the last of the 200 "
    .. "submits and jobs finished (the pump's pace; every resume is bounded by budget_ms per frame)."
end

-- ===== the game loop (issue #20) =====
local gameloop
do
  local r = load_runs("loop")[1]
  if r then
    gameloop = {
      jobs = r.jobs, failed = r.failed, frames = r.frames, seconds = r.seconds, frame_ms = r.frame_ms,
      budget_ms = r.budget_ms, job_seconds = r.job_seconds, poll_interval = r.poll_interval,
      late_intervals = r.late_intervals, late_target_intervals = 2,
      update_ms = { p50 = r.update_ms.p50, p99 = r.update_ms.p99, max = r.update_ms.max },
      update_cpu_ms = { p50 = r.update_cpu_ms.p50, p99 = r.update_cpu_ms.p99, max = r.update_cpu_ms.max },
      frames_over_1ms = r.frames_over_1ms, frames_over_1ms_descheduled = r.frames_over_1ms_descheduled,
      jobs_done_last_s = r.jobs_done_s and r.jobs_done_s.last, submits_done_last_s = r.submits_done_s and r.submits_done_s.last,
      late_met = r.late_met, frame_met = r.met, met = r.gameloop_met,
    }
    gameloop.notes = ("bench/update.lua with %d jobs and JOB_SECONDS %.1f: hy3d.spawn tasks (submit, then "
      .. "client:wait polling every %.1f s), client:update() with the default budget once per 16 ms frame, no "
      .. "query delay. late_intervals: per job, the time from its hy3d.spawn (all before the first frame) to "
      .. "client:wait's return minus the job time, in poll intervals (target: at most 2 for every job, with "
      .. "update() p99 under 1 ms); the submits' pace counts, as a job starts when its submit is sent.")
      :format(r.jobs, r.job_seconds or 0, r.poll_interval or 0.5)
  end
end

-- ===== the targets (bench/bench.lua lists them in BENCHMARKS.md) =====
local targets = {}
if big then
  targets[#targets + 1] = { target = ("%d jobs in one thread: wall ≤ 1.1× the ideal (job time + one poll interval)")
    :format(big.jobs), value = ("%.2f× (%.2f s vs %.2f s)%s%s"):format(big.wall_vs_ideal, big.wall_s, big.ideal_wall_s,
    big.sandbox_bound and "; the sandbox was the bottleneck" or "",
    big.stalled and ("; STALLED: %d jobs not done"):format(big.stalled_tasks or 0) or ""), met = big.wall_met }
  targets[#targets + 1] = { target = ("%d jobs in one thread: resident growth ≤ 8 kB per job"):format(big.jobs),
    value = ("%.1f kB per job (peak +%.1f MB)%s"):format(big.rss_per_job_kb, big.rss_peak_growth_mb,
    big.malloc_pct and ("; %.1f%% of client CPU in malloc/free"):format(big.malloc_pct) or ""), met = big.memory_met }
end
if gameloop then
  local l = gameloop.late_intervals or {}
  targets[#targets + 1] = { target = ("game loop, %d jobs, default update() budget: each job done ≤ job time + 2 poll "
    .. "intervals, update() p99 < 1 ms"):format(gameloop.jobs), value = ("late by p50 %.2f, p99 %.2f, max %.2f "
    .. "intervals; update() p50 %.3f, p99 %.3f, max %.3f ms"):format(l.p50 or -1, l.p99 or -1, l.max or -1,
    gameloop.update_ms.p50, gameloop.update_ms.p99, gameloop.update_ms.max), met = gameloop.met == true }
end

local report = {
  quick = quick,
  lua = sh(lua .. " -v 2>&1 | head -n 1"),
  libcurl = core.curl_version,
  machine = { cpus = tonumber(sh("nproc")), cpu = sh("sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1"),
              kernel = sh("uname -r") },
  date = os.date("!%Y-%m-%dT%H:%M:%SZ"),
  jobs1000 = jobs,
  download = download,
  update = update,
  jobs10k = big,
  gameloop = gameloop,
  targets = targets,
}
lib.write_json(out, report)

-- ===== summary =====
print(("\nscale figures (%s, %s, libcurl %s) -> %s"):format(quick and "QUICK" or "full", report.lua,
  tostring(core.curl_version), out))
if jobs then
  print(("  %d concurrent jobs: %.2f s wall (runs %s) for %.1f s jobs, target %.2f s: %s; CPU %.2f s; RSS peak +%.1f MB "
    .. "(runs %s), target < 20 MB: %s"):format(jobs.jobs, jobs.wall_s, table.concat(jobs.wall_s_runs, "/"),
    jobs.job_seconds, jobs.target_wall_s, jobs.wall_met and "met" or "MISSED", jobs.cpu_s, jobs.rss_peak_growth_mb,
    table.concat(jobs.rss_peak_growth_mb_runs, "/"), jobs.memory_met and "met" or "MISSED"))
end
if big then
  print(("  %d concurrent jobs: %.2f s wall = %.2fx the ideal %.2f s (target <= 1.1x: %s)%s; CPU %.2f s; RSS peak +%.1f MB "
    .. "= %.1f kB per job (target <= 8 kB: %s); malloc/free %s%% of the client's CPU"):format(big.jobs, big.wall_s,
    big.wall_vs_ideal, big.ideal_wall_s, big.wall_met and "met" or "MISSED",
    big.sandbox_bound and ", the sandbox was the bottleneck" or "", big.cpu_s, big.rss_peak_growth_mb,
    big.rss_per_job_kb, big.memory_met and "met" or "MISSED", tostring(big.malloc_pct or "?")))
end
print(("  download %d MB: hy3d %.0f MB/s, curl -o %.0f MB/s (median of %d): %.3fx, target >= 0.95x: %s; "
  .. "hy3d RSS growth %d KB (max %d KB), target < 8 MB: %s"):format(dl_mb, download.hy3d.mb_s, download.curl.mb_s,
  download.runs, download.ratio, download.throughput_met and "met" or "MISSED", download.hy3d.rss_growth_kb,
  download.hy3d.rss_growth_kb_max, download.memory_met and "met" or "MISSED"))
if update then
  print(("  update() with %d jobs: p50 %.3f ms, p99 %.3f ms (runs %s), max %.3f ms; %d frames in %d run(s), "
    .. "target p99 < 1 ms: %s; CPU p99 %.3f ms: %s; %d of %d frames over 1 ms were descheduled"):format(update.jobs,
    update.update_ms.p50, update.update_ms.p99, table.concat(update.update_ms_runs.p99, "/"), update.update_ms.max,
    update.frames, update.runs, update.met and "met" or "MISSED", update.update_cpu_ms.p99 or -1,
    update.cpu_met and "met" or "MISSED", update.frames_over_1ms_descheduled, update.frames_over_1ms))
end
if gameloop then
  print("  game loop: " .. targets[#targets].value .. ": " .. (gameloop.met and "met" or "MISSED"))
end
