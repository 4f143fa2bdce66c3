-- The hy3d command with --door local (a self-hosted Hunyuan3D server, no credentials) against the
-- sandbox's /selfhosted/: generate, submit, then wait by the job record, and HY3D_DOOR.
local core = require "hy3d.core"
local images = require "spec.support.images"
local sandbox = require "spec.support.sandbox"
local cli = require "spec.support.cli"

local q = sandbox.shell_quote
local hy3d, events, of = cli.run, cli.events, cli.of

describe("hy3d command on the local door", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2 }
  local dir, env, jobs_file

  setup(function()
    dir = sandbox.tmpdir()
    jobs_file = dir .. "/jobs.jsonl"
    env = { HY3D_BASE_URL = sb.url .. "/selfhosted", HY3D_JOBS_FILE = jobs_file }
  end)

  teardown(function()
    os.execute("rm -rf " .. q(dir))
  end)

  before_each(function()
    sb:config { selfhosted = "2.1", selfhosted_busy = 0, selfhosted_stuck = false, selfhosted_answer = "ok" }
  end)

  it("generates with --door local and no credentials at all", function()
    local cwd = cli.workdir(dir)
    sandbox.write_file(cwd .. "/photo.png", images.png(256, 256))
    local code, out, err = hy3d("generate --door local --image photo.png --interval 0.05", env, cwd)
    assert.equal(0, code, err)
    local file = of(events(out), "file")[1]
    assert.equal("photo.glb", file.path)
    assert.equal("glTF", sandbox.read_file(cwd .. "/photo.glb"):sub(1, 4))
    local sent = sb:requests("selfhosted")[1]
    assert.equal("send", sent.action)
    assert.equal(images.png(256, 256), core.base64_decode(core.decode(sent.body).image))
  end)

  it("submits with HY3D_DOOR=local, then waits and downloads by the job record's door", function()
    local cwd = cli.workdir(dir)
    sandbox.write_file(cwd .. "/photo.png", images.png(256, 256))
    local e = cli.merge(env, { HY3D_DOOR = "local" })
    local code, out, err = hy3d("submit --image photo.png", e, cwd)
    assert.equal(0, code, err)
    local uid = out:match("^(%S+)\n$")
    assert.is_string(uid)
    local _
    code, _, err = hy3d("wait --interval 0.05 " .. q(uid), env, cwd)      -- no --door: the record says local
    assert.equal(0, code, err)
    code, out, err = hy3d("download " .. q(uid), env, cwd)
    assert.equal(0, code, err)
    assert.equal("glTF", sandbox.read_file(cwd .. "/" .. of(events(out), "file")[1].path):sub(1, 4))
  end)

  it("queries a recorded job on the server it was submitted to, without HY3D_BASE_URL", function()
    local cwd = cli.workdir(dir)
    sandbox.write_file(cwd .. "/photo.png", images.png(256, 256))
    local code, out, err = hy3d("submit --door local --image photo.png", env, cwd)
    assert.equal(0, code, err)
    local uid = out:match("^(%S+)\n$")
    local bare = { HY3D_JOBS_FILE = jobs_file }                 -- no HY3D_BASE_URL, no --door
    local before = #sb:requests("selfhosted")
    code, out, err = hy3d("wait --interval 0.05 --json " .. q(uid), bare, cwd)
    assert.equal(0, code, err)
    local statuses = of(events(out), "status")
    assert.equal("DONE", statuses[#statuses].status)
    assert.is_true(#sb:requests("selfhosted") > before)         -- the polls reached the recorded server
  end)

  it("says which doors there are", function()
    local code, _, err = hy3d("submit --door nope a-chair", env, dir)
    assert.equal(2, code)
    assert.matches("gateway, api3, tokenhub, local or mps", err, 1, true)     -- every door of hy3d.doors, by name
  end)
end)
