-- TLS at scale: an engine's connections resume one TLS session (a share handle), polls of many
-- concurrent jobs share few HTTP/2 connections (PIPEWAIT), and a submit, on a connection of its own
-- so it is never sent twice, pays an abbreviated handshake, not a full one. A real nginx with a
-- self-signed certificate in front of the sandbox counts what it saw ($ssl_session_reused, $connection).
local sandbox = require "spec.support.sandbox"
local tls = require "spec.support.tls"
local hy3d = require "hy3d"
local core = require "hy3d.core"

describe("TLS (nginx in front of the sandbox)", function()
  local why = tls.missing()
  if why then
    pending("needs nginx with ssl and http2 and the openssl command: " .. why)
    return
  end

  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.1, concurrency = 100 }
  local ng

  setup(function() ng = tls.start(sb.url) end)
  teardown(function() if ng then ng:stop() end end)
  before_each(function() ng:clear() end)

  local function client(url)
    local c = hy3d.new { api_key = sb.key, base_url = url, ca_file = ng.ca, poll_interval = 0.05, max_retries = 0 }
    return c
  end

  -- Every connection but the first resumed a session; returns the summary.
  local function assert_resumed(name)
    local s = ng:summary(name)
    assert.is_true(s.connections > 1, ("%s: one connection only (%d requests)"):format(name, s.requests))
    for i, c in ipairs(s.list) do
      if i > 1 then
        assert.equal("r", c.reused, ("%s: connection %d of %d (#%d) made a full handshake"):format(name, i, s.connections, c.id))
      end
    end
    assert.equal(1, s.full)
    return s
  end

  -- Jobs as hy3d.spawn tasks (submit, then wait), all at once: each transfer in flight has an easy
  -- handle of its own, and an easy handle alone keeps only its own sessions.
  local function burst(c, n, prefix)
    local done = 0
    for i = 1, n do
      hy3d.spawn(function()
        local job = assert(c:submit { Prompt = prefix .. i })
        assert.equal("DONE", assert(c:wait(job)).Status)
        done = done + 1
      end)
    end
    hy3d.run()
    assert.equal(n, done)
  end

  for _, port in ipairs { { "h1", "HTTP/1.1" }, { "h2", "HTTP/2.0" } } do
    local name, http = port[1], port[2]
    it(("resumes the TLS session on every connection after the first, across handles (%s): submits too"):format(http),
      function()
        local c = client(ng[name])
        burst(c, 1, "first ")                      -- one full handshake: the session to resume
        burst(c, 10, "tls ")
        c:close()
        local s = assert_resumed(name)
        -- each submit has a connection of its own (never replayed): at least eleven
        assert.is_true(s.connections >= 11, ("%d connections for 11 submits"):format(s.connections))
        for _, r in ipairs(ng:requests(name)) do assert.equal(http, r.http) end
      end)
  end

  it("polls 50 concurrent jobs over few HTTP/2 connections", function()
    local a = client(ng.h2)
    local jobs = {}
    for i = 1, 50 do jobs[i] = assert(a:submit { Prompt = "h2 " .. i }) end
    a:close()
    ng:clear()                                     -- from here on: the polls of a client with no connection yet
    local c, done = client(ng.h2), 0
    for i = 1, 50 do
      hy3d.spawn(function()
        assert(c:wait(jobs[i]))
        done = done + 1
      end)
    end
    hy3d.run()
    c:close()
    assert.equal(50, done)
    local s = ng:summary("h2")
    assert.is_true(s.requests >= 50)
    -- PIPEWAIT: the first polls wait for the first connection to say it multiplexes (without, 3 here)
    assert.is_true(s.connections <= 2, ("%d connections for the polls of 50 jobs"):format(s.connections))
  end)

  -- A burst sent at once from an engine with no connection yet: every request waits for the first
  -- connection to say it multiplexes (PIPEWAIT) instead of opening one of its own.
  it("sends 50 queries made at once over one new HTTP/2 connection, not one each", function()
    local e = core.new { base_url = ng.h2, authorization = sb.key, ca_file = ng.ca }
    local reqs = {}
    for i = 1, 50 do reqs[i] = assert(e:request("POST", "/v1/ai3d/query", { JobId = "nope" .. i })) end
    for i = 1, 50 do
      assert.is_true(e:wait(reqs[i], 10))
      reqs[i]:close()
    end
    e:close()
    local s = ng:summary("h2")
    local limit = core.now() + 10                 -- nginx logs a request after answering it: wait for the 50
    while s.requests < 50 and core.now() < limit do
      require("socket").sleep(0.01)
      s = ng:summary("h2")
    end
    assert.equal(50, s.requests)
    assert.is_true(s.connections <= 2, ("%d connections for a burst of 50 queries"):format(s.connections))
  end)

  -- The share is freed at close; every easy handle holds it only while on the multi handle, so
  -- requests done, in flight or never started may be closed (or collected) after their engine.
  it("closes an engine before its requests, done, running or never started (the share goes first)", function()
    for _, url in ipairs { ng.h1, ng.h2 } do
      local e = core.new { base_url = url, authorization = sb.key, ca_file = ng.ca }
      local done = e:request("POST", "/v1/ai3d/query", { JobId = "nope" })
      assert.is_true(e:wait(done, 10))
      local running = e:request("POST", "/v1/ai3d/query", { JobId = "nope" })
      e:step(0)
      local idle = e:request("POST", "/v1/ai3d/query", { JobId = "nope" })
      local file = e:download(url .. "/nothing", sandbox.tmpdir() .. "/f")
      e:step(0)
      assert.is_true(e:close())
      assert.is_table(done:result() or {})
      for _, r in ipairs { done, running, idle, file } do assert.is_true(r:close()) end
      assert.is_true(e:close())
    end
    collectgarbage("collect")
  end)
end)
