#!/usr/bin/env lua5.4
--[[ generate.lua — one call from a prompt (or a photo) to model files on disk.

Usage: lua examples/generate.lua ["prompt" | --image photo.png] [out_dir]

client:generate submits the job, waits for it and downloads the GLB and the OBJ zip (unpacked
into a folder), reporting each status change and the download progress. Reads HY3D_API_KEY and
HY3D_BASE_URL (hy3d-sandbox's URL, or unset for Tencent's gateway).
Run it from the top of a checkout, after `make`, against hy3d-sandbox (no key or network needed):
  $ make
  $ scripts/with-sandbox env LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/?.so;;" \
      lua5.4 examples/generate.lua "a small dog"
]]
local hy3d = require "hy3d"

local params, stem
if arg[1] == "--image" then
  local b64, err = hy3d.image(arg[2] or "")      -- checks format, pixel size and bytes first
  if not b64 then
    io.stderr:write("generate: ", tostring(err), "\n")
    os.exit(2)
  end
  params, stem = { ImageBase64 = b64 }, (arg[2]:match("([^/]+)%.%w+$") or "image")
  table.remove(arg, 1)
  table.remove(arg, 1)
else
  local prompt = arg[1] or "a small wooden chair"
  table.remove(arg, 1)
  params = { Prompt = prompt, FaceCount = 50000 }
  stem = prompt:lower():gsub("[^%w]+", "-"):gsub("^%-+", ""):gsub("%-+$", ""):sub(1, 40)
end
local dir = arg[1] or "out"

local started = os.time()
local client = hy3d.new {}
local r, err = client:generate(params, {
  dir = dir, name = stem, formats = { "GLB", "OBJ" }, extract = true, interval = 2, timeout = 900,
  on_submit = function(job) print(("job %s submitted (keep it: `hy3d wait %s` resumes)"):format(job.JobId, job.JobId)) end,
  on_status = function(res) print(("  %-4s after %ds"):format(res.Status, os.time() - started)) end,
  on_progress = function(done, total, ftype)
    if total and done == total then print(("  %s 100%% (%d bytes)"):format(ftype, total)) end
  end,
})
if not r then
  io.stderr:write("generate: ", tostring(err), "\n")
  if err.job_id then io.stderr:write("generate: job ", err.job_id, " is not lost: hy3d download ", err.job_id, "\n") end
  os.exit(1)
end
for _, f in ipairs(r.files) do
  print(("saved %s (%s, %d bytes)%s"):format(f.path, f.type, f.bytes, f.dir and (", unpacked into " .. f.dir) or ""))
end
