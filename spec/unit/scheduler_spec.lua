-- hy3d.scheduler: the pump (spawn, update, step, run), callbacks that fail, and the adapters for
-- cqueues, luv and copas, against the sandbox. Version-neutral: it runs on every Lua of the matrix.
local hy3d = require "hy3d"
local core = require "hy3d.core"
local scheduler = require "hy3d.scheduler"
local sandbox = require "spec.support.sandbox"

local now = core.now

local function try_require(name)
  local ok, mod = pcall(require, name)
  if ok then return mod end
  return nil, tostring(mod):match("^[^\n]*")
end

describe("hy3d pump", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.4, extra = { "--concurrency", "pro=0" }, reset = false }
  local client

  setup(function()
    client = sb:client { poll_interval = 0.05 }
  end)

  it("runs spawned jobs concurrently on one thread", function()
    local results, inflight, peak = {}, 0, 0
    for i = 1, 8 do
      hy3d.spawn(function(n)
        local job = assert(client:submit { Prompt = "job " .. n })
        inflight = inflight + 1
        if inflight > peak then peak = inflight end
        results[n] = assert(client:wait(job)).Status
        inflight = inflight - 1
      end, i)
    end
    assert.is_true((hy3d.run()))
    for i = 1, 8 do assert.equal("DONE", results[i]) end
    assert.equal(8, peak)                         -- all eight were at the service at once
  end)

  it("gives back a task's results and reports a task's error without raising", function()
    local good = hy3d.spawn(function(a, b) return a + b, "ok" end, 2, 3)
    local seen
    local saved = scheduler.on_error
    scheduler.on_error = function(task, err) seen = { task, err } end
    local bad = hy3d.spawn(function() error("boom in a task") end)
    local ok, errors = hy3d.run()
    scheduler.on_error = saved
    assert.is_false(ok)
    assert.equal(1, #errors)
    assert.matches("boom in a task", errors[1])
    assert.equal("done", good:status())
    local sum, word = good:result()
    assert.equal(5, sum)
    assert.equal("ok", word)
    assert.equal("failed", bad:status())
    assert.equal(bad, seen[1])
    assert.matches("boom in a task", tostring(bad.error))
    assert.is_nil((bad:result()))
    assert.has_error(function() hy3d.spawn("not a function") end)
  end)

  it("keeps what a failed task raised: the error table itself, the traceback beside it", function()
    local saved = scheduler.on_error
    scheduler.on_error = function(task) return task end
    local err = hy3d.Error.new { kind = "http", code = "invalid_api_key", message = "Incorrect API key provided",
                                 http_status = 401 }
    local raised = hy3d.spawn(function() error(err) end)
    local asserted = hy3d.spawn(function() hy3d.assert(nil, err) end)
    local text = hy3d.spawn(function() error("two\nlines", 0) end)
    local ok, list = hy3d.run()
    scheduler.on_error = saved
    assert.is_false(ok)
    assert.equal(3, #list)
    assert.equal(err, raised.error)                 -- the table, kind and code kept
    assert.equal("invalid_api_key", raised.error.code)
    assert.equal(err, list[1])
    local _, r = raised:result()
    assert.equal(err, r)
    if _VERSION == "Lua 5.1" and not rawget(_G, "jit") then   -- hy3d.assert raises the message there
      assert.matches("Incorrect API key provided", asserted.error)
    else
      assert.equal(err, asserted.error)
      assert.equal(err, list[2])
    end
    assert.equal("two\nlines", text.error)
    assert.equal("two\nlines", list[3])
    for _, t in ipairs { raised, asserted, text } do
      assert.is_string(t.traceback)
      assert.matches("stack traceback", t.traceback)
    end
    assert.matches("Incorrect API key provided", raised.traceback)
  end)

  it("reports a failed task in one line on stderr by default", function()
    local lines, real = {}, io.stderr
    io.stderr = { write = function(_, ...) lines[#lines + 1] = table.concat({ ... }) end }   -- luacheck: ignore 122
    local ok = pcall(function()
      hy3d.spawn(function() error(hy3d.Error.new { kind = "api", code = "FailedOperation.X", message = "no mesh" }) end)
      hy3d.spawn(function() error("first line\nsecond line") end)
      hy3d.run()
    end)
    io.stderr = real                                -- luacheck: ignore 122
    assert.is_true(ok)
    local out = table.concat(lines)
    local n = select(2, out:gsub("\n", "\n"))
    assert.equal(2, n, out)
    assert.matches("hy3d: a spawned task failed: hy3d api error FailedOperation.X: no mesh\n", out, 1, true)
    assert.matches("first line\n", out, 1, true)
    assert.is_nil(out:find("second line", 1, true), out)
    assert.is_nil(out:find("traceback", 1, true), out)
  end)

  it("never blocks in update() while the server stalls", function()
    sb:fault { route = "query", action = "delay", delay = 1.2, count = -1 }
    local finished = 0
    for i = 1, 5 do
      hy3d.spawn(function()
        local job = assert(client:submit { Prompt = "stall " .. i })
        assert(client:wait(job))
        finished = finished + 1
      end)
    end
    local longest, frames, t0 = 0, 0, now()
    local live = 5
    while live > 0 and now() - t0 < 10 do
      local a = now()
      live = client:update()
      local d = now() - a
      if d > longest then longest = d end
      frames = frames + 1
      core.sleep(0.005)
    end
    sb:reset()
    assert.equal(5, finished)
    assert.is_true(frames > 10)
    -- each query stalls 1.2 s on the server; a frame that waited for one would take most of
    -- that (an update costs microseconds, milliseconds under valgrind: the margin is wide)
    assert.is_true(longest < 0.6, "the longest update() took " .. longest .. " s")
  end)

  it("waits in step() without spinning", function()
    local task = hy3d.spawn(function()
      local job = assert(client:submit { Prompt = "slow" })
      return assert(client:wait(job, { interval = 0.3 })).Status
    end)
    local steps, t0 = 0, now()
    while task:status() == "running" do hy3d.step(1); steps = steps + 1 end
    assert.equal("DONE", (task:result()))
    assert.is_true(now() - t0 >= 0.4)             -- the job took half a second of the sandbox's time
    -- a step sleeps until a socket or a timer is due: a few dozen for a submit and a few polls,
    -- where a step that spins would run thousands of times in that half second
    assert.is_true(steps < 100, "step() returned " .. steps .. " times")
  end)

  it("spends at most the budget on resumes in one update and catches up later", function()
    local resumed = 0
    for _ = 1, 50 do
      hy3d.spawn(function()
        local t = now()
        while now() - t < 0.001 do end            -- 1 ms of work per resume
        resumed = resumed + 1
      end)
    end
    hy3d.update(0.005)
    -- each resume takes at least 1 ms, so the 5 ms are spent after 5 of them (6 with rounding)
    assert.is_true(resumed >= 1 and resumed <= 6, resumed .. " resumes in one update")
    assert.is_true((hy3d.run()))
    assert.equal(50, resumed)
  end)

  it("spends at most the budget on woken tasks too, not only on tasks not started yet", function()
    local resumed = 0
    for _ = 1, 50 do
      hy3d.spawn(function()
        coroutine.yield()                         -- a plain yield: due again a millisecond later
        local t = now()
        while now() - t < 0.001 do end            -- 1 ms of work per resume
        resumed = resumed + 1
      end)
    end
    hy3d.update()                                 -- every task started: each waits for its timer
    assert.equal(0, resumed)
    core.sleep(0.005)                             -- all 50 due
    hy3d.update(0.005)
    -- woken tasks: each resume takes at least 1 ms, so the budget is spent after 5 of them (a few
    -- more when the round before them took its half)
    assert.is_true(resumed >= 1 and resumed <= 9, resumed .. " woken tasks resumed in one update")
    assert.is_true((hy3d.run()))
    assert.equal(50, resumed)
  end)

  it("resumes a woken task before it starts the tasks spawned meanwhile", function()
    local order = {}
    hy3d.spawn(function()
      coroutine.yield()                           -- a plain yield: due again a millisecond later
      order[#order + 1] = "woken"
    end)
    hy3d.update()                                 -- started: now it waits for its timer
    for _ = 1, 5 do hy3d.spawn(function() order[#order + 1] = "new" end) end
    core.sleep(0.005)                             -- past its timer
    hy3d.update(0)                                -- a budget of nothing: one resume
    assert.same({ "woken" }, order)
    assert.is_true((hy3d.run()))
    assert.same({ "woken", "new", "new", "new", "new", "new" }, order)
  end)

  it("pauses a task with hy3d.sleep while others go on", function()
    local order = {}
    hy3d.spawn(function() hy3d.sleep(0.2); order[#order + 1] = "slow" end)
    hy3d.spawn(function() hy3d.sleep(0.05); order[#order + 1] = "fast" end)
    assert.is_true((hy3d.run()))
    assert.same({ "fast", "slow" }, order)
    assert.has_error(function() hy3d.sleep(-1) end)
  end)

  -- Replaces the pump's clock with one the test advances by hand (restored when the test ends);
  -- returns a function that sets it. Timers are then checked against the clock the pump reads,
  -- with no wall-clock margin. Drive the pump with update() only: step() would sleep.
  local function fake_clock()
    local t = now()
    scheduler.now = function() return t end
    finally(function() scheduler.now = core.now end)
    return function(v) t = v end
  end

  -- Drives the pump (step: at most 10 ms of real waiting each) until done() is true; fails after
  -- `limit` steps.
  local function drive_until(done, limit)
    local n = 0
    while not done() do
      assert(n < limit, "the pump did not get there in " .. limit .. " steps")
      hy3d.step(0.01)
      n = n + 1
    end
  end

  it("wakes hundreds of sleeping tasks in the order of their wake times, none early, none late", function()
    local set = fake_clock()
    local t0, tick = scheduler.now(), 0.005
    local woke, due_of, woke_at = {}, {}, {}
    local n = 300
    for i = 1, n do
      -- sleeps shuffled against spawn order: 7 is prime to n, so i*7 % n visits every slot
      local d = ((i * 7) % n) / n * 0.3
      hy3d.spawn(function()
        due_of[i] = scheduler.now() + d
        hy3d.sleep(d)
        woke_at[i] = scheduler.now()
        woke[#woke + 1] = i
      end)
    end
    local naps = 0
    hy3d.spawn(function()
      for _ = 1, 20 do hy3d.sleep(0.01); naps = naps + 1 end
    end)
    scheduler.update()                                   -- every task starts and goes to sleep
    assert.equal(0, #woke)
    local k = 0
    while #woke < n or naps < 20 do
      k = k + 1
      assert(k <= 200, "not all woke by " .. k * tick .. " s of pump time")
      local t = t0 + k * tick
      set(t)
      scheduler.update()
      for i = 1, n do                               -- due by now: woken in this very update, else asleep
        if (due_of[i] <= t) ~= (woke_at[i] ~= nil) then
          error(("task %d (due at +%g s) %s at +%g s"):format(i, due_of[i] - t0,
            woke_at[i] and "woke early" or "still sleeps", t - t0))
        end
      end
    end
    assert.equal(20, naps)
    for i = 1, n do assert.is_true(woke_at[i] >= due_of[i], "task " .. i .. " woke early") end
    for j = 2, n do                                 -- in due order, exactly: one clock for all
      assert.is_true(due_of[woke[j - 1]] <= due_of[woke[j]], "woke out of order at " .. j)
    end
  end)

  -- A request to the sandbox with a wake time 1 s away on the pump's clock, which the test holds
  -- still (the task waits for whichever comes first): the answer comes first, so the task's
  -- timer entry stays in the heap, stale.
  local function superseded(i)
    local req = assert(client._transport.engine:request("POST", require("hy3d.doors").gateway.query, { JobId = "stale " .. i }))
    coroutine.yield(scheduler.TOKEN, req, scheduler.now() + 1)
    req:close()
  end

  it("skips stale timer entries: a superseded wake time never wakes its task", function()
    local set = fake_clock()
    local t0, woke, answered = scheduler.now(), {}, 0
    scheduler.update()                                   -- entries older tests left, due by now, go
    local before = scheduler._timers()
    for i = 1, 10 do
      hy3d.spawn(function()
        superseded(i)
        answered = answered + 1
        hy3d.sleep(5)                             -- now sleeps until t0 + 5, not t0 + 1
        woke[i] = scheduler.now()
      end)
    end
    drive_until(function() return answered == 10 end, 1000)   -- the pump's clock stands still meanwhile
    local entries, sleeping = scheduler._timers()
    assert.equal(10, sleeping)
    assert.equal(before + 20, entries)              -- 10 stale entries (t0 + 1) beside the 10 live ones (t0 + 5)
    set(t0 + 1)                                     -- the stale entries come up: skipped, they wake nobody
    scheduler.update()
    assert.same({}, woke)
    assert.equal(10, scheduler.count())
    set(t0 + 5)
    scheduler.update()
    assert.equal(10, #woke)
    for i = 1, 10 do assert.equal(t0 + 5, woke[i]) end
    assert.equal(0, scheduler.count())
  end)

  it("rebuilds the timer heap once stale entries outnumber the sleepers", function()
    local set = fake_clock()
    local t0, rounds, woke = scheduler.now(), 0, nil
    hy3d.spawn(function()
      for i = 1, 200 do superseded(i); rounds = rounds + 1 end
      hy3d.sleep(5)
      woke = scheduler.now()
    end)
    drive_until(function() return rounds == 200 end, 5000)
    scheduler.update()                                   -- the task goes to sleep
    -- 200 entries went stale, one by one, beside at most one sleeper: the heap is rebuilt from
    -- the sleepers whenever it holds more than 2 * sleepers + 64 entries
    local entries, sleeping = scheduler._timers()
    assert.equal(1, sleeping)
    assert.is_true(entries <= 2 * 1 + 64, entries .. " heap entries for one sleeper")
    set(t0 + 5)                                     -- what is left of the stale entries pops and is skipped too
    scheduler.update()
    assert.equal(t0 + 5, woke)
    assert.equal(0, scheduler.count())
  end)

  it("tells an event loop to come back at once while one woken task is left for the next update", function()
    local set = fake_clock()
    local t0 = scheduler.now()
    scheduler.update()                                   -- timer entries older tests left, due by now, go
    local ran = 0
    for _ = 1, 2 do hy3d.spawn(function() hy3d.sleep(1); ran = ran + 1 end) end
    scheduler.update()                                   -- both sleep
    set(t0 + 2)                                          -- both due
    scheduler.update(0)                                  -- a budget of nothing: one resume
    assert.equal(1, ran)
    assert.equal(0, hy3d.timeout(), "one task is ready: no time to sleep")
    scheduler.update()
    assert.equal(2, ran)
  end)

  it("tells an event loop to come back at once while a spawned task waits for its first resume", function()
    local set = fake_clock()
    local t0 = scheduler.now()
    scheduler.update()                                   -- timer entries older tests left, due by now, go
    local woke
    hy3d.spawn(function() hy3d.sleep(60); woke = scheduler.now() end)
    scheduler.update()                                   -- it sleeps: the only timer is 60 s away
    local ran = false
    hy3d.spawn(function() ran = true end)
    assert.equal(0, hy3d.timeout(), "a task is ready: no time to sleep")
    assert.is_false(ran)
    scheduler.update()
    assert.is_true(ran)
    local left = hy3d.timeout()
    assert.is_true(left > 0 and left <= 60, "next work in " .. tostring(left) .. " s")
    set(t0 + 60)
    scheduler.update()
    assert.equal(t0 + 60, woke)
    assert.equal(0, scheduler.count())
  end)

  it("reports an on_status that raises as a callback error, and the job goes on", function()
    local job = assert(client:submit { Prompt = "callback" })
    local _, err = client:wait(job, { on_status = function() error("my callback broke") end })
    assert.equal("callback", err.kind)
    assert.equal(job.JobId, err.job_id)
    assert.matches("my callback broke", err.message)
    assert.equal("DONE", assert(client:wait(job)).Status)
  end)

  it("offers a pollable fd and timeout for event loops", function()
    if not client:pollfd() then
      pending("no epoll on this system: pollfd() is nil")
      return
    end
    assert.is_number(client:pollfd())
    assert.equal("r", client:events())
    local c = hy3d.new { api_key = "sk-closed-client", base_url = "http://127.0.0.1:9" }
    c:close()
    assert.is_nil(c:pollfd())
    assert.is_nil(c:timeout())
  end)
end)

describe("hy3d.use", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.4, extra = { "--concurrency", "pro=0" }, reset = false }

  teardown(function()
    hy3d.use(nil)
  end)

  it("refuses what it does not know", function()
    assert.has_error(function() hy3d.use({}) end)
    assert.has_error(function() hy3d.use("cqueues") end)
    assert.is_nil(hy3d.use(nil))
  end)

  it("runs jobs inside cqueues coroutines, waiting with cqueues.poll", function()
    local cqueues, why = try_require("cqueues")
    if not cqueues then
      pending("lua-cqueues cannot be loaded on " .. _VERSION .. ": " .. why)
      return
    end
    assert.equal("cqueues", hy3d.use(cqueues))
    local client = sb:client { poll_interval = 0.2 }
    local adapter = require("hy3d.scheduler").adapter   -- its waiter's wait: cqueues.poll on the transport
    local waiter, polls = adapter.waiter, 0
    adapter.waiter = function(tr)
      local wait = waiter(tr)
      return wait and function(delay) polls = polls + 1; return wait(delay) end
    end
    local cq = cqueues.new()
    local statuses, ticks = {}, 0
    for i = 1, 3 do
      cq:wrap(function()
        local job = assert(client:submit { Prompt = "cq " .. i })
        statuses[i] = assert(client:wait(job)).Status
      end)
    end
    cq:wrap(function()
      while #statuses < 3 do ticks = ticks + 1; cqueues.sleep(0.05) end
    end)
    assert(cq:loop())
    hy3d.use(nil)
    assert.same({ "DONE", "DONE", "DONE" }, statuses)
    assert.is_true(ticks >= 5)                    -- the loop went on while the jobs ran (0.5 s each)
    -- each poll sleeps until the socket or the timer is due: dozens, where spinning makes thousands
    assert.is_true(polls > 0 and polls < 300, "hy3d polled " .. polls .. " times")
  end)

  it("runs spawned jobs from a luv loop, which returns when they are done", function()
    local uv, why = try_require("luv")
    if not uv then
      pending("lua-luv cannot be loaded on " .. _VERSION .. ": " .. why)
      return
    end
    local client = sb:client { poll_interval = 0.2 }
    assert.equal("luv", hy3d.use(uv))
    local statuses = {}
    for i = 1, 3 do
      hy3d.spawn(function()
        local job = assert(client:submit { Prompt = "uv " .. i })
        statuses[i] = assert(client:wait(job)).Status
      end)
    end
    local pumps, update = 0, scheduler.update     -- the adapter's callbacks run the pump
    scheduler.update = function(...) pumps = pumps + 1; return update(...) end
    finally(function() scheduler.update = update end)
    uv.run()
    hy3d.use(nil)
    assert.same({ "DONE", "DONE", "DONE" }, statuses)
    -- the loop wakes the pump when a socket or timer is due: dozens of times, where a busy loop
    -- makes thousands
    assert.is_true(pumps > 0 and pumps < 300, "the pump ran " .. pumps .. " times")
  end)

  it("works beside copas", function()
    -- copas 1.x must be loaded before socket.http, which this suite loaded long ago: a child does it
    local probe_ok = sandbox.run(("%s %s -e 'require(\"copas\")'"):format(sandbox.lua_env(), sandbox.lua()))
    if not probe_ok then
      pending("lua-copas is not installed for " .. _VERSION .. " (Debian builds it for 5.1 and 5.2)")
      return
    end
    local script = [[
      local copas = require "copas"
      local hy3d = require "hy3d"
      local client = hy3d.new { poll_interval = 0.2 }
      local statuses = {}
      local function job(i)
        local j = assert(client:submit { Prompt = "copas " .. i })
        local status = assert(client:wait(j)).Status
        statuses[#statuses + 1] = status
      end
      if copas.sleep then                       -- copas 2+: hy3d waits inside copas threads
        assert(hy3d.use(copas) == "copas")
        for i = 1, 2 do copas.addthread(job, i) end
        copas.loop()
      else                                      -- copas 1.x: no timers; alternate the loops
        assert(not pcall(hy3d.use, copas))
        for i = 1, 2 do hy3d.spawn(job, i) end
        local live = 2
        while live > 0 do
          copas.step(math.min(hy3d.timeout() or 0.05, 0.05))
          live = hy3d.update()
        end
      end
      io.write(table.concat(statuses, " "), copas.sleep and " (copas 2+)" or " (copas 1.x)")
    ]]
    local ok, out = sandbox.run(("HY3D_API_KEY=%s HY3D_BASE_URL=%s %s %s -e %s"):format(sb.key, sb.url,
      sandbox.lua_env(), sandbox.lua(), sandbox.shell_quote(script)))
    assert.is_true(ok, out)
    assert.matches("^DONE DONE %(copas", out)
  end)
end)
