#!/usr/bin/env lua5.4
--[[ api3.lua — the same job through Tencent Cloud API 3.0 (SecretId/SecretKey, TC3-HMAC-SHA256):
a Rapid model from a prompt, saved as GLB, then converted to STL with Convert3DFormat.

Usage: lua examples/api3.lua ["prompt"] [out_dir]

Reads TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (TENCENTCLOUD_SESSION_TOKEN and
TENCENTCLOUD_REGION too, when set), and HY3D_ENDPOINT when set (for example hy3d-sandbox's URL;
unset, it talks to https://ai3d.tencentcloudapi.com); HY3D_API_KEY plays no part.
Run it from the top of a checkout, after `make`, against hy3d-sandbox (no key or network needed):
  $ make
  $ scripts/with-sandbox env LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/?.so;;" \
      lua5.4 examples/api3.lua "a red teapot"
(scripts/with-sandbox sets both doors' variables; the model lands in out/). With hy3d installed
and your own key pair in the environment, `lua examples/api3.lua "a red teapot"` is enough.
]]
local hy3d = require "hy3d"

local prompt = arg[1] or "a red teapot"
local dir = arg[2] or "out"

local function fail(err, job)
  io.stderr:write("api3: ", tostring(err), "\n")
  if job then io.stderr:write("api3: the job goes on; its JobId is ", job.JobId, " (kind ", job.kind, ")\n") end
  os.exit(1)
end

local client = hy3d.new {
  secret_id = os.getenv("TENCENTCLOUD_SECRET_ID"),
  secret_key = os.getenv("TENCENTCLOUD_SECRET_KEY"),
}
print(tostring(client))

local job, err = client:submit({ Prompt = prompt, ResultFormat = "GLB" }, { kind = "rapid" })
if not job then fail(err) end
print(("submitted %q as %s job %s"):format(prompt, job.kind, job.JobId))

local result
result, err = client:wait(job, {
  interval = 2,
  timeout = 600,
  on_status = function(r) print("  " .. r.Status) end,
})
if not result then fail(err, job) end

local glb = result.ResultFile3Ds[1]
os.execute(("mkdir -p %q"):format(dir))
local stem = dir .. "/" .. (prompt:lower():gsub("[^%w]+", "-"):gsub("^%-+", ""):gsub("%-+$", ""):sub(1, 40))
local path, bytes = client:download(glb.Url, stem .. ".glb")
if not path then fail(bytes, job) end
print(("saved %s (%d bytes)"):format(path, bytes))

-- Convert3DFormat is synchronous: the answer carries the converted file's URL.
local converted
converted, err = client:convert { File3D = glb.Url, Format = "STL" }
if not converted then fail(err) end
path, bytes = client:download(converted.ResultFile3D, stem .. ".stl")
if not path then fail(bytes) end
print(("saved %s (%d bytes)"):format(path, bytes))
client:close()
