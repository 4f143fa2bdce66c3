-- The international site of API 3.0 (site = "intl") against the sandbox's intl door: the jobs, the intl action names
-- actually sent, what intl cannot express refused locally, cross-site credentials, the option, HY3D_SITE and --site.
local hy3d = require "hy3d"
local sandbox = require "spec.support.sandbox"
local cli = require "spec.support.cli"

local INTL_ID = "AKIDhy3dSpecIntlSecretId0000000000"
local INTL_KEY = "hy3dSpecIntlSecretKey0123456789ab"

-- The API 3.0 requests of the log, in order, optionally only those naming `action`.
local function api_requests(sb, action)
  local out = {}
  for _, r in ipairs(sb:requests("api")) do
    if not action or r.headers["x-tc-action"] == action then out[#out + 1] = r end
  end
  return out
end

local function tmpdir()
  return sandbox.tmpdir()
end

describe("the international site (site = \"intl\")", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2, extra = { "--concurrency", "pro=0,default=0",
    "--intl-secret-id", INTL_ID, "--intl-secret-key", INTL_KEY } }
  local client
  local clients = {}

  -- A client of the sandbox's API 3.0 doors (closed at the end); intl_client: on the intl site.
  local function api3_client(opts)
    local o = { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url, poll_interval = 0.05 }
    for k, v in pairs(opts or {}) do o[k] = v end
    local c = hy3d.new(o)
    clients[#clients + 1] = c
    return c
  end
  local function intl_client(opts)
    local o = { site = "intl", secret_id = INTL_ID, secret_key = INTL_KEY }
    for k, v in pairs(opts or {}) do o[k] = v end
    return api3_client(o)
  end

  teardown(function()
    for _, c in ipairs(clients) do c:close() end
  end)

  before_each(function()
    client = client or intl_client()
  end)

  describe("the option", function()
    it("switches API 3.0 to the intl service, endpoint, version and region; client.site says which", function()
      local c = hy3d.new { site = "intl", secret_id = INTL_ID, secret_key = INTL_KEY }
      assert.equal("intl", c.site)
      assert.equal("api3", c.door)
      assert.equal("https://hunyuan.intl.tencentcloudapi.com", c.base_url)
      assert.equal("ap-singapore", c.region)
      assert.matches("intl", tostring(c))
      c:close()
      local m = hy3d.new { secret_id = INTL_ID, secret_key = INTL_KEY }
      assert.equal("mainland", m.site)
      assert.equal("https://ai3d.tencentcloudapi.com", m.base_url)
      m:close()
      local g = hy3d.new { site = "mainland", api_key = sandbox.key }
      assert.equal("mainland", g.site)
      g:close()
    end)

    it("raises on an unknown site, naming the sites, and on a door without the site", function()
      local ok, err = pcall(hy3d.new, { site = "moon", secret_id = INTL_ID, secret_key = INTL_KEY })
      assert.is_false(ok)
      assert.matches("site must be one of mainland, intl, got \"moon\"", err)
      ok, err = pcall(hy3d.new, { site = "intl", api_key = sandbox.key })
      assert.is_false(ok)
      assert.matches("the gateway door has no intl site", err)
    end)

    it("reads HY3D_SITE when the option is not given, and the option wins over it", function()
      local script = [[
        local hy3d = require "hy3d"
        local ok, err = pcall(hy3d.new, {})
        if not ok then io.write("raised: ", err, "\n") return end
        local c = hy3d.new { secret_id = "AKIDxxxxxxxxxxxx", secret_key = "yyyyyyyyyyyyyyyy" }
        local m = hy3d.new { site = "mainland", secret_id = "AKIDxxxxxxxxxxxx", secret_key = "yyyyyyyyyyyyyyyy" }
        io.write(c.site, " ", c.base_url, " ", c.region, " ", m.site, "\n")
      ]]
      local run = function(value)
        local unset = "-u TENCENTCLOUD_REGION -u HY3D_ENDPOINT -u HY3D_DOOR -u HY3D_API_KEY -u TENCENTCLOUD_SECRET_ID "
          .. "-u TENCENTCLOUD_SECRET_KEY"
        return select(2, sandbox.run(("env %s HY3D_SITE=%s %s %s -e %s"):format(unset, sandbox.shell_quote(value),
          sandbox.lua_env(), sandbox.lua(), sandbox.shell_quote(script))))
      end
      assert.matches("^intl https://hunyuan%.intl%.tencentcloudapi%.com ap%-singapore mainland\n", run("intl"))
      assert.matches("HY3D_SITE must be one of mainland, intl, got \"mars\"", run("mars"))
    end)

    it("keeps service, version, region and endpoint overridable", function()
      sb:reset()
      local c = intl_client { region = "na-siliconvalley" }
      assert(c:query(assert(c:submit { Prompt = "a chair" })))
      local r = api_requests(sb)[1]
      assert.equal("na-siliconvalley", r.headers["x-tc-region"])
      assert.equal("2023-09-01", r.headers["x-tc-version"])
      -- signed for the mainland's service and version, the same client reaches the mainland door
      local m = intl_client { service = "ai3d", version = "2025-05-13", secret_id = sandbox.secret_id,
                              secret_key = sandbox.secret_key, region = "ap-guangzhou" }
      local job = assert(m:submit { Prompt = "a chair" })
      local last = api_requests(sb)
      last = last[#last]
      assert.matches("/ai3d/tc3_request", last.headers.authorization)
      assert.equal("2025-05-13", last.headers["x-tc-version"])
      assert.equal("DONE", assert(m:wait(job)).Status)
    end)
  end)

  describe("jobs", function()
    it("submits, queries and waits with intl signatures, and answers carry no credit fields", function()
      sb:reset()
      local job = assert(client:submit { Prompt = "a small wooden chair", FaceCount = 20000 })
      assert.equal("pro", job.kind)
      local r = api_requests(sb)[1]
      assert.equal("SubmitHunyuanTo3DProJob", r.headers["x-tc-action"])
      assert.equal("2023-09-01", r.headers["x-tc-version"])
      assert.equal("ap-singapore", r.headers["x-tc-region"])
      assert.matches("^TC3%-HMAC%-SHA256 Credential=" .. INTL_ID .. "/%d%d%d%d%-%d%d%-%d%d/hunyuan/tc3_request, ",
        r.headers.authorization)
      assert.matches("^[WRD]", assert(client:query(job)).Status)
      local done = assert(client:wait(job))
      assert.equal("DONE", done.Status)
      assert.is_nil(done.ResultCreditConsumed)
      assert.is_nil(done.ResultCreditDetails)
      local types = {}
      for _, f in ipairs(done.ResultFile3Ds) do types[#types + 1] = f.Type end
      table.sort(types)
      assert.same({ "GLB", "OBJ" }, types)
      assert.equal("QueryHunyuanTo3DProJob", api_requests(sb)[2].headers["x-tc-action"])
    end)

    it("generates and downloads the files in one call", function()
      local dir = tmpdir()
      local got = assert(client:generate("a wooden chair", { dir = dir, name = "chair", interval = 0.05 }))
      assert.equal("DONE", got.result.Status)
      assert.equal(1, #got.files)
      assert.equal("GLB", got.files[1].type)
      local f = assert(io.open(got.files[1].path, "rb"))
      assert.equal("glTF", f:read(4))
      f:close()
      local files = assert(client:download_files(got.result, { dir = dir, formats = { "all" } }))
      assert.equal(2, #files)
    end)

    it("sends ReduceFace as Submit3DSmartTopologyJob / Describe3DSmartTopologyJob", function()
      local model = assert(client:wait(assert(client:submit { Prompt = "a chair" }))).ResultFile3Ds[2].Url
      local job = assert(client:submit({ File3D = { Type = "GLB", Url = model }, FaceLevel = "low" }, { kind = "reduce_face" }))
      assert.equal("reduce_face", job.kind)
      local done = assert(client:wait(job))
      assert.equal("DONE", done.Status)
      assert.equal(1, #api_requests(sb, "Submit3DSmartTopologyJob"))
      assert.is_true(#api_requests(sb, "Describe3DSmartTopologyJob") >= 1)
      assert.equal(0, #api_requests(sb, "SubmitReduceFaceJob"))
      assert.equal(0, #api_requests(sb, "DescribeReduceFaceJob"))
    end)

    it("offers the intl-only families texture_edit and convert_job, and the shared ones", function()
      local model = assert(client:wait(assert(client:submit { Prompt = "a chair" }))).ResultFile3Ds[2].Url
      local params = {
        texture_edit = { File3D = { Type = "FBX", Url = model }, Prompt = "oak", EnablePBR = true },
        convert_job = { File = { Type = "GLB", Url = model }, Format = "STL" },
        rapid = { Prompt = "a teapot" },
        part = { File = { Type = "FBX", Url = model } },
        uv = { File = { Type = "GLB", Url = model } },
        rigging = { File3D = { Type = "GLB", Url = model } },
      }
      local actions = {
        texture_edit = { "SubmitHunyuanTo3DTextureEditJob", "QueryHunyuanTo3DTextureEditJob" },
        convert_job = { "SubmitConvert3DFormatJob", "DescribeConvert3DFormatJob" },
      }
      for kind, p in pairs(params) do
        local done = assert(client:wait(assert(client:submit(p, { kind = kind }))))
        assert.equal("DONE", done.Status)
        assert.is_true(#done.ResultFile3Ds >= 1, kind)
        if actions[kind] then
          assert.equal(1, #api_requests(sb, actions[kind][1]), kind)
          assert.is_true(#api_requests(sb, actions[kind][2]) >= 1, kind)
        end
      end
    end)

    it("keeps each site's jobs apart: an intl JobId is unknown on the mainland", function()
      local job = assert(client:submit { Prompt = "a chair" })
      local m = api3_client()
      local _, err = m:query(job.JobId)
      assert.equal("api", err.kind)
      assert.equal("FailedOperation.JobNotFound", err.code)
    end)
  end)

  describe("what intl cannot express", function()
    it("refuses Pro's ResultFormat locally, naming the site, with validation off too", function()
      sb:reset()
      for _, c in ipairs { client, intl_client { validate = false } } do
        local job, err = c:submit { Prompt = "a chair", ResultFormat = "STL" }
        assert.is_nil(job)
        assert.equal("invalid", err.kind)
        assert.equal("NOT_ON_SITE", err.code)
        assert.equal("ResultFormat", err.field)
        assert.matches("intl site", err.message)
      end
      local _, err = client:generate("a chair", { formats = { "STL" } })
      assert.equal("NOT_ON_SITE", err.code)
      assert.equal(0, #api_requests(sb))
      -- sent anyway (client:call), the intl service refuses it
      local res, cerr = client:call("SubmitHunyuanTo3DProJob", { Prompt = "a chair", ResultFormat = "STL" })
      assert.is_nil(res)
      assert.equal("InvalidParameter", cerr.code)
    end)

    it("refuses families the site lacks, and intl-only families on the mainland, naming the site", function()
      for _, kind in ipairs { "texture", "profile", "motion" } do
        local _, err = client:submit({ Prompt = "x" }, { kind = kind })
        assert.equal("invalid", err.kind)
        assert.equal("KIND_NOT_ON_SITE", err.code)
        assert.matches("the intl site does not offer kind \"" .. kind .. "\"", err.message)
      end
      local m = api3_client()
      local _, err = m:submit({ Prompt = "x" }, { kind = "texture_edit" })
      assert.equal("KIND_NOT_ON_SITE", err.code)
      assert.matches("only on the intl site", err.message)
      _, err = client:submit({ Prompt = "x" }, { kind = "chair" })
      assert.equal("UNKNOWN_KIND", err.code)
    end)
  end)

  describe("credentials of the other site", function()
    it("are refused with the service's codes, and the hint names the site", function()
      local m = api3_client { secret_id = INTL_ID, secret_key = INTL_KEY }   -- intl keys, mainland
      local _, err = m:submit { Prompt = "a chair" }
      assert.equal("api", err.kind)
      assert.equal("AuthFailure.SignatureFailure", err.code)
      assert.matches("site", err.hint)
      local i = intl_client { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key }  -- mainland keys, intl
      _, err = i:submit { Prompt = "a chair" }
      assert.equal("AuthFailure.SecretIdNotFound", err.code)
      assert.matches("intl", err.hint)
    end)

    it("are refused with the codes the sandbox is configured to use", function()
      sb:config { intl_on_mainland_code = "ResourceUnavailable", mainland_on_intl_code = "AuthFailure.InvalidSecretId" }
      local m = api3_client { secret_id = INTL_ID, secret_key = INTL_KEY }
      local _, err = m:submit { Prompt = "a chair" }
      assert.equal("ResourceUnavailable", err.code)
      _, err = intl_client({ secret_id = sandbox.secret_id, secret_key = sandbox.secret_key }):submit { Prompt = "x" }
      assert.equal("AuthFailure.InvalidSecretId", err.code)
      sb:config { intl_on_mainland_code = "AuthFailure.SignatureFailure", mainland_on_intl_code = "AuthFailure.SecretIdNotFound" }
    end)
  end)

  describe("the mps door (door = \"mps\", site = \"intl\")", function()
    it("signs for mps at MPS's intl host, runs pro and texture jobs, and tostring names door and site", function()
      local d = hy3d.new { door = "mps", site = "intl", secret_id = INTL_ID, secret_key = INTL_KEY }
      assert.equal("https://mps.intl.tencentcloudapi.com", d.base_url)   -- MPS's own intl host, never hunyuan's
      d:close()
      sb:reset()
      local c = api3_client { door = "mps", site = "intl", secret_id = INTL_ID, secret_key = INTL_KEY }
      assert.equal("mps", c.door)
      assert.equal("intl", c.site)
      assert.matches("mps door (intl), SecretId set", tostring(c), 1, true)
      local got = assert(c:generate("a wooden chair", { dir = tmpdir(), name = "chair" }))
      assert.equal(100, got.result.Progress)
      local reqs = sb:requests("mps")
      assert.equal("SubmitHunyuan3DTask", reqs[1].headers["x-tc-action"])
      assert.matches("/mps/tc3_request, ", reqs[1].headers.authorization)
      assert.is_nil(reqs[1].headers["x-tc-region"])
      assert.equal(0, #api_requests(sb))                  -- nothing reached API 3.0 on either site
      local glb
      for _, f in ipairs(got.result.ResultFile3Ds) do if f.Type == "GLB" then glb = f.Url end end
      local job = assert(c:submit({ File3D = { Type = "GLB", Url = glb }, Prompt = "oak" }, { kind = "texture" }))
      assert.equal("texture", job.kind)
      local _, err = c:submit({ File3D = { Type = "FBX", Url = "https://x/m.fbx" }, Prompt = "oak" }, { kind = "texture_edit" })
      assert.equal("KIND_NOT_ON_DOOR", err.code)
    end)

    it("takes TokenHub to its Singapore origin on the intl site", function()
      local c = hy3d.new { door = "tokenhub", site = "intl", api_key = sandbox.key }
      assert.same({ "tokenhub", "intl", "https://tokenhub-intl.tencentmaas.com" }, { c.door, c.site, c.base_url })
      c:close()
    end)

    it("raises for the local door on the intl site, like TokenHub's", function()
      local ok, err = pcall(hy3d.new, { door = "local", site = "intl", base_url = "http://127.0.0.1:8081" })
      assert.is_false(ok)
      assert.matches("hy3d.new: the local door has no intl site (site \"intl\" is offered by: api3, tokenhub, mps)",
        err, 1, true)
    end)

    it("is the CLI's with --door mps --site intl; the record sends status back to MPS on the intl site", function()
      local cwd = tmpdir()
      local env = { HY3D_ENDPOINT = sb.url, TENCENTCLOUD_SECRET_ID = INTL_ID, TENCENTCLOUD_SECRET_KEY = INTL_KEY,
                    HY3D_JOBS_FILE = cwd .. "/jobs.jsonl", HY3D_SITE = false, HY3D_DOOR = false }
      sb:reset()
      local code, out, err = cli.run("generate 'a red teapot' --door mps --site intl --interval 0.05 --json", env, cwd)
      assert.equal(0, code, err)
      local id = cli.events(out)[1].job_id
      assert.equal(0, #api_requests(sb))
      code, out, err = cli.run("status " .. id .. " --json", env, cwd)      -- no --door, no --site: the record's
      assert.equal(0, code, err)
      assert.equal("DONE", cli.events(out)[1].status)
      assert.equal(0, #api_requests(sb))
      assert.equal("QueryHunyuan3DTask", sb:requests("mps")[#sb:requests("mps")].headers["x-tc-action"])
    end)
  end)

  describe("the hy3d command", function()
    local env
    before_each(function()
      env = { HY3D_ENDPOINT = sb.url, TENCENTCLOUD_SECRET_ID = INTL_ID, TENCENTCLOUD_SECRET_KEY = INTL_KEY,
              HY3D_JOBS_FILE = tmpdir() .. "/jobs.jsonl", HY3D_SITE = false }
    end)

    it("reaches the intl site with --site intl, records it, and status finds the job there", function()
      local cwd = tmpdir()
      local code, out, err = cli.run("generate 'a red teapot' --site intl --interval 0.05 --json", env, cwd)
      assert.equal(0, code, err)
      local list = cli.events(out)
      local id = list[1].job_id
      assert.is_true(#api_requests(sb, "SubmitHunyuanTo3DProJob") >= 1)
      assert.equal("2023-09-01", api_requests(sb)[1].headers["x-tc-version"])
      code, out, err = cli.run("status " .. id .. " --json", env, cwd)           -- the record says intl
      assert.equal(0, code, err)
      assert.equal("DONE", cli.events(out)[1].status)
    end)

    it("takes HY3D_SITE, refuses an unknown site, and shows --site in the help", function()
      local cwd = tmpdir()
      env.HY3D_SITE = "intl"
      local code, out, err = cli.run("submit 'a teapot'", env, cwd)
      assert.equal(0, code, err)
      assert.matches("^%d+", out)
      local _
      env.HY3D_SITE = false
      code, _, err = cli.run("submit 'a teapot' --site moon", env, cwd)
      assert.equal(2, code)
      assert.matches("%-%-site is mainland or intl", err)
      code, _, err = cli.run("submit 'a teapot' --site intl --result-format STL", env, cwd)   -- refused before sending
      assert.equal(2, code)
      assert.matches("intl site", err)
      code, _, err = cli.run("status 123 --kind texture_edit --site intl", env, cwd)        -- a kind of the site
      assert.equal(6, code, err)
      assert.matches("JobNotFound", err)
      -- mainland by default: these intl credentials are refused there
      code, _, err = cli.run("submit 'a teapot'", env, cwd)
      assert.equal(3, code, err)
      local _, help = cli.run("submit --help", env, cwd)
      assert.matches("%-%-site mainland|intl", help)
    end)
  end)
end)
