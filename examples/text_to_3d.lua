#!/usr/bin/env lua5.4
--[[ text_to_3d.lua — generate a 3D model from a text prompt and save it as GLB.

Usage: lua examples/text_to_3d.lua ["prompt"] [out_dir]

Reads HY3D_API_KEY, and HY3D_BASE_URL when set (for example hy3d-sandbox's URL; unset, it talks
to Tencent's gateway).
Run it from the top of a checkout, after `make`, against hy3d-sandbox (no key or network needed):
  $ make
  $ scripts/with-sandbox env LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/?.so;;" \
      lua5.4 examples/text_to_3d.lua "a small wooden chair"
(`make demo` does the same with the hy3d command instead of this script.)
]]
local hy3d = require "hy3d"

local prompt = arg[1] or "a small wooden chair"
local dir = arg[2] or "out"

local function fail(err, job)
  io.stderr:write("text_to_3d: ", tostring(err), "\n")
  if job then io.stderr:write("text_to_3d: the job goes on; resume it with: lua examples/resume_job.lua ",
    job.JobId, "\n") end
  os.exit(1)
end

-- A file name from the prompt (ASCII letters and digits), else from the job id.
local function file_stem(text, job)
  local stem = text:lower():gsub("[^%w]+", "-"):gsub("^%-+", ""):gsub("%-+$", ""):sub(1, 40)
  return stem ~= "" and stem or ("model-" .. job.JobId)
end

local client = hy3d.new {}
local job, err = client:submit { Prompt = prompt, FaceCount = 50000 }
if not job then fail(err) end
print(("submitted %q as job %s"):format(prompt, job.JobId))

local started = os.time()
local result
result, err = client:wait(job, {
  interval = 2,
  timeout = 900,
  on_status = function(r) print(("  %-4s after %ds"):format(r.Status, os.time() - started)) end,
})
if not result then fail(err, job) end

local glb, preview
for _, f in ipairs(result.ResultFile3Ds) do
  if f.Type == "GLB" then glb = f end
  preview = preview or f.PreviewImageUrl
end
if not glb then fail("the job finished without a GLB file", job) end

os.execute(("mkdir -p %q"):format(dir))
local stem = dir .. "/" .. file_stem(prompt, job)
local path, bytes = client:download(glb.Url, stem .. ".glb")
if not path then fail(bytes, job) end
print(("saved %s (%d bytes)"):format(path, bytes))
if preview and client:download(preview, stem .. ".png") then
  print(("saved %s (preview)"):format(stem .. ".png"))
end
client:close()
