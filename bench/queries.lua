-- bench/queries.lua — one submit, then N queries of that job: instructions per query under callgrind
-- (bench/instructions.sh); DOOR=api3 for API 3.0.
local hy3d = require "hy3d"
local N = tonumber(arg[1]) or 2000
local c
if os.getenv("DOOR") == "api3" then
  c = hy3d.new { secret_id = os.getenv("TENCENTCLOUD_SECRET_ID"), secret_key = os.getenv("TENCENTCLOUD_SECRET_KEY"),
                 endpoint = os.getenv("HY3D_ENDPOINT"), allow_http = true }
else
  c = hy3d.new { api_key = os.getenv("HY3D_API_KEY"), base_url = os.getenv("HY3D_BASE_URL"), allow_http = true }
end
local job = assert(c:submit { Prompt = "a chair" })
for _ = 1, N do assert(c:query(job)) end
print("ok", N)
