-- hy3d-sandbox's TokenHub door over raw HTTP: Bearer keys, models, snake_case fields, statuses, data[], errors, limits.
local cjson = require "cjson"
local sandbox = require "spec.support.sandbox"

describe("hy3d-sandbox's TokenHub door", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0.2 }

  -- One TokenHub call: the HTTP status and the decoded body.
  local function call(route, body, auth)
    local payload = type(body) == "string" and body or cjson.encode(body)
    local headers = { ["Content-Type"] = "application/json", ["Content-Length"] = #payload }
    if auth ~= false then headers.Authorization = auth or ("Bearer " .. sb.key) end
    return sb:raw("POST", "/v1/api/3d/" .. route, headers, payload)
  end

  it("runs a job: queued, in_progress, completed with data[]; the query must repeat the model", function()
    sb:freeze()
    local code, job = call("submit", { model = "hy-3d-3.1", prompt = "a chair", face_count = 20000 })
    assert.equal(200, code)
    assert.matches("^%d+$", job.id)
    assert.same({ "3d_job", "hy-3d-3.1", "queued" }, { job.object, job.model, job.status })
    assert.is_string(job.request_id)
    assert.is_number(job.created_at)
    local _, q = call("query", { model = "hy-3d-3.1", id = job.id })
    assert.equal("in_progress", q.status)
    assert.is_nil(q.data)
    sb:advance(1)
    _, q = call("query", { model = "hy-3d-3.1", id = job.id })
    assert.equal("completed", q.status)
    assert.same({ "obj", "glb" }, { q.data[1].type, q.data[2].type })
    assert.matches("^http://127%.0%.0%.1:%d+/files/" .. job.id .. "/model%.glb%?q%-sign", q.data[2].url)
    assert.matches("preview%.png", q.data[2].preview_image_url)
    local wrong
    code, wrong = call("query", { model = "hy-3d-3.0", id = job.id })   -- another model's job
    assert.equal(404, code)
    assert.same({ "FailedOperation.JobNotFound", "api_error" }, { wrong.error.code, wrong.error.type })
    -- a job of another door is not TokenHub's
    local _, other = sb:api("SubmitHunyuanTo3DProJob", { Prompt = "api3" })
    code = call("query", { model = "hy-3d-3.0", id = other.Response.JobId })
    assert.equal(404, code)
  end)

  it("takes only Bearer keys it knows, or the keys configured for it", function()
    local code, body = call("submit", { model = "hy-3d-3.0", prompt = "x" }, sb.key)
    assert.same({ 401, "401001" }, { code, body.error.code })
    code, body = call("submit", { model = "hy-3d-3.0", prompt = "x" }, false)
    assert.same({ 401, "401001" }, { code, body.error.code })
    code, body = call("submit", { model = "hy-3d-3.0", prompt = "x" }, "Bearer sk-not-a-key-0000")
    assert.same({ 401, "401002", "API Key does not exist", "API Key 不存在" },
      { code, body.error.code, body.error.message, body.error.message_zh })
    sb:config { tokenhub = { keys = { "sk-tokenhub-own-key" }, http_status = true } }
    assert.equal(401, (call("submit", { model = "hy-3d-3.0", prompt = "x" })))
    assert.equal(200, (call("submit", { model = "hy-3d-3.0", prompt = "x" }, "Bearer sk-tokenhub-own-key")))
    sb:config { tokenhub = { keys = false, http_status = true } }
  end)

  it("refuses unknown models and fields, PascalCase names and what the action's rules refuse", function()
    for _, case in ipairs {
      { { prompt = "x" }, 400, "MissingParameter" },
      { { model = "hy-3d-9", prompt = "x" }, 400, "InvalidParameter" },
      { { model = "hy-3d-3.0", Prompt = "x" }, 400, "InvalidParameter" },
      { { model = "hy-3d-express", prompt = "x", face_count = 40000 }, 400, "InvalidParameter" },
      { { model = "hy-3d-3.0", prompt = "x", generate_type = "normal" }, 400, "InvalidParameter" },
      { "[1,", 400, "InvalidParameter" },
    } do
      local code, body = call("submit", case[1])
      assert.equal(case[2], code, cjson.encode(case[1]))
      assert.equal(case[3], body.error.code, cjson.encode(case[1]))
      assert.is_string(body.error.message)
    end
    local code, body = call("query", { model = "hy-3d-3.0" })
    assert.same({ 400, "MissingParameter" }, { code, body.error.code })
  end)

  it("limits concurrent jobs like TokenHub: Express 1, Pro 3 (429 RequestLimitExceeded.JobNumExceed)", function()
    sb:freeze()
    assert.equal(200, (call("submit", { model = "hy-3d-express", prompt = "one" })))
    local code, body = call("submit", { model = "hy-3d-express", prompt = "two" })
    assert.same({ 429, "RequestLimitExceeded.JobNumExceed" }, { code, body.error.code })
    for i = 1, 3 do assert.equal(200, (call("submit", { model = i == 3 and "hy-3d-3.1" or "hy-3d-3.0", prompt = "p" }))) end
    code, body = call("submit", { model = "hy-3d-3.0", prompt = "p4" })
    assert.same({ 429, "RequestLimitExceeded.JobNumExceed" }, { code, body.error.code })
    assert.matches("3", body.error.message)
  end)

  it("ends a failed job with its error, and can answer every error on HTTP 200", function()
    sb:fault { action = "fail", code = "FailedOperation.InnerError", message = "boom" }
    sb:freeze()
    local _, job = call("submit", { model = "hy-3d-3.0", prompt = "doomed" })
    sb:advance(1)
    local _, q = call("query", { model = "hy-3d-3.0", id = job.id })
    assert.equal("failed", q.status)
    assert.same({ code = "FailedOperation.InnerError", message = "boom" }, q.error)
    sb:config { tokenhub = { keys = false, http_status = false } }
    local code, body = call("query", { model = "hy-3d-3.0", id = "1" })
    assert.same({ 200, "FailedOperation.JobNotFound" }, { code, body.error.code })
    sb:config { tokenhub = { keys = false, http_status = true } }
  end)

  it("logs TokenHub requests without the key, and applies faults routed to it", function()
    call("submit", { model = "hy-3d-3.0", prompt = "logged" })
    local r = sb:requests("submit")[1]
    assert.same({ "tokenhub", "bearer", true }, { r.door, r.auth, r.key_ok })
    assert.is_nil(r.headers.authorization)
    sb:fault { route = "tokenhub", action = "api_error", code = "FailedOperation.RequestTimeout", message = "slow" }
    local code, body = call("submit", { model = "hy-3d-3.0", prompt = "x" })
    assert.same({ 500, "FailedOperation.RequestTimeout", "slow" }, { code, body.error.code, body.error.message })
  end)
end)
