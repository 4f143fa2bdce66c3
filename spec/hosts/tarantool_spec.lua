-- Tarantool as hy3d's host (hy3d.use(require "fiber"), lua/hy3d/hosts/tarantool.lua), real tarantool against the sandbox.
-- A real tarantool runs examples/tarantool.lua against hy3d-sandbox: its fibers generate at once
-- while a ticker fiber keeps running; a second script checks what Transport:waiter decides there.
-- Tarantool runs LuaJIT, so it loads the LuaJIT build of hy3d.core (make LUA_VERSION=jit) and
-- Debian's lua-cjson for Lua 5.1. Without tarantool (or that build) every test is pending with the reason.
local sandbox = require "spec.support.sandbox"
local u32 = require("spec.support.binary").u32le

local ROOT = os.getenv("PWD") or "."
local TARANTOOL = os.getenv("HY3D_TARANTOOL") or "tarantool"
local CORE = ROOT .. "/build/luajit/hy3d/core.so"
local JOBS = 5
-- Each job stays WAIT then RUN for these seconds at the sandbox: one job takes at least JOB_S, five
-- in a row at least 5 * JOB_S.
local WAIT_S, RUN_S = 0.5, 1.5
local JOB_S = WAIT_S + RUN_S
local POLL = 0.25
local TICK = 0.05                                   -- examples/tarantool.lua's ticker period

local q = sandbox.shell_quote
-- Tarantool runs without LD_PRELOAD: under `make test-asan` the sanitizer runtimes are preloaded
-- into every child, and tarantool hangs at startup under them (before printing its version). It
-- loads the plain LuaJIT build of hy3d.core (build/luajit) either way, never the sanitizer build.
local UNPRELOAD = "env -u LD_PRELOAD "

-- Why the spec cannot run here, or nil.
local function missing()
  local ok, out = sandbox.run(UNPRELOAD .. "timeout -k 5 30 " .. q(TARANTOOL) .. " --version")
  if not ok or not out:match("^Tarantool ") then
    return ("Tarantool is not installed (`%s --version` failed; apt-get install tarantool, or set HY3D_TARANTOOL)")
      :format(TARANTOOL)
  end
  if not sandbox.exists(CORE) then
    return "build/luajit/hy3d/core.so (the LuaJIT build of hy3d.core, which Tarantool loads) is missing: "
      .. "run `make LUA_VERSION=jit`"
  end
  return nil
end

-- Runs a Lua file under tarantool with the sandbox's credentials and this checkout's modules;
-- returns the exit code and the whole output. LuaJIT reads LUA_PATH/LUA_CPATH: the suite's (maybe
-- 5.4) settings must not leak into it.
local function tarantool(sb, script, args, extra)
  local env = { HY3D_POLL_INTERVAL = POLL }
  for k, v in pairs(extra or {}) do env[k] = v end
  local _, out, code = sandbox.run(sandbox.host_command(sb, env,
    (UNPRELOAD .. "timeout -k 5 120 %s %s %s"):format(q(TARANTOOL), q(script), args or "")))
  return code, out
end

-- The key=value fields of the line that starts with `first`=.
local function fields(out, first)
  local line = out:match("\n(" .. first .. "=[^\n]*)") or out:match("^(" .. first .. "=[^\n]*)")
  local t = {}
  for k, v in (line or ""):gmatch("([%w_]+)=(%S+)") do t[k] = tonumber(v) or v end
  return t, line
end

describe("Tarantool (hy3d.use(require \"fiber\"))", function()
  local why = missing()
  if why then
    pending(why)
    return
  end

  local sb = sandbox.suite { wait_time = WAIT_S, run_time = RUN_S, extra = { "--concurrency", tostring(JOBS) } }

  it("examples/tarantool.lua: five fibers generate at once, the ticker keeps running, the CPU stays idle", function()
    local dir = sandbox.tmpdir()
    finally(function() sandbox.run("rm -rf " .. q(dir)) end)
    local code, out = tarantool(sb, "examples/tarantool.lua", ("%d %d %s"):format(JOBS, JOBS, q(dir)))
    assert.equal(0, code, out)

    -- every job done, its GLB saved whole
    local seen = 0
    for i, job, path, bytes, yieldable in out:gmatch("job (%d+): (%d+) DONE (%S+) (%d+) bytes [^\n]*isyieldable=(%a+)") do
      seen = seen + 1
      assert.equal(("%s/lantern-%s.glb"):format(dir, i), path)
      local glb = assert(sandbox.read_file(path), path .. " was not saved")
      assert.equal("glTF", glb:sub(1, 4))
      assert.equal(#glb, u32(glb, 9))
      assert.equal(#glb, tonumber(bytes))
      assert.matches("^%d+$", job)
      assert.equal("false", yieldable, out)       -- a fiber is no coroutine hy3d could yield: the adapter waits
    end
    assert.equal(JOBS, seen, out)

    local r, line = fields(out, "adapter")
    assert.is_string(line, out)
    assert.equal("tarantool", r.adapter)
    assert.equal(JOBS, r.done, out)
    assert.equal(0, r.failed, out)

    -- concurrent: every job was submitted before any finished (the fibers' own clocks), and the
    -- sandbox saw every submit before the first file download
    assert.equal("true", r.overlapped, out)
    local log, submits, first_file = sb:requests(), 0, nil
    for k, e in ipairs(log) do
      if e.route == "submit" then
        submits = submits + 1
        assert.is_nil(first_file, "a submit came after a download: the jobs ran one after another\n" .. out)
      elseif e.route == "files" and not first_file then
        first_file = k
      end
    end
    assert.equal(JOBS, submits)
    -- the whole run took about one job's time, far from five in a row
    assert.is_true(r.wall >= JOB_S, out)
    assert.is_true(r.wall < 3 * JOB_S, ("%d jobs of %.1f s took %.2f s: they did not run at once\n%s"):format(
      JOBS, JOB_S, r.wall, out))

    -- the host kept serving: the ticker fiber ran all along (a blocked thread stops it for a poll
    -- interval or more)
    assert.is_true(r.ticks >= r.wall / TICK / 4, ("%d ticks in %.2f s (one per %.2f s expected)\n%s"):format(
      r.ticks, r.wall, TICK, out))
    assert.is_true(r.max_gap < JOB_S / 4, ("the ticker stopped for %.3f s\n%s"):format(r.max_gap, out))

    -- no busy loop: the process's CPU time over the jobs is a small part of their wall time (a
    -- fiber that waited with fiber.sleep(0) or fiber.yield() in a loop used ~100% of it here)
    assert.is_true(r.cpu < r.wall / 4, ("%.3f s of CPU in %.3f s\n%s"):format(r.cpu, r.wall, out))
  end)

  it("decides in the waiter: nil before hy3d.use, the adapter's wait in a fiber, an error in a box transaction",
    function()
    local dir = sandbox.tmpdir()
    finally(function() sandbox.run("rm -rf " .. q(dir)) end)
    local script = sandbox.write_file(dir .. "/waiter.lua", [[
package.path = os.getenv("HY3D_LUA_PATH") .. ";" .. package.path
package.cpath = os.getenv("HY3D_CPATH") .. ";" .. package.cpath
local fiber = require "fiber"
local hy3d = require "hy3d"
local client = hy3d.new {}
local tr = client._transport
local out = {}
local ch = fiber.channel(1)
fiber.create(function()
  out[#out + 1] = "before=" .. tostring(tr:waiter())
  out[#out + 1] = "use=" .. tostring(hy3d.use(fiber))
  out[#out + 1] = "fiber=" .. type(tr:waiter())
  out[#out + 1] = "yieldable=" .. tostring(coroutine.isyieldable and coroutine.isyieldable())
  local job = hy3d.assert(client:submit { Prompt = "a fiber" })
  out[#out + 1] = "submitted=" .. tostring(job.JobId ~= nil)
  ch:put(true)
end)
ch:get()
box.cfg { work_dir = os.getenv("WORK"), wal_mode = "none", log = os.getenv("WORK") .. "/tarantool.log" }
box.begin()
local res, err = client:query("1234")
out[#out + 1] = ("txn_res=%s kind=%s code=%s still_in_txn=%s"):format(tostring(res), tostring(err and err.kind),
  tostring(err and err.code), tostring(box.is_in_txn()))
out[#out + 1] = "message=" .. tostring(err and err.message):gsub("%s", "_")
box.rollback()
res, err = client:query("1234")
out[#out + 1] = "after_txn=" .. tostring(err and err.kind) .. "/" .. tostring(err and err.code)
hy3d.use(nil)
out[#out + 1] = "unused=" .. tostring(tr:waiter())
print(table.concat(out, " "))
os.exit(0)
]])
    local code, out = tarantool(sb, script, "", { WORK = dir })
    assert.equal(0, code, out)
    local r = fields(out, "before")
    assert.equal("nil", r.before, out)             -- no adapter: the call would block in curl_multi_poll
    assert.equal("tarantool", r.use, out)
    assert.equal("function", r.fiber, out)         -- the adapter's wait (socket.iowait on the pollfd)
    assert.equal("false", r.yieldable, out)
    assert.equal("true", r.submitted, out)         -- a call made in a fiber went through the adapter
    assert.equal("nil", r.txn_res, out)
    assert.equal("usage", r.kind, out)
    assert.equal("TARANTOOL_IN_TRANSACTION", r.code, out)
    assert.equal("true", r.still_in_txn, out)      -- nothing yielded: the transaction is intact
    assert.matches("box_transaction", r.message, 1, true)
    assert.equal("api/JobNotFound", r.after_txn:gsub("^api/.*JobNotFound$", "api/JobNotFound"), out)
    assert.equal("nil", r.unused, out)
    assert.is_nil(out:find(sb.key, 1, true), "the API key leaked into the output")
  end)
end)
