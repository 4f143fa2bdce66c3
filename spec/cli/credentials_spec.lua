-- The hy3d command × credentials matrix (issue 15): every subcommand with gateway credentials
-- only, API 3.0 only, both, none, a wrong key and a wrong secret; each run is checked for its
-- exit code, for messages in the command line's words (flags and variables, never Lua options)
-- and for never showing a key or secret. One sandbox for the file.
local sandbox = require "spec.support.sandbox"

local q = sandbox.shell_quote

local cli = require "spec.support.cli"
local hy3d = cli.run

local WRONG_KEY = "sk-hy3d-matrix-wrong-0123456789"
local WRONG_SECRET = "matrixWrongSecret0123456789abcdef"

local SANDBOX_RUNS = _VERSION ~= "Lua 5.1" and _VERSION ~= "Lua 5.2" and not rawget(_G, "jit")

describe("hy3d command × credentials", function()
  local sb = sandbox.suite { wait_time = 0.02, run_time = 0.05, reset = false }
  local dir, jobs_file, pro_id, rapid_id
  local configs = {}

  setup(function()
    dir = sandbox.tmpdir()
    jobs_file = dir .. "/jobs.jsonl"
    local gateway = { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key }
    local api3 = { HY3D_ENDPOINT = sb.url, TENCENTCLOUD_SECRET_ID = sandbox.secret_id,
                   TENCENTCLOUD_SECRET_KEY = sandbox.secret_key }
    local function with(...)
      local t = { HY3D_JOBS_FILE = jobs_file, HY3D_BASE_URL = sb.url, HY3D_ENDPOINT = sb.url }
      for _, part in ipairs { ... } do
        for k, v in pairs(part) do t[k] = v end
      end
      return t
    end
    configs = {
      gateway = with(gateway), api3 = with(api3), both = with(gateway, api3), none = with(),
      wrong_key = with(gateway, { HY3D_API_KEY = WRONG_KEY }),
      wrong_secret = with(api3, { TENCENTCLOUD_SECRET_KEY = WRONG_SECRET }),
    }
    local code, out, err = hy3d("submit 'a matrix stool'", configs.gateway, dir)
    assert(code == 0, err)
    pro_id = out:match("%d+")
    code, out, err = hy3d("submit 'a matrix teapot' --kind rapid", configs.api3, dir)
    assert(code == 0, err)
    rapid_id = out:match("%d+")
  end)

  teardown(function()
    os.execute("rm -rf " .. q(dir))
  end)

  -- The commands, and the exit code each credential set gives: ok (0), cred (3), or a number.
  -- Rapid jobs (and the rapid job's record) need API 3.0; the sandbox's doors share one job
  -- store, so a gateway job can be queried through API 3.0.
  local ROWS = {
    { "generate 'a matrix chair' --interval 0.02", gateway = 0, api3 = 0, both = 0 },
    { "generate 'a matrix cup' --kind rapid --interval 0.02", api3 = 0, both = 0 },
    { "submit 'a matrix lamp'", gateway = 0, api3 = 0, both = 0 },
    { "submit 'a matrix vase' --kind rapid", api3 = 0, both = 0 },
    { "status PRO", gateway = 0, api3 = 0, both = 0 },
    { "status RAPID", api3 = 0, both = 0 },
    { "wait PRO --interval 0.02", gateway = 0, api3 = 0, both = 0 },
    { "wait RAPID --interval 0.02", api3 = 0, both = 0 },
    { "download PRO --interval 0.02", gateway = 0, api3 = 0, both = 0 },
    { "download RAPID --interval 0.02 --format all", api3 = 0, both = 0 },
    { "status RAPID --door gateway", all = 2 },             -- a contradiction, whatever is set
    { "submit x --door api3", api3 = 0, both = 0 },
    { "jobs --text", all = 0 },
    { "sandbox --help", all = SANDBOX_RUNS and 0 or 2 },
  }

  for _, row in ipairs(ROWS) do
    for _, name in ipairs { "gateway", "api3", "both", "none", "wrong_key", "wrong_secret" } do
      local want = row.all or row[name] or 3
      it(("%s with %s credentials exits %d"):format(row[1], name:gsub("_", " "), want), function()
        local cwd = dir .. "/" .. name
        assert(os.execute("mkdir -p " .. q(cwd)))
        local args = row[1]:gsub("PRO", pro_id):gsub("RAPID", rapid_id)
        local code, out, err = hy3d(args, configs[name], cwd)
        assert.equal(want, code, args .. ": " .. out .. err)
        local text = out .. err
        cli.speaks_cli(text)
        for _, secret in ipairs { sb.key, sandbox.secret_key, WRONG_KEY, WRONG_SECRET } do
          assert.is_nil(text:find(secret, 1, true), "a secret in the output")
        end
        if want == 3 then
          assert.truthy(err:find("HY3D_API_KEY", 1, true) or err:find("TENCENTCLOUD_SECRET_", 1, true),
            "names no variable: " .. err)
        end
      end)
    end
  end
end)

describe("hy3d command with a credential too short to be one", function()
  -- A key of a few characters would be redacted out of every word it occurs in ("w[redacted]rning"):
  -- it is refused before anything is sent, naming the variable or flag, and the output stays readable.
  for _, case in ipairs {
    { "status 1", { HY3D_API_KEY = "e" }, "HY3D_API_KEY" },
    { "status 1", { HY3D_API_KEY = "key" }, "HY3D_API_KEY" },
    { "status 1 --api-key a", {}, "--api-key" },
    { "status 1 --door api3", { TENCENTCLOUD_SECRET_ID = "AKIDshortsecretid", TENCENTCLOUD_SECRET_KEY = "abc" },
      "TENCENTCLOUD_SECRET_KEY" },
    { "status 1 --door api3", { TENCENTCLOUD_SECRET_ID = "AKIDshortsecretid", TENCENTCLOUD_SECRET_KEY = "abcdefghijkl",
                                TENCENTCLOUD_SESSION_TOKEN = "t" }, "TENCENTCLOUD_SESSION_TOKEN" },
  } do
    it(("%s with %s exits 3 naming it"):format(case[1], case[3]), function()
      local env = cli.merge(case[2], { HY3D_BASE_URL = "http://127.0.0.1:9", HY3D_ENDPOINT = "http://127.0.0.1:9",
                                       HY3D_JOBS_FILE = os.tmpname() })
      local code, out, err = hy3d(case[1] .. " --text", env)
      os.remove(env.HY3D_JOBS_FILE)
      assert.equal(3, code, out .. err)
      assert.truthy(err:find(case[3], 1, true), err)
      assert.matches("BAD_CREDENTIALS", err)
      assert.is_nil((out .. err):find("redacted", 1, true), err)
      assert.matches("too short", err)
      cli.speaks_cli(out .. err)
    end)
  end
end)
