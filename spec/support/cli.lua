-- Running bin/hy3d as a user runs it, for the CLI specs: a child with the suite's Lua and module
-- paths and a clean environment, its JSON-lines events, and the check that a message speaks the
-- command line's words (flags and variables, never the Lua API's options).
local core = require "hy3d.core"
local sandbox = require "spec.support.sandbox"

local q = sandbox.shell_quote
local ROOT = os.getenv("PWD")

local M = {}

-- Variables that would change which service, credentials, door or record a child uses: every run
-- starts without them and gets only what the test gives.
M.CLEARED = { "HY3D_API_KEY", "HY3D_BASE_URL", "HY3D_ENDPOINT", "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY",
              "TENCENTCLOUD_SESSION_TOKEN", "TENCENTCLOUD_REGION", "HY3D_JOBS_FILE", "XDG_STATE_HOME", "HY3D_DOOR",
              "HY3D_LANGUAGE", "HY3D_SITE", "HY3D_KINDS", "HY3D_CACHE_DIR", "HY3D_MAX_CREDITS" }

--- Runs fn in this process with io.stdout and io.stderr captured (for the unit specs of the CLI's
-- modules); returns what fn returned and the two texts. fn's error is raised after both are back.
function M.captured(fn)
  local out, err = {}, {}
  local stdout, stderr = io.stdout, io.stderr
  rawset(io, "stdout", { write = function(_, ...) for _, s in ipairs { ... } do out[#out + 1] = s end end,
                         flush = function() end })
  rawset(io, "stderr", { write = function(_, ...) for _, s in ipairs { ... } do err[#err + 1] = s end end,
                         flush = function() end })
  local ok, res = pcall(fn)
  rawset(io, "stdout", stdout)
  rawset(io, "stderr", stderr)
  assert(ok, res)
  return res, table.concat(out), table.concat(err)
end

--- The shell words that run bin/hy3d with `env` (variables; false: unset) in `cwd` (default: the checkout).
function M.command(args, env, cwd)
  local words = {}
  for _, name in ipairs(M.CLEARED) do words[#words + 1] = "-u " .. name end
  local names = {}
  for k in pairs(env or {}) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    if env[k] ~= false then words[#words + 1] = k .. "=" .. q(env[k]) end
  end
  return ("cd %s && env %s %s %s %s %s"):format(q(cwd or ROOT), table.concat(words, " "), sandbox.lua_env(),
    sandbox.lua(), q(ROOT .. "/bin/hy3d"), args)
end

--- Runs bin/hy3d; returns the exit code, stdout and stderr.
function M.run(args, env, cwd)
  local errfile = os.tmpname()
  local _, out, code = sandbox.run(M.command(args, env, cwd) .. " 2>" .. q(errfile))
  local err = sandbox.read_file(errfile) or ""
  os.remove(errfile)
  return code, out, err
end

--- The JSON lines of stdout, each decoded (every line must be an event object).
function M.events(out)
  local list = {}
  for line in out:gmatch("[^\n]+") do
    local e = core.decode(line)
    assert(type(e) == "table" and type(e.event) == "string", "not a JSON event line: " .. line)
    list[#list + 1] = e
  end
  return list
end

--- The events named `name`, in order.
function M.of(list, name)
  local out = {}
  for _, e in ipairs(list) do
    if e.event == name then out[#out + 1] = e end
  end
  return out
end

--- The lines of a JSON-lines file (a batch journal), decoded; lines that do not parse are skipped.
function M.journal(path)
  local out = {}
  for line in (sandbox.read_file(path) or ""):gmatch("([^\n]*)\n") do
    local ok, e = pcall(core.decode, line)
    if ok then out[#out + 1] = e end
  end
  return out
end

--- How many tables of `list` have `field` equal to `value`.
function M.count(list, field, value)
  local n = 0
  for _, e in ipairs(list) do
    if e[field] == value then n = n + 1 end
  end
  return n
end

--- A fresh working directory for one test, under `parent`.
function M.workdir(parent)
  local d = parent .. "/w" .. tostring(math.random(1, 1e9))
  assert(os.execute("mkdir -p " .. q(d)))
  return d
end

--- A new table with the fields of a, then b's.
function M.merge(a, b)
  local t = {}
  for k, v in pairs(a or {}) do t[k] = v end
  for k, v in pairs(b or {}) do t[k] = v end
  return t
end

-- Lua-API wording a command-line user cannot act on (whole words: a server's own code such as
-- "invalid_api_key" is not one).
local LUA_WORDS = { "api_key", "base_url", "allow_http", "validate =", "secret_id", "secret_key", "hy3d%.new",
                    "max_retries", "pass api", "pass secret", "language =", "max_concurrent_jobs", "or token" }

--- The first Lua-API word in text, or nil.
function M.lua_wording(text)
  text = " " .. text .. " "
  for _, w in ipairs(LUA_WORDS) do
    if text:find("[^%w_]" .. w .. "[^%w_]") then return w end
  end
  return nil
end

--- Fails when text holds Lua-API wording, naming it.
function M.speaks_cli(text)
  local w = M.lua_wording(text)
  assert(w == nil, ("Lua wording %q in: %s"):format(tostring(w), text))
end

return M
