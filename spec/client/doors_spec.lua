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

-- Variables that would choose a door or credentials: each run starts without them.
local CLEARED = { "HY3D_API_KEY", "HY3D_BASE_URL", "HY3D_ENDPOINT", "HY3D_DOOR", "HY3D_SITE", "TENCENTCLOUD_SECRET_ID",
                  "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN", "TENCENTCLOUD_REGION" }

describe("every door through one API", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2,
                             extra = { "--intl-secret-id", INTL_ID, "--intl-secret-key", INTL_KEY } }
  local script

  setup(function()
    script = os.tmpname()
    local f = assert(io.open(script, "wb"))
    f:write(SCRIPT)
    f:close()
  end)
  teardown(function() os.remove(script) end)

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
        if d.config then sb:config(d.config) end
        local dir = sandbox.tmpdir()
        local words = { "env" }
        for _, name in ipairs(CLEARED) do words[#words + 1] = "-u " .. name end
        for name, value in pairs(d.env()) do words[#words + 1] = q(name .. "=" .. value) end
        local ok, out = sandbox.run(("%s %s %s %s %s"):format(table.concat(words, " "), sandbox.lua_env(),
          sandbox.lua(), q(script), q(dir)))
        assert.is_true(ok, tostring(out))
        assert.equal(("%s %s DONE string GLB glTF\n"):format(d.door, site), out)
        os.execute("rm -rf " .. q(dir))
      end)
  end
end)
