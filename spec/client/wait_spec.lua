-- client:wait: polling to DONE/FAIL, deadlines, blocking in the main thread, yielding in coroutines.
local core = require "hy3d.core"
local socket = require "socket"
local sandbox = require "spec.support.sandbox"
local engine = require "spec.support.engine"

-- Resumes a coroutine until it finishes; returns its results, the number of resumes and the
-- longest single resume in seconds.
local function drive(co, ...)
  local resumes, longest, out = 0, 0, nil
  local args = { ... }
  while coroutine.status(co) ~= "dead" do
    local t0 = core.now()
    out = { coroutine.resume(co, (table.unpack or unpack)(args)) }
    longest = math.max(longest, core.now() - t0)
    resumes = resumes + 1
    assert(out[1], out[2])
    args = {}
    socket.sleep(0.002)
  end
  return out, resumes, longest
end

describe("wait", function()
  local sb = sandbox.suite { wait_time = 0.2, run_time = 0.3 }
  local client

  setup(function()
    client = sb:client { poll_interval = 0.05, max_retries = 0 }   -- retries: reliability_spec
  end)

  before_each(function()
    sb:config { wait_time = 0.2, run_time = 0.3 }
  end)

  it("polls to DONE and returns the result files", function()
    -- polls every 50 ms: the first comes right after the submit, well inside the 0.6 s of WAIT,
    -- and several land in the 0.8 s of RUN
    sb:config { wait_time = 0.6, run_time = 0.8 }
    local job = assert(client:submit { Prompt = "a chair" })
    local seen = {}
    local r, err = client:wait(job, { on_status = function(res) seen[#seen + 1] = res.Status end })
    assert.is_nil(err)
    assert.equal("DONE", r.Status)
    assert.equal(2, #r.ResultFile3Ds)
    for _, f in ipairs(r.ResultFile3Ds) do
      assert.is_string(f.Type)
      assert.matches("^http://", f.Url)
    end
    assert.same({ "WAIT", "RUN", "DONE" }, seen)
  end)

  it("returns a job error carrying the job's ErrorCode on FAIL", function()
    sb:fault { action = "fail", code = "InvalidParameter", message = "参数错误。" }
    local job = assert(client:submit { Prompt = "a chair" })
    local r, err = client:wait(job)
    assert.is_nil(r)
    assert.equal("job", err.kind)
    assert.equal("InvalidParameter", err.code)
    assert.equal("参数错误。", err.message)
    assert.equal(job.JobId, err.job_id)
    assert.is_false(err.retryable)
    assert.equal("FAIL", err.result.Status)
  end)

  it("marks a transient job failure as retryable", function()
    sb:fault { action = "fail", code = "FailedOperation.ServerError" }
    local job = assert(client:submit { Prompt = "a chair" })
    local _, err = client:wait(job)
    assert.equal("job", err.kind)
    assert.is_true(err.retryable)
  end)

  it("returns a timeout error that keeps the job id when the deadline passes", function()
    sb:config { run_time = 60 }
    local job = assert(client:submit { Prompt = "a chair" })
    local t0 = core.now()
    local r, err = client:wait(job, { timeout = 0.4, interval = 0.1 })
    assert.is_nil(r)
    assert.equal("timeout", err.kind)
    assert.equal(job.JobId, err.job_id)
    assert.matches(job.JobId, tostring(err))
    assert.is_true(core.now() - t0 >= 0.4)
    -- the job goes on: it can be queried afterwards
    assert.equal("RUN", assert(client:query(job)).Status)
  end)

  it("cuts a poll short at the deadline instead of waiting for a slow answer", function()
    sb:config { run_time = 60 }
    local job = assert(client:submit { Prompt = "a chair" })
    sb:fault { route = "query", action = "delay", delay = 5, count = -1 }
    local t0 = core.now()
    local r, err = client:wait(job, { timeout = 0.5, interval = 0.1 })
    assert.is_nil(r)
    assert.equal("timeout", err.kind)
    assert.equal(job.JobId, err.job_id)
    assert.is_true(core.now() - t0 < 4, "wait outlived its deadline by a whole slow answer")
  end)

  it("ends with a timeout at once when a Retry-After would outlast its deadline", function()
    local c = sb:client { poll_interval = 0.05, max_retries = 3, retry_max = 200 }   -- only the deadline stops it
    local job = assert(c:submit { Prompt = "a chair" })
    sb:fault { route = "query", action = "status", status = 429, retry_after = 100, count = -1 }
    local t0 = core.now()
    local r, err = c:wait(job, { timeout = 1, interval = 0.05 })
    assert.is_nil(r)
    assert.equal("timeout", err.kind)
    assert.equal("WAIT_TIMEOUT", err.code)
    assert.equal(job.JobId, err.job_id)
    assert.equal(429, err.cause.http_status)
    assert.equal(100, err.cause.retry_after)
    assert.matches("HTTP 429", err.message)
    assert.equal(1, #sb:requests("query"))          -- no second try: it would start after the deadline
    assert.is_true(core.now() - t0 < 30, "wait slept through the server's Retry-After")
    c:close()
  end)

  it("keeps the job id on a failed poll", function()
    local job = assert(client:submit { Prompt = "a chair" })
    sb:fault { route = "query", action = "status", status = 503 }
    local r, err = client:wait(job)
    assert.is_nil(r)
    assert.equal("http", err.kind)
    assert.equal(503, err.http_status)
    assert.equal(job.JobId, err.job_id)
  end)

  it("resumes a job from its JobId alone, as a later process would", function()
    local job = assert(client:submit { Prompt = "a chair" })
    local other = sb:client()
    local r = assert(other:wait(job.JobId, { interval = 0.05 }))
    assert.equal("DONE", r.Status)
    other:close()
  end)

  it("raises on bad options", function()
    assert.has_error(function() client:wait("1", { intreval = 1 }) end)
    assert.has_error(function() client:wait("1", { interval = -1 }) end, "hy3d wait: interval must be >= 0")
    assert.has_error(function() client:wait("1", { on_status = "print" }) end)
  end)

  for _, loop in ipairs { "the engine", "Lua" } do
    it(("sleeps between polls in the main thread instead of spinning (polled by %s)"):format(loop), function()
      if loop == "Lua" then                           -- a door with no poll data: client:wait's own loop
        local gateway = require("hy3d.doors").gateway
        local poll = gateway.poll
        gateway.poll = nil
        finally(function() gateway.poll = poll end)
      end
      sb:config { wait_time = 0.5, run_time = 1.0 }
      local job = assert(client:submit { Prompt = "a chair" })
      -- count the engine's waits: a wait that sleeps in libcurl calls them a few times per poll,
      -- one that spins calls them as fast as it can (100,000+ times in these 1.5 s)
      local counted = engine.count_calls(finally, "step", "wait")
      local wall0 = core.now()
      assert(client:wait(job, { interval = 0.3 }))
      local calls = counted.step + counted.wait
      local wall = core.now() - wall0
      assert.is_true(wall >= 1.4, "waited " .. wall)
      assert.is_true(calls > 0 and calls < 200, "the engine was stepped " .. calls .. " times")
    end)
  end

  describe("inside a coroutine hy3d did not spawn", function()
    it("blocks in the kernel without the yield option: a host that resumes at once never makes it spin", function()
      sb:config { run_time = 1.5 }
      local job = assert(client:submit { Prompt = "a chair" })
      local co = coroutine.create(function() return client:wait(job) end)
      local wall0, cpu0 = core.now(), os.clock()
      local ok, res = coroutine.resume(co)      -- one resume: it never yielded to this resumer
      local wall, cpu = core.now() - wall0, os.clock() - cpu0
      assert.is_true(ok, tostring(res))
      assert.equal("dead", coroutine.status(co))
      assert.equal("DONE", res.Status)
      assert.is_true(wall >= 1, "waited " .. wall)
      -- slept in curl_multi_poll: a yield-and-resume loop would burn the whole wall time
      assert.is_true(cpu < wall / 4, ("%.3f s of CPU over %.3f s"):format(cpu, wall))
    end)

    -- LÖVE 11's shape: the whole main loop is one coroutine, resumed again the moment it yields
    local function host_loop(frame)
      local co = coroutine.create(function()
        local n = 0
        while true do
          n = n + 1
          if frame(n) then return n end
          coroutine.yield()                        -- the end of a frame
        end
      end)
      local resumes = 0
      while coroutine.status(co) ~= "dead" do
        resumes = resumes + 1
        local ok, err = coroutine.resume(co)     -- at once, no sleep: a yielding call would spin here
        assert(ok, err)
      end
      return resumes
    end

    it("blocks the frame of a host loop that resumes at once (LÖVE's), one resume a frame, the CPU bounded", function()
      sb:config { run_time = 1.5 }
      local job = assert(client:submit { Prompt = "a chair" })
      local res
      local wall0, cpu0 = core.now(), os.clock()
      local resumes = host_loop(function(n)
        if n == 2 then res = client:wait(job) end  -- straight in a frame, as in love.update
        return n == 3
      end)
      local wall, cpu = core.now() - wall0, os.clock() - cpu0
      assert.equal("DONE", res.Status)
      assert.equal(3, resumes)                     -- the call never yielded to the host
      assert.is_true(wall >= 1, "waited " .. wall)
      assert.is_true(cpu < wall / 4, ("%.3f s of CPU over %.3f s"):format(cpu, wall))
    end)

    it("with hy3d.use(love) the same call returns WOULD_BLOCK_FRAME at once and sends nothing", function()
      local hy3d = require "hy3d"
      finally(function() hy3d.use(nil) end)
      assert.equal("love", hy3d.use { getVersion = function() return 11, 4, 0, "Mysterious Mysteries" end, timer = {} })
      local before = #sb:requests("submit")
      local res, err
      local resumes = host_loop(function(n)
        if n == 1 then res, err = client:submit { Prompt = "a chair" } end
        return n == 2
      end)
      assert.equal(2, resumes)
      assert.is_nil(res)
      assert.equal("usage", err.kind)
      assert.equal("WOULD_BLOCK_FRAME", err.code)
      assert.matches("hy3d.spawn", err.message, 1, true)
      assert.equal(before, #sb:requests("submit"))
      local _, qerr = client:query("1")            -- outside a coroutine (a love.thread, a script): a plain call
      assert.equal("FailedOperation.JobNotFound", qerr.code)
    end)
  end)

  describe("inside a coroutine, with yield = coroutine.yield", function()
    local yclient
    before_each(function() yclient = sb:client { poll_interval = 0.05, max_retries = 0, yield = coroutine.yield } end)
    after_each(function() yclient:close() end)

    it("yields more than once, with the seconds until hy3d wants control back, and completes", function()
      local job = assert(yclient:submit { Prompt = "a chair" })
      local co = coroutine.create(function() return yclient:wait(job) end)
      local first = { coroutine.resume(co) }
      assert.is_true(first[1])
      assert.is_true(#first == 2 and type(first[2]) == "number", "yielded " .. tostring(first[2]))
      local out, resumes = drive(co)
      assert.is_true(resumes > 1)
      assert.equal("DONE", out[2].Status)
    end)

    it("never blocks a resume, even when the service answers slowly", function()
      sb:config { run_time = 2 }
      local job = assert(yclient:submit { Prompt = "a chair" })
      sb:fault { route = "query", action = "delay", delay = 1.5, count = 2 }
      local co = coroutine.create(function() return yclient:wait(job) end)
      local t0 = core.now()
      local out, resumes, longest = drive(co)
      assert.equal("DONE", out[2].Status)
      assert.is_true(core.now() - t0 >= 3, "two slow answers were waited for")
      assert.is_true(resumes > 10)
      assert.is_true(longest < 0.5, ("a resume took %.3f s"):format(longest))
    end)

    it("yields through the client's yield option when one is given", function()
      local hints = {}
      local c = sb:client { poll_interval = 0.05,
                           yield = function(delay) hints[#hints + 1] = delay; coroutine.yield("custom") end }
      local co = coroutine.create(function() return c:wait(assert(c:submit { Prompt = "a chair" })) end)
      local ok, what = coroutine.resume(co)
      assert.is_true(ok)
      assert.equal("custom", what)
      local out = drive(co)
      assert.equal("DONE", out[2].Status)
      assert.is_true(#hints > 1)
      for _, d in ipairs(hints) do assert.is_true(d == nil or type(d) == "number") end
      c:close()
    end)

    it("runs several jobs concurrently from one thread", function()
      local cos, results, events = {}, {}, {}
      for i = 1, 3 do
        cos[i] = coroutine.create(function()
          local job = assert(yclient:submit { Prompt = "chair " .. i })
          events[#events + 1] = "submitted"
          results[i] = assert(yclient:wait(job))
          events[#events + 1] = "done"
        end)
      end
      local live = 3
      while live > 0 do
        live = 0
        for _, co in ipairs(cos) do
          if coroutine.status(co) ~= "dead" then
            assert(coroutine.resume(co))
            live = live + 1
          end
        end
        socket.sleep(0.005)
      end
      for i = 1, 3 do assert.equal("DONE", results[i].Status) end
      -- all three were in flight together: every submit came before the first job finished
      assert.same({ "submitted", "submitted", "submitted", "done", "done", "done" }, events)
    end)
  end)
end)
