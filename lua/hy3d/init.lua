--- hy3d: generate 3D models with Tencent Hunyuan 3D from Lua.
--
--     local hy3d = require "hy3d"
--     local client = hy3d.new{ api_key = os.getenv("HY3D_API_KEY") }
--     local job = hy3d.assert(client:submit{ Prompt = "a small wooden chair" })
--     local result = hy3d.assert(client:wait(job))
--
-- Runtime failures return `nil, err` (see hy3d.error); wrong argument types and unknown options
-- raise. Inside a spawned task (hy3d.spawn) every call yields instead of blocking.
local core = require "hy3d.core"
local client = require "hy3d.client"
local errors = require "hy3d.error"
local files = require "hy3d.files"
local image = require "hy3d.image"
local loop = require "hy3d.loop"
local scheduler = require "hy3d.scheduler"

local VERSION = "0.4.0"   -- must equal HY3D_VERSION in src/hy3d.h (spec/tooling/version_spec.lua)

if core._VERSION ~= VERSION then
  error(("hy3d: the C core is version %s but the Lua layer is %s; rebuild or reinstall hy3d")
    :format(tostring(core._VERSION), VERSION))
end

local default_client

-- The defaults of hy3d.new's options (client.defaults also holds wait's timeout, an option of
-- wait and generate, not of hy3d.new: every key here is one hy3d.new accepts).
local defaults = {}
for k, v in pairs(client.defaults) do
  if k ~= "wait_timeout" then defaults[k] = v end
end

-- The client behind the module-level functions, made from the environment on first use.
local function default()
  if not default_client then default_client = client.new() end
  return default_client
end

local M = {
  _VERSION = VERSION,
  defaults = defaults,
  null = core.decode("null"),
  new = client.new,
  kinds = client.kinds,
  Error = errors,
  image = image.image,
  views = image.views,
  partial_path = files.partial_path,
}

-- PUC Lua 5.1's assert, and its standalone interpreter, accept only a string as the message.
local STRING_ERRORS_ONLY = _VERSION == "Lua 5.1" and not rawget(_G, "jit")

--- `assert` for hy3d's `v | nil, err` returns, the same on every Lua: returns all its arguments
-- when v is truthy, else raises err at the caller's level. The error table itself is raised
-- (pcall gets err.kind, err.code, ...; the interpreter prints tostring(err)), except on PUC
-- Lua 5.1, whose interpreter cannot print a table: there the message is tostring(err).
-- A plain string (or nil) message behaves as with assert.
function M.assert(v, err, ...)
  if v then return v, err, ... end
  if err == nil then error("assertion failed!", 2) end
  if type(err) == "table" and STRING_ERRORS_ONLY then err = tostring(err) end
  error(err, type(err) == "string" and 2 or 1)
end

--- Pauses the calling task for `seconds` without blocking anything else (inside hy3d.spawn);
-- outside a task it sleeps: through the sleep of the adapter hy3d.use installed where it has one
-- (OpenResty: ngx.sleep), else in the kernel. Where that adapter refuses to wait (a phase that
-- cannot yield, LÖVE's frame): nil and its error, at once.
function M.sleep(seconds)
  if type(seconds) ~= "number" or seconds ~= seconds or seconds < 0 then
    error("hy3d.sleep: expects a number of seconds >= 0", 2)
  end
  if scheduler.current() then
    coroutine.yield(scheduler.TOKEN, nil, scheduler.now() + seconds)
    return true
  end
  local a = scheduler.adapter
  if a and a.sleep then
    local t = core.now() + seconds
    repeat
      local slept, err = a.sleep(t - core.now())
      if slept == false then return nil, err end
      if slept == nil then break end               -- the adapter does not apply here: the kernel's sleep
    until core.now() >= t
    local left = t - core.now()
    if left > 0 then core.sleep(left) end
    return true
  end
  core.sleep(seconds)
  return true
end

--- Runs fn(...) in a coroutine that the pump (hy3d.update, hy3d.step, hy3d.run or any
-- client:update) drives; inside it submit, wait, download and call never block. Returns a task
-- (task:status(), task:result(), task.error).
function M.spawn(fn, ...)
  return scheduler.spawn(fn, ...)
end

--- Non-blocking pump: drives every client's transfers and resumes due tasks. Call it once per
-- frame. `budget` (seconds, default hy3d.update_budget, 0.00025) bounds the time spent resuming tasks in one call;
-- what is left waits for the next call. Returns the number of live tasks.
M.update = scheduler.pump

--- hy3d.update_budget: the default resume budget of hy3d.update and client:update, in seconds
-- (0.00025). It lives in the scheduler (client:update reads it there); reading or setting it here
-- reads or sets that one.
setmetatable(M, {
  __index = function(_, k) if k == "update_budget" then return scheduler.update_budget end end,
  __newindex = function(t, k, v)
    if k == "update_budget" then scheduler.update_budget = v else rawset(t, k, v) end
  end,
})

--- The pump, allowed to wait up to `timeout` seconds for work first (never spinning).
M.step = scheduler.pump_step

--- Seconds until the pump next has work (0: now; nil: nothing pending): a timeout for a host
-- loop that waits on its own sockets between hy3d.update calls.
function M.timeout()
  return scheduler.timeout()
end

--- Drives every spawned task to the end: true, or false and the errors of the tasks that failed.
function M.run()
  return scheduler.run()
end

--- Hands hy3d to a host's event loop: cqueues (inside a cqueues coroutine, hy3d waits with
-- cqueues.poll on the client's pollfd), luv (watchers on each client's pollfd and a timer drive
-- the pump; spawn jobs with hy3d.spawn and run uv.run()), copas (inside a copas thread,
-- hy3d yields with copas.sleep), OpenResty's ngx (ngx.sleep where the phase may yield, else the
-- usage error PHASE_CANNOT_YIELD; hy3d.use(ngx, { max_wait = s })) or LÖVE's love (in its main loop,
-- a call outside a task returns WOULD_BLOCK_FRAME). Returns the adapter's name (hy3d.loop).
M.use = loop.use

-- The module-level shortcuts: each runs the Client method of its name on the default client.
--   submit (Client:submit), query (a job once), call (an API 3.0 action by name), convert (a model
--   file's format), wait (until DONE or FAIL), download (a result file to disk; needs no API key),
--   download_files (a finished job's result files), generate (submit, wait and download in one call).
for _, name in ipairs { "submit", "query", "call", "convert", "wait", "download", "download_files", "generate" } do
  M[name] = function(...)
    local c = default()
    return c[name](c, ...)
  end
end

return M
