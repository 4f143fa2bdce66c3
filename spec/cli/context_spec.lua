-- hy3d.cli.context in process: a run's environment, its job record, and errors reported with
-- their exit code and hint (one line each, redacted).
local context = require "hy3d.cli.context"
local errors = require "hy3d.error"
local sandbox = require "spec.support.sandbox"
local cli = require "spec.support.cli"

local captured = cli.captured

describe("hy3d.cli.context", function()
  it("reads its variables from an env table (false: unset) and redacts the secrets in it", function()
    local ctx = context.new { PWD = "/home/u/work", HY3D_DOOR = false, HY3D_API_KEY = "sk-from-the-env-table" }
    assert.equal("/home/u/work", ctx.getenv("PWD"))
    assert.is_nil(ctx.getenv("HY3D_DOOR"))
    assert.equal("key [redacted]", ctx:redact("key sk-from-the-env-table"))
    assert.equal("/home/u/work/out/a.glb", ctx:absolute("./out/./a.glb"))
    assert.equal("/abs", ctx:absolute("/abs"))
  end)

  it("records jobs in the jobs file, redacted, and reads them back", function()
    local dir = sandbox.tmpdir()
    finally(function() os.execute("rm -rf '" .. dir .. "'") end)
    local ctx = context.new { HY3D_API_KEY = "sk-from-the-env-table" }
    ctx.jobs_file = dir .. "/jobs.jsonl"
    ctx:remember { job_id = "1234", kind = "pro", prompt = "echo sk-from-the-env-table" }
    local rec = ctx:lookup("1234")
    assert.equal("pro", rec.kind)
    assert.is_nil(sandbox.read_file(ctx.jobs_file):find("sk-from-the-env-table", 1, true))
    assert.is_nil(ctx:lookup("5678"))
  end)

  it("reports an error with its exit code: a usage error names the command's help", function()
    local ctx = context.new {}
    ctx.cmd = "wait"
    local code, out, err = captured(function() return ctx:fail { kind = "usage", message = "needs one JOBID" } end)
    assert.same({ 2, "", "hy3d wait: needs one JOBID (see `hy3d wait --help`)\n" }, { code, out, err })
  end)

  it("says how to pick a timed-out job up, by phase", function()
    local ctx = context.new {}
    ctx.job_id, ctx.limit = "1234", 2
    local code, _, err = captured(function() return ctx:fail(ctx:timed_out()) end)
    assert.equal(5, code)
    assert.matches("`hy3d wait 1234` waits again", err)
    ctx.phase = "download"
    code, _, err = captured(function() return ctx:fail(ctx:timed_out()) end)
    assert.equal(5, code)
    assert.matches("DOWNLOAD_TIMEOUT", err)
    assert.matches("`hy3d download 1234` fetches its files", err)
  end)

  it("puts a library error in the command line's words before it is written", function()
    local ctx = context.new {}
    local code, _, err = captured(function()
      return ctx:fail(errors.new { kind = "invalid", code = "INVALID_OPTION", message = "hy3d.new: pass api_key" })
    end)
    assert.equal(2, code)
    assert.equal("set HY3D_API_KEY", err:match("set HY3D_API_KEY"))
    assert.is_nil(err:find("api_key", 1, true))
  end)
end)
