-- hy3d.core: the C module on its own (JSON bridge, engine and request lifecycles, errors).
local core = require "hy3d.core"
local doors = require "hy3d.doors"
local sandbox = require "spec.support.sandbox"

-- An engine that reads the service's answers as the client's does (hy3d.doors' envelope).
local function new(opts)
  opts.envelope = doors.envelope
  return core.new(opts)
end

-- The requests hy3d.client makes with engine:request, from hy3d.doors: a gateway submit (on a
-- fresh connection), a gateway query, and a signed API 3.0 action.
local function submit(e, params, timeout)
  return e:request("POST", doors.gateway.submit, params, timeout, true)
end
local function query(e, id, timeout)
  return e:request("POST", doors.gateway.query, { JobId = id }, timeout, false)
end
local function call(e, action, params, timeout, fresh)
  return e:request("POST", doors.api3.path, params, timeout, fresh, action)
end


describe("hy3d.core", function()
  it("reports its version and libcurl's", function()
    assert.equal("0.4.0", core._VERSION)   -- HY3D_VERSION (spec/tooling/version_spec.lua checks every part)
    assert.matches("^%d+%.%d+%.%d+", core.curl_version)
    assert.equal("string", type(core.curl_ssl_version))     -- "OpenSSL/3.0.x" ("" without TLS)
    if core.curl_ssl then assert.matches("%S", core.curl_ssl_version) end
    assert.equal("string", type(core.curl_cainfo))          -- libcurl's built-in CA file ("" when none)
    assert.equal("string", type(core.curl_capath))
  end)

  it("has a monotonic clock that moves forward", function()
    local a = core.now()
    require("socket").sleep(0.01)
    assert.is_true(core.now() - a >= 0.009)
  end)

  describe("JSON bridge", function()
    it("round-trips tables through lua-cjson", function()
      local text = core.encode { Prompt = "木椅子 🪑", FaceCount = 50000, EnablePBR = true,
                                 MultiViewImages = { { ViewType = "left", ViewImageUrl = "u" } } }
      local back = core.decode(text)
      assert.equal("木椅子 🪑", back.Prompt)
      assert.equal(50000, back.FaceCount)
      assert.is_true(back.EnablePBR)
      assert.equal("left", back.MultiViewImages[1].ViewType)
    end)

    it("returns nil and a message for values JSON cannot hold", function()
      local v, err = core.encode { f = function() end }
      assert.is_nil(v)
      assert.matches("function", err)
      v, err = core.decode("{not json")
      assert.is_nil(v)
      assert.is_string(err)
    end)

    it("uses a private cjson instance, leaving the host's settings alone", function()
      local cjson = require "cjson"
      cjson.encode_max_depth(2)
      local ok = pcall(cjson.encode, { { { 1 } } })
      assert.is_false(ok)
      assert.equal("[[[1]]]", core.encode { { { 1 } } })
      cjson.encode_max_depth(1000)
    end)
  end)

  describe("mentions (does any string of a value hold a secret?)", function()
    local secrets = { "sk-0123456789", "AKIDxyz" }
    it("finds a secret in a string, a value or a key at any depth", function()
      assert.is_true(core.mentions("x sk-0123456789 y", secrets))
      assert.is_true(core.mentions({ a = { b = { "ok", "AKIDxyz" } } }, secrets))
      assert.is_true(core.mentions({ Response = { ["key sk-0123456789"] = 1 } }, secrets))
      assert.is_true(core.mentions({ [{ "AKIDxyz" }] = true }, secrets))          -- a table as a key
      assert.is_true(core.mentions({ a = "\0AKIDxyz\0" }, secrets))           -- bytes, NULs included
    end)
    it("says no when no string holds one, and for what holds no string", function()
      assert.is_false(core.mentions({ Status = "DONE", n = 1, Files = { { Url = "http://x/sk-012345678" } } }, secrets))
      assert.is_false(core.mentions("AKIDxy", secrets))
      assert.is_false(core.mentions(12, secrets))
      assert.is_false(core.mentions(nil, secrets))
      assert.is_false(core.mentions({ "sk" }, {}))
      assert.is_false(core.mentions({ "sk" }, { "", 5 }))                        -- no non-empty string
    end)
    it("errs on the side of yes: a cycle, a value nested past its depth, more secrets than it keeps", function()
      local t = { a = "ok" }
      t.self = t
      assert.is_true(core.mentions(t, secrets))
      local deep = "ok"
      for _ = 1, 40 do deep = { deep } end
      assert.is_true(core.mentions(deep, secrets))
      local many = {}
      for i = 1, 20 do many[i] = "secret" .. i end
      assert.is_true(core.mentions({ "none here" }, many))
    end)
    it("raises when the list is not a table", function()
      assert.has_error(function() core.mentions("x", "x") end)
    end)
  end)

  describe("engine", function()
    it("rejects wrong option types and missing base_url", function()
      assert.has_error(function() core.new() end)
      assert.has_error(function() core.new {} end, "hy3d.core.new: 'base_url' is required")
      assert.has_error(function() core.new { base_url = 1 } end, "hy3d.core.new: 'base_url' must be a string")
      assert.has_error(function() core.new { base_url = "http://x", timeout = -1 } end,
        "hy3d.core.new: 'timeout' must be > 0")
      assert.has_error(function() core.new { base_url = "http://x", authorization = "a\r\nX-Evil: 1" } end,
        "hy3d.core.new: 'authorization' contains a line break or NUL")
    end)

    it("raises on wrong argument types to its methods", function()
      local e = new { base_url = "http://127.0.0.1:1" }
      assert.has_error(function() e:request("POST", "/", 42) end)            -- a body is a table, a string or nil
      assert.has_error(function() e:request("POST", 12345) end)              -- a target is a string
      assert.has_error(function() e:request("PUT", "/") end)                 -- GET or POST
      assert.has_error(function() e:request("POST", "/a\r\nX-Evil: 1") end)
      assert.has_error(function() e:request("POST", "/", nil, -1) end)
      assert.has_error(function() e:download("http://x") end)
      assert.has_error(function() e:wait("nope") end)
      assert.has_error(function() e:download("http://x", "/tmp/x", { meta = 1 }) end,
        "download option 'meta' must be a string")
      assert.has_error(function() e:download("http://x", "/tmp/x", { min_rate = "fast" }) end,
        "download option 'min_rate' must be a number")
      e:close()
    end)

    it("returns BAD_PATH, not a truncated name, for a download path, URL or sidecar holding a NUL", function()
      local e = new { base_url = "http://127.0.0.1:1" }
      local dir = sandbox.tmpdir()
      for _, args in ipairs {
        { "http://127.0.0.1:1/x", dir .. "/a\0b" },
        { "http://127.0.0.1:1/x\0y", dir .. "/c" },
        { "http://127.0.0.1:1/x", dir .. "/d", { resume = true, meta = dir .. "/e\0f" } },
      } do
        local req, err = e:download(args[1], args[2], args[3])
        assert.is_nil(req)
        assert.same({ "invalid", "BAD_PATH" }, { err.kind, err.code })
      end
      assert.equal(0, e:pending())
      local _, out = sandbox.run("ls -A " .. dir)
      assert.equal("", out)                         -- nothing created under any truncated name
      os.execute("rm -rf " .. dir)
      e:close()
    end)

    it("closes idempotently and refuses use after close", function()
      local e = new { base_url = "http://127.0.0.1:1" }
      assert.is_true(e:close())
      assert.is_true(e:close())
      assert.equal("hy3d.Engine (closed)", tostring(e))
      assert.has_error(function() query(e, "1") end, "attempt to use a closed hy3d.Engine")
    end)

    it("never shows the credential in tostring", function()
      local e = new { base_url = "http://127.0.0.1:1", authorization = "sk-very-secret" }
      assert.not_matches("sk%-very%-secret", tostring(e))
      e:close()
    end)

    it("reports a refused connection as a network error that was never sent", function()
      local e = new { base_url = "http://127.0.0.1:" .. sandbox.dead_port() }
      local req = assert(query(e, "1"))
      assert.is_true(e:wait(req, 5))
      local res, err = req:result()
      assert.is_nil(res)
      assert.equal("network", err.kind)
      assert.equal("COULDNT_CONNECT", err.code)
      assert.is_false(err.sent)
      e:close()
    end)

    describe("against the sandbox", function()
      local sb = sandbox.suite()

      -- An engine with the sandbox's URL and key.
      local function engine()
        return new { base_url = sb.url, authorization = sb.key }
      end

      -- Waits for req on e (it must finish within 5 s), closes it and returns its result.
      local function settle(e, req)
        assert.is_true(e:wait(req, 5))
        local res, err = req:result()
        req:close()
        return res, err
      end

      it("reads a response header by name, in any case, once the response is in", function()
        local e = engine()
        local req = assert(query(e, "1"))
        assert.is_nil(req:header("Date"), "nothing before the response")
        assert.is_true(e:wait(req, 5))
        local date = req:header("date")
        assert.matches("^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d GMT$", date)
        assert.equal(date, req:header("DATE"))
        assert.equal("hy3d-sandbox", req:header("Server"))
        assert.is_nil(req:header("X-Not-There"))
        assert.has_error(function() req:header() end)
        req:close()
        e:close()
      end)

      -- req:mentions reads the JSON text (the client skips redaction when it says no): it must say
      -- yes whenever the decoded answer could hold a secret, escapes included.
      it("req:mentions says yes where the decoded answer may hold a secret, escapes and all", function()
        local e = engine()
        local function mentions(body, secrets)
          sb:fault { route = "query", action = "status", status = 200, content_type = "application/json", body = body }
          local req = assert(query(e, "1"))
          assert.is_true(e:wait(req, 5))
          local v = req:mentions(secrets)
          req:close()
          return v
        end
        local plain = '{"Response":{"Status":"RUN","Note":"a\\/b \\u00e9 \\n"}}'
        assert.is_false(mentions(plain, { "sk-0123456789" }))          -- escapes of bytes no secret has
        assert.is_true(mentions('{"Response":{"Note":"x sk-0123456789"}}', { "AKIDxyz", "sk-0123456789" }))
        -- "\/" decodes to the '/' of a secret that has one
        assert.is_true(mentions('{"Response":{"Note":"ab\\/cd-123456"}}', { "ab/cd-123456" }))
        -- a \u escape past U+007F decodes to UTF-8 bytes a secret may have
        assert.is_true(mentions('{"Response":{"Note":"cl\\u00e9-987654"}}', { "cl\195\169-987654" }))
        -- more secrets than it keeps: yes, whatever the text
        local many = {}
        for i = 1, 20 do many[i] = "secret" .. i end
        assert.is_true(mentions(plain, many))
        assert.is_false(mentions(plain, { "" }))                          -- no non-empty secret: nothing to hold
        e:close()
      end)

      -- An event loop sleeps for engine:timeout(): a poll armed off the multi handle (its first send
      -- after spec.delay) must show there, or a loop with nothing else in flight sleeps past it.
      it("counts an armed poll's next send in engine:timeout()", function()
        local e = engine()
        assert.is_nil(e:timeout(), "nothing in flight: no timer")
        local req = assert(e:poll("POST", doors.gateway.query, { JobId = "1" }, nil, nil,
                                  { path = { "Status" }, running = { "WAIT", "RUN" }, delay = 30 }))
        local t = e:timeout()
        assert.is_number(t, "the armed poll is a timer")
        assert.is_true(t > 1 and t <= 30, tostring(t))                  -- not sent yet: due in ~30 s
        req:close()
        e:close()
      end)

      it("wakes engine:wait for an armed poll's send, not only for the sockets", function()
        local e = engine()
        local req = assert(e:poll("POST", doors.gateway.query, { JobId = "1" }, nil, nil,
                                  { path = { "Status" }, running = { "WAIT", "RUN" }, delay = 0.05 }))
        assert.is_true(e:wait(req, 3), "sent after its delay and answered within the wait")
        assert.equal("FailedOperation.JobNotFound", select(2, req:result()).code)   -- no such job: it surfaces
        req:close()
        e:close()
      end)

      it("does not block when asked to wait 0 seconds", function()
        sb:fault { route = "query", action = "delay", delay = 1.0 }
        local e = engine()
        local req = assert(query(e, "1"))
        local t0 = core.now()
        assert.is_false(e:wait(req, 0))
        assert.is_true(core.now() - t0 < 0.5)
        assert.is_false(req:done())
        assert.has_error(function() req:result() end, "hy3d.Request: result() before the request completed")
        assert.is_true(e:wait(req))
        local _, err = req:result()
        assert.equal("api", err.kind)
        e:close()
      end)

      it("cancels in-flight requests when closed", function()
        sb:fault { route = "query", action = "delay", delay = 2 }
        local e = engine()
        local req = assert(query(e, "1"))
        assert.equal(1, e:pending())
        e:close()
        assert.is_true(req:done())
        local _, err = req:result()
        assert.equal("CANCELLED", err.code)
      end)

      it("refuses result() on a closed request instead of inventing an error", function()
        local e = engine()
        local req = assert(query(e, "1"))
        assert.is_true(e:wait(req, 5))
        assert.equal("api", select(2, req:result()).kind)
        assert.is_true(req:close())
        assert.is_true(req:close())
        assert.has_error(function() req:result() end, "attempt to use a closed hy3d.Request")
        e:close()
      end)

      it("releases a cancelled download's file when the engine closes", function()
        local path = os.tmpname()
        local function fds_on_path()
          local _, out = sandbox.run("ls -l /proc/" .. sandbox.self_pid() .. "/fd")
          local n = 0
          for _ in out:gmatch(path:gsub("%p", "%%%0") .. "\n") do n = n + 1 end
          return n
        end
        local e = new { base_url = sb.url }
        -- nothing drives the engine after this, so the transfer is still in flight at close()
        local req = assert(e:download(sb.url .. "/_sandbox/blob?size=10", path))
        assert.equal(1, fds_on_path())
        e:close()
        assert.is_true(req:done())
        assert.equal("CANCELLED", select(2, req:result()).code)
        assert.equal(0, fds_on_path())
        os.remove(path)
      end)

      it("reuses finished requests' handles without their options: only submits open a connection", function()
        local e = engine()
        local before = sb:stats().connections_opened
        local job = assert(settle(e, assert(submit(e, { Prompt = "a chair" }))))
        for _ = 1, 5 do
          assert.is_string(assert(settle(e, assert(query(e, job.JobId)))).Status)
        end
        assert(settle(e, assert(submit(e, { Prompt = "a table" }))))
        -- two submits, each on a new connection; the queries ride the first one (and this stats
        -- call opens its own): a reused handle keeps neither a submit's fresh-connection flag
        -- nor loses it for the next submit
        assert.equal(before + 3, sb:stats().connections_opened)
        local sent = sb:requests("submit")
        assert.equal("a chair", core.decode(sent[1].body).Prompt)
        assert.equal("a table", core.decode(sent[2].body).Prompt)
        e:close()
      end)

      describe("engine:request", function()
        it("joins a path to the base URL, or takes an absolute URL, with GET", function()
          local e = engine()
          for _, target in ipairs { "/_sandbox/stats", sb.url .. "/_sandbox/stats" } do
            local stats = assert(settle(e, assert(e:request("GET", target))))
            assert.is_number(stats.connections_opened)
          end
          e:close()
        end)

        it("sends a table as JSON, a string as is, and nil as no body", function()
          local e = engine()
          settle(e, assert(e:request("POST", doors.gateway.query, { JobId = "7" })))
          settle(e, assert(e:request("POST", doors.gateway.query, '{"JobId": "8"}')))
          settle(e, assert(e:request("POST", doors.gateway.query)))
          local sent = sb:requests("query")
          assert.equal(3, #sent)
          assert.equal('{"JobId":"7"}', sent[1].body)
          assert.equal('{"JobId": "8"}', sent[2].body)
          assert.equal("", sent[3].body or "")
          e:close()
        end)

        it("sends the credential only to its base URL's origin: another origin gets no key, and no signature", function()
          local e = engine()
          local port = sb.url:match(":(%d+)$")
          -- the same origin spelled otherwise (an absolute URL, the scheme in capitals) gets the key
          local _, err = settle(e, assert(e:request("POST", "HTTP://127.0.0.1:" .. port .. doors.gateway.query, { JobId = "1" })))
          assert.equal("FailedOperation.JobNotFound", err.code)
          -- the same server under another name is another origin: the request goes, without the key
          settle(e, assert(e:request("POST", "http://localhost:" .. port .. doors.gateway.query, { JobId = "2" })))
          local sent = sb:requests("query")
          assert.equal(2, #sent)
          assert.same({ true, "missing" }, { sent[1].key_ok, sent[2].auth })
          e:close()
          local signed = new { base_url = sb.url, tc3 = { secret_id = "AKIDx", secret_key = "core-spec-secret-key",
                               version = "2025-05-13", service = doors.api3.service } }
          local req, ferr = signed:request("POST", "http://localhost:" .. port .. "/", { JobId = "3" }, nil, false,
                                           "QueryHunyuanTo3DProJob")
          assert.is_nil(req)
          assert.same({ "invalid", "FOREIGN_ORIGIN" }, { ferr.kind, ferr.code })
          assert.is_nil(tostring(ferr.message):find("core-spec-secret-key", 1, true))
          assert.equal(2, #sb:requests())                 -- nothing more reached the server
          signed:close()
        end)

        it("reads answers with the envelope it was given, and unwraps nothing without one", function()
          local e = engine()
          local _, err = settle(e, assert(query(e, "1")))
          assert.same({ "api", "FailedOperation.JobNotFound" }, { err.kind, err.code })
          assert.is_string(err.request_id)
          e:close()
          local raw = core.new { base_url = sb.url, authorization = sb.key }
          local res, rerr = settle(raw, assert(query(raw, "1")))
          if res then
            assert.equal("FailedOperation.JobNotFound", res.Response.Error.Code)   -- the answer as sent
          else
            assert.equal("http", rerr.kind)                 -- a non-2xx status: no API error without names
          end
          raw:close()
        end)
      end)

      it("keeps the connections of requests made one by one for a later burst of parallel ones", function()
        local e = engine()
        local n = 40
        local before = sb:stats().connections_opened
        for i = 1, n do                                  -- submits: each on a new connection
          settle(e, assert(submit(e, { Prompt = "chair " .. i })))
        end
        local queries = {}
        for i = 1, n do queries[i] = assert(query(e, tostring(i))) end
        for i = 1, n do
          assert.equal("FailedOperation.JobNotFound", select(2, settle(e, queries[i])).code)
        end
        -- the n queries in flight at once ride the n submits' connections (and this stats call
        -- opens its own); libcurl's default cache would have kept about 4 of them
        assert.equal(before + n + 1, sb:stats().connections_opened)
        e:close()
      end)

      it("gives each request on a reused handle its own timeout", function()
        sb:fault { route = "query", action = "delay", delay = 0.6, count = 2 }
        local e = engine()
        assert.equal("OPERATION_TIMEDOUT", select(2, settle(e, assert(query(e, "1", 0.2)))).code)
        -- the engine's 60 s, on the same handle
        assert.equal("FailedOperation.JobNotFound", select(2, settle(e, assert(query(e, "2")))).code)
        e:close()
      end)

      it("gives a handle closed mid-transfer to the next request in working order", function()
        sb:fault { route = "query", action = "delay", delay = 2 }
        local e = engine()
        local slow = assert(query(e, "1"))
        assert.is_false(e:wait(slow, 0.2))
        slow:close()
        assert.equal(0, e:pending())
        local _, err = settle(e, assert(query(e, "2")))
        assert.equal("api", err.kind)                      -- the sandbox's answer: no such job
        assert.equal("FailedOperation.JobNotFound", err.code)
        e:close()
      end)

      it("lets a request nobody holds finish, and collects engines and requests", function()
        local e = engine()
        local weak = setmetatable({}, { __mode = "v" })
        weak.req = assert(query(e, "1"))
        collectgarbage()
        collectgarbage()
        assert.is_not_nil(weak.req)        -- anchored by the engine while in flight
        assert.equal(1, e:pending())
        e:step(0)
        local t0 = core.now()
        while e:pending() > 0 and core.now() - t0 < 5 do e:step(0.1) end
        assert.equal(0, e:pending())
        weak.engine = e
        e = nil -- luacheck: ignore 311
        collectgarbage()
        collectgarbage()
        assert.is_nil(weak.req)
        assert.is_nil(weak.engine)
      end)
    end)

    it("closes through <close> on Lua 5.4", function()
      if _VERSION ~= "Lua 5.4" then
        pending("<close> needs Lua 5.4; this is " .. _VERSION)
        return
      end
      local f = assert(load [[
        local core = ...
        local e <close> = core.new { base_url = "http://127.0.0.1:1" }
        return e
      ]])
      local e = f(core)
      assert.equal("hy3d.Engine (closed)", tostring(e))
    end)

    it("protects its metatables", function()
      local e = new { base_url = "http://127.0.0.1:1" }
      assert.equal("this metatable is locked", getmetatable(e))
      e:close()
    end)
  end)
  describe("API 3.0 engines", function()
    local TC3 = { secret_id = "AKIDx", secret_key = "core-spec-secret-key", version = "2025-05-13",
                  service = doors.api3.service }

    it("need both credentials, a version and a service, and never echo the key", function()
      for _, missing in ipairs { "secret_id", "secret_key", "version", "service" } do
        local t = {}
        for k, v in pairs(TC3) do if k ~= missing then t[k] = v end end
        local ok, err = pcall(core.new, { base_url = "http://127.0.0.1:9", tc3 = t })
        assert.is_false(ok)
        assert.matches("'" .. missing .. "' is required", err)
      end
      local ok, err = pcall(core.new, { base_url = "http://127.0.0.1:9", tc3 = { secret_id = "", secret_key = "k",
        version = "v", service = "s" } })
      assert.is_false(ok)
      assert.matches("must not be empty", err)
      assert.has_error(function() core.new { base_url = "http://127.0.0.1:9", tc3 = "AKIDx:key" } end)
      local e = new { base_url = "http://127.0.0.1:9", tc3 = TC3 }
      assert.is_nil(tostring(e):find(TC3.secret_key, 1, true))
      e:close()
      e:close()
    end)

    -- Starts `action` on e and answers it from server (a bound luasocket) with a small JSON body,
    -- driving e meanwhile; returns the request's headers (lowercase names) and body as sent.
    local function capture_call(e, server, action, params)
      local req = assert(call(e, action, params))
      local conn, buf, head, body
      for _ = 1, 500 do                               -- 5 s at most
        e:step(0.01)
        conn = conn or server:accept()
        if conn then
          conn:settimeout(0)
          local data, err, partial = conn:receive(65536)
          buf = (buf or "") .. (data or partial or "")
          head = buf:match("^(.-\r\n)\r\n")
          local length = head and tonumber(head:lower():match("\ncontent%-length: *(%d+)"))
          if length and #buf >= #head + 2 + length then
            body = buf:sub(#head + 3, #head + 2 + length)
            break
          end
          assert(err ~= "closed", "the client closed the connection")
        end
      end
      assert(body, "no whole request arrived")
      local answer = '{"Response":{"RequestId":"r"}}'
      conn:settimeout(1)
      conn:send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
        .. #answer .. "\r\n\r\n" .. answer)
      assert.is_true(e:wait(req, 5))
      conn:close()
      assert.equal("r", assert(req:result()).RequestId)
      req:close()
      local headers = {}
      for name, value in head:gmatch("\n([^:\r\n]+): *([^\r\n]*)") do headers[name:lower()] = value end
      return headers, body
    end

    it("re-derive the day's signing key when the UTC date changes, both ways", function()
      local socket = require "socket"
      local server = assert(socket.bind("127.0.0.1", 0))
      server:settimeout(0)
      local host = ("127.0.0.1:%d"):format(select(2, server:getsockname()))
      local clock = {}
      local e = new { base_url = "http://" .. host, tc3 = { secret_id = TC3.secret_id,
        secret_key = TC3.secret_key, version = TC3.version, service = TC3.service, _clock = clock } }
      local midnight = 1767225600                     -- 2026-01-01T00:00:00Z
      -- one engine, so one key cache: 23:59:59, midnight, the last second of that day, the next
      -- day, then back to the first day (a clock set back)
      local days = { "2025-12-31", "2026-01-01", "2026-01-01", "2026-01-02", "2025-12-31" }
      for i, ts in ipairs { midnight - 1, midnight, midnight + 86399, midnight + 86400, midnight - 1 } do
        clock.now = ts
        local headers, body = capture_call(e, server, "QueryHunyuanTo3DProJob", { JobId = tostring(i) })
        assert.equal(tostring(ts), headers["x-tc-timestamp"])
        -- signed afresh (a new key cache per call) with the same timestamp, payload and host
        local want = core.tc3_sign { secret_id = TC3.secret_id, secret_key = TC3.secret_key, timestamp = ts,
          payload = body, host = host, service = TC3.service }
        assert.truthy(want:find("Credential=AKIDx/" .. days[i] .. "/ai3d/tc3_request,", 1, true), want)
        assert.equal(want, headers.authorization, "request " .. i .. " at " .. ts)
      end
      clock.now = nil                                 -- the hook off: the current time again
      local headers = capture_call(e, server, "QueryHunyuanTo3DProJob", { JobId = "now" })
      assert.is_true(math.abs(tonumber(headers["x-tc-timestamp"]) - os.time()) <= 5)
      clock.now = -1
      assert.has_error(function() call(e, "QueryHunyuanTo3DProJob", {}) end)
      assert.has_error(function() core.new { base_url = "http://" .. host, tc3 = { secret_id = "a", secret_key = "b",
        version = "v", _clock = 1 } } end, "hy3d.core.new: tc3 '_clock' must be a table")
      e:close()
      server:close()
    end)

    it("call only on an engine with credentials, with an action name only", function()
      local g = new { base_url = "http://127.0.0.1:9" }
      assert.has_error(function() call(g, "QueryHunyuanTo3DProJob", {}) end,
        "hy3d.Engine:request: this engine has no API 3.0 credentials")
      g:close()
      local e = new { base_url = "http://127.0.0.1:" .. sandbox.dead_port(), tc3 = TC3 }
      assert.has_error(function() call(e, "Query Job", {}) end)
      assert.has_error(function() call(e, "", {}) end)
      local req = assert(call(e, "QueryHunyuanTo3DProJob", { JobId = "1" }))
      e:wait(req)
      local v, err = req:result()
      assert.is_nil(v)
      assert.equal("network", err.kind)
      e:close()
    end)
  end)
end)

-- A one-connection HTTP responder in a child process (luasocket): reads one request, answers
-- 200 with a JSON body that never ends (no Content-Length) and streams it until the client hangs
-- up or `cap` bytes are out. Returns its URL and a function that waits for (and returns) the
-- number of bytes it got to send.
local function endless_responder(cap)
  local script, out = os.tmpname(), os.tmpname()
  sandbox.write_file(script, [[
local socket = require "socket"
local cap = tonumber(arg[1])
local srv = assert(socket.bind("127.0.0.1", 0))
srv:settimeout(30)
local _, port = srv:getsockname()
io.stdout:write("port ", port, "\n")
io.stdout:flush()
local c = assert(srv:accept())
c:settimeout(30)
local len = 0
repeat
  local line = assert(c:receive("*l"))
  len = tonumber(line:lower():match("^content%-length:%s*(%d+)")) or len
until line == ""
if len > 0 then assert(c:receive(len)) end
assert(c:send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"))
local piece, sent = ("x"):rep(65536), 0
assert(c:send('{"Response":"'))
while sent < cap and c:send(piece) do sent = sent + #piece end
io.stdout:write("sent ", sent, "\n")
io.stdout:flush()
c:close()
]])
  assert(os.execute(("%s %s %s %d > %s 2>&1 &"):format(sandbox.lua_env(), sandbox.lua(), script, cap, out)))
  local function wait_for(pattern)
    local t0 = core.now()
    while core.now() - t0 < 60 do
      local v = (sandbox.read_file(out) or ""):match(pattern)
      if v then return tonumber(v) end
      core.sleep(0.01)
    end
    error("the responder never printed " .. pattern .. ": " .. (sandbox.read_file(out) or ""))
  end
  local port = wait_for("port (%d+)\n")
  return "http://127.0.0.1:" .. port, function()
    local sent = wait_for("sent (%d+)\n")
    os.remove(script)
    os.remove(out)
    return sent
  end
end

describe("hy3d.core engine against what a server may send", function()
  it("refuses an API answer larger than any API answer can be, without buffering it all", function()
    local MB = 1024 * 1024
    local cap = 96 * MB                         -- three times the 32 MiB an API answer may take
    local url, sent = endless_responder(cap)
    local e = new { base_url = url }
    local req = assert(query(e, "1"))
    assert.is_true(e:wait(req, 120))
    local res, err = req:result()
    assert.is_nil(res)
    assert.equal("decode", err.kind)
    assert.equal("RESPONSE_TOO_LARGE", err.code)
    e:close()
    -- the client hung up after 32 MiB: the server got out that plus what the sockets buffer
    assert.is_true(sent() < cap, "the client read the whole endless answer")
  end)

  describe("with the sandbox", function()
    local sb = sandbox.suite()

    it("drops the slashes a base_url ends with", function()
      for _, tail in ipairs { "/", "//" } do
        sb:reset()
        local e = new { base_url = sb.url .. tail, authorization = sb.key }
        local req = assert(query(e, "1"))
        assert.is_true(e:wait(req, 10))
        local _, err = req:result()
        assert.equal("FailedOperation.JobNotFound", err.code)
        local sent = sb:requests("query")
        assert.equal(1, #sent)
        assert.equal("/v1/ai3d/query", sent[1].path)
        e:close()
      end
    end)

    it("keeps every connection of a burst wider than its connection cache's floor for the next burst", function()
      local e = new { base_url = sb.url, authorization = sb.key }
      local n = 300                               -- over the 256 connections libcurl keeps at least
      local function burst()
        local reqs = {}
        for i = 1, n do reqs[i] = assert(query(e, tostring(i))) end
        for i = 1, n do
          assert.is_true(e:wait(reqs[i], 60))
          assert.equal("FailedOperation.JobNotFound", select(2, reqs[i]:result()).code)
          reqs[i]:close()
        end
      end
      local before = sb:stats().connections_opened
      burst()                                     -- all at once: n connections
      local mid = sb:stats().connections_opened
      assert.equal(before + n + 1, mid)           -- (each stats call opens one of its own)
      burst()                                     -- the same n again: on the connections kept
      assert.equal(mid + 1, sb:stats().connections_opened)
      e:close()
    end)
  end)
end)
