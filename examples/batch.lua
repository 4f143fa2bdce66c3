#!/usr/bin/env lua5.4
--[[ batch.lua — generate 20 models, at most 3 at a time, from one thread.

Usage: lua examples/batch.lua [count] [at_once] [out_dir]

Each model is a task started with hy3d.spawn; a small counting semaphore keeps at most `at_once`
jobs at the service (Pro accounts have 3 slots), and hy3d.run() drives everything until the last
file is saved. Reads HY3D_API_KEY/HY3D_BASE_URL (or the TENCENTCLOUD_* variables) like every
example.
Run it from the top of a checkout, after `make`, against hy3d-sandbox (no key or network needed):
  $ make
  $ scripts/with-sandbox env LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/?.so;;" \
      lua5.4 examples/batch.lua 7 3
]]
local hy3d = require "hy3d"

local count = tonumber(arg[1]) or 20
local at_once = tonumber(arg[2]) or 3
local dir = arg[3] or "out/batch"
local client = hy3d.new { poll_interval = 1 }
os.execute(("mkdir -p %q"):format(dir))

local PROMPTS = { "a wooden chair", "a red teapot", "a stone tower", "a rubber ball", "a tin can",
                  "a wooden crate", "a glass vase", "a donut", "a street lamp", "a small house" }

local busy, peak, saved = 0, 0, 0
local function acquire()                            -- wait for a free slot (yields to the pump)
  while busy >= at_once do hy3d.sleep(0.05) end
  busy = busy + 1
  if busy > peak then peak = busy end
end

for i = 1, count do
  hy3d.spawn(function()
    local prompt = PROMPTS[(i - 1) % #PROMPTS + 1] .. " #" .. i
    acquire()
    local job, result, err
    job, err = client:submit { Prompt = prompt, FaceCount = 20000 }
    if job then result, err = client:wait(job, { timeout = 1800 }) end
    busy = busy - 1                                  -- the service slot is free once the job ended
    if not result then error(("%s: %s"):format(prompt, tostring(err))) end
    for _, f in ipairs(result.ResultFile3Ds) do
      if f.Type == "GLB" then
        hy3d.assert(client:download(f.Url, ("%s/model-%02d.glb"):format(dir, i)))
        saved = saved + 1
      end
    end
    print(("%2d/%d  %-28s job %s"):format(saved, count, prompt, job.JobId))
  end)
end

local started = os.time()
local ok, errors = hy3d.run()
print(("%d models saved in %s, at most %d at a time, %d s"):format(saved, dir, peak, os.time() - started))
if not ok then
  for _, e in ipairs(errors) do io.stderr:write("batch: ", e, "\n") end
  os.exit(1)
end
