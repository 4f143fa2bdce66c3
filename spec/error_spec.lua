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
    assert.equal("hy3d api error FailedOperation.JobNotFound: 任务不存在 (HTTP 200, request r-1, job 123)", tostring(e))
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

  it("redacts secrets from every string field", function()
    local e = errors.new({ kind = "http", message = "bad key sk-abc123 and sk-abc123 again", code = "sk-abc123" },
      { "sk-abc123" })
    assert.equal("bad key [redacted] and [redacted] again", e.message)
    assert.equal("[redacted]", e.code)
    assert.equal("a.b[redacted]c", errors.redact("a.b%c", { "%" }))   -- plain text, not a pattern
  end)
end)

describe("credentials", function()
  local sb, key

  setup(function()
    sb = sandbox.start()
    key = sb.key
  end)

  teardown(function()
    sb:stop()
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

  it("never appear in option errors", function()
    local ok, msg = pcall(hy3d.new, { api_key = "sk-\1secret-value" })
    assert.is_false(ok)
    assert.is_nil(msg:find("secret-value", 1, true))
  end)
end)
