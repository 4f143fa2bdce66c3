-- hy3d clients on Tencent Cloud API 3.0 (TC3-HMAC-SHA256) against the sandbox's 3.0 door: every
-- job kind, call, convert, credentials from options and the environment, and the secret's safety.
local hy3d = require "hy3d"
local sandbox = require "spec.support.sandbox"

describe("API 3.0 client", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2, extra = { "--concurrency", "pro=0,default=0" }, reset = false }
  local client

  setup(function()
    client = hy3d.new { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url,
                        poll_interval = 0.05 }
  end)

  teardown(function()
    client:close()
  end)

  it("signs a Pro submit with non-ASCII text, sends the documented headers and waits for it", function()
    sb:reset()
    local job, err = client:submit { Prompt = "一把小木椅 — a small wooden chair 🪑", FaceCount = 20000 }
    assert.is_nil(err)
    assert.equal("pro", job.kind)
    local r = sb:requests("api")[1]
    assert.equal("SubmitHunyuanTo3DProJob", r.headers["x-tc-action"])
    assert.equal("2025-05-13", r.headers["x-tc-version"])
    assert.equal("ap-guangzhou", r.headers["x-tc-region"])
    assert.is_true(math.abs(tonumber(r.headers["x-tc-timestamp"]) - os.time()) <= 5)
    assert.equal("application/json", r.headers["content-type"])
    assert.matches("^TC3%-HMAC%-SHA256 Credential=" .. sandbox.secret_id .. "/%d%d%d%d%-%d%d%-%d%d/ai3d/tc3_request, "
      .. "SignedHeaders=content%-type;host, Signature=<redacted>$", r.headers.authorization)
    assert.truthy(r.body:find("一把小木椅", 1, true))
    local done = assert(client:wait(job))
    assert.equal("DONE", done.Status)
    assert.equal("pro", done.kind)
    assert.equal(30, done.ResultCreditConsumed)
  end)

  it("submits, queries and waits for every job kind with its own actions", function()
    local model = assert(client:wait(assert(client:submit { Prompt = "a chair" }))).ResultFile3Ds[2].Url
    local params = {
      rapid = { Prompt = "a teapot" },
      part = { File = { Type = "FBX", Url = model } },
      uv = { File = { Type = "GLB", Url = model } },
      reduce_face = { File3D = { Type = "GLB", Url = model }, FaceLevel = "low" },
      texture = { File3D = { Type = "GLB", Url = model }, Prompt = "oak" },
      profile = { Profile = { Url = "https://example.com/me.jpg" }, Template = "guitar" },
      motion = { Prompt = "A person walks forward" },
      rigging = { File3D = { Type = "GLB", Url = model }, MotionType = 26 },
    }
    local seen = {}
    for kind, p in pairs(params) do
      local job = assert(client:submit(p, { kind = kind }))
      assert.equal(kind, job.kind)
      local q = assert(client:query(job))
      assert.matches("^[WRD]", q.Status)
      local done = assert(client:wait(job.JobId, { kind = kind }))
      assert.equal("DONE", done.Status)
      assert.is_true(#done.ResultFile3Ds >= 1)
      local actions = {}
      for _, r in ipairs(sb:requests("api")) do actions[r.headers["x-tc-action"]] = true end
      assert.is_true(actions[hy3d.kinds[kind].submit], kind)
      assert.is_true(actions[hy3d.kinds[kind].query], kind)
      seen[kind] = true
    end
    assert.equal(8, #(function() local t = {} for k in pairs(seen) do t[#t + 1] = k end return t end)())
  end)

  it("waits on a bare JobId of another kind only when told its kind", function()
    local job = assert(client:submit({ Prompt = "walk" }, { kind = "motion" }))
    local _, err = client:query(job.JobId)           -- asked as pro: the service does not know it
    assert.equal("api", err.kind)
    assert.equal("FailedOperation.JobNotFound", err.code)
    assert.equal(job.JobId, err.job_id)
    assert(client:query(job.JobId, { kind = "motion" }))
  end)

  it("refuses unknown kinds locally", function()
    local _, err = client:submit({ Prompt = "x" }, { kind = "express" })
    assert.equal("invalid", err.kind)
    assert.matches("unknown job kind \"express\"", err.message)
    assert.has_error(function() client:submit({ Prompt = "x" }, { knd = "pro" }) end)
  end)

  it("calls any action by name and converts formats", function()
    local model = assert(client:wait(assert(client:submit { Prompt = "a box" }))).ResultFile3Ds[2].Url
    local r = assert(client:call("Convert3DFormat", { File3D = model, Format = "USDZ" }))
    assert.matches("/model%.usdz%?", r.ResultFile3D)
    assert.is_string(r.RequestId)
    r = assert(client:convert { File3D = model, Format = "STL" })
    assert.matches("/model%.stl%?", r.ResultFile3D)
    local _, err = client:call("SubmitHunyuanTo3DGameJob", {})
    assert.equal("api", err.kind)
    assert.equal("InvalidAction", err.code)
    assert.is_string(err.request_id)
    _, err = client:call("Convert3DFormat", { File3D = model })
    assert.equal("MissingParameter", err.code)
    assert.has_error(function() client:call("Convert3DFormat\r\nX-Evil: 1", {}) end)
  end)

  it("reports a wrong secret as AuthFailure.SignatureFailure without ever showing it", function()
    local secret = "wrong-secret-key-0123456789"
    local bad = hy3d.new { secret_id = sandbox.secret_id, secret_key = secret, endpoint = sb.url }
    local _, err = bad:submit { Prompt = "x" }
    assert.equal("api", err.kind)
    assert.equal("AuthFailure.SignatureFailure", err.code)
    assert.is_false(err.retryable)
    for _, text in ipairs { tostring(err), tostring(bad), err.message } do
      assert.is_nil(text:find(secret, 1, true))
    end
    for k, v in pairs(bad) do
      assert.is_nil(tostring(k):find(secret, 1, true))
      assert.is_nil(tostring(v):find(secret, 1, true))
    end
    local _, unknown = hy3d.new { secret_id = "AKIDnobody", secret_key = secret, endpoint = sb.url }:submit { Prompt = "x" }
    assert.equal("AuthFailure.SecretIdNotFound", unknown.code)
    bad:close()
  end)

  it("explains AuthFailure.SignatureExpire with the clock", function()
    sb:config { max_skew = -1 }                       -- every timestamp is "off"
    local _, err = client:submit { Prompt = "x" }
    sb:config { max_skew = 300 }
    assert.equal("AuthFailure.SignatureExpire", err.code)
    assert.matches("this machine's clock", err.message)
  end)

  it("sends an STS token as X-TC-Token, and a region and language when given", function()
    sb:reset()
    local token = "sts-token-0123456789abcdef"
    local c = hy3d.new { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, token = token,
                         endpoint = sb.url, region = "ap-guangzhou", language = "en-US" }
    assert(c:query("1", { kind = "rapid" }) == nil)
    local r = sb:requests("api")[1]
    assert.equal("<redacted>", r.headers["x-tc-token"])    -- present (the sandbox never logs its value)
    assert.equal("en-US", r.headers["x-tc-language"])
    local _, err = hy3d.new { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url,
                              region = "ap-nowhere" }:submit { Prompt = "x" }
    assert.equal("UnsupportedRegion", err.code)
    c:close()
  end)

  it("takes its credentials from the environment", function()
    local script = [[
      local hy3d = require "hy3d"
      local c = hy3d.new { poll_interval = 0.05 }
      local job = assert(c:submit({ Prompt = "x" }, { kind = "rapid" }))
      io.write(c.door, " ", c.region, " ", assert(c:wait(job)).Status, " ", tostring(c))
    ]]
    local envs = ("TENCENTCLOUD_SECRET_ID=%s TENCENTCLOUD_SECRET_KEY=%s TENCENTCLOUD_SESSION_TOKEN=sts-token-t "
      .. "TENCENTCLOUD_REGION=ap-guangzhou HY3D_ENDPOINT=%s HY3D_API_KEY= HY3D_BASE_URL="):format(
      sandbox.secret_id, sandbox.secret_key, sb.url)
    local ok, out = sandbox.run(("env %s %s %s -e %s"):format(envs, sandbox.lua_env(), sandbox.lua(),
      sandbox.shell_quote(script)))
    assert.is_true(ok, out)
    assert.equal("api3 ap-guangzhou DONE hy3d.Client (" .. sb.url .. ", API 3.0, ap-guangzhou, SecretId set)", out)
    assert.is_nil(out:find(sandbox.secret_key, 1, true))
  end)
end)

-- The twin of the gateway's guarantee (spec/client/reliability_spec.lua): a submit whose connection dies
-- once it is sent is never sent again, on API 3.0 too, for every job kind.
describe("API 3.0 submit, never resent", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0.2, extra = { "--concurrency", "pro=0,default=0" }, reset = false }
  local client

  setup(function()
    client = hy3d.new { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url,
                        poll_interval = 0.05, retry_base = 0.01, retry_max = 2 }
  end)

  teardown(function()
    client:close()
  end)

  local function submits(action)
    local n = 0
    for _, r in ipairs(sb:requests("api")) do
      if r.action == action then n = n + 1 end
    end
    return n
  end

  -- rule, the job the sandbox made (1: the fault struck after the job existed), libcurl's code
  local CASES = {
    { "the response cut mid-body", { action = "cut", after = 10 }, 1, "PARTIAL_FILE" },
    { "reset before the response", { action = "reset" }, 0 },
    { "closed without a response on a kept-alive connection", { action = "close" }, 0, "GOT_NOTHING" },
  }

  for _, case in ipairs(CASES) do
    for _, kind in ipairs { "pro", "rapid" } do
      local name, rule, jobs, code = case[1], case[2], case[3], case[4]
      it(kind .. ": " .. name .. ": one request, " .. jobs .. " job, an error that says a job may exist", function()
        sb:reset()
        assert(client:query("1", { kind = kind }) == nil)   -- JobNotFound: a kept-alive connection exists
        local r = { route = "submit" }
        for k, v in pairs(rule) do r[k] = v end
        sb:fault(r)
        local job, err = client:submit({ Prompt = "never twice" }, { kind = kind })
        assert.is_nil(job)
        assert.equal("network", err.kind)
        if code then assert.equal(code, err.code) end
        assert.equal(1, err.attempts)
        assert.is_false(err.retryable)
        assert.is_true(err.maybe_submitted)
        assert.matches("a job may exist", err.message)
        local action = kind == "pro" and "SubmitHunyuanTo3DProJob" or "SubmitHunyuanTo3DRapidJob"
        assert.equal(1, submits(action))
        assert.equal(1, sb:stats().requests[action])
        assert.equal(jobs, sb:stats().jobs_created)
      end)
    end
  end
end)

describe("credentials", function()
  it("choose the door: api_key the gateway, secret_id/secret_key API 3.0", function()
    local g = hy3d.new { api_key = "sk-xxxxxxxx", base_url = "http://127.0.0.1:9" }
    assert.same({ "gateway", "gateway" }, { g.door, g.mode })   -- mode: the earlier name, kept as an alias
    local a = hy3d.new { secret_id = "AKIDx", secret_key = "kkkkkkkk", endpoint = "http://127.0.0.1:9" }
    assert.same({ "api3", "api3" }, { a.door, a.mode })
    assert.equal("ap-guangzhou", a.region)
    assert.equal("http://127.0.0.1:9", a.base_url)
    assert.equal("https://ai3d.tencentcloudapi.com", hy3d.defaults.endpoint)
    g:close()
    a:close()
  end)

  it("refuse half or doubled credentials", function()
    assert.has_error(function() hy3d.new { secret_id = "AKIDx" } end)
    assert.has_error(function() hy3d.new { secret_key = "kkkkkkkk" } end)
    assert.has_error(function() hy3d.new { api_key = "sk-xxxxxxxx", secret_id = "AKIDx", secret_key = "kkkkkkkk" } end)
    assert.has_error(function() hy3d.new { secret_id = "AKIDx", secret_key = "k\n" .. "x" } end)
  end)

  it("keep the gateway to Pro and call to API 3.0", function()
    local g = hy3d.new { api_key = "sk-xxxxxxxx", base_url = "http://127.0.0.1:9" }
    local _, err = g:submit({ Prompt = "x" }, { kind = "rapid" })
    assert.equal("invalid", err.kind)
    assert.equal("KIND_NEEDS_API3", err.code)
    assert.matches("only Pro", err.message)
    _, err = g:call("Convert3DFormat", {})
    assert.equal("CALL_NEEDS_API3", err.code)
    g:close()
  end)

  it("without any, fail with an error naming the options and variables", function()
    local script = [[
      local c = require("hy3d").new()
      local _, err = c:submit { Prompt = "x" }
      io.write(err.kind, ": ", err.message)
    ]]
    local ok, out = sandbox.run(("env HY3D_API_KEY= TENCENTCLOUD_SECRET_ID= TENCENTCLOUD_SECRET_KEY= %s %s -e %s")
      :format(sandbox.lua_env(), sandbox.lua(), sandbox.shell_quote(script)))
    assert.is_true(ok, out)
    assert.matches("^invalid: ", out)
    for _, name in ipairs { "api_key", "HY3D_API_KEY", "secret_id", "secret_key", "TENCENTCLOUD_SECRET_ID",
                            "TENCENTCLOUD_SECRET_KEY" } do
      assert.truthy(out:find(name, 1, true), name)
    end
  end)
end)

describe("the language of messages", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0.1, extra = { "--concurrency", "pro=1" }, reset = false }

  local function chinese(s) return s:find("[\227-\233][\128-\191][\128-\191]") ~= nil end

  local function api3(opts)
    local o = { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url, max_retries = 0 }
    for k, v in pairs(opts or {}) do o[k] = v end
    return hy3d.new(o)
  end

  it("language = \"en-US\" reaches the sandbox and gets English; without it, Chinese", function()
    local en, zh = api3 { language = "en-US" }, api3()
    local _, err = en:query("1234567890123456789")
    assert.equal("FailedOperation.JobNotFound", err.code)
    assert.is_false(chinese(err.message), err.message)
    assert.equal("en-US", sb:requests("api")[#sb:requests("api")].headers["x-tc-language"])
    _, err = en:submit({ Prompt = "x", FaceCount = 1 }, nil)   -- caught locally: validate first
    assert.equal("invalid", err.kind)
    local loose = api3 { language = "en-US", validate = false }
    _, err = loose:submit { Prompt = "x", FaceCount = 1 }
    assert.equal("InvalidParameterValue", err.code)
    assert.is_false(chinese(err.message), err.message)
    assert.matches("FaceCount", err.message, 1, true)
    _, err = zh:query("1234567890123456789")
    assert.is_true(chinese(err.message), err.message)
    for _, c in ipairs { en, zh, loose } do c:close() end
  end)

  it("the common codes carry an English hint whatever the language, and tostring shows it", function()
    sb:reset()
    local zh = api3()
    local _, err = zh:query("1234567890123456789")
    assert.is_true(chinese(err.message), err.message)
    assert.matches("24 hours", err.hint, 1, true)
    assert.truthy(tostring(err):find(err.hint, 1, true))
    -- the account's one Pro slot taken: JobNumExceed, with what to do about it
    assert(zh:submit { Prompt = "first" })
    _, err = zh:submit { Prompt = "second" }
    assert.equal("RequestLimitExceeded.JobNumExceed", err.code)
    assert.matches("max_concurrent_jobs", err.hint, 1, true)
    -- a wrong SecretKey: AuthFailure, naming the variable to check
    local wrong = api3 { secret_key = "not-the-secret-key-000000" }
    _, err = wrong:query("1234567890123456789")
    assert.equal("AuthFailure.SignatureFailure", err.code)
    assert.matches("TENCENTCLOUD_SECRET_KEY", err.hint, 1, true)
    assert.is_nil(tostring(err):find("not-the-secret-key-000000", 1, true))
    -- the gateway's refused key
    local gw = hy3d.new { api_key = "sk-wrong-key-0000000000", base_url = sb.url, max_retries = 0 }
    _, err = gw:query("1234567890123456789")
    assert.matches("HY3D_API_KEY", tostring(err.hint), 1, true)
    for _, c in ipairs { zh, wrong, gw } do c:close() end
  end)
end)
