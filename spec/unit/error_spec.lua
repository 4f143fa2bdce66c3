-- hy3d.error: the error type, and the rule that credentials never show up in errors or tostring.
local hy3d = require "hy3d"
local errors = require "hy3d.error"
local cjson = require "cjson"
local sandbox = require "spec.support.sandbox"

-- Every string reachable from v (keys, values, nested tables, tostring of the root).
local function strings_in(v, out, seen)
  out, seen = out or {}, seen or {}
  if type(v) == "string" then
    out[#out + 1] = v
  elseif type(v) == "table" and not seen[v] then
    seen[v] = true
    for k, x in pairs(v) do
      strings_in(k, out, seen)
      strings_in(x, out, seen)
    end
  end
  return out
end

local function assert_no_secret(secret, v)
  local texts = strings_in(v)
  texts[#texts + 1] = tostring(v)
  for _, s in ipairs(texts) do
    assert.is_nil(s:find(secret, 1, true), "the secret leaked")
  end
end

describe("hy3d.error", function()
  it("formats one readable line with the details that are known", function()
    local e = errors.new { kind = "api", code = "FailedOperation.JobNotFound", message = "任务不存在",
                           http_status = 200, request_id = "r-1", job_id = "123" }
    assert.equal("hy3d api error FailedOperation.JobNotFound: 任务不存在 (HTTP 200, request r-1, job 123) — hint: "
      .. e.hint, tostring(e))
    e = errors.new { kind = "http", code = "HTTP_502", message = "line one\nline two", http_status = 502 }
    assert.equal("hy3d http error HTTP_502: line one line two (HTTP 502)", tostring(e))
    assert.equal("hy3d invalid error: no key", tostring(errors.new { kind = "invalid", message = "no key" }))
  end)

  it("knows its own kind of value", function()
    assert.is_true(errors.is(errors.new { kind = "io", message = "x" }))
    assert.is_false(errors.is { kind = "io" })
    assert.is_false(errors.is("io"))
  end)

  it("rejects kinds that do not exist", function()
    assert.has_error(function() errors.new { kind = "oops" } end)
  end)

  it("sets retryable from what the failure means", function()
    local function r(f) return errors.new(f).retryable end
    assert.is_true(r { kind = "network", code = "COULDNT_CONNECT" })
    assert.is_false(r { kind = "network", code = "CANCELLED" })
    assert.is_true(r { kind = "http", http_status = 429 })
    assert.is_true(r { kind = "http", http_status = 503 })
    assert.is_false(r { kind = "http", http_status = 401 })
    assert.is_true(r { kind = "api", code = "RequestLimitExceeded.JobNumExceed" })
    assert.is_false(r { kind = "api", code = "InvalidParameter" })
    assert.is_true(r { kind = "job", code = "FailedOperation.ServerError" })
    assert.is_false(r { kind = "job", code = "InvalidParameter" })
    assert.is_true(r { kind = "timeout" })
    assert.is_false(r { kind = "invalid" })
    assert.is_false(r { kind = "decode" })
    assert.is_false(r { kind = "network", code = "COULDNT_CONNECT", retryable = false })
  end)

  it("redacts secrets from every string at any depth, keys included, cycles and all", function()
    local cycle = { note = "sk-abc123 here" }
    cycle.self = cycle
    local e = errors.new({ kind = "job", message = "m", result = { list = { { "sk-abc123" } }, ["sk-abc123"] = 1,
                           loop = cycle } }, { "sk-abc123" })
    assert.equal("[redacted]", e.result.list[1][1])
    assert.equal(1, e.result["[redacted]"])
    assert.is_nil(e.result["sk-abc123"])
    assert.equal("[redacted] here", e.result.loop.note)
    assert.equal(cycle, cycle.self)
    assert_no_secret("sk-abc123", e)
    local t = errors.redact_all({ a = { b = "x sk-1 y" } }, { "sk-1" })
    assert.equal("x [redacted] y", t.a.b)
    -- a made-up one-letter secret renames no field (kind, job_id, ...); values are still redacted
    e = errors.new({ kind = "invalid", code = "INVALID_PARAMETER", job_id = "1", message = "kept" }, { "k" })
    assert.equal("invalid", e.kind)
    assert.equal("1", e.job_id)
    assert.equal("[redacted]ept", e.message)
  end)

  it("names TLS failures that retrying cannot fix", function()
    local function r(f) return errors.new(f).retryable end
    for _, code in ipairs { "PEER_FAILED_VERIFICATION", "SSL_CACERT_BADFILE", "SSL_CERTPROBLEM", "SSL_ISSUER_ERROR",
                            "SSL_CRL_BADFILE" } do
      assert.is_false(r { kind = "network", code = code }, code)
    end
    assert.is_false(r { kind = "network", code = "CURL_ERROR", curl_code = 90 })   -- SSL_PINNEDPUBKEYNOTMATCH
    assert.is_true(r { kind = "network", code = "SSL_CONNECT_ERROR", curl_code = 35 })
  end)

  it("names a TLS handshake answered in plain HTTP: not retryable, with a hint", function()
    for _, m in ipairs { "OpenSSL/3.0.19: error:0A00010B:SSL routines::wrong version number",
                         "error:1408F10B:SSL routines:ssl3_get_record:wrong version number",
                         "error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER",
                         "GnuTLS recv error (-15): An unexpected TLS packet was received." } do
      local e = errors.new { kind = "network", code = "SSL_CONNECT_ERROR", curl_code = 35, message = m }
      assert.is_true(errors.plain_http(e), m)
      assert.is_false(e.retryable, m)
    end
    local alert = errors.new { kind = "network", code = "SSL_CONNECT_ERROR", curl_code = 35,
                               message = "OpenSSL/3.0.19: error:0A000410:SSL routines::sslv3 alert handshake failure" }
    assert.is_false(errors.plain_http(alert))
    assert.is_true(alert.retryable)
  end)

  it("adds a one-line English hint to the codes users meet, even under a Chinese message", function()
    local CODES = {
      ["FailedOperation.JobNotFound"] = "24 hours", ["RequestLimitExceeded.JobNumExceed"] = "max_concurrent_jobs",
      ["RequestLimitExceeded"] = "requests per second",
      ["AuthFailure.SignatureFailure"] = "TENCENTCLOUD_SECRET_KEY", ["AuthFailure.SecretIdNotFound"] = "TENCENTCLOUD_SECRET_ID",
      ["AuthFailure.SignatureExpire"] = "clock", ["AuthFailure.TokenFailure"] = "TENCENTCLOUD_SESSION_TOKEN",
      ["AuthFailure.UnauthorizedOperation"] = "QcloudAI3DFullAccess", ["AuthFailure.InvalidSecretId"] = "AKID",
      ["AuthFailure.InvalidAuthorization"] = "TC3-HMAC-SHA256", ["AuthFailure.MFAFailure"] = "credentials",
      ["InvalidParameter"] = "field", ["InvalidParameterValue"] = "value",
      ["InvalidParameterValue.Model"] = "value", ["MissingParameter"] = "required", ["UnknownParameter"] = "case",
      ["FailedOperation.DownloadError"] = "reach", ["RequestSizeLimitExceeded"] = "ImageUrl",
      ["UnsupportedRegion"] = "ap-guangzhou", ["ResourceNotFound"] = "24 hours",
    }
    for code, word in pairs(CODES) do
      local e = errors.new { kind = "api", code = code, message = "任务不存在" }
      assert.is_string(e.hint, code)
      assert.is_nil(e.hint:find("[\r\n]"), code)
      assert.is_nil(e.hint:find("[\227-\233]"), code)            -- English
      assert.truthy(e.hint:find(word, 1, true), code .. ": " .. e.hint)
      local line = tostring(e)
      assert.truthy(line:find("任务不存在", 1, true), line)
      assert.truthy(line:find(e.hint, 1, true), line)
    end
    -- a job that failed with such a code gets it too; codes hy3d knows nothing of get none
    assert.is_string(errors.new { kind = "job", code = "InvalidParameter", message = "参数错误。" }.hint)
    assert.is_nil(errors.new { kind = "api", code = "FailedOperation.Something", message = "x" }.hint)
    assert.is_nil(errors.new { kind = "invalid", code = "INVALID_PARAMETER", message = "x" }.hint)
    -- a hint given by the caller (it knows more, e.g. the host) stays
    assert.equal("mine", errors.new { kind = "api", code = "InvalidParameter", hint = "mine" }.hint)
    -- and secrets never get in through one
    local e = errors.new({ kind = "network", code = "SSL_CONNECT_ERROR", hint = "at sk-abc123" }, { "sk-abc123" })
    assert.equal("at [redacted]", e.hint)
  end)

  it("redacts secrets from every string field", function()
    local e = errors.new({ kind = "http", message = "bad key sk-abc123 and sk-abc123 again", code = "sk-abc123" },
      { "sk-abc123" })
    assert.equal("bad key [redacted] and [redacted] again", e.message)
    assert.equal("[redacted]", e.code)
    assert.equal("a.b[redacted]c", errors.redact("a.b%c", { "%" }))   -- plain text, not a pattern
  end)

  it("redacts in one pass, the longest secret first, and never breaks its own marker", function()
    -- the longer secret wins where both start: no tail of it is left behind
    assert.equal("x [redacted] y [redacted]", errors.redact("x sk-long-key-1 y sk-long", { "sk-long", "sk-long-key-1" }))
    -- a secret that is a common word (even the marker's own) leaves the marker whole, however often redacted
    local once = errors.redact("the key was redacted, then [redacted] again", { "redacted" })
    assert.equal("the key was [redacted], then [redacted] again", once)
    assert.equal(once, errors.redact(once, { "redacted" }))
    assert.equal("[redacted]", errors.redact("[redacted]", { "[redacted]", "redacted]", "d]" }))
    -- an error made again from a redacted one (the client does this) keeps its markers
    local e = errors.new({ kind = "http", code = "invalid_api_key", message = "key redacted refused" }, { "redacted" })
    e = errors.new(e, { "redacted" })
    assert.equal("key [redacted] refused", e.message)
    local t = errors.redact_all({ ["[redacted]"] = "redacted", list = { "[redacted]" } }, { "redacted" })
    assert.equal("[redacted]", t["[redacted]"])
    assert.equal("[redacted]", t.list[1])
  end)

  it("suggests language = \"en-US\" only for a non-English message from an API 3.0 client not already in English", function()
    local function hint(fields, ctx)
      fields.kind = fields.kind or "api"
      return errors.new(fields, nil, ctx).hint
    end
    local zh, en = "【FaceCount】参数取值错误", "FaceCount must be in [3000, 1500000]"
    for _, code in ipairs { "InvalidParameter", "InvalidParameterValue", "InvalidParameterValue.FaceCount" } do
      local h = hint({ code = code, message = zh }, { door = "api3" })
      assert.truthy(h:find('language = "en-US"', 1, true), code .. ": " .. h)
      for _, case in ipairs {
        { { code = code, message = en }, { door = "api3" } },                         -- English already
        { { code = code, message = zh }, { door = "api3", language = "en-US" } },     -- the client asked already
        { { code = code, message = zh }, { door = "gateway" } },                      -- language does nothing there
        { { code = code, message = zh } },                                            -- the door is not known
      } do
        h = hint(case[1], case[2])
        assert.is_string(h, code)
        assert.is_nil(h:find("language", 1, true), code .. ": " .. h)
      end
    end
  end)
end)

describe("hy3d.assert", function()
  local PUC51 = _VERSION == "Lua 5.1" and not rawget(_G, "jit")

  it("returns every argument when the first is true, like assert", function()
    local a, b, c = hy3d.assert("path", 42, false)
    assert.same({ "path", 42, false }, { a, b, c })
  end)

  it("shows hy3d's message where plain assert hides it, and keeps the fields where the Lua can", function()
    local err = errors.new { kind = "http", code = "invalid_api_key", message = "Incorrect API key provided",
                             http_status = 401 }
    local ok, raised = pcall(function() hy3d.assert(nil, err) end)
    assert.is_false(ok)
    if PUC51 then       -- the 5.1 interpreter prints only strings: the message, at the caller's line
      assert.equal("string", type(raised))
      assert.matches("error_spec%.lua:%d+: hy3d http error invalid_api_key: Incorrect API key provided", raised)
    else                -- 5.2+ and LuaJIT print a table through __tostring: pcall gets the fields
      assert.equal(err, raised)
      assert.equal("invalid_api_key", raised.code)
    end
    -- what a script's user sees when nothing catches it
    local script = os.tmpname()
    sandbox.write_file(script, 'local hy3d = require "hy3d"\n'
      .. 'hy3d.assert(nil, hy3d.Error.new { kind = "http", code = "invalid_api_key", message = "Incorrect API key provided" })\n')
    local _, out = sandbox.run(("env %s %s %s 2>&1"):format(sandbox.lua_env(), sandbox.lua(), script))
    os.remove(script)
    assert.matches("Incorrect API key provided", out, 1, true)
    assert.is_nil(out:find("error object is not a string", 1, true))
    assert.is_nil(out:find("bad argument", 1, true))
  end)

  it("raises a string message, or 'assertion failed!', as assert does", function()
    local ok, raised = pcall(function() hy3d.assert(false, "plain words") end)
    assert.is_false(ok)
    assert.matches("plain words$", raised)
    ok, raised = pcall(function() hy3d.assert(nil) end)
    assert.is_false(ok)
    assert.matches("assertion failed!$", raised)
  end)
end)

describe("credentials", function()
  local sb = sandbox.suite { reset = false }
  local key

  setup(function()
    key = sb.key
  end)

  it("never appear in tostring(client) or anywhere in the client table", function()
    local c = sb:client()
    assert_no_secret(key, c)
    c:close()
  end)

  it("never appear in an error even when the server echoes the key", function()
    local c = sb:client { max_retries = 0 }
    sb:fault { route = "submit", action = "status", status = 401, content_type = "application/json",
               body = cjson.encode { error = { message = "Incorrect API key provided: " .. key, code = key } } }
    local job, err = c:submit { Prompt = "x" }
    assert.is_nil(job)
    assert.equal(401, err.http_status)
    assert.matches("Incorrect API key provided: %[redacted%]", err.message)
    assert_no_secret(key, err)
    sb:fault { route = "query", action = "api_error", code = "AuthFailure", message = "key " .. key .. " refused" }
    local _, err2 = c:query("1")
    assert.equal("api", err2.kind)
    assert_no_secret(key, err2)
    sb:fault { route = "query", action = "status", status = 500, body = "trace: Authorization=" .. key }
    local _, err3 = c:query("1")
    assert.equal("http", err3.kind)
    assert_no_secret(key, err3)
    c:close()
  end)

  it("are never stored by the sandbox's request log", function()
    local c = sb:client()
    assert(c:submit { Prompt = "x" })
    assert_no_secret(key, sb:requests())
    c:close()
  end)

  -- Every door's secrets, and a hostile answer per call that echoes them at every depth: in
  -- ErrorMessage (as text and as a table), in nested result fields, as an object key, in a
  -- header-ish field. No string anywhere in what hy3d hands back may hold one.
  local TOKEN = "sts/token+with/slashes=0123456789"
  local function doors()
    return {
      { name = "gateway", client = sb:client { max_retries = 0 }, secrets = { key } },
      { name = "API 3.0", client = hy3d.new { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key,
          token = TOKEN, endpoint = sb.url, max_retries = 0 }, secrets = { sandbox.secret_key, TOKEN } },
    }
  end

  local function hostile(route, body)
    sb:fault { route = route, action = "status", status = 200, content_type = "application/json",
               body = cjson.encode { Response = body } }
  end

  for _, which in ipairs { "gateway", "API 3.0" } do
    it("never appear in what a call returns when a server echoes them in nested fields (" .. which .. ")", function()
      sb:reset()
      local door
      for _, d in ipairs(doors()) do
        if d.name == which then door = d else d.client:close() end
      end
      local c, s1 = door.client, door.secrets[1]
      local s2 = door.secrets[2] or s1
      local function check(v)
        for _, secret in ipairs(door.secrets) do assert_no_secret(secret, v) end
      end
      hostile("submit", { JobId = "42", RequestId = "r-" .. s1, Echo = { [s1] = { "deep " .. s2, { s1 } } },
                          Headers = { Authorization = "TC3-HMAC-SHA256 Credential=x, Signature=" .. s2 } })
      local job = assert(c:submit { Prompt = "x" })
      assert.equal("42", job.JobId)
      assert.equal("r-[redacted]", job.RequestId)
      check(job)
      local done = { Status = "DONE", RequestId = s2, ErrorCode = "", ErrorMessage = "",
                     ResultFile3Ds = { { Type = "GLB", Url = "http://127.0.0.1:9/m.glb?key=" .. s1,
                                         Extra = { Trace = { "X-TC-Token: " .. s2 } } } } }
      hostile("query", done)
      local res = assert(c:query(job))
      check(res)
      assert.equal("http://127.0.0.1:9/m.glb?key=[redacted]", res.ResultFile3Ds[1].Url)
      hostile("query", done)
      res = assert(c:wait(job, { interval = 0 }))
      check(res)
      local fail = { Status = "FAIL", ErrorCode = "FailedOperation.Echo", RequestId = "r",
                     ErrorMessage = "refused key " .. s1 .. " and " .. s2,
                     Detail = { Request = { Headers = { ["X-TC-Token"] = s2, Authorization = s1 } } } }
      hostile("query", fail)
      local _, err = c:wait(job, { interval = 0 })
      assert.equal("job", err.kind)
      assert.equal("FAIL", err.result.Status)
      assert.matches("refused key %[redacted%] and %[redacted%]", err.message)
      check(err)
      fail.ErrorMessage = { text = "a table of " .. s1, nested = { s2 } }
      hostile("query", fail)
      _, err = c:wait(job, { interval = 0 })
      check(err)
      -- an answer that holds no secret comes back as it came (hy3d checks in C, then redacts only
      -- an answer that mentions one): a marker, a secret's prefix and keys untouched
      local clean = { Status = "RUN", RequestId = "r", ErrorMessage = "kept [redacted] " .. s1:sub(1, 4),
                      Extra = { [s2:sub(1, 4) .. "x"] = { "[redacted]" } } }
      hostile("query", clean)
      res = assert(c:query(job))
      assert.equal("kept [redacted] " .. s1:sub(1, 4), res.ErrorMessage)
      assert.same({ [s2:sub(1, 4) .. "x"] = { "[redacted]" } }, res.Extra)
      -- a secret the JSON text spells with escapes (\u0073, \/, \u00XX) is one once decoded: still redacted
      local function spelt(secret)
        return secret:sub(1, 1) .. ("\\u%04x"):format(secret:byte(2)) .. secret:sub(3, -2)
          .. ("\\u%04X"):format(secret:byte(-1))
      end
      sb:fault { route = "query", action = "status", status = 200, content_type = "application/json",
                 body = '{"Response":{"Status":"RUN","RequestId":"r","ErrorMessage":"a\\/b ' .. spelt(s1)
                   .. '","Extra":{"' .. spelt(s2) .. '":["x"]}}}' }
      res = assert(c:query(job))
      assert.equal("a/b [redacted]", res.ErrorMessage)
      check(res)
      c:close()
    end)
  end

  it("a table where a message belongs reads as its JSON, never as table: 0x", function()
    sb:reset()
    local c = sb:client { max_retries = 0 }
    hostile("query", { Status = "FAIL", ErrorCode = { "FailedOperation", "Nested" }, RequestId = { id = 7 },
                       ErrorMessage = { reason = "the mesh would not close", step = 3 } })
    local _, err = c:wait("1", { interval = 0 })
    assert.equal("job", err.kind)
    local line = tostring(err)
    assert.is_nil(line:find("table: ", 1, true), line)
    assert.matches('"reason":"the mesh would not close"', err.message)
    assert.matches('"reason":"the mesh would not close"', line)
    assert.equal('["FailedOperation","Nested"]', err.code)
    assert.matches('request {"id":7}', line, 1, true)
    -- a long one is cut short
    hostile("query", { Status = "FAIL", ErrorCode = "FailedOperation.Long", ErrorMessage = { ("x"):rep(5000) } })
    _, err = c:wait("1", { interval = 0 })
    assert.is_true(#err.message < 300, #err.message)
    assert.matches("%.%.%.$", err.message)
    c:close()
  end)

  it("never appear in option errors", function()
    local ok, msg = pcall(hy3d.new, { api_key = "sk-\1secret-value" })
    assert.is_false(ok)
    assert.is_nil(msg:find("secret-value", 1, true))
  end)
end)
