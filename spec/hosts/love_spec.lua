-- LÖVE's host, headless against hy3d-sandbox (spec/hosts/love_game): with hy3d.use(love) a call made
-- straight in LÖVE's main loop is refused (WOULD_BLOCK_FRAME) while a spawned task's job completes
-- with every frame short and the CPU bounded; without the adapter, such a call blocks its frame in the
-- kernel instead of spinning in LÖVE's coroutine. (examples/love: spec/tooling/love_spec.lua.)
local sandbox = require "spec.support.sandbox"

local ROOT = os.getenv("PWD") or "."
local LOVE = os.getenv("HY3D_LOVE") or "love"
local CORE = ROOT .. "/build/luajit/hy3d/core.so"   -- LÖVE runs LuaJIT: it needs the LuaJIT build
-- The sandbox holds every answer STALL s: a frame that waited for one would take at least that long.
local STALL = 1.0

local q = sandbox.shell_quote

-- Why the spec cannot run here, or nil.
local function missing()
  local ok, out = sandbox.run(q(LOVE) .. " --version")
  if not ok then
    return ("LÖVE is not installed (`%s --version` failed; apt-get install love, or set HY3D_LOVE)"):format(LOVE)
  end
  if not out:match("LOVE 11%.") then return "the spec game needs LÖVE 11, found: " .. (out:match("[^\n]*") or "?") end
  if not sandbox.exists(CORE) then
    return "build/luajit/hy3d/core.so (the LuaJIT build of hy3d.core, which LÖVE loads) is missing: "
      .. "run `make LUA_VERSION=jit`"
  end
  return nil
end

-- Runs the game; returns its exit code, whole output and the fields of its result line.
local function play(sb, extra)
  local env = {
    HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key, HY3D_HEADLESS_FRAMES = 1200,
    HY3D_LUA_PATH = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua", HY3D_CPATH = ROOT .. "/build/luajit/?.so",
  }
  for k, v in pairs(extra or {}) do env[k] = v end
  local assigns = {}
  for k, v in pairs(env) do assigns[#assigns + 1] = k .. "=" .. q(v) end
  local _, out, code = sandbox.run(("cd %s && env -u LUA_PATH -u LUA_CPATH %s %s spec/hosts/love_game"):format(
    q(ROOT), table.concat(assigns, " "), q(LOVE)))
  local fields = {}
  for k, v in (out:match("([^\n]*frames=[^\n]*)") or ""):gmatch("([%w_]+)=(%S+)") do fields[k] = v end
  return code, out, fields
end

describe("LÖVE (headless, spec/hosts/love_game)", function()
  local why = missing()
  if why then
    pending(why)
    return
  end

  local sb = sandbox.suite { wait_time = 0.3, run_time = 0.5 }

  it("with hy3d.use(love): a call straight in the main loop is refused, a spawned job completes, frames stay short",
    function()
    sb:fault { route = "any", action = "delay", delay = STALL, count = -1 }
    local code, out, r = play(sb)
    assert.equal(0, code, out)
    assert.equal("WOULD_BLOCK_FRAME", r.refused_load, out)      -- love.load runs in LÖVE's coroutine too
    assert.equal("WOULD_BLOCK_FRAME", r.refused_update, out)
    assert.equal("WOULD_BLOCK_FRAME", r.refused_run, out)       -- hy3d.run() would hold up the frame
    assert.equal("DONE", r.status, out)
    assert.equal(1, #sb:requests("submit"))                     -- the refused submit sent nothing
    local frames, wall, cpu = tonumber(r.frames), tonumber(r.wall), tonumber(r.cpu)
    assert.is_true(wall >= 2 * STALL, out)                       -- submit and queries each held STALL s
    assert.is_true(frames > 30, out)                             -- frames kept coming all along
    assert.is_true(tonumber(r.max_update_ms) < STALL * 500, out) -- no update waited for an answer
    -- about 60 frames a second, each sleeping most of its 16 ms: a spin would burn the whole wall time
    assert.is_true(cpu < wall / 2, ("%.3f s of CPU over %.3f s\n%s"):format(cpu, wall, out))
  end)

  it("without an adapter, a call straight in love.update blocks its frame in the kernel, never spinning", function()
    sb:config { run_time = 1.5 }
    local code, out, r = play(sb, { HY3D_SPEC_NO_ADAPTER = "1" })
    assert.equal(0, code, out)
    assert.equal("DONE", r.status, out)
    assert.equal("1", r.frames, out)                              -- the job ended within the first frame
    local wall, cpu = tonumber(r.wall), tonumber(r.cpu)
    assert.is_true(tonumber(r.max_update_ms) >= 1000, out)        -- that frame waited for the job
    assert.is_true(cpu < wall / 4, ("%.3f s of CPU over %.3f s\n%s"):format(cpu, wall, out))
  end)
end)
