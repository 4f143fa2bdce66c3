#!/usr/bin/env lua5.4
--[[ cqueues.lua — hy3d inside a cqueues event loop.

Usage: lua examples/cqueues.lua [count]

hy3d.use(cqueues) makes every hy3d call inside a cqueues coroutine wait with cqueues.poll on the
client (a pollable: pollfd, events, timeout), so the controller sleeps in the kernel until a
transfer needs it — and a ticker keeps running beside the jobs. Needs lua-cqueues.
Run it from the top of a checkout, after `make`, against hy3d-sandbox (no key or network needed):
  $ make
  $ scripts/with-sandbox env LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/?.so;;" \
      lua5.4 examples/cqueues.lua 3
]]
local cqueues = require "cqueues"
local hy3d = require "hy3d"

local count = tonumber(arg[1]) or 3
hy3d.use(cqueues)
local client = hy3d.new { poll_interval = 0.5 }
local cq = cqueues.new()
local done, ticks = 0, 0

for i = 1, count do
  cq:wrap(function()
    local job = hy3d.assert(client:submit { Prompt = "a barrel #" .. i })
    local result = hy3d.assert(client:wait(job, { timeout = 900 }))
    print(("job %s: %s, %d files"):format(job.JobId, result.Status, #result.ResultFile3Ds))
    done = done + 1
  end)
end
cq:wrap(function()                                  -- other work on the same loop
  while done < count do
    ticks = ticks + 1
    cqueues.sleep(0.1)
  end
end)

local cpu = os.clock()
assert(cq:loop())
print(("%d jobs done; the ticker ran %d times; %.2f s of CPU"):format(done, ticks, os.clock() - cpu))
hy3d.use(nil)
