--- hy3d: generate 3D models with Tencent Hunyuan 3D from Lua.
--
--     local hy3d = require "hy3d"
--     local client = hy3d.new{ api_key = os.getenv("HY3D_API_KEY") }
--     local job = assert(client:submit{ Prompt = "a small wooden chair" })
--     local result = assert(client:wait(job))
--
-- Runtime failures return `nil, err` (see hy3d.error); wrong argument types and unknown options
-- raise. Inside a coroutine every call yields instead of blocking.
local core = require "hy3d.core"
local client = require "hy3d.client"
local errors = require "hy3d.error"

local VERSION = "0.1.0"

if core._VERSION ~= VERSION then
  error(("hy3d: the C core is version %s but the Lua layer is %s; rebuild or reinstall hy3d")
    :format(tostring(core._VERSION), VERSION))
end

local default_client

-- The client behind the module-level functions, made from the environment on first use.
local function default()
  if not default_client then default_client = client.new() end
  return default_client
end

local M = {
  _VERSION = VERSION,
  defaults = client.defaults,
  null = core.decode("null"),
  new = client.new,
  kinds = client.kinds,
  Error = errors,
}

--- Submits a job on the default client (see Client:submit).
function M.submit(params, opts)
  return default():submit(params, opts)
end

--- Queries a job once on the default client (see Client:query).
function M.query(job, opts)
  return default():query(job, opts)
end

--- Calls an API 3.0 action by name on the default client (see Client:call).
function M.call(action, params)
  return default():call(action, params)
end

--- Converts a model file's format on the default client (see Client:convert).
function M.convert(params)
  return default():convert(params)
end

--- Polls a job until it is DONE or FAIL on the default client (see Client:wait).
function M.wait(job, opts)
  return default():wait(job, opts)
end

--- Streams a result file to disk (see Client:download). Needs no API key.
function M.download(url, path, opts)
  return default():download(url, path, opts)
end

return M
