-- bench/scale/download.lua — one client:download of URL to PATH (Lua, blocking in the main thread,
-- the way a script downloads): prints one JSON line with the bytes, the seconds the call took,
-- MB/s, the process's CPU (user+sys) and its resident memory growth during the download (VmHWM,
-- reset just before the call, minus VmRSS before it). bench/scale/run.sh runs it several times,
-- each in a fresh process, alternating with `curl -o` against the same server.
--
-- Usage: lua5.4 bench/scale/download.lua URL PATH [WARM_URL]
-- WARM_URL (a small file on the same server) is fetched first, so libcurl's one-time state and
-- the code are loaded before the baseline.
package.path = "./bench/scale/?.lua;" .. package.path
local lib = require "lib"
local hy3d = require "hy3d"
local core = require "hy3d.core"

local url, path, warm = assert(arg[1], "usage: download.lua URL PATH [WARM_URL]"), assert(arg[2]), arg[3]
local base = url:match("^(https?://[^/]+)")
local client = hy3d.new { api_key = "sk-hy3d-bench", base_url = base }
if warm and warm ~= "" then
  assert(client:download(warm, path))
  os.remove(path)
end
collectgarbage("collect")
local m0, heap0 = lib.mem(), collectgarbage("count")
local peak_ok = lib.reset_peak()
local u0, s0 = lib.cpu()
local t0 = core.now()
local ok, bytes = client:download(url, path)
local secs = core.now() - t0
local u1, s1 = lib.cpu()
local m1 = lib.mem()
if not ok then
  io.stderr:write("download failed: ", tostring(bytes), "\n")
  os.exit(1)
end
client:close()
local round = lib.round
print((lib.json { bytes = bytes, seconds = round(secs, 4), mb_s = round(bytes / secs / 1e6, 1),
  cpu_user_s = round(u1 - u0, 2), cpu_sys_s = round(s1 - s0, 2),
  rss_before_kb = m0.rss, rss_growth_kb = peak_ok and (m1.hwm - m0.rss) or (m1.rss - m0.rss),
  rss_growth_is_peak = peak_ok, lua_heap_growth_kb = round(collectgarbage("count") - heap0, 1) }:gsub("\n%s*", " ")))
