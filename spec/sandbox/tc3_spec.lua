-- hy3d.sandbox.tc3: the API 3.0 door's TC3-HMAC-SHA256 verification and its AuthFailure codes,
-- through real HTTP requests signed by hy3d.core.
local sandbox = require "spec.support.sandbox"
local tc3 = require "hy3d.sandbox.tc3"

describe("hy3d-sandbox API 3.0 authentication", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0.1, reset = false }

  local function error_of(action, params, opts)
    local status, body, headers = sb:api(action, params, opts)
    assert.equal(200, status)                       -- API errors are always HTTP 200
    assert.matches("^application/json", headers["content-type"])
    assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", body.Response.RequestId)
    local e = body.Response.Error
    return e and e.Code, e and e.Message, body.Response
  end

  it("accepts a correct signature and answers in the Response envelope", function()
    local code, _, r = error_of("SubmitHunyuanTo3DProJob", { Prompt = "a chair" })
    assert.is_nil(code)
    assert.matches("^%d+$", r.JobId)
  end)

  it("accepts extra signed headers, a charset, and the host signed without its port", function()
    assert.equal("FailedOperation.JobNotFound", (error_of("QueryHunyuanTo3DProJob", { JobId = "1" },
      { signed_headers = "content-type;host;x-tc-action" })))
    assert.equal("FailedOperation.JobNotFound", (error_of("QueryHunyuanTo3DProJob", { JobId = "1" },
      { content_type = "application/json; charset=utf-8" })))
    assert.equal("FailedOperation.JobNotFound", (error_of("QueryHunyuanTo3DProJob", { JobId = "1" },
      { sign_host = "127.0.0.1" })))
  end)

  it("answers a wrong signature with AuthFailure.SignatureFailure", function()
    local code, msg = error_of("SubmitHunyuanTo3DProJob", { Prompt = "x" }, { secret_key = "not-the-key" })
    assert.equal("AuthFailure.SignatureFailure", code)
    assert.not_matches(sandbox.secret_key, msg, 1, true)
    -- the payload is signed: a body changed after signing fails
    local status, body = sb:api("SubmitHunyuanTo3DProJob", nil, { body = '{"Prompt":"x"}',
      headers = { ["X-TC-Region"] = "ap-guangzhou" }, signed_headers = "content-type;host;x-tc-region",
      sign_host = "example.com" })
    assert.equal(200, status)
    assert.equal("AuthFailure.SignatureFailure", body.Response.Error.Code)
  end)

  it("answers a truncated or extended signature with AuthFailure.SignatureFailure", function()
    local ts, body = os.time(), '{"JobId":"1"}'    -- a query: no job (and no slot) is made
    local auth = require("hy3d.core").tc3_sign { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key,
      timestamp = ts, payload = body, host = sb.url:match("^http://([^/]+)") }
    local sig = auth:match("Signature=(%x+)$")
    for _, bad in ipairs { sig:sub(1, 63), sig:sub(1, 8), sig .. "0" } do
      local code = error_of("QueryHunyuanTo3DProJob", nil, { body = body, timestamp = ts,
        headers = { Authorization = (auth:gsub("Signature=%x+$", "Signature=" .. bad)) } })
      assert.equal("AuthFailure.SignatureFailure", code)
    end
    assert.equal("FailedOperation.JobNotFound", (error_of("QueryHunyuanTo3DProJob", nil, { body = body, timestamp = ts,
      headers = { Authorization = auth } })))             -- past verification
  end)

  it("accepts the service named by the host's first label, as the official SDK signs it, and no other", function()
    local ts, body = os.time(), '{"JobId":"1"}'    -- a query: no job (and no slot) is made
    local host = sb.url:match("^http://([^/]+)")
    local function code_for(service)
      local auth = require("hy3d.core").tc3_sign { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key,
        timestamp = ts, payload = body, host = host, service = service }
      return (error_of("QueryHunyuanTo3DProJob", nil, { body = body, timestamp = ts,
        headers = { Authorization = auth } }))
    end
    local first = host:match("^([^.:]+)")            -- "127" of 127.0.0.1:port
    assert.equal("127", first)
    assert.equal("FailedOperation.JobNotFound", code_for(first))   -- past verification
    assert.equal("FailedOperation.JobNotFound", code_for("ai3d"))
    assert.equal("AuthFailure.InvalidAuthorization", code_for("128"))
    assert.equal("AuthFailure.InvalidAuthorization", code_for(host:match("^[^:]+")))   -- the whole host name
  end)

  it("answers a timestamp more than five minutes off with AuthFailure.SignatureExpire", function()
    local code, msg = error_of("SubmitHunyuanTo3DProJob", { Prompt = "x" }, { timestamp = os.time() - 301 })
    assert.equal("AuthFailure.SignatureExpire", code)
    assert.matches("clock", msg)
    assert.equal("AuthFailure.SignatureExpire", (error_of("SubmitHunyuanTo3DProJob", { Prompt = "x" },
      { timestamp = os.time() + 400 })))
    assert.is_nil((error_of("SubmitHunyuanTo3DProJob", { Prompt = "x" }, { timestamp = os.time() - 250 })))
  end)

  it("answers an unknown SecretId with AuthFailure.SecretIdNotFound", function()
    assert.equal("AuthFailure.SecretIdNotFound", (error_of("SubmitHunyuanTo3DProJob", { Prompt = "x" },
      { secret_id = "AKIDnobody" })))
  end)

  it("answers a malformed or missing Authorization with AuthFailure.InvalidAuthorization", function()
    for _, value in ipairs { "Bearer sk-123", "TC3-HMAC-SHA256 Credential=x", "TC3-HMAC-SHA256 nonsense",
                             "TC3-HMAC-SHA256 Credential=id/2026-01-01/ai3d/tc3_request, SignedHeaders=host, Signature=ab" } do
      assert.equal("AuthFailure.InvalidAuthorization", (error_of("SubmitHunyuanTo3DProJob", { Prompt = "x" },
        { headers = { Authorization = value } })))
    end
    -- a name listed twice (or empty) is malformed, whatever the signature
    for _, list in ipairs { "content-type;host;host", "content-type;;host" } do
      assert.equal("AuthFailure.InvalidAuthorization", (error_of("QueryHunyuanTo3DProJob", { JobId = "1" },
        { headers = { Authorization = "TC3-HMAC-SHA256 Credential=" .. sandbox.secret_id .. "/" .. os.date("!%Y-%m-%d")
          .. "/ai3d/tc3_request, SignedHeaders=" .. list .. ", Signature=" .. ("ab"):rep(32) } })), list)
    end
    local code, msg = error_of("SubmitHunyuanTo3DProJob", { Prompt = "x" }, { signed_headers = "content-type;host;x-tc-nothing",
      headers = { ["x-tc-nothing"] = "1" } })
    assert.is_nil(code, msg)
  end)

  it("requires Action, Version and Timestamp, and knows its version, regions and actions", function()
    local code, msg = error_of("SubmitHunyuanTo3DProJob", { Prompt = "x" }, { headers = { ["X-TC-Version"] = false } })
    assert.equal("MissingParameter", code)
    assert.matches("`Version`", msg)
    assert.equal("NoSuchVersion", (error_of("SubmitHunyuanTo3DProJob", { Prompt = "x" }, { version = "2023-09-01" })))
    assert.equal("UnsupportedRegion", (error_of("SubmitHunyuanTo3DProJob", { Prompt = "x" }, { region = "ap-nowhere" })))
    assert.equal("MissingParameter", (error_of("SubmitHunyuanTo3DProJob", { Prompt = "x" },
      { headers = { ["X-TC-Region"] = false } })))
    code, msg = error_of("SubmitHunyuanTo3DJob", { Prompt = "x" })
    assert.equal("InvalidAction", code)
    assert.matches("SubmitHunyuanTo3DJob", msg)
    assert.equal("MissingParameter", (error_of("SubmitHunyuanTo3DProJob", { Prompt = "x" },
      { headers = { ["X-TC-Timestamp"] = false } })))
  end)

  it("knows all 19 actions", function()
    local names = { "SubmitHunyuanTo3DProJob", "QueryHunyuanTo3DProJob", "SubmitHunyuanTo3DRapidJob",
      "QueryHunyuanTo3DRapidJob", "SubmitHunyuan3DPartJob", "QueryHunyuan3DPartJob", "SubmitHunyuanTo3DUVJob",
      "DescribeHunyuanTo3DUVJob", "SubmitReduceFaceJob", "DescribeReduceFaceJob", "SubmitTextureTo3DJob",
      "DescribeTextureTo3DJob", "SubmitProfileTo3DJob", "DescribeProfileTo3DJob", "SubmitHunyuanTo3DMotionJob",
      "DescribeHunyuanTo3DMotionJob", "SubmitAutoRiggingJob", "DescribeAutoRiggingJob", "Convert3DFormat" }
    assert.equal(19, #names)
    for _, name in ipairs(names) do
      local code = error_of(name, {})
      assert.are_not.equal("InvalidAction", code)
      assert.matches("Parameter", code)             -- each validates its (empty) parameters
    end
  end)

  it("never logs a signature or STS token", function()
    sb:reset()
    error_of("QueryHunyuanTo3DProJob", { JobId = "1" }, { headers = { ["X-TC-Token"] = "sts-secret-token" } })
    local r = sb:requests("api")[1]
    assert.equal("tc3", r.auth)
    assert.equal(sandbox.secret_id, r.secret_id)
    assert.matches("Signature=<redacted>", r.headers.authorization, 1, true)
    assert.equal("<redacted>", r.headers["x-tc-token"])
  end)

  it("verifies the reference's §4.1 request", function()
    local req = { method = "POST", body = '{"JobId":"1357237233311637504"}', headers = {
      host = "ai3d.tencentcloudapi.com", ["content-type"] = "application/json",
      ["x-tc-action"] = "QueryHunyuanTo3DProJob", ["x-tc-timestamp"] = "1767225600",
      authorization = "TC3-HMAC-SHA256 Credential=AKIDEXAMPLEEXAMPLEEXAMPLE/2026-01-01/ai3d/tc3_request, "
        .. "SignedHeaders=content-type;host, Signature=adb56e73a3ebf08ff853ee6b5f6ef0b82852fcfe9c0d640f51554d111662b911" } }
    local secrets = { AKIDEXAMPLEEXAMPLEEXAMPLE = "EXAMPLESECRETKEYEXAMPLESECRETKEY" }
    assert.equal("AKIDEXAMPLEEXAMPLEEXAMPLE", tc3.verify(req, secrets, { now = 1767225600 + 299 }))
    assert.equal("AuthFailure.SignatureExpire", select(2, tc3.verify(req, secrets, { now = 1767225600 + 301 })))
    req.body = '{"JobId":"1357237233311637505"}'
    assert.equal("AuthFailure.SignatureFailure", select(2, tc3.verify(req, secrets, { now = 1767225600 })))
  end)

  -- The reference's §4.1 vector (fake credentials) and its published intermediates.
  local V = {
    secret_id = "AKIDEXAMPLEEXAMPLEEXAMPLE", secret_key = "EXAMPLESECRETKEYEXAMPLESECRETKEY", timestamp = 1767225600,
    host = "ai3d.tencentcloudapi.com", payload = '{"JobId":"1357237233311637504"}', content_type = "application/json",
    signature = "adb56e73a3ebf08ff853ee6b5f6ef0b82852fcfe9c0d640f51554d111662b911",
  }

  it("computes the §4.1 vector step by step with its own implementation (luaossl, not hy3d.core)", function()
    local steps = tc3.sign { secret_key = V.secret_key, timestamp = V.timestamp, service = "ai3d", host = V.host,
      content_type = V.content_type, payload = V.payload, signed_headers = { "host", "content-type" }, headers = {} }
    assert.equal("2026-01-01", steps.date)
    assert.equal("4d4813b5eac3fd81202b871343a2902611edf30667219fc09b37655caedb902c", steps.hashed_payload)
    assert.equal("POST\n/\n\ncontent-type:application/json\nhost:ai3d.tencentcloudapi.com\n\ncontent-type;host\n"
      .. "4d4813b5eac3fd81202b871343a2902611edf30667219fc09b37655caedb902c", steps.canonical_request)
    assert.equal("TC3-HMAC-SHA256\n1767225600\n2026-01-01/ai3d/tc3_request\n"
      .. "d542bb4d771c1dcc1c8712479e21c579564c23a67d47e88cdf2781cab9340c83", steps.string_to_sign)
    assert.equal("6c6d54ee6db31083e194ca150cd6d4828eda83507b4b36b04cee7826cb63dc11", steps.k_date)
    assert.equal("3dc4d8f28794d8d0ce272ddd7185da10f479296788a7aaf21dccbd6e255f81e4", steps.k_service)
    assert.equal("a967613b748eca7b78084200c08807cd13d744c36f2944f945976e901e3e8cf7", steps.k_signing)
    assert.equal(V.signature, steps.signature)
    -- and hy3d.core, the signer under test, gives the same published signature
    local _, core_steps = require("hy3d.core").tc3_sign(V)
    assert.equal(V.signature, core_steps.signature)
    -- extra signed headers: sorted, values trimmed and lowercased (reference §4 step 3)
    steps = tc3.sign { secret_key = V.secret_key, timestamp = V.timestamp, service = "ai3d", host = V.host,
      content_type = V.content_type, payload = V.payload, signed_headers = { "x-tc-action", "host", "content-type" },
      headers = { ["x-tc-action"] = " QueryHunyuanTo3DProJob  " } }
    assert.matches("\nhost:ai3d.tencentcloudapi.com\nx%-tc%-action:queryhunyuanto3dprojob\n\ncontent%-type;host;x%-tc%-action\n",
      steps.canonical_request)
    local _, core_extra = require("hy3d.core").tc3_sign { secret_id = V.secret_id, secret_key = V.secret_key,
      timestamp = V.timestamp, host = V.host, payload = V.payload, signed_headers = "content-type;host;x-tc-action",
      headers = { ["x-tc-action"] = "QueryHunyuanTo3DProJob" } }
    assert.equal(core_extra.signature, steps.signature)
    -- UNSIGNED-PAYLOAD hashes the literal string
    steps = tc3.sign { secret_key = V.secret_key, timestamp = V.timestamp, service = "ai3d", host = V.host,
      content_type = V.content_type, payload = V.payload, unsigned_payload = true, signed_headers = { "content-type", "host" },
      headers = {} }
    -- `printf UNSIGNED-PAYLOAD | sha256sum`
    assert.equal("438d4109ef0d676b8c2c7ed13cdfcb418e494d53b843d4634ce3b1085f07bb96", steps.hashed_payload)
  end)

  it("verifies without hy3d.core: a client whose signer has a bug the shared code would agree with is refused", function()
    local core = require "hy3d.core"
    -- Loads a fresh hy3d.sandbox.tc3 while require("hy3d.core") gives `fake` (restored afterwards):
    -- a verifier that signed with the client's own code would take the fake's word.
    local function tc3_with_core(fake)
      local saved_core, saved_tc3 = package.loaded["hy3d.core"], package.loaded["hy3d.sandbox.tc3"]
      package.loaded["hy3d.core"], package.loaded["hy3d.sandbox.tc3"] = fake, nil
      local ok, mod = pcall(require, "hy3d.sandbox.tc3")
      package.loaded["hy3d.core"], package.loaded["hy3d.sandbox.tc3"] = saved_core, saved_tc3
      assert(ok, mod)
      return mod
    end
    local function copy(t, extra)
      local c = {}
      for k, v in pairs(t) do c[k] = v end
      for k, v in pairs(extra or {}) do c[k] = v end
      return c
    end
    -- Plausible signing bugs, each a tc3_sign that is wrong the same way for the client and for
    -- anything else that calls it.
    local mutants = {
      ["payload never hashed (UNSIGNED-PAYLOAD without the header)"] = function(t)
        return core.tc3_sign(copy(t, { unsigned_payload = true }))
      end,
      ["the day key and scope of the next UTC day"] = function(t)
        return core.tc3_sign(copy(t, { timestamp = t.timestamp + 86400 }))
      end,
      ["the Content-Type sent ignored (application/json signed)"] = function(t)
        return core.tc3_sign(copy(t, { content_type = "application/json" }))
      end,
      ["extra signed headers listed but left out of the canonical request"] = function(t)
        local auth, steps = core.tc3_sign(copy(t, { signed_headers = "content-type;host" }))
        return (auth:gsub("SignedHeaders=[^,]+", "SignedHeaders=" .. (t.signed_headers or "content-type;host"))), steps
      end,
    }
    local secrets = { [V.secret_id] = V.secret_key }
    local function request(signer)
      local h = { host = "127.0.0.1:8080", ["content-type"] = "application/json; charset=utf-8",
                  ["x-tc-action"] = "QueryHunyuanTo3DProJob", ["x-tc-timestamp"] = tostring(V.timestamp) }
      h.authorization = signer { secret_id = V.secret_id, secret_key = V.secret_key, timestamp = V.timestamp,
        host = h.host, payload = V.payload, content_type = h["content-type"],
        signed_headers = "content-type;host;x-tc-action", headers = h }
      return { method = "POST", body = V.payload, headers = h }
    end
    local n = 0
    for name, mutant in pairs(mutants) do
      local fake = copy(core, { tc3_sign = mutant })
      local verifier = tc3_with_core(fake)
      local id, code = verifier.verify(request(mutant), secrets, { now = V.timestamp })
      assert.is_nil(id, name)
      assert.equal("AuthFailure.SignatureFailure", code, name)
      -- while the same request signed right passes
      assert.equal(V.secret_id, verifier.verify(request(core.tc3_sign), secrets, { now = V.timestamp }), name)
      n = n + 1
    end
    assert.equal(4, n)
    -- and the module never asks for hy3d.core at all
    local refusing = setmetatable({}, { __index = function() error("hy3d.core used by the verifier") end })
    assert.equal(V.secret_id, tc3_with_core(refusing).verify(request(core.tc3_sign), secrets, { now = V.timestamp }))
  end)

  it("parses Authorization values", function()
    local a = tc3.parse("TC3-HMAC-SHA256 Credential=AKID/2026-01-01/ai3d/tc3_request, SignedHeaders=Content-Type;Host, "
      .. "Signature=ABCDEF")
    assert.same({ secret_id = "AKID", date = "2026-01-01", service = "ai3d", signed_headers = "content-type;host",
                  signature = "abcdef" }, a)
    assert.is_nil(tc3.parse("TC3-HMAC-SHA256 Credential=AKID/2026-1-1/ai3d/tc3_request, SignedHeaders=host, Signature=ab"))
    assert.is_nil(tc3.parse("HMAC-SHA1 Credential=AKID/2026-01-01/ai3d/tc3_request, SignedHeaders=host, Signature=ab"))
  end)

  describe("X-TC-Language", function()
    -- True when s has CJK text (3-byte UTF-8 sequences from U+3000 on: 【, 任, 参, ...).
    local function chinese(s) return s:find("[\227-\233][\128-\191][\128-\191]") ~= nil end

    -- Requests whose answer is an error a user commonly meets, each as { action, params, opts }.
    local CASES = {
      { "QueryHunyuanTo3DProJob", { JobId = "1" }, "FailedOperation.JobNotFound" },
      { "SubmitHunyuanTo3DProJob", { Prompt = "x", FaceCount = 1 }, "InvalidParameterValue" },
      { "SubmitHunyuanTo3DProJob", { Prompt = "x", GenerateType = "normal" }, "InvalidParameter" },
      { "SubmitHunyuanTo3DProJob", { Prompt = 1 }, "InvalidParameter" },
      { "SubmitHunyuanTo3DProJob", {}, "InvalidParameterValue" },
      { "SubmitHunyuanTo3DProJob", { Prompt = "" }, "InvalidParameterValue" },
      { "SubmitHunyuanTo3DProJob", { ImageUrl = "ftp://e.com/a.png" }, "InvalidParameterValue" },
      { "SubmitHunyuanTo3DProJob", { ImageBase64 = "!!" }, "InvalidParameterValue" },
      { "SubmitHunyuanTo3DProJob", { Model = "3.1", GenerateType = "LowPoly", Prompt = "x" }, "InvalidParameterValue" },
      { "SubmitHunyuanTo3DRapidJob", { Prompt = "x", EnableGeometry = true, ResultFormat = "OBJ" },
        "InvalidParameterValue" },
      { "SubmitHunyuanTo3DProJob", nil, "InvalidParameter", { body = "{" } },
    }

    local function each_case(lang, check)
      for _, c in ipairs(CASES) do
        local opts = {}
        for k, v in pairs(c[4] or {}) do opts[k] = v end
        if lang then opts.headers = { ["X-TC-Language"] = lang } end
        local code, msg = error_of(c[1], c[2], opts)
        assert.equal(c[3], code, c[1])
        assert.is_string(msg)
        check(msg, c)
      end
    end

    it("absent or zh-CN: the service's Chinese messages", function()
      for _, lang in ipairs { false, "zh-CN" } do
        each_case(lang or nil, function(msg, c) assert.is_true(chinese(msg), c[3] .. ": " .. msg) end)
      end
    end)

    it("en-US: English messages for the same errors, naming the same fields", function()
      each_case("en-US", function(msg, c)
        assert.is_false(chinese(msg), c[3] .. ": " .. msg)
        assert.is_true(#msg > 10, msg)
      end)
      local _, msg = error_of("SubmitHunyuanTo3DProJob", { Prompt = "x", FaceCount = 1 },
        { headers = { ["X-TC-Language"] = "en-US" } })
      assert.matches("FaceCount", msg, 1, true)
      assert.matches("[3000, 1500000]", msg, 1, true)
      _, msg = error_of("QueryHunyuanTo3DProJob", { JobId = "1" }, { headers = { ["X-TC-Language"] = "en-US" } })
      assert.equal("The job does not exist.", msg)
    end)
  end)
end)
