-- bench/update.lua — what hy3d costs a game frame: client:update() with N jobs in flight while the
-- sandbox adds a delay to every response, and a burst of M concurrent jobs from one thread.
-- Usage (bench/run-update.sh starts the sandbox): lua5.4 bench/update.lua URL [N] [M]
-- Prints figures; asserts nothing about speed.
local hy3d = require "hy3d"
local core = require "hy3d.core"

local url, n, m = arg[1], tonumber(arg[2] or "200"), tonumber(arg[3] or "1000")
local now = core.now

local function rss_kb()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local kb = f:read("a"):match("VmRSS:%s*(%d+)")
  f:close()
  return tonumber(kb) or 0
end

local function percentile(list, p)
  table.sort(list)
  return list[math.max(1, math.ceil(#list * p))]
end

local client = hy3d.new { api_key = "sk-hy3d-sandbox", base_url = url, poll_interval = 0.5 }

-- 1. Frame cost: N jobs, every response delayed by the sandbox; one update per 16 ms frame.
local done = 0
for i = 1, n do
  hy3d.spawn(function()
    local job = assert(client:submit { Prompt = "frame job " .. i })
    assert(client:wait(job))
    done = done + 1
  end)
end
local costs, frames = {}, 0
hy3d.update()                                      -- the spawn burst: starts N submits
local t0 = now()
local live = n
while live > 0 do                                  -- one update per frame, each one timed
  local a = now()
  live = hy3d.update()
  costs[#costs + 1] = (now() - a) * 1000
  frames = frames + 1
  core.sleep(0.016)
end
print(("frame cost: %d jobs in flight, %d frames over %.1f s: update() p50 %.3f ms, p99 %.3f ms, max %.3f ms"):format(
  n, frames, now() - t0, percentile(costs, 0.5), percentile(costs, 0.99), percentile(costs, 1)))

-- 2. Scale: M concurrent jobs from one thread, driven by hy3d.run().
local rss0, cpu0, w0 = rss_kb(), os.clock(), now()
for i = 1, m do
  hy3d.spawn(function()
    local job = assert(client:submit { Prompt = "scale job " .. i })
    assert(client:wait(job))
  end)
end
local ok, errs = hy3d.run()
print(("scale: %d jobs %s in %.2f s wall, %.2f s client CPU, RSS +%.1f MB (peak during run not sampled)"):format(
  m, ok and "finished" or ("failed: " .. tostring(errs and errs[1])), now() - w0, os.clock() - cpu0,
  (rss_kb() - rss0) / 1024))
client:close()
