-- bin/hy3d where the command line meets the library (issue 15): names for --image URLs, the door
-- when both credential sets are set, output folders checked before anything is billed, messages
-- in the command line's words (flags, environment variables), and the small usage seams.
local core = require "hy3d.core"
local images = require "spec.support.images"
local sandbox = require "spec.support.sandbox"

local q = sandbox.shell_quote

local cli = require "spec.support.cli"
local hy3d, events, of, merge, speaks_cli = cli.run, cli.events, cli.of, cli.merge, cli.speaks_cli

describe("hy3d command seams", function()
  local sb = sandbox.suite { wait_time = 0.05, run_time = 0.1, reset = false }
  local dir, jobs_file, gateway, api3, both

  setup(function()
    dir = sandbox.tmpdir()
    jobs_file = dir .. "/jobs.jsonl"
    gateway = { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key, HY3D_JOBS_FILE = jobs_file }
    api3 = { HY3D_ENDPOINT = sb.url, TENCENTCLOUD_SECRET_ID = sandbox.secret_id,
             TENCENTCLOUD_SECRET_KEY = sandbox.secret_key, HY3D_JOBS_FILE = jobs_file }
    both = merge(gateway, api3)
  end)

  teardown(function()
    os.execute("rm -rf " .. q(dir))
  end)

  local function workdir() return cli.workdir(dir) end

  describe("generate --image URL without -o", function()
    it("names the files after the URL's last path segment", function()
      local cwd = workdir()
      local code, out, err = hy3d("generate --image 'https://example.com/pics/Red_Chair.png?sig=1' --interval 0.02",
        gateway, cwd)
      assert.equal(0, code, err)
      assert.equal("red-chair.glb", of(events(out), "file")[1].path)
    end)

    it("names the files after the JobId for a data: URL or a URL without a name", function()
      local cwd = workdir()
      for _, url in ipairs { "data:image/png;base64," .. core.base64_encode(images.png(256, 256)), "https://example.com/" } do
        local code, out, err = hy3d("generate --image " .. q(url) .. " --interval 0.02", gateway, cwd)
        assert.equal(0, code, err)
        local list = events(out)
        assert.equal(list[1].job_id .. ".glb", of(list, "file")[1].path)
      end
    end)
  end)

  describe("the door", function()
    it("with both credential sets, rapid jobs go through API 3.0 and status follows the record", function()
      local cwd = workdir()
      local code, out, err = hy3d("generate 'a red teapot' --kind rapid --interval 0.02", both, cwd)
      assert.equal(0, code, err)
      local id = events(out)[1].job_id
      assert.equal("api3", require("hy3d.jobs").open(jobs_file):get(id).door)
      code, out, err = hy3d("status " .. id, both, cwd)
      assert.equal(0, code, err)
      assert.equal("rapid", events(out)[1].kind)
      code, out, err = hy3d("submit x --kind rapid", both, cwd)
      assert.equal(0, code, err)
      assert.matches("^%d+\n$", out)
    end)

    it("a pro job recorded on API 3.0 is queried there, though HY3D_API_KEY is set", function()
      local cwd = workdir()
      local code, out, err = hy3d("submit 'a stool'", api3, cwd)
      assert.equal(0, code, err)
      local id = out:match("%d+")
      local before = #sb:requests()
      local code2, _, err2 = hy3d("status " .. id, merge(both, { HY3D_API_KEY = "sk-not-for-this-job" }), cwd)
      assert.equal(0, code2, err2)
      local reqs = sb:requests()
      for i = before + 1, #reqs do assert.not_equal("gateway", reqs[i].door, "went through the gateway") end
    end)

    it("--door and HY3D_DOOR choose; the message names what decided", function()
      local cwd = workdir()
      local code, out, err = hy3d("submit x --door api3 --json", both, cwd)
      assert.equal(0, code, err)
      assert.equal("api3", require("hy3d.jobs").open(jobs_file):get(events(out)[1].job_id).door)
      code, out, err = hy3d("submit x --json", merge(both, { HY3D_DOOR = "api3" }), cwd)
      assert.equal(0, code, err)
      assert.equal("api3", require("hy3d.jobs").open(jobs_file):get(events(out)[1].job_id).door)
      for _, case in ipairs {
        { "submit x --kind rapid --door gateway", both, 2, "%-%-door gateway" },
        { "submit x --kind rapid", merge(both, { HY3D_DOOR = "gateway" }), 2, "HY3D_DOOR=gateway" },
        { "submit x --door api3", gateway, 3, "%-%-door api3.*TENCENTCLOUD_SECRET_ID" },
        { "submit x --door sideways", both, 2, "%-%-door" },
        { "submit x", merge(both, { HY3D_DOOR = "sideways" }), 2, "HY3D_DOOR" },
      } do
        code, out, err = hy3d(case[1], case[2], cwd)
        assert.equal(case[3], code, case[1] .. ": " .. err)
        assert.matches(case[4], err, case[1])
        speaks_cli(out .. err)
      end
    end)

    it("a rapid job with gateway credentials only names the variables to set (exit 3)", function()
      local code, out, err = hy3d("submit x --kind rapid", gateway, workdir())
      assert.equal(3, code, err)
      assert.matches("TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY", err)
      speaks_cli(out .. err)
    end)

    it("half a credential pair is a credential problem: exit 3, naming the variable", function()
      local code, out, err = hy3d("status 1", { TENCENTCLOUD_SECRET_ID = sandbox.secret_id, HY3D_ENDPOINT = sb.url,
        HY3D_JOBS_FILE = jobs_file })
      assert.equal(3, code, err)
      assert.matches("TENCENTCLOUD_SECRET_KEY", err)
      speaks_cli(out .. err)
      code, out, err = hy3d("status 1", { TENCENTCLOUD_SECRET_KEY = sandbox.secret_key, HY3D_ENDPOINT = sb.url,
        HY3D_JOBS_FILE = jobs_file })
      assert.equal(3, code, err)
      assert.matches("TENCENTCLOUD_SECRET_ID", err)
      assert.is_nil((out .. err):find(sandbox.secret_key, 1, true))
      speaks_cli(out .. err)
    end)
  end)

  describe("output paths", function()
    it("generate --dir under a file fails before the submit: nothing is billed", function()
      local cwd = workdir()
      sandbox.write_file(cwd .. "/README.md", "# not a folder\n")
      local before = #sb:requests("submit")
      for _, args in ipairs { "generate 'a chair' --dir README.md/sub", "generate 'a chair' -o README.md/sub/chair.glb",
                              "generate 'a chair' --dir README.md" } do
        local code, out, err = hy3d(args, gateway, cwd)
        assert.equal(7, code, args .. ": " .. err)
        assert.matches("README%.md is not a folder", err)
        assert.equal(before, #sb:requests("submit"), args)
        speaks_cli(out .. err)
      end
    end)

    it("generate into a folder it cannot write fails before the submit", function()
      local cwd = workdir()
      assert(os.execute("mkdir -p " .. q(cwd .. "/locked") .. " && chmod 555 " .. q(cwd .. "/locked")))
      local locked = "locked"
      local probe = io.open(cwd .. "/locked/probe", "wb")
      if probe then        -- root writes through the mode bits; nobody creates files in /proc
        probe:close()
        os.remove(cwd .. "/locked/probe")
        locked = "/proc"
        assert.is_nil(io.open("/proc/hy3d-probe", "wb"))
      end
      local before = #sb:requests("submit")
      for _, args in ipairs { "generate 'a chair' --dir " .. locked, "generate 'a chair' --dir " .. locked .. "/new/deeper" } do
        local code, _, err = hy3d(args, gateway, cwd)
        assert.equal(7, code, args .. ": " .. err)
        assert.matches("cannot write in " .. locked, err, 1, true)
      end
      assert.equal(before, #sb:requests("submit"))
    end)

    it("a folder that does not exist yet is fine (it is created)", function()
      local cwd = workdir()
      local code, _, err = hy3d("generate 'a chair' --dir new/deeper --interval 0.02 --text -q", gateway, cwd)
      assert.equal(0, code, err)
      assert.truthy(sandbox.exists(cwd .. "/new/deeper/a-chair.glb"))
    end)
  end)

  describe("messages in the command line's words", function()
    it("local validation names the flag and --no-validate, which skips it", function()
      local cwd = workdir()
      local code, out, err = hy3d("submit x --faces 100", gateway, cwd)
      assert.equal(2, code, err)
      assert.matches("%-%-faces", err)
      assert.matches("%-%-no%-validate", err)
      speaks_cli(out .. err)
      local before = #sb:requests("submit")
      code, out, err = hy3d("submit x --faces 100 --no-validate", gateway, cwd)
      assert.equal(before + 1, #sb:requests("submit"), err)
      assert.equal(2, code, err)                        -- the service's InvalidParameter
      speaks_cli(out .. err)
    end)

    it("a bad HY3D_BASE_URL or HY3D_ENDPOINT is named as the variable; --base-url as the flag", function()
      local cwd = workdir()
      local code, out, err = hy3d("status 1", merge(gateway, { HY3D_BASE_URL = "ftp://example.com" }), cwd)
      assert.equal(2, code, err)
      assert.matches("HY3D_BASE_URL", err)
      speaks_cli(out .. err)
      code, out, err = hy3d("status 1 --base-url ftp://example.com", gateway, cwd)
      assert.equal(2, code, err)
      assert.matches("%-%-base%-url", err)
      speaks_cli(out .. err)
      code, out, err = hy3d("status 1", merge(api3, { HY3D_ENDPOINT = "nonsense" }), cwd)
      assert.equal(2, code, err)
      assert.matches("HY3D_ENDPOINT", err)
      speaks_cli(out .. err)
    end)

    it("plain http:// to another host needs --allow-http, which the message names", function()
      local cwd = workdir()
      local code, out, err = hy3d("status 1", merge(gateway, { HY3D_BASE_URL = "http://example.invalid" }), cwd)
      assert.equal(2, code, err)
      assert.matches("HY3D_BASE_URL", err)
      assert.matches("%-%-allow%-http", err)
      speaks_cli(out .. err)
      -- with the flag it goes on (and fails to connect: a network error, not a usage error)
      local code2, _, err2 = hy3d("status 1 --allow-http --retries 0",
        merge(gateway, { HY3D_BASE_URL = "http://example.invalid" }), cwd)
      assert.equal(4, code2, err2)
    end)

    it("no credentials names the variables, not options", function()
      local code, out, err = hy3d("submit x", { HY3D_JOBS_FILE = jobs_file })
      assert.equal(3, code, err)
      assert.matches("HY3D_API_KEY", err)
      assert.matches("TENCENTCLOUD_SECRET_ID", err)
      speaks_cli(out .. err)
    end)

    it("--help documents --door, --no-validate and --allow-http", function()
      for _, cmd in ipairs { "generate", "submit", "status", "wait", "download" } do
        local code, out = hy3d(cmd .. " --help")
        assert.equal(0, code)
        for _, flag in ipairs { "--door", "--no-validate", "--allow-http" } do
          if flag ~= "--no-validate" or cmd == "generate" or cmd == "submit" then
            assert.truthy(out:find(flag, 1, true), cmd .. " " .. flag)
          end
        end
      end
      local _, out = hy3d("--help")
      assert.truthy(out:find("HY3D_DOOR", 1, true))
    end)

    it("--faces that is not a number says so and gives the range", function()
      local code, _, err = hy3d("generate --faces abc x", gateway)
      assert.equal(2, code)
      assert.matches("%-%-faces", err)
      assert.matches("not a number", err)
      assert.matches("3000", err)
      assert.is_nil(err:find(">= 1", 1, true))
      code, _, err = hy3d("generate --faces 1.5 x", gateway)
      assert.equal(2, code)
      assert.matches("whole number", err)
    end)
  end)

  describe("usage seams", function()
    it("jobs --limit 0 prints no job", function()
      local file = dir .. "/limit.jsonl"
      sandbox.write_file(file, '{"job_id":"1","kind":"pro"}\n{"job_id":"2","kind":"pro"}\n')
      local code, out, err = hy3d("jobs --limit 0 --json", { HY3D_JOBS_FILE = file })
      assert.equal(0, code, err)
      assert.equal("", out)
      code, out, err = hy3d("jobs --limit 0", { HY3D_JOBS_FILE = file })
      assert.equal(0, code, err)
      assert.equal("", out)
      code, out = hy3d("jobs --limit 1 --json", { HY3D_JOBS_FILE = file })
      assert.equal(0, code)
      assert.equal(1, #events(out))
    end)

    it("an unknown command or none is one line and a hint, exit 2", function()
      for _, args in ipairs { "frobnicate", "", "--json" } do
        local code, out, err = hy3d(args)
        assert.equal(2, code, args)
        assert.equal("", out)
        assert.matches("^hy3d: [^\n]+%(see `hy3d %-%-help`%)\n$", err)
      end
    end)

    it("help --help prints the help and exits 0", function()
      for _, args in ipairs { "help --help", "help -h" } do
        local code, out, err = hy3d(args)
        assert.equal(0, code, err)
        assert.matches("^usage: hy3d <command>", out)
      end
    end)
  end)

  describe("a new user's review", function()
    -- Fails unless text is one line that names `flag` and the exit code is 2 (a usage error).
    local function one_usage_line(code, out, err, flag, args)
      assert.equal(2, code, args .. ": " .. out .. err)
      assert.equal("", out, args)
      assert.matches("^hy3d[^\n]*\n$", err, args)
      if flag then assert.truthy(err:find(flag, 1, true), args .. ": " .. err) end
      speaks_cli(out .. err)
    end

    it("jobs says why it cannot read a record under a file or that is a folder (exit 7, never a Lua table)", function()
      local cwd = workdir()
      sandbox.write_file(cwd .. "/afile", "x\n")
      assert(os.execute("mkdir -p " .. q(cwd .. "/adir")))
      for _, args in ipairs { "jobs --jobs-file afile/jobs.jsonl", "jobs --jobs-file adir" } do
        local code, out, err = hy3d(args, {}, cwd)
        assert.equal(7, code, args .. ": " .. err)
        assert.is_nil((out .. err):find("table: ", 1, true), args .. ": " .. err)
        assert.matches("cannot read", err, args)
      end
    end)

    it("a checkout without the core for this Lua says in one line what to build", function()
      local root = sandbox.tmpdir()
      assert(os.execute(("mkdir -p %s/bin && cp bin/hy3d %s/bin/ && ln -s %s %s/lua"):format(q(root), q(root),
        q(os.getenv("PWD") .. "/lua"), q(root))))
      local abi = rawget(_G, "jit") and "jit" or _VERSION:match("%d+%.%d+")
      local _, out, code = sandbox.run(("cd %s && env -u LUA_PATH -u LUA_CPATH_5_4 -u LUA_CPATH_5_3 -u LUA_CPATH_5_2 "
        .. "LUA_CPATH=%s %s bin/hy3d --version"):format(q(root), q(root .. "/nowhere/?.so"), sandbox.lua()))
      os.execute("rm -rf " .. q(root))
      assert.not_equal(0, code)
      assert.is_nil(out:find("traceback", 1, true), out)
      assert.matches("^hy3d: [^\n]+\n?$", out)
      assert.truthy(out:find("make LUA_VERSION=" .. abi, 1, true), out)
    end)

    it("--timeout 0 is a usage error for every command that waits, before anything is sent", function()
      local before = #sb:requests()
      for _, args in ipairs { "generate x --timeout 0", "wait 1 --timeout 0", "download 1 --timeout 0",
                              "generate x --timeout=0.0" } do
        local code, out, err = hy3d(args, gateway, workdir())
        one_usage_line(code, out, err, "--timeout", args)
      end
      assert.equal(before, #sb:requests())
    end)

    it("--view without --image is a usage error, before any view file is read", function()
      for _, args in ipairs { "generate x --view left=missing.png", "submit x --view left=missing.png" } do
        local code, out, err = hy3d(args, gateway, workdir())
        one_usage_line(code, out, err, "--view needs --image", args)
      end
    end)

    it("messages about views and the prompt name flags, not the API's fields", function()
      local cwd = workdir()
      sandbox.write_file(cwd .. "/big.png", images.png(256, 256))
      local code, out, err = hy3d("submit --image big.png --view top=big.png", gateway, cwd)
      assert.equal(2, code, err)
      assert.truthy(err:find("--model 3.1", 1, true), err)
      for _, word in ipairs { "ViewType", "MultiViewImages", "Model 3.1" } do
        assert.is_nil(err:gsub("%-%-model 3%.1", ""):find(word, 1, true), word .. " in: " .. err)
      end
      speaks_cli(out .. err)
      code, out, err = hy3d("submit --kind rapid " .. ("a"):rep(300), api3, cwd)
      assert.equal(2, code, err)
      assert.is_nil(err:find("Prompt:", 1, true), err)
      assert.matches("the prompt", err)
      speaks_cli(out .. err)
    end)

    it("status of an unrecorded job the service does not know hints at --kind rapid", function()
      local code, out, err = hy3d("status 987654321 --text", both, workdir())
      assert.equal(6, code, err)
      assert.truthy(err:find("--kind rapid", 1, true), err)
      speaks_cli(out .. err)
    end)

    it("usage errors name the allowed values and never repeat the value given", function()
      for _, case in ipairs {
        { "generate x --format foo", "foo", "GLB" },
        { "generate x --kind rapid --format foo", "foo", "GLB" },
        { "status 1 --kind frob", "frob", "rapid" },
        { "wait 1 --kind frob", "frob", "rapid" },
        { "generate x --faces 99999999999999999999", "99999", "3000" },
        { "generate x --faces 0x1000", "0x1000", "3000" },
        { "generate x --faces 1e4", "1e4", "3000" },
        { "generate x --faces 1e4 --no-validate", "1e4", "3000" },
        { "generate x --faces +5000", "+5000", "3000" },
        { "generate x --faces 100", "got 100", "3000" },
        { "generate x --retries 0x3", "0x3", "--retries" },
        { "generate x --interval 1e1", "1e1", "--interval" },
        { "jobs --limit 0x10", "0x10", "--limit" },
      } do
        local code, out, err = hy3d(case[1] .. " --text", both, workdir())
        assert.equal(2, code, case[1] .. ": " .. err)
        assert.equal("", out, case[1])
        assert.is_nil(err:lower():find(case[2]:lower(), 1, true), case[1] .. ": " .. err)
        assert.truthy(err:find(case[3], 1, true), case[1] .. ": " .. err)
        assert.is_nil(err:find("1e+20", 1, true), err)
      end
    end)

    it("download --help and wait --help say what their --dir and --timeout cover", function()
      local _, out = hy3d("download --help")
      assert.is_nil(out:find("submitted, created", 1, true))
      assert.is_nil(out:find("before the job is submitted", 1, true), out)
      local _, wout = hy3d("wait --help")
      assert.is_nil(wout:find("downloading", 1, true), wout)
      local _, gout = hy3d("generate --help")
      assert.truthy(gout:find("downloading included", 1, true))
    end)

    it("extra words after help COMMAND or --version are a usage error (exit 2)", function()
      for _, args in ipairs { "help jobs extra", "--version extra", "help help extra", "--help jobs extra" } do
        local code, out, err = hy3d(args)
        one_usage_line(code, out, err, nil, args)
      end
      local code, out = hy3d("--help jobs")
      assert.equal(0, code)
      assert.matches("^usage: hy3d jobs", out)
    end)

    it("an empty -o, --dir, --image or --format is a usage error", function()
      local before = #sb:requests()
      for _, args in ipairs { "generate x -o ''", "generate x --output=", "generate x --dir ''", "generate --image '' x",
                              "generate x --format ''", "download 1 -o ''" } do
        local code, out, err = hy3d(args, gateway, workdir())
        one_usage_line(code, out, err, nil, args)
      end
      assert.equal(before, #sb:requests())
    end)

    it("--language en-US (or HY3D_LANGUAGE) gets API 3.0's messages in English", function()
      local cwd = workdir()
      local code, _, err = hy3d("status 987654321 --door api3 --text", both, cwd)
      assert.equal(6, code, err)
      assert.is_nil(err:find("The job does not exist", 1, true), err)
      code, _, err = hy3d("status 987654321 --door api3 --text --language en-US", both, cwd)
      assert.equal(6, code, err)
      assert.truthy(err:find("The job does not exist", 1, true), err)
      local out
      code, out, err = hy3d("status 987654321 --door api3 --text", merge(both, { HY3D_LANGUAGE = "en-US" }), cwd)
      assert.equal(6, code, err)
      assert.truthy(err:find("The job does not exist", 1, true), err)
      speaks_cli(out .. err)
      -- on the gateway it changes nothing, and is no error
      code, _, err = hy3d("status 987654321 --text --language en-US", gateway, cwd)
      assert.equal(6, code, err)
      for _, case in ipairs { { "status 1 --language fr", both, "--language" },
                              { "status 1", merge(both, { HY3D_LANGUAGE = "fr" }), "HY3D_LANGUAGE" } } do
        code, out, err = hy3d(case[1], case[2], cwd)
        one_usage_line(code, out, err, case[3], case[1])
        assert.truthy(err:find("en-US", 1, true), err)
        assert.is_nil(err:find("fr", 1, true), err)
      end
      local _, help = hy3d("status --help")
      assert.truthy(help:find("--language", 1, true))
      assert.truthy(help:find("HY3D_LANGUAGE", 1, true))
    end)

    it("the service's InvalidParameter hint points to --language on API 3.0, to nothing on the gateway", function()
      local cwd = workdir()
      local code, out, err = hy3d("submit x --faces 100 --no-validate --door api3", both, cwd)
      assert.equal(2, code, err)
      assert.truthy(err:find("--language en-US", 1, true), err)
      speaks_cli(out .. err)
      code, out, err = hy3d("submit x --faces 100 --no-validate --door gateway", both, cwd)
      assert.equal(2, code, err)
      assert.is_nil(err:find("language", 1, true), err)
      speaks_cli(out .. err)
    end)
  end)
end)
