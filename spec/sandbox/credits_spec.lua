-- The sandbox's credit fields: Pro's answers carry them as documented, the other kinds' only with --all-credits
-- (config all_credits), priced by the same table, Convert3DFormat's included; the account's total in the stats.
local cjson = require "cjson"
local sandbox = require "spec.support.sandbox"

describe("hy3d-sandbox credits", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0.2, concurrency = 0 }

  before_each(function() sb:freeze() end)
  after_each(function() sb:config { all_credits = false } end)   -- a reset keeps the config

  local function finished(action, query, params)
    local _, a = sb:api(action, params)
    assert.is_nil(a.Response.Error, a.Response.Error and a.Response.Error.Message)
    sb:advance(0.25)                                    -- past WAIT 0 + RUN 0.2 on the job clock
    local _, q = sb:api(query, { JobId = a.Response.JobId })
    assert.equal("DONE", q.Response.Status)
    return q.Response
  end

  it("parses --all-credits", function()
    local parse = require("hy3d.sandbox").parse_args
    assert.is_true(assert(parse({ "--all-credits" }, function() return nil end)).all_credits)
    assert.is_falsy(assert(parse({}, function() return nil end)).all_credits)
  end)

  it("answers Rapid without credit fields by default, and with them under all_credits", function()
    local r = finished("SubmitHunyuanTo3DRapidJob", "QueryHunyuanTo3DRapidJob", { Prompt = "x" })
    assert.is_nil(r.ResultCreditConsumed)
    assert.is_nil(r.ResultCreditDetails)
    sb:config { all_credits = true }
    r = finished("SubmitHunyuanTo3DRapidJob", "QueryHunyuanTo3DRapidJob", { Prompt = "x" })
    assert.equal(15, r.ResultCreditConsumed)
    assert.same({ rapid = 15 }, cjson.decode(r.ResultCreditDetails))
    r = finished("SubmitHunyuanTo3DMotionJob", "DescribeHunyuanTo3DMotionJob", { Prompt = "walk" })
    assert.equal(10, r.ResultCreditConsumed)
    assert.equal(15 + 15 + 10, sb:stats().credits_consumed)   -- charged whether reported or not
  end)

  it("prices Convert3DFormat by the table, and reports it under all_credits", function()
    local glb = finished("SubmitHunyuanTo3DProJob", "QueryHunyuanTo3DProJob", { Prompt = "x" }).ResultFile3Ds[2].Url
    local _, c = sb:api("Convert3DFormat", { File3D = glb, Format = "STL" })
    assert.is_nil(c.Response.ResultCreditConsumed)
    sb:config { all_credits = true }
    _, c = sb:api("Convert3DFormat", { File3D = glb, Format = "STL" })
    assert.equal(5, c.Response.ResultCreditConsumed)
    assert.same({ convert = 5 }, cjson.decode(c.Response.ResultCreditDetails))
    assert.equal(20 + 5 + 5, sb:stats().credits_consumed)
  end)

  it("counts MultiViewImages only when it holds a view", function()
    local r = finished("SubmitHunyuanTo3DProJob", "QueryHunyuanTo3DProJob",
      { ImageUrl = "https://e.com/f.png", MultiViewImages = {} })
    assert.same({ ["GenerateType-Normal"] = 20 }, cjson.decode(r.ResultCreditDetails))
  end)
end)
