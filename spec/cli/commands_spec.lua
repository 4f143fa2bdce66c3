-- bin/hy3d, the command-line client, run as a user runs it (a child process with the suite's Lua
-- and module paths) against hy3d-sandbox: every subcommand, the JSON-lines and terminal output,
-- the job record, and every exit code.
local core = require "hy3d.core"
local images = require "spec.support.images"
local sandbox = require "spec.support.sandbox"

local q = sandbox.shell_quote

local cli = require "spec.support.cli"
local command, hy3d, events, of, merge = cli.command, cli.run, cli.events, cli.of, cli.merge

-- The events' names in order, a run of the same name written once: "submitted status file result".
local function names(list)
  local out = {}
  for _, e in ipairs(list) do
    if out[#out] ~= e.event then out[#out + 1] = e.event end
  end
  return table.concat(out, " ")
end

local function pause()
  os.execute("sleep 0.02")
end

-- Runs bin/hy3d in the background (for Ctrl-C): bg:await(find) waits until find(the events so
-- far) returns something and returns it, bg:interrupt() sends SIGINT and returns the exit code.
local Background = {}
Background.__index = Background

local function background(args, env, cwd)
  local bg = setmetatable({ out = cwd .. "/bg.out", err = cwd .. "/bg.err", code = cwd .. "/bg.code",
                            pidfile = cwd .. "/bg.pid" }, Background)
  local inner = "echo $$ > " .. q(bg.pidfile) .. "; exec " .. command(args, env, cwd):gsub("^cd [^&]+&& ", "")
  os.execute(("cd %s && ( sh -c %s > %s 2> %s; echo $? > %s ) > /dev/null 2>&1 &"):format(q(cwd), q(inner),
    q(bg.out), q(bg.err), q(bg.code)))
  return bg
end

function Background:await(find)
  local t0 = os.time()
  local found
  repeat
    pause()
    local text = sandbox.read_file(self.out) or ""
    local complete = {}
    for line in text:gmatch("([^\n]*)\n") do complete[#complete + 1] = core.decode(line) end
    found = find(complete)
  until found or os.time() - t0 > 10
  return found
end

function Background:interrupt()
  local pid = assert(sandbox.read_file(self.pidfile)):match("%d+")
  os.execute("kill -INT " .. pid)
  local t0 = os.time()
  local code
  repeat
    pause()
    code = (sandbox.read_file(self.code) or ""):match("%d+")
  until code or os.time() - t0 > 10
  return tonumber(code)
end

local exists, write = sandbox.exists, sandbox.write_file

-- The merged record of the jobs file.
local function record(path)
  local list = assert(require("hy3d.jobs").open(path):read())
  local by_id = {}
  for _, r in ipairs(list) do by_id[r.job_id] = r end
  return by_id, list
end

describe("hy3d command", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2, reset = false }
  local slow = sandbox.suite { wait_time = 30, run_time = 0.2, reset = false }
  local dir, jobs_file, env

  setup(function()
    dir = sandbox.tmpdir()
    jobs_file = dir .. "/state/hy3d/jobs.jsonl"
    env = { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key, HY3D_JOBS_FILE = jobs_file }
  end)

  teardown(function()
    os.execute("rm -rf " .. q(dir))
  end)

  local function workdir() return cli.workdir(dir) end

  describe("usage", function()
    it("--help lists the commands, exit codes and credentials", function()
      for _, flag in ipairs { "--help", "-h", "help" } do
        local code, out, err = hy3d(flag)
        assert.equal(0, code, err)
        assert.matches("^usage: hy3d <command>", out)
        for _, cmd in ipairs { "generate", "submit", "status", "wait", "download", "jobs", "sandbox" } do
          assert.matches("\n  " .. cmd .. " ", out)
        end
        assert.matches("HY3D_API_KEY", out)
        assert.matches("130 interrupted", out)
      end
    end)

    it("every subcommand has --help (and `hy3d help COMMAND`)", function()
      for _, cmd in ipairs { "generate", "submit", "status", "wait", "download", "jobs" } do
        local code, out, err = hy3d(cmd .. " --help")
        assert.equal(0, code, err)
        assert.matches("^usage: hy3d " .. cmd, out)
        local code2, out2 = hy3d("help " .. cmd)
        assert.equal(0, code2)
        assert.equal(out, out2)
        local code3, out3 = hy3d(cmd .. " -h")
        assert.equal(0, code3)
        assert.equal(out, out3)
      end
      local _, out = hy3d("generate --help")
      for _, opt in ipairs { "--kind", "--model", "--image", "--view", "--faces", "--type", "--pbr", "--result-format",
                             "--timeout", "--interval", "-o, --output", "--format", "--dir", "--extract", "--json",
                             "--quiet", "--api-key", "--base-url", "--endpoint", "--region", "--jobs-file" } do
        assert.truthy(out:find(opt, 1, true), opt)
      end
    end)

    it("--version names hy3d's version", function()
      local code, out = hy3d("--version")
      assert.equal(0, code)
      assert.matches("^hy3d %d+%.%d+%.%d+ ", out)
    end)

    it("exits 2 with a one-line hint for an unknown option, and sends nothing", function()
      local before = #sb:requests()
      local code, out, err = hy3d("generate --bogus 'a chair'", env)
      assert.equal(2, code)
      assert.equal("", out)
      assert.equal("hy3d generate: unknown option --bogus (see `hy3d generate --help`)\n", err)
      code, out, err = hy3d("generate --bogus=sk-some-secret 'a chair'", env)
      assert.equal(2, code)
      assert.is_nil((out .. err):find("sk-some-secret", 1, true))
      assert.equal(before, #sb:requests())
    end)

    it("exits 2 for every other bad command line", function()
      local before = #sb:requests()
      for _, args in ipairs {
        "", "nosuch", "help nosuch", "generate", "generate --faces many x", "generate --faces 1.5 x",
        "generate --timeout -1 x", "generate --interval abc x", "generate --kind part x", "generate --type Blocky x",
        "generate --polygon hexagon x", "generate --model 2.0 x", "generate --result-format OBJ x",
        "generate --kind rapid --faces 5000 x", "generate --json --text x", "generate --pbr=yes x",
        "generate --format 'glb,!' x", "generate -o", "status", "status 1 2", "status --format glb 1",
        "wait --kind nosuch 1", "jobs extra", "jobs --limit -2", "submit --view left x", "submit --retries -1 x",
        "--json sandbox", "generate --jobs-file '' x", "generate --format mp4 x", "generate -o chair.fbx --format stl,fbx x",
        "generate --type geometry --format obj x", "generate --kind rapid --format glb,obj x",
        "submit --view left=a.png --view left=b.png --image a.png x",
      } do
        local code, out, err = hy3d(args, env)
        assert.equal(2, code, args .. ": " .. out .. err)
        assert.matches("hy3d", err, args)
      end
      assert.equal(before, #sb:requests())
    end)
  end)

  describe("generate", function()
    it("prints JSON lines when stdout is not a terminal: submitted, status..., file, result", function()
      local cwd = workdir()
      local code, out, err = hy3d("generate 'a wooden chair' --interval 0.05", env, cwd)
      assert.equal(0, code, err)
      assert.equal("", err)
      local list = events(out)
      assert.matches("^submitted status [progres ]*file result$", names(list))
      local sub = list[1]
      assert.matches("^%d+$", sub.job_id)
      assert.equal("pro", sub.kind)
      local statuses, last = of(list, "status"), 0
      for _, e in ipairs(statuses) do
        assert.equal(sub.job_id, e.job_id)
        assert.truthy(({ WAIT = true, RUN = true, DONE = true })[e.status], e.status)
        assert.is_true(e.elapsed >= last)
        last = e.elapsed
      end
      assert.equal("DONE", statuses[#statuses].status)
      local file = of(list, "file")[1]
      assert.same({ schema = 1, event = "file", job_id = sub.job_id, type = "GLB", path = "a-wooden-chair.glb",
                    bytes = file.bytes }, file)
      local glb = assert(sandbox.read_file(cwd .. "/a-wooden-chair.glb"))
      assert.equal("glTF", glb:sub(1, 4))
      assert.equal(#glb, file.bytes)
      local progress = of(list, "progress")
      if #progress > 0 then
        local final = progress[#progress]
        assert.equal("GLB", final.type)
        assert.equal(#glb, final.done)
        assert.equal(#glb, final.total)
      end
      local result = list[#list]
      assert.equal(sub.job_id, result.job_id)
      assert.equal("DONE", result.status)
      assert.same({ { type = "GLB", path = "a-wooden-chair.glb", bytes = #glb } }, result.files)
      -- recorded: the submit before the wait, then its status and files
      local rec = record(jobs_file)[sub.job_id]
      assert.equal("pro", rec.kind)
      assert.equal("gateway", rec.door)
      assert.equal(sb.url, rec.base_url)
      assert.equal("a wooden chair", rec.prompt)
      assert.is_number(rec.submitted_at)
      assert.is_true(math.abs(rec.submitted_at - os.time()) < 60)
      assert.equal("DONE", rec.status)
      assert.same({ cwd .. "/a-wooden-chair.glb" }, rec.files)
    end)

    it("with --text: -o, --format and --extract, status on stderr, saved files on stdout", function()
      local cwd = workdir()
      local code, out, err = hy3d("generate a small stool --text -o out/stool.glb --format glb,obj --extract "
        .. "--interval 0.05", env, cwd)
      assert.equal(0, code, err)
      assert.matches("submitted pro job %d+", err)
      assert.matches("job %d+: %u+ %(%d+%.%d s%)", err)
      assert.matches("job %d+: DONE", err)
      assert.matches("saved out/stool%.glb %(GLB, [%d%.]+ KB%)", out)
      assert.matches("saved out/stool%.zip %(OBJ, [%d%.]+ KB%)", out)
      assert.matches("extracted %d+ files into out/stool_obj/", out)
      assert.equal("glTF", sandbox.read_file(cwd .. "/out/stool.glb"):sub(1, 4))
      assert.equal("PK", sandbox.read_file(cwd .. "/out/stool.zip"):sub(1, 2))
      assert.truthy(sandbox.read_file(cwd .. "/out/stool_obj/model.obj"):find("\nv ", 1, true))
      local id = err:match("submitted pro job (%d+)")
      local rec = record(jobs_file)[id]
      assert.equal("a small stool", rec.prompt)
      assert.equal("stool", rec.name)
      assert.equal("GLB,OBJ", rec.formats)
      assert.same({ cwd .. "/out/stool.glb", cwd .. "/out/stool.zip", cwd .. "/out/stool_obj/" }, rec.files)
    end)

    it("sends the job options and asks for the ResultFormat an extension needs", function()
      local cwd = workdir()
      sb:reset()
      local code, out, err = hy3d("generate x --model 3.0 --faces 40000 --type lowpoly --polygon quadrilateral --pbr "
        .. "-o chair.stl --dir models --interval 0.05", env, cwd)
      assert.equal(0, code, err)
      local body = core.decode(sb:requests("submit")[1].body)
      assert.same({ Prompt = "x", Model = "3.0", FaceCount = 40000, GenerateType = "LowPoly", PolygonType = "quadrilateral",
                    EnablePBR = true, ResultFormat = "STL" }, body)
      local file = of(events(out), "file")[1]
      assert.equal("STL", file.type)
      assert.equal("models/chair.stl", file.path)
      assert.is_true(exists(cwd .. "/models/chair.stl"))
    end)

    it("--quiet leaves out status and progress events", function()
      local code, out, err = hy3d("generate 'a quiet lamp' --quiet --interval 0.05", env, workdir())
      assert.equal(0, code, err)
      assert.equal("submitted file result", names(events(out)))
    end)

    it("--format all downloads every file", function()
      local cwd = workdir()
      local code, out, err = hy3d("generate 'a vase' --format all --interval 0.05", env, cwd)
      assert.equal(0, code, err)
      local types = {}
      for _, f in ipairs(of(events(out), "file")) do types[#types + 1] = f.type end
      table.sort(types)
      assert.same({ "GLB", "OBJ" }, types)
      assert.is_true(exists(cwd .. "/a-vase.glb"))
      assert.is_true(exists(cwd .. "/a-vase.zip"))
    end)

    it("goes through API 3.0 with a SecretId/SecretKey: a rapid job, recorded with its kind", function()
      local cwd = workdir()
      local api3 = { HY3D_ENDPOINT = sb.url, TENCENTCLOUD_SECRET_ID = sandbox.secret_id,
                     TENCENTCLOUD_SECRET_KEY = sandbox.secret_key, HY3D_JOBS_FILE = jobs_file }
      local code, out, err = hy3d("generate 'a red teapot' --kind rapid -o teapot.stl --interval 0.05", api3, cwd)
      assert.equal(0, code, err)
      local list = events(out)
      assert.equal("rapid", list[1].kind)
      local file = of(list, "file")[1]
      assert.equal("STL", file.type)
      assert.equal("teapot.stl", file.path)
      local id = list[1].job_id
      local rec = record(jobs_file)[id]
      assert.equal("rapid", rec.kind)
      assert.equal("api3", rec.door)
      -- status without --kind uses the recorded kind
      code, out, err = hy3d("status " .. id, api3, cwd)
      assert.equal(0, code, err)
      local st = events(out)[1]
      assert.equal("rapid", st.kind)
      assert.equal("DONE", st.status)
      for _, text in ipairs { out, err, sandbox.read_file(jobs_file) } do
        assert.is_nil(text:find(sandbox.secret_key, 1, true))
      end
      -- the gateway offers pro only
      code, out, err = hy3d("generate x --kind rapid", env, cwd)
      assert.equal(3, code)
      assert.matches("%-%-kind rapid needs API 3%.0: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY", err)
      assert.equal("error", events(out)[1].event)
    end)
  end)

  describe("submit, jobs, status, wait, download", function()
    it("take a job from submit to its files, and the record follows", function()
      local cwd = workdir()
      local code, out, err = hy3d("submit 'a red teapot'", env, cwd)
      assert.equal(0, code, err)
      local id = out:match("^(%d+)\n$")
      assert.is_string(id, out)
      local rec = record(jobs_file)[id]
      assert.equal("a red teapot", rec.prompt)

      code, out, err = hy3d("jobs", env, cwd)
      assert.equal(0, code, err)
      assert.matches("^JOBID +KIND +SUBMITTED +STATUS +PROMPT +FILES\n", out)
      assert.matches("\n" .. id .. " +pro +%d%d%d%d%-%d%d%-%d%d %d%d:%d%d +%- +a red teapot +%-\n", out)

      code, out, err = hy3d("status " .. id, env, cwd)
      assert.equal(0, code, err)
      local st = events(out)
      assert.equal(1, #st)
      assert.equal("status", st[1].event)
      assert.equal(id, st[1].job_id)

      code, out, err = hy3d("wait " .. id .. " --interval 0.05", env, cwd)
      assert.equal(0, code, err)
      local list = events(out)
      assert.matches("^status.* result$", names(list))
      local urls = list[#list].files
      assert.equal("GLB", urls[2].type)
      assert.matches("^http://127%.0%.0%.1:%d+/files/" .. id .. "/model%.glb%?", urls[2].url)

      code, out, err = hy3d("status " .. id .. " --text", env, cwd)
      assert.equal(0, code, err)
      assert.matches("^job " .. id .. " %(pro%): DONE\nOBJ\thttp://[^\n]+\nGLB\thttp://[^\n]+\n$", out)

      code, out, err = hy3d("wait " .. id .. " --text", env, cwd)
      assert.equal(0, code, err)
      assert.matches("^OBJ\thttp://[^\n]+\nGLB\thttp://[^\n]+\n$", out)

      code, out, err = hy3d("download " .. id .. " --format obj,glb --interval 0.05", env, cwd)
      assert.equal(0, code, err)
      list = events(out)
      assert.matches("^status [progres ]*file result$", names(list))
      assert.equal(2, #of(list, "file"))
      assert.equal("glTF", sandbox.read_file(cwd .. "/" .. id .. ".glb"):sub(1, 4))
      assert.equal("PK", sandbox.read_file(cwd .. "/" .. id .. ".zip"):sub(1, 2))

      code, out, err = hy3d("jobs --json", env, cwd)
      assert.equal(0, code, err)
      local mine
      for _, e in ipairs(events(out)) do
        assert.equal("job", e.event)
        if e.job_id == id then mine = e end
      end
      assert.equal("DONE", mine.status)
      assert.equal("a red teapot", mine.prompt)
      assert.same({ cwd .. "/" .. id .. ".zip", cwd .. "/" .. id .. ".glb" }, mine.files)

      code, out = hy3d("jobs --json --limit 1", env, cwd)
      assert.equal(0, code)
      assert.equal(1, #events(out))
      code, out = hy3d("jobs --text", env, cwd)
      assert.equal(0, code)
      assert.matches(id .. " +pro .* DONE +a red teapot +" .. cwd:gsub("%p", "%%%0") .. "/" .. id .. "%.zip, ", out)
    end)

    it("Ctrl-C during the download exits 130 and says how to fetch the files", function()
      local cwd = workdir()
      sb:fault { route = "files", action = "stall", after = 1000, stall = 5 }
      local bg = background("generate 'a stalled chair' --interval 0.05", env, cwd)
      local id = bg:await(function(list)
        for _, e in ipairs(list) do
          if e.event == "progress" then return e.job_id end
        end
      end)
      assert.is_string(id, "no progress event: " .. (sandbox.read_file(bg.out) or ""))
      assert.equal(130, bg:interrupt())
      assert.matches("interrupted; job " .. id .. " is DONE: `hy3d download " .. id .. "` fetches its files",
        sandbox.read_file(bg.err))
      local list = events(sandbox.read_file(bg.out))
      assert.equal("interrupted", list[#list].kind)
    end)

    it("submit --json prints the submitted event", function()
      local code, out, err = hy3d("submit x --json", env, workdir())
      assert.equal(0, code, err)
      local list = events(out)
      assert.equal(1, #list)
      assert.equal("submitted", list[1].event)
      assert.matches("^%d+$", list[1].job_id)
    end)

    it("jobs says so when nothing is recorded, and warns about unreadable lines", function()
      local file = dir .. "/empty/jobs.jsonl"
      local code, out, err = hy3d("jobs --text", { HY3D_JOBS_FILE = file })
      assert.equal(0, code)
      assert.equal("", out)
      assert.matches("no jobs recorded in " .. file:gsub("%p", "%%%0"), err)
      local messy = dir .. "/messy.jsonl"
      write(messy, '{"job_id":"7","kind":"pro","prompt":"ok"}\nnot json\n')
      code, out, err = hy3d("jobs --jobs-file " .. q(messy))
      assert.equal(0, code)
      assert.matches("\n7 +pro +%- +%- +ok +%-\n", out)
      assert.matches("warning: .*skipped 1 unreadable line", err)
    end)

    it("jobs never prints the key an older record holds or its path names, even a key given with blanks around it", function()
      -- neither the record's lines nor its path come through the library's redaction: the CLI's own
      -- stdout and stderr must redact them, for the key as given and as the library uses it (trimmed)
      local key = "sk-cli-record-0123456789"
      local folder = dir .. "/" .. key
      assert(os.execute("mkdir -p " .. q(folder)))
      local file = write(folder .. "/jobs.jsonl",
        '{"job_id":"42-' .. key .. '","kind":"pro","prompt":"by ' .. key .. '"}\nnot json\n')
      local code, out, err = hy3d("jobs --text", { HY3D_API_KEY = "  " .. key .. " ", HY3D_JOBS_FILE = file })
      assert.equal(0, code, err)
      assert.matches("\n42%-%[redacted%] +pro +%- +%- +by %[redacted%] +%-\n", out)
      assert.matches("warning: .*/%[redacted%]/jobs%.jsonl: skipped 1 unreadable line", err)
      assert.is_nil(out:find(key, 1, true), out)
      assert.is_nil(err:find(key, 1, true), err)
    end)

    it("download resumes where an interrupted generate left off (Ctrl-C exits 130)", function()
      local cwd = workdir()
      slow:config { wait_time = 1 }
      local bg = background("generate 'a slow chair' --interval 0.05", merge(env, { HY3D_BASE_URL = slow.url }), cwd)
      local id = bg:await(function(list) return list[1] and list[1].job_id end)
      assert.is_string(id, "no submitted event")
      local code = bg:interrupt()
      assert.equal(130, code)
      local err = sandbox.read_file(bg.err)
      assert.matches("interrupted; job " .. id .. " goes on at the service: resume with `hy3d wait " .. id .. "`", err)
      local list = events(sandbox.read_file(bg.out))
      assert.equal("error", list[#list].event)
      assert.equal(130, list[#list].exit)
      assert.equal(id, list[#list].job_id)
      assert.equal("a slow chair", record(jobs_file)[id].prompt)
      -- the names generate meant to use
      local out
      code, out, err = hy3d("download " .. id .. " --interval 0.05", merge(env, { HY3D_BASE_URL = slow.url }), cwd)
      assert.equal(0, code, err)
      assert.equal(cwd .. "/a-slow-chair.glb", of(events(out), "file")[1].path)
      assert.equal("glTF", sandbox.read_file(cwd .. "/a-slow-chair.glb"):sub(1, 4))
      code, out, err = hy3d("download " .. id .. " --format obj", merge(env, { HY3D_BASE_URL = slow.url }), cwd)
      assert.equal(0, code, err)
      assert.equal(cwd .. "/a-slow-chair.zip", of(events(out), "file")[1].path)
      code, out, err = hy3d("download " .. id .. " -o chair.glb", merge(env, { HY3D_BASE_URL = slow.url }), cwd)
      assert.equal(0, code, err)
      assert.equal("chair.glb", of(events(out), "file")[1].path)
      local files = record(jobs_file)[id].files
      assert.same({ cwd .. "/a-slow-chair.glb", cwd .. "/a-slow-chair.zip", cwd .. "/chair.glb" }, files)
      slow:config { wait_time = 30 }
    end)
  end)

  describe("exit codes", function()
    it("3 for a key the service rejects, and the key never shows", function()
      local wrong = "sk-hy3d-wrong-" .. tostring(math.random(1e6, 1e7))
      local cwd = workdir()
      local code, out, err = hy3d("generate x", merge(env, { HY3D_API_KEY = wrong }), cwd)
      assert.equal(3, code)
      local e = events(out)[1]
      assert.equal("error", e.event)
      assert.equal("http", e.kind)
      assert.equal(401, e.http_status)
      assert.equal(3, e.exit)
      assert.matches("check the credentials", err)
      local seen = out .. err
      code, out, err = hy3d("submit x --api-key " .. wrong, merge(env, { HY3D_API_KEY = false }), cwd)
      assert.equal(3, code)
      assert.matches("warning: %-%-api%-key shows the key in the process list", err)
      seen = seen .. out .. err
      code, out, err = hy3d("status 1 --text --api-key=" .. wrong, merge(env, { HY3D_API_KEY = false }), cwd)
      assert.equal(3, code)
      seen = seen .. out .. err
      for _, text in ipairs { seen, sandbox.read_file(jobs_file) or "" } do
        assert.is_nil(text:find(wrong, 1, true))
      end
    end)

    it("3 without credentials, and for a wrong API 3.0 secret", function()
      local code, out, err = hy3d("status 1", { HY3D_JOBS_FILE = jobs_file })
      assert.equal(3, code)
      assert.equal("NO_CREDENTIALS", events(out)[1].code)
      assert.matches("NO_CREDENTIALS", err)
      local bad = "wrongSecretKey0123456789abcdefgh"
      code, out, err = hy3d("generate x --kind rapid", { HY3D_ENDPOINT = sb.url, TENCENTCLOUD_SECRET_ID = sandbox.secret_id,
        TENCENTCLOUD_SECRET_KEY = bad, HY3D_JOBS_FILE = jobs_file })
      assert.equal(3, code)
      assert.matches("^AuthFailure", events(out)[1].code)
      assert.is_nil((out .. err):find(bad, 1, true))
    end)

    it("the API key never appears in any output of a successful run either", function()
      local cwd = workdir()
      local code, out, err = hy3d("generate 'a key test' --text --api-key " .. q(sb.key) .. " --interval 0.05",
        merge(env, { HY3D_API_KEY = false }), cwd)
      assert.equal(0, code, err)
      assert.matches("warning: %-%-api%-key", err)
      for _, text in ipairs { out, err, sandbox.read_file(jobs_file) } do
        assert.is_nil(text:find(sb.key, 1, true))
      end
    end)

    it("4 when nothing listens", function()
      local url = "http://127.0.0.1:" .. sandbox.dead_port()
      local code, out, err = hy3d("submit x --json --retries 0", merge(env, { HY3D_BASE_URL = url }))
      assert.equal(4, code)
      local e = events(out)[1]
      assert.equal("network", e.kind)
      assert.equal(4, e.exit)
      assert.matches("COULDNT_CONNECT", err)
    end)

    it("5 when --timeout passes; the job is recorded and the hint says how to resume", function()
      local code, out, err = hy3d("generate 'a slow lamp' --timeout 0.5 --interval 0.1", merge(env, { HY3D_BASE_URL = slow.url }),
        workdir())
      assert.equal(5, code)
      local list = events(out)
      assert.matches("^submitted status.* error$", names(list))
      local id = list[1].job_id
      local e = list[#list]
      assert.equal("timeout", e.kind)
      assert.equal("WAIT_TIMEOUT", e.code)
      assert.equal(id, e.job_id)
      assert.equal(5, e.exit)
      assert.matches("`hy3d wait " .. id .. "` waits again", err)
      assert.equal("WAIT", record(jobs_file)[id].status)
      code = hy3d("wait " .. id .. " --timeout 0.2 --interval 0.05", merge(env, { HY3D_BASE_URL = slow.url }))
      assert.equal(5, code)
    end)

    it("1 when the job FAILs (generate, wait and status)", function()
      sb:fault { action = "fail", code = "FailedOperation.GenerateFailed", message = "the model would not form" }
      local cwd = workdir()
      local code, out, err = hy3d("generate 'a doomed chair' --interval 0.05", env, cwd)
      assert.equal(1, code)
      local list = events(out)
      local last = list[#list]
      assert.equal("error", last.event)
      assert.equal("job", last.kind)
      assert.equal("FailedOperation.GenerateFailed", last.code)
      assert.equal(1, last.exit)
      assert.equal("FAIL", of(list, "status")[#of(list, "status")].status)
      assert.matches("the model would not form", err)
      local id = list[1].job_id
      assert.equal("FAIL", record(jobs_file)[id].status)
      code, out = hy3d("status " .. id .. " --text", env, cwd)
      assert.equal(1, code)
      assert.matches("^job " .. id .. " %(pro%): FAIL %(FailedOperation%.GenerateFailed: the model would not form%)\n$", out)
      code = hy3d("wait " .. id, env, cwd)
      assert.equal(1, code)
    end)

    it("7 when the files cannot be written; the hint says how to fetch them again", function()
      local cwd = workdir()
      write(cwd .. "/plain", "not a directory")
      assert(os.execute("mkdir " .. q(cwd .. "/chair.glb")))     -- the folder checks pass, the rename fails
      local code, out, err = hy3d("generate 'a homeless chair' -o chair.glb --interval 0.05", env, cwd)
      assert.equal(7, code, err)
      local list = events(out)
      local last = list[#list]
      assert.equal("error", last.event)
      assert.equal("io", last.kind)
      assert.equal(7, last.exit)
      local id = list[1].job_id
      assert.matches("job " .. id .. " is DONE: `hy3d download " .. id .. "` fetches its files again", err)
      code = hy3d("download " .. id .. " -o plain/x.glb", env, cwd)
      assert.equal(7, code)
    end)

    it("6 for a job the service does not know; the hint names where the record says it went", function()
      local code, out, err = hy3d("status 123456789", env)
      assert.equal(6, code)
      local e = events(out)[1]
      assert.equal("api", e.kind)
      assert.equal("FailedOperation.JobNotFound", e.code)
      assert.matches("JobNotFound", err)
      code, out, err = hy3d("submit x", env)
      assert.equal(0, code, err)
      local id = out:match("%d+")
      code, out, err = hy3d("status " .. id, merge(env, { HY3D_BASE_URL = slow.url }))
      assert.equal(6, code)
      assert.equal("FailedOperation.JobNotFound", events(out)[1].code)
      assert.matches("job " .. id .. " was submitted to " .. sb.url:gsub("%p", "%%%0") .. ", not "
        .. slow.url:gsub("%p", "%%%0"), err)
    end)

    it("7 when extracting fails, after reporting and recording the files already saved", function()
      local cwd = workdir()
      write(cwd .. "/part_obj", "a file where the extracted folder should go")
      local code, out, err = hy3d("generate 'a half chair' -o part.glb --format glb,obj --extract --interval 0.05", env, cwd)
      assert.equal(7, code, err)
      local list = events(out)
      assert.matches("file error$", names(list))
      local saved = of(list, "file")
      assert.equal(2, #saved)
      assert.equal("part.glb", saved[1].path)
      assert.equal("part.zip", saved[2].path)
      assert.equal("io", list[#list].kind)
      assert.same({ cwd .. "/part.glb", cwd .. "/part.zip" }, record(jobs_file)[list[1].job_id].files)
    end)

    it("2 for a format the job does not have", function()
      local cwd = workdir()
      local code, out, err = hy3d("submit x", env, cwd)
      assert.equal(0, code, err)
      local id = out:match("%d+")
      code, out, err = hy3d("download " .. id .. " --format fbx --interval 0.05", env, cwd)
      assert.equal(2, code)
      assert.matches("NO_SUCH_FORMAT", err)
      local list = events(out)
      assert.equal("NO_SUCH_FORMAT", list[#list].code)
    end)

    it("a record that cannot be written is a warning, not a failure", function()
      local cwd = workdir()
      write(cwd .. "/plain", "x")
      local code, out, err = hy3d("generate 'an unrecorded chair' --interval 0.05",
        merge(env, { HY3D_JOBS_FILE = cwd .. "/plain/jobs.jsonl" }), cwd)
      assert.equal(0, code, err)
      assert.equal("result", events(out)[#events(out)].event)
      assert.matches("warning: cannot write the job record " .. (cwd .. "/plain/jobs.jsonl"):gsub("%p", "%%%0"), err)
      local _, n = err:gsub("warning", "")
      assert.equal(1, n)                                         -- once per run, not once per line
    end)
  end)

  describe("against a hostile server", function()
    local h = sandbox.suite { wait_time = 0, run_time = 0.05 }
    local henv

    setup(function()
      henv = merge(env, { HY3D_BASE_URL = h.url })
    end)

    -- Runs bin/hy3d under `timeout 60`: a command that would hang ends with 124, and fails the test.
    local function bounded(args, e, cwd)
      local errfile = os.tmpname()
      local _, out, code = sandbox.run(command(args, e, cwd):gsub(" && env ", " && timeout 60 env ", 1) .. " 2>" .. q(errfile))
      local err = sandbox.read_file(errfile) or ""
      os.remove(errfile)
      return code, out, err
    end

    -- Every string in a value (keys included) and in the JSON lines of a text.
    local function strings_in(v, out)
      out = out or {}
      if type(v) == "string" then
        out[#out + 1] = v
      elseif type(v) == "table" then
        for k, x in pairs(v) do
          strings_in(k, out)
          strings_in(x, out)
        end
      end
      return out
    end

    local function decoded_lines(text)
      local list = {}
      for line in text:gmatch("[^\n]+") do
        local ok, v = pcall(core.decode, line)
        if ok then list[#list + 1] = v end
      end
      return list
    end

    local function hostile(route, body, count)
      h:fault { route = route, action = "status", status = 200, content_type = "application/json", count = count,
                body = core.encode { Response = body } }
    end

    it("never writes a secret a server echoes: not stdout, stderr nor the job record", function()
      local token = "sts/token+with/slashes=0123456789"
      local doors = {
        { { HY3D_BASE_URL = h.url, HY3D_API_KEY = sandbox.key }, { sandbox.key } },
        { { HY3D_ENDPOINT = h.url, HY3D_API_KEY = false, TENCENTCLOUD_SECRET_ID = sandbox.secret_id,
            TENCENTCLOUD_SECRET_KEY = sandbox.secret_key, TENCENTCLOUD_SESSION_TOKEN = token },
          { sandbox.secret_key, token } },
      }
      for _, door in ipairs(doors) do
        local cwd = workdir()
        local file = cwd .. "/jobs.jsonl"
        local e = merge(door[1], { HY3D_JOBS_FILE = file })
        local s1, s2 = door[2][1], door[2][2] or door[2][1]
        h:reset()
        hostile("submit", { JobId = "42-" .. s1, RequestId = s2, Echo = { [s1] = { s2 } } })
        hostile("query", { Status = "FAIL", ErrorCode = "FailedOperation." .. s1, RequestId = s2,
                           ErrorMessage = { echo = "refused " .. s2, headers = { Authorization = s1 } } }, -1)
        local texts = {}
        local code, out, err = bounded("generate " .. q("a chair " .. s1) .. " --json --interval 0.05", e, cwd)
        assert.equal(1, code, err)
        texts[#texts + 1], texts[#texts + 2] = out, err
        local id = events(out)[1].job_id
        assert.equal("42-[redacted]", id)
        for _, mode in ipairs { "--text", "--json" } do
          code, out, err = bounded("status " .. q(id) .. " " .. mode, e, cwd)
          assert.equal(1, code, err)
          texts[#texts + 1], texts[#texts + 2] = out, err
        end
        assert.matches("FAIL %(FailedOperation%.%[redacted%]: {", texts[3])
        texts[#texts + 1] = assert(sandbox.read_file(file))
        for _, text in ipairs(texts) do
          assert.is_nil(text:find("table: 0x", 1, true), text)
          local all = strings_in(decoded_lines(text))
          all[#all + 1] = text
          for _, secret in ipairs(door[2]) do
            for _, str in ipairs(all) do assert.is_nil(str:find(secret, 1, true), "a secret in: " .. str) end
          end
        end
      end
    end)

    it("5 when --timeout passes while the files download: a stalled host cannot hold the command", function()
      h:fault { route = "files", action = "stall", after = 100, stall = 600, count = -1 }
      local cwd = workdir()
      local code, out, err = bounded("generate 'a stalled chair' --timeout 8 --interval 0.05", henv, cwd)
      assert.equal(5, code, err)
      local list = events(out)
      assert.equal("DONE", of(list, "status")[#of(list, "status")].status)
      local last = list[#list]
      assert.equal("timeout", last.kind)
      assert.equal("DOWNLOAD_TIMEOUT", last.code)
      assert.equal(5, last.exit)
      local id = list[1].job_id
      assert.equal(id, last.job_id)
      assert.matches("job " .. id .. " is DONE: `hy3d download " .. id .. "` fetches its files", err)
      assert.equal(1, #h:requests("files"), "the deadline ended the first try; nothing was tried after it")
      assert.matches("hy3d timeout error DOWNLOAD_TIMEOUT: the files of job " .. id .. " did not arrive within "
        .. "%-%-timeout 8 s %(job " .. id .. "%)\n", err)
      local _, listing = sandbox.run("ls " .. q(cwd))
      assert.matches("a%-stalled%-chair%.glb%.%x+%.part", listing, 1, false, "the partial file is kept")
      code, out, err = bounded("download " .. id .. " --timeout 3", henv, cwd)
      assert.equal(5, code, err)
      list = events(out)
      assert.equal("DOWNLOAD_TIMEOUT", list[#list].code)
      local files = h:requests("files")
      assert.equal("bytes=100-", files[#files].range, "hy3d download resumed what had arrived")
    end)

    it("4 for a 403 from the file host (the API key is fine: not 3)", function()
      h:fault { route = "files", action = "status", status = 403, count = -1 }
      local cwd = workdir()
      local code, out, err = bounded("generate 'a forbidden chair' --interval 0.05", henv, cwd)
      assert.equal(4, code, err)
      local list = events(out)
      local last = list[#list]
      assert.equal("http", last.kind)
      assert.equal(403, last.http_status)
      assert.equal(4, last.exit)
      code, out, err = bounded("download " .. list[1].job_id, henv, cwd)
      assert.equal(4, code, err)
      assert.equal(403, events(out)[#events(out)].http_status)
    end)

    it("2 for the service's InvalidParameter*, MissingParameter and UnknownParameter; 6 for others", function()
      for code_name, want in pairs { InvalidParameter = 2, ["InvalidParameterValue.Prompt"] = 2, MissingParameter = 2,
                                     UnknownParameter = 2, ["LimitExceeded.Quota"] = 6 } do
        h:fault { route = "submit", action = "api_error", code = code_name, message = "no: " .. code_name }
        local code, out, err = bounded("submit x --json --retries 0", henv)
        assert.equal(want, code, code_name .. ": " .. err)
        local e = events(out)[1]
        assert.equal(code_name, e.code)
        assert.equal(want, e.exit)
      end
    end)
  end)

  describe("on a terminal", function()
    it("draws a live status line with the elapsed time and a download bar", function()
      local probe = sandbox.run("command -v script")
      if not probe then
        pending("script (util-linux) is not installed")
        return
      end
      local cwd = workdir()
      local ok, out = sandbox.run(("script -qefc %s /dev/null"):format(q(command("generate 'a terminal chair' --interval 0.05",
        env, cwd))))
      assert.is_true(ok, out)
      assert.matches("\rjob %d+: %u+  %d+%.%d s\27%[K", out)       -- WAIT and RUN, unless a slow machine misses them
      assert.matches("\rjob %d+: DONE  %d+%.%d s", out)
      assert.matches("\rGLB   %[#+%] 100%%  [%d%.]+ KB / [%d%.]+ KB", out)
      assert.matches("saved a%-terminal%-chair%.glb %(GLB, [%d%.]+ KB%)", out)
      assert.is_nil(out:find('{"', 1, true))                    -- no JSON on a terminal
      assert.is_true(exists(cwd .. "/a-terminal-chair.glb"))
      -- --json still means JSON
      ok, out = sandbox.run(("script -qefc %s /dev/null"):format(q(command("generate 'a json chair' --json --interval 0.05",
        env, cwd))))
      assert.is_true(ok, out)
      assert.matches('^{"', out)
      assert.is_nil(out:find("\27[K", 1, true))
    end)
  end)

  describe("images", function()
    it("--image and --view send the pictures; the file is named after the image", function()
      local cwd = workdir()
      write(cwd .. "/photo.png", images.png(512, 512))
      write(cwd .. "/left.png", images.png(512, 512))
      sb:reset()
      local code, out, err = hy3d("generate --image photo.png --view left=left.png --interval 0.05", env, cwd)
      assert.equal(0, code, err)
      local body = core.decode(sb:requests("submit")[1].body)
      assert.is_string(body.ImageBase64)
      assert.equal(images.png(512, 512), core.base64_decode(body.ImageBase64))
      assert.equal("left", body.MultiViewImages[1].ViewType)
      assert.equal("photo.glb", of(events(out), "file")[1].path)
      code, out, err = hy3d("submit --image https://example.com/chair.png", env, cwd)
      assert.equal(0, code, err)
      assert.matches("^%d+\n$", out)
      local req = sb:requests("submit")
      assert.equal("https://example.com/chair.png", core.decode(req[#req].body).ImageUrl)
      code, out, err = hy3d("generate --image missing.png", env, cwd)
      assert.equal(2, code)
      assert.matches("IMAGE_UNREADABLE", err)
      assert.equal("IMAGE_UNREADABLE", events(out)[1].code)
      write(cwd .. "/notes.txt", "not an image")
      code = hy3d("submit --image notes.txt", env, cwd)
      assert.equal(2, code)
    end)
  end)

  describe("sandbox", function()
    it("runs hy3d-sandbox on Lua 5.3+, and says what to do elsewhere", function()
      local v = tonumber(_VERSION:match("%d+%.%d+"))
      local child = sandbox.lua()
      local newer = not rawget(_G, "jit") and v >= 5.3 and not child:match("jit") and not child:match("5%.[12]")
      if not newer then
        local code, out, err = hy3d("sandbox --port 0")
        assert.equal(2, code)
        assert.equal("", out)
        assert.matches("needs Lua 5%.3 or newer.*hy3d%-sandbox", err)
        return
      end
      local outfile = os.tmpname()
      local run = command("sandbox --port 0 --lifetime 30 --api-key sk-cli-sandbox --wait-time 0 --run-time 0 --rate-limit 0")
      local p = assert(io.popen(("( %s ) > %s 2>&1 & echo $!"):format(run:gsub(" && env ", " && exec env ", 1), q(outfile))))
      local pid = p:read("*l")
      p:close()
      finally(function()
        os.execute("kill " .. pid .. " 2>/dev/null")
        os.remove(outfile)
      end)
      local url
      for _ = 1, 500 do
        url = (sandbox.read_file(outfile) or ""):match("^(http://[%d%.]+:%d+)\n")
        if url then break end
        pause()
      end
      assert.is_string(url, sandbox.read_file(outfile))
      local code, out, err = hy3d("submit x", { HY3D_BASE_URL = url, HY3D_API_KEY = "sk-cli-sandbox",
                                                 HY3D_JOBS_FILE = jobs_file })
      assert.equal(0, code, err)
      assert.matches("^%d+\n$", out)
      code, out = hy3d("sandbox --help")
      assert.equal(0, code)
      assert.matches("usage: hy3d%-sandbox", out)
    end)

    -- The emulator is its own product (the hy3d-sandbox rock): a copy of the checkout without it,
    -- on a module path that cannot find it either, gets one line on how to install it.
    it("says in one line how to install the emulator when hy3d.sandbox is absent (exit 2)", function()
      local tree, root = workdir(), os.getenv("PWD")
      assert(os.execute(("cp -R %s %s %s && rm -rf %s"):format(q(root .. "/bin"), q(root .. "/lua"), q(tree),
        q(tree .. "/lua/hy3d/sandbox"))))
      local path = {}
      for entry in package.path:gmatch("[^;]+") do        -- every entry that would find hy3d.sandbox left out
        local probe = entry:gsub("%?", "hy3d/sandbox")
        if not exists(probe) then path[#path + 1] = entry end
      end
      local cpath = assert(sandbox.lua_env():match("LUA_CPATH=(.*)$"))
      local errfile = tree .. "/err"
      local _, out, code = sandbox.run(("cd %s && env -u LUA_PATH_5_4 -u LUA_PATH_5_3 LUA_PATH=%s LUA_CPATH=%s %s %s "
        .. "sandbox --port 0 2>%s"):format(q(tree), q(table.concat(path, ";")), cpath, sandbox.lua(),
        q(tree .. "/bin/hy3d"), q(errfile)))
      local err = sandbox.read_file(errfile) or ""
      assert.equal(2, code, err)
      assert.equal("", out)
      local v = tonumber(_VERSION:match("%d+%.%d+"))
      if rawget(_G, "jit") or v < 5.3 then
        assert.matches("needs Lua 5%.3 or newer", err)
        return
      end
      assert.matches("^hy3d sandbox: [^\n]*`luarocks %-%-lua%-version=5%.4 install hy3d%-sandbox`[^\n]*"
        .. "sandbox/bin/hy3d%-sandbox[^\n]*\n$", err)
    end)
  end)
end)
