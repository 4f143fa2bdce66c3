#!/usr/bin/env lua5.4
--[[ luv.lua — hy3d on a libuv loop (luv).

Usage: lua examples/luv.lua [count]

hy3d.use(uv) puts a poll watcher on each client's pollfd and one timer for hy3d's next due time;
jobs run as hy3d.spawn tasks, and uv.run() returns when they are all done (the watchers stop when
hy3d is idle). A uv timer keeps ticking beside them. Needs lua-luv.
Run it from the top of a checkout, after `make`, against hy3d-sandbox (no key or network needed):
  $ make
  $ scripts/with-sandbox env LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/?.so;;" \
      lua5.4 examples/luv.lua 3
]]
local uv = require "luv"
local hy3d = require "hy3d"

local count = tonumber(arg[1]) or 3
hy3d.use(uv)
local client = hy3d.new { poll_interval = 0.5 }
local done, ticks = 0, 0

for i = 1, count do
  hy3d.spawn(function()
    local job = hy3d.assert(client:submit { Prompt = "a lantern #" .. i })
    local result = hy3d.assert(client:wait(job, { timeout = 900 }))
    print(("job %s: %s, %d files"):format(job.JobId, result.Status, #result.ResultFile3Ds))
    done = done + 1
  end)
end

local ticker = uv.new_timer()
ticker:start(100, 100, function()
  ticks = ticks + 1
  if done == count then ticker:close() end
end)

local cpu = os.clock()
uv.run()
print(("%d jobs done; the ticker ran %d times; %.2f s of CPU"):format(done, ticks, os.clock() - cpu))
hy3d.use(nil)
