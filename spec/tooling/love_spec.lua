-- examples/love: the LÖVE 11 game, run headless (HY3D_HEADLESS_FRAMES: no window, no graphics,
-- no display needed) against hy3d-sandbox. It must finish the job, download and load the model,
-- and never let hy3d hold up a frame.
local sandbox = require "spec.support.sandbox"
local u32 = require("spec.support.binary").u32le
local cjson = require "cjson"

local ROOT = os.getenv("PWD") or "."
local LOVE = os.getenv("HY3D_LOVE") or "love"
local CORE = ROOT .. "/build/luajit/hy3d/core.so"   -- LÖVE runs LuaJIT: it needs the LuaJIT build
local FRAMES = 1200                                 -- 20 s at 60 fps; the job takes about 4 s here
-- The sandbox holds every answer STALL s: a frame that waited for one would take at least that
-- long, so a bound of half of it tells a blocked frame from a slow one on a loaded machine.
local STALL = 1.0
local MAX_FRAME_MS = 500

local q = sandbox.shell_quote

-- Why the spec cannot run here, or nil.
local function missing()
  local ok, out = sandbox.run(q(LOVE) .. " --version")
  if not ok then
    return ("LÖVE is not installed (`%s --version` failed; apt-get install love, or set HY3D_LOVE)"):format(LOVE)
  end
  if not out:match("LOVE 11%.") then
    return "examples/love needs LÖVE 11, found: " .. (out:match("[^\n]*") or "?")
  end
  if not sandbox.run("test -f " .. q(CORE)) then
    return "build/luajit/hy3d/core.so (the LuaJIT build of hy3d.core, which LÖVE loads) is missing: "
      .. "run `make LUA_VERSION=jit`"
  end
  return nil
end

-- Runs the game headless with the sandbox's credentials; returns the exit code, the whole output
-- and the fields of its result line (frames=… max_frame_ms=… status=… …).
local function play(sb, dir, extra)
  local env = { HY3D_PROMPT = "a wooden barrel", HY3D_HEADLESS_FRAMES = FRAMES, HY3D_POLL_INTERVAL = 0.1, HY3D_OUT = dir }
  for k, v in pairs(extra or {}) do env[k] = v end
  local _, out, code = sandbox.run(sandbox.host_command(sb, env, q(LOVE) .. " examples/love"))
  local line = out:match("(frames=[^\n]*)")
  local fields = {}
  if line then
    for k, v in line:gmatch("([%w_]+)=(%S+)") do fields[k] = v end
    fields.error = line:match("error=(.*)$")
  end
  return code, out, fields
end

-- Triangles in a GLB, counted here independently of the game (portable: no string.unpack).
local function glb_triangles(glb)
  local gltf = cjson.decode(glb:sub(21, 20 + u32(glb, 13)))
  local n = 0
  for _, mesh in ipairs(gltf.meshes) do
    for _, prim in ipairs(mesh.primitives) do
      local acc = gltf.accessors[(prim.indices or prim.attributes.POSITION) + 1]
      n = n + math.floor(acc.count / 3)
    end
  end
  return n
end

describe("examples/love (LÖVE, headless)", function()
  local why = missing()
  if why then
    pending(why)
    return
  end

  local sb = sandbox.suite { wait_time = 0.3, run_time = 0.5, reset = false }

  it("generates, downloads and loads a model while every frame stays short", function()
    local dir = sandbox.tmpdir()
    finally(function()
      sb:reset()
      sandbox.run("rm -rf " .. q(dir))
    end)
    sb:fault { route = "any", action = "delay", delay = STALL, count = -1 }
    local code, out, r = play(sb, dir)
    assert.equal(0, code, out)
    assert.equal("DONE", r.status, out)
    assert.matches("^%d+$", r.job, out)

    local frames = tonumber(r.frames)
    assert.is_true(frames > 1 and frames < FRAMES, out)          -- finished early, over several frames

    assert.equal(dir .. "/a-wooden-barrel.glb", r.file)
    local glb = assert(sandbox.read_file(r.file), "the GLB was not saved")
    assert.equal("glTF", glb:sub(1, 4))
    assert.equal(2, u32(glb, 5))
    assert.equal(#glb, u32(glb, 9))
    assert.equal(#glb, tonumber(r.bytes))
    assert.is_true(tonumber(r.triangles) > 0, out)
    assert.equal(glb_triangles(glb), tonumber(r.triangles))    -- the game parsed what it downloaded
    local png = assert(sandbox.read_file(dir .. "/a-wooden-barrel.png"), "the preview was not saved")
    assert.equal("\137PNG", png:sub(1, 4))
    local w, h = r.preview:match("^(%d+)x(%d+)$")               -- decoded by love.image
    assert.equal(u32(png:sub(17, 20):reverse(), 1), tonumber(w))
    assert.equal(u32(png:sub(21, 24):reverse(), 1), tonumber(h))

    local max_ms, p99_ms = tonumber(r.max_frame_ms), tonumber(r.p99_frame_ms)
    assert.is_true(max_ms < MAX_FRAME_MS, ("slowest frame %s ms (bound %d ms)\n%s"):format(r.max_frame_ms,
      MAX_FRAME_MS, out))
    assert.is_true(p99_ms <= max_ms, out)
    assert.equal(1, #sb:requests("submit"))                     -- one job, submitted once
  end)

  it("exits 1 with the error on its result line when the key is wrong", function()
    local dir = sandbox.tmpdir()
    finally(function() sandbox.run("rm -rf " .. q(dir)) end)
    local code, out, r = play(sb, dir, { HY3D_API_KEY = "sk-wrong" })
    assert.equal(1, code, out)
    assert.equal("error", r.status, out)
    assert.matches("HTTP 401", r.error, 1, true)
  end)

  it("exits 1 when the job is not done within its frames", function()
    local dir = sandbox.tmpdir()
    finally(function() sandbox.run("rm -rf " .. q(dir)) end)
    local code, out, r = play(sb, dir, { HY3D_HEADLESS_FRAMES = 5 })
    assert.equal(1, code, out)
    assert.equal("5", r.frames)
    assert.matches("no result after 5 frames", r.error, 1, true)
  end)
end)
