-- hy3d.hosts.ngx and hy3d.use(ngx) with a stand-in for ngx_lua's ngx table (phases and sleeps recorded):
-- the waits' pacing, the phases that may yield and those that refuse, the pump's waits, bad options.
-- The real nginx is spec/hosts/openresty_spec.lua's.
local hy3d = require "hy3d"
local hosts_ngx = require "hy3d.hosts.ngx"
local scheduler = require "hy3d.scheduler"
local sandbox = require "spec.support.sandbox"

-- A fake ngx: get_phase answers `phase`, sleep records its argument and sleeps that long for real
-- (so the pump's loops advance in time, as under nginx).
local function fake_ngx(phase)
  local n = { phase = phase, slept = {} }
  n.get_phase = function() return n.phase end
  n.sleep = function(s)
    n.slept[#n.slept + 1] = s
    require("hy3d.core").sleep(s)
  end
  n.say = function() end
  return n
end

describe("hy3d.hosts.ngx", function()
  after_each(function() hy3d.use(nil) end)

  it("paces a wait by the delay hint, at most max_wait and at least 1 ms", function()
    assert.equal(0.004, hosts_ngx.pace(0.004, 0.01))
    assert.equal(0.01, hosts_ngx.pace(5, 0.01))
    assert.equal(0.01, hosts_ngx.pace(nil, 0.01))          -- no hint: the cap
    assert.equal(0.001, hosts_ngx.pace(0, 0.01))           -- never 0: always through nginx's event loop
    assert.equal(0.001, hosts_ngx.pace(-1, 0.01))
    assert.equal(0.01, hosts_ngx.pace(0 / 0, 0.01))
  end)

  it("is what hy3d.use installs for a table with ngx_lua's get_phase, sleep and say", function()
    assert.equal("ngx", hy3d.use(fake_ngx("content")))
    assert.equal("ngx", scheduler.adapter.name)
    assert.equal(hosts_ngx.MAX_WAIT, scheduler.adapter.max_wait)
    assert.equal("ngx", hy3d.use(fake_ngx("content"), { max_wait = 0.02 }))
    assert.equal(0.02, scheduler.adapter.max_wait)
    assert.is_false(hosts_ngx.detect({ sleep = function() end }))
  end)

  it("waits with ngx.sleep in every phase ngx_lua lets yield", function()
    local n = fake_ngx("content")
    hy3d.use(n, { max_wait = 0.02 })
    for phase in pairs(hosts_ngx.YIELDING) do
      n.phase = phase
      local w = scheduler.adapter.waiter()
      assert.is_function(w, phase)
      w(0.5)
    end
    local count = 0
    for _ in pairs(hosts_ngx.YIELDING) do count = count + 1 end
    assert.equal(count, #n.slept)
    for _, s in ipairs(n.slept) do assert.equal(0.02, s) end
  end)

  for _, phase in ipairs { "init", "init_worker", "set", "header_filter", "body_filter", "log", "balancer",
                           "exit_worker", "ssl_session_store" } do
    it(("refuses to wait in the %s phase: false and a usage error naming it"):format(phase), function()
      hy3d.use(fake_ngx(phase))
      local w, err = scheduler.adapter.waiter()
      assert.is_false(w)
      assert.equal("usage", err.kind)
      assert.equal("PHASE_CANNOT_YIELD", err.code)
      assert.equal(phase, err.phase)
      assert.matches("ngx_lua's " .. phase .. " phase cannot yield", err.message, 1, true)
      assert.matches("will not block the nginx worker: ", err.message, 1, true)
      if phase ~= "exit_worker" then assert.matches("ngx.timer.at", err.message, 1, true) end
    end)
  end

  describe("with a client", function()
    local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2 }

    it("returns PHASE_CANNOT_YIELD from a call in a phase that cannot yield, sending nothing", function()
      local c = sb:client { max_retries = 3 }
      local n = fake_ngx("log")
      hy3d.use(n)
      local res, err = c:submit { Prompt = "a chair" }
      assert.is_nil(res)
      assert.equal("usage", err.kind)
      assert.equal("PHASE_CANNOT_YIELD", err.code)
      assert.equal(1, err.attempts)                          -- not retried
      assert.matches("log phase", tostring(err), 1, true)
      assert.equal(0, #n.slept)
      assert.equal(0, #sb:requests("submit"))
    end)

    it("waits with ngx.sleep in a content handler's coroutine, each sleep at most max_wait", function()
      local c = sb:client { poll_interval = 0.05 }
      local n = fake_ngx("content")
      hy3d.use(n, { max_wait = 0.005 })
      local co = coroutine.create(function() return c:wait(assert(c:submit { Prompt = "a chair" })) end)
      local ok, res = coroutine.resume(co)                   -- never yields to this resumer: it sleeps
      assert.is_true(ok, tostring(res))
      assert.equal("dead", coroutine.status(co))
      assert.equal("DONE", res.Status)
      assert.is_true(#n.slept > 1)
      for _, s in ipairs(n.slept) do assert.is_true(s >= 0.001 and s <= 0.005, tostring(s)) end
    end)

    it("lets hy3d.run drive spawned tasks with ngx.sleep, and refuses where the phase cannot yield", function()
      local c = sb:client { poll_interval = 0.05 }
      local n = fake_ngx("timer")
      hy3d.use(n)
      local t = hy3d.spawn(function() return c:wait(assert(c:submit { Prompt = "a chair" })) end)
      n.phase = "log"
      local ok, errs = hy3d.run()
      assert.is_false(ok)
      assert.equal("PHASE_CANNOT_YIELD", errs[1].code)
      assert.equal("running", t:status())                    -- refused, not failed: it lives on
      n.phase = "timer"
      assert.is_true(hy3d.run())
      assert.equal("DONE", (t:result()).Status)
      assert.is_true(#n.slept > 0)
    end)
  end)

  it("makes hy3d.sleep outside a task sleep with ngx.sleep, and refuse where the phase cannot yield", function()
    local n = fake_ngx("content")
    hy3d.use(n)
    local t0 = require("hy3d.core").now()
    assert.is_true(hy3d.sleep(0.05))
    assert.is_true(require("hy3d.core").now() - t0 >= 0.05)
    assert.is_true(#n.slept >= 5)                            -- in steps of at most max_wait (0.01 s)
    n.phase, n.slept = "log", {}
    local ok, err = hy3d.sleep(1)
    assert.is_nil(ok)
    assert.equal("PHASE_CANNOT_YIELD", err.code)
    assert.equal(0, #n.slept)
  end)

  it("raises on bad options, naming them", function()
    local n = fake_ngx("content")
    local function raises(opts, message)
      assert.error_matches(function() hy3d.use(n, opts) end, message, nil, true)
    end
    raises({ max_wait = 0 }, "hy3d.use(ngx, opts): max_wait must be a number of seconds from 0.001 to 1, got 0")
    raises({ max_wait = "1" }, "hy3d.use(ngx, opts): max_wait must be a number of seconds from 0.001 to 1, got 1")
    raises({ max_wait = 0 / 0 }, "max_wait must be a number of seconds")
    raises({ maxwait = 1 }, 'hy3d.use(ngx, opts): unknown option "maxwait" (it takes max_wait)')
    raises(5, "hy3d.use(ngx, opts): opts must be a table such as { max_wait = 0.01 }")
    assert.is_nil(scheduler.adapter)                         -- nothing half installed
  end)
end)
