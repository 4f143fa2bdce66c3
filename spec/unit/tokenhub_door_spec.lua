-- hy3d.doors.tokenhub in process: the field table, models, the JobId's model, answers (hostile ones too), errors, settings.
local doors = require "hy3d.doors"
local options = require "hy3d.options"
local th = require "hy3d.doors.tokenhub"

local PRO_SUBMIT, PRO_QUERY = "SubmitHunyuanTo3DProJob", "QueryHunyuanTo3DProJob"
local RAPID_SUBMIT, RAPID_QUERY = "SubmitHunyuanTo3DRapidJob", "QueryHunyuanTo3DRapidJob"

-- Runs fn with only these environment variables set (hy3d.options reads os.getenv).
local function with_env(vars, fn)
  local getenv = os.getenv
  os.getenv = function(name) return vars[name] end   -- luacheck: ignore 122
  local ok, err = pcall(fn)
  os.getenv = getenv                                 -- luacheck: ignore 122
  if not ok then error(err, 0) end
end

describe("hy3d.doors.tokenhub", function()
  it("is a door of hy3d.doors, keyed, offering pro and rapid", function()
    assert.equal(th, doors.get("tokenhub"))
    assert.truthy(table.concat(doors.names, " "):find("tokenhub", 1, true))
    assert.same({ "key", "Bearer" }, { th.credentials, th.auth_scheme })
    assert.same({ pro = true, rapid = true }, th.families)
    assert.equal("https://tokenhub.tencentmaas.com", th.url)
    assert.equal("https://tokenhub-intl.tencentmaas.com", th.intl_url)
  end)

  it("sends a submit's fields in TokenHub's names with its model", function()
    local method, target, body, signed = th:request(PRO_SUBMIT, { Prompt = "a", Model = "3.1", EnablePBR = false,
      ImageUrl = { Url = "https://x/y.png" }, MultiViewImages = { { ViewType = "left", ViewImageUrl = "u" } } }, true)
    assert.same({ "POST", "/v1/api/3d/submit" }, { method, target })
    assert.is_nil(signed)
    assert.same({ model = "hy-3d-3.1", prompt = "a", enable_pbr = false, image_url = "https://x/y.png",
                  multi_view_images = { { view_type = "left", view_image_url = "u" } } }, body)
    assert.equal("hy-3d-express", select(3, th:request(RAPID_SUBMIT, { Prompt = "a" }, true)).model)
    assert.equal("hy-3d-3.0", select(3, th:request(PRO_SUBMIT, { Prompt = "a", Model = "hy-3d-3.0" }, true)).model)
  end)

  it("refuses what TokenHub cannot express, naming the door and the field", function()
    for _, case in ipairs {
      { PRO_SUBMIT, { Prompt = "a", EnableGeometry = true }, "EnableGeometry" },
      { RAPID_SUBMIT, { Prompt = "a", GenerateType = "Normal" }, "GenerateType" },
      { RAPID_SUBMIT, { Prompt = "a", Model = "3.0" }, "Model" },
      { PRO_SUBMIT, { Prompt = "a", Model = 3.1 }, "Model" },
      { PRO_SUBMIT, { ImageUrl = { Url = "u", Extra = 1 } }, "ImageUrl" },
      { PRO_SUBMIT, { MultiViewImages = "left" }, "MultiViewImages" },
      { PRO_SUBMIT, { MultiViewImages = { "left" } }, "MultiViewImages[1]" },
      { PRO_SUBMIT, { [1] = "a" }, "1" },
    } do
      local method, err = th:request(case[1], case[2], true)
      assert.is_nil(method)
      assert.same({ "invalid", "FIELD_NOT_ON_DOOR", case[3] }, { err.kind, err.code, err.field })
      assert.matches("^the tokenhub door cannot express ", err.message)
    end
    local method, err = th:request("SubmitHunyuan3DPartJob", {}, true)
    assert.is_nil(method)
    assert.equal("ACTION_NOT_ON_DOOR", err.code)
  end)

  it("queries with the model the JobId carries, else the kind's", function()
    assert.same({ model = "hy-3d-3.1", id = "123" }, select(3, th:request(PRO_QUERY, { JobId = "hy-3d-3.1:123" })))
    assert.same({ model = "hy-3d-3.0", id = "123" }, select(3, th:request(PRO_QUERY, { JobId = "123" })))
    assert.same({ model = "hy-3d-express", id = "9" }, select(3, th:request(RAPID_QUERY, { JobId = "9" })))
    assert.same({ model = "tripo-3d-p1", id = "a:b" }, select(3, th:request(PRO_QUERY, { JobId = "tripo-3d-p1:a:b" })))
  end)

  it("answers a submit with JobId <model>:<id>, RequestId and the raw answer", function()
    local raw = { id = "14984", request_id = "r-1", object = "3d_job", status = "queued" }
    local job = th:answer(PRO_SUBMIT, raw, true, { Prompt = "a", Model = "3.1" })
    assert.same({ JobId = "hy-3d-3.1:14984", RequestId = "r-1", raw = raw }, job)
    assert.equal("hy-3d-express:7", th:answer(RAPID_SUBMIT, { id = 7 }, true, { Prompt = "a" }).JobId)
    for _, id in ipairs { {}, "", 1e400, 2.5, -1, "a\nb", true } do    -- no JobId: the client's NO_JOB_ID
      assert.is_nil(th:answer(PRO_SUBMIT, { id = id }, true, {}).JobId)
    end
  end)

  it("maps statuses, data[] and a failed job's error; unknown statuses are decode errors", function()
    local function q(res) return th:answer(PRO_QUERY, res, false, { JobId = "1" }) end
    assert.equal("WAIT", q { status = "queued" }.Status)
    assert.equal("RUN", q { status = "IN_PROGRESS" }.Status)
    local done = q { status = "completed", request_id = "r", data = { { type = "glb", url = "u", preview_image_url = "p" },
                                                                    "junk", { type = {}, url = 5 } } }
    assert.same({ { Type = "GLB", Url = "u", PreviewImageUrl = "p" }, { Url = "5" } }, done.ResultFile3Ds)
    assert.same({ "DONE", "", "", "r" }, { done.Status, done.ErrorCode, done.ErrorMessage, done.RequestId })
    assert.equal("completed", done.raw.status)
    local failed = q { status = "failed", error = { code = "FailedOperation.InnerError", message = "m" } }
    assert.same({ "FAIL", "FailedOperation.InnerError", "m" }, { failed.Status, failed.ErrorCode, failed.ErrorMessage })
    local flat = q { status = "failed", error_code = "X", error_message = "y" }
    assert.same({ "X", "y" }, { flat.ErrorCode, flat.ErrorMessage })
    assert.same({ "FAIL", "FAIL" }, { q { status = "failed" }.Status, q { status = "failed" }.ErrorCode })
    for _, status in ipairs { "teleporting", 5, {}, nil } do
      local r, err = q { status = status }
      assert.is_nil(r)
      assert.same({ "decode", "UNKNOWN_STATUS" }, { err.kind, err.code })
    end
    local _, err = q { status = ("\0x"):rep(100) }
    assert.is_nil(err.message:find("%z"))
    assert.is_true(#err.message < 200)
  end)

  it("reads {\"error\": ...} without a status as an api error, and re-kinds an http error with TokenHub's code", function()
    local r, err = th:answer(PRO_QUERY, { error = { code = 401002, message = "API Key does not exist" }, request_id = "q" },
      false, {})
    assert.is_nil(r)
    assert.same({ "api", "401002", "API Key does not exist", "q" }, { err.kind, err.code, err.message, err.request_id })
    local _, err2 = th:answer(PRO_QUERY, { error = "boom" }, false, {})
    assert.same({ "api", "TokenHubError", "boom" }, { err2.kind, err2.code, err2.message })
    local e = th:failure(PRO_SUBMIT, { kind = "http", code = "RequestLimitExceeded.JobNumExceed", http_status = 429 }, true)
    assert.same({ "api", "RequestLimitExceeded.JobNumExceed", 429 }, { e.kind, e.code, e.http_status })
    e = th:failure(PRO_SUBMIT, { kind = "http", code = "HTTP_502", http_status = 502 }, true)
    assert.same({ "http", "HTTP_502" }, { e.kind, e.code })
    e = th:failure(PRO_SUBMIT, { kind = "http", code = 401002, http_status = 401 }, true)
    assert.same({ "api", "401002" }, { e.kind, e.code })
    assert.matches("TokenHub", e.hint)
    e = th:failure(PRO_SUBMIT, { kind = "network", code = "COULDNT_CONNECT" }, true)
    assert.equal("network", e.kind)
  end)

  it("settings: HY3D_DOOR=tokenhub reads HY3D_API_KEY, sends it after Bearer, to TokenHub's URL", function()
    with_env({ HY3D_DOOR = "tokenhub", HY3D_API_KEY = "sk-tokenhub-0123456789" }, function()
      local s = options.settings {}
      assert.equal("tokenhub", s.door)
      assert.equal("Bearer sk-tokenhub-0123456789", s.transport.engine.authorization)
      assert.equal("https://tokenhub.tencentmaas.com", s.base_url)
      assert.same({ request_id = "request_id", http_error = "error" }, s.transport.engine.envelope)
      assert.is_nil(s.transport.engine.tc3)
    end)
    with_env({ HY3D_BASE_URL = "https://tokenhub-intl.tencentmaas.com" }, function()
      local s = options.settings { door = "tokenhub", api_key = "sk-tokenhub-0123456789" }
      assert.equal("https://tokenhub-intl.tencentmaas.com", s.base_url)
      assert.error_matches(function() options.settings { door = "tokenhub", secret_id = "AKIDx", secret_key = "secret-0123" } end,
        "the tokenhub door takes an api_key")
    end)
  end)
end)
