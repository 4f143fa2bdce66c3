--- bench/bench.lua — hy3d's per-request overhead against the C floor and the peers, written to
-- BENCHMARKS.md. `make bench` runs it in full, `make bench-quick` with --quick.
--
-- Usage (from the repository root, Lua 5.3+ with lua-cjson): lua5.4 bench/bench.lua [--quick]
--   [--n N] [--reps R] [--out FILE] [--only PATTERN] [--no-profile]
--
-- It compiles bench/server.c, bench/floor.c and bench/overhead/rusage.c into build/bench when
-- they are missing or older than their source, starts bench/server (and hy3d-sandbox for the
-- comparison that justifies it), runs every contender of bench/overhead (skipping, with a note,
-- those whose interpreter or module is missing), and writes the table, the machine, the versions,
-- the targets and bench/out/overhead.json (the raw figures). The hy3d cores must be built first
-- (build/hy3d/core.so for Lua 5.4, build/luajit/hy3d/core.so for LuaJIT): bench/bench.mk does it.
local cjson = require "cjson"

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local CC = env("CC", "cc")
local LUA54 = env("HY3D_BENCH_LUA54", "lua5.4")
local LUAJIT = env("HY3D_BENCH_LUAJIT", "luajit")
local BUILD54 = env("HY3D_BENCH_BUILD54", "build")
local BUILDJIT = env("HY3D_BENCH_BUILDJIT", "build/luajit")
local SANDBOX_LUA = env("HY3D_BENCH_SANDBOX_LUA", LUA54)
local BIN = "build/bench"
local OUT_DIR = "bench/out"

-- ===== options =====

local opt = { quick = false, out = "BENCHMARKS.md", profile = true, pin = true }
do
  local i = 1
  while i <= #arg do
    local a = arg[i]
    if a == "--quick" then opt.quick = true
    elseif a == "--no-profile" then opt.profile = false
    elseif a == "--no-pin" then opt.pin = false
    elseif a == "--cpu" then i = i + 1; opt.cpu = tonumber(arg[i])
    elseif a == "--n" then i = i + 1; opt.n = tonumber(arg[i])
    elseif a == "--reps" then i = i + 1; opt.reps = tonumber(arg[i])
    elseif a == "--out" then i = i + 1; opt.out = arg[i]
    elseif a == "--only" then i = i + 1; opt.only = arg[i]
    else
      io.stderr:write("usage: lua5.4 bench/bench.lua [--quick] [--n N] [--reps R] [--out FILE] [--only PATTERN] ",
        "[--no-profile] [--cpu N | --no-pin]\n")
      os.exit(2)
    end
    i = i + 1
  end
end
-- N: queries of the in-process contenders; the slow ones (a process or a connection per request)
-- run fewer; every contender runs `reps` times, interleaved, and the median run counts.
-- Many short runs rather than a few long ones: this VM's speed shifts between levels every few
-- seconds, and the median of interleaved runs is what stays put.
opt.n = opt.n or (opt.quick and 1500 or 10000)
opt.reps = opt.reps or (opt.quick and 3 or 5)
opt.n_slow = math.max(1, math.floor(opt.n / 4))
opt.n_cli = opt.quick and 30 or 100
opt.n_sandbox = opt.quick and 300 or 2000
if opt.quick then opt.profile = false end

-- ===== shell helpers =====

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function sh(cmd)
  local ok, how, code = os.execute(cmd)
  if type(ok) == "number" then return ok == 0 end       -- Lua 5.1 style
  return ok == true and how == "exit" and code == 0
end

local function capture(cmd)
  local f = assert(io.popen(cmd, "r"))
  local s = f:read("a")
  f:close()
  return s
end

local function trim(s)
  return (s or ""):match("^%s*(.-)%s*$")
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write_file(path, s)
  local f = assert(io.open(path, "wb"))
  assert(f:write(s))
  assert(f:close())
end

local function have(cmd)
  return sh("command -v " .. q(cmd) .. " >/dev/null 2>&1")
end

local function sleep(s)
  sh("sleep " .. s)
end

local function log(...)
  io.stderr:write("bench: ", string.format(...), "\n")
  io.stderr:flush()
end

-- Every server and contender runs on one CPU (taskset): on a VM, a round trip between two CPUs
-- costs an inter-processor wake-up on each side, which is slow (tens of microseconds) and varies
-- from run to run; on one CPU a query costs the client's CPU, the server's and the kernel's.
local NCPU = tonumber((function()
  local f = io.popen("nproc")
  local s = f and f:read("a") or "1"
  if f then f:close() end
  return s
end)()) or 1
opt.cpu = opt.cpu or (NCPU - 1)
local PIN = ""
if opt.pin and have("taskset") then PIN = "taskset -c " .. math.floor(opt.cpu) .. " " else opt.pin = false end

-- ===== build the C parts =====

local CURL_FLAGS = trim(capture("pkg-config --cflags --libs libcurl 2>/dev/null"))
if CURL_FLAGS == "" then CURL_FLAGS = "-lcurl" end
local CFLAGS = "-std=c99 -O2 -g -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes"

local function build(bin, src, libs)
  local target = BIN .. "/" .. bin
  if sh(("[ %s -nt %s ]"):format(q(target), q(src))) then return target end
  log("compiling %s", src)
  assert(sh(("mkdir -p %s && %s %s -o %s %s %s"):format(q(BIN), CC, CFLAGS, q(target), q(src), libs or "")),
    "compiling " .. src .. " failed")
  return target
end

local SERVER = build("server", "bench/server.c")
local FLOOR = build("floor", "bench/floor.c", CURL_FLAGS)
-- The decode-included floors: floor.c with -DFLOOR_LUA, an embedded Lua state (Lua 5.4, or LuaJIT)
-- that cjson.decodes every answer. Missing headers or libraries: the row is skipped with a note.
local function build_decode_floor(bin, pkg)
  local flags = trim(capture("pkg-config --cflags --libs " .. pkg .. " 2>/dev/null"))
  if flags == "" then return BIN .. "/" .. bin .. ".missing" end
  local ok, target = pcall(build, bin, "bench/floor.c", "-DFLOOR_LUA " .. flags .. " " .. CURL_FLAGS)
  return ok and target or BIN .. "/" .. bin .. ".missing"
end
local FLOOR_DECODE54 = build_decode_floor("floor-decode-5.4", "lua5.4")
local FLOOR_DECODEJIT = build_decode_floor("floor-decode-jit", "luajit")
local RUSAGE = build("rusage", "bench/overhead/rusage.c")
sh("mkdir -p " .. q(OUT_DIR))

-- ===== servers =====

local TMP = trim(capture("mktemp -d"))
local pids = {}

local function cleanup()
  for _, pid in ipairs(pids) do sh("kill " .. pid .. " 2>/dev/null") end
  pids = {}
  sh("rm -rf " .. q(TMP))
end

-- Starts a server that prints its URL as its first line; returns the URL and its pid.
local function start(name, cmd)
  local logf, pidf = TMP .. "/" .. name .. ".log", TMP .. "/" .. name .. ".pid"
  assert(sh(("%s >%s 2>&1 & echo $! >%s"):format(cmd, q(logf), q(pidf))))
  local pid = trim(read_file(pidf))
  pids[#pids + 1] = pid
  for _ = 1, 500 do
    local url = (read_file(logf) or ""):match("^(http://[^\r\n]+)")
    if url then return url, pid end
    sleep(0.02)
  end
  cleanup()
  error(name .. " did not start: " .. (read_file(logf) or ""))
end

local function stop(pid)
  sh("kill " .. pid .. " 2>/dev/null")
end

local function stats(url, reset)
  local s = capture(("curl -s %s %s/stats%s"):format(reset and "-X POST" or "", q(url), reset and "/reset" or ""))
  local ok, t = pcall(cjson.decode, s)
  return ok and type(t) == "table" and t or {}
end

-- ===== contenders =====

local HY3D_PATH = "./lua/?.lua;./lua/?/init.lua;./bench/overhead/?.lua;;"
local PEER_PATH = "./bench/overhead/?.lua;;"
-- Debian's lua-http is for Lua 5.1-5.3 and lua-lpeg-patterns for 5.1-5.2 only; both are pure Lua,
-- so Lua 5.4 loads them from those trees (its own cqueues, luaossl, lpeg and cjson are packaged).
local HTTP54_PATH = "./bench/overhead/?.lua;;/usr/share/lua/5.3/?.lua;/usr/share/lua/5.3/?/init.lua;"
  .. "/usr/share/lua/5.2/?.lua;/usr/share/lua/5.2/?/init.lua"
local NODE_PATH = "build/sdk/node_modules"

-- Each contender: id, label, door, interpreter label, queries (a key of opt), the command (a
-- list; URL and N are filled in), env, and what must be there to run it: `checks` (shell
-- commands), or for a Lua contender `modules`, which its interpreter (cmd[1]) must load with
-- its env's paths.
local function lua_check(interp, path, cpath, modules)
  local req = {}
  for _, m in ipairs(modules) do req[#req + 1] = ("require %q"):format(m) end
  return ("env LUA_PATH=%s LUA_CPATH=%s %s -e %s >/dev/null 2>&1"):format(q(path), q(cpath), interp,
    q(table.concat(req, "; ")))
end

local function checks_of(c)
  if not c.modules then return c.checks end
  return { lua_check(c.cmd[1], c.env.LUA_PATH, c.env.LUA_CPATH or ";;", c.modules) }
end

local HY3D_ENV54 = { LUA_PATH = HY3D_PATH, LUA_CPATH = "./" .. BUILD54 .. "/?.so;;" }
local HY3D_ENVJIT = { LUA_PATH = HY3D_PATH, LUA_CPATH = "./" .. BUILDJIT .. "/?.so;;" }

local CONTENDERS = {
  { id = "floor", label = "C floor: one reused libcurl easy handle", door = "gateway", lua = "C", n = "n",
    cmd = { FLOOR, "URL", "N" }, checks = {}, floor = true },
  { id = "floor-decode-5.4", label = "C floor + cjson.decode into a Lua table (decode floor)", door = "gateway",
    lua = "Lua 5.4", n = "n", cmd = { FLOOR_DECODE54, "URL", "N" }, floor = true,
    checks = { "[ -x " .. q(FLOOR_DECODE54) .. " ]" } },
  { id = "floor-decode-jit", label = "C floor + cjson.decode into a Lua table (decode floor)", door = "gateway",
    lua = "LuaJIT", n = "n", cmd = { FLOOR_DECODEJIT, "URL", "N" }, floor = true,
    checks = { "[ -x " .. q(FLOOR_DECODEJIT) .. " ]" } },
  { id = "curl-cli", label = "curl command line, a process per request", door = "gateway", lua = "bash", n = "n_cli",
    cmd = { "bash", "bench/overhead/curl.sh", "URL", "N" }, checks = { "command -v curl && command -v bash" } },
  { id = "hy3d-5.4", label = "hy3d", door = "gateway", lua = "Lua 5.4", n = "n", hy3d = true,
    env = HY3D_ENV54, cmd = { LUA54, "bench/overhead/hy3d.lua", "URL", "N", "gateway" }, modules = { "hy3d" } },
  { id = "hy3d-jit", label = "hy3d", door = "gateway", lua = "LuaJIT", n = "n", hy3d = true,
    env = HY3D_ENVJIT, cmd = { LUAJIT, "bench/overhead/hy3d.lua", "URL", "N", "gateway" }, modules = { "hy3d" } },
  { id = "lua-http-5.4", label = "lua-http + lua-cjson, one connection", door = "gateway", lua = "Lua 5.4", n = "n",
    env = { LUA_PATH = HTTP54_PATH }, cmd = { LUA54, "bench/overhead/lua_http.lua", "URL", "N", "gateway", "connection" },
    modules = { "http.client", "cjson" } },
  { id = "lua-http-jit", label = "lua-http + lua-cjson, one connection", door = "gateway", lua = "LuaJIT", n = "n",
    env = { LUA_PATH = PEER_PATH }, cmd = { LUAJIT, "bench/overhead/lua_http.lua", "URL", "N", "gateway", "connection" },
    modules = { "http.client", "cjson" } },
  { id = "lua-http-request-jit", label = "lua-http http.request + lua-cjson (a connection per request)",
    door = "gateway", lua = "LuaJIT", n = "n_slow",
    env = { LUA_PATH = PEER_PATH }, cmd = { LUAJIT, "bench/overhead/lua_http.lua", "URL", "N", "gateway", "request" },
    modules = { "http.request", "cjson" } },
  { id = "luasocket-5.4", label = "luasocket socket.http.request + lua-cjson (a connection per request)",
    door = "gateway", lua = "Lua 5.4", n = "n_slow",
    env = { LUA_PATH = PEER_PATH }, cmd = { LUA54, "bench/overhead/luasocket.lua", "URL", "N", "gateway", "request" },
    modules = { "socket.http", "cjson" } },
  { id = "luasocket-open-5.4", label = "luasocket, one connection kept by hand (socket.http.open) + lua-cjson",
    door = "gateway", lua = "Lua 5.4", n = "n",
    env = { LUA_PATH = PEER_PATH }, cmd = { LUA54, "bench/overhead/luasocket.lua", "URL", "N", "gateway", "open" },
    modules = { "socket.http", "cjson" } },
  { id = "luasocket-open-jit", label = "luasocket, one connection kept by hand (socket.http.open) + lua-cjson",
    door = "gateway", lua = "LuaJIT", n = "n",
    env = { LUA_PATH = PEER_PATH }, cmd = { LUAJIT, "bench/overhead/luasocket.lua", "URL", "N", "gateway", "open" },
    modules = { "socket.http", "cjson" } },
  { id = "hy3d-api3-5.4", label = "hy3d (TC3-signed)", door = "API 3.0", lua = "Lua 5.4", n = "n", hy3d = true,
    env = HY3D_ENV54, cmd = { LUA54, "bench/overhead/hy3d.lua", "URL", "N", "api3" }, modules = { "hy3d" } },
  { id = "hy3d-api3-jit", label = "hy3d (TC3-signed)", door = "API 3.0", lua = "LuaJIT", n = "n", hy3d = true,
    env = HY3D_ENVJIT, cmd = { LUAJIT, "bench/overhead/hy3d.lua", "URL", "N", "api3" }, modules = { "hy3d" } },
  { id = "node-sdk", label = "Tencent's Node.js SDK (tencentcloud-sdk-nodejs-ai3d, TC3-signed)", door = "API 3.0",
    lua = "Node.js", n = "n_slow", env = { NODE_PATH = NODE_PATH },
    cmd = { "node", "bench/overhead/node_sdk.js", "URL", "N", "default" },
    checks = { "command -v node", "[ -f " .. NODE_PATH .. "/tencentcloud-sdk-nodejs-ai3d/package.json ]" } },
}

-- No contender run may hang the benchmark (coreutils' timeout; rusage still sees its child).
local TIMEOUT = have("timeout") and "timeout 600 " or ""

local function command(c, url, n, rusage_file)
  local parts = {}
  for k, v in pairs(c.env or {}) do parts[#parts + 1] = k .. "=" .. q(v) end
  table.sort(parts)
  local args = {}
  for i, a in ipairs(c.cmd) do
    if a == "URL" then a = url elseif a == "N" then a = tostring(n) end
    args[i] = q(a)
  end
  return ("%senv %s %s %s %s%s"):format(PIN, table.concat(parts, " "), q(RUSAGE), q(rusage_file), TIMEOUT,
    table.concat(args, " "))
end

-- Runs contender c for n queries against url: its own line, rusage's, and the server's counters.
local function run(c, url, n)
  local rfile = TMP .. "/rusage.json"
  os.remove(rfile)
  stats(url, true)
  local out = capture(command(c, url, n, rfile) .. " 2>" .. q(TMP .. "/stderr"))
  local line = out:match("({[^\n]*})%s*$")
  local ok, res = pcall(cjson.decode, line or "")
  local ru = read_file(rfile)
  if not ok or type(res) ~= "table" or not ru then
    return nil, trim((read_file(TMP .. "/stderr") or "") .. "\n" .. out):sub(1, 400)
  end
  res.rusage = cjson.decode(ru)
  res.server = stats(url)
  res.n = n
  return res
end

-- ===== statistics =====

local function median(list)
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  table.sort(s)
  if #s == 0 then return nil end
  if #s % 2 == 1 then return s[(#s + 1) / 2] end
  return (s[#s / 2] + s[#s / 2 + 1]) / 2
end

local function field(runs, f)
  local list = {}
  for _, r in ipairs(runs) do list[#list + 1] = f(r) end
  return list
end

local function cpu_of(ru)
  return ru.user_s + ru.sys_s
end

-- ===== the machine and the versions =====

local function first_line(cmd)
  return trim((capture(cmd .. " 2>&1") or ""):match("^[^\n]*"))
end

local function machine()
  local cpuinfo = read_file("/proc/cpuinfo") or ""
  return {
    nproc = trim(capture("nproc")),
    cpu = trim(cpuinfo:match("model name%s*:%s*([^\n]+)") or "?"),
    kernel = first_line("uname -sr"),
    os = trim((read_file("/etc/os-release") or ""):match('PRETTY_NAME="([^"]+)"') or "?"),
    load = first_line("cat /proc/loadavg"),
  }
end

local function dpkg_version(pkg)
  local v = trim(capture("dpkg-query -W -f='${Version}' " .. q(pkg) .. " 2>/dev/null"))
  return v ~= "" and v or "not installed"
end

local function versions()
  local sdk = read_file(NODE_PATH .. "/tencentcloud-sdk-nodejs-ai3d/package.json")
  local common = read_file(NODE_PATH .. "/tencentcloud-sdk-nodejs-common/package.json")
  local commit = trim(capture("git rev-parse --short HEAD 2>/dev/null"))
  if commit ~= "" and trim(capture("git status --porcelain -- src lua 2>/dev/null")) ~= "" then
    commit = commit .. " (src/ or lua/ modified)"
  end
  return {
    hy3d = trim(capture(("env LUA_PATH=%s LUA_CPATH=%s %s -e 'io.write(require(\"hy3d\")._VERSION)' 2>/dev/null")
      :format(q(HY3D_PATH), q("./" .. BUILD54 .. "/?.so;;"), LUA54))) .. (commit ~= "" and (" at " .. commit) or ""),
    lua = first_line(LUA54 .. " -v"),
    luajit = first_line(LUAJIT .. " -v"),
    libcurl = first_line("curl-config --version") .. " (" .. first_line("curl --version") .. ")",
    cjson = dpkg_version("lua-cjson"),
    lua_http = dpkg_version("lua-http") .. " (cqueues " .. dpkg_version("lua-cqueues") .. ")",
    luasocket = dpkg_version("lua-socket"),
    node = have("node") and first_line("node --version") or "not installed",
    sdk = sdk and (sdk:match('"version"%s*:%s*"([^"]+)"') or "?") .. (common and (" (common "
      .. (common:match('"version"%s*:%s*"([^"]+)"') or "?") .. ")") or "") or "not installed (make deps-sdk)",
    gcc = first_line(CC .. " --version"),
  }
end

-- ===== the run =====

local t_start = os.time()
local MACHINE = machine()
local VERSIONS = versions()
local url, server_pid = start("server", PIN .. q(SERVER) .. " --lifetime 1800")
log("bench server at %s; N = %d (%d for the slow ones, %d for the curl command line), %d rep(s)",
  url, opt.n, opt.n_slow, opt.n_cli, opt.reps)

local active, skipped = {}, {}
for _, c in ipairs(CONTENDERS) do
  local missing
  if opt.only and not c.id:find(opt.only) and not c.floor then
    missing = "not selected (--only)"
  else
    for _, check in ipairs(checks_of(c)) do
      if not sh("(" .. check .. ") >/dev/null 2>&1") then missing = "missing dependency: `" .. check .. "` failed" end
    end
  end
  if missing then skipped[#skipped + 1] = { c = c, why = missing }
  else active[#active + 1] = c end
end

-- Start-up cost: each contender twice with N = 0 (the submit only; the first run also warms the
-- caches), the cheaper run counts.
local results = {}
for _, c in ipairs(active) do
  local r, err = run(c, url, 0)
  if not r then
    skipped[#skipped + 1] = { c = c, why = "failed: " .. tostring(err) }
    c.failed = true
  else
    local again = run(c, url, 0)
    if again and cpu_of(again.rusage) < cpu_of(r.rusage) then r = again end
    results[c.id] = { base = r, runs = {} }
  end
end
for rep = 1, opt.reps do
  for _, c in ipairs(active) do
    if not c.failed then
      local n = opt[c.n]
      log("rep %d/%d: %s (%s, %s door), %d queries", rep, opt.reps, c.id, c.lua, c.door, n)
      local r, err = run(c, url, n)
      if r then
        local rr = results[c.id].runs
        rr[#rr + 1] = r
      else
        log("%s failed: %s", c.id, err)
        c.failed = true
        skipped[#skipped + 1] = { c = c, why = "failed: " .. tostring(err) }
      end
    end
  end
end

-- One row per contender: medians over the runs.
local rows = {}
for _, c in ipairs(active) do
  local res = results[c.id]
  if not c.failed and res and #res.runs > 0 then
    local runs, base = res.runs, res.base
    local base_cpu = cpu_of(base.rusage)
    local row = {
      c = c, n = runs[1].n,
      p50 = median(field(runs, function(r) return r.p50_us end)),
      p99 = median(field(runs, function(r) return r.p99_us end)),
      mean = median(field(runs, function(r) return r.mean_us end)),
      cpu = median(field(runs, function(r) return (cpu_of(r.rusage) - base_cpu) / r.n * 1e6 end)),
      cpu_loop = median(field(runs, function(r) return r.cpu_s / r.n * 1e6 end)),
      rss = math.max(table.unpack(field(runs, function(r) return r.rusage.maxrss_kb end))) / 1024,
      conns = math.max(table.unpack(field(runs, function(r) return r.server.connections or -1 end))),
      served = math.max(table.unpack(field(runs, function(r) return r.server.requests or -1 end))),
      errors = math.max(table.unpack(field(runs, function(r) return r.errors or 0 end))),
      start_wall = base.rusage.wall_s, start_cpu = base_cpu, start_rss = base.rusage.maxrss_kb / 1024,
      submit = median(field(runs, function(r) return r.submit_us end)),
      best_p50 = math.min(table.unpack(field(runs, function(r) return r.p50_us end))),
      best_cpu = math.min(table.unpack(field(runs, function(r) return (cpu_of(r.rusage) - base_cpu) / r.n * 1e6 end))),
      runs = runs,
    }
    rows[#rows + 1] = row
  end
end
local by_id = {}
for _, r in ipairs(rows) do by_id[r.c.id] = r end
local floor = by_id.floor
-- The decode floor a row is held against: its runtime's (LuaJIT rows LuaJIT's), else Lua 5.4's.
local function decode_floor_of(c)
  return c.lua == "LuaJIT" and by_id["floor-decode-jit"] or by_id["floor-decode-5.4"]
end

-- ===== the sandbox against this server (why the benchmark does not use the sandbox) =====

local sandbox_rows = {}
local function sandbox_compare()
  if not sh(SANDBOX_LUA .. " -e 'require \"socket\"' >/dev/null 2>&1") then
    return "skipped: hy3d-sandbox needs luasocket (lua-socket) under " .. SANDBOX_LUA
  end
  local surl, spid = start("sandbox", PIN .. ("%s sandbox/bin/hy3d-sandbox --port 0 --lifetime 900 --rate-limit 0 "
    .. "--concurrency pro=0 --wait-s 0 --run-s 0 --seed 1"):format(SANDBOX_LUA))
  local pairs_ = { { "floor", "floor" }, { "hy3d-5.4", "hy3d-5.4" }, { "hy3d-api3-5.4", "hy3d-api3-5.4" } }
  for _, p in ipairs(pairs_) do
    local c = nil
    for _, cc in ipairs(active) do if cc.id == p[1] and not cc.failed then c = cc end end
    if c then
      local s = { c = c }
      local ok1, r1 = pcall(run, c, surl, opt.n_sandbox)
      local ok2, r2 = pcall(run, c, url, opt.n_sandbox)
      if ok1 and r1 and ok2 and r2 then
        s.sandbox, s.server = r1, r2
        sandbox_rows[#sandbox_rows + 1] = s
      end
    end
  end
  stop(spid)
  return nil
end
local sandbox_note = sandbox_compare()

-- ===== profile: where hy3d's time goes =====
-- callgrind counts the instructions of each function (exclusive), for N queries and for N = 0:
-- the difference over N is the cost per query, start-up taken out. luaprof.lua charges the Lua VM's
-- instructions to the Lua functions that run them.

local PROFILE_N = 2000
local GROUPS = {
  { "lua5%.4$", "Lua 5.4 interpreter (VM, GC, tables, strings)" }, { "^luajit", "LuaJIT" },
  { "cjson", "lua-cjson" }, { "libcurl", "libcurl" }, { "^core%.so$", "hy3d core (src/*.c)" },
  { "libcrypto", "OpenSSL libcrypto" }, { "libssl", "OpenSSL libssl" }, { "^libc%.so", "libc (malloc, memcpy, ...)" },
  { "^ld%-linux", "dynamic loader" }, { "^floor", "bench/floor.c" }, { "^libz", "zlib" },
}

local function group_of(name)
  local obj = name:match("%[([^%]]+)%]$")
  if not obj then return "other (no object: inlined libc/ld code)" end
  local base = obj:match("[^/]+$") or obj
  for _, g in ipairs(GROUPS) do
    if base:find(g[1]) then return g[2] end
  end
  return "other: " .. base
end

local function contender_args(c, u, n)
  local args = {}
  for i, a in ipairs(c.cmd) do
    if a == "URL" then a = u elseif a == "N" then a = tostring(n) end
    args[i] = q(a)
  end
  local envs = {}
  for k, v in pairs(c.env or {}) do envs[#envs + 1] = k .. "=" .. q(v) end
  table.sort(envs)
  return table.concat(envs, " "), table.concat(args, " ")
end

-- The function list of a callgrind_annotate report: name (file:function [object]) -> count.
local function annotate(file, inclusive)
  local report = capture(("callgrind_annotate --auto=no --threshold=100 %s %s 2>/dev/null"):format(
    inclusive and "--inclusive=yes" or "", q(file)))
  local total = report:match("([%d,]+) %b()%s+PROGRAM TOTALS")
  local list = report:match("file:function%s*\n%-+\n(.*)$") or ""
  local fns = {}
  for line in list:gmatch("[^\n]+") do
    local ir, name = line:match("^%s*([%d,]+) %b()%s+(%S.-)%s*$")
    if not ir then break end                    -- the end of the list
    fns[name] = (fns[name] or 0) + tonumber((ir:gsub(",", "")), 10)
  end
  return total and tonumber((total:gsub(",", "")), 10), fns
end

local function callgrind(c, n)
  local file = ("%s/callgrind.%s.%d"):format(TMP, c.id, n)
  local envs, args = contender_args(c, url, n)
  sh(("env %s valgrind --tool=callgrind --callgrind-out-file=%s %s >/dev/null 2>&1"):format(envs, q(file), args))
  local total, fns = annotate(file, false)
  if not total then return nil end
  -- inclusive: by bare function name (the largest entry: a function may be listed under several files)
  local _, inc = annotate(file, true)
  local by_fn = {}
  for name, ir in pairs(inc) do
    local fn = name:gsub("%s*%[[^%]]*%]$", ""):match("([^:]+)$")
    if fn and ir > (by_fn[fn] or 0) then by_fn[fn] = ir end
  end
  return { total = total, fns = fns, inclusive = by_fn }
end

-- Instructions per query of contender c: total, by group, by function.
local function per_query(c)
  local zero, full = callgrind(c, 0), callgrind(c, PROFILE_N)
  if not zero or not full then return nil end
  local p = { id = c.id, c = c, total = (full.total - zero.total) / PROFILE_N, groups = {}, fns = {} }
  for name, ir in pairs(full.fns) do
    local d = (ir - (zero.fns[name] or 0)) / PROFILE_N
    if d > 0 then
      p.fns[#p.fns + 1] = { name = name, ir = d, group = group_of(name) }
      p.groups[group_of(name)] = (p.groups[group_of(name)] or 0) + d
    end
  end
  table.sort(p.fns, function(a, b) return a.ir > b.ir end)
  p.inclusive = {}
  for fn, ir in pairs(full.inclusive) do p.inclusive[fn] = (ir - (zero.inclusive[fn] or 0)) / PROFILE_N end
  return p
end

local function lua_profile(c)
  local file = TMP .. "/luaprof.txt"
  local envs, args = contender_args(c, url, PROFILE_N)
  -- the contender's interpreter runs luaprof.lua, which runs the contender's script
  local interp, rest = args:match("^(%S+) (.*)$")
  if not sh(("env %s %s bench/overhead/luaprof.lua %s %s >/dev/null 2>&1"):format(envs, interp, q(file), rest)) then
    return nil
  end
  local list = {}
  for line in (read_file(file) or ""):gmatch("[^\n]+") do
    local count, where, decl = line:match("^(%d+)\t([^\t]*)\t(.*)$")
    if count then list[#list + 1] = { ir = tonumber(count) / PROFILE_N, where = where, decl = decl } end
  end
  return list
end

local profile
local function run_profile()
  if not (have("valgrind") and have("callgrind_annotate")) then
    return { note = "skipped: valgrind (callgrind) is not installed" }
  end
  local p = { runs = {} }
  for _, id in ipairs { "floor", "floor-decode-5.4", "hy3d-5.4", "floor-decode-jit", "hy3d-jit", "hy3d-api3-5.4" } do
    for _, c in ipairs(active) do
      if c.id == id and not c.failed then
        log("callgrind: %s, %d queries and 0", id, PROFILE_N)
        p.runs[#p.runs + 1] = per_query(c)
      end
    end
  end
  for _, c in ipairs(active) do
    if c.id == "hy3d-5.4" and not c.failed then p.lua = lua_profile(c) end
  end
  return p
end
if opt.profile then
  local ok, p = pcall(run_profile)
  if ok then profile = p else log("profile failed: %s", tostring(p)) end
end

stop(server_pid)
cleanup()

-- ===== BENCHMARKS.md =====

local function f0(x) return x and ("%.0f"):format(x) or "–" end
local function f1(x) return x and ("%.1f"):format(x) or "–" end
local function f2(x) return x and ("%.2f"):format(x) or "–" end

local md = {}
local function w(...) md[#md + 1] = table.concat({ ... }) end

w("# hy3d benchmarks")
w("")
w("Written by `", opt.quick and "make bench-quick" or "make bench", "` (bench/bench.lua) on ", os.date("!%Y-%m-%d %H:%M UTC"),
  "; ", opt.quick and "a quick run: small N, one repetition — figures are rough; `make bench` gives the real ones."
  or "the full run.", " Programs that measure and print: nothing here is a test.")
w("")
w("## Machine")
w("")
w("- ", MACHINE.nproc, " CPU(s): ", MACHINE.cpu)
w("- ", MACHINE.kernel, ", ", MACHINE.os)
w("- load average at the start: ", MACHINE.load)
w("")
w("## Versions")
w("")
w("| component | version |")
w("|---|---|")
for _, kv in ipairs {
  { "hy3d", VERSIONS.hy3d }, { "Lua", VERSIONS.lua }, { "LuaJIT", VERSIONS.luajit }, { "libcurl", VERSIONS.libcurl },
  { "lua-cjson (Debian)", VERSIONS.cjson }, { "lua-http (Debian)", VERSIONS.lua_http },
  { "luasocket (Debian)", VERSIONS.luasocket }, { "Node.js", VERSIONS.node },
  { "tencentcloud-sdk-nodejs-ai3d", VERSIONS.sdk }, { "C compiler", VERSIONS.gcc },
} do
  w("| ", kv[1], " | ", (tostring(kv[2]):gsub("|", "\\|")), " |")
end
w("")
w("## Per-request overhead")
w("")
w("Every contender does the same thing against `bench/server` on 127.0.0.1: one submit, then N ",
  "queries of that job, one after the other, with the same JSON bodies, keeping its connection ",
  "where it can. N = ", opt.n, " for the in-process clients that keep a connection, ", opt.n_slow,
  " for those that open one per request, ", opt.n_cli, " for the curl command line. ",
  opt.reps > 1 and ("Each contender ran " .. opt.reps .. " times, interleaved; each figure is the median over the runs.")
  or "One run each.", opt.pin and (" The server and every contender run on CPU " .. math.floor(opt.cpu)
  .. " (`taskset`): on this VM a round trip between two CPUs costs an inter-processor wake-up on each "
  .. "side, which made the floor's p50 jump between 35 and 140 µs from one run to the next; on one CPU "
  .. "a query costs the client's CPU, the server's and the kernel's, and the runs agree.") or
  " Not pinned to a CPU (--no-pin).")
w("")
w("| contender | runtime | door | queries | TCP conns | p50 µs | p99 µs | req/s | CPU µs/query | peak RSS MB | ",
  "p50 × floor | CPU × floor | CPU × decode floor |")
w("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for _, r in ipairs(rows) do
  local name = r.c.hy3d and ("**" .. r.c.label .. "**") or r.c.label
  local dfloor = decode_floor_of(r.c)
  w("| ", name, " | ", r.c.lua, " | ", r.c.door, " | ", r.n, " | ", f0(r.conns), " | ", f0(r.p50), " | ", f0(r.p99), " | ",
    f0(1e6 / r.mean), " | ", f1(r.cpu), " | ", f1(r.rss), " | ", floor and f2(r.p50 / floor.p50) or "–", " | ",
    floor and f2(r.cpu / floor.cpu) or "–", " | ", dfloor and f2(r.cpu / dfloor.cpu) or "–", " |")
end
w("")
for _, s in ipairs(skipped) do
  w("- skipped: ", s.c.label, " (", s.c.lua, "): ", s.why)
end
if #skipped > 0 then w("") end
w("How to read it:")
w("")
w("- **p50 / p99**: the client's own clock around each query call (submit excluded). ",
  "**req/s**: N over the wall time of the N queries.")
w("- **CPU µs/query**: user+sys CPU of the contender's whole process tree, measured from outside ",
  "(`build/bench/rusage`, bench/overhead/rusage.c: fork, exec, `wait4`), minus the same contender's ",
  "run with N = 0 (start-up, loading, the submit), over N. For the curl command line that is every ",
  "curl process and the bash loop. **peak RSS**: `ru_maxrss` of that tree (the largest process).")
w("- **TCP conns**: connections the server accepted during the run (submit included), from its ",
  "`GET /stats`. Requests the server answered are checked against N + 1.")
w("- **× floor**: the contender's figure over the C floor's (bench/floor.c: one libcurl easy handle, ",
  "the same headers and bodies as hy3d, the body collected, no JSON). **× decode floor**: over the ",
  "decode floor of the row's runtime (LuaJIT rows LuaJIT's, the others Lua 5.4's): bench/floor.c built with ",
  "-DFLOOR_LUA, the same loop in a C program embedding that Lua, which also `cjson.decode`s each answer ",
  "into a Lua table left to the collector — the least a Lua client that returns the answer as a table does.")
w("")
w("The contenders (bench/overhead/):")
w("")
w("- **hy3d**: `client:submit`, then `client:query(job)` N times (bench/overhead/hy3d.lua), blocking calls ",
  "in the main thread; API 3.0 rows sign every request (TC3-HMAC-SHA256). hy3d sends a submit on a fresh ",
  "connection (a submit must never be replayed by libcurl on a dead reused one); here it is the first ",
  "request, so the queries reuse its connection.")
w("- **lua-http** (Debian 0.4, packaged for Lua 5.1–5.3 with lua-lpeg-patterns for 5.1–5.2 only, all pure ",
  "Lua: Lua 5.4 loads them from the 5.3/5.2 trees): `http.request`, its documented one-call API, has no ",
  "connection pool (a connection per request); the kept connection is `http.client.connect` plus a new ",
  "stream per request.")
w("- **luasocket**: `socket.http.request` always sends `Connection: close, TE` and closes, so it cannot keep ",
  "a connection; the kept-connection rows drive the module's undocumented lower layer by hand ",
  "(`socket.http.open`, `sendrequestline`/`sendheaders`/`sendbody`/`receive*`) with TCP_NODELAY set: no ",
  "timeout handling, redirects or compression.")
w("- **Tencent's Node.js SDK**, as shipped (no `httpProfile.agent`): its node-fetch 2.7 uses Node's global ",
  "agent, which keeps connections alive since Node 19, so it reuses one connection (the TCP column); on an ",
  "older Node it would open one per request (`node bench/overhead/node_sdk.js URL N keepalive` passes an ",
  "explicit keep-alive agent).")
w("- **curl command line**: `$(curl -s -X POST ...)` per request from a bash loop, as a shell script does.")
w("")
w("<details><summary>Raw figures per contender (start-up, CPU inside the loop, submit)</summary>")
w("")
w("| contender | runtime | door | p50 µs of each run | CPU µs/query of each run | start-up wall ms | ",
  "start-up CPU ms | start-up RSS MB | loop CPU µs/query | submit µs | server saw | errors |")
w("|---|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|")
for _, r in ipairs(rows) do
  local p50s, cpus = {}, {}
  for _, run_ in ipairs(r.runs) do
    p50s[#p50s + 1] = f0(run_.p50_us)
    cpus[#cpus + 1] = f1((cpu_of(run_.rusage) - r.start_cpu) / run_.n * 1e6)
  end
  w("| ", r.c.label, " | ", r.c.lua, " | ", r.c.door, " | ", table.concat(p50s, ", "), " | ", table.concat(cpus, ", "), " | ",
    f1(r.start_wall * 1000), " | ", f1(r.start_cpu * 1000), " | ", f1(r.start_rss), " | ", f1(r.cpu_loop), " | ",
    f0(r.submit), " | ", f0(r.served), " requests | ", f0(r.errors), " |")
end
w("")
w("*loop CPU*: what the contender itself measured around its N queries (getrusage, os.clock, ",
  "`process.cpuUsage()`, bash `times`).")
w("")
w("</details>")
w("")

-- the scale figures, when the other half of the harness has written them
local scale, scale_err
do
  local text = read_file(OUT_DIR .. "/scale.json")
  if text then
    local ok, v = pcall(cjson.decode, text)
    if ok and type(v) == "table" then scale = v else scale, scale_err = text, v end
  end
end
local function num_of(x) return type(x) == "number" and x or nil end
-- a JSON value for a table cell (lua-cjson gives floats: 1824.0 is shown as 1824)
local function cell(v)
  if type(v) == "number" then
    if v == math.floor(v) and math.abs(v) < 1e15 then return ("%d"):format(v) end
    return ("%.6g"):format(v)
  end
  return tostring(v)
end

-- targets
local function cmp_line(label, v, limit, unit)
  return ("%s: %s%s (limit %s%s) — %s"):format(label, f2(v), unit, f2(limit), unit, v <= limit and "met" or "not met")
end
w("## Targets")
w("")
if floor then
  for _, id in ipairs { "hy3d-5.4", "hy3d-jit" } do
    local r = by_id[id]
    if r then
      w("- hy3d (", r.c.lua, ") per-query overhead within 1.15× of the C floor: ",
        cmp_line("latency p50 " .. f0(r.p50) .. " µs vs " .. f0(floor.p50) .. " µs", r.p50 / floor.p50, 1.15, "×"), "; ",
        cmp_line("CPU " .. f1(r.cpu) .. " vs " .. f1(floor.cpu) .. " µs/query", r.cpu / floor.cpu, 1.15, "×"),
        ". Fastest run of each: p50 ", f0(r.best_p50), " vs ", f0(floor.best_p50), " µs (", f2(r.best_p50 / floor.best_p50),
        "×), CPU ", f1(r.best_cpu), " vs ", f1(floor.best_cpu), " µs/query (", f2(r.best_cpu / floor.best_cpu), "×).")
    end
  end
  if profile and profile.runs then
    local fp, hp
    for _, pr in ipairs(profile.runs) do
      if pr.id == "floor" then fp = pr elseif pr.id == "hy3d-5.4" then hp = pr end
    end
    if fp and hp then
      w("- the same in user-space instructions per query (callgrind, load-independent; below): hy3d (Lua 5.4) ",
        f0(hp.total), " vs the floor's ", f0(fp.total), ": ", cmp_line("ratio", hp.total / fp.total, 1.15, "×"), ".")
    end
    -- issue #20: a query within 1.10x of the decode floor of its runtime, in instructions
    for _, pr in ipairs { { "hy3d-5.4", "floor-decode-5.4" }, { "hy3d-jit", "floor-decode-jit" } } do
      local h, d
      for _, x in ipairs(profile.runs) do
        if x.id == pr[1] then h = x elseif x.id == pr[2] then d = x end
      end
      if h and d then
        w("- hy3d (", h.c.lua, ") per query within 1.10× of the decode floor (C + libcurl + cjson.decode into a ",
          "Lua table), in instructions: ", f0(h.total), " vs ", f0(d.total), ": ",
          cmp_line("ratio", h.total / d.total, 1.10, "×"), ".")
      end
    end
  end
  for _, id in ipairs { "hy3d-api3-5.4", "hy3d-api3-jit" } do
    local r = by_id[id]
    if r then
      w("- (for reference) hy3d on API 3.0 (", r.c.lua, ", signing included) against the gateway floor: p50 ",
        f2(r.p50 / floor.p50), "×, CPU ", f2(r.cpu / floor.cpu), "×.")
    end
  end
end
do
  -- faster than every other contender: hy3d on the same runtime and door, and the best hy3d overall
  local lines, all_met = {}, true
  for _, r in ipairs(rows) do
    if not r.c.hy3d and not r.c.floor then
      local best
      for _, h in ipairs(rows) do
        if h.c.hy3d and h.c.door == r.c.door and (not best or h.p50 < best.p50) then best = h end
      end
      local same
      for _, h in ipairs(rows) do
        if h.c.hy3d and h.c.door == r.c.door and h.c.lua == r.c.lua then same = h end
      end
      local h = same or best
      if h then
        local met = h.p50 < r.p50 and h.cpu < r.cpu
        all_met = all_met and met
        lines[#lines + 1] = ("  - vs %s (%s): hy3d %s p50 %s vs %s µs, CPU %s vs %s µs/query — %s"):format(r.c.label,
          r.c.lua, h.c.lua, f0(h.p50), f0(r.p50), f1(h.cpu), f1(r.cpu), met and "faster" or "**not faster**")
      end
    end
  end
  w("- hy3d faster than every other contender (same door; same runtime where the peer runs on Lua 5.4 or LuaJIT, ",
    "else hy3d's best), on both p50 and CPU: ", all_met and "met" or "not met")
  for _, l in ipairs(lines) do w(l) end
end
do
  local parts, met = {}, true
  for _, r in ipairs(rows) do
    if r.c.hy3d then
      parts[#parts + 1] = ("%s %s: %s"):format(r.c.lua, r.c.door, f0(r.conns))
      met = met and r.conns == 1
    end
  end
  w("- 1 TCP connection for sequential calls to one host (1 submit + N queries): ", met and "met" or "not met",
    " (", table.concat(parts, "; "), ")")
end
if type(scale) == "table" then
  local function verdict(flag) return flag == true and "met" or flag == false and "not met" or "?" end
  local j, d, u = scale.jobs1000, scale.download, scale.update
  if type(j) == "table" then
    w("- 1,000 concurrent jobs finish within the job time plus two poll intervals: ", verdict(j.wall_met), " (",
      f2(num_of(j.wall_s)), " s, limit ", f2(num_of(j.target_wall_s)), " s); under ",
      f0(num_of(j.memory_target_mb)), " MB resident growth: ", verdict(j.memory_met), " (peak growth ",
      f1(num_of(j.rss_peak_growth_mb)), " MB, Lua heap ", f1(num_of(j.lua_heap_peak_growth_mb)), " MB)")
  end
  if type(d) == "table" then
    local hy, cu = type(d.hy3d) == "table" and d.hy3d or {}, type(d.curl) == "table" and d.curl or {}
    w("- download at ≥ ", f2(num_of(d.throughput_target_ratio)), "× `curl -o` throughput: ", verdict(d.throughput_met),
      " (", f0(num_of(hy.mb_s)), " vs ", f0(num_of(cu.mb_s)), " MB/s, ", f2(num_of(d.ratio)), "×); resident growth under ",
      f0((num_of(d.memory_target_kb) or 0) / 1024), " MB: ", verdict(d.memory_met), " (",
      f0(num_of(hy.rss_growth_kb_max) or num_of(hy.rss_growth_kb)), " kB)")
  end
  if type(u) == "table" then
    local ms = type(u.update_ms) == "table" and u.update_ms or {}
    local cpu = type(u.update_cpu_ms) == "table" and u.update_cpu_ms or {}
    w("- `update()` p99 under ", f2(num_of(u.target_p99_ms)), " ms with ", f0(num_of(u.jobs)), " jobs in flight: ",
      verdict(u.met), " by the wall clock (p99 ", f2(num_of(ms.p99)), " ms, p50 ", f2(num_of(ms.p50)), " ms); ",
      verdict(u.cpu_met), " in CPU time (p99 ", f2(num_of(cpu.p99)), " ms, p50 ", f2(num_of(cpu.p50)), " ms); ",
      f0(num_of(u.frames_over_1ms_descheduled)), " of the ", f0(num_of(u.frames_over_1ms)),
      " frames over 1 ms used under 1 ms of CPU (the process was descheduled)")
  end
  for _, t in ipairs(type(scale.targets) == "table" and scale.targets or {}) do
    w("- ", tostring(t.target), ": ", tostring(t.value), " — ", t.met and "met" or "not met")
  end
end
w("")

-- scale results from the other half of the harness (bench/scale/ writes bench/out/scale.json)
w("## Scale, downloads and `update()`")
-- The { title, columns, rows } tables of a results file (bench/out/scale.json, tls.json) as markdown.
local function write_tables(tables)
  for _, t in ipairs(type(tables) == "table" and tables or {}) do
    if t.title then w("### ", t.title) w("") end
    w("| ", table.concat(t.columns, " | "), " |")
    w("|", ("---|"):rep(#t.columns))
    for _, row in ipairs(t.rows or {}) do
      local cells = {}
      for i = 1, #t.columns do cells[i] = row[i] == nil and "" or cell(row[i]) end
      w("| ", table.concat(cells, " | "), " |")
    end
    w("")
  end
end

w("")
if not scale then
  w("Not measured in this run: bench/out/scale.json (written by the scale benchmarks in bench/scale/) is missing.")
elseif type(scale) ~= "table" then
  w("bench/out/scale.json is not valid JSON: ", tostring(scale_err))
elseif type(scale.markdown) == "string" then
  w(scale.markdown)
else
  if scale.date then w("From bench/out/scale.json, measured ", tostring(scale.date), ".") w("") end
  write_tables(scale.tables)
  -- sections: objects of figures, each a key/value table (nested objects flattened, long arrays
  -- and per-sample series left to the JSON file) and its notes
  local SECTION_TITLES = { jobs1000 = "1,000 concurrent jobs from one thread",
    download = "Download of a large file against `curl -o`", update = "`client:update()` with jobs in flight" }
  local order = { "jobs1000", "download", "update" }
  local seen = { jobs1000 = true, download = true, update = true }
  local others = {}
  for k, v in pairs(scale) do
    if type(v) == "table" and not seen[k] and k ~= "tables" and k ~= "targets" and k ~= "machine" and v[1] == nil then
      others[#others + 1] = k
    end
  end
  table.sort(others)
  for _, k in ipairs(others) do order[#order + 1] = k end
  for _, k in ipairs(order) do
    local sec = scale[k]
    if type(sec) == "table" then
      w("### ", SECTION_TITLES[k] or k)
      w("")
      w("| figure | value |")
      w("|---|---|")
      local flat = {}
      local function walk(prefix, t)
        for kk, vv in pairs(t) do
          local name = prefix .. tostring(kk)
          if kk == "notes" or kk == "samples" or kk == "samples_columns" then -- luacheck: ignore 542
          elseif type(vv) == "table" and vv[1] == nil and next(vv) ~= nil then walk(name .. ".", vv)
          elseif type(vv) == "table" then
            if #vv <= 12 and type(vv[1]) ~= "table" then
              local parts = {}
              for _, x in ipairs(vv) do parts[#parts + 1] = cell(x) end
              flat[#flat + 1] = { name, table.concat(parts, ", ") }
            end
          else
            flat[#flat + 1] = { name, cell(vv) }
          end
        end
      end
      walk("", sec)
      table.sort(flat, function(x, y) return x[1] < y[1] end)
      for _, kv in ipairs(flat) do w("| ", kv[1], " | ", (kv[2]:gsub("|", "\\|")), " |") end
      w("")
      if type(sec.notes) == "string" then w(sec.notes) w("") end
    end
  end
  w("Everything else (per-sample series) is in bench/out/scale.json.")
end
w("")

-- TLS at scale (bench/tls/run.lua writes bench/out/tls.json in the scale format)
w("## TLS at scale")
w("")
do
  local text = read_file(OUT_DIR .. "/tls.json")
  local ok, tls = pcall(cjson.decode, text or "")
  if not (text and ok and type(tls) == "table") then
    w("Not measured in this run: bench/out/tls.json (written by bench/tls/run.lua) is missing or not JSON.")
  elseif type(tls.markdown) == "string" then
    w(tls.markdown)
  else
    if tls.date then w("From bench/out/tls.json, measured ", tostring(tls.date), ".") w("") end
    write_tables(tls.tables)
    for _, t in ipairs(type(tls.targets) == "table" and tls.targets or {}) do
      w("- ", tostring(t.target), ": ", tostring(t.value), " — ", t.met and "met" or "not met")
    end
    if type(tls.notes) == "string" then w("") w(tls.notes) end
  end
end
w("")

-- the server
w("## The server: bench/server, not hy3d-sandbox")
w("")
w("The table's server is bench/server.c: C, epoll, one thread, HTTP/1.1 keep-alive, every answer ",
  "built once at start-up, so each contender gets the same bytes (the gateway's submit and DONE query, ",
  "API 3.0's Submit/QueryHunyuanTo3DProJob with the shapes hy3d-sandbox sends: two ResultFile3Ds, ",
  "1.2–1.3 kB). It checks no API key and no TC3 signature. hy3d-sandbox does: it is a Lua server ",
  "that authenticates, validates and keeps jobs, and its cost per request would be most of what a ",
  "client benchmark measures. The same contenders against both (", opt.n_sandbox, " queries each, ",
  "sandbox run with `--rate-limit 0 --concurrency pro=0 --wait-s 0 --run-s 0`, so every query finds ",
  "a DONE job):")
w("")
if sandbox_note then
  w(sandbox_note)
else
  w("| contender | door | p50 µs, hy3d-sandbox | p50 µs, bench/server | difference µs | req/s, sandbox | req/s, bench/server |")
  w("|---|---|--:|--:|--:|--:|--:|")
  for _, s in ipairs(sandbox_rows) do
    w("| ", s.c.label, " (", s.c.lua, ") | ", s.c.door, " | ", f0(s.sandbox.p50_us), " | ", f0(s.server.p50_us), " | ",
      f0(s.sandbox.p50_us - s.server.p50_us), " | ", f0(1e6 / s.sandbox.mean_us), " | ", f0(1e6 / s.server.mean_us), " |")
  end
end
w("")
w("The difference is the sandbox's own time per request, which would hide most of hy3d's overhead.")
w("")

-- profile
if profile then
  w("## Where hy3d's time goes")
  w("")
  if profile.note then
    w(profile.note)
  else
    w("`valgrind --tool=callgrind` counts the instructions each function executes (exclusive: not its ",
      "callees). Each contender ran ", PROFILE_N, " queries and 0 queries against bench/server; the ",
      "difference over ", PROFILE_N, " is the cost of one query, start-up and loading taken out. ",
      "Instructions are not time (cache misses and the kernel are not in them: a query's system calls ",
      "cost about as much again), but they show where user-space work goes and do not depend on the load.")
    w("")
    local runs = profile.runs
    local names, seen = {}, {}
    for _, r in ipairs(runs) do
      for g in pairs(r.groups) do if not seen[g] then seen[g] = true; names[#names + 1] = g end end
    end
    local ref = runs[#runs] or { groups = {} }
    for _, r in ipairs(runs) do if r.id == "hy3d-5.4" then ref = r end end
    table.sort(names, function(a, b) return (ref.groups[a] or 0) > (ref.groups[b] or 0) end)
    local head, sep = { "instructions per query" }, { "---" }
    for _, r in ipairs(runs) do
      head[#head + 1] = r.c.label .. " (" .. r.c.lua .. ", " .. r.c.door .. ")"
      sep[#sep + 1] = "--:"
    end
    w("| ", table.concat(head, " | "), " |")
    w("|", table.concat(sep, "|"), "|")
    local cells = { "**total**" }
    for _, r in ipairs(runs) do cells[#cells + 1] = "**" .. f0(r.total) .. "**" end
    w("| ", table.concat(cells, " | "), " |")
    for _, g in ipairs(names) do
      local row, big = { g }, false
      for _, r in ipairs(runs) do
        local v = r.groups[g] or 0
        if v >= 50 then big = true end
        row[#row + 1] = f0(v)
      end
      if big then w("| ", table.concat(row, " | "), " |") end
    end
    w("")
    local floor_p, by_run = nil, {}
    for _, r in ipairs(runs) do
      by_run[r.id] = r
      if r.id == "floor" then floor_p = r end
    end
    -- hy3d's query against both floors, in instructions (noise-free where the CPU times are not)
    local ratio_lines = {}
    for _, pr in ipairs { { "hy3d-5.4", "floor-decode-5.4", "Lua 5.4" }, { "hy3d-jit", "floor-decode-jit", "LuaJIT" } } do
      local h, d = by_run[pr[1]], by_run[pr[2]]
      if h and floor_p then
        ratio_lines[#ratio_lines + 1] = ("- %s: hy3d %s instructions per query, %s× the floor (%s), %s× the decode floor "
          .. "(%s)"):format(pr[3], f0(h.total), f2(h.total / floor_p.total), f0(floor_p.total),
          d and f2(h.total / d.total) or "–", d and f0(d.total) or "not measured")
      end
    end
    if #ratio_lines > 0 then
      w("hy3d's query (gateway) in instructions against the floor and the decode floor of its runtime:")
      w("")
      for _, l in ipairs(ratio_lines) do w(l) end
      w("")
    end
    if floor_p and ref.id == "hy3d-5.4" then
      local diffs = {}
      for _, g in ipairs(names) do
        local d = (ref.groups[g] or 0) - (floor_p.groups[g] or 0)
        if math.abs(d) >= 500 then diffs[#diffs + 1] = { g = g, d = d } end
      end
      table.sort(diffs, function(a, b) return a.d > b.d end)
      local parts = {}
      for _, d in ipairs(diffs) do parts[#parts + 1] = ("%s%s in %s"):format(d.d > 0 and "+" or "", f0(d.d), d.g) end
      w("hy3d (Lua 5.4, gateway) executes ", f0(ref.total), " instructions per query, the floor ", f0(floor_p.total),
        " (", f2(ref.total / floor_p.total), "×): ", table.concat(parts, ", "), ".")
      w("")
    end
    -- inclusive: the steps of one query, by the C functions that do them
    local STEPS = {
      { "curl_easy_perform", "curl_easy_perform: the whole transfer on the reused handle (the floor)" },
      { "engine_request", "engine:request: encode the body, a request on a kept easy handle, its options "
        .. "(and TC3 signing on API 3.0), attach" },
      { "hy3d_json_encode", "· JSON-encode the parameters (lua-cjson)" },
      { "hy3d_tc3_compute", "· TC3-HMAC-SHA256 signature" },
      { "hy3d_request_new", "· new request (userdata, user value, an easy handle from the engine's pool)" },
      { "curl_easy_init", "· · curl_easy_init (only when the pool is empty)" },
      { "hy3d_handle_prepare", "· curl_easy_setopt of the request's URL, timeout and error buffer" },
      { "curl_multi_add_handle", "· curl_multi_add_handle" },
      { "engine_wait", "engine:wait: the transfer (libcurl's multi interface, epoll)" },
      { "curl_multi_socket_action", "· curl_multi_socket_action" },
      { "curl_multi_remove_handle", "· curl_multi_remove_handle" },
      { "request_result", "req:result: decode the body into Lua tables" },
      { "hy3d_json_decode", "· lua-cjson decode" },
      { "request_close", "req:close(): the handle back to the engine's pool, frees" },
      { "curl_easy_cleanup", "· curl_easy_cleanup (downloads; idle API handles past pool_idle)" },
    }
    w("The steps of one query, counted with everything they call (inclusive; `·` = part of the step above):")
    w("")
    local head2, sep2 = { "step" }, { "---" }
    for _, r in ipairs(runs) do head2[#head2 + 1] = r.c.label .. " (" .. r.c.door .. ")"; sep2[#sep2 + 1] = "--:" end
    w("| ", table.concat(head2, " | "), " |")
    w("|", table.concat(sep2, "|"), "|")
    local top = { curl_easy_perform = true, engine_request = true, engine_wait = true,
                  request_result = true, request_close = true }
    for _, st in ipairs(STEPS) do
      local row, any = { st[2] }, false
      for _, r in ipairs(runs) do
        local v = r.inclusive and r.inclusive[st[1]]
        if v and v >= 1 then any = true; row[#row + 1] = f0(v) else row[#row + 1] = "–" end
      end
      if any then w("| ", table.concat(row, " | "), " |") end
    end
    local rest = { "everything else: the Lua layer, the VM, the GC of the tables, the contender's loop" }
    for _, r in ipairs(runs) do
      local covered = 0
      for fn in pairs(top) do covered = covered + math.max(0, (r.inclusive or {})[fn] or 0) end
      rest[#rest + 1] = f0(r.total - covered)
    end
    w("| ", table.concat(rest, " | "), " |")
    w("")
    local fi, hi = floor_p and floor_p.inclusive, ref.inclusive
    if fi and hi and ref.id == "hy3d-5.4" and hi.request_result and hi.engine_wait and fi.curl_easy_perform then
      local decode = hi.request_result
      local handle = (hi.curl_easy_init or 0) + (hi.hy3d_request_setup_api or 0) + (hi.curl_easy_cleanup or 0)
        + (hi.hy3d_engine_recycle or 0)
      local transfer = hi.engine_wait + (hi.curl_multi_add_handle or 0) - fi.curl_easy_perform
      local added = ref.total - floor_p.total
      local other = added - decode - handle - transfer
      w("Of the ", f0(added), " instructions hy3d adds to the floor's ", f0(floor_p.total), " per query: ", f0(decode),
        " (", f0(decode / added * 100), "%) decode the answer into Lua tables (the floor parses nothing), ", f0(handle),
        " (", f0(handle / added * 100), "%) give each request its own options on a kept easy handle ",
        "(the floor sets the same options once), ", f0(transfer), " (", f0(transfer / added * 100),
        "%) more go to the transfer through the multi interface, and ", f0(other), " (", f0(other / added * 100),
        "%) to the rest: the Lua layer, the VM, ",
        "the garbage collector. Within 1.15× of the floor leaves ", f0(floor_p.total * 0.15), " instructions for all ",
        "of it: the decode alone is ", f2(decode / (floor_p.total * 0.15)), " times that budget.")
      w("")
    end
    w("The functions hy3d (Lua 5.4, gateway) spends its instructions in, per query (stripped binaries ",
      "show addresses; `'2` marks a recursive call):")
    w("")
    w("| instructions | % | function | in |")
    w("|--:|--:|---|---|")
    for i = 1, math.min(30, #ref.fns) do
      local fn = ref.fns[i]
      local name = fn.name:gsub("%s*%[[^%]]*%]$", ""):gsub("^%./", ""):gsub("|", "\\|")
      w("| ", f0(fn.ir), " | ", f1(fn.ir / ref.total * 100), " | `", name, "` | ", fn.group, " |")
    end
    w("")
    if profile.lua and #profile.lua > 0 then
      local vm = 0
      for _, l in ipairs(profile.lua) do vm = vm + l.ir end
      w("Inside the Lua VM (bench/overhead/luaprof.lua: a count hook charges VM instructions — bytecodes, not ",
        "machine instructions — to the running Lua function; calls into C are not counted), about ", f0(vm),
        " bytecodes per query:")
      w("")
      w("| bytecodes per query | function |")
      w("|--:|---|")
      for i = 1, math.min(12, #profile.lua) do
        local l = profile.lua[i]
        w("| ", f1(l.ir), " | `", (l.decl:gsub("|", "\\|")), "` (", l.where, ") |")
      end
      w("")
    end
  end
end

-- Comparisons across changes, measured by hand (bench/history.md), copied as they are.
do
  local h = io.open("bench/history.md", "rb")
  if h then
    local text = h:read("*a"):gsub("^<!%-%-.-%-%->\n", "")
    h:close()
    w("## Across changes")
    w("")
    w(text)
  end
end

w("## Reproduce")
w("")
w("```sh")
w("make bench          # about 5 minutes: this file, in full")
w("make bench-quick    # under a minute: the same table with small N")
w("bench/instructions.sh OLD_TREE   # instructions per query of another checkout beside this one (callgrind)")
w("lua5.4 bench/bench.lua --n 5000 --reps 1 --only hy3d   # a subset (the floor always runs)")
w("```")
w("")
w("The Debian packages it needs are in `bench-deps` (bench/bench.mk); the Node.js SDK comes from ",
  "`make deps-sdk`. Each contender also runs alone: `build/bench/server` prints its URL, then e.g. ",
  "`LUA_PATH='./lua/?.lua;./lua/?/init.lua;./bench/overhead/?.lua;;' LUA_CPATH='./build/?.so;;' ",
  "lua5.4 bench/overhead/hy3d.lua URL 20000`. Raw figures of this run: bench/out/overhead.json.")
w("")

write_file(opt.out, table.concat(md, "\n"))

-- raw figures
local raw = { machine = MACHINE, versions = VERSIONS, options = opt, rows = {}, sandbox = {}, skipped = {} }
for _, r in ipairs(rows) do
  raw.rows[#raw.rows + 1] = { id = r.c.id, label = r.c.label, runtime = r.c.lua, door = r.c.door, n = r.n,
    p50_us = r.p50, p99_us = r.p99, mean_us = r.mean, cpu_us_per_query = r.cpu, loop_cpu_us_per_query = r.cpu_loop,
    peak_rss_mb = r.rss, connections = r.conns, requests_served = r.served, errors = r.errors, runs = r.runs }
end
for _, s in ipairs(sandbox_rows) do
  raw.sandbox[#raw.sandbox + 1] = { id = s.c.id, sandbox = s.sandbox, server = s.server }
end
for _, s in ipairs(skipped) do raw.skipped[#raw.skipped + 1] = { id = s.c.id, why = s.why } end
write_file(OUT_DIR .. "/overhead.json", cjson.encode(raw) .. "\n")
log("wrote %s and %s/overhead.json in %d s", opt.out, OUT_DIR, os.time() - t_start)
