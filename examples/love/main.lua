--[[ main.lua — a LÖVE 11 game that generates a 3D model with hy3d while it keeps animating.

Run from the top of a checkout (LÖVE 11 and Debian's lua-cjson for Lua 5.1; see README.md here):

  $ make && make LUA_VERSION=jit
  $ HY3D_PROMPT="a wooden barrel" scripts/with-sandbox love examples/love

Without a display, the same game headless (the model goes to out/):
  $ HY3D_HEADLESS_FRAMES=1200 HY3D_OUT=out scripts/with-sandbox love examples/love

The hy3d work (submit, wait, download) runs in a task (hy3d.spawn) that love.update pumps once
per frame with hy3d.update(), which never blocks, so the spinning shape and the frame counter
never stop. Call hy3d only from such a task: a call made straight from a callback would hold up
the frame until it returned; after hy3d.use(love) it returns the error WOULD_BLOCK_FRAME instead. When the job is
done the game loads nothing but what it downloaded: the GLB (its triangle count and vertex
positions, drawn as a spinning point cloud) and the PNG preview.

Environment: HY3D_BASE_URL, HY3D_API_KEY (or TENCENTCLOUD_SECRET_ID/_KEY), HY3D_PROMPT,
HY3D_FACE_COUNT (default 5000), HY3D_POLL_INTERVAL (seconds, default 2), HY3D_OUT (a directory;
default the game's save directory), HY3D_LUA_PATH / HY3D_CPATH (prepended to package.path /
package.cpath; default this checkout's lua/ and build/luajit/), HY3D_HEADLESS_FRAMES=N (no
window: at most N frames, then one line of results on stdout and exit 0, or 1 on error).
]]

local function getenv(name)
  local v = os.getenv(name)
  if v and v ~= "" then return v end
  return nil
end

local HEADLESS = tonumber(getenv("HY3D_HEADLESS_FRAMES") or "")
local PROMPT = getenv("HY3D_PROMPT") or "a wooden barrel"
local FACE_COUNT = tonumber(getenv("HY3D_FACE_COUNT") or "") or 5000
local POLL_INTERVAL = tonumber(getenv("HY3D_POLL_INTERVAL") or "") or 2
local FRAME = 1 / 60                     -- headless pacing: about 60 frames per second
local MAX_POINTS = 6000                  -- vertices drawn per frame in the point cloud

-- Where hy3d lives. LÖVE's LuaJIT needs the LuaJIT build of hy3d.core and a Lua 5.1 lua-cjson
-- (Debian's is in LÖVE's default cpath, /usr/lib/x86_64-linux-gnu/lua/5.1/).
do
  local root = love.filesystem.getSource():gsub("/+$", "") .. "/../.."   -- examples/love -> checkout
  package.path = (getenv("HY3D_LUA_PATH") or (root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua"))
    .. ";" .. package.path
  package.cpath = (getenv("HY3D_CPATH") or (root .. "/build/luajit/?.so")) .. ";" .. package.cpath
end

local hy3d = require "hy3d"
local cjson = require "cjson"

local unpack = love.data.unpack          -- string.unpack's formats, on LuaJIT too

-- ===== game state =====

local state = {
  line = "starting",        -- the status line shown on screen
  status = nil,             -- the job's Status: WAIT, RUN, DONE, FAIL
  job = nil,                -- JobId
  file = nil, bytes = nil,  -- the downloaded GLB
  preview_file = nil,       -- the downloaded PNG preview
  error = nil,
  model = nil,              -- what read_glb found: triangles, vertices, points
  image = nil,              -- the preview as a LÖVE image (window mode)
  preview_size = nil,       -- "WxH" of the preview
}
local client, task
local frames, frame_ms, max_ms, slowest = 0, {}, 0, 0
local angle, next_frame = 0, 0

local function output_dir()
  local dir = getenv("HY3D_OUT")
  if not dir then
    love.filesystem.createDirectory("models")
    return love.filesystem.getSaveDirectory() .. "/models"
  end
  if love.system.getOS() ~= "Windows" then os.execute(("mkdir -p '%s'"):format(dir:gsub("'", "'\\''"))) end
  return dir
end

-- A file name from the prompt (ASCII letters and digits), else from the job id.
local function file_stem(text, job_id)
  local stem = text:lower():gsub("[^%w]+", "-"):gsub("^%-+", ""):gsub("%-+$", ""):sub(1, 40)
  return stem ~= "" and stem or ("model-" .. job_id)
end

-- The hy3d work, in a task: submit, wait (updating the status line), download.
local function generate(prompt, dir)
  state.line = "submitting"
  local job = hy3d.assert(client:submit { Prompt = prompt, FaceCount = FACE_COUNT })
  state.job, state.line = job.JobId, "submitted job " .. job.JobId
  local result = hy3d.assert(client:wait(job, {
    interval = POLL_INTERVAL, timeout = 900,
    on_status = function(r) state.status, state.line = r.Status, r.Status .. " (job " .. job.JobId .. ")" end,
  }))
  state.status = result.Status
  local glb, preview
  for _, f in ipairs(result.ResultFile3Ds) do
    if f.Type == "GLB" and not glb then glb = f end
    preview = preview or f.PreviewImageUrl
  end
  if not glb then error("the job finished without a GLB file", 0) end
  local stem = dir .. "/" .. file_stem(prompt, job.JobId)
  state.line = "downloading " .. stem .. ".glb"
  state.file, state.bytes = hy3d.assert(client:download(glb.Url, stem .. ".glb"))
  if preview then
    state.line = "downloading " .. stem .. ".png"
    state.preview_file = hy3d.assert(client:download(preview, stem .. ".png"))
  end
  state.line = ("saved %s (%d bytes)"):format(state.file, state.bytes)
end

-- Records an error: the first line of its message (a string error may run over several lines).
local function fail(err)
  state.error = tostring(err):match("^[^\n]*")
  state.line = "error: " .. state.error
end

-- ===== loading what was downloaded =====

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local data = f:read("*a")
  f:close()
  return data
end

-- Parses a GLB: header, JSON chunk, BIN chunk. Returns { triangles, vertices, points } where points
-- is a flat list x, y, z of (at most MAX_POINTS) vertex positions, centred and scaled to [-1, 1].
local function read_glb(path)
  local data = assert(read_file(path))
  if #data < 20 or data:sub(1, 4) ~= "glTF" then error(path .. " is not a GLB file", 0) end
  local version, length = unpack("<I4I4", data, 5)
  if version ~= 2 or length ~= #data then error(path .. ": not a glTF 2.0 binary of the right length", 0) end
  local json_len, json_type = unpack("<I4c4", data, 13)
  if json_type ~= "JSON" then error(path .. ": the first chunk is not JSON", 0) end
  local gltf = cjson.decode(data:sub(21, 20 + json_len))
  local bin_at = 21 + json_len
  local bin_len, bin_type
  if #data >= bin_at + 8 then bin_len, bin_type = unpack("<I4c4", data, bin_at) end
  local bin_start = bin_type == "BIN\0" and bin_at + 8 or nil

  local model = { triangles = 0, vertices = 0, points = {} }
  local positions = {}
  for _, mesh in ipairs(gltf.meshes or {}) do
    for _, prim in ipairs(mesh.primitives or {}) do
      local pos = prim.attributes and prim.attributes.POSITION
      local acc = pos and gltf.accessors[pos + 1]
      if (prim.mode == nil or prim.mode == 4) and acc then
        local counted = prim.indices and gltf.accessors[prim.indices + 1] or acc
        model.triangles = model.triangles + math.floor(counted.count / 3)
        model.vertices = model.vertices + acc.count
        positions[#positions + 1] = acc
      end
    end
  end

  -- vertex positions for drawing (float VEC3 in the BIN chunk)
  local xyz = {}
  local total = 0
  for _, acc in ipairs(positions) do total = total + acc.count end
  local step = math.max(1, math.ceil(total / MAX_POINTS))
  for _, acc in ipairs(positions) do
    local view = acc.bufferView and gltf.bufferViews[acc.bufferView + 1]
    if bin_start and view and acc.componentType == 5126 and acc.type == "VEC3" and (view.buffer or 0) == 0 then
      local stride = view.byteStride or 12          -- tightly packed float VEC3
      local base = bin_start + (view.byteOffset or 0) + (acc.byteOffset or 0)
      for i = 0, acc.count - 1, step do
        local at = base + i * stride
        if at + 11 < bin_start + bin_len then
          local x, y, z = unpack("<fff", data, at)
          xyz[#xyz + 1], xyz[#xyz + 2], xyz[#xyz + 3] = x, y, z
        end
      end
    end
  end
  local lo, hi = { math.huge, math.huge, math.huge }, { -math.huge, -math.huge, -math.huge }
  for i = 1, #xyz, 3 do
    for k = 0, 2 do
      lo[k + 1], hi[k + 1] = math.min(lo[k + 1], xyz[i + k]), math.max(hi[k + 1], xyz[i + k])
    end
  end
  local size = math.max(hi[1] - lo[1], hi[2] - lo[2], hi[3] - lo[3], 1e-9) / 2
  for i = 1, #xyz, 3 do
    for k = 0, 2 do
      model.points[i + k] = (xyz[i + k] - (lo[k + 1] + hi[k + 1]) / 2) / size
    end
  end
  return model
end

-- Loads the downloaded GLB and PNG (called once, when the task has finished).
local function load_results()
  state.model = read_glb(state.file)
  if state.preview_file then
    local bytes = assert(read_file(state.preview_file))
    local filedata = love.filesystem.newFileData(bytes, "preview.png")
    if love.graphics then
      state.image = love.graphics.newImage(filedata)
      state.preview_size = ("%dx%d"):format(state.image:getDimensions())
    else
      local imagedata = love.image.newImageData(filedata)    -- decodes the PNG without a window
      state.preview_size = ("%dx%d"):format(imagedata:getDimensions())
    end
  end
  state.line = ("saved %s: %d triangles"):format(state.file, state.model.triangles)
end

-- ===== headless report =====

local function percentile(list, p)
  if #list == 0 then return 0 end
  local sorted = {}
  for i, v in ipairs(list) do sorted[i] = v end
  table.sort(sorted)
  return sorted[math.max(1, math.ceil(#sorted * p))]
end

local function report_and_quit()
  local fields = {
    ("frames=%d"):format(frames),
    ("max_frame_ms=%.3f"):format(max_ms),
    ("slowest_frame=%d"):format(slowest),
    ("p99_frame_ms=%.3f"):format(percentile(frame_ms, 0.99)),
    ("status=%s"):format(state.error and "error" or tostring(state.status)),
    ("job=%s"):format(tostring(state.job)),
  }
  if state.model then
    fields[#fields + 1] = ("file=%s"):format(state.file)
    fields[#fields + 1] = ("bytes=%d"):format(state.bytes)
    fields[#fields + 1] = ("triangles=%d"):format(state.model.triangles)
    fields[#fields + 1] = ("preview=%s"):format(state.preview_size or "none")
  end
  if state.error then fields[#fields + 1] = "error=" .. state.error end
  io.stdout:write(table.concat(fields, " "), "\n")
  io.stdout:flush()
  if client then client:close() end
  love.event.quit(state.error and 1 or 0)
end

-- ===== LÖVE callbacks =====

function love.load()
  local ok, err = pcall(function()
    hy3d.use(love)      -- a call made outside the task would now fail at once (WOULD_BLOCK_FRAME), not freeze a frame
    client = hy3d.new {}
    task = hy3d.spawn(generate, PROMPT, output_dir())
  end)
  if not ok then fail(err) end
  next_frame = love.timer.getTime()
end

local finished = false

function love.update(dt)
  angle = angle + dt
  frames = frames + 1
  if task and not finished then
    local t0 = love.timer.getTime()
    hy3d.update()                                   -- hy3d's share of the frame: never blocks
    local ms = (love.timer.getTime() - t0) * 1000
    frame_ms[#frame_ms + 1] = ms
    if ms > max_ms then max_ms, slowest = ms, frames end
    local status = task:status()
    if status ~= "running" then
      finished = true
      if status == "failed" then
        fail(task.error)
      else
        local ok, err = pcall(load_results)
        if not ok then fail(err) end
      end
    end
  end
  if HEADLESS then
    if finished or not task or frames >= HEADLESS then
      if not finished and not state.error then
        fail(("no result after %d frames (%s)"):format(frames, state.line))
      end
      return report_and_quit()
    end
    local now = love.timer.getTime()                -- pace the loop like a 60 Hz display would
    next_frame = math.max(next_frame + FRAME, now)
    if next_frame > now then love.timer.sleep(next_frame - now) end
  end
end

function love.keypressed(key)
  if key == "escape" then love.event.quit() end
end

function love.quit()
  if client then client:close() end
end

-- ===== drawing (window mode only) =====

local CUBE = { -1, -1, -1, 1, -1, -1, 1, 1, -1, -1, 1, -1, -1, -1, 1, 1, -1, 1, 1, 1, 1, -1, 1, 1 }
local CUBE_EDGES = { 1, 2, 2, 3, 3, 4, 4, 1, 5, 6, 6, 7, 7, 8, 8, 5, 1, 5, 2, 6, 3, 7, 4, 8 }

-- Rotates (x, y, z) about Y by a and about X by b, then projects to the screen.
local function project(x, y, z, a, b, cx, cy, scale)
  local ca, sa, cb, sb = math.cos(a), math.sin(a), math.cos(b), math.sin(b)
  x, z = x * ca + z * sa, -x * sa + z * ca
  y, z = y * cb - z * sb, y * sb + z * cb
  local f = 3 / (z + 4)
  return cx + x * scale * f, cy - y * scale * f, z
end

local function draw_cube(cx, cy, scale)
  local p = {}
  for i = 1, #CUBE, 3 do
    local x, y = project(CUBE[i], CUBE[i + 1], CUBE[i + 2], angle * 1.3, 0.5 + 0.3 * math.sin(angle), cx, cy, scale)
    p[#p + 1], p[#p + 2] = x, y
  end
  love.graphics.setLineWidth(2)
  for i = 1, #CUBE_EDGES, 2 do
    local a, b = CUBE_EDGES[i], CUBE_EDGES[i + 1]
    love.graphics.line(p[2 * a - 1], p[2 * a], p[2 * b - 1], p[2 * b])
  end
end

local function draw_model(cx, cy, scale)
  local pts, list = state.model.points, {}
  for i = 1, #pts, 3 do
    local x, y, z = project(pts[i], pts[i + 1], pts[i + 2], angle * 0.8, 0.35, cx, cy, scale)
    local shade = 0.45 + 0.55 * (1 - (z + 1.7) / 3.4)
    list[#list + 1] = { x, y, 0.55 * shade, 0.8 * shade, shade, 1 }
  end
  love.graphics.setPointSize(2)
  love.graphics.points(list)
end

function love.draw()
  local w, h = love.graphics.getDimensions()
  love.graphics.clear(0.08, 0.09, 0.12)
  local cx, cy, scale = w * 0.38, h * 0.52, math.min(w, h) * 0.3

  if state.model then
    draw_model(cx, cy, scale)
  else
    love.graphics.setColor(0.4, 0.7, 1, 1)
    draw_cube(cx, cy, scale * 0.6)
  end

  if state.image then
    local iw, ih = state.image:getDimensions()
    local s = math.min(w * 0.3 / iw, h * 0.5 / ih)
    love.graphics.setColor(1, 1, 1, 1)
    love.graphics.draw(state.image, w * 0.66, h * 0.2, 0, s, s)
    love.graphics.print("preview " .. state.preview_size, w * 0.66, h * 0.2 + ih * s + 6)
  end

  love.graphics.setColor(1, 1, 1, 1)
  love.graphics.print(("hy3d + LÖVE   prompt: %q"):format(PROMPT), 16, 14)
  love.graphics.print(("frame %d   %d fps   hy3d this frame %.2f ms, slowest %.2f ms"):format(
    frames, love.timer.getFPS(), frame_ms[#frame_ms] or 0, max_ms), 16, 34)
  if state.model then
    love.graphics.print(("%d triangles, %d vertices (%d drawn)"):format(
      state.model.triangles, state.model.vertices, #state.model.points / 3), 16, 54)
  end
  if state.error then love.graphics.setColor(1, 0.4, 0.4, 1) else love.graphics.setColor(0.6, 1, 0.6, 1) end
  love.graphics.printf(state.line, 16, h - 40, w - 32)
end
