-- Neovim as hy3d's host (hy3d.use(vim.loop), the luv adapter): a real nvim --headless runs examples/neovim.lua.
-- The job runs on the editor's own libuv loop while a Vim timer keeps editing a buffer and RPC
-- clients (nvim --server ... --remote-expr) get answers. Neovim runs LuaJIT, so it loads the
-- LuaJIT build of hy3d.core (make LUA_VERSION=jit) and Debian's lua-cjson for Lua 5.1. Without nvim
-- (or that build) every test is pending with the reason.
local sandbox = require "spec.support.sandbox"
local socket = require "socket"
local u32 = require("spec.support.binary").u32le

local ROOT = os.getenv("PWD") or "."
local NVIM = os.getenv("HY3D_NVIM") or "nvim"
local CORE = ROOT .. "/build/luajit/hy3d/core.so"
-- The job stays WAIT then RUN for these seconds at the sandbox: long enough for several RPC calls.
local WAIT_S, RUN_S = 0.5, 2.5
local JOB_S = WAIT_S + RUN_S
local POLL = 0.25
local TICK = 0.05                                   -- examples/neovim.lua's Vim timer period

local q = sandbox.shell_quote

-- Why the spec cannot run here, or nil.
local function missing()
  local ok, out = sandbox.run(q(NVIM) .. " --version")
  if not ok or not out:match("^NVIM v") then
    return ("Neovim is not installed (`%s --version` failed; apt-get install neovim, or set HY3D_NVIM)"):format(NVIM)
  end
  if not out:match("LuaJIT") then
    return "this Neovim is not built with LuaJIT (hy3d's LuaJIT core cannot load): " .. (out:match("[^\n]*") or "?")
  end
  if not sandbox.exists(CORE) then
    return "build/luajit/hy3d/core.so (the LuaJIT build of hy3d.core, which Neovim loads) is missing: "
      .. "run `make LUA_VERSION=jit`"
  end
  return nil
end

-- The shell line that runs the example in a headless editor with the sandbox's credentials and
-- this checkout's modules (LuaJIT reads LUA_PATH/LUA_CPATH: the suite's must not leak into it).
local function command(sb, dir, extra, listen)
  local env = { HY3D_POLL_INTERVAL = POLL, HY3D_OUT = dir }
  for k, v in pairs(extra or {}) do env[k] = v end
  return sandbox.host_command(sb, env, ("timeout -k 5 120 %s --headless --clean %s -c %s"):format(
    q(NVIM), listen and ("--listen " .. q(listen)) or "", q("luafile examples/neovim.lua")))
end

-- The key=value fields of the example's result line.
local function fields(out)
  local line = out:match("(adapter=[^\n]*)")
  local t = {}
  for k, v in (line or ""):gmatch("([%w_]+)=(%S+)") do t[k] = k ~= "job" and tonumber(v) or v end   -- a JobId stays text
  t.error = line and line:match(" error=(.*)$")
  return t, line
end

describe("Neovim (hy3d.use(vim.loop))", function()
  local why = missing()
  if why then
    pending(why)
    return
  end

  local sb = sandbox.suite { wait_time = WAIT_S, run_time = RUN_S }

  it("examples/neovim.lua: the job runs on the editor's loop while timers and RPC requests are served", function()
    local dir = sandbox.tmpdir()
    local addr, log, rc = dir .. "/nvim.sock", dir .. "/nvim.out", dir .. "/nvim.rc"
    finally(function() sandbox.run("rm -rf " .. q(dir)) end)
    -- the editor in the background (its output to a file, so this pipe is not held open)
    assert(sandbox.run(("( %s; echo $? > %s ) > %s 2>&1 < /dev/null &"):format(command(sb, dir, nil, addr), q(rc), q(log))))

    -- meanwhile, an RPC client asks the editor how far the job is, over and over, until it exits
    local answers, during = {}, 0
    local deadline = socket.gettime() + 120
    while not sandbox.exists(rc) and socket.gettime() < deadline do
      if sandbox.run("test -S " .. q(addr)) then     -- the editor listens (a socket: io.open cannot tell)
        local ok, out = sandbox.run(("timeout 10 %s --clean --headless --server %s --remote-expr g:hy3d_status"):format(
          q(NVIM), q(addr)))
        local status = ok and out:match("^(%a+)$")
        if status then
          answers[#answers + 1] = status
          if status == "starting" or status == "WAIT" or status == "RUN" then during = during + 1 end
        end
      end
      socket.sleep(0.1)
    end
    local out = sandbox.read_file(log) or ""
    assert.equal("0", (sandbox.read_file(rc) or "?"):match("%d+"), out)

    local r, line = fields(out)
    assert.is_string(line, out)
    assert.equal("luv", r.adapter)                   -- vim.loop is luv: hy3d.use took the luv path
    assert.equal("saved", r.status, out)
    assert.matches("^%d+$", r.job, out)
    assert.equal(dir .. "/lantern.glb", r.file)
    local glb = assert(sandbox.read_file(r.file), "the GLB was not saved")
    assert.equal("glTF", glb:sub(1, 4))
    assert.equal(#glb, u32(glb, 9))
    assert.equal(#glb, r.bytes)
    assert.is_true(r.wall >= JOB_S, out)

    -- the editor stayed responsive: RPC requests were answered while the job ran, and the Vim timer
    -- kept editing the buffer (a loop blocked in hy3d stops it for a poll interval or more)
    assert.is_true(during >= 2, ("%d RPC answers while the job ran (all: %s)\n%s"):format(during,
      table.concat(answers, ","), out))
    assert.is_true(r.ticks_in_job >= r.wall / TICK / 4, ("%d timer ticks in %.2f s\n%s"):format(r.ticks_in_job,
      r.wall, out))
    assert.is_true(r.max_gap_ms < JOB_S * 1000 / 4, ("the timer stopped for %.0f ms\n%s"):format(r.max_gap_ms, out))
    assert.matches("^tick_%d+:_", r.buffer, out)

    -- no busy loop: the editor's CPU time over the job is a small part of its wall time
    assert.is_true(r.cpu < r.wall / 4, ("%.3f s of CPU in %.3f s\n%s"):format(r.cpu, r.wall, out))
    assert.equal(1, #sb:requests("submit"))
  end)

  it("exits 1 with the error on its result line when the key is wrong, and never shows the key", function()
    local dir = sandbox.tmpdir()
    finally(function() sandbox.run("rm -rf " .. q(dir)) end)
    local key = "sk-wrong-0123456789"
    local _, out, code = sandbox.run(command(sb, dir, { HY3D_API_KEY = key }))
    assert.equal(1, code, out)
    local r = fields(out)
    assert.equal("failed", r.status, out)
    assert.matches("HTTP 401", r.error, 1, true)
    assert.is_nil(out:find(key, 1, true), "the API key leaked into the output")
  end)
end)
