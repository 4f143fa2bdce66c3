-- spec/hosts/love_game/main.lua: the game spec/hosts/love_spec.lua runs headless against the sandbox:
-- hy3d.use(love), a call made straight in love.load and love.update (refused: WOULD_BLOCK_FRAME) and a
-- job in an hy3d.spawn task pumped by hy3d.update() at about 60 frames a second; with
-- HY3D_SPEC_NO_ADAPTER=1, no adapter and a client:wait made straight in love.update (it blocks that
-- frame in the kernel). One result line on stdout: frames=… max_frame_ms=… max_update_ms=… cpu=… wall=…
-- status=… refused_load=… refused_update=… refused_run=…
local function getenv(name)
  local v = os.getenv(name)
  if v and v ~= "" then return v end
  return nil
end

package.path = assert(getenv("HY3D_LUA_PATH"), "HY3D_LUA_PATH") .. ";" .. package.path
package.cpath = assert(getenv("HY3D_CPATH"), "HY3D_CPATH") .. ";" .. package.cpath

local hy3d = require "hy3d"

local NO_ADAPTER = getenv("HY3D_SPEC_NO_ADAPTER") ~= nil
local MAX_FRAMES = tonumber(getenv("HY3D_HEADLESS_FRAMES") or "") or 1200
local FRAME = 1 / 60

local client
local r = { frames = 0, max_frame_ms = 0, max_update_ms = 0, refused_load = "none", refused_update = "none", refused_run = "none",
            status = "none" }
local task, t0, cpu0, prev

local function code_of(res, err)
  if res then return "none" end
  return tostring(err.code)
end

function love.load()
  if not NO_ADAPTER then assert(hy3d.use(love) == "love") end
  client = hy3d.new { poll_interval = 0.1 }
  if not NO_ADAPTER then
    r.refused_load = code_of(client:query("1"))
    hy3d.spawn(function() hy3d.sleep(0.05) end)      -- something for hy3d.run to wait for
    local ok, errs = hy3d.run()
    r.refused_run = ok and "none" or tostring(errs[1].code)
  end
  t0, cpu0 = love.timer.getTime(), os.clock()
end

local function finish()
  r.wall = ("%.3f"):format(love.timer.getTime() - t0)
  r.cpu = ("%.3f"):format(os.clock() - cpu0)
  r.max_frame_ms = ("%.1f"):format(r.max_frame_ms)
  r.max_update_ms = ("%.1f"):format(r.max_update_ms)
  local keys = {}
  for k in pairs(r) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(r[k]) end
  print(table.concat(parts, " "))
  io.stdout:flush()
  love.event.quit(0)
end

function love.update()
  local now = love.timer.getTime()
  if prev then r.max_frame_ms = math.max(r.max_frame_ms, (now - prev) * 1000) end   -- from frame to frame
  prev = now
  r.frames = r.frames + 1
  if r.frames == 1 then
    if NO_ADAPTER then                                -- straight in love.update: blocks this frame
      local job = assert(client:submit { Prompt = "a wooden barrel" })
      local res, err = client:wait(job)
      r.status = res and res.Status or tostring(err)
    else
      r.refused_update = code_of(client:submit { Prompt = "a wooden barrel" })
      task = hy3d.spawn(function()
        local job = hy3d.assert(client:submit { Prompt = "a wooden barrel" })
        return hy3d.assert(client:wait(job)).Status
      end)
    end
  end
  hy3d.update()
  if task and task:status() ~= "running" then
    local status, err = task:result()
    r.status = status or tostring(err)
  end
  local spent = love.timer.getTime() - now
  r.max_update_ms = math.max(r.max_update_ms, spent * 1000)
  if r.status ~= "none" or r.frames >= MAX_FRAMES then return finish() end
  if spent < FRAME then love.timer.sleep(FRAME - spent) end   -- about 60 frames a second
end
