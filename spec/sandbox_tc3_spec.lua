-- hy3d.sandbox.tc3: the API 3.0 door's TC3-HMAC-SHA256 verification and its AuthFailure codes,
-- through real HTTP requests signed by hy3d.core.
local sandbox = require "spec.support.sandbox"
local tc3 = require "hy3d.sandbox.tc3"

describe("hy3d-sandbox API 3.0 authentication", function()
  local sb

  setup(function()
    sb = sandbox.start { wait_time = 0, run_time = 0.1 }
  end)

  teardown(function()
    sb:stop()
  end)

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

  it("parses Authorization values", function()
    local a = tc3.parse("TC3-HMAC-SHA256 Credential=AKID/2026-01-01/ai3d/tc3_request, SignedHeaders=Content-Type;Host, "
      .. "Signature=ABCDEF")
    assert.same({ secret_id = "AKID", date = "2026-01-01", service = "ai3d", signed_headers = "content-type;host",
                  signature = "abcdef" }, a)
    assert.is_nil(tc3.parse("TC3-HMAC-SHA256 Credential=AKID/2026-1-1/ai3d/tc3_request, SignedHeaders=host, Signature=ab"))
    assert.is_nil(tc3.parse("HMAC-SHA1 Credential=AKID/2026-01-01/ai3d/tc3_request, SignedHeaders=host, Signature=ab"))
  end)
end)
