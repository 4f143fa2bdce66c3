-- The hy3d command's credits: --dry-run on generate and submit shows the plan and its estimate and sends nothing,
-- --max-credits (and HY3D_MAX_CREDITS) refuses a job over the budget before anything is sent.
local sandbox = require "spec.support.sandbox"
local cli = require "spec.support.cli"
local images = require "spec.support.images"

local q = sandbox.shell_quote

local function merge(a, b)
  local out = {}
  for k, v in pairs(a) do out[k] = v end
  for k, v in pairs(b or {}) do out[k] = v end
  return out
end

describe("hy3d credits on the command line", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0.05, concurrency = 0 }
  local dir, env, api3

  setup(function()
    dir = sandbox.tmpdir()
    env = { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key, HY3D_JOBS_FILE = dir .. "/jobs.jsonl" }
    api3 = { HY3D_ENDPOINT = sb.url, TENCENTCLOUD_SECRET_ID = sandbox.secret_id,
             TENCENTCLOUD_SECRET_KEY = sandbox.secret_key, HY3D_JOBS_FILE = dir .. "/jobs.jsonl" }
  end)

  teardown(function()
    os.execute("rm -rf " .. q(dir))
  end)

  it("submit --dry-run --json: one dry_run line with the action, door, params and estimate; nothing sent", function()
    local code, out, err = cli.run("submit --dry-run --json --result-format FBX --pbr 'a chair'", env)
    assert.equal(0, code, err)
    local events = cli.events(out)
    assert.equal(1, #events)
    local e = events[1]
    assert.equal("dry_run", e.event)
    assert.equal("SubmitHunyuanTo3DProJob", e.action)
    assert.equal("gateway", e.door)
    assert.equal("pro", e.kind)
    assert.same({ Prompt = "a chair", ResultFormat = "FBX", EnablePBR = true }, e.params)
    assert.equal(35, e.credits)
    assert.same({ ["GenerateType-Normal"] = 20, ResultFormat = 5, Pbr = 10 }, e.credit_details)
    assert.equal(0, #sb:requests())
    assert.is_false(sandbox.exists(dir .. "/jobs.jsonl"))          -- nothing recorded: nothing was submitted
    assert.is_nil(out:find(sb.key, 1, true))
  end)

  it("generate --dry-run: the plan as text, the base64 of an image cut to its length; no request, no file", function()
    local work = cli.workdir(dir)
    sandbox.write_file(work .. "/in.png", images.png(256, 256, 4000))
    local code, out, err = cli.run("generate --dry-run --text --faces 3000 --image in.png -o out/ --format STL", api3, work)
    assert.equal(0, code, err)
    assert.matches("dry run: nothing was submitted", out, 1, true)
    assert.matches("SubmitHunyuanTo3DProJob", out, 1, true)
    assert.matches("estimate  35 credits (FaceCount 10, GenerateType-Normal 20, ResultFormat 5)", out, 1, true)
    assert.matches('"ImageBase64":"(base64, ', out, 1, true)
    assert.equal(0, #sb:requests())
    assert.is_false(sandbox.exists(work .. "/out"))
  end)

  it("--dry-run --kind rapid: the rapid action and price through API 3.0", function()
    local code, out, err = cli.run("submit --dry-run --json --kind rapid 'a chair'", api3)
    assert.equal(0, code, err)
    local e = cli.events(out)[1]
    assert.equal("SubmitHunyuanTo3DRapidJob", e.action)
    assert.equal("api3", e.door)
    assert.equal(15, e.credits)
    assert.is_nil(out:find(sandbox.secret_key, 1, true))
    assert.equal(0, #sb:requests())
  end)

  it("--max-credits refuses a job over the budget with exit 2 and sends nothing; a job within it runs", function()
    local code, out, err = cli.run("generate --json --max-credits 30 --pbr --faces 3000 'a chair'", env, cli.workdir(dir))
    assert.equal(2, code)
    local e = cli.of(cli.events(out), "error")[1]
    assert.equal("OVER_BUDGET", e.code)
    assert.matches("--max-credits 30", err, 1, true)
    assert.equal(0, #sb:requests())
    code, out, err = cli.run("submit --max-credits 20 'a chair'", env)
    assert.equal(0, code, err)
    assert.matches("^%d+\n$", out)
    assert.equal(1, #sb:requests("submit"))
  end)

  it("generate --then rig --max-credits: the model and its steps are checked together, exit 2, nothing sent", function()
    local code, out = cli.run("generate --json --max-credits 25 --then rig 'a knight'", api3, cli.workdir(dir))
    assert.equal(2, code)
    local e = cli.of(cli.events(out), "error")[1]
    assert.equal("OVER_BUDGET", e.code)
    assert.equal(0, #sb:requests())
  end)

  it("generate --dry-run --then rig: each step's estimate and the total; nothing sent", function()
    local code, out, err = cli.run("generate --dry-run --json --then rig 'a knight'", api3)
    assert.equal(0, code, err)
    local e = cli.of(cli.events(out), "dry_run")[1]
    assert.equal(20, e.credits)
    assert.same({ { kind = "rigging", credits = 10 } }, e.steps)
    assert.equal(30, e.total_credits)
    code, out, err = cli.run("generate --dry-run --text --then rig 'a knight'", api3)
    assert.equal(0, code, err)
    assert.matches("then      rigging: 10 credits", out, 1, true)
    assert.matches("total     30 credits", out, 1, true)
    assert.equal(0, #sb:requests())
  end)

  it("HY3D_MAX_CREDITS is the budget when --max-credits is not given", function()
    local code, _, err = cli.run("submit 'a chair'", merge(env, { HY3D_MAX_CREDITS = "10" }))
    assert.equal(2, code)
    assert.matches("over --max-credits 10", err, 1, true)
    assert.equal(0, #sb:requests())
    code, _, err = cli.run("submit 'a chair'", merge(env, { HY3D_MAX_CREDITS = "lots" }))
    assert.equal(2, code)
    assert.matches("HY3D_MAX_CREDITS must be a number", err, 1, true)
    assert.equal(0, #sb:requests())
  end)

  it("--max-credits takes a number >= 0 only; --dry-run shows the budget it keeps", function()
    local code, _, err = cli.run("submit --max-credits many 'a chair'", env)
    assert.equal(2, code)
    assert.matches("--max-credits", err, 1, true)
    local out
    code, out = cli.run("submit --dry-run --text --max-credits 100 'a chair'", env)
    assert.equal(0, code)
    assert.matches("budget    --max-credits 100", out, 1, true)
    code, _, err = cli.run("submit --dry-run --max-credits 10 'a chair'", env)   -- a dry run keeps the budget too
    assert.equal(2, code)
    assert.matches("OVER_BUDGET", err, 1, true)
    assert.equal(0, #sb:requests())
  end)

  it("lists --max-credits and --dry-run in the help of generate and submit", function()
    for _, cmd in ipairs { "generate", "submit" } do
      local code, out = cli.run(cmd .. " --help", env)
      assert.equal(0, code)
      assert.matches("--max-credits N", out, 1, true)
      assert.matches("--dry-run", out, 1, true)
    end
  end)
end)
