#!/usr/bin/env lua5.4
--[[ resume_job.lua — wait for a job submitted earlier (by any process) and list its files.

Usage: lua examples/resume_job.lua JOB_ID

A local timeout or a crash never loses a paid job: its JobId stays valid for 24 hours.
Reads HY3D_API_KEY and HY3D_BASE_URL like every example.
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
