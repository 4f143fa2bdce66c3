-- The TokenHub door against the sandbox: job calls, the field table, refusals, errors, retries, slots, the CLI.
local cjson = require "cjson"
local core = require "hy3d.core"
local hy3d = require "hy3d"
local images = require "spec.support.images"
local sandbox = require "spec.support.sandbox"
local cli = require "spec.support.cli"

-- The request log's entries of the TokenHub door (its route: "submit" or "query").
local function tokenhub_requests(sb, route)
  local out = {}
  for _, r in ipairs(sb:requests()) do
    if r.door == "tokenhub" and (not route or r.route == route) then out[#out + 1] = r end
  end
  return out
end

describe("the TokenHub door", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2 }
  local client

  setup(function()
    client = sb:client { door = "tokenhub", poll_interval = 0.05 }
  end)

  it("submits to /v1/api/3d/submit with a Bearer key and snake_case fields, and waits for the job", function()
    assert.equal("tokenhub", client.door)
    local job, err = client:submit { Prompt = "a small wooden chair", FaceCount = 20000 }
    assert.is_nil(err)
    assert.equal("pro", job.kind)
    assert.matches("^hy%-3d%-3%.0:%d+$", job.JobId)           -- the model travels in the JobId
    assert.is_string(job.RequestId)
    assert.equal("3d_job", job.raw.object)
    local r = tokenhub_requests(sb, "submit")[1]
    assert.equal("/v1/api/3d/submit", r.path)
    assert.equal("bearer", r.auth)
    assert.is_true(r.key_ok)
    assert.is_nil(r.headers.authorization)                    -- the log keeps no key
    assert.same({ model = "hy-3d-3.0", prompt = "a small wooden chair", face_count = 20000 }, cjson.decode(r.body))
    local q = assert(client:query(job))
    assert.matches("^[WR]", q.Status)
    assert.equal(job.JobId, q.JobId)
    local done = assert(client:wait(job))
    assert.equal("DONE", done.Status)
    assert.equal("completed", done.raw.status)
    assert.same({ "OBJ", "GLB" }, { done.ResultFile3Ds[1].Type, done.ResultFile3Ds[2].Type })
    assert.matches("/model%.glb%?q%-sign", done.ResultFile3Ds[2].Url)
    assert.matches("preview%.png", done.ResultFile3Ds[2].PreviewImageUrl)
    assert.equal("", done.ErrorCode)
    local queries = tokenhub_requests(sb, "query")
    assert.equal("/v1/api/3d/query", queries[1].path)
    assert.same({ model = "hy-3d-3.0", id = job.JobId:match(":(.+)$") }, cjson.decode(queries[1].body))
  end)

  it("translates every Pro field, Model 3.1 to hy-3d-3.1, and repeats that model on the query", function()
    local png = core.base64_encode(images.png(256, 256))
    local job = assert(client:submit { ImageBase64 = png, Model = "3.1", EnablePBR = true, GenerateType = "Normal",
      ResultFormat = "STL", FaceCount = 40000,
      MultiViewImages = { { ViewType = "back", ViewImageUrl = "https://example.com/back.png" },
                          { ViewType = "top", ViewImageBase64 = png } } })
    assert.matches("^hy%-3d%-3%.1:", job.JobId)
    local body = cjson.decode(tokenhub_requests(sb, "submit")[1].body)
    assert.same({ model = "hy-3d-3.1", image_base64 = png, enable_pbr = true, generate_type = "Normal",
                  result_format = "STL", face_count = 40000,
                  multi_view_images = { { view_type = "back", view_image_url = "https://example.com/back.png" },
                                        { view_type = "top", view_image_base64 = png } } }, body)
    local done = assert(client:wait(job.JobId))               -- the JobId alone says the model
    assert.equal("DONE", done.Status)
    assert.equal("hy-3d-3.1", cjson.decode(tokenhub_requests(sb, "query")[1].body).model)
    local types = {}
    for _, f in ipairs(done.ResultFile3Ds) do types[#types + 1] = f.Type end
    assert.same({ "OBJ", "GLB", "STL" }, types)
  end)

  it("sends PolygonType and an ImageUrl given as {Url = ...} in TokenHub's names", function()
    assert(client:submit { ImageUrl = { Url = "https://example.com/chair.png" }, GenerateType = "LowPoly",
                           PolygonType = "quadrilateral" })
    assert.same({ model = "hy-3d-3.0", image_url = "https://example.com/chair.png", generate_type = "LowPoly",
                  polygon_type = "quadrilateral" }, cjson.decode(tokenhub_requests(sb, "submit")[1].body))
  end)

  it("runs rapid jobs as hy-3d-express, and a bare id waits with the kind's model", function()
    local job = assert(client:submit({ Prompt = "a teapot", EnableGeometry = true, ResultFormat = "GLB" }, { kind = "rapid" }))
    assert.equal("rapid", job.kind)
    assert.matches("^hy%-3d%-express:%d+$", job.JobId)
    assert.same({ model = "hy-3d-express", prompt = "a teapot", enable_geometry = true, result_format = "GLB" },
      cjson.decode(tokenhub_requests(sb, "submit")[1].body))
    local bare = job.JobId:match(":(.+)$")
    local done = assert(client:wait(bare, { kind = "rapid" }))
    assert.equal("DONE", done.Status)
    assert.equal("GLB", done.ResultFile3Ds[1].Type)
    -- without the kind a bare id is asked as hy-3d-3.0: TokenHub does not find it
    local _, err = client:query(bare)
    assert.equal("api", err.kind)
    assert.equal("FailedOperation.JobNotFound", err.code)
    assert.equal(404, err.http_status)
  end)

  it("takes an Express prompt up to TokenHub's 1024 characters, and checks its own limit locally", function()
    local long = ("椅"):rep(1024)                     -- 1024 UTF-8 characters: API 3.0's Rapid takes 200
    local job = assert(client:submit({ Prompt = long }, { kind = "rapid" }))
    assert.equal(long, cjson.decode(tokenhub_requests(sb, "submit")[1].body).prompt)
    assert.equal("DONE", assert(client:wait(job)).Status)
    local _, err = client:submit({ Prompt = long .. "x" }, { kind = "rapid" })
    assert.same({ "invalid", "INVALID_PARAMETER", "Prompt" }, { err.kind, err.code, err.field })
    assert.equal(1, #tokenhub_requests(sb, "submit"))   -- nothing more was sent
    local api3 = hy3d.new { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url }
    _, err = api3:submit({ Prompt = ("椅"):rep(201) }, { kind = "rapid" })
    assert.same({ "invalid", "Prompt" }, { err.kind, err.field })   -- API 3.0's Rapid keeps 200
    api3:close()
  end)

  it("generates and downloads files in one call, and download_files works on a result", function()
    local dir = sandbox.tmpdir()
    local out = assert(client:generate("a wooden chair", { dir = dir, formats = { "GLB", "OBJ" }, extract = false }))
    assert.equal(2, #out.files)
    for _, f in ipairs(out.files) do
      local fh = assert(io.open(f.path, "rb"))
      local head = fh:read(4)
      fh:close()
      assert.is_true(head == "glTF" or head == "PK\3\4", f.path)
    end
    local again = assert(client:download_files(out.result, { dir = dir, formats = { "GLB" }, name = "again" }))
    assert.matches("again%.glb$", again[1].path)
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("refuses a field TokenHub cannot express, naming the door, before anything is sent", function()
    local loose = sb:client { door = "tokenhub", validate = false }
    local cases = {
      { { Prompt = "x", Seed = 7 }, nil, "Seed" },
      { { Prompt = "x", Model = "3.1" }, "rapid", "Model" },
      { { Prompt = "x", Model = "4.0" }, nil, "Model" },
      { { Prompt = "x", MultiViewImages = { { ViewType = "back", Extra = 1 } } }, nil, "MultiViewImages[1].Extra" },
      { { Prompt = "x", FaceCount = 10000 }, "rapid", "FaceCount" },
    }
    for _, c in ipairs(cases) do
      local job, err = loose:submit(c[1], { kind = c[2] })
      assert.is_nil(job)
      assert.equal("invalid", err.kind)
      assert.equal("FIELD_NOT_ON_DOOR", err.code)
      assert.equal(c[3], err.field)
      assert.matches("tokenhub door", err.message, 1, true)
      assert.matches("nothing was sent", err.message, 1, true)
    end
    assert.equal(0, #tokenhub_requests(sb))
    local _, kerr = client:submit({ File = { Type = "FBX", Url = "https://example.com/a.fbx" } }, { kind = "part" })
    assert.equal("KIND_NOT_ON_DOOR", kerr.code)
    assert.matches("tokenhub", kerr.message)
  end)

  it("reports a refused key as an api error with TokenHub's code, without the key", function()
    local wrong = "sk-tokenhub-wrong-key-0123456789"
    local bad = sb:client { door = "tokenhub", api_key = wrong }
    local _, err = bad:submit { Prompt = "x" }
    assert.equal("api", err.kind)
    assert.equal("401002", err.code)
    assert.equal("API Key does not exist", err.message)
    assert.equal(401, err.http_status)
    assert.matches("TokenHub", err.hint)
    assert.is_false(err.retryable)
    assert.is_nil(tostring(err):find(wrong, 1, true))
    assert.equal(1, #tokenhub_requests(sb, "submit"))        -- never retried
    -- the gateway's raw Authorization (no Bearer) is refused by TokenHub: hy3d always sends Bearer
    local payload = '{"model":"hy-3d-3.0","prompt":"x"}'
    local code, body = sb:raw("POST", "/v1/api/3d/submit", { Authorization = sb.key, ["Content-Type"] = "application/json",
      ["Content-Length"] = #payload }, payload)
    assert.equal(401, code)
    assert.equal("401001", body.error.code)
  end)

  it("refuses a submit past the concurrency limit (Express 1, Pro 3) like TokenHub", function()
    sb:freeze()                                               -- jobs stay running until the clock moves
    local strict = sb:client { door = "tokenhub", max_retries = 0 }
    assert(strict:submit({ Prompt = "one" }, { kind = "rapid" }))
    local _, err = strict:submit({ Prompt = "two" }, { kind = "rapid" })
    assert.equal("api", err.kind)
    assert.equal("RequestLimitExceeded.JobNumExceed", err.code)
    assert.equal(429, err.http_status)
    assert.matches("1", err.message)
    for i = 1, 3 do assert(strict:submit { Prompt = "pro " .. i }) end
    local _, perr = strict:submit { Prompt = "pro 4" }
    assert.equal("RequestLimitExceeded.JobNumExceed", perr.code)
    assert.matches("3", perr.message)
    sb:advance(1)                                             -- every job is done: the slots are free
    assert(strict:submit { Prompt = "pro 5" })
  end)

  it("queues submits with max_concurrent_jobs, so none is refused", function()
    local queued = sb:client { door = "tokenhub", poll_interval = 0.05, max_concurrent_jobs = 1 }
    local done = 0
    for i = 1, 3 do
      hy3d.spawn(function()
        local job = assert(queued:submit({ Prompt = "batch " .. i }, { kind = "rapid" }))
        assert.equal("DONE", assert(queued:wait(job)).Status)
        done = done + 1
      end)
    end
    assert.is_true((hy3d.run()))
    assert.equal(3, done)
    local submits = tokenhub_requests(sb, "submit")
    assert.equal(3, #submits)
    for _, r in ipairs(submits) do assert.is_nil(r.code) end
  end)

  it("retries a query after a 5xx and a 429 as on every door", function()
    local job = assert(client:submit { Prompt = "x" })
    sb:fault { route = "tokenhub", action = "status", status = 502, body = "Bad Gateway", count = 1 }
    sb:fault { route = "tokenhub", action = "status", status = 429, retry_after = 0.01, count = 1 }
    local retries = 0
    local patient = sb:client { door = "tokenhub", poll_interval = 0.05, retry_base = 0.01,
                                on_retry = function() retries = retries + 1 end }
    assert.equal("DONE", assert(patient:wait(job)).Status)
    assert.equal(2, retries)
  end)

  it("ends a failed job with its code, and takes hostile answers as typed errors", function()
    sb:fault { action = "fail", code = "FailedOperation.ServerError", message = "算法服务异常" }
    local job = assert(client:submit { Prompt = "doomed" })
    local _, err = client:wait(job)
    assert.equal("job", err.kind)
    assert.equal("FailedOperation.ServerError", err.code)
    assert.equal("算法服务异常", err.message)
    assert.equal("failed", err.result.raw.status)
    for _, case in ipairs {
      { '{"id":"1","status":"teleporting"}', "decode", "UNKNOWN_STATUS" },
      { '{"id":"1","status":{"x":1}}', "decode", "UNKNOWN_STATUS" },
      { '{"error":"boom"}', "api", "TokenHubError" },
      { '{"error":{"code":["x"],"message":7}}', "api", "TokenHubError" },
      { '[1,2,3]', "decode", "UNKNOWN_STATUS" },
      { 'not json', "decode", "INVALID_JSON" },
    } do
      sb:fault { route = "query", action = "status", status = 200, content_type = "application/json", body = case[1] }
      local r, qerr = client:query(job)
      assert.is_nil(r, case[1])
      assert.equal(case[2], qerr.kind, case[1])
      assert.equal(case[3], qerr.code, case[1])
    end
    sb:fault { route = "query", action = "status", status = 200, content_type = "application/json",
               body = '{"status":"completed","data":[1,{"type":7,"url":{}},{"type":"glb","url":"http://127.0.0.1:1/x.glb"}]}' }
    local r = assert(client:query(job))
    assert.equal("DONE", r.Status)
    assert.equal(2, #r.ResultFile3Ds)
    assert.is_nil(r.ResultFile3Ds[1].Type)
    assert.equal("GLB", r.ResultFile3Ds[2].Type)
  end)

  it("chooses the door from HY3D_DOOR and reads HY3D_API_KEY for it in the CLI", function()
    local dir = sandbox.tmpdir()
    local env = { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key, HY3D_JOBS_FILE = dir .. "/jobs.jsonl" }
    local code, out, err = cli.run("generate 'a red teapot' --door tokenhub --kind rapid --interval 0.02 --json", env, dir)
    assert.equal(0, code, err)
    local events = cli.events(out)
    local id = events[1].job_id
    assert.matches("^hy%-3d%-express:%d+$", id)
    assert.equal("tokenhub", require("hy3d.jobs").open(dir .. "/jobs.jsonl"):get(id).door)
    assert.is_table(cli.of(events, "file")[1])
    -- status follows the record: the gateway is never asked
    code, out, err = cli.run("status " .. id, env, dir)
    assert.equal(0, code, err)
    assert.matches("DONE", out)
    -- without a record, the JobId's model prefix says TokenHub (and --kind rapid does not send it to API 3.0)
    local norecord = { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key, HY3D_JOBS_FILE = dir .. "/none.jsonl" }
    code, out, err = cli.run("status --kind rapid " .. id, norecord, dir)
    assert.equal(0, code, err)
    assert.matches("DONE", out)
    env.HY3D_DOOR = "tokenhub"
    code, out, err = cli.run("submit 'a stool' --json", env, dir)
    assert.equal(0, code, err)
    assert.matches("^hy%-3d%-3%.0:", cli.events(out)[1].job_id)
    for _, r in ipairs(sb:requests()) do assert.not_equal("gateway", r.door) end
    env.HY3D_API_KEY = nil
    code, out, err = cli.run("submit 'a stool'", env, dir)
    assert.equal(3, code, out)
    assert.matches("HY3D_DOOR=tokenhub chose TokenHub, but HY3D_API_KEY is not set", err)
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)
