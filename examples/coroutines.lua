#!/usr/bin/env lua5.4
--[[ coroutines.lua — several jobs at once from one thread, the way a game loop runs them.

Usage: lua examples/coroutines.lua [count]

Each job runs in its own coroutine. With the client's `yield = coroutine.yield`, submit/wait/download
called inside a coroutine never block: they yield, and the "frame loop" below resumes every
coroutine once per frame. (Without it hy3d would block in a coroutine it did not spawn: it yields
only to a resumer it knows, so a host that resumes at once can never turn it into a busy loop.) The frame time printed
at the end shows that no frame waited on the network (luasocket keeps the frame clock).
Reads HY3D_API_KEY and HY3D_BASE_URL like every example.
Run it from the top of a checkout, after `make`, against hy3d-sandbox (no key or network needed):
  $ make
  $ scripts/with-sandbox env LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/?.so;;" \
      lua5.4 examples/coroutines.lua 3
]]
local hy3d = require "hy3d"
local socket = require "socket"

local count = tonumber(arg[1]) or 3
local client = hy3d.new { poll_interval = 0.5, yield = coroutine.yield }
local tasks, done = {}, 0

for i = 1, count do
  tasks[i] = coroutine.create(function()
    local job = hy3d.assert(client:submit { Prompt = "a wooden chair, variant " .. i })
    print(("task %d: job %s submitted"):format(i, job.JobId))
    local result = hy3d.assert(client:wait(job, { timeout = 900 }))
    print(("task %d: %s with %d files"):format(i, result.Status, #result.ResultFile3Ds))
    done = done + 1
  end)
end

local frames, worst = 0, 0
while done < count do
  local t0 = socket.gettime()
  for _, co in ipairs(tasks) do
    if coroutine.status(co) == "suspended" then hy3d.assert(coroutine.resume(co)) end
  end
  worst = math.max(worst, socket.gettime() - t0)
  frames = frames + 1
  socket.sleep(1 / 60)             -- the rest of the frame: rendering, input...
end
print(("%d jobs done in %d frames; the slowest frame spent %.2f ms in hy3d"):format(count, frames, worst * 1000))
client:close()
