-- hy3d-sandbox's international site (hy3d.sandbox.intl): requests signed for service hunyuan, its version, regions,
-- action names and rules, no credit fields, its own jobs, the other site's SecretIds refused, and its options.
local sandbox = require "spec.support.sandbox"

local INTL_ID, INTL_KEY = "AKIDhy3dSpecIntlSecretId0000000000", "hy3dSpecIntlSecretKey0123456789ab"

describe("hy3d-sandbox's intl site", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0, extra = { "--intl-secret-id", INTL_ID,
                                                                     "--intl-secret-key", INTL_KEY } }

  -- An intl API 3.0 call; `opts` as Sandbox:api's, defaulting to the intl service, version, region and keys.
  local function intl(action, params, opts)
    local o = { service = "hunyuan", version = "2023-09-01", region = "ap-singapore", secret_id = INTL_ID,
                secret_key = INTL_KEY }
    for k, v in pairs(opts or {}) do o[k] = v end
    local status, body = sb:api(action, params, o)
    assert.equal(200, status)
    return body.Response
  end

  it("runs a Pro job under the intl names, with no credit fields, and logs it as the intl door", function()
    local job = intl("SubmitHunyuanTo3DProJob", { Prompt = "a chair" })
    assert.matches("^%d+$", job.JobId)
    local q = intl("QueryHunyuanTo3DProJob", { JobId = job.JobId })
    assert.equal("DONE", q.Status)
    assert.is_nil(q.ResultCreditConsumed)
    assert.is_nil(q.ResultCreditDetails)
    local r = sb:requests("api")[1]
    assert.equal("intl", r.door)
    assert.equal("intl", r.site)
    assert.equal(INTL_ID, r.secret_id)
    -- the mainland does not know the job
    local _, body = sb:api("QueryHunyuanTo3DProJob", { JobId = job.JobId })
    assert.equal("FailedOperation.JobNotFound", body.Response.Error.Code)
  end)

  it("checks the intl version, regions and actions", function()
    assert.equal("NoSuchVersion", intl("SubmitHunyuanTo3DProJob", { Prompt = "x" }, { version = "2025-05-13" }).Error.Code)
    assert.equal("UnsupportedRegion", intl("SubmitHunyuanTo3DProJob", { Prompt = "x" }, { region = "ap-guangzhou" }).Error.Code)
    assert.is_nil(intl("SubmitHunyuanTo3DProJob", { Prompt = "x" }, { region = "na-siliconvalley" }).Error)
    for _, name in ipairs { "SubmitReduceFaceJob", "SubmitTextureTo3DJob", "SubmitProfileTo3DJob",
                            "SubmitHunyuanTo3DMotionJob" } do
      assert.equal("InvalidAction", intl(name, {}).Error.Code, name)
    end
    local _, body = sb:api("Submit3DSmartTopologyJob", {})          -- the mainland has no such action
    assert.equal("InvalidAction", body.Response.Error.Code)
    _, body = sb:api("SubmitHunyuanTo3DProJob", { Prompt = "x" }, { service = "hunyuan" })   -- intl scope, mainland version
    assert.equal("NoSuchVersion", body.Response.Error.Code)
  end)

  it("refuses Pro's ResultFormat and Part's Model, and checks texture edit and the async conversion", function()
    assert.equal("InvalidParameter", intl("SubmitHunyuanTo3DProJob", { Prompt = "x", ResultFormat = "STL" }).Error.Code)
    local model = intl("QueryHunyuanTo3DProJob", { JobId = intl("SubmitHunyuanTo3DProJob", { Prompt = "x" }).JobId })
      .ResultFile3Ds[2].Url
    assert.equal("InvalidParameter", intl("SubmitHunyuan3DPartJob", { File = { Type = "FBX", Url = model },
      Model = "1.5" }).Error.Code)
    local te = intl("SubmitHunyuanTo3DTextureEditJob", { File3D = { Type = "FBX", Url = model }, Prompt = "oak" })
    local done = intl("QueryHunyuanTo3DTextureEditJob", { JobId = te.JobId })
    assert.equal("DONE", done.Status)
    assert.equal("FBX", done.ResultFile3Ds[1].Type)
    assert.equal("InvalidParameterValue", intl("SubmitHunyuanTo3DTextureEditJob", { File3D = { Type = "FBX", Url = model },
      Image = { Url = "https://example.com/a.png" }, EnablePBR = true }).Error.Code)
    assert.equal("InvalidParameterValue", intl("SubmitHunyuanTo3DTextureEditJob", { File3D = { Type = "FBX", Url = model } })
      .Error.Code)
    local cj = intl("SubmitConvert3DFormatJob", { File = { Type = "GLB", Url = model }, Format = "USDZ" })
    done = intl("DescribeConvert3DFormatJob", { JobId = cj.JobId })
    assert.equal("USDZ", done.ResultFile3Ds[1].Type)
    assert.equal("InvalidParameter", intl("SubmitConvert3DFormatJob", { File = { Type = "GLB", Url = model },
      Format = "PLY" }).Error.Code)
  end)

  it("refuses each site's SecretIds on the other, with the configured codes", function()
    local _, body = sb:api("SubmitHunyuanTo3DProJob", { Prompt = "x" }, { secret_id = INTL_ID, secret_key = INTL_KEY })
    assert.equal("AuthFailure.SignatureFailure", body.Response.Error.Code)
    assert.equal("AuthFailure.SecretIdNotFound", intl("SubmitHunyuanTo3DProJob", { Prompt = "x" },
      { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key }).Error.Code)
    -- a bad signature is still a bad signature
    assert.equal("AuthFailure.SignatureFailure", intl("SubmitHunyuanTo3DProJob", { Prompt = "x" },
      { secret_key = "not-the-key-at-all" }).Error.Code)
    sb:config { intl_on_mainland_code = "ResourceUnavailable" }
    _, body = sb:api("SubmitHunyuanTo3DProJob", { Prompt = "x" }, { secret_id = INTL_ID, secret_key = INTL_KEY })
    assert.equal("ResourceUnavailable", body.Response.Error.Code)
    sb:config { intl_on_mainland_code = "AuthFailure.SignatureFailure" }
  end)

  it("parses its intl options and environment", function()
    local parse = require("hy3d.sandbox").parse_args
    local env = {}
    local getenv = function(k) return env[k] end
    local cfg = assert(parse({ "--intl-secret-id", "A", "--intl-secret-key", "B", "--intl-region", "eu-frankfurt",
      "--intl-on-mainland-code", "ResourceUnavailable", "--mainland-on-intl-code", "AuthFailure.InvalidSecretId" }, getenv))
    assert.same({ A = "B" }, cfg.intl_secrets)
    assert.same({ "eu-frankfurt" }, cfg.intl_regions)
    assert.equal("ResourceUnavailable", cfg.intl_on_mainland_code)
    assert.equal("AuthFailure.InvalidSecretId", cfg.mainland_on_intl_code)
    assert.is_nil(parse({ "--intl-secret-id", "A" }, getenv))
    env = { HY3D_SANDBOX_INTL_SECRET_ID = "X", HY3D_SANDBOX_INTL_SECRET_KEY = "Y" }
    assert.same({ X = "Y" }, assert(parse({}, getenv)).intl_secrets)
    local defaults = require("hy3d.sandbox")
    assert.equal(defaults.intl_secret_key, defaults.defaults.intl_secrets[defaults.intl_secret_id])
  end)
end)
