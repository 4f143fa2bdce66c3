-- examples/openresty/hy3d_blocking.lua: the worker-thread side of the blocking recipe: ngx_lua's
-- ngx.run_worker_thread runs generate() in a thread of nginx's pool with a Lua VM of its own, where
-- no hy3d.use adapter is installed, so hy3d blocks in curl_multi_poll (the thread's, never the worker's).
-- Arguments and results cross between VMs as plain values: strings, numbers, booleans, tables of them.
local M = {}

local client                                    -- one per thread VM

--- Generates a model from prompt into dir: { job, status, file, bytes }, or nil and { error, kind, code }.
function M.generate(prompt, dir)
  local hy3d = require "hy3d"
  if not client then
    local ok, c = pcall(hy3d.new, { poll_interval = tonumber(os.getenv("HY3D_POLL_INTERVAL") or "") })
    if not ok then return nil, { error = tostring(c) } end
    client = c
  end
  local out, err = client:generate({ Prompt = prompt }, { dir = dir, formats = { "GLB" } })
  if not out then return nil, { error = tostring(err), kind = err.kind, code = err.code } end
  local f = out.files[1]
  return { job = out.job.JobId, status = out.result.Status, file = f and f.path, bytes = f and f.bytes }
end

return M
