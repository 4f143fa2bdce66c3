-- spec/tooling/types/usage.lua: a program on hy3d that `lua-language-server --check` must pass (types_spec.lua).
local hy3d = require "hy3d"

local client = hy3d.new { api_key = "sk-xxxxxxxxxxxx", timeout = 5, door = "gateway" }
local got, err = client:generate("a small wooden chair", { formats = { "GLB" }, dir = "models" })
if got then
  print(got.job.JobId, got.result.ResultFile3Ds[1].Url, got.files[1].path)
elseif err then
  print(err.kind, err.code, err.message)
end
local job = hy3d.assert(client:submit({ Prompt = "a teapot" }, { kind = "rapid" }))
local result = hy3d.assert(client:wait(job, { interval = 1 }))
print(result.Status, hy3d.kinds.list()[1], hy3d.update())
local task = hy3d.spawn(function() return 1 end)
print(task:status())
client:close()
