-- Credits against the sandbox: hy3d.estimate equals the ResultCreditConsumed of a real job for every billing case of
-- the reference's §9, client:credits() totals finished jobs once each, and max_credits refuses a submit before sending.
local hy3d = require "hy3d"
local cjson = require "cjson"
local sandbox = require "spec.support.sandbox"
local images = require "spec.support.images"

local b64 = require("hy3d.core").base64_encode

local function api3(sb, opts)
  local o = { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url, poll_interval = 0.02 }
  for k, v in pairs(opts or {}) do o[k] = v end
  local c = hy3d.new(o)
  sb.clients[#sb.clients + 1] = c                 -- closed with the sandbox
  return c
end

local function url_of(res, t)
  for _, f in ipairs(res.ResultFile3Ds) do
    if f.Type == t then return f.Url end
  end
  error("no " .. t .. " in the result")
end

describe("hy3d.estimate", function()
  it("prices the official example at 40, itemised as the service's ResultCreditDetails", function()
    local total, details = hy3d.estimate { Prompt = "a chair", FaceCount = 150000, EnablePBR = true }
    assert.equal(40, total)
    assert.same({ FaceCount = 10, ["GenerateType-Normal"] = 20, Pbr = 10 }, details)
  end)

  it("leaves out the add-ons Pro ignores (EnablePBR with Geometry, FaceCount with LowPoly) and false or empty ones", function()
    assert.equal(15, (hy3d.estimate { Prompt = "x", GenerateType = "Geometry", EnablePBR = true }))
    assert.equal(25, (hy3d.estimate { Prompt = "x", GenerateType = "LowPoly", FaceCount = 3000 }))
    assert.equal(20, (hy3d.estimate { Prompt = "x", EnablePBR = false, MultiViewImages = {} }))
    assert.equal(20, (hy3d.estimate "a chair"))
  end)

  it("gives an unknown kind, an unpriced kind or value, and a door with its own billing a typed error, not a guess", function()
    local cases = {
      { { Prompt = "x" }, { kind = "nope" }, "UNKNOWN_KIND" },
      { { Prompt = "x" }, { kind = "texture_edit" }, "NO_PRICE" },
      { { Prompt = "x", GenerateType = "normal" }, nil, "NO_PRICE" },
      { { Prompt = "x" }, { door = "tokenhub" }, "NO_PRICE" },
      { { Prompt = "x" }, { door = "mps" }, "NO_PRICE" },
      { 42, nil, "BAD_PARAMS" },
    }
    for _, c in ipairs(cases) do
      local total, err = hy3d.estimate(c[1], c[2])
      assert.is_nil(total)
      assert.equal("invalid", err.kind)
      assert.equal(c[3], err.code)
      assert.is_string(err.message)
    end
    assert.equal(0, (hy3d.estimate({ Prompt = "x" }, { door = "local" })))
  end)

  it("takes other prices: opts.table family by family, or hy3d.credits.table changed in place", function()
    local own = { families = { texture_edit = { base = 12 } } }
    assert.equal(12, (hy3d.estimate({ Prompt = "x" }, { kind = "texture_edit", table = own })))
    assert.equal(15, (hy3d.estimate({ Prompt = "x" }, { kind = "rapid", table = { families = {} } })))
    local rapid = hy3d.credits.table.families.rapid
    hy3d.credits.table.families.rapid = { base = 99 }
    local total = hy3d.estimate({ Prompt = "x" }, { kind = "rapid" })
    hy3d.credits.table.families.rapid = rapid
    assert.equal(99, total)
  end)
end)

describe("an estimate for every billing case", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0.05, concurrency = 0, extra = { "--all-credits" }, reset = false }
  local client, glb, fbx

  setup(function()
    client = api3(sb)
    local base = assert(client:wait(assert(client:submit { Prompt = "a chair", ResultFormat = "FBX", FaceCount = 3000 })))
    glb, fbx = url_of(base, "GLB"), url_of(base, "FBX")
  end)

  local image = b64(images.png(256, 256))
  local portrait = b64(images.png(600, 600))
  local view = { { ViewType = "left", ViewImageBase64 = image } }
  -- name, kind, params, the total by the reference's table (§9)
  local CASES = {
    { "Pro Normal", "pro", function() return { Prompt = "a chair" } end, 20 },
    { "Pro LowPoly", "pro", function() return { Prompt = "a chair", GenerateType = "LowPoly" } end, 25 },
    { "Pro Geometry", "pro", function() return { Prompt = "a chair", GenerateType = "Geometry" } end, 15 },
    { "Pro Sketch", "pro", function() return { Prompt = "a chair", GenerateType = "Sketch", ImageBase64 = image } end, 25 },
    { "Pro + MultiViewImages", "pro", function() return { ImageBase64 = image, MultiViewImages = view } end, 30 },
    { "Pro + EnablePBR", "pro", function() return { Prompt = "a chair", EnablePBR = true } end, 30 },
    { "Pro + FaceCount", "pro", function() return { Prompt = "a chair", FaceCount = 3000 } end, 30 },
    { "Pro + ResultFormat", "pro", function() return { Prompt = "a chair", ResultFormat = "STL" } end, 25 },
    { "Pro, every add-on", "pro", function()
      return { ImageBase64 = image, MultiViewImages = view, EnablePBR = true, FaceCount = 3000, ResultFormat = "FBX" }
    end, 55 },
    { "Pro Geometry with EnablePBR (ignored)", "pro", function()
      return { Prompt = "a chair", GenerateType = "Geometry", EnablePBR = true }
    end, 15 },
    { "Pro LowPoly with FaceCount (ignored)", "pro", function()
      return { Prompt = "a chair", GenerateType = "LowPoly", FaceCount = 3000 }
    end, 25 },
    { "Rapid", "rapid", function() return { Prompt = "a chair" } end, 15 },
    { "smart topology", "reduce_face", function() return { File3D = { Type = "GLB", Url = glb } } end, 50 },
    { "Texture", "texture", function() return { File3D = { Type = "GLB", Url = glb }, Prompt = "oak" } end, 30 },
    { "Profile", "profile", function() return { Profile = { Base64 = portrait }, Template = "basketball" } end, 30 },
    { "Part", "part", function() return { File = { Type = "FBX", Url = fbx } } end, 30 },
    { "Part with post-processing", "part", function()
      return { File = { Type = "FBX", Url = fbx }, EnablePostProcess = true }
    end, 50 },
    { "UV", "uv", function() return { File = { Type = "GLB", Url = glb } } end, 10 },
    { "Motion", "motion", function() return { Prompt = "a person walks forward" } end, 10 },
    { "AutoRigging", "rigging", function() return { File3D = { Type = "FBX", Url = fbx } } end, 10 },
  }

  for _, c in ipairs(CASES) do
    local name, kind, make, want = c[1], c[2], c[3], c[4]
    it(("%s: %d credits, as the sandbox charges a real job"):format(name, want), function()
      local params = make()
      local total, details = hy3d.estimate(params, { kind = kind })
      assert.equal(want, total)
      local res = assert(client:wait(assert(client:submit(params, { kind = kind }))))
      assert.equal(total, res.ResultCreditConsumed)
      assert.same(details, cjson.decode(res.ResultCreditDetails))
      assert.same({ total, details }, { hy3d.credits.of(res) })
    end)
  end

  it("Convert3DFormat: 5 credits, as the sandbox charges it", function()
    local params = { File3D = glb, Format = "STL" }
    local total, details = hy3d.estimate(params, { kind = "convert" })
    assert.equal(5, total)
    local res = assert(client:convert(params))
    assert.equal(total, res.ResultCreditConsumed)
    assert.same(details, cjson.decode(res.ResultCreditDetails))
  end)
end)

describe("client:credits()", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0.05, concurrency = 0 }

  it("totals the jobs a client saw finish, each once however often it is waited for or queried", function()
    local client = api3(sb)
    assert.equal(0, (client:credits()))
    local a = assert(client:submit { Prompt = "a chair", EnablePBR = true })   -- 30, reported
    local b = assert(client:submit({ Prompt = "a chair" }, { kind = "rapid" }))  -- 15, not reported: the estimate
    local spent, info = client:credits()
    assert.equal(0, spent)
    assert.equal(45, info.pending)
    assert.equal(2, info.pending_jobs)
    assert(client:wait(a))
    assert(client:wait(a))
    assert(client:query(a))
    assert(client:wait(b))
    assert(client:wait(b.JobId, { kind = "rapid" }))
    spent, info = client:credits()
    assert.equal(45, spent)
    assert.same({ reported = 30, estimated = 15, pending = 0, pending_jobs = 0, jobs = 2, unpriced = 0 }, info)
    local got = assert(client:generate({ Prompt = "a chair", FaceCount = 3000 }, { dir = sandbox.tmpdir() }))
    assert.equal(30, got.result.ResultCreditConsumed)
    assert.equal(75, (client:credits()))
    assert.equal(sb:stats().credits_consumed, (client:credits()))   -- what the account was charged
  end)

  it("counts a failed job as nothing", function()
    local client = api3(sb)
    sb:fault { action = "fail", code = "FailedOperation.ServerError", message = "boom" }
    local job = assert(client:submit { Prompt = "a chair" })
    local _, err = client:wait(job)
    assert.equal("job", err.kind)
    local spent, info = client:credits()
    assert.equal(0, spent)
    assert.equal(0, info.pending)
    assert.equal(0, info.jobs)
  end)
end)

describe("max_credits", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0.05, concurrency = 0 }

  it("refuses a submit over the budget before anything is sent", function()
    local client = api3(sb, { max_credits = 35 })
    local job, err = client:submit { Prompt = "a chair", EnablePBR = true, FaceCount = 3000 }   -- 40
    assert.is_nil(job)
    assert.equal("invalid", err.kind)
    assert.equal("OVER_BUDGET", err.code)
    assert.matches("max_credits 35", err.message, 1, true)
    assert.matches("nothing was sent", err.message, 1, true)
    assert.equal(0, #sb:requests())
    local _, gerr = client:generate({ Prompt = "a chair", EnablePBR = true, FaceCount = 3000 }, { dir = sandbox.tmpdir() })
    assert.equal("OVER_BUDGET", gerr.code)
    assert.equal(0, #sb:requests())
  end)

  it("counts what is spent and what is submitted but not finished", function()
    local client = api3(sb, { max_credits = 50 })
    local a = assert(client:submit { Prompt = "a chair" })             -- 20 pending
    assert(client:submit { Prompt = "a chair" })                       -- 40 committed
    local n = #sb:requests()
    local _, err = client:submit { Prompt = "a chair" }                 -- 60 > 50
    assert.equal("OVER_BUDGET", err.code)
    assert.equal(n, #sb:requests())
    assert(client:wait(a))
    local _, info = client:credits()
    assert.equal(20, info.pending)
    assert.equal(10, info.left)
    assert.equal("OVER_BUDGET", select(2, client:submit({ Prompt = "a chair" }, { kind = "rapid" })).code)   -- 15 > 10
    assert(client:submit({ Prompt = "walk" }, { kind = "motion" }))   -- 10 fits
  end)

  it("refuses a job it cannot price while a budget is set, and a budget that is no number of credits", function()
    local client = api3(sb, { max_credits = 1000 })
    local _, err = client:submit({ Prompt = "x" }, { kind = "texture_edit" })
    assert.equal("invalid", err.kind)
    assert.equal(0, #sb:requests())
    assert.has_error(function() hy3d.new { api_key = sandbox.key, base_url = sb.url, max_credits = -1 } end)
    assert.has_error(function() hy3d.new { api_key = sandbox.key, base_url = sb.url, max_credits = 0 / 0 } end)
  end)

  it("dry_run: the plan and its estimate, the same checks, nothing sent", function()
    local client = api3(sb, { max_credits = 100 })
    local plan = assert(client:submit({ Prompt = "a chair", ResultFormat = "FBX" }, { dry_run = true }))
    assert.is_true(plan.dry_run)
    assert.equal("SubmitHunyuanTo3DProJob", plan.action)
    assert.equal("api3", plan.door)
    assert.equal(25, plan.credits)
    assert.same({ ["GenerateType-Normal"] = 20, ResultFormat = 5 }, plan.credit_details)
    local g = assert(client:generate({ Prompt = "a chair" }, { formats = { "STL" }, dry_run = true }))
    assert.equal("STL", g.params.ResultFormat)                          -- formats asked for it: +5
    assert.equal(25, g.credits)
    local _, err = client:submit({ Prompt = "a chair", FaceCount = 1 }, { dry_run = true })
    assert.equal("INVALID_PARAMETER", err.code)
    assert.equal(0, #sb:requests())
    assert.equal(0, select(2, client:credits()).pending)
  end)
end)
