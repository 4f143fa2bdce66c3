-- hy3d clients against hy3d-sandbox: options, the request on the wire, query results, error kinds.
local hy3d = require "hy3d"
local cjson = require "cjson"
local socket = require "socket"
local sandbox = require "spec.support.sandbox"


describe("hy3d.new", function()
  it("raises on unknown options, naming the known ones", function()
    -- every option, sorted (the list grows with each door: read it from hy3d.options, check a few by name)
    local known = {}
    for name in pairs(require("hy3d.options").types) do known[#known + 1] = name end
    table.sort(known)
    for _, name in ipairs { "allow_http", "api_key", "door", "endpoint", "secret_id", "service", "site", "stuck_timeout",
                             "sync_generate", "yield" } do
      assert.is_not_nil(require("hy3d.options").types[name], name)
    end
    assert.has_error(function() hy3d.new { api_kye = "x" } end,
      "hy3d.new: unknown option 'api_kye' (known: " .. table.concat(known, ", ") .. ")")
  end)

  it("raises on wrong option types and values", function()
    assert.has_error(function() hy3d.new "sk-x" end, "hy3d.new: options must be a table")
    assert.has_error(function() hy3d.new { timeout = "60" } end, "hy3d.new: option 'timeout' must be a number, got string")
    assert.has_error(function() hy3d.new { timeout = 0 } end, "hy3d.new: timeout must be > 0")
    assert.has_error(function() hy3d.new { poll_interval = -1 } end, "hy3d.new: poll_interval must be >= 0")
    assert.has_error(function() hy3d.new { base_url = "ftp://x" } end)
    assert.has_error(function() hy3d.new { auth_scheme = "Basic" } end)
    assert.has_error(function() hy3d.new { api_key = "sk-a\nb" } end, "hy3d.new: api_key contains control characters")
  end)

  it("refuses a secret shorter than 8 characters, from an option or the environment, never showing it", function()
    local function refused(opts, names)
      local ok, msg = pcall(hy3d.new, opts)
      assert.is_false(ok, "accepted")
      assert.is_string(msg)
      assert.matches("shorter than 8 characters", msg, 1, true)
      for _, name in ipairs(names) do assert.truthy(msg:find(name, 1, true), name .. " not named in: " .. msg) end
      assert.is_nil(msg:find("Zq7", 1, true), "the value leaked: " .. msg)
    end
    refused({ api_key = "Zq7" }, { "api_key", "HY3D_API_KEY" })
    refused({ api_key = "  Zq7xxx  " }, { "api_key" })                     -- trimmed first
    refused({ secret_id = "AKIDx", secret_key = "Zq7" }, { "secret_key", "TENCENTCLOUD_SECRET_KEY" })
    refused({ secret_id = "AKIDx", secret_key = "Zq7-long-enough", token = "Zq7" },
      { "token", "TENCENTCLOUD_SESSION_TOKEN" })
    local real = os.getenv
    local function with_env(vars, fn)
      os.getenv = function(k) if vars[k] ~= nil then return vars[k] or nil end return real(k) end   -- luacheck: ignore 122
      local ok, e = pcall(fn)
      os.getenv = real                                                                            -- luacheck: ignore 122
      if not ok then error(e, 0) end
    end
    with_env({ HY3D_API_KEY = "Zq7" }, function() refused({}, { "HY3D_API_KEY", "api_key" }) end)
    with_env({ HY3D_API_KEY = false, TENCENTCLOUD_SECRET_ID = "AKIDx", TENCENTCLOUD_SECRET_KEY = "Zq7" },
      function() refused({}, { "TENCENTCLOUD_SECRET_KEY", "secret_key" }) end)
    with_env({ HY3D_API_KEY = false, TENCENTCLOUD_SECRET_ID = "AKIDx", TENCENTCLOUD_SECRET_KEY = "Zq7-long-enough",
               TENCENTCLOUD_SESSION_TOKEN = "Zq7" },
      function() refused({}, { "TENCENTCLOUD_SESSION_TOKEN", "token" }) end)
    -- 8 characters will do; the SecretId is no secret and may be anything
    hy3d.new({ api_key = "12345678", base_url = "http://127.0.0.1:9" }):close()
    hy3d.new({ secret_id = "A", secret_key = "12345678", token = "12345678", endpoint = "http://127.0.0.1:9" }):close()
  end)

  it("takes a language tag such as en-US or zh-CN, and refuses anything else", function()
    for _, tag in ipairs { "en-US", "zh-CN", "ja-JP" } do
      hy3d.new({ secret_id = "AKIDx", secret_key = "secret-key-0", endpoint = "http://127.0.0.1:9",
                 language = tag }):close()
      -- a gateway client takes it too (env-driven setups set it for both doors); it changes nothing there
      hy3d.new({ api_key = "sk-long-key", base_url = "http://127.0.0.1:9", language = tag }):close()
    end
    for _, bad in ipairs { "fr", "en_US", "english", "", "en-US\n", "zh-Hans-CN" } do
      local ok, msg = pcall(hy3d.new, { secret_id = "AKIDx", secret_key = "secret-key-0",
                                        endpoint = "http://127.0.0.1:9", language = bad })
      assert.is_false(ok, bad)
      assert.matches("hy3d.new: language must be a language tag such as \"en-US\" or \"zh-CN\"", msg, 1, true)
    end
  end)

  it("defaults base_url to the environment, else the public gateway", function()
    local c = hy3d.new {}
    assert.equal(os.getenv("HY3D_BASE_URL") or "https://api.ai3d.cloud.tencent.com", c.base_url)
    assert.equal(60, c.request_timeout)
    assert.equal(5, c.poll_interval)
    c:close()
  end)
end)

describe("client", function()
  local sb = sandbox.suite { wait_time = 1, run_time = 1 }
  local client

  setup(function()
    client = sb:client { poll_interval = 0.05, max_retries = 0 }   -- one exchange each (retries: reliability_spec)
  end)

  describe("submit", function()
    it("sends exactly the documented request", function()
      local params = { Prompt = "一把小木椅 — a small wooden chair 🪑", FaceCount = 50000, EnablePBR = true,
                       GenerateType = "Normal", Model = "3.0" }
      local job, err = client:submit(params)
      assert.is_nil(err)
      assert.matches("^%d+$", job.JobId)
      assert.is_string(job.RequestId)
      local log = sb:requests("submit")
      assert.equal(1, #log)
      local r = log[1]
      assert.equal("POST", r.method)
      assert.equal("/v1/ai3d/submit", r.path)
      assert.equal("raw", r.auth)
      assert.is_true(r.key_ok)
      assert.equal("application/json", r.headers["content-type"])
      local ua_prefix = "hy3d/" .. hy3d._VERSION .. " (libcurl/"     -- HY3D_VERSION
      assert.equal(ua_prefix, r.headers["user-agent"]:sub(1, #ua_prefix))
      assert.same(params, cjson.decode(r.body))
      assert.truthy(r.body:find("一把小木椅 — a small wooden chair 🪑", 1, true))  -- UTF-8 intact, not escaped
    end)

    it("sends 'Bearer <key>' when auth_scheme is Bearer", function()
      local c = sb:client { auth_scheme = "Bearer" }
      assert(c:submit { Prompt = "x" })
      local r = sb:requests("submit")[1]
      assert.equal("bearer", r.auth)
      assert.is_true(r.key_ok)
      c:close()
    end)

    it("returns the service's validation errors as api errors", function()
      local c = sb:client { validate = false, max_retries = 0 }   -- let the service judge
      local job, err = c:submit { Prompt = "x", FaceCount = 5 }
      assert.is_nil(job)
      assert.equal("api", err.kind)
      assert.equal("InvalidParameterValue", err.code)
      assert.matches("FaceCount", err.message)
      assert.is_string(err.request_id)
      assert.equal(200, err.http_status)
      assert.is_false(err.retryable)
    end)

    it("reports values JSON cannot hold as invalid, without sending anything", function()
      local job, err = client:submit { Prompt = "x", Callback = print }
      assert.is_nil(job)
      assert.equal("invalid", err.kind)
      assert.equal(0, #sb:requests("submit"))
    end)

    it("fails with invalid, not a request, when there is no API key", function()
      local c = hy3d.new { base_url = sb.url, api_key = "" }
      local job, err = c:submit { Prompt = "x" }
      assert.is_nil(job)
      assert.equal("invalid", err.kind)
      assert.matches("HY3D_API_KEY", err.message)
      assert.equal(0, #sb:requests("submit"))
      c:close()
    end)
  end)

  describe("query", function()
    it("returns each status as the job moves WAIT -> RUN -> DONE", function()
      -- Queries (by the job, or by its JobId string) every 50 ms until the status is no longer
      -- `from`; returns that answer. The phases last 1 s each: no poll can miss one.
      local function next_status(job, from, by_id)
        for _ = 1, 200 do
          local r = assert(client:query(by_id and job.JobId or job))
          if r.Status ~= from then return r end
          socket.sleep(0.05)
        end
        error("the job was still " .. from .. " after 10 s")
      end
      local job = assert(client:submit { Prompt = "a chair" })
      local r = assert(client:query(job))
      assert.equal("WAIT", r.Status)
      assert.same({}, r.ResultFile3Ds)
      assert.equal("", r.ErrorCode)
      r = next_status(job, "WAIT", true)
      assert.equal("RUN", r.Status)
      assert.same({}, r.ResultFile3Ds)
      r = next_status(job, "RUN")
      assert.equal("DONE", r.Status)
      assert.equal(2, #r.ResultFile3Ds)
      assert.equal("OBJ", r.ResultFile3Ds[1].Type)
      assert.equal("GLB", r.ResultFile3Ds[2].Type)
      assert.matches("^http://127%.0%.0%.1:%d+/files/" .. job.JobId .. "/model%.glb%?q%-sign", r.ResultFile3Ds[2].Url)
      assert.matches("preview%.png", r.ResultFile3Ds[2].PreviewImageUrl)
      assert.is_string(r.RequestId)
    end)

    it("returns FAIL with the job's error code", function()
      sb:fault { action = "fail", code = "FailedOperation.ServerError", message = "算法服务异常" }
      sb:config { wait_time = 0, run_time = 0 }
      local job = assert(client:submit { Prompt = "a chair" })
      local r = assert(client:query(job))
      assert.equal("FAIL", r.Status)
      assert.equal("FailedOperation.ServerError", r.ErrorCode)
      assert.equal("算法服务异常", r.ErrorMessage)
      sb:config { wait_time = 1, run_time = 1 }
    end)

    it("reports an unknown JobId as an api error with the server's code", function()
      local r, err = client:query("1357237233311637504")
      assert.is_nil(r)
      assert.equal("api", err.kind)
      assert.equal("FailedOperation.JobNotFound", err.code)
      assert.equal("1357237233311637504", err.job_id)
      assert.is_string(err.request_id)
    end)

    it("sends the JobId as the documented body", function()
      client:query("42")
      local r = sb:requests("query")[1]
      assert.equal("/v1/ai3d/query", r.path)
      assert.same({ JobId = "42" }, cjson.decode(r.body))
    end)

    it("reuses one TCP connection for 100 sequential queries", function()
      local job = assert(client:submit { Prompt = "a chair" })
      for _ = 1, 100 do assert(client:query(job)) end
      local conns = {}
      for _, r in ipairs(sb:requests("query")) do conns[r.connection] = true end
      local n = 0
      for _ in pairs(conns) do n = n + 1 end
      assert.equal(100, #sb:requests("query"))
      assert.equal(1, n)
    end)

    it("raises on wrong argument types", function()
      assert.has_error(function() client:query() end)
      assert.has_error(function() client:query(12345.5) end)   -- a whole number is a JobId; 12345.5 is not
      assert.has_error(function() client:query {} end)
      assert.has_error(function() client:query("") end)
      assert.has_error(function() client:submit("a chair") end)
      assert.has_error(function() client:wait(nil) end)
      assert.has_error(function() client:download(nil, "x") end)
    end)
  end)

  describe("errors", function()
    it("reports a bad key as an http error with status 401", function()
      local c = hy3d.new { api_key = "sk-wrong", base_url = sb.url }
      local job, err = c:submit { Prompt = "x" }
      assert.is_nil(job)
      assert.equal("http", err.kind)
      assert.equal(401, err.http_status)
      assert.equal("invalid_api_key", err.code)
      assert.equal("Incorrect API key provided", err.message)
      c:close()
    end)

    it("reports nothing listening as a network error", function()
      local c = hy3d.new { api_key = "sk-dead-port", base_url = "http://127.0.0.1:" .. sandbox.dead_port() }
      local r, err = c:query("1")
      assert.is_nil(r)
      assert.equal("network", err.kind)
      assert.equal("COULDNT_CONNECT", err.code)
      assert.is_true(err.retryable)
      assert.equal("1", err.job_id)
      c:close()
    end)

    it("reports a non-JSON 200 body as a decode error", function()
      sb:fault { route = "query", action = "garbage" }
      local r, err = client:query("1")
      assert.is_nil(r)
      assert.equal("decode", err.kind)
      assert.matches("not a JSON object", err.message)
      assert.equal(200, err.http_status)
    end)

    it("reports a non-JSON error status as an http error", function()
      sb:fault { route = "query", action = "status", status = 502, body = "Bad Gateway" }
      local r, err = client:query("1")
      assert.is_nil(r)
      assert.equal("http", err.kind)
      assert.equal(502, err.http_status)
      assert.equal("HTTP_502", err.code)
      assert.is_true(err.retryable)
    end)

    it("reports a dropped connection as a network error", function()
      -- libcurl retries by itself when a reused connection dies before answering: drop them all
      sb:fault { route = "query", action = "close", count = -1 }
      local r, err = client:query("1")
      assert.is_nil(r)
      assert.equal("network", err.kind)
      assert.equal("GOT_NOTHING", err.code)
    end)

    it("reports a per-request timeout as a network error", function()
      local c = sb:client { timeout = 0.3, max_retries = 0 }
      sb:fault { route = "query", action = "delay", delay = 1.5 }
      local r, err = c:query("1")
      assert.is_nil(r)
      assert.equal("network", err.kind)
      assert.equal("OPERATION_TIMEDOUT", err.code)
      assert.is_true(err.sent)
      c:close()
    end)
  end)
end)

describe("client with a flat response envelope", function()
  it("accepts bodies without the Response wrapper", function()
    local sb = sandbox.start { envelope = "flat", wait_time = 0, run_time = 0 }
    finally(function() sb:stop() end)
    local c = sb:client()
    local job = assert(c:submit { Prompt = "a chair" })
    assert.matches("^%d+$", job.JobId)
    local r = assert(c:query(job))
    assert.equal("DONE", r.Status)
    local _, err = c:query("999")
    assert.equal("api", err.kind)
    assert.equal("FailedOperation.JobNotFound", err.code)
    c:close()
  end)
end)

describe("module-level functions", function()
  it("use a default client configured from the environment", function()
    local sb = sandbox.start { wait_time = 0, run_time = 0.1 }
    finally(function() sb:stop() end)
    local script = [[
      local hy3d = require "hy3d"
      local job = assert(hy3d.submit { Prompt = "a chair" })
      local r = assert(hy3d.query(job))
      local done = assert(hy3d.wait(job.JobId, { interval = 0.05 }))
      local path, bytes = assert(hy3d.download(done.ResultFile3Ds[2].Url, os.getenv("OUT")))
      io.write(r.Status, " ", done.Status, " ", bytes)
    ]]
    local out = os.tmpname()
    local ok, output = sandbox.run(("HY3D_API_KEY=%s HY3D_BASE_URL=%s OUT=%s %s %s -e %s")
      :format(sb.key, sb.url, out, sandbox.lua_env(), sandbox.lua(), sandbox.shell_quote(script)))
    assert.is_true(ok, output)
    assert.matches("^%u+ DONE %d+$", output)
    os.remove(out)
  end)
end)

describe("issue 15 seams of the client", function()
  it("accepts every key of hy3d.defaults as an option of hy3d.new", function()
    local n = 0
    for k, v in pairs(hy3d.defaults) do
      local opts = { api_key = "sk-defaults", base_url = "http://127.0.0.1:9" }
      if opts[k] == nil then opts[k] = v end
      local ok, err = pcall(hy3d.new, opts)
      assert.is_true(ok, ("hy3d.defaults.%s: %s"):format(k, tostring(err)))
      err:close()
      n = n + 1
    end
    assert.is_true(n >= 10, "hy3d.defaults lists the option defaults")
  end)

  it("suggests language = \"en-US\" only to an API 3.0 client that got a message in another language", function()
    local sb = sandbox.start { wait_time = 0, run_time = 0.1 }
    finally(function() sb:stop() end)
    local function api3(opts)
      local o = { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url, max_retries = 0,
                  validate = false }
      for k, v in pairs(opts or {}) do o[k] = v end
      return hy3d.new(o)
    end
    local zh, en = api3(), api3 { language = "en-US" }
    local gw = sb:client { validate = false, max_retries = 0 }
    local _, err = zh:submit { Prompt = "x", FaceCount = 1 }
    assert.matches("^InvalidParameter", err.code)
    assert.truthy(err.hint:find('language = "en-US"', 1, true), err.hint)
    _, err = en:submit { Prompt = "x", FaceCount = 1 }
    assert.matches("^InvalidParameter", err.code)
    assert.is_nil(err.hint:find("language", 1, true), err.hint)
    _, err = gw:submit { Prompt = "x", FaceCount = "50000" }
    assert.is_string(err.hint, tostring(err))
    assert.is_nil(err.hint:find("language", 1, true), err.hint)
    for _, c in ipairs { zh, en, gw } do c:close() end
  end)

  it("convert on the gateway names convert, not call", function()
    local g = hy3d.new { api_key = "sk-gateway", base_url = "http://127.0.0.1:9" }
    local _, err = g:convert { File3D = "https://e.com/a.obj", Format = "STL" }
    assert.equal("invalid", err.kind)
    assert.equal("CONVERT_NEEDS_API3", err.code)
    assert.matches("^convert ", err.message)
    assert.falsy(err.message:find("call", 1, true), err.message)
    g:close()
  end)

  it("an https:// URL at a plain-http port fails at once with a hint to use http://", function()
    local sb = sandbox.start {}
    finally(function() sb:stop() end)
    local hostport = sb.url:match("^http://(.+)$")
    -- the sandbox answers a TLS hello at once (as a plain-HTTP server does), not at its header deadline
    local raw = assert(socket.connect(hostport:match("^(.+):(%d+)$")))
    raw:settimeout(5)                                -- well under the 10 s a silent server would take
    raw:send("\22\3\1\0\5\1\0\0\1\0")
    assert.matches("^HTTP/1%.1 400", assert(raw:receive("*l")))
    raw:close()
    local tries = 0
    local c = hy3d.new { api_key = sb.key, base_url = "https://" .. hostport, max_retries = 3, retry_base = 0.01,
                         on_retry = function() tries = tries + 1 end }
    local _, err = c:submit { Prompt = "a chair" }
    assert.equal("network", err.kind)
    assert.equal(0, tries, "a TLS handshake with a plain-HTTP server is not retried")
    assert.equal(1, err.attempts)
    assert.is_false(err.retryable)
    assert.truthy(tostring(err):find("the server at " .. hostport .. " speaks plain HTTP; use http://", 1, true),
      tostring(err))
    local _, qerr = c:query("1234567890123456789")
    assert.equal(1, qerr.attempts)
    assert.truthy(tostring(qerr):find("use http://", 1, true), tostring(qerr))
    assert.equal(0, sb:stats().jobs_created)
    c:close()
  end)
end)
