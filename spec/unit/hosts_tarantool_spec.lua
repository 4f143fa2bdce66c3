-- hy3d.hosts.tarantool: the fiber adapter's decisions (pacing, the fallback, box transactions) with stand-in modules.
-- The real host runs in spec/hosts/tarantool_spec.lua; here the stand-in fiber and socket modules
-- record what the adapter asks of them, and a real client's calls go through its wait against the
-- sandbox (the stand-in iowait waits for the pollfd with luasocket's select).
local hy3d = require "hy3d"
local scheduler = require "hy3d.scheduler"
local tarantool = require "hy3d.hosts.tarantool"
local luasocket = require "socket"
local sandbox = require "spec.support.sandbox"

-- A stand-in for Tarantool's fiber module: what hy3d.use recognizes; sleep records its delays.
local function fake_fiber(sleeps)
  return { create = function() end, self = function() end, id = function() return 1 end,
           sleep = function(t) sleeps[#sleeps + 1] = t end }
end

-- A stand-in for Tarantool's socket module: iowait records (fd, events, timeout) and, with `wait`,
-- really waits for the descriptor with luasocket's select.
local function fake_socket(calls, wait)
  return { iowait = function(fd, events, timeout)
    calls[#calls + 1] = { fd = fd, events = events, timeout = timeout }
    if wait then luasocket.select({ { getfd = function() return fd end } }, nil, timeout) end
    return events
  end }
end

local function tr_with(fd) return { pollfd = function() return fd end } end

describe("hy3d.hosts.tarantool", function()
  after_each(function() hy3d.use(nil) end)

  it("is what hy3d.use installs for a fiber module, and only for one", function()
    local sleeps = {}
    assert.is_true(tarantool.is_fiber(fake_fiber(sleeps)))
    for _, lib in ipairs { {}, { create = print, sleep = print }, { create = print, sleep = print, self = print },
                           { create = 1, sleep = print, self = print, id = print }, "fiber" } do
      assert.is_false(tarantool.is_fiber(lib))
    end
    assert.equal("tarantool", hy3d.use(fake_fiber(sleeps)))
    assert.equal("tarantool", scheduler.adapter.name)
    assert.is_nil(hy3d.use(nil))
    assert.is_nil(scheduler.adapter)
  end)

  it("waits with iowait on the pollfd, paced by the delay between a floor and a cap", function()
    local calls, sleeps = {}, {}
    local a = tarantool.adapter(fake_fiber(sleeps), fake_socket(calls))
    local w = a.waiter(tr_with(7))
    assert.is_function(w)
    local delays = { 0.25, 0, -1, nil, 5, 0 / 0, tarantool.CAP, tarantool.FLOOR }
    for i = 1, 8 do w(delays[i]) end                 -- nil: libcurl names no timeout
    local got = {}
    for i, c in ipairs(calls) do
      assert.equal(7, c.fd)
      assert.equal("R", c.events)
      got[i] = c.timeout
    end
    local F, C = tarantool.FLOOR, tarantool.CAP
    assert.same({ 0.25, F, F, C, C, C, C, F }, got)   -- never 0 (a loop of those would spin), never unbounded
    assert.same({}, sleeps)
    assert.is_true(F > 0 and F < 0.01 and C >= 0.5 and C <= 1)
  end)

  it("without a pollfd sleeps the fiber, capped lower (nothing says when a socket is ready)", function()
    local calls, sleeps = {}, {}
    local w = tarantool.adapter(fake_fiber(sleeps), fake_socket(calls)).waiter(tr_with(nil))
    local delays = { 0.02, 0, nil, 1 }
    for i = 1, 4 do w(delays[i]) end
    local F, C = tarantool.FLOOR, tarantool.FALLBACK_CAP
    assert.same({ 0.02, F, C, C }, sleeps)
    assert.same({}, calls)
    assert.is_true(C < tarantool.CAP)
    -- a socket module without iowait: the same fallback
    sleeps = {}
    tarantool.adapter(fake_fiber(sleeps), {}).waiter(tr_with(7))(0.02)
    assert.same({ 0.02 }, sleeps)
    -- none given outside Tarantool: require "socket" is luasocket here (no iowait), the same fallback
    tarantool.adapter(fake_fiber(sleeps)).waiter(tr_with(7))(0.03)
    assert.same({ 0.02, 0.03 }, sleeps)
  end)

  it("refuses to wait inside a box transaction, with a typed error and nothing waited", function()
    local calls, sleeps = {}, {}
    local a = tarantool.adapter(fake_fiber(sleeps), fake_socket(calls))
    local saved = rawget(_G, "box")
    finally(function() rawset(_G, "box", saved) end)
    local in_txn = true
    rawset(_G, "box", { is_in_txn = function() return in_txn end })
    local w, err = a.waiter(tr_with(7))
    assert.is_false(w)
    assert.equal("usage", err.kind)
    assert.equal("TARANTOOL_IN_TRANSACTION", err.code)
    assert.matches("box transaction", err.message, 1, true)
    in_txn = false
    assert.is_function((a.waiter(tr_with(7))))
    -- before box.cfg{} box has no is_in_txn of its own (Tarantool's box raises from __index then)
    rawset(_G, "box", setmetatable({}, { __index = function() error("Please call box.cfg{} first") end }))
    assert.is_function((a.waiter(tr_with(7))))
    assert.same({}, calls)
  end)

  it("gives the pump a sleep: the fiber's, paced and capped, refused inside a box transaction", function()
    local calls, sleeps = {}, {}
    local a = tarantool.adapter(fake_fiber(sleeps), fake_socket(calls))
    local delays = { 0.02, 0, nil, 1 }
    for i = 1, 4 do assert.is_true(a.sleep(delays[i])) end
    local F, C = tarantool.FLOOR, tarantool.FALLBACK_CAP
    assert.same({ 0.02, F, C, C }, sleeps)
    local saved = rawget(_G, "box")
    finally(function() rawset(_G, "box", saved) end)
    rawset(_G, "box", { is_in_txn = function() return true end })
    local ok, err = a.sleep(0.02)
    assert.is_false(ok)
    assert.equal("TARANTOOL_IN_TRANSACTION", err.code)
    assert.equal(4, #sleeps)
    assert.same({}, calls)
  end)

  describe("with a real client", function()
    local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2 }

    it("a call outside any task waits through the adapter and completes", function()
      local calls, sleeps = {}, {}
      scheduler.adapter = tarantool.adapter(fake_fiber(sleeps), fake_socket(calls, true))
      local client = sb:client { poll_interval = 0.1 }
      assert.is_function(client._transport:waiter())
      local job = hy3d.assert(client:submit { Prompt = "a fiber" })
      local res = hy3d.assert(client:wait(job, { timeout = 30 }))
      assert.equal("DONE", res.Status)
      assert.is_true(#calls > 0, "no wait went through the adapter")
      for _, c in ipairs(calls) do
        assert.equal(client:pollfd(), c.fd)
        assert.is_true(c.timeout >= tarantool.FLOOR and c.timeout <= tarantool.CAP, tostring(c.timeout))
      end
    end)

    it("a call inside a box transaction returns the error and sends nothing", function()
      local calls, sleeps = {}, {}
      scheduler.adapter = tarantool.adapter(fake_fiber(sleeps), fake_socket(calls, true))
      local saved = rawget(_G, "box")
      finally(function() rawset(_G, "box", saved) end)
      rawset(_G, "box", { is_in_txn = function() return true end })
      local client = sb:client {}
      local res, err = client:submit { Prompt = "in a transaction" }
      assert.is_nil(res)
      assert.equal("usage", err.kind)
      assert.equal("TARANTOOL_IN_TRANSACTION", err.code)
      assert.is_nil(tostring(err):find(sb.key, 1, true))
      assert.same({}, calls)
      assert.equal(0, #sb:requests("submit"))
    end)

    it("a submit queued behind a full max_concurrent_jobs inside a box transaction returns the error", function()
      local client = sb:client { max_concurrent_jobs = 1, poll_interval = 0.1 }
      sb:config { run_time = 1 }
      assert(client:submit { Prompt = "holds the slot" })   -- before hy3d.use: blocks, then holds the one slot
      local calls, sleeps = {}, {}
      scheduler.adapter = tarantool.adapter(fake_fiber(sleeps), fake_socket(calls, true))
      local saved = rawget(_G, "box")
      finally(function() rawset(_G, "box", saved) end)
      rawset(_G, "box", { is_in_txn = function() return true end })
      -- the queue cannot wait here: the error, at once, never a loop that polls without pausing
      local res, err = client:submit { Prompt = "queued in a transaction" }
      assert.is_nil(res)
      assert.equal("TARANTOOL_IN_TRANSACTION", err.code)
      assert.equal(1, #sb:requests("submit"))
      rawset(_G, "box", saved)
      scheduler.adapter = nil
      assert(client:submit { Prompt = "the queue still works" })   -- once the first job is done
      assert.equal(2, #sb:requests("submit"))
    end)
  end)
end)
