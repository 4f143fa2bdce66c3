--- hy3d: generate 3D models with Tencent Hunyuan 3D from Lua.
--
--     local hy3d = require "hy3d"
--     local client = hy3d.new{ api_key = os.getenv("HY3D_API_KEY") }
--     local job = hy3d.assert(client:submit{ Prompt = "a small wooden chair" })
--     local result = hy3d.assert(client:wait(job))
--
-- Runtime failures return `nil, err` (see hy3d.error); wrong argument types and unknown options
-- raise. Inside a coroutine every call yields instead of blocking.
local core = require "hy3d.core"
local client = require "hy3d.client"
local errors = require "hy3d.error"
local files = require "hy3d.files"
local image = require "hy3d.image"
local scheduler = require "hy3d.scheduler"

local ceil, max = math.ceil, math.max

local VERSION = "0.3.0"   -- must equal HY3D_VERSION in src/hy3d.h (spec/version_spec.lua)

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
-- outside a task it simply sleeps.
function M.sleep(seconds)
  if type(seconds) ~= "number" or seconds ~= seconds or seconds < 0 then
    error("hy3d.sleep: expects a number of seconds >= 0", 2)
  end
  if scheduler.current() then
    coroutine.yield(scheduler.TOKEN, nil, scheduler.now() + seconds)
  else
    core.sleep(seconds)
  end
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
function M.update(budget)
  if budget ~= nil and (type(budget) ~= "number" or budget ~= budget or budget < 0) then
    error("hy3d.update: budget must be a number of seconds >= 0", 2)
  end
  return scheduler.update(budget or M.update_budget)
end

--- The default resume budget of hy3d.update and client:update, in seconds.
M.update_budget = 0.00025

--- The pump, allowed to wait up to `timeout` seconds for work first (never spinning).
function M.step(timeout)
  if timeout ~= nil and (type(timeout) ~= "number" or timeout ~= timeout or timeout < 0 or timeout >= 1e9) then
    error("hy3d.step: timeout must be a finite number of seconds >= 0", 2)
  end
  return scheduler.step(timeout or 0)
end

--- Seconds until the pump next has work (0: now; nil: nothing pending): a timeout for a host
-- loop that waits on its own sockets between hy3d.update calls.
function M.timeout()
  return scheduler.timeout()
end

--- Drives every spawned task to the end: true, or false and the errors of the tasks that failed.
function M.run()
  return scheduler.run()
end

-- luv: a poll watcher on each client's pollfd and one timer for the next due time; idle, they
-- stop, so uv.run() returns once nothing is left to do.
local function use_luv(uv)
  local polls, timer = {}, uv.new_timer()
  local rearm, in_callback
  local function pump()
    in_callback = true
    scheduler.update()
    rearm()
    in_callback = false
  end
  function rearm()
    local t = scheduler.timeout()
    local idle = t == nil and scheduler.count() == 0
    for c, p in pairs(polls) do
      if idle or c._closed then p:stop() else p:start("r", pump) end
    end
    -- with tasks alive and nothing due, a 1 s safety net: a lost socket event then costs at most
    -- a second instead of a loop that never wakes (an idle loop still stops, so uv.run returns)
    if not t and not idle then t = 1 end
    if t then timer:start(max(0, ceil(t * 1000)), 0, pump) else timer:stop() end
  end
  local function attach(c)
    local fd = c:pollfd()
    if not fd or polls[c] then return end
    polls[c] = uv.new_poll(fd)
  end
  scheduler.set_hooks(attach, function() timer:start(0, 0, pump) end)
  timer:start(0, 0, pump)
  return function()                               -- undo: close the handles, let libuv finish
    for _, p in pairs(polls) do p:close() end
    timer:close()
    if not in_callback then uv.run("nowait") end
  end
end

local undo_adapter

--- Hands hy3d to a host's event loop: cqueues (inside a cqueues coroutine, hy3d waits with
-- cqueues.poll on the client's pollfd), luv (watchers on each client's pollfd and a timer drive
-- the pump; spawn jobs with hy3d.spawn and run uv.run()), or copas (inside a copas thread,
-- hy3d yields with copas.sleep). Returns the adapter's name.
function M.use(lib)
  scheduler.default_yield = nil                  -- one adapter at a time; hy3d.use(nil) removes it
  scheduler.set_hooks(nil, nil)
  if undo_adapter then undo_adapter() end
  undo_adapter = nil
  if lib == nil then return nil end
  if type(lib) ~= "table" then error("hy3d.use: expects the cqueues, luv or copas module", 2) end
  if lib.poll and lib.running and lib.new then
    scheduler.default_yield = function(c)
      return function(delay) lib.poll(c, delay or 1) end          -- never without a time limit
    end
    return "cqueues"
  elseif lib.new_poll and lib.new_timer then
    undo_adapter = use_luv(lib)
    return "luv"
  elseif lib.addthread and lib.sleep then
    scheduler.default_yield = function()
      return function(delay) lib.sleep(math.min(delay or 0, 0.01)) end
    end
    return "copas"
  elseif lib.addthread and lib.step then
    error("hy3d.use: this copas (" .. tostring(lib._VERSION) .. ") has no timers (copas.sleep, copas 2+), so its "
      .. "threads cannot wait for hy3d; run hy3d work with hy3d.spawn and call hy3d.update() between "
      .. "copas.step calls (examples/copas.lua)", 2)
  end
  error("hy3d.use: not a module hy3d knows (cqueues, luv or copas)", 2)
end

--- Submits a job on the default client (see Client:submit).
function M.submit(params, opts)
  return default():submit(params, opts)
end

--- Queries a job once on the default client (see Client:query).
function M.query(job, opts)
  return default():query(job, opts)
end

--- Calls an API 3.0 action by name on the default client (see Client:call).
function M.call(action, params)
  return default():call(action, params)
end

--- Converts a model file's format on the default client (see Client:convert).
function M.convert(params)
  return default():convert(params)
end

--- Polls a job until it is DONE or FAIL on the default client (see Client:wait).
function M.wait(job, opts)
  return default():wait(job, opts)
end

--- Streams a result file to disk (see Client:download). Needs no API key.
function M.download(url, path, opts)
  return default():download(url, path, opts)
end

--- Downloads a finished job's result files on the default client (see Client:download_files).
function M.download_files(job, opts)
  return default():download_files(job, opts)
end

--- Submit, wait and download in one call on the default client (see Client:generate).
function M.generate(params, opts)
  return default():generate(params, opts)
end

return M
