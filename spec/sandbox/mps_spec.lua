-- hy3d-sandbox's MPS door (hy3d.sandbox.mps) over raw signed HTTP: routing beside the ai3d door, the
-- service and version it checks, no region needed, MPS's fields and answers, Progress on the job clock.
local sandbox = require "spec.support.sandbox"

describe("hy3d-sandbox's MPS door", function()
  local sb = sandbox.suite { wait_time = 1, run_time = 4 }

  local function mps(action, params, opts)
    opts = opts or {}
    if opts.service == nil then opts.service = "mps" end
    if opts.version == nil then opts.version = "2019-06-12" end
    if opts.region == nil then opts.region = false end
    local status, body = sb:api(action, params, opts)
    assert.equal(200, status)
    return body.Response
  end

  it("takes requests signed for mps without a region, and gives a TaskId", function()
    local r = mps("SubmitHunyuan3DTask", { Prompt = "a chair", Seed = 1, Style = "cyberpunk", KeepUV = true })
    assert.is_nil(r.Error)
    assert.matches("^%x+%-%x+%-4%x+%-%x+%-%x+$", r.TaskId)
    local log = sb:requests("mps")
    assert.equal(1, #log)
    assert.equal("SubmitHunyuan3DTask", log[1].action)
  end)

  it("checks the service, the version and the action, as the service does", function()
    assert.equal("AuthFailure.InvalidAuthorization",
      mps("SubmitHunyuan3DTask", { Prompt = "x" }, { service = "ai3d" }).Error.Code)
    assert.equal("NoSuchVersion", mps("SubmitHunyuan3DTask", { Prompt = "x" }, { version = "2025-05-13" }).Error.Code)
    assert.equal("InvalidAction", mps("SubmitHunyuanTo3DProJob", { Prompt = "x" }).Error.Code)
    -- the ai3d door is unchanged: its action signed for ai3d still works
    local status, body = sb:api("SubmitHunyuanTo3DProJob", { Prompt = "x" })
    assert.equal(200, status)
    assert.is_string(body.Response.JobId)
  end)

  it("refuses what MPS does not take", function()
    for _, case in ipairs {
      { { Prompt = "x", Model = "3.0" }, "UnknownParameter" },
      { { ImageBase64 = "aGVsbG8=" }, "UnknownParameter" },
      { { Prompt = "x", ResultFormat = "STL" }, "InvalidParameterValue" },
      { { Prompt = "x", FaceCount = 2999 }, "InvalidParameterValue" },
      { { Prompt = "x", Seed = 1.5 }, "InvalidParameter" },
      { { Prompt = "x", GenerateType = "Texture" }, "MissingParameter" },
      { { Prompt = "x", MeshUrl = "https://example.com/m.fbx" }, "InvalidParameterValue" },
      { { MultiViewImages = { { ViewType = "left", ViewImageUrl = "https://example.com/l.png" },
                              { ViewType = "back", ViewImageUrl = "https://example.com/b.png" } } }, "InvalidParameterValue" },
      { {}, "MissingParameter" },
    } do
      local r = mps("SubmitHunyuan3DTask", case[1])
      assert.equal(case[2], r.Error and r.Error.Code, require("cjson").encode(case[1]))
    end
  end)

  it("reports Progress rising over the run, files once DONE, and an unknown task in MPS's shape", function()
    sb:freeze()
    local id = mps("SubmitHunyuan3DTask", { Prompt = "a chair", ResultFormat = "FBX" }).TaskId
    local function q() return mps("QueryHunyuan3DTask", { TaskId = id }) end
    local r = q()
    assert.same({ "WAIT", 0 }, { r.Status, r.Progress })
    assert.is_nil(r.ResultFile3Ds)
    sb:advance(2)
    r = q()
    assert.same({ "RUN", 25 }, { r.Status, r.Progress })
    sb:advance(2)
    assert.same({ "RUN", 75 }, { q().Status, q().Progress })
    sb:advance(1)
    r = q()
    assert.same({ "DONE", 100, "", "" }, { r.Status, r.Progress, r.ErrorCode, r.ErrorMessage })
    local types = {}
    for _, f in ipairs(r.ResultFile3Ds) do types[#types + 1] = f.Type end
    assert.same({ "OBJ", "GLB", "FBX" }, types)
    local status, body = sb:raw("GET", r.ResultFile3Ds[1].PreviewImageUrl:match("^http://[^/]+(.*)$"))
    assert.equal(200, status)
    assert.equal("\137PNG", body:sub(1, 4))
    r = mps("QueryHunyuan3DTask", { TaskId = "4deda860-a9a0-47e3-81f1-00cadf02a44c" })
    assert.same({ "ResourceNotFound.TaskId", "task not found or expired" }, { r.ErrorCode, r.ErrorMessage })
    assert.is_nil(r.Status)
    sb:config { mps = { not_found = "error" } }
    r = mps("QueryHunyuan3DTask", { TaskId = id .. "0" })
    assert.equal("ResourceNotFound.TaskId", r.Error.Code)
  end)

  it("fails a task with a fault, keeping its last Progress", function()
    sb:freeze()
    sb:fault { action = "fail", route = "mps", code = "InternalError.ModelInference" }
    local id = mps("SubmitHunyuan3DTask", { Prompt = "x" }).TaskId
    sb:advance(5)
    local r = mps("QueryHunyuan3DTask", { TaskId = id })
    assert.same({ "FAIL", 99, "InternalError.ModelInference" }, { r.Status, r.Progress, r.ErrorCode })
  end)
end)
