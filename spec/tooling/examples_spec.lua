-- examples/, run with arguments as a user would against hy3d-sandbox, their output and files checked
-- (spec/tooling/readme_spec.lua runs the README's blocks and each example's own header command as written).
local binary = require "spec.support.binary"
local sandbox = require "spec.support.sandbox"

local ROOT = os.getenv("PWD")

-- Runs a Lua script file (or -e code) with the suite's modules and the sandbox's env.
local function run_lua(sb, args, cwd, extra_env)
  local env = ("HY3D_API_KEY=%s HY3D_BASE_URL=%s %s %s"):format(sb.key, sb.url, extra_env or "", sandbox.lua_env())
  return sandbox.run(("cd %s && %s %s %s"):format(cwd or ROOT, env, sandbox.lua(), args))
end

describe("examples", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2, reset = false }

  it("text_to_3d.lua saves a GLB and its preview", function()
    local dir = sandbox.tmpdir()
    local ok, out = run_lua(sb, "examples/text_to_3d.lua 'a tiny stool' " .. dir)
    assert.is_true(ok, out)
    assert.matches('submitted "a tiny stool" as job %d+', out)
    assert.matches("DONE", out)
    assert.matches("saved " .. dir:gsub("%p", "%%%0") .. "/a%-tiny%-stool%.glb", out)
    assert.equal("glTF", sandbox.read_file(dir .. "/a-tiny-stool.glb"):sub(1, 4))
    assert.equal("\137PNG", sandbox.read_file(dir .. "/a-tiny-stool.png"):sub(1, 4))
    os.execute("rm -rf " .. dir)
  end)

  it("generate.lua makes a model in one call from a prompt or an image, with progress", function()
    local dir = sandbox.tmpdir()
    local ok, out = run_lua(sb, "examples/generate.lua 'a small dog' " .. dir)
    assert.is_true(ok, out)
    local id = out:match("job (%d+) submitted")
    assert.is_string(id, out)
    assert.matches("WAIT", out)
    assert.matches("DONE", out)
    assert.matches("GLB 100%%", out)
    assert.equal("glTF", sandbox.read_file(dir .. "/a-small-dog.glb"):sub(1, 4))
    assert.matches("\nv ", sandbox.read_file(dir .. "/a-small-dog_obj/model.obj"))
    local png = require("spec.support.images").png(512, 512)
    local f = assert(io.open(dir .. "/photo.png", "wb"))
    f:write(png)
    f:close()
    ok, out = run_lua(sb, ("examples/generate.lua --image %s/photo.png %s"):format(dir, dir))
    assert.is_true(ok, out)
    assert.equal("glTF", sandbox.read_file(dir .. "/photo.glb"):sub(1, 4))
    f = assert(io.open(dir .. "/tiny.png", "wb"))
    f:write(require("spec.support.images").png(64, 64))
    f:close()
    ok, out = run_lua(sb, ("examples/generate.lua --image %s/tiny.png %s"):format(dir, dir))
    assert.is_false(ok)
    assert.matches("IMAGE_TOO_SMALL", out)
    os.execute("rm -rf " .. dir)
  end)

  it("text_to_3d.lua exits non-zero with a readable error", function()
    local ok, out = run_lua(sb, "examples/text_to_3d.lua ''")
    assert.is_false(ok)
    assert.matches("text_to_3d: hy3d invalid error INVALID_PARAMETER: Prompt: must not be empty", out)
  end)

  it("api3.lua generates through API 3.0 and converts the model to STL", function()
    local dir = sandbox.tmpdir()
    local env = ("TENCENTCLOUD_SECRET_ID=%s TENCENTCLOUD_SECRET_KEY=%s HY3D_ENDPOINT=%s %s"):format(
      sandbox.secret_id, sandbox.secret_key, sb.url, sandbox.lua_env())
    local ok, out = sandbox.run(("cd %s && env HY3D_API_KEY= %s %s examples/api3.lua 'a red teapot' %s"):format(
      ROOT, env, sandbox.lua(), dir))
    assert.is_true(ok, out)
    assert.matches("API 3%.0, ap%-guangzhou", out)
    assert.matches('submitted "a red teapot" as rapid job %d+', out)
    assert.equal("glTF", sandbox.read_file(dir .. "/a-red-teapot.glb"):sub(1, 4))
    local stl = sandbox.read_file(dir .. "/a-red-teapot.stl")
    assert.equal(84 + 50 * binary.u32le(stl, 81), #stl)
    assert.is_nil(out:find(sandbox.secret_key, 1, true))
    os.execute("rm -rf " .. dir)
  end)

  it("batch.lua runs 7 models at most 3 at a time from one thread", function()
    local dir = sandbox.tmpdir()
    local ok, out = run_lua(sb, "examples/batch.lua 7 3 " .. dir)
    assert.is_true(ok, out)
    assert.matches("7 models saved in " .. dir:gsub("%p", "%%%0") .. ", at most 3 at a time", out)
    for i = 1, 7 do
      assert.equal("glTF", sandbox.read_file(("%s/model-%02d.glb"):format(dir, i)):sub(1, 4))
    end
    os.execute("rm -rf " .. dir)
  end)

  for _, loop in ipairs { "cqueues", "luv", "copas" } do
    it(loop .. ".lua runs jobs inside that event loop", function()
      local probe = sandbox.run(("%s %s -e 'require(\"%s\")'"):format(sandbox.lua_env(), sandbox.lua(),
        loop == "luv" and "luv" or loop))
      if not probe then
        pending(("%s is not installed for this Lua (%s)"):format(loop, _VERSION))
        return
      end
      local ok, out = run_lua(sb, ("examples/%s.lua 2"):format(loop))
      assert.is_true(ok, out)
      assert.matches("2 jobs done", out)
      local _, n = out:gsub(": DONE, 2 files", "")
      assert.equal(2, n)
    end)
  end

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
