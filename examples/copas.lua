#!/usr/bin/env lua5.1
--[[ copas.lua — hy3d beside copas.

Usage: lua examples/copas.lua [count]

Two ways in, picked by what the installed copas offers:
- copas 2 or newer (it has copas.sleep): hy3d.use(copas), then call hy3d from copas threads;
  inside them hy3d waits with copas.sleep.
- copas 1.x (Debian's lua-copas 1.2, built for Lua 5.1/5.2 and so LuaJIT) has no timers, so its
  threads cannot wait for hy3d. Run hy3d's jobs as hy3d.spawn tasks and alternate the two loops:
  copas.step with hy3d's next due time as its timeout, then hy3d.update(). Both keep moving.
Here a copas echo server and client exchange messages while the jobs run.
Run it from the top of a checkout against hy3d-sandbox, with LuaJIT and Debian's lua-copas (the
LuaJIT build of the core, `make LUA_VERSION=jit`; the sandbox itself runs on Lua 5.4, `make`):
  $ make && make LUA_VERSION=jit
  $ scripts/with-sandbox env LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/luajit/?.so;;" \
      luajit examples/copas.lua 3
]]
local copas = require "copas"
local socket = require "socket"
local hy3d = require "hy3d"

local count = tonumber(arg[1]) or 3
local modern = copas.sleep ~= nil
if modern then hy3d.use(copas) end
local client = hy3d.new { poll_interval = 0.5 }
local done, echoed = 0, 0

local function job(i)
  local j, err = client:submit { Prompt = "a kettle #" .. i }
  if not j then error(tostring(err), 0) end
  local result
  result, err = client:wait(j, { timeout = 900 })
  if not result then error(tostring(err), 0) end
  print(("job %s: %s, %d files"):format(j.JobId, result.Status, #result.ResultFile3Ds))
  done = done + 1
end

-- copas work: an echo server on loopback, and a client that talks to it until the jobs are done
local server = assert(socket.bind("127.0.0.1", 0))
local _, port = server:getsockname()
copas.addserver(server, function(c)
  c = copas.wrap(c)
  while true do
    local line = c:receive("*l")
    if not line then return end
    c:send(line .. "\n")
  end
end)
copas.addthread(function()
  local skt = socket.tcp()
  copas.connect(skt, "127.0.0.1", port)
  local c = copas.wrap(skt)
  while done < count do
    c:send("ping\n")
    if c:receive("*l") == "ping" then echoed = echoed + 1 end
    if modern then copas.sleep(0.05) end
  end
end)

for i = 1, count do
  if modern then copas.addthread(job, i) else hy3d.spawn(job, i) end
end

if modern then
  copas.loop()
else
  local live = count
  while live > 0 do
    copas.step(math.min(hy3d.timeout() or 0.05, 0.05))   -- copas's sockets, until hy3d is due
    live = hy3d.update()
  end
end
print(("%d jobs done; %d echoes meanwhile (copas %s)"):format(done, echoed, modern and "2+" or "1.x"))
if done < count then os.exit(1) end
