-- bench/poll.lua — client CPU per poll of a running job: client:query in a Lua loop (sequential
-- queries) against client:wait polled by the engine (engine:poll, #20), alone and with JOBS waits at
-- once, against hy3d-sandbox with its job clock frozen (jobs stay in WAIT). Prints figures only.
-- lua5.4 bench/poll.lua [N] [JOBS] [SECONDS]   (run from the checkout; `make` first)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./build/?.so;" .. package.cpath
local hy3d = require "hy3d"
local core = require "hy3d.core"
local N, JOBS, SECONDS = tonumber(arg[1]) or 2000, tonumber(arg[2]) or 50, tonumber(arg[3]) or 3

local out = os.tmpname()
local p = assert(io.popen(("lua5.4 sandbox/bin/hy3d-sandbox --port 0 --lifetime 600 --rate-limit 0"
  .. " --concurrency pro=10000,default=10000 > %s 2>&1 & echo $!"):format(out)))
local pid = p:read("*l")
p:close()
local url
for _ = 1, 500 do
  local f = io.open(out)
  url = f and f:read("*l")
  if f then f:close() end
  if url and url:match("^http://") then break end
  core.sleep(0.02)
end
assert(url and url:match("^http://"), "the sandbox did not start")

local c = hy3d.new { api_key = "sk-hy3d-sandbox", base_url = url, allow_http = true, max_retries = 0 }
-- the sandbox's control endpoints, through the client's own engine (a plain JSON POST or GET)
local function control(what, body)
  local tr = c._transport
  local req = assert(tr.engine:request(body and "POST" or "GET", url .. "/_sandbox/" .. what, body))
  tr.engine:wait(req)
  return assert(req:result())
end
local function served() return control("stats").requests_served end
control("clock", { freeze = true })

local function cpu_per(fn)
  local n0, c0, w0 = served(), os.clock(), core.now()
  fn()
  local c1, w1 = os.clock(), core.now()
  local n = served() - n0 - 1                     -- the stats request itself
  return (c1 - c0) / n * 1e6, n, w1 - w0
end

local job = assert(c:submit { Prompt = "a chair" })
for _ = 1, 50 do assert(c:query(job)) end         -- warm up
local seq = cpu_per(function() for _ = 1, N do assert(c:query(job)) end end)
print(("sequential client:query          %7.1f us CPU per query (%d queries)"):format(seq, N))

local one, n1 = cpu_per(function()
  local _, err = c:wait(job, { interval = 0, timeout = SECONDS })
  assert(err and err.code == "WAIT_TIMEOUT", tostring(err))
end)
print(("client:wait, engine polls 1 job  %7.1f us CPU per poll  (%d polls, %.2fx a query)"):format(one, n1, one / seq))

local jobs = {}
for i = 1, JOBS do jobs[i] = assert(c:submit { Prompt = "a chair " .. i }) end
local function waits()
  for i = 1, JOBS do
    hy3d.spawn(function() return c:wait(jobs[i], { interval = 0.01, timeout = SECONDS }) end)
  end
  hy3d.run()
end
local many, nm = cpu_per(waits)
print(("client:wait, engine polls %d jobs %6.1f us CPU per poll  (%d polls, %.2fx a query)")
  :format(JOBS, many, nm, many / seq))
-- the same waits polled from Lua (the loop doors without `poll` data still use)
local door = require("hy3d.doors").gateway
local poll = door.poll
door.poll = nil
local lua, nl = cpu_per(waits)
door.poll = poll
print(("client:wait, Lua polls %d jobs    %6.1f us CPU per poll  (%d polls, %.2fx a query)")
  :format(JOBS, lua, nl, lua / seq))

c:close()
os.execute("kill " .. pid .. " 2>/dev/null")
os.remove(out)
