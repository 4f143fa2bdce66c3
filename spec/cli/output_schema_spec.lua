-- The CLI's machine output as a stable interface (doc/cli.md, "Machine output"): every JSON line of
-- generate, submit, status, wait, download, jobs and doctor carries "schema": 1, and an error line
-- carries the command that recovers ("recover") when one does: a failed download's `hy3d download
-- ID`, a wait's timeout's `hy3d wait ID`; running that command recovers. None for an error no
-- command mends (an unknown JobId).
local sandbox = require "spec.support.sandbox"
local cli = require "spec.support.cli"

local hy3d, events, of = cli.run, cli.events, cli.of
local q = sandbox.shell_quote

local SANDBOX_RUNS = _VERSION ~= "Lua 5.1" and _VERSION ~= "Lua 5.2" and not rawget(_G, "jit")

describe("the recover command of an error", function()
  local context = require "hy3d.cli.context"
  local EXIT = require("hy3d.cli.exit").EXIT

  local function ctx(fields)
    local c = context.new {}
    for k, v in pairs(fields) do c[k] = v end
    return c
  end

  it("names the command that carries on, per command, quoting for the shell", function()
    assert.equal("hy3d download 42", ctx({ cmd = "generate" }):recover_command(EXIT.network, "42"))
    assert.equal("hy3d download 42", ctx({ cmd = "download" }):recover_command(EXIT.timeout, "42"))
    assert.equal("hy3d wait 42", ctx({ cmd = "wait" }):recover_command(EXIT.timeout, "42"))
    assert.equal("hy3d status 42", ctx({ cmd = "status" }):recover_command(EXIT.network, "42"))
    assert.equal("hy3d wait 'a b' --kind rapid --jobs-file '/tmp/it'\\''s.jsonl'",
      ctx({ cmd = "wait", kind = "rapid", kind_given = true, jobs_file = "/tmp/it's.jsonl" })
        :recover_command(EXIT.interrupted, "a b"))
  end)

  it("has none where no command mends it, and takes a command's own", function()
    for _, code in ipairs { EXIT.failed, EXIT.usage, EXIT.auth, EXIT.internal } do
      assert.is_nil(ctx({ cmd = "generate" }):recover_command(code, "42"))
    end
    assert.is_nil(ctx({ cmd = "generate" }):recover_command(EXIT.api, "42", { code = "FailedOperation.JobNotFound" }))
    assert.equal("hy3d download 42", ctx({ cmd = "generate" }):recover_command(EXIT.api, "42", { retryable = true }))
    assert.is_nil(ctx({ cmd = "generate" }):recover_command(EXIT.network, nil), "no JobId yet: nothing to carry on")
    assert.is_nil(ctx({ cmd = "jobs" }):recover_command(EXIT.io, "42"), "a command without a recover verb")
    assert.equal("hy3d batch list.txt", ctx({ cmd = "batch", recover = "hy3d batch list.txt" })
      :recover_command(EXIT.network, nil))
  end)
end)

if not SANDBOX_RUNS then
  pending("machine output against the sandbox: hy3d-sandbox needs Lua 5.3+ (this suite runs on " .. _VERSION .. ")")
  return
end

-- Every line of a JSON run, each checked for the schema version.
local function versioned(out)
  local list = events(out)
  assert.is_true(#list > 0, "no JSON line")
  for _, e in ipairs(list) do assert.equal(1, e.schema, "no schema in a " .. tostring(e.event) .. " line") end
  return list
end

-- Runs a recover command ("hy3d download ID ...") as the user would.
local function run_recover(command, env, cwd)
  local rest = assert(command:match("^hy3d (.+)$"), command)
  return hy3d(rest .. " --json", env, cwd)
end

describe("the JSON lines' schema and recover commands", function()
  local sb = sandbox.suite { wait_time = 0.05, run_time = 0.1 }
  local dir, env

  setup(function()
    dir = sandbox.tmpdir()
    env = { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key, HY3D_JOBS_FILE = dir .. "/jobs.jsonl" }
  end)
  teardown(function() os.execute("rm -rf " .. q(dir)) end)

  it("carries schema 1 in every line of generate, submit, status, wait, download and jobs", function()
    local cwd = cli.workdir(dir)
    local code, out, err = hy3d("generate 'a versioned chair' --interval 0.02 --json", env, cwd)
    assert.equal(0, code, err)
    local list = versioned(out)
    for _, name in ipairs { "submitted", "status", "progress", "file", "result" } do
      assert.is_true(#of(list, name) > 0, name)
    end
    code, out, err = hy3d("submit 'a versioned stool' --json", env, cwd)
    assert.equal(0, code, err)
    local id = versioned(out)[1].job_id
    for _, args in ipairs { "status " .. id, "wait " .. id .. " --interval 0.02", "download " .. id .. " --interval 0.02",
                            "jobs" } do
      code, out, err = hy3d(args .. " --json", env, cwd)
      assert.equal(0, code, args .. ": " .. err)
      versioned(out)
    end
  end)

  it("a failed download's error line carries `hy3d download ID`, and running it gets the files", function()
    local cwd = cli.workdir(dir)
    sb:fault { route = "files", action = "status", status = 503, count = 1 }
    local code, out, err = hy3d("generate 'a recoverable chair' --interval 0.02 --retries 0 --json", env, cwd)
    assert.equal(4, code, err)
    local list = versioned(out)
    local id = list[1].job_id
    local last = list[#list]
    assert.equal("error", last.event)
    assert.equal("hy3d download " .. id, last.recover)
    assert.is_nil(sandbox.read_file(cwd .. "/a-recoverable-chair.glb"))
    assert.equal(0, sb:stats().faults_pending, "the one failure was spent")
    local submits = #sb:requests("submit")
    code, out, err = run_recover(last.recover, env, cwd)
    assert.equal(0, code, err)
    local result = of(versioned(out), "result")[1]
    assert.equal(id, result.job_id)
    assert.equal("glTF", assert(sandbox.read_file(cwd .. "/a-recoverable-chair.glb")):sub(1, 4),
      "the recover command saved the file generate would have")
    assert.equal(submits, #sb:requests("submit"), "recovering submits nothing")
  end)

  it("a wait's timeout carries `hy3d wait ID`, and running it waits the job out", function()
    local code, out, err = hy3d("submit 'a slow stool' --json", env)
    assert.equal(0, code, err)
    local id = versioned(out)[1].job_id
    sb:freeze()
    code, out, err = hy3d("wait " .. id .. " --timeout 0.3 --interval 0.05 --json", env)
    assert.equal(5, code, err)
    local last = versioned(out)
    last = last[#last]
    assert.equal("WAIT_TIMEOUT", last.code)
    assert.equal("hy3d wait " .. id, last.recover)
    sb:advance(60)
    code, out, err = run_recover(last.recover, env)
    assert.equal(0, code, err)
    assert.equal("DONE", of(versioned(out), "result")[1].status)
  end)

  it("keeps --kind and --jobs-file in the recover command, quoted for the shell", function()
    local jobs = dir .. "/my jobs.jsonl"
    local code, out, err = hy3d("submit 'a quoted stool' --json --jobs-file " .. q(jobs), env)
    assert.equal(0, code, err)
    local id = versioned(out)[1].job_id
    sb:freeze()
    code, out, err = hy3d("wait " .. id .. " --kind pro --timeout 0.3 --interval 0.05 --json --jobs-file " .. q(jobs), env)
    assert.equal(5, code, err)
    local list = versioned(out)
    assert.equal(("hy3d wait %s --kind pro --jobs-file '%s'"):format(id, jobs), list[#list].recover)
  end)

  it("has no recover command for an error none mends (an unknown JobId)", function()
    local code, out, err = hy3d("status 4242424242 --json", env)
    assert.equal(6, code, err)
    local list = versioned(out)
    assert.equal("FailedOperation.JobNotFound", list[#list].code)
    assert.is_nil(list[#list].recover)
  end)
end)
