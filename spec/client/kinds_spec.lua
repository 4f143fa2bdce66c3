-- Job families added at run time (hy3d.kinds.register) against a sandbox configured to serve one
-- (--family, /_sandbox/families): submit, query, wait, generate and download_files with it, the
-- command line with HY3D_KINDS and --kind, and the registrations refused.
local hy3d = require "hy3d"
local sandbox = require "spec.support.sandbox"
local cli = require "spec.support.cli"

local SUBMIT, QUERY = "SubmitCharacterToAnimationJob", "DescribeCharacterToAnimationJob"
local FAMILY = "animation=" .. SUBMIT .. "," .. QUERY .. ",FBX,GIF"

-- The actions of the API 3.0 requests in the sandbox's log, in order.
local function actions_of(sb)
  local list = {}
  for _, r in ipairs(sb:requests("api")) do list[#list + 1] = r.action end
  return list
end

local function count(list, value)
  local n = 0
  for _, v in ipairs(list) do if v == value then n = n + 1 end end
  return n
end

-- Removes a family this spec registered (the registry is the process's: other specs count it).
local function forget(name)
  hy3d.kinds[name] = nil
end

describe("a job family registered at run time", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2, extra = { "--family", FAMILY } }
  local client, dir

  setup(function()
    hy3d.kinds.register { name = "animation", submit = SUBMIT, query = QUERY, doors = { "api3" } }
    client = hy3d.new { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url,
                        poll_interval = 0.05 }
    dir = sandbox.tmpdir()
  end)

  teardown(function()
    client:close()
    forget("animation")
    os.execute("rm -rf " .. sandbox.shell_quote(dir))
  end)

  it("is in hy3d.kinds beside the built-in families", function()
    assert.same({ submit = SUBMIT, query = QUERY, doors = { "api3" } }, hy3d.kinds.animation)
    local names = {}
    for name in pairs(hy3d.kinds) do names[#names + 1] = name end
    assert.equal(#hy3d.kinds.list(), #names)
    assert.is_true(count(hy3d.kinds.list(), "animation") == 1)
    assert.same({ name = "animation", submit = SUBMIT, query = QUERY, doors = { "api3" }, builtin = false },
      hy3d.kinds.get("animation"))
  end)

  it("submits, queries and waits with its own actions, its parameters passed through", function()
    local params = { Character = { Url = "https://example.com/hero.glb" }, Motion = "wave", Odd = { 1, 2 } }
    local job, err = client:submit(params, { kind = "animation" })
    assert.is_nil(err)
    assert.equal("animation", job.kind)
    local submitted = sb:requests("api")[1]
    assert.equal(SUBMIT, submitted.action)
    assert.same(params, require("hy3d.core").decode(submitted.body))
    local res = assert(client:query(job))
    assert.equal("animation", res.kind)
    res, err = client:wait(job, { interval = 0.05 })
    assert.is_nil(err)
    assert.equal("DONE", res.Status)
    local types = {}
    for _, f in ipairs(res.ResultFile3Ds) do types[#types + 1] = f.Type end
    assert.same({ "FBX", "GIF" }, types)
    local seen = actions_of(sb)
    assert.equal(1, count(seen, SUBMIT))
    assert.is_true(count(seen, QUERY) >= 2)
    assert.equal(#seen, count(seen, SUBMIT) + count(seen, QUERY))
  end)

  it("generates and downloads its files, and download_files takes a bare JobId with the kind", function()
    local out, err = client:generate({ Motion = "dance" }, { kind = "animation", formats = { "FBX", "GIF" }, dir = dir,
                                                             name = "dance", interval = 0.05 })
    assert.is_nil(err)
    assert.equal("animation", out.job.kind)
    assert.equal(2, #out.files)
    for _, f in ipairs(out.files) do assert.is_true(sandbox.exists(f.path), f.path) end
    local again
    again, err = client:download_files(out.job.JobId, { kind = "animation", dir = dir, name = "again" })
    assert.is_nil(err)
    assert.equal(2, #again)                       -- every file by default: what it makes is not known here
    again, err = client:download_files(out.result, { formats = { "GLB" }, dir = dir, name = "glb" })
    assert.is_nil(again)
    assert.equal("NO_SUCH_FORMAT", err.code)
    local seen = actions_of(sb)
    assert.equal(1, count(seen, SUBMIT))
    assert.equal(#seen, count(seen, SUBMIT) + count(seen, QUERY))
  end)

  it("fails a job the way the service does, matched by a fault on its family", function()
    sb:fault { action = "fail", route = "animation", code = "FailedOperation.AnimationFailed" }
    local res, err = client:wait(assert(client:submit({ Motion = "x" }, { kind = "animation" })), { interval = 0.05 })
    assert.is_nil(res)
    assert.equal("job", err.kind)
    assert.equal("FailedOperation.AnimationFailed", err.code)
    assert.equal("animation", err.result.kind)
  end)

  it("is refused on a door it was not registered for, before anything is sent", function()
    local gw = sb:client()
    local job, err = gw:submit({ Motion = "x" }, { kind = "animation" })
    assert.is_nil(job)
    assert.equal("invalid", err.kind)
    assert.equal("KIND_NEEDS_API3", err.code)
    assert.same({}, sb:requests())
  end)

  it("reaches the service's answer when the service lacks the actions", function()
    hy3d.kinds.register { name = "unserved", submit = "SubmitNotYetJob", query = "DescribeNotYetJob" }
    finally(function() forget("unserved") end)
    local job, err = client:submit({ Prompt = "x" }, { kind = "unserved" })
    assert.is_nil(job)
    assert.equal("api", err.kind)
    assert.equal("InvalidAction", err.code)
  end)

  it("takes new actions for a name with replace = true", function()
    hy3d.kinds.register { name = "later", submit = "SubmitLaterJob", query = "DescribeLaterJob" }
    finally(function() forget("later") end)
    sb:control("families", { name = "later", submit = "SubmitLater2Job", query = "DescribeLater2Job" })
    hy3d.kinds.register { name = "later", submit = "SubmitLater2Job", query = "DescribeLater2Job", replace = true }
    local res, err = client:wait(assert(client:submit({}, { kind = "later" })), { interval = 0.05 })
    assert.is_nil(err)
    assert.equal("FBX", res.ResultFile3Ds[1].Type)
    assert.same({ "SubmitLater2Job" }, { actions_of(sb)[1] })
  end)
end)

describe("the sandbox's families at run time (/_sandbox/families)", function()
  local sb = sandbox.suite { wait_time = 0.05, run_time = 0.05 }

  it("adds a family that a reset drops, and refuses bad ones", function()
    local body = sb:control("families", { name = "rig2", submit = "SubmitRig2Job", query = "DescribeRig2Job",
                                          results = { "GLB" } })
    assert.equal("rig2", body.families[1].name)
    local code, res = sb:api("SubmitRig2Job", { Anything = true })
    assert.equal(200, code)
    assert.is_string(res.Response.JobId)
    for _, bad in ipairs {
      { name = "Bad", submit = "SubmitAJob", query = "DescribeAJob" },
      { name = "pro", submit = "SubmitAJob", query = "DescribeAJob" },
      { name = "b", submit = "SubmitHunyuanTo3DProJob", query = "DescribeAJob" },
      { name = "c", submit = "Submit-A", query = "DescribeAJob" },
      { name = "d", submit = "SubmitAJob", query = "DescribeAJob", results = { "EXE" } },
      { name = "rig2", submit = "SubmitBJob", query = "DescribeBJob" },
    } do
      local payload = require("cjson").encode(bad)
      local status = sb:raw("POST", "/_sandbox/families", { ["Content-Type"] = "application/json",
                                                             ["Content-Length"] = #payload }, payload)
      assert.equal(400, status, bad.name)
    end
    sb:reset()
    assert.same({}, sb:control("families").families)
    res = select(2, sb:api("SubmitRig2Job", {}))
    assert.equal("InvalidAction", res.Response.Error.Code)
  end)

  it("starts with the families of --family, which a reset keeps", function()
    local other = sandbox.start { extra = { "--family", FAMILY, "--family", "x=SubmitXJob,DescribeXJob" } }
    finally(function() other:stop() end)
    other:reset()
    local list = other:control("families").families
    assert.equal(2, #list)
    assert.same({ "FBX", "GIF" }, list[1].results)
    assert.same({ "FBX" }, list[2].results)
  end)
end)

describe("hy3d.kinds.register refuses", function()
  local function refused(def, pattern)
    local ok, err = pcall(hy3d.kinds.register, def)
    assert.is_false(ok)
    assert.matches("hy3d.kinds.register: ", err, 1, true)
    assert.matches(pattern, err, 1, true)
  end

  it("a name that is not a lowercase identifier, and the reserved names", function()
    for _, name in ipairs { "Anim", "1anim", "an-im", "", ("a"):rep(65) } do
      refused({ name = name, submit = SUBMIT, query = QUERY }, "name must be a lowercase identifier")
    end
    refused({ name = 7, submit = SUBMIT, query = QUERY }, "name must be a lowercase identifier")
    for _, name in ipairs { "register", "list", "get" } do
      refused({ name = name, submit = SUBMIT, query = QUERY }, "is reserved")
    end
  end)

  it("action names that are not letters and digits", function()
    refused({ name = "anim", submit = "Submit-Anim", query = QUERY }, "submit must be an action name")
    refused({ name = "anim", submit = SUBMIT, query = "Describe Anim" }, "query must be an action name")
    refused({ name = "anim", submit = SUBMIT }, "query must be an action name")
    refused({ name = "anim", submit = SUBMIT, query = "/etc/passwd" }, "query must be an action name")
  end)

  it("a built-in family's name unless replace = true, and a registered one's", function()
    refused({ name = "pro", submit = SUBMIT, query = QUERY }, "\"pro\" is already a built-in family")
    hy3d.kinds.register { name = "twice", submit = SUBMIT, query = QUERY }
    finally(function() forget("twice") end)
    refused({ name = "twice", submit = SUBMIT, query = QUERY }, "\"twice\" is already a registered family")
    local saved = hy3d.kinds.rigging
    finally(function() hy3d.kinds.rigging = saved end)
    hy3d.kinds.register { name = "rigging", submit = "SubmitAutoRigging2Job", query = "DescribeAutoRigging2Job",
                          replace = true }
    assert.equal("SubmitAutoRigging2Job", hy3d.kinds.rigging.submit)
  end)

  it("unknown doors, a door with a fixed set of families, unknown fields and non-tables", function()
    refused({ name = "anim", submit = SUBMIT, query = QUERY, doors = { "api3", "ftp" } },
      "doors[2] (\"ftp\") is not a door")
    refused({ name = "anim", submit = SUBMIT, query = QUERY, doors = {} }, "doors must be a non-empty list")
    refused({ name = "anim", submit = SUBMIT, query = QUERY, doors = { "gateway" } },
      "the gateway door offers only its own families (pro)")
    refused({ name = "anim", submit = SUBMIT, query = QUERY, kind = "x" }, "unknown field kind")
    refused("anim", "expects a table")
    refused({ name = "anim", submit = SUBMIT, query = QUERY, replace = "yes" }, "replace must be true or false")
    assert.is_nil(rawget(hy3d.kinds, "anim"))
  end)
end)

describe("hy3d command with HY3D_KINDS", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2, extra = { "--family", FAMILY } }
  local cwd, env

  setup(function()
    cwd = sandbox.tmpdir()
    env = { HY3D_ENDPOINT = sb.url, TENCENTCLOUD_SECRET_ID = sandbox.secret_id,
            TENCENTCLOUD_SECRET_KEY = sandbox.secret_key, HY3D_JOBS_FILE = cwd .. "/jobs.jsonl",
            HY3D_KINDS = "animation=" .. SUBMIT .. "," .. QUERY }
  end)

  teardown(function()
    os.execute("rm -rf " .. sandbox.shell_quote(cwd))
  end)

  it("generates with --kind of a family it adds, downloading every file it makes", function()
    local code, out, err = cli.run("generate 'a waving robot' --kind animation --interval 0.05 --json", env, cwd)
    assert.equal(0, code, err)
    local list = cli.events(out)
    assert.equal("animation", list[1].kind)
    local types = {}
    for _, f in ipairs(cli.of(list, "file")) do
      types[#types + 1] = f.type
      assert.is_true(sandbox.exists(cwd .. "/" .. f.path), f.path)
    end
    table.sort(types)
    assert.same({ "FBX", "GIF" }, types)
    local seen = actions_of(sb)
    assert.equal(SUBMIT, seen[1])
    assert.equal(#seen, 1 + count(seen, QUERY))
  end)

  it("submits, then status and wait take the recorded kind", function()
    local code, out, err = cli.run("submit 'a bowing robot' --kind animation", env, cwd)
    assert.equal(0, code, err)
    local id = out:match("^(%S+)\n$")
    assert.is_string(id)
    code, out, err = cli.run("wait " .. id .. " --interval 0.05 --json", env, cwd)
    assert.equal(0, code, err)
    local list = cli.events(out)
    assert.equal("DONE", list[#list].status)
    code, out, err = cli.run("status " .. id .. " --kind animation --json", env, cwd)
    assert.equal(0, code, err)
    assert.equal("animation", cli.events(out)[1].kind)
    local seen = actions_of(sb)
    assert.equal(1, count(seen, SUBMIT))
    -- without HY3D_KINDS, the recorded kind is one this hy3d does not have: it says how to add it
    code, out, err = cli.run("wait " .. id, cli.merge(env, { HY3D_KINDS = false }), cwd)
    assert.equal(2, code, out)
    assert.matches("the job record says this is a animation job, a kind this hy3d does not have: add it with "
      .. "HY3D_KINDS=animation=SUBMIT,QUERY", err, 1, true)
    assert.equal(1 + count(seen, QUERY), #actions_of(sb))
  end)

  it("sends the --param fields of a kind whose parameters no option sets", function()
    local code, out, err = cli.run("submit --kind animation --param 'Character={\"Url\":\"https://x/hero.glb\"}' "
      .. "--param Duration=5 --param Motion=wave", env, cwd)
    assert.equal(0, code, err)
    assert.matches("^%S+\n$", out)
    local body = require("hy3d.core").decode(sb:requests("api")[1].body)
    assert.same({ Character = { Url = "https://x/hero.glb" }, Duration = 5, Motion = "wave" }, body)
  end)

  it("refuses a kind it does not have, naming the ones it has, and a malformed HY3D_KINDS", function()
    local code, _, err = cli.run("submit x --kind dancing", env, cwd)
    assert.equal(2, code)
    assert.matches("--kind is animation, pro, rapid", err, 1, true)
    code, _, err = cli.run("status 123 --kind dancing", env, cwd)
    assert.equal(2, code)
    assert.matches("animation", err, 1, true)
    code, _, err = cli.run("submit x --kind animation", cli.merge(env, { HY3D_KINDS = "animation" }), cwd)
    assert.equal(2, code)
    assert.matches("HY3D_KINDS is NAME=SUBMIT,QUERY", err, 1, true)
    code, _, err = cli.run("submit x", cli.merge(env, { HY3D_KINDS = "Anim=SubmitA,DescribeA" }), cwd)
    assert.equal(2, code)
    assert.matches("HY3D_KINDS: name must be a lowercase identifier", err, 1, true)
    code, _, err = cli.run("submit x", cli.merge(env, { HY3D_KINDS = "pro=SubmitA,DescribeA" }), cwd)
    assert.equal(2, code)
    assert.matches("HY3D_KINDS: pro is a built-in kind", err, 1, true)
    assert.same({}, sb:requests("api"))
  end)
end)
