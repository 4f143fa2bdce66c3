#!/usr/bin/env tarantool
--[[ tarantool.lua — hy3d in Tarantool: several fibers generate models at once while the host keeps serving.

Usage: tarantool examples/tarantool.lua [count] [slots] [out_dir]

hy3d.use(require "fiber") makes every hy3d call wait in Tarantool's event loop (socket.iowait on
the client's pollfd), so it blocks only the fiber that made it: `count` fibers (default 5) each
run client:generate, at most `slots` jobs at the service at once (default 3, a Pro account's
slots; the others queue in the client), while a ticker fiber keeps running. Prints one line per
model, then one summary line; exits 1 when a job failed. Tarantool runs LuaJIT: it loads the
LuaJIT build of hy3d.core (build/luajit) and Debian's lua-cjson for Lua 5.1 (in its default cpath).
Run it from the top of a checkout against hy3d-sandbox (no key or network needed):
  $ make LUA_VERSION=jit
  $ scripts/with-sandbox tarantool examples/tarantool.lua 5 3 out/tarantool

Environment: HY3D_BASE_URL, HY3D_API_KEY (or TENCENTCLOUD_SECRET_ID/_KEY), HY3D_POLL_INTERVAL
(seconds, default 1), HY3D_LUA_PATH / HY3D_CPATH (prepended to package.path / package.cpath;
default this checkout's lua/ and build/luajit/).
]]

-- Where hy3d lives: this checkout (or HY3D_LUA_PATH / HY3D_CPATH).
do
  local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
  local root = here .. "/.."
  local function env(name)
    local v = os.getenv(name)
    return v ~= "" and v or nil
  end
  package.path = (env("HY3D_LUA_PATH") or (root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua")) .. ";" .. package.path
  package.cpath = (env("HY3D_CPATH") or (root .. "/build/luajit/?.so")) .. ";" .. package.cpath
end

io.stdout:setvbuf("line")                        -- each line as it happens, also into a pipe
local fiber = require "fiber"
local clock = require "clock"
local hy3d = require "hy3d"

local count = tonumber(arg[1]) or 5
local slots = tonumber(arg[2]) or 3
local dir = arg[3] or "out/tarantool"
local TICK = 0.05                                -- the ticker's period, seconds

local adapter = hy3d.use(fiber)                  -- "tarantool"
local client = hy3d.new { poll_interval = tonumber(os.getenv("HY3D_POLL_INTERVAL") or "") or 1,
                          max_concurrent_jobs = slots }

-- The ticker: the host's other work. It counts its ticks and the longest gap between two.
local ticks, max_gap, running = 0, 0, true
fiber.create(function()
  local last = clock.monotonic()
  while running do
    fiber.sleep(TICK)
    local t = clock.monotonic()
    if t - last > max_gap then max_gap = t - last end
    last, ticks = t, ticks + 1
  end
end)

local results = fiber.channel(count)
local t0, cpu0 = clock.monotonic(), clock.proc()
for i = 1, count do
  fiber.create(function()
    local yieldable = coroutine.isyieldable and coroutine.isyieldable()   -- false: a fiber is no coroutine hy3d can yield
    local submitted = math.huge
    local out, err = client:generate({ Prompt = "a lantern #" .. i, FaceCount = 5000 },
      { dir = dir, name = "lantern-" .. i, on_submit = function() submitted = clock.monotonic() - t0 end })
    results:put { i = i, out = out, err = err, submitted = submitted, finished = clock.monotonic() - t0,
                  yieldable = yieldable }
  end)
end

-- The jobs overlapped when every one was submitted before any finished.
local done, failed, last_submit, first_end = 0, 0, 0, math.huge
for _ = 1, count do
  local r = results:get()
  last_submit, first_end = math.max(last_submit, r.submitted), math.min(first_end, r.finished)
  if r.out then
    done = done + 1
    local f = r.out.files[1]
    print(("job %d: %s %s %s %d bytes (submitted at %.2f s, done at %.2f s; in a fiber, isyieldable=%s)"):format(
      r.i, r.out.job.JobId, r.out.result.Status, f.path, f.bytes, r.submitted, r.finished, tostring(r.yieldable)))
  else
    failed = failed + 1
    print(("job %d: failed: %s"):format(r.i, tostring(r.err)))
  end
end
local wall, cpu = clock.monotonic() - t0, clock.proc() - cpu0
running = false
print(("adapter=%s jobs=%d done=%d failed=%d overlapped=%s wall=%.3f cpu=%.3f ticks=%d max_gap=%.3f"):format(
  tostring(adapter), count, done, failed, tostring(last_submit < first_end), wall, cpu, ticks, max_gap))
client:close()
os.exit(failed == 0 and 0 or 1)
