-- hy3d: client:submit, then client:query N times (the gateway door, or API 3.0 with TC3 signing).
-- LUA_PATH finds ./lua and bench/overhead, LUA_CPATH the core of the interpreter that runs it.
local common = require "common"
local hy3d = require "hy3d"
local now = require("hy3d.core").now

local client
if common.door == "api3" then
  client = hy3d.new { secret_id = common.secret_id, secret_key = common.secret_key, endpoint = common.url }
else
  client = hy3d.new { api_key = common.api_key, base_url = common.url }
end

local t = now()
local job = assert(client:submit { Prompt = common.prompt })
local submit = now() - t

local lat, errors = {}, 0
local c0, w0 = os.clock(), now()
for i = 1, common.n do
  local a = now()
  local res = client:query(job)
  lat[i] = now() - a
  if not res then errors = errors + 1 end
end
local wall, cpu = now() - w0, os.clock() - c0
common.report("hy3d", lat, wall, cpu, submit, errors, { lua = rawget(_G, "jit") and jit.version or _VERSION })
client:close()
