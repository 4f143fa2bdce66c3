-- Several OS threads, each with its own lua_State, each running a job end to end against
-- hy3d-sandbox at the same time (spec/threads/threads.c: pthreads on liblua5.4).
local sandbox = require "spec.support.sandbox"
local u32 = require("spec.support.binary").u32le
local cjson = require "cjson"

local ROOT = os.getenv("PWD") or "."
local SOURCE = ROOT .. "/spec/threads/threads.c"
local BUILT = ROOT .. "/build/threads"            -- a Makefile-built driver, used when up to date

-- package.path / package.cpath for the driver's 5.4 states: the suite's own when the suite runs
-- on Lua 5.4 (made absolute), else the 5.4 build in ./build that the sandbox uses too.
local function lua54_paths()
  if _VERSION == "Lua 5.4" and not rawget(_G, "jit") then
    return sandbox.absolute(package.path), sandbox.absolute(package.cpath)
  end
  return ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua", ROOT .. "/build/?.so"
end

-- The driver: build/threads when it is newer than its source, else compiled here into a
-- temporary file. Returns its path, or nil and why it cannot be had.
local function driver()
  local q = sandbox.shell_quote
  if sandbox.run(("test -x %s && test %s -nt %s"):format(q(BUILT), q(BUILT), q(SOURCE))) then return BUILT end
  if not sandbox.run("command -v cc") then return nil, "no C compiler (cc)" end
  if not sandbox.run("test -f /usr/include/lua5.4/lua.h") then
    return nil, "the Lua 5.4 headers are missing (/usr/include/lua5.4/lua.h; apt-get install liblua5.4-dev)"
  end
  local bin = os.tmpname()
  local ok, out = sandbox.run(("cc -std=c99 -O2 -Wall -Wextra -I/usr/include/lua5.4 %s -o %s -llua5.4 -lpthread"):format(
    q(SOURCE), q(bin)))
  if not ok then
    os.remove(bin)
    error("spec/threads/threads.c does not compile:\n" .. out)
  end
  assert(out == "", "spec/threads/threads.c compiles with warnings:\n" .. out)
  return bin, nil, true
end

describe("hy3d from two OS threads, a lua_State each", function()
  if not sandbox.run("test -f " .. sandbox.shell_quote(ROOT .. "/build/hy3d/core.so")) then
    pending("build/hy3d/core.so (the Lua 5.4 core the threads load) is missing: run `make`")
    return
  end
  local bin, why, temporary
  setup(function()
    bin, why, temporary = driver()
  end)
  teardown(function()
    if temporary then os.remove(bin) end
  end)

  it("runs a job to the end in each thread at once, with distinct JobIds", function()
    if not bin then
      pending(why)
      return
    end
    local sb = sandbox.start { wait_time = 0.6, run_time = 1.0 }
    local dir = sandbox.tmpdir()
    finally(function()
      sb:stop()
      sandbox.run("rm -rf " .. sandbox.shell_quote(dir))
    end)
    local lua_path, lua_cpath = lua54_paths()
    local q = sandbox.shell_quote
    local _, out, code = sandbox.run(("env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 HY3D_BASE_URL=%s "
      .. "HY3D_API_KEY=%s HY3D_OUT=%s HY3D_LUA_PATH=%s HY3D_CPATH=%s %s 2"):format(
      q(sb.url), q(sb.key), q(dir), q(lua_path), q(lua_cpath), q(bin)))
    assert.equal(0, code, out)

    local jobs = {}
    for n = 1, 2 do
      local id, bytes = out:match("thread " .. n .. ": DONE (%d+) (%d+)\n")
      assert.is_string(id, out)
      local glb = assert(sandbox.read_file(dir .. "/thread-" .. n .. ".glb"), out)
      assert.equal(tonumber(bytes), #glb)
      assert.equal("glTF", glb:sub(1, 4))
      assert.equal(#glb, u32(glb, 9))                 -- the header's total length
      assert.equal("JSON", glb:sub(17, 20))
      local gltf = cjson.decode(glb:sub(21, 20 + u32(glb, 13)))
      assert.equal("2.0", gltf.asset.version)
      jobs[n] = id
    end
    assert.are_not.equal(jobs[1], jobs[2])
    assert.matches("threads: 2/2 ok, overlap [%d.]+ s", out)
    -- both threads were working at the same time: each job takes at least 1.6 s here, so a
    -- thread that started up to 1.3 s after the other still overlaps it by 0.3 s; threads that
    -- ran one after the other overlap by 0
    assert.is_true(tonumber(out:match("overlap ([%d.]+) s")) > 0.3, out)

    -- the sandbox saw one submit per thread, and both jobs are DONE
    local submitted = {}
    for _, r in ipairs(sb:requests("submit")) do submitted[#submitted + 1] = r end
    assert.equal(2, #submitted)
    for _, id in ipairs(jobs) do
      local _, body = sb:raw("POST", "/v1/ai3d/query", { Authorization = sb.key, ["Content-Type"] = "application/json",
        ["Content-Length"] = #cjson.encode { JobId = id } }, cjson.encode { JobId = id })
      assert.equal("DONE", (body.Response or body).Status)
    end
  end)
end)
