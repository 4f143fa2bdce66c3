-- Starts hy3d-sandbox as a child process on 127.0.0.1 for a spec, and talks to its control
-- endpoints (config, faults, the job clock, the request log) with luasocket, never through the
-- client under test.
local socket = require "socket"
local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson"

local KEY = "sk-hy3d-spec-0123456789abcdef"
local SECRET_ID = "AKIDhy3dSpecSecretId00000000000000"
local SECRET_KEY = "hy3dSpecSecretKey0123456789abcdef"

local Sandbox = {}
Sandbox.__index = Sandbox

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- One control call: GET when body is nil, else POST with the JSON body. Returns the decoded answer.
function Sandbox:control(what, body)
  local chunks = {}
  local payload = body and cjson.encode(body) or nil
  local ok, code = http.request {
    url = self.url .. "/_sandbox/" .. what,
    method = payload and "POST" or "GET",
    headers = payload and { ["Content-Type"] = "application/json", ["Content-Length"] = #payload } or nil,
    source = payload and ltn12.source.string(payload) or nil,
    sink = ltn12.sink.table(chunks),
  }
  assert(ok and code == 200, "sandbox control " .. what .. " failed: " .. tostring(code) .. " " .. table.concat(chunks))
  return cjson.decode(table.concat(chunks))
end

function Sandbox:stats() return self:control("stats") end
function Sandbox:config(t) return self:control("config", t) end
function Sandbox:fault(rule) return self:control("faults", rule) end
function Sandbox:reset() return self:control("reset", {}) end

-- The sandbox's job clock (/_sandbox/clock): its state ({ now, frozen, ahead }) without `t`, else
-- changes it with `t` ({ freeze = true|false, advance = seconds }). reset() puts it back to real time.
function Sandbox:clock(t) return self:control("clock", t) end
-- Stops the job clock: jobs stay in their phase until advance() moves it.
function Sandbox:freeze() return self:control("clock", { freeze = true }) end
-- Moves the job clock `seconds` on: what was due within them is due now (no sleep, no race).
function Sandbox:advance(seconds) return self:control("clock", { advance = seconds }) end

-- The request log, optionally only one route ("submit", "query", "files").
function Sandbox:requests(route)
  local all = self:control("requests").requests
  if not route then return all end
  local out = {}
  for _, r in ipairs(all) do
    if r.route == route then out[#out + 1] = r end
  end
  return out
end

-- Raw HTTP against the sandbox (for behaviours the client must not be used to check).
function Sandbox:raw(method, path, headers, body)
  local chunks = {}
  local _, code, res_headers = http.request {
    url = self.url .. path, method = method, headers = headers,
    source = body and ltn12.source.string(body) or nil,
    sink = ltn12.sink.table(chunks),
  }
  local text = table.concat(chunks)
  local ok, decoded = pcall(cjson.decode, text)
  return code, ok and decoded or text, res_headers
end

--- Calls an API 3.0 action over real HTTP with a TC3-HMAC-SHA256 signature (from hy3d.core).
-- opts: secret_id, secret_key, timestamp, region (false: none), version, service (default ai3d), body (raw
-- payload), content_type, signed_headers, sign_host, headers (extra or overriding; false removes one), method.
-- Returns the HTTP status, the decoded body (or the raw text) and the response headers.
function Sandbox:api(action, params, opts)
  opts = opts or {}
  local payload = opts.body or cjson.encode(params or {})
  local host = self.url:match("^http://([^/]+)")
  local ts = opts.timestamp or os.time()
  local ctype = opts.content_type or "application/json"
  local headers = {
    ["Content-Type"] = ctype, ["X-TC-Action"] = action, ["X-TC-Version"] = opts.version or "2025-05-13",
    ["X-TC-Region"] = opts.region ~= false and (opts.region or "ap-guangzhou") or nil, ["X-TC-Timestamp"] = tostring(ts),
    ["Content-Length"] = #payload, Host = host,
  }
  local lower = {}
  for k, v in pairs(headers) do lower[k:lower()] = tostring(v) end
  for k, v in pairs(opts.headers or {}) do if v then lower[k:lower()] = tostring(v) end end
  headers.Authorization = require("hy3d.core").tc3_sign {
    secret_id = opts.secret_id or SECRET_ID, secret_key = opts.secret_key or SECRET_KEY, timestamp = ts,
    payload = payload, host = opts.sign_host or host, content_type = ctype, service = opts.service or "ai3d",
    signed_headers = opts.signed_headers, headers = lower,
  }
  for k, v in pairs(opts.headers or {}) do
    for name in pairs(headers) do
      if name:lower() == k:lower() then headers[name] = nil end
    end
    if v then headers[k] = v end
  end
  return self:raw(opts.method or "POST", "/", headers, payload)
end

--- A client of this sandbox (its URL and key, plus opts); closed by stop().
function Sandbox:client(opts)
  local o = { api_key = self.key, base_url = self.url }
  for k, v in pairs(opts or {}) do o[k] = v end
  local c = require("hy3d").new(o)
  self.clients[#self.clients + 1] = c
  return c
end

function Sandbox:stop()
  if self.stopped then return end
  self.stopped = true
  for _, c in ipairs(self.clients) do c:close() end
  pcall(self.control, self, "shutdown", {})
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  os.remove(self.out)
end

local M = { key = KEY, secret_id = SECRET_ID, secret_key = SECRET_KEY }

-- Every sandbox started from this module instance; whatever a failed test left running is
-- stopped when the Lua state closes (busted closes it on exit).
local started = {}
local function sweep()
  for _, sb in ipairs(started) do sb:stop() end
end
if newproxy then                                  -- Lua 5.1 / LuaJIT: only userdata have __gc
  M._sweeper = newproxy(true)
  getmetatable(M._sweeper).__gc = sweep
else
  M._sweeper = setmetatable({}, { __gc = sweep })
end

--- Starts a sandbox. opts: wait_time, run_time (seconds, default 0.2 / 0.3), envelope,
-- concurrency, rate_limit (default 0: off, so suites can poll fast), extra (list of argv strings).
function M.start(opts)
  opts = opts or {}
  local lua = os.getenv("HY3D_SANDBOX_LUA") or "lua5.4"
  local out = os.tmpname()
  local argv = { "--port", "0", "--lifetime", "900", "--api-key", KEY, "--secret-id", SECRET_ID,
                 "--secret-key", SECRET_KEY, "--wait-time", opts.wait_time or 0.2, "--run-time", opts.run_time or 0.3,
                 "--rate-limit", opts.rate_limit or 0 }
  if opts.envelope then argv[#argv + 1] = "--envelope"; argv[#argv + 1] = opts.envelope end
  if opts.concurrency then argv[#argv + 1] = "--concurrency"; argv[#argv + 1] = opts.concurrency end
  for _, a in ipairs(opts.extra or {}) do argv[#argv + 1] = a end
  for i, a in ipairs(argv) do argv[i] = shell_quote(a) end
  -- the child loads a build of hy3d.core for its own Lua (the sandbox uses it for base64 and image
  -- hashes; it verifies TC3 signatures with its own code on luaossl)
  local cmd = ("%s %s sandbox/bin/hy3d-sandbox %s > %s 2>&1 & echo $!"):format(M.sandbox_env(), lua, table.concat(argv, " "), out)
  local p = assert(io.popen(cmd))
  local pid = p:read("*l")
  p:close()
  local deadline, url = socket.gettime() + 15
  repeat
    local text = read_file(out) or ""
    url = text:match("^(http://[%d%.]+:%d+)\n")
    if url then break end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  if not url then
    os.execute("kill " .. pid .. " 2>/dev/null")
    error("hy3d-sandbox did not start: " .. (read_file(out) or "(no output)"))
  end
  local sb = setmetatable({ url = url, key = KEY, secret_id = SECRET_ID, pid = pid, out = out, clients = {} }, Sandbox)
  started[#started + 1] = sb
  return sb
end

--- A sandbox for the tests of one describe block: starts it in the block's setup and stops it in its
-- teardown (the block every client spec used to repeat). opts as start's, plus reset (default true:
-- a reset before each test, so no fault, config or clock change outlives its test). Returns the
-- sandbox object itself, empty until setup has run (read sb.url inside setup or a test, not at
-- describe time); clients made with sb:client() are closed with it.
function M.suite(opts)
  local busted = require "busted"                 -- the running busted's API (a module sees no spec globals)
  opts = opts or {}
  local sb = setmetatable({}, Sandbox)
  busted.setup(function()
    local live = M.start(opts)
    for k, v in pairs(live) do sb[k] = v end
    for i, s in ipairs(started) do                -- the sweep at exit stops this object, not the copy
      if s == live then started[i] = sb end
    end
  end)
  busted.teardown(function() if sb.pid then sb:stop() end end)
  if opts.reset ~= false then busted.before_each(function() sb:reset() end) end
  return sb
end

-- A path list with its "./" entries made absolute (relative to the directory the suite runs in).
local function absolute(paths)
  local root = assert(os.getenv("PWD"))
  local out = {}
  for entry in paths:gmatch("[^;]+") do
    out[#out + 1] = entry:sub(1, 2) == "./" and (root .. entry:sub(2)) or entry
  end
  return table.concat(out, ";")
end

--- A new empty directory under the system's temporary directory.
function M.tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. shell_quote(d)))
  return d
end

M.absolute = absolute

--- The shell command that runs `cmd` (quoted already) from the checkout in a LuaJIT host (LÖVE, nvim,
-- tarantool) against sandbox sb: its address and key, the checkout's Lua modules and LuaJIT core in
-- HY3D_LUA_PATH / HY3D_CPATH (the examples read them), then env's variables (over those). LUA_PATH and
-- LUA_CPATH are unset: LuaJIT reads them, and the suite's 5.4 setting must not leak into the host.
function M.host_command(sb, env, cmd)
  local root = assert(os.getenv("PWD"))
  local vars = { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key,
                 HY3D_LUA_PATH = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua",
                 HY3D_CPATH = root .. "/build/luajit/?.so" }
  for k, v in pairs(env or {}) do vars[k] = v end
  local assigns = {}
  for k, v in pairs(vars) do assigns[#assigns + 1] = k .. "=" .. shell_quote(v) end
  return ("cd %s && env -u LUA_PATH -u LUA_CPATH %s %s"):format(shell_quote(root), table.concat(assigns, " "), cmd)
end

--- LUA_PATH and LUA_CPATH assignments for a child process run with M.lua(): the suite's own module
-- paths, made absolute, so a child loads the same build (e.g. the sanitizer build) from any directory.
function M.lua_env()
  return ("LUA_PATH=%s LUA_CPATH=%s"):format(shell_quote(absolute(package.path)), shell_quote(absolute(package.cpath)))
end

--- LUA_PATH and LUA_CPATH assignments for a hy3d-sandbox child (HY3D_SANDBOX_LUA, Lua 5.3+). By
-- default, on Lua 5.4, the suite's own paths (lua_env()). With HY3D_SANDBOX_CPATH set, or when the
-- suite runs on another Lua (whose C modules the child cannot load), the checkout's Lua modules (the
-- sandbox's and the library's), the core build in HY3D_SANDBOX_CPATH (default ./build/?.so, the 5.4
-- build) and the child's own default paths.
function M.sandbox_env()
  local cpath = os.getenv("HY3D_SANDBOX_CPATH")
  if not cpath and _VERSION == "Lua 5.4" then return M.lua_env() end
  return ("LUA_PATH=%s LUA_CPATH=%s"):format(
    shell_quote(absolute("./sandbox/lua/?.lua;./sandbox/lua/?/init.lua;./lua/?.lua;./lua/?/init.lua") .. ";;"),
    shell_quote(absolute(cpath or "./build/?.so") .. ";;"))
end

--- The Lua interpreter the suite runs under (for child processes): HY3D_TEST_LUA, else the
-- Debian name of the running one (lua5.4, lua5.1, luajit, …).
function M.lua()
  return os.getenv("HY3D_TEST_LUA") or (rawget(_G, "jit") and "luajit") or ("lua" .. _VERSION:match("%d+%.%d+"))
end

--- Runs a shell command line, returns true when it exits with 0, its whole output (stdout and
-- stderr) and its exit code. The shell reports the code (Lua 5.1's and LuaJIT's close() do not).
function M.run(cmd)
  local p = assert(io.popen("( " .. cmd .. "\n) 2>&1; printf '\\nhy3d-spec-exit:%d' \"$?\""))
  local all = p:read("*a")
  p:close()
  local output, code = all:match("^(.*)\nhy3d%-spec%-exit:(%d+)$")
  code = tonumber(code)
  return code == 0, output or all, code
end

--- A port on 127.0.0.1 where nothing listens.
function M.dead_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return port
end

--- The process id of this Lua process.
function M.self_pid()
  return assert(read_file("/proc/self/stat")):match("^(%d+)")
end

M.shell_quote = shell_quote
M.read_file = read_file

--- Writes data to the file at path (replacing it). Returns path.
function M.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

--- Whether a file (or folder) exists at path.
function M.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

return M
