#!/usr/bin/env lua5.4
--[[ resume_job.lua — wait for a job submitted earlier (by any process) and list its files.

Usage: lua examples/resume_job.lua JOB_ID

A local timeout or a crash never loses a paid job: its JobId stays valid for 24 hours.
Reads HY3D_API_KEY and HY3D_BASE_URL like every example. Run it from the top of a checkout, after
`make`, against hy3d-sandbox, on a job the hy3d command submits to the same sandbox:
  $ make
  $ scripts/with-sandbox env LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/?.so;;" \
      sh -c 'lua5.4 examples/resume_job.lua "$(bin/hy3d submit a wooden chair)"'
]]
local hy3d = require "hy3d"

local id = arg[1]
if not id then
  io.stderr:write("usage: lua examples/resume_job.lua JOB_ID\n")
  os.exit(2)
end

local result, err = hy3d.wait(id, { interval = 2, timeout = 900 })
if not result then
  io.stderr:write("resume_job: ", tostring(err), "\n")
  os.exit(1)
end
for _, f in ipairs(result.ResultFile3Ds) do
  print(f.Type, f.Url)
end
