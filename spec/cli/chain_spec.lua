-- The chain verbs (hy3d rig|topology|uv|texture|part|motion|convert JOBID) and generate --then, run as bin/hy3d
-- against the sandbox: the request log shows the chained action got the previous job's file; jobs recorded first.
local cjson = require "cjson"
local sandbox = require "spec.support.sandbox"
local cli = require "spec.support.cli"

local q = sandbox.shell_quote

describe("hy3d chain verbs", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0 }
  local root, dir, env

  setup(function()
    root = sandbox.tmpdir()
  end)

  teardown(function()
    os.execute("rm -rf " .. q(root))
  end)

  before_each(function()
    dir = cli.workdir(root)
    env = { HY3D_ENDPOINT = sb.url, TENCENTCLOUD_SECRET_ID = sandbox.secret_id,
            TENCENTCLOUD_SECRET_KEY = sandbox.secret_key, HY3D_JOBS_FILE = dir .. "/jobs.jsonl" }
  end)

  local function hy3d(args)
    return cli.run(args, env, dir)
  end

  local function sent(action)
    local out = {}
    for _, r in ipairs(sb:requests("api")) do
      if r.action == action then out[#out + 1] = cjson.decode(r.body) end
    end
    return out
  end

  local function records()
    local out = {}
    local f = io.open(dir .. "/jobs.jsonl")
    if not f then return out end
    for line in f:lines() do out[#out + 1] = cjson.decode(line) end
    f:close()
    return out
  end

  -- A finished pro job's JobId (submitted with the CLI, so it is in the record).
  local function model(extra)
    local code, out, err = hy3d("generate --json --interval 0.02 --dir out " .. (extra or "") .. " a knight")
    assert.equal(0, code, err)
    return cli.of(cli.events(out), "submitted")[1].job_id
  end

  local VERBS = {
    { verb = "rig", kind = "rigging", action = "SubmitAutoRiggingJob", field = "File3D", ftype = "GLB", ext = "fbx" },
    { verb = "topology", kind = "reduce_face", action = "SubmitReduceFaceJob", field = "File3D", ftype = "GLB",
      ext = "glb", args = "--param FaceLevel=low" },
    { verb = "uv", kind = "uv", action = "SubmitHunyuanTo3DUVJob", field = "File", ftype = "GLB", ext = "zip" },
    { verb = "texture", kind = "texture", action = "SubmitTextureTo3DJob", field = "File3D", ftype = "GLB", ext = "glb",
      args = "rusty iron" },
    { verb = "part", kind = "part", action = "SubmitHunyuan3DPartJob", field = "File", ftype = "FBX", ext = "fbx",
      model = "--result-format FBX" },
    { verb = "convert", kind = "convert", action = "Convert3DFormat", ftype = "GLB", ext = "stl", args = "stl" },
  }
  for _, c in ipairs(VERBS) do
    it(("%s JOBID submits a %s job on the previous job's %s, records it, waits and downloads"):format(
        c.verb, c.kind, c.ftype), function()
      local id = model(c.model)
      local code, out, err = hy3d(("%s --json --interval 0.02 %s %s"):format(c.verb, id, c.args or ""))
      assert.equal(0, code, err)
      local bodies = sent(c.action)
      assert.equal(1, #bodies)
      local input = c.field and bodies[1][c.field] or { Type = c.ftype, Url = bodies[1].File3D }
      assert.equal(c.ftype, input.Type)
      assert.matches("/files/" .. id .. "/model%." .. c.ftype:lower() .. "%?", input.Url)
      local events = cli.events(out)
      local result = cli.of(events, "result")[1]
      assert.equal(c.kind, result.kind)
      local path = result.files[1].path
      assert.equal(dir .. "/out/a-knight_" .. c.kind .. "." .. c.ext, path)   -- beside the model, named after it
      assert.truthy(io.open(path))
      if c.kind ~= "convert" then
        local sub = cli.of(events, "submitted")[1]
        assert.equal(id, sub.from_job)
        local found
        for _, r in ipairs(records()) do
          if r.job_id == sub.job_id and r.kind == c.kind then found = r end
        end
        assert.truthy(found, "the chained job is in the record")
      end
    end)
  end

  it("--input-type sends another file of the job the action takes, and --param the action's fields", function()
    local id = model("--result-format FBX")
    local code, _, err = hy3d("rig --json --interval 0.02 --input-type fbx --param MotionType=26 " .. id)
    assert.equal(0, code, err)
    local body = sent("SubmitAutoRiggingJob")[1]
    assert.equal("FBX", body.File3D.Type)
    assert.matches("/files/" .. id .. "/model%.fbx%?", body.File3D.Url)
    assert.equal(26, body.MotionType)
  end)

  it("--no-wait prints the new JobId and records it, without waiting", function()
    local id = model()
    sb:config { wait_time = 600 }
    finally(function() sb:config { wait_time = 0 } end)
    local code, out, err = hy3d("rig --text --no-wait " .. id)
    assert.equal(0, code, err)
    local new = out:match("^(%d+)\n$")
    assert.truthy(new, out)
    assert.equal(0, #sent("DescribeAutoRiggingJob"))
    local found
    for _, r in ipairs(records()) do found = found or r.job_id == new end
    assert.truthy(found)
  end)

  it("a job that is not DONE is a clear error (exit 2) and nothing is submitted", function()
    sb:config { wait_time = 600 }
    finally(function() sb:config { wait_time = 0 } end)
    local code, out = hy3d("submit --json --kind rapid a knight")
    assert.equal(0, code)
    local id = cli.of(cli.events(out), "submitted")[1].job_id
    local c2, _, err = hy3d("rig --text " .. id)
    assert.equal(2, c2)
    assert.matches("not DONE", err)
    assert.equal(0, #sent("SubmitAutoRiggingJob"))
  end)

  it("bad input is a usage error: no JOBID, convert without a FORMAT, an unknown --then", function()
    assert.equal(2, (hy3d("rig --text")))
    assert.equal(2, (hy3d("convert --text 123")))
    local code, _, err = hy3d("generate --text --then paint a knight")
    assert.equal(2, code)
    assert.matches("%-%-then takes rig", err)
    assert.equal(0, #sb:requests("api"))
  end)

  it("generate --then rig with both a gateway key and API 3.0 credentials: the model, then its rig", function()
    local code, out, err = cli.run("generate --json --interval 0.02 --dir both --then rig a knight",
      { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key, HY3D_ENDPOINT = sb.url, TENCENTCLOUD_SECRET_ID = sandbox.secret_id,
        TENCENTCLOUD_SECRET_KEY = sandbox.secret_key, HY3D_JOBS_FILE = dir .. "/jobs.jsonl" }, dir)
    assert.equal(0, code, err)
    assert.equal(2, #cli.of(cli.events(out), "submitted"))
    assert.equal(1, #sent("SubmitAutoRiggingJob"))
  end)

  it("generate --then rig with a gateway key is refused before the model is paid for: nothing sent", function()
    local before = #sb:requests()
    local code, _, err = cli.run("generate --text --then rig a knight",
      { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key, HY3D_JOBS_FILE = dir .. "/jobs.jsonl" }, dir)
    assert.equal(3, code, err)                      -- credentials: the step needs API 3.0's
    assert.matches("rigging needs API 3%.0", err)
    assert.equal(before, #sb:requests())           -- not the model's submit either
  end)

  it("generate --then rig: the model, then the rigged FBX, both downloaded, each job recorded first", function()
    local code, out, err = hy3d("generate --json --interval 0.02 --dir out --then topology,rig a knight")
    assert.equal(0, code, err)
    local events = cli.events(out)
    local subs, results = cli.of(events, "submitted"), cli.of(events, "result")
    assert.equal(3, #subs)
    assert.same({ "pro", "reduce_face", "rigging" }, { subs[1].kind, subs[2].kind, subs[3].kind })
    assert.equal(3, #results)
    local order = {}                                  -- each step reported as it ends, not all at the end
    for _, e in ipairs(events) do
      if e.event == "submitted" or e.event == "result" then order[#order + 1] = e.event .. ":" .. e.kind end
    end
    assert.same({ "submitted:pro", "result:pro", "submitted:reduce_face", "result:reduce_face", "submitted:rigging",
                  "result:rigging" }, order)
    assert.matches("a-knight_rigging%.fbx$", results[3].files[1].path)
    assert.truthy(io.open(dir .. "/out/a-knight.glb"))
    assert.truthy(io.open(dir .. "/out/a-knight_reduce_face.glb"))
    assert.truthy(io.open(dir .. "/out/a-knight_rigging.fbx"))
    -- the rig worked on the topology job's GLB
    assert.matches("/files/" .. subs[2].job_id .. "/model%.glb", sent("SubmitAutoRiggingJob")[1].File3D.Url)
    local kinds = {}
    for _, r in ipairs(records()) do if r.kind then kinds[r.job_id] = r.kind end end
    assert.equal("rigging", kinds[subs[3].job_id])
    assert.equal("reduce_face", kinds[subs[2].job_id])
  end)

  -- The credits each job's records carry, by JobId (the last record of a job that says them).
  local function credits_of()
    local out = {}
    for _, r in ipairs(records()) do if r.credits ~= nil then out[r.job_id] = r.credits end end
    return out
  end

  it("hy3d rig records the rigging job's credits, and the gallery adds them to the model's card", function()
    sb:config { all_credits = true }
    finally(function() sb:config { all_credits = false } end)
    local id = model()
    local code, out, err = hy3d("rig --json --interval 0.02 " .. id)
    assert.equal(0, code, err)
    local rig = cli.of(cli.events(out), "submitted")[1].job_id
    local credits = credits_of()
    assert.equal(10, credits[rig])
    assert.is_number(credits[id])
    local _
    code, _, err = hy3d("gallery out --viewer none")
    assert.equal(0, code, err)
    local html = assert(sandbox.read_file(dir .. "/out/index.html"))
    assert.truthy(html:find(("<dt>credits</dt><dd>%d</dd>"):format(credits[id] + 10), 1, true), html)
  end)

  it("generate --then rig records each step's credits", function()
    sb:config { all_credits = true }
    finally(function() sb:config { all_credits = false } end)
    local code, out, err = hy3d("generate --json --interval 0.02 --dir out --then rig a knight")
    assert.equal(0, code, err)
    local subs = cli.of(cli.events(out), "submitted")
    assert.equal(10, credits_of()[subs[2].job_id])
  end)

  it("convert refuses a FORMAT it does not know before anything is sent, exit 2", function()
    local id = model()
    local before = #sb:requests()
    local code, out, err = hy3d("convert " .. id .. " xyz")
    assert.equal(2, code)
    assert.equal("", out)
    assert.matches("STL, USDZ, FBX, MP4 or GIF", err)
    assert.equal(before, #sb:requests())
    local _
    code, _, err = hy3d("convert --interval 0.02 " .. id .. " stl")
    assert.equal(0, code, err)
  end)

  it("each verb's help states its own default format (rig: FBX)", function()
    local code, out = hy3d("rig --help")
    assert.equal(0, code)
    assert.matches("default FBX", out)
    assert.is_nil(out:find("default GLB", 1, true), out)
  end)

  it("hy3d --help lists the verbs, and each verb has its own help", function()
    local code, out = hy3d("--help")
    assert.equal(0, code)
    assert.matches("rig JOBID", out)
    for _, verb in ipairs { "rig", "topology", "uv", "texture", "part", "motion", "convert" } do
      local c, text = hy3d(verb .. " --help")
      assert.equal(0, c)
      assert.matches("usage: hy3d " .. verb, text)
    end
  end)

  it("generate and batch --then: what a step needs is checked before the model is sent (exit 2, zero requests)",
    function()
    sandbox.write_file(dir .. "/one.txt", "a cone\n")
    local cases = {
      { "generate --json --then convert a cone", "MISSING_PARAMETER", "--then-param convert.Format" },
      { "generate --json --then texture a cone", "MISSING_PARAMETER", "Prompt or Image" },
      { "generate --json --then motion a cone", "MISSING_PARAMETER", "Prompt" },
      { "generate --json --then part a cone", "NO_INPUT_FILE", "--result-format FBX" },
      { "generate --json --dry-run --then convert a cone", "MISSING_PARAMETER", "Format" },
      { "batch one.txt --json --then convert", "MISSING_PARAMETER", "Format" },
      { "batch one.txt --json --then motion", "MISSING_PARAMETER", "Prompt" },
      { "batch one.txt --json --dry-run --then part", "NO_INPUT_FILE", "ResultFormat" },
      { "batch one.txt --json --then part", "NO_INPUT_FILE", "ResultFormat" },
    }
    for _, c in ipairs(cases) do
      local code, out, err = hy3d(c[1])
      assert.equal(2, code, c[1] .. ": " .. err)
      assert.matches(c[2], out .. err, 1, true)
      assert.matches(c[3], out .. err, 1, true)
      assert.equal(0, #sb:requests(), c[1])
    end
  end)

  it("--then-param gives a step its fields: generate --then convert with convert.Format=STL saves the STL", function()
    local code, out, err = hy3d("generate --json --interval 0.02 --dir out --then convert --then-param convert.Format=STL "
      .. "--result-format FBX a cone")
    assert.equal(0, code, err)
    assert.equal("STL", sent("Convert3DFormat")[1].Format)
    assert.is_true(#cli.of(cli.events(out), "result") >= 1)
    local _
    code, _, err = hy3d("generate --json --dry-run --then part --result-format FBX a cone")
    assert.equal(0, code, err)
    local before = #sb:requests()
    assert.equal(2, (hy3d("generate --then convert --then-param Format=STL a cone")))   -- no VERB.
    assert.equal(2, (hy3d("generate --then rig --then-param convert.Format=STL a cone")))   -- no --then convert
    assert.equal(before, #sb:requests())
  end)
end)
