-- Every door through one API: the same generate("a wooden chair") script, run unchanged in a child
-- process against each of the six doors (mainland gateway, mainland API 3.0, international API 3.0,
-- TokenHub, a self-hosted server, MPS), only the environment telling it which: the same result shape
-- and a real GLB on disk from each.
local sandbox = require "spec.support.sandbox"

local q = sandbox.shell_quote
local INTL_ID = "AKIDhy3dSpecDoorsIntlSecretId00000000"
local INTL_KEY = "hy3dSpecDoorsIntlSecretKey0123456789"

-- The user's script: nothing in it names a door.
local SCRIPT = [[
local hy3d = require "hy3d"
local client = hy3d.new { poll_interval = 0.05 }
local r = hy3d.assert(client:generate("a wooden chair", { dir = arg[1], name = "chair" }))
local f = assert(io.open(r.files[1].path, "rb"))
local magic = f:read(4)
f:close()
io.write(client.door, " ", client.site or "mainland", " ", r.result.Status, " ", type(r.job.JobId), " ",
  r.files[1].type, " ", magic, "\n")
client:close()
]]

-- The same, two jobs at once in tasks the pump drives (hy3d.spawn, hy3d.run) with
-- max_concurrent_jobs = 1: the scheduler and the local queue work on the door.
local TASKS = [[
local hy3d = require "hy3d"
local client = hy3d.new { poll_interval = 0.05, max_concurrent_jobs = 1 }
local got = {}
for i, prompt in ipairs { "a wooden chair", "a wooden table" } do
  hy3d.spawn(function()
    got[i] = hy3d.assert(client:generate(prompt, { dir = arg[1], name = "m" .. i }))
  end)
end
hy3d.run()
for i = 1, 2 do io.write(got[i].result.Status, " ", got[i].files[1].path:match("[^/]*$"), " ") end
io.write(client.door, "\n")
client:close()
]]

-- Variables that would choose a door or credentials: each run starts without them.
local CLEARED = { "HY3D_API_KEY", "HY3D_BASE_URL", "HY3D_ENDPOINT", "HY3D_DOOR", "HY3D_SITE", "TENCENTCLOUD_SECRET_ID",
                  "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN", "TENCENTCLOUD_REGION" }

describe("every door through one API", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2,
                             extra = { "--intl-secret-id", INTL_ID, "--intl-secret-key", INTL_KEY } }
  local script, tasks

  setup(function()
    script, tasks = os.tmpname(), os.tmpname()
    for path, text in pairs { [script] = SCRIPT, [tasks] = TASKS } do
      local f = assert(io.open(path, "wb"))
      f:write(text)
      f:close()
    end
  end)
  teardown(function()
    os.remove(script)
    os.remove(tasks)
  end)

  -- Runs a script file in a child with door d's environment and a fresh folder; returns its output.
  local function run(d, file)
    if d.config then sb:config(d.config) end
    local dir = sandbox.tmpdir()
    local words = { "env" }
    for _, name in ipairs(CLEARED) do words[#words + 1] = "-u " .. name end
    for name, value in pairs(d.env()) do words[#words + 1] = q(name .. "=" .. value) end
    local ok, out = sandbox.run(("%s %s %s %s %s"):format(table.concat(words, " "), sandbox.lua_env(),
      sandbox.lua(), q(file), q(dir)))
    os.execute("rm -rf " .. q(dir))
    assert.is_true(ok, tostring(out))
    return out
  end

  local DOORS = {
    { door = "gateway", env = function() return { HY3D_API_KEY = sandbox.key, HY3D_BASE_URL = sb.url } end },
    { door = "api3", env = function()
        return { TENCENTCLOUD_SECRET_ID = sandbox.secret_id, TENCENTCLOUD_SECRET_KEY = sandbox.secret_key,
                 HY3D_ENDPOINT = sb.url }
      end },
    { door = "api3", site = "intl", env = function()
        return { HY3D_SITE = "intl", TENCENTCLOUD_SECRET_ID = INTL_ID, TENCENTCLOUD_SECRET_KEY = INTL_KEY,
                 HY3D_ENDPOINT = sb.url }
      end },
    { door = "tokenhub", env = function()
        return { HY3D_DOOR = "tokenhub", HY3D_API_KEY = sandbox.key, HY3D_BASE_URL = sb.url }
      end },
    -- Hunyuan3D-2's server (text to 3D with its text-to-image stage); 2.1's takes images only
    { door = "local", config = { selfhosted = "2" },
      env = function() return { HY3D_DOOR = "local", HY3D_BASE_URL = sb.url .. "/selfhosted" } end },
    { door = "mps", env = function()
        return { HY3D_DOOR = "mps", TENCENTCLOUD_SECRET_ID = sandbox.secret_id,
                 TENCENTCLOUD_SECRET_KEY = sandbox.secret_key, HY3D_ENDPOINT = sb.url }
      end },
  }

  for _, d in ipairs(DOORS) do
    local site = d.site or "mainland"
    it(("runs generate(\"a wooden chair\") unchanged on %s (%s), told only by the environment"):format(d.door, site),
      function()
        assert.equal(("%s %s DONE string GLB glTF\n"):format(d.door, site), run(d, script))
      end)
    it(("runs two generate tasks under the pump, with max_concurrent_jobs = 1, on %s (%s)"):format(d.door, site),
      function()
        assert.equal(("DONE m1.glb DONE m2.glb %s\n"):format(d.door), run(d, tasks))
      end)
  end
end)
