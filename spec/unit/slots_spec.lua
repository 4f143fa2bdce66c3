-- hy3d.slots: the max_concurrent_jobs FIFO, driven by a fake transport (no network).
local slots = require "hy3d.slots"
local families = require "hy3d.families"

-- A transport that answers queries from `status` (JobId -> Status) and counts its sleeps.
local function fake(status)
  local tr = { queries = {}, sleeps = 0 }
  function tr:api(action, params)   -- luacheck: ignore 212
    tr.queries[#tr.queries + 1] = { action, params.JobId }
    return { Status = status[params.JobId] or "RUN" }
  end
  function tr:sleep_until()   -- luacheck: ignore 212
    tr.sleeps = tr.sleeps + 1
    if tr.refuse then return nil, tr.refuse end  -- an adapter that must not wait here
    return true
  end
  return tr
end

describe("hy3d.slots", function()
  it("hands out tickets while slots are free, in order", function()
    local q, tr = slots.new(2), fake {}
    local a, b = q:take(tr, "pro", 0), q:take(tr, "rapid", 0)
    assert.equal(1, a.n)
    assert.equal(2, b.n)
    assert.equal(2, q.count)
    assert.equal(0, tr.sleeps)
  end)

  it("frees a slot when its job ends, and when its submit made no job", function()
    local q, tr = slots.new(2), fake {}
    local a, b = q:take(tr, "pro", 0), q:take(tr, "pro", 0)
    q:hold(a, { JobId = "j1" })
    q:release(b)
    assert.equal(1, q.count)
    q:ended("j1")
    assert.equal(0, q.count)
    q:ended("j1")                                 -- only once
    assert.equal(0, q.count)
    q:ended("not-held")
    assert.equal(0, q.count)
  end)

  it("when full, polls the oldest held job with its family's query and frees its slot once it is done", function()
    local status = {}
    local q, tr = slots.new(1), fake(status)
    local a = q:take(tr, "rapid", 0)
    q:hold(a, { JobId = "j1" })
    status.j1 = "DONE"
    local b = q:take(tr, "pro", 0)
    assert.equal(2, b.n)
    assert.same({ families.actions.rapid.query, "j1" }, tr.queries[1])
    assert.equal(1, q.count)
    assert.is_nil(q.active.j1)
    assert.is_true(tr.sleeps >= 1)
  end)

  it("returns the refusal of a transport that must not wait, and the submit leaves the line", function()
    local q, tr = slots.new(1), fake {}
    q:hold(q:take(tr, "pro", 0), { JobId = "j1" })
    tr.refuse = { kind = "usage", code = "NO_WAIT" }
    local t, err = q:take(tr, "pro", 0)
    assert.is_nil(t)
    assert.equal("NO_WAIT", err.code)
    assert.equal(1, tr.sleeps)                    -- one refused pause, not a loop
    assert.same({}, q.queue)
    tr.refuse = nil
    q:ended("j1")
    assert.equal(3, q:take(tr, "pro", 0).n)       -- the line moves on
  end)

  it("polls a held job no more often than its interval", function()
    local q, tr = slots.new(1), fake {}
    q:hold(q:take(tr, "pro", 3600), { JobId = "j1" })
    q.active.j1.checked = require("hy3d.core").now()
    q:wait(tr, 3600)
    q:wait(tr, 3600)
    assert.equal(0, #tr.queries)
    assert.equal(2, tr.sleeps)
  end)
end)
