-- client:wait polled by the engine (engine:poll): the server sees every poll, Lua runs only when
-- the status leaves WAIT/RUN (or changes, for on_status), an error comes, the deadline passes or
-- the client closes. Counted with the sandbox's request log and the Lua calls into the engine.
local core = require "hy3d.core"
local hy3d = require "hy3d"
local sandbox = require "spec.support.sandbox"
local engine = require "spec.support.engine"

-- The Lua-level sends (engine:request and engine:poll) of every engine until the test ends.
local function count_sends() return engine.count_calls(finally, "request", "poll") end

describe("wait polled by the engine", function()
  local sb = sandbox.suite { wait_time = 1, run_time = 1 }

  -- Pumps the tasks until cond() holds (the sandbox is asked between steps); fails past 10 s.
  local function pump_until(cond, what)
    local t0 = core.now()
    while not cond() do
      hy3d.step(0.01)
      assert(core.now() - t0 < 10, "never: " .. what)
    end
  end
  local function queries() return #sb:requests("query") end

  before_each(function()
    sb:config { wait_time = 1, run_time = 1 }
    sb:freeze()                                     -- jobs stay in their phase until advance()
  end)

  it("runs Lua once for a wait of many polls, the server seeing each", function()
    local c = sb:client { poll_interval = 0.01, max_retries = 0 }
    local job = assert(c:submit { Prompt = "a chair" })
    local sends = count_sends()
    local task = hy3d.spawn(function() return c:wait(job) end)
    pump_until(function() return queries() >= 6 end, "6 queries in WAIT")
    sb:advance(1)                                   -- RUN
    local seen = queries()
    pump_until(function() return queries() >= seen + 6 end, "6 more queries in RUN")
    sb:advance(1)                                   -- DONE
    pump_until(function() return task:status() ~= "running" end, "the wait to end")
    local r = task:result()
    assert.equal("DONE", r.Status)
    assert.same({ request = 0, poll = 1 }, sends)
    assert.is_true(queries() >= 13, "the server saw " .. queries() .. " queries")
  end)

  it("wakes Lua on each status change for on_status (WAIT, RUN, DONE), not on each poll", function()
    local c = sb:client { poll_interval = 0.01, max_retries = 0 }
    local job = assert(c:submit { Prompt = "a chair" })
    local sends, seen = count_sends(), {}
    local task = hy3d.spawn(function()
      return c:wait(job, { on_status = function(res) seen[#seen + 1] = res.Status end })
    end)
    pump_until(function() return queries() >= 6 end, "6 queries in WAIT")
    sb:advance(1)
    local n = queries()
    pump_until(function() return queries() >= n + 6 end, "6 more queries in RUN")
    sb:advance(1)
    pump_until(function() return task:status() ~= "running" end, "the wait to end")
    assert.equal("DONE", task:result().Status)
    assert.same({ "WAIT", "RUN", "DONE" }, seen)
    assert.same({ request = 0, poll = 3 }, sends)
    assert.is_true(queries() >= 13, "the server saw " .. queries() .. " queries")
  end)

  it("signs each of its API 3.0 polls anew, at the time it is sent", function()
    local c = hy3d.new { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url,
                         allow_http = true, poll_interval = 0.05, max_retries = 0 }
    finally(function() c:close() end)
    local job = assert(c:submit { Prompt = "a chair" })
    local sends = count_sends()
    local task = hy3d.spawn(function() return c:wait(job) end)
    local stamps = {}
    local function two_stamps()                     -- polls signed in two different seconds
      stamps = {}
      for _, r in ipairs(sb:requests("api")) do
        if r.headers["x-tc-action"]:match("^Query") then stamps[r.headers["x-tc-timestamp"]] = r.status end
      end
      local n = 0
      for _ in pairs(stamps) do n = n + 1 end
      return n >= 2
    end
    pump_until(two_stamps, "polls signed in two seconds")
    for stamp, status in pairs(stamps) do assert.equal(200, status, "the poll signed at " .. stamp) end
    sb:advance(2)
    pump_until(function() return task:status() ~= "running" end, "the wait to end")
    assert.equal("DONE", (task:result()).Status)
    assert.same({ request = 0, poll = 1 }, sends)
  end)

  it("polls an MPS task in the engine too, on_status seeing each of its statuses once", function()
    local c = hy3d.new { door = "mps", secret_id = sandbox.secret_id, secret_key = sandbox.secret_key,
                         endpoint = sb.url, allow_http = true, poll_interval = 0.01, max_retries = 0 }
    finally(function() c:close() end)
    local job = assert(c:submit { Prompt = "a chair" })
    local sends, seen = count_sends(), {}
    local task = hy3d.spawn(function()
      return c:wait(job, { on_status = function(res) seen[#seen + 1] = res.Status end })
    end)
    local function polls() return #sb:requests("mps") - 1 end   -- the submit's request too
    pump_until(function() return polls() >= 6 end, "6 queries in WAIT")
    sb:advance(1)
    local n = polls()
    pump_until(function() return polls() >= n + 6 end, "6 more queries in RUN")
    sb:advance(1)
    pump_until(function() return task:status() ~= "running" end, "the wait to end")
    assert.equal("DONE", (task:result()).Status)
    assert.same({ "WAIT", "RUN", "DONE" }, seen)
    assert.same({ request = 0, poll = 3 }, sends)
  end)

  it("returns the job error on FAIL, blocking in the main thread", function()
    sb:clock { freeze = false }
    sb:config { wait_time = 0.1, run_time = 0.1 }
    sb:fault { action = "fail", code = "InvalidParameter", message = "bad" }
    local c = sb:client { poll_interval = 0.01, max_retries = 0 }
    local job = assert(c:submit { Prompt = "a chair" })
    local r, err = c:wait(job)
    assert.is_nil(r)
    assert.equal("job", err.kind)
    assert.equal("InvalidParameter", err.code)
    assert.equal(job.JobId, err.job_id)
  end)

  for _, fault in ipairs { { action = "status", status = 503 }, { action = "close" } } do
    it("takes a " .. fault.action .. " fault mid-poll to Lua, which retries and lets the engine poll again", function()
      local c = sb:client { poll_interval = 0.01, max_retries = 3, retry_base = 0.01 }
      local job = assert(c:submit { Prompt = "a chair" })
      local sends = count_sends()
      local task = hy3d.spawn(function() return c:wait(job) end)
      pump_until(function() return queries() >= 3 end, "3 queries")
      sb:fault { route = "query", action = fault.action, status = fault.status }
      pump_until(function() return sb:stats().faults_fired >= 1 end, "the fault")
      local n = queries()
      pump_until(function() return queries() >= n + 3 end, "3 queries after the fault")
      sb:advance(2)
      pump_until(function() return task:status() ~= "running" end, "the wait to end")
      assert.equal("DONE", (task:result()).Status)
      assert.equal(0, sends.request)
      -- a 503 surfaces and is retried (a second poll); a dropped keep-alive connection libcurl
      -- may send again itself, unseen by Lua
      if fault.action == "status" then assert.equal(2, sends.poll) else assert.is_true(sends.poll <= 2) end
    end)
  end

  -- a 200 answer whose envelope holds an API error surfaces, whatever status it carries beside it
  it("takes an API error beside a running status to Lua, not polled again silently", function()
    local c = sb:client { poll_interval = 0.01, max_retries = 0 }
    local job = assert(c:submit { Prompt = "a chair" })
    local task = hy3d.spawn(function() return c:wait(job) end)
    pump_until(function() return queries() >= 3 end, "3 queries")
    sb:fault { route = "query", action = "status", status = 200, content_type = "application/json",
               body = '{"Response":{"Status":"RUN","RequestId":"r-1",'
                 .. '"Error":{"Code":"FailedOperation.Hiccup","Message":"not now"}}}' }
    pump_until(function() return task:status() ~= "running" end, "the wait to end")
    local r, err = task:result()
    assert.is_nil(r)
    assert.is_table(err)
    assert.equal("FailedOperation.Hiccup", err.code)
  end)

  it("keeps each job's polls on its own interval: 30 jobs end, none starved by a slower one, close ends the rest", function()
    sb:config { concurrency = { pro = 0 } }
    local c = sb:client { max_retries = 0 }
    local jobs, tasks = {}, {}
    for i = 1, 30 do jobs[i] = assert(c:submit { Prompt = "chair " .. i }) end
    local sends = count_sends()
    local function slow(i) return i % 3 == 0 end   -- polled every 60 s: armed the whole test
    for i = 1, 30 do
      local interval = slow(i) and 60 or i % 3 == 1 and 0.01 or 0.03
      tasks[i] = hy3d.spawn(function() return c:wait(jobs[i], { interval = interval }) end)
    end
    pump_until(function() return queries() >= 100 end, "the fast jobs polled again and again")
    sb:advance(2)                                   -- every job DONE at the service
    pump_until(function()
      for i = 1, 30 do
        if not slow(i) and tasks[i]:status() == "running" then return false end
      end
      return true
    end, "the 20 fast jobs to end")
    for i = 1, 30 do
      if slow(i) then
        assert.equal("running", tasks[i]:status(), "job " .. i .. " is not due for a minute")
      else
        assert.equal("DONE", (tasks[i]:result()).Status, "job " .. i)
      end
    end
    assert.same({ request = 0, poll = 30 }, sends)  -- Lua sent each wait once; the engine did the rest
    c:close()                                       -- the 10 slow ones, armed across the timer heap
    pump_until(function()
      for i = 3, 30, 3 do
        if tasks[i]:status() == "running" then return false end
      end
      return true
    end, "the slow jobs to end")
    for i = 3, 30, 3 do
      local r, err = tasks[i]:result()
      assert.is_nil(r)
      assert.equal("CANCELLED", err.code, "job " .. i)
    end
  end)

  it("times out with WAIT_TIMEOUT and the last status, Lua having run once", function()
    local c = sb:client { poll_interval = 0.01, max_retries = 0 }
    local job = assert(c:submit { Prompt = "a chair" })
    local sends = count_sends()
    local r, err = c:wait(job, { timeout = 0.3 })
    assert.is_nil(r)
    assert.equal("timeout", err.kind)
    assert.equal("WAIT_TIMEOUT", err.code)
    assert.equal("WAIT", err.status)
    assert.same({ request = 0, poll = 1 }, sends)
    assert.is_true(queries() > 1, "the server saw " .. queries() .. " queries")
  end)

  it("ends with an error, no crash, when another task closes the client mid-poll", function()
    local c = sb:client { poll_interval = 0.01, max_retries = 0 }
    local job = assert(c:submit { Prompt = "a chair" })
    local task = hy3d.spawn(function() return c:wait(job) end)
    pump_until(function() return queries() >= 3 end, "3 queries")
    local closer = hy3d.spawn(function() return c:close() end)
    pump_until(function() return task:status() ~= "running" and closer:status() ~= "running" end, "both tasks to end")
    local r, err = task:result()
    assert.is_nil(r)
    assert.is_table(err)
    assert.equal("network", err.kind)
    assert.equal("CANCELLED", err.code)
    local n = queries()
    hy3d.step(0.05)
    assert.equal(n, queries())                      -- nothing polls a closed client
  end)
end)
