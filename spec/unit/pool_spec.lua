-- hy3d.core's pool of idle easy handles: as deep as the requests alive at once, freed when unused
-- for a while. engine:_pool() (idle handles, stack slots) is a test hook, not public API.
local core = require "hy3d.core"
local doors = require "hy3d.doors"
local sandbox = require "spec.support.sandbox"

local function query(e, id)
  return e:request("POST", doors.gateway.query, { JobId = id }, nil, false)
end

-- n queries in flight at once, every one finished and closed (their handles back in the pool).
local function burst(e, n)
  local reqs = {}
  for i = 1, n do reqs[i] = assert(query(e, tostring(i))) end
  for i = 1, n do
    assert.is_true(e:wait(reqs[i], 60))
    assert.equal("FailedOperation.JobNotFound", select(2, reqs[i]:result()).code)
  end
  for i = 1, n do reqs[i]:close() end
end

-- Steps e until its pool holds `want` idle handles; the number of steps it took.
local function step_until_idle(e, want)
  local steps, limit = 0, core.now() + 60         -- a guard against a hang, not a margin
  while e:_pool() ~= want do
    assert(core.now() < limit, "the pool still holds " .. e:_pool() .. " idle handles")
    e:step(0.02)
    steps = steps + 1
  end
  return steps
end

describe("hy3d.core engine's handle pool", function()
  local sb = sandbox.suite()

  local function engine(pool_idle)
    return core.new { base_url = sb.url, authorization = sb.key, envelope = doors.envelope, pool_idle = pool_idle }
  end

  it("refuses a pool_idle that is not a number of seconds >= 0", function()
    assert.has_error(function() engine("soon") end)
    assert.has_error(function() engine(-1) end)
  end)

  it("keeps the handles of 100 concurrent requests, past the 16 it used to", function()
    local e = engine()
    assert.equal(0, (e:_pool()))
    burst(e, 100)
    assert.equal(100, (e:_pool()))
    burst(e, 100)                                 -- the same handles again: none made, none dropped
    assert.equal(100, (e:_pool()))
    e:step(0)
    assert.equal(100, (e:_pool()))               -- 30 s by default: a step does not free them
    e:close()
  end)

  it("frees idle handles nobody took for pool_idle seconds, lazily from the engine's steps", function()
    local e = engine(0.2)
    burst(e, 100)
    assert.equal(100, (e:_pool()))
    step_until_idle(e, 0)
    local idle, slots = e:_pool()
    assert.equal(0, idle)
    assert.equal(0, slots)                        -- its stack is given back too
    burst(e, 20)                                  -- and it fills again
    assert.equal(20, (e:_pool()))
    e:close()
  end)

  it("keeps what a smaller burst used and frees the rest first", function()
    local e = engine(0.3)
    burst(e, 100)
    burst(e, 30)            -- took the 30 on top of the stack; the 70 under them stay unused
    -- the window that saw the 30 taken ends with 70 never taken: those go, the 30 stay a window
    step_until_idle(e, 30)
    step_until_idle(e, 0)
    e:close()
  end)

  it("counts a handle taken inside a window as used: a burst then keeps its handles past the window", function()
    local e = engine(1)
    burst(e, 100)
    e:step(0)               -- a window starts with 100 idle
    burst(e, 30)            -- inside it: the 30 on top are taken and given back
    -- the window ends with 70 never taken: those go (32 per round at most), the 30 the burst used stay
    local limit = core.now() + 60                 -- a guard against a hang, not a margin
    while e:_pool() > 30 do
      assert(core.now() < limit, "the pool still holds " .. e:_pool() .. " idle handles")
      e:step(0.02)
    end
    assert.equal(30, (e:_pool()))
    e:close()
  end)

  it("frees a large idle pool a few handles per round, not all in one step", function()
    local e = engine(0.2)
    burst(e, 300)
    assert.equal(300, (e:_pool()))
    local seen, steps = {}, 0
    local limit = core.now() + 60                 -- a guard against a hang, not a margin
    while e:_pool() > 0 do
      assert(core.now() < limit, "the pool still holds " .. e:_pool() .. " idle handles")
      e:step(0.02)
      steps = steps + 1
      local idle = e:_pool()
      if idle > 0 and idle < 300 then seen[#seen + 1] = idle end
    end
    -- 32 per round: a step makes a few rounds, so 300 take several steps, each seen part-way
    assert.is_true(#seen >= 2, "freed in " .. #seen + 1 .. " steps")
    for i = 2, #seen do assert.is_true(seen[i] < seen[i - 1]) end
    e:close()
  end)

  it("frees its idle handles when closed (valgrind: nothing leaks)", function()
    local e = engine()
    burst(e, 50)
    assert.equal(50, (e:_pool()))
    e:close()
    assert.has_error(function() e:_pool() end)
  end)
end)
