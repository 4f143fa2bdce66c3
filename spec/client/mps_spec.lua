-- The Media Processing (MPS) door against the sandbox's MPS door: submit, query, wait, generate and
-- download_files; Progress rising through on_status; the API 3.0 names turned into MPS's; fields MPS
-- cannot express; MPS's error shapes and the sandbox's settings for what is open about MPS; the CLI.
local hy3d = require "hy3d"
local cjson = require "cjson"
local sandbox = require "spec.support.sandbox"
local cli = require "spec.support.cli"

describe("the mps door", function()
  local sb = sandbox.suite { wait_time = 0.2, run_time = 1 }
  local dir, clients = nil, {}

  local function client(opts)
    local o = { door = "mps", secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url,
                poll_interval = 0.02 }
    for k, v in pairs(opts or {}) do o[k] = v end
    local c = hy3d.new(o)
    clients[#clients + 1] = c
    return c
  end

  after_each(function()
    for _, c in ipairs(clients) do c:close() end
    clients = {}
  end)

  -- The MPS requests the sandbox saw, their bodies decoded.
  local function sent()
    local list = sb:requests("mps")
    for _, r in ipairs(list) do r.json = cjson.decode(r.body) end
    return list
  end

  before_each(function() dir = sandbox.tmpdir() end)

  it("generates a model: signed for mps 2019-06-12 without a region, TaskId as JobId, files downloaded", function()
    local c = client()
    local got, err = c:generate("a wooden chair", { dir = dir, name = "chair", formats = { "GLB", "OBJ" } })
    assert.is_nil(err)
    assert.equal("pro", got.job.kind)
    assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", got.job.JobId)        -- MPS's TaskId, a UUID
    assert.equal(got.job.JobId, got.job.raw.TaskId)
    assert.equal("DONE", got.result.Status)
    assert.equal(100, got.result.Progress)
    assert.equal("DONE", got.result.raw.Status)
    assert.equal(2, #got.files)
    assert.equal("glTF", sandbox.read_file(dir .. "/chair.glb"):sub(1, 4))
    assert.is_true(sandbox.exists(dir .. "/chair.zip"))
    local reqs = sent()
    local submit, query = reqs[1], reqs[#reqs]
    assert.equal("SubmitHunyuan3DTask", submit.headers["x-tc-action"])
    assert.equal("2019-06-12", submit.headers["x-tc-version"])
    assert.is_nil(submit.headers["x-tc-region"])
    assert.matches("/mps/tc3_request, ", submit.headers.authorization)
    assert.same({ Prompt = "a wooden chair" }, submit.json)
    assert.equal("QueryHunyuan3DTask", query.headers["x-tc-action"])
    assert.same({ TaskId = got.job.JobId }, query.json)
    assert.equal(0, #sb:requests("api"))                               -- nothing reached the ai3d door
  end)

  it("submits, queries and waits; query and download_files take the job as on API 3.0", function()
    local c = client()
    local job = assert(c:submit { Prompt = "a teapot" })
    local q = assert(c:query(job))
    assert.is_truthy(({ WAIT = true, RUN = true, DONE = true })[q.Status])
    assert.equal("number", type(q.Progress))
    local done = assert(c:wait(job.JobId))
    assert.equal("DONE", done.Status)
    assert.equal(2, #done.ResultFile3Ds)                              -- OBJ and GLB: MPS's default pair
    for _, f in ipairs(done.ResultFile3Ds) do assert.matches("^http://.*preview%.png", f.PreviewImageUrl) end
    local files = assert(c:download_files(done, { formats = { "all" }, dir = dir }))
    assert.equal(2, #files)
  end)

  it("shows Progress rising to on_status, one call per change", function()
    local c = client()
    sb:freeze()
    local job = assert(c:submit { Prompt = "a lamp" })
    local seen = {}
    -- the job's clock moves only here, each time past the 0.2 s wait and then by 30% of the 1 s run:
    -- every poll after a call sees a change, so the calls go on until DONE
    local done = assert(c:wait(job, { interval = 0, timeout = 30, on_status = function(r)
      seen[#seen + 1] = { r.Status, r.Progress }
      sb:advance(0.3)
    end }))
    assert.equal("DONE", done.Status)
    assert.same({ "WAIT", 0 }, seen[1])
    assert.same({ "DONE", 100 }, seen[#seen])
    local between = 0
    for i = 2, #seen do
      assert.is_true(seen[i][2] >= seen[i - 1][2], "Progress never goes back")
      assert.is_true(seen[i][1] ~= seen[i - 1][1] or seen[i][2] ~= seen[i - 1][2], "on_status only on a change")
      if seen[i][1] == "RUN" and seen[i][2] > 0 and seen[i][2] < 100 then between = between + 1 end
    end
    assert.is_true(between >= 3, "Progress seen rising while RUN")
  end)

  it("turns API 3.0 names into MPS's, passes MPS's own, and makes a texture job of a model", function()
    local c = client()
    local job = assert(c:submit { Prompt = "a robot", EnableKeepUV = true, Seed = 20260815, Style = "cyberpunk",
                                  FaceCount = 5000, EnablePBR = true, ResultFormat = "FBX" })
    assert.same({ Prompt = "a robot", KeepUV = true, Seed = 20260815, Style = "cyberpunk", FaceCount = 5000,
                  EnablePBR = true, ResultFormat = "FBX" }, sent()[1].json)
    local done = assert(c:wait(job))
    local types = {}
    for _, f in ipairs(done.ResultFile3Ds) do types[#types + 1] = f.Type end
    assert.same({ "OBJ", "GLB", "FBX" }, types)
    local glb = done.ResultFile3Ds[2].Url
    local tex = assert(c:submit({ File3D = { Type = "GLB", Url = glb }, Prompt = "oak", EnableKeepUV = true },
      { kind = "texture" }))
    assert.equal("texture", tex.kind)
    local reqs = sent()
    assert.same({ MeshUrl = glb, Prompt = "oak", KeepUV = true, GenerateType = "Texture" }, reqs[#reqs].json)
    assert.equal("SubmitHunyuan3DTask", reqs[#reqs].headers["x-tc-action"])
    assert.equal("DONE", assert(c:wait(tex)).Status)
    reqs = sent()
    assert.equal("QueryHunyuan3DTask", reqs[#reqs].headers["x-tc-action"])
    local img = assert(c:submit { ImageUrl = { Url = "https://example.com/chair.png" } })   -- the gateway's form
    assert.same({ ImageUrl = "https://example.com/chair.png" }, sent()[#sent()].json)
    assert(c:wait(img))
  end)

  it("refuses a field MPS cannot express, naming the door, with or without validation", function()
    for _, validate in ipairs { true, false } do
      local c = client { validate = validate }
      for field, params in pairs {
        Model = { Prompt = "x", Model = "3.1" },
        PolygonType = { Prompt = "x", PolygonType = "quadrilateral" },
        Promt = { Promt = "x" },
      } do
        local job, err = c:submit(params)
        assert.is_nil(job)
        assert.equal("invalid", err.kind)
        assert.equal("FIELD_NOT_ON_DOOR", err.code)
        assert.equal(field, err.field)
        assert.matches("the mps door cannot express field '" .. field .. "'", err.message, 1, true)
      end
      local _, err = c:submit({ File3D = { Type = "GLB", Url = "https://x/m.glb" }, TextureSize = 1024 }, { kind = "texture" })
      assert.equal("FIELD_NOT_ON_DOOR", err.code)
      _, err = c:submit({ Prompt = "x" }, { kind = "rapid" })
      assert.equal("KIND_NOT_ON_DOOR", err.code)
      assert.matches("the mps door does not offer kind \"rapid\" (it offers pro, texture)", err.message, 1, true)
    end
    assert.equal(0, #sb:requests("mps"))                               -- nothing was sent
  end)

  it("refuses call and convert naming the mps door (they are API 3.0's), and tostring names it", function()
    local c = client()
    for _, try in ipairs { function() return c:call("DescribeAutoRiggingJob", {}) end,
                           function() return c:convert { File3D = "https://x/m.glb", Format = "STL" } end } do
      local res, err = try()
      assert.is_nil(res)
      assert.equal("invalid", err.kind)
      assert.matches("_NEEDS_API3$", err.code)
      assert.matches("this client uses the mps door", err.message, 1, true)
      assert.is_nil(err.message:find("gateway", 1, true))
    end
    assert.matches("mps door, SecretId set", tostring(c), 1, true)
    assert.equal(0, #sb:requests("mps"))
  end)

  it("checks MPS's rules locally, and the sandbox checks them when the client does not", function()
    local c = client()
    for _, case in ipairs {
      { { Prompt = "x", ResultFormat = "STL" }, "ResultFormat" },
      { { Prompt = "x", FaceCount = 100 }, "FaceCount" },
      { { ImageUrl = "https://x/f.png", MultiViewImages = { { ViewType = "left", ViewImageUrl = "https://x/l.png" } } },
        "MultiViewImages" },
      { { Prompt = "x", MeshUrl = "https://x/model.fbx" }, "MeshUrl" },
      { { Prompt = "x", GenerateType = "Texture" }, "GenerateType" },
    } do
      local _, err = c:submit(case[1])
      assert.equal("INVALID_PARAMETER", err.code)
      assert.equal(case[2], err.field)
      assert.matches("(the mps door)", err.message, 1, true)
    end
    assert.equal(0, #sb:requests("mps"))
    local raw = client { validate = false }
    local _, err = raw:submit { Prompt = "x", ResultFormat = "STL" }
    assert.same({ "api", "InvalidParameterValue" }, { err.kind, err.code })
    local views = { { ViewType = "front", ViewImageUrl = "https://x/f.png" },
                    { ViewType = "back", ViewImageUrl = "https://x/b.png" } }
    assert(c:submit { MultiViewImages = views })                       -- front among the views, no ImageUrl needed
  end)

  it("reads MPS's errors: an unknown task in either shape, a failed task, a signature for another service", function()
    local c = client()
    local _, err = c:query("4deda860-a9a0-47e3-81f1-00cadf02a44c")
    assert.same({ "api", "ResourceNotFound.TaskId", "task not found or expired" }, { err.kind, err.code, err.message })
    assert.equal("4deda860-a9a0-47e3-81f1-00cadf02a44c", err.job_id)
    assert.is_string(err.request_id)
    sb:config { mps = { not_found = "error" } }
    _, err = c:query("4deda860-a9a0-47e3-81f1-00cadf02a44c")
    assert.same({ "api", "ResourceNotFound.TaskId" }, { err.kind, err.code })
    sb:fault { action = "fail", route = "mps", code = "InternalError.ModelInference", message = "inference failed" }
    local job = assert(c:submit { Prompt = "x" })
    _, err = c:wait(job)
    assert.same({ "job", "InternalError.ModelInference", "inference failed" }, { err.kind, err.code, err.message })
    assert.equal(99, err.result.Progress)                              -- a failed task keeps its last Progress
    local wrong = client { service = "ai3d" }
    _, err = wrong:submit { Prompt = "x" }
    assert.same({ "api", "AuthFailure.InvalidAuthorization" }, { err.kind, err.code })
    local api3 = client { door = "api3" }
    assert(api3:submit { Prompt = "the ai3d door still answers ai3d" })
  end)

  it("is lenient where MPS is uncertain: other status words, ImageBase64 when the service takes it", function()
    sb:config { mps = { statuses = { WAIT = "WAITING", RUN = "PROCESSING", DONE = "FINISH", FAIL = "FAIL" } } }
    local c = client()
    local seen = {}
    local done = assert(c:wait(assert(c:submit { Prompt = "x" }), { on_status = function(r) seen[r.Status] = true end }))
    assert.equal("DONE", done.Status)
    assert.equal("FINISH", done.raw.Status)
    assert.is_true(seen.WAIT or seen.RUN)
    local png = require("spec.support.images").png(256, 256)
    local b64 = require("hy3d.core").base64_encode(png)
    local _, err = c:submit { ImageBase64 = b64 }                      -- passed on; the service decides
    assert.same({ "api", "UnknownParameter" }, { err.kind, err.code })
    sb:config { mps = { image_base64 = true } }
    assert(c:submit { ImageBase64 = b64 })
  end)

  it("is the CLI's door with --door mps (the SecretId pair), Progress in its status events", function()
    local env = { HY3D_ENDPOINT = sb.url, TENCENTCLOUD_SECRET_ID = sandbox.secret_id,
                  TENCENTCLOUD_SECRET_KEY = sandbox.secret_key, HY3D_API_KEY = sandbox.key, HY3D_BASE_URL = sb.url,
                  HY3D_JOBS_FILE = dir .. "/jobs.jsonl" }
    local code, out, err = cli.run(("generate a wooden chair --door mps --json --interval 0.05 --dir %s"):format(
      sandbox.shell_quote(dir)), env)
    assert.equal(0, code, err)
    local events = cli.events(out)
    local progress = {}
    for _, e in ipairs(events) do
      if e.event == "status" then progress[#progress + 1] = e.progress end
    end
    assert.equal(100, progress[#progress])
    assert.equal("glTF", sandbox.read_file(dir .. "/a-wooden-chair.glb"):sub(1, 4))
    assert.equal("SubmitHunyuan3DTask", sent()[1].headers["x-tc-action"])
    assert.equal(0, #sb:requests("submit"))                            -- not the gateway, though its key is set
    local job_id = events[1].job_id
    code, out, err = cli.run("status " .. job_id .. " --json", env)    -- the record sends it back through MPS
    assert.equal(0, code, err)
    assert.equal("DONE", cli.events(out)[1].status)
    code, out, err = cli.run("generate x --door mps", { HY3D_ENDPOINT = sb.url, HY3D_JOBS_FILE = dir .. "/jobs.jsonl" })
    assert.equal(3, code, err)
    assert.matches("%-%-door mps chose MPS: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY", out)
  end)
end)
