-- client:chain and hy3d.chain.run_then against the sandbox: each follow-up kind gets the previous job's file;
-- limits, expired links, unfinished jobs and hostile results. The request log shows what was sent.
local hy3d = require "hy3d"
local cjson = require "cjson"
local chain = require "hy3d.chain"
local sandbox = require "spec.support.sandbox"

local MB = 1024 * 1024

-- The path of a sandbox file URL (its signature dropped).
local function path_of(url)
  return (url:match("^https?://[^/]+(/[^?]*)"))
end

local function file_of(res, ftype)
  for _, f in ipairs(res.ResultFile3Ds) do
    if f.Type == ftype then return f end
  end
end

describe("client:chain", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0 }
  local client, dir

  setup(function()
    client = hy3d.new { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url,
                        poll_interval = 0.02 }
    dir = sandbox.tmpdir()
  end)

  teardown(function()
    client:close()
    os.execute("rm -rf " .. sandbox.shell_quote(dir))
  end)

  -- The API 3.0 requests of one action, their bodies decoded.
  local function sent(action)
    local out = {}
    for _, r in ipairs(sb:requests("api")) do
      if r.action == action then out[#out + 1] = cjson.decode(r.body) end
    end
    return out
  end

  local function model(params)
    local job = assert(client:submit(params or { Prompt = "a knight" }))
    return assert(client:wait(job))
  end

  local CASES = {
    { kind = "part", action = "SubmitHunyuan3DPartJob", field = "File", ftype = "FBX", extra = { ResultFormat = "FBX" } },
    { kind = "uv", action = "SubmitHunyuanTo3DUVJob", field = "File", ftype = "GLB" },
    { kind = "reduce_face", action = "SubmitReduceFaceJob", field = "File3D", ftype = "GLB",
      params = { FaceLevel = "low" } },
    { kind = "texture", action = "SubmitTextureTo3DJob", field = "File3D", ftype = "GLB",
      params = { Prompt = "rusty iron" } },
    { kind = "rigging", action = "SubmitAutoRiggingJob", field = "File3D", ftype = "GLB", params = { MotionType = 26 } },
    { kind = "motion", action = "SubmitHunyuanTo3DMotionJob", field = "RetargetFile", ftype = "FBX",
      params = { Prompt = "a person walks forward" }, extra = { ResultFormat = "FBX" } },
  }
  for _, c in ipairs(CASES) do
    it(("submits a %s job on the previous job's %s file, which the service accepts"):format(c.kind, c.ftype), function()
      local params = { Prompt = "a knight" }
      for k, v in pairs(c.extra or {}) do params[k] = v end
      local res = model(params)
      local job, err = client:chain(res, c.kind, c.params)
      assert.is_nil(err)
      assert.equal(c.kind, job.kind)
      assert.equal(c.ftype, job.input.type)
      assert.equal(res.JobId, job.input.from_job)
      local bodies = sent(c.action)
      assert.equal(1, #bodies)
      assert.equal(c.ftype, bodies[1][c.field].Type)
      assert.equal(file_of(res, c.ftype).Url, bodies[1][c.field].Url)
      for k, v in pairs(c.params or {}) do assert.same(v, bodies[1][k]) end
      local done = assert(client:wait(job))               -- the sandbox took the file as input
      assert.equal("DONE", done.Status)
    end)
  end

  it("runs the synchronous Convert3DFormat on the file (a bare URL) and returns its file as ResultFile3Ds", function()
    local res = model()
    local out = assert(client:chain(res, "convert", { Format = "STL" }))
    assert.equal("DONE", out.Status)
    assert.equal("STL", out.ResultFile3Ds[1].Type)
    local bodies = sent("Convert3DFormat")
    assert.equal(1, #bodies)
    assert.equal(file_of(res, "GLB").Url, bodies[1].File3D)
    local files = assert(client:download_files(out, { formats = { "STL" }, dir = dir, name = "converted" }))
    assert.equal(dir .. "/converted.stl", files[1].path)
  end)

  it("queries a JobId or a job table first, and takes the verbs rig and topology", function()
    local job = assert(client:submit { Prompt = "a knight" })
    assert(client:wait(job))
    local queries = #sent("QueryHunyuanTo3DProJob")
    local rig = assert(client:chain(job.JobId, "rig"))
    assert.equal("rigging", rig.kind)
    local topo = assert(client:chain(job, "topology"))
    assert.equal("reduce_face", topo.kind)
    assert.equal(queries + 2, #sent("QueryHunyuanTo3DProJob"))
    assert.equal(path_of(sent("SubmitAutoRiggingJob")[1].File3D.Url), "/files/" .. job.JobId .. "/model.glb")
  end)

  it("refuses a file over the action's size limit with the limit, and submits nothing", function()
    local big = { JobId = "1", Status = "DONE",
                  ResultFile3Ds = { { Type = "GLB", Url = sb.url .. "/_sandbox/blob?size=" .. (60 * MB + 1) } } }
    local job, err = client:chain(big, "rigging")
    assert.is_nil(job)
    assert.equal("invalid", err.kind)
    assert.equal("FILE_TOO_LARGE", err.code)
    assert.equal(60 * MB, err.limit)
    assert.matches("60 MB", err.message)
    assert.equal(0, #sent("SubmitAutoRiggingJob"))
    local out, cerr = client:chain(big, "convert", { Format = "STL" })
    assert.is_nil(out)
    assert.equal("FILE_TOO_LARGE", cerr.code)
    assert.equal(0, #sent("Convert3DFormat"))
  end)

  it("takes the next file the action accepts when the first is over the limit (a big GLB: the FBX)", function()
    local res = model { Prompt = "a knight", ResultFormat = "FBX" }
    local fbx = file_of(res, "FBX")
    local mixed = { JobId = res.JobId, kind = "pro", Status = "DONE", ResultFile3Ds = {
      { Type = "GLB", Url = sb.url .. "/_sandbox/blob?size=" .. (60 * MB + 1) }, fbx } }
    local job = assert(client:chain(mixed, "rigging"))
    assert.equal("FBX", job.input.type)
    local body = sent("SubmitAutoRiggingJob")[1]
    assert.same({ Type = "FBX", Url = fbx.Url }, body.File3D)
  end)

  it("refuses a file over the face limit when told how to count faces, and submits nothing", function()
    local res = model()
    local job, err = client:chain(res, "uv", nil, { count_faces = function() return 30001 end })
    assert.is_nil(job)
    assert.equal("TOO_MANY_FACES", err.code)
    assert.equal(30000, err.limit)
    assert.equal(0, #sent("SubmitHunyuanTo3DUVJob"))
  end)

  it("refreshes an expired file link by querying the job again, and sends the fresh one", function()
    sb:config { url_ttl = 1 }
    finally(function() sb:config { url_ttl = 86399 } end)
    local res = model()
    sb:freeze()
    sb:advance(5)                                     -- past the 1 s window; frozen, so a fresh link stays good
    local old = file_of(res, "GLB").Url
    local queries = #sent("QueryHunyuanTo3DProJob")
    local job = assert(client:chain(res, "rigging"))
    assert.equal(queries + 1, #sent("QueryHunyuanTo3DProJob"))
    local url = sent("SubmitAutoRiggingJob")[1].File3D.Url
    assert.are_not.equal(old, url)
    assert.equal(path_of(old), path_of(url))
    assert.truthy(job.JobId)
  end)

  it("says a previous job that is not DONE cannot be chained, and submits nothing", function()
    sb:config { wait_time = 600 }
    finally(function() sb:config { wait_time = 0 } end)
    sb:freeze()
    local job = assert(client:submit { Prompt = "a knight" })
    local got, err = client:chain(job, "rigging")
    assert.is_nil(got)
    assert.equal("invalid", err.kind)
    assert.equal("NOT_DONE", err.code)
    assert.equal(job.JobId, err.job_id)
    assert.matches("not DONE", err.message)
    local _, rerr = client:chain({ JobId = job.JobId, Status = "RUN", ResultFile3Ds = {} }, "rigging")
    assert.equal("NOT_DONE", rerr.code)
    assert.equal(0, #sent("SubmitAutoRiggingJob"))
  end)

  it("refuses hostile results: an unknown Type, a URL of another scheme", function()
    local odd = { JobId = "7", Status = "DONE", ResultFile3Ds = {
      { Type = "../x", Url = sb.url .. "/files/7/model.glb" },
      { Type = "FBX", Url = "file:///etc/passwd" } } }
    local _, err = client:chain(odd, "part")
    assert.equal("BAD_RESULT_URL", err.code)
    local _, gerr = client:chain(odd, "rigging", nil, { check_size = false })
    assert.equal("BAD_RESULT_URL", gerr.code)
    local _, nerr = client:chain({ JobId = "7", Status = "DONE", ResultFile3Ds = {
      { Type = "../x", Url = sb.url .. "/files/7/model.glb" } } }, "rigging")
    assert.equal("NO_INPUT_FILE", nerr.code)
    assert.is_nil(nerr.message:find("../x", 1, true))
    local _, jerr = client:chain({ JobId = "8", Status = "DONE", ResultFile3Ds = {
      { Type = "GLB", Url = "javascript:alert(1)" } } }, "texture", { Prompt = "wood" })
    assert.equal("BAD_RESULT_URL", jerr.code)
    assert.equal(0, #sb:requests("api"))
  end)

  it("gives typed errors for bad input: an unknown kind, a missing Prompt or Format, a bad source", function()
    local _, e1 = client:chain("1", "paint")
    assert.equal("UNKNOWN_CHAIN_KIND", e1.code)
    local _, e2 = client:chain("1", "texture")
    assert.equal("MISSING_PARAMETER", e2.code)
    local _, e3 = client:chain("1", "convert")
    assert.equal("MISSING_PARAMETER", e3.code)
    local _, e4 = client:chain({}, "rigging")
    assert.equal("BAD_JOB", e4.code)
    local _, e5 = client:chain("1", "rigging", "x")
    assert.equal("BAD_PARAMS", e5.code)
    assert.equal(0, #sb:requests("api"))
  end)

  it("run_then chains steps in a row, each on the previous output, and downloads each step's files", function()
    local res = model()
    local submitted = {}
    local steps = assert(chain.run_then(client, res, { "topology,rig" }, {
      dir = dir, name = "knight", on_submit = function(job, i, kind) submitted[i] = kind .. ":" .. job.JobId end }))
    assert.equal(2, #steps)
    assert.equal("reduce_face", steps[1].kind)
    assert.equal("rigging", steps[2].kind)
    assert.equal(dir .. "/knight_reduce_face.glb", steps[1].files[1].path)
    assert.equal(dir .. "/knight_rigging.fbx", steps[2].files[1].path)
    assert.equal("reduce_face:" .. steps[1].job.JobId, submitted[1])
    -- the rig took the topology job's GLB, not the first model's
    local url = sent("SubmitAutoRiggingJob")[1].File3D.Url
    assert.equal("/files/" .. steps[1].job.JobId .. "/model.glb", path_of(url))
  end)
end)
