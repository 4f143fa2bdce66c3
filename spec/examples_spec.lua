-- examples/ and the README's quick start, run as a user would against hy3d-sandbox.
local sandbox = require "spec.support.sandbox"

local ROOT = os.getenv("PWD")

-- Runs a Lua script file (or -e code) with the suite's modules and the sandbox's env.
local function run_lua(sb, args, cwd)
  local env = ("HY3D_API_KEY=%s HY3D_BASE_URL=%s %s"):format(sb.key, sb.url, sandbox.lua_env())
  return sandbox.run(("cd %s && %s %s %s"):format(cwd or ROOT, env, sandbox.lua(), args))
end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. d))
  return d
end

describe("examples", function()
  local sb

  setup(function()
    sb = sandbox.start { wait_time = 0.1, run_time = 0.2 }
  end)

  teardown(function()
    sb:stop()
  end)

  it("text_to_3d.lua saves a GLB and its preview", function()
    local dir = tmpdir()
    local ok, out = run_lua(sb, "examples/text_to_3d.lua 'a tiny stool' " .. dir)
    assert.is_true(ok, out)
    assert.matches('submitted "a tiny stool" as job %d+', out)
    assert.matches("DONE", out)
    assert.matches("saved " .. dir:gsub("%p", "%%%0") .. "/a%-tiny%-stool%.glb", out)
    assert.equal("glTF", sandbox.read_file(dir .. "/a-tiny-stool.glb"):sub(1, 4))
    assert.equal("\137PNG", sandbox.read_file(dir .. "/a-tiny-stool.png"):sub(1, 4))
    os.execute("rm -rf " .. dir)
  end)

  it("text_to_3d.lua exits non-zero with a readable error", function()
    local ok, out = run_lua(sb, "examples/text_to_3d.lua ''")
    assert.is_false(ok)
    assert.matches("text_to_3d: hy3d api error InvalidParameter", out)
  end)

  it("resume_job.lua waits for a job submitted elsewhere", function()
    local ok, out = run_lua(sb, [[-e 'io.write(assert(require("hy3d").submit{Prompt="x"}).JobId)']])
    assert.is_true(ok, out)
    local id = out:match("^(%d+)$")
    assert.is_string(id)
    ok, out = run_lua(sb, "examples/resume_job.lua " .. id)
    assert.is_true(ok, out)
    assert.matches("OBJ\thttp://", out)
    assert.matches("GLB\thttp://", out)
    ok, out = run_lua(sb, "examples/resume_job.lua")
    assert.is_false(ok)
    assert.matches("usage:", out)
  end)

  it("coroutines.lua runs several jobs from one frame loop", function()
    local ok, out = run_lua(sb, "examples/coroutines.lua 3")
    assert.is_true(ok, out)
    assert.matches("3 jobs done in %d+ frames", out)
  end)
end)

describe("README", function()
  it("has a quick start that runs as written against the sandbox", function()
    local readme = assert(sandbox.read_file("README.md"))
    local section = assert(readme:match("\n## Quick start\n(.-)\n## "), "README has a Quick start section")
    local code = assert(section:match("```lua\n(.-)```"), "the Quick start has a lua block")
    assert.matches('hy3d.download', code)
    local sb = sandbox.start { wait_time = 0.1, run_time = 0.2 }
    finally(function() sb:stop() end)
    local dir = tmpdir()
    local f = assert(io.open(dir .. "/quickstart.lua", "w"))
    f:write(code)
    f:close()
    local ok, out = run_lua(sb, "quickstart.lua", dir)
    assert.is_true(ok, out)
    assert.matches("GLB\thttp://", out)
    assert.equal("glTF", sandbox.read_file(dir .. "/chair.glb"):sub(1, 4))
    os.execute("rm -rf " .. dir)
  end)

  it("shows the two commands first", function()
    local readme = assert(sandbox.read_file("README.md"))
    local first = readme:match("```sh\n(.-)```")
    assert.equal("make test\nmake demo\n", first)
  end)
end)
