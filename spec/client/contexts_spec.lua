-- Every public entry point in every calling context a user combines them in: the main thread, a
-- plain coroutine, hy3d.spawn with the client made outside or inside the task, a client shared by
-- two tasks, a LÖVE-style host whose own loop runs in a coroutine, and the module-level default
-- client first used inside a task. Each combination is bounded by a deadline, so a hang fails.
local hy3d = require "hy3d"
local core = require "hy3d.core"
local sandbox = require "spec.support.sandbox"

local unpack = table.unpack or unpack   -- luacheck: ignore 143
local DEADLINE = 30                       -- seconds one combination may take before it counts as a hang

local function pack(...) return { n = select("#", ...), ... } end

describe("every public call in every calling context", function()
  local sb = sandbox.suite { wait_time = 0.02, run_time = 0.05, extra = { "--concurrency", "pro=0,default=0" }, reset = false }
  local client, dir, model, done_id

  local function new_client()
    return hy3d.new { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url,
                      poll_interval = 0.02 }
  end

  setup(function()
    client = new_client()
    dir = sandbox.tmpdir()
    local result = hy3d.assert(client:wait(hy3d.assert(client:submit { Prompt = "a cup" })))
    done_id = result.JobId
    for _, f in ipairs(result.ResultFile3Ds) do
      if f.Type == "GLB" then model = f.Url end
    end
    assert.is_string(model)
  end)

  teardown(function()
    client:close()
  end)

  local serial = 0
  local function fresh(name)
    serial = serial + 1
    return ("%s/%s_%d"):format(dir, name, serial)
  end

  -- Each entry point: fn(c) calls it on client c and returns what it returned; check(...) says
  -- whether that is a success of the documented shape (nil, err fails with the error's text).
  local CALLS = {
    { "submit", function(c) return c:submit { Prompt = "a lamp" } end,
      function(job) return type(job.JobId) == "string" end },
    { "query", function(c) return c:query(done_id) end,
      function(r) return r.Status == "DONE" end },
    { "wait", function(c) return c:wait(hy3d.assert(c:submit { Prompt = "a box" })) end,
      function(r) return r.Status == "DONE" end },
    { "call", function(c) return c:call("Convert3DFormat", { File3D = model, Format = "STL" }) end,
      function(r) return type(r.ResultFile3D) == "string" end },
    { "convert", function(c) return c:convert { File3D = model, Format = "USDZ" } end,
      function(r) return type(r.ResultFile3D) == "string" end },
    { "download", function(c) return c:download(model, fresh("dl") .. ".glb") end,
      function(path, bytes) return sandbox.exists(path) and bytes > 0 end },
    { "download_files", function(c) return c:download_files(done_id, { dir = fresh("files") }) end,
      function(files) return #files == 1 and sandbox.exists(files[1].path) end },
    { "generate", function(c) return c:generate("a barrel", { dir = fresh("gen") }) end,
      function(r) return r.result.Status == "DONE" and sandbox.exists(r.files[1].path) end },
  }

  -- Pumps until every task has ended or the deadline passed; returns false on a hang.
  local function drive(tasks)
    local stop = core.now() + DEADLINE
    while core.now() < stop do
      local running = false
      for _, t in ipairs(tasks) do running = running or t:status() == "running" end
      if not running then return true end
      hy3d.step(0.05)
    end
    return false
  end

  local function task_outcome(t)
    if t:status() == "failed" then return pack(nil, t.error) end
    return pack(t:result())
  end

  -- A task's body that makes its own client, calls fn on it and closes it.
  local function with_own_client(fn)
    local c = new_client()
    local out = pack(fn(c))
    c:close()
    return unpack(out, 1, out.n)
  end

  -- Each context runs fn(c) and returns a list of outcomes (packed return values), or nil and
  -- "hang" when the deadline passed.
  local CONTEXTS = {
    { "the main thread", function(fn) return { pack(fn(client)) } end },
    { "a plain coroutine resumed by the caller", function(fn)
      local co, out = coroutine.create(function() return fn(client) end), nil
      local stop = core.now() + DEADLINE
      while coroutine.status(co) ~= "dead" do
        if core.now() > stop then return nil, "hang" end
        out = pack(coroutine.resume(co))
        if not out[1] then return { pack(nil, out[2]) } end
        if coroutine.status(co) ~= "dead" then core.sleep(0.001) end
      end
      return { pack(unpack(out, 2, out.n)) }
    end },
    { "hy3d.spawn with the client made outside", function(fn)
      local t = hy3d.spawn(fn, client)
      if not drive { t } then return nil, "hang" end
      return { task_outcome(t) }
    end },
    { "hy3d.spawn with the client made inside the task", function(fn)
      local t = hy3d.spawn(with_own_client, fn)
      if not drive { t } then return nil, "hang" end
      return { task_outcome(t) }
    end },
    { "hy3d.spawn with the client made inside the task, pumped by hy3d.update()", function(fn)
      local t = hy3d.spawn(with_own_client, fn)
      local stop = core.now() + DEADLINE
      while t:status() == "running" do
        if core.now() > stop then return nil, "hang" end
        hy3d.update()
        core.sleep(0.001)                        -- a frame
      end
      return { task_outcome(t) }
    end },
    { "a client shared by two tasks", function(fn)
      local a, b = hy3d.spawn(fn, client), hy3d.spawn(fn, client)
      if not drive { a, b } then return nil, "hang" end
      return { task_outcome(a), task_outcome(b) }
    end },
    { "a LÖVE-style host whose loop runs in a coroutine (client made in love.load)", function(fn)
      local task
      local host = coroutine.create(function()
        local c = new_client()                   -- love.load, inside the host's coroutine
        task = hy3d.spawn(fn, c)
        while task:status() == "running" do      -- love.update each frame, then the frame ends
          hy3d.update()
          coroutine.yield()
        end
        c:close()
      end)
      local stop = core.now() + DEADLINE
      while coroutine.status(host) ~= "dead" do
        if core.now() > stop then return nil, "hang" end
        local ok, err = coroutine.resume(host)
        if not ok then return { pack(nil, err) } end
        core.sleep(0.001)                        -- love.timer.sleep between frames
      end
      return { task_outcome(task) }
    end },
  }

  for _, ctx in ipairs(CONTEXTS) do
    for _, call in ipairs(CALLS) do
      local name, fn, check = call[1], call[2], call[3]
      it(("client:%s completes in %s"):format(name, ctx[1]), function()
        local outcomes, hang = ctx[2](fn)
        assert(outcomes, ("client:%s in %s: no answer within %d s (%s)"):format(name, ctx[1], DEADLINE, tostring(hang)))
        for _, out in ipairs(outcomes) do
          assert(out[1] ~= nil, ("client:%s in %s failed: %s"):format(name, ctx[1], tostring(out[2])))
          assert.is_true(check(unpack(out, 1, out.n)))
        end
      end)
    end
  end

  -- The module-level functions make their default client from the environment on first use, so
  -- each runs in a child process whose first hy3d call is inside a task (the README's two
  -- sections combined: hy3d.spawn(function() hy3d.generate("a barrel") end); hy3d.run()).
  local MODULE_CALLS = {
    submit = 'hy3d.submit{ Prompt = "a lamp" }',
    query = 'hy3d.query(JOB)',
    wait = 'hy3d.wait(JOB)',
    call = 'hy3d.call("Convert3DFormat", { File3D = MODEL, Format = "STL" })',
    convert = 'hy3d.convert{ File3D = MODEL, Format = "USDZ" }',
    download = 'hy3d.download(MODEL, DIR .. "/m.glb")',
    download_files = 'hy3d.download_files(JOB, { dir = DIR })',
    generate = 'hy3d.generate("a barrel", { dir = DIR })',
  }
  local ORDER = { "submit", "query", "wait", "call", "convert", "download", "download_files", "generate" }

  local function run_child(code)
    local script = fresh("child") .. ".lua"
    sandbox.write_file(script, code)
    local env = ("HY3D_ENDPOINT=%q TENCENTCLOUD_SECRET_ID=%q TENCENTCLOUD_SECRET_KEY=%q HY3D_API_KEY= HY3D_BASE_URL="):format(
      sb.url, sandbox.secret_id, sandbox.secret_key)
    return sandbox.run(("cd %q && env %s %s timeout %d %s %q 2>&1"):format(
      dir, env, sandbox.lua_env(), DEADLINE, sandbox.lua(), script))
  end

  for _, name in ipairs(ORDER) do
    it(("hy3d.%s completes when the default client is first used inside a task"):format(name), function()
      local out_dir = sandbox.tmpdir()
      local ok, out, code = run_child(([[
        local hy3d = require "hy3d"
        local JOB, MODEL, DIR = %q, %q, %q
        local task = hy3d.spawn(function() return %s end)
        local ran, errs = hy3d.run()
        local v, err = task:result()
        print(ran, v ~= nil, tostring(err), errs and tostring(errs[1]))
      ]]):format(done_id, model, out_dir, MODULE_CALLS[name]))
      assert(ok, ("hy3d.%s inside a task: exit %s (124: hung for %d s): %s"):format(name, tostring(code), DEADLINE, out))
      assert.matches("^true\ttrue\t", out)
    end)
  end

  it("the README's spawn + generate combination returns from hy3d.run on every Lua", function()
    local out_dir = fresh("readme")
    local ok, out, code = run_child(([[
      local hy3d = require "hy3d"
      hy3d.spawn(function()
        local r = hy3d.assert(hy3d.generate("a barrel", { dir = %q }))
        print(r.files[1].path)
      end)
      print(hy3d.run())
    ]]):format(out_dir))
    assert(ok, ("exit %s (124: hung): %s"):format(tostring(code), out))
    assert.matches(out_dir, out, 1, true)
    assert.matches("true\n$", out)
  end)
end)
