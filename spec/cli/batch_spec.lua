-- `hy3d batch FILE` run as a user runs it against hy3d-sandbox with its concurrency limit: every line done within
-- the limit, a run killed with SIGKILL resumed without a second submit, failures in the summary and the exit code,
-- bad lines refused before anything is sent, hostile names kept inside --dir.
local core = require "hy3d.core"
local sandbox = require "spec.support.sandbox"
local cli = require "spec.support.cli"

local q, write, exists, read = sandbox.shell_quote, sandbox.write_file, sandbox.exists, sandbox.read_file
local hy3d, events, of = cli.run, cli.events, cli.of

local journal, count = cli.journal, cli.count

local function prompts(n)
  local lines = { "# thirty chairs" }
  for i = 1, n do lines[#lines + 1] = ("a wooden chair, style %d"):format(i) end
  return table.concat(lines, "\n") .. "\n"
end

describe("hy3d batch", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2, concurrency = 3 }
  local dir, env

  setup(function()
    dir = sandbox.tmpdir()
  end)
  before_each(function()
    env = { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key, HY3D_JOBS_FILE = dir .. "/jobs.jsonl" }
  end)
  teardown(function()
    os.execute("rm -rf " .. q(dir))
  end)

  local function submits() return (sb:stats().requests or {}).submit or 0 end

  it("runs 30 lines within the sandbox's limit of 3, every file written, the credits summed", function()
    sb:config { gateway_credits = true }
    local w = cli.workdir(dir)
    write(w .. "/prompts.txt", prompts(30))
    local code, out, err = hy3d("batch prompts.txt --dir out --interval 0.05 --json", env, w)
    assert.equal(0, code, err)
    local list = events(out)
    local summary = of(list, "summary")[1]
    assert.same({ 30, 30, 0 }, { summary.total, summary.done, summary.failed })
    assert.equal(30 * 20, summary.credits)
    for i = 1, 30 do
      local name = ("a_wooden_chair_style_%d"):format(i)
      assert.is_true(exists(("%s/out/%s/%s.glb"):format(w, name, name)), name)
    end
    -- a submit over the limit is refused with JobNumExceed and tried again: each would be one more submit
    local stats = sb:stats()
    assert.equal(30, stats.jobs_created)
    assert.equal(30, stats.requests.submit)
    assert.equal(30, count(list, "state", "submitted"))
    -- the journal is owner-only and holds every JobId
    local _, mode = sandbox.run("stat -c %a " .. q(w .. "/out/.hy3d-batch.jsonl"))
    assert.equal("600", mode:match("%d+"))
    assert.equal(30, count(journal(w .. "/out/.hy3d-batch.jsonl"), "event", "submitted"))
  end)

  it("killed with SIGKILL mid-way and run again: no job submitted twice, every line done", function()
    local w = cli.workdir(dir)
    write(w .. "/prompts.txt", prompts(30))
    local jfile = w .. "/out/.hy3d-batch.jsonl"
    local pidfile = w .. "/pid"
    local inner = "echo $$ > " .. q(pidfile) .. "; exec "
      .. cli.command("batch prompts.txt --dir out --interval 0.05 --json", env, w):gsub("^cd [^&]+&& ", "")
    os.execute(("cd %s && ( sh -c %s > bg.out 2> bg.err ) > /dev/null 2>&1 &"):format(q(w), q(inner)))
    local t0 = os.time()
    repeat                                         -- until the journal shows a second round of submits
      os.execute("sleep 0.02")
    until count(journal(jfile), "event", "submitted") >= 4 or os.time() - t0 > 20
    -- the job clock stops: the jobs in flight stay so, and the run settles with its 3 workers each waiting for
    -- a journaled job (a kill while a submit's answer is on its way loses that JobId: see doc/cli.md)
    sb:freeze()
    repeat
      os.execute("sleep 0.02")
      local j = journal(jfile)
    until count(j, "event", "submitted") - count(j, "event", "done") == 3 and submits() == count(j, "event", "submitted")
      or os.time() - t0 > 20
    local pid = assert(read(pidfile)):match("%d+")
    os.execute("kill -9 " .. pid)
    local before = journal(jfile)
    local submitted = count(before, "event", "submitted")
    assert.is_true(submitted >= 4 and submitted < 30, "submitted before the kill: " .. submitted)
    assert.equal(submitted, submits())           -- the journal knew every JobId the sandbox gave out
    sb:clock { freeze = false }

    local code, out, err = hy3d("batch prompts.txt --dir out --interval 0.05 --json", env, w)
    assert.equal(0, code, err)
    local summary = of(events(out), "summary")[1]
    assert.equal(30, summary.done)
    assert.equal(3, summary.resumed)               -- the jobs in flight at the kill were waited for
    assert.equal(30, submits())
    assert.equal(30, sb:stats().jobs_created)
    -- a third run submits nothing and downloads nothing: every line is skipped
    local files_before = sb:stats().requests.files
    code, out, err = hy3d("batch prompts.txt --dir out --json", env, w)
    assert.equal(0, code, err)
    summary = of(events(out), "summary")[1]
    assert.same({ 30, 30 }, { summary.done, summary.skipped })
    assert.equal(30, submits())
    assert.equal(files_before, sb:stats().requests.files)
  end)

  it("Ctrl-C (SIGINT) exits 130 naming the journal; the next run waits for the jobs in flight", function()
    local w = cli.workdir(dir)
    write(w .. "/prompts.txt", prompts(6))
    local jfile = w .. "/out/.hy3d-batch.jsonl"
    local inner = "echo $$ > pid; exec "
      .. cli.command("batch prompts.txt --dir out --interval 0.05 --json", env, w):gsub("^cd [^&]+&& ", "")
    sb:freeze()                                    -- the first three jobs stay in flight
    os.execute(("cd %s && ( sh -c %s > bg.out 2> bg.err; echo $? > bg.code ) > /dev/null 2>&1 &"):format(q(w), q(inner)))
    local t0 = os.time()
    repeat os.execute("sleep 0.02") until count(journal(jfile), "event", "submitted") == 3 or os.time() - t0 > 20
    os.execute("kill -INT " .. assert(read(w .. "/pid")):match("%d+"))
    local code
    repeat
      os.execute("sleep 0.02")
      code = tonumber((read(w .. "/bg.code") or ""):match("%d+"))
    until code or os.time() - t0 > 20
    assert.equal(130, code)
    assert.matches("run the same command again", read(w .. "/bg.err"), 1, true)
    local stop = of(events(read(w .. "/bg.out")), "error")[1]
    assert.equal("interrupted", stop.kind)
    assert.equal("hy3d batch prompts.txt --dir out --interval 0.05 --json", stop.recover,
                 "the error line says how to go on: the same command")
    sb:clock { freeze = false }
    local out, err
    code, out, err = hy3d("batch prompts.txt --dir out --interval 0.05 --json", env, w)
    assert.equal(0, code, err)
    local summary = of(events(out), "summary")[1]
    assert.same({ 6, 3 }, { summary.done, summary.resumed })
    assert.equal(6, submits())
  end)

  it("a slot another program holds makes a submit wait for it instead of failing", function()
    local other = sb:client()
    assert(other:submit { Prompt = "another program's job" })
    local w = cli.workdir(dir)
    write(w .. "/p.txt", "one\ntwo\nthree\n")
    local code, out, err = hy3d("batch p.txt --dir out --interval 0.05 --json", env, w)
    assert.equal(0, code, err)
    assert.equal(3, of(events(out), "summary")[1].done)
    local stats = sb:stats()
    assert.equal(4, stats.jobs_created)
    assert.is_true(stats.requests.submit > 4, "a submit was refused with JobNumExceed and tried again")
  end)

  it("a job that fails gives exit 1 and its code in the summary; the others are done", function()
    sb:fault { action = "fail", code = "InvalidParameterValue.ImageContent", message = "bad content", count = 1 }
    local w = cli.workdir(dir)
    write(w .. "/p.txt", "a red chair\na blue chair\n")
    local code, out = hy3d("batch p.txt --dir out --concurrency 1 --interval 0.05 --json", env, w)
    assert.equal(1, code)
    local summary = of(events(out), "summary")[1]
    assert.same({ 1, 1 }, { summary.done, summary.failed })
    assert.equal("InvalidParameterValue.ImageContent", summary.failures[1].code)
    assert.equal("a_red_chair", summary.failures[1].name)
    -- text mode says the same in words
    write(w .. "/q.txt", "a green chair\n")
    sb:fault { action = "fail", code = "InvalidParameterValue.ImageContent", count = 1 }
    local text
    code, text = hy3d("batch q.txt --dir out --interval 0.05 --text", env, w)
    assert.equal(1, code)
    assert.matches("0 done %(0 skipped, 0 resumed%), 1 failed of 1", text)
    assert.matches("failed: a_green_chair %(line 1%) InvalidParameterValue.ImageContent", text)
  end)

  it("--timeout bounds each line's download too: a stalled file host fails the line, the batch ends", function()
    sb:fault { route = "files", action = "stall", after = 100, stall = 600, count = 1 }
    local w = cli.workdir(dir)
    write(w .. "/p.txt", "a stalled stool\n")
    local code, out, err = hy3d("batch p.txt --dir out --timeout 4 --interval 0.05 --json", env, w)
    assert.equal(1, code, err)
    local list = events(out)
    local summary = of(list, "summary")[1]
    assert.same({ 1, 0, 1 }, { summary.total, summary.done, summary.failed })
    local failure = summary.failures[1]
    assert.equal("TIMEOUT", failure.code)
    local failed = of(list, "batch_job")[#of(list, "batch_job")]
    assert.same({ "failed", "timeout" }, { failed.state, failed.message:match("timeout") })
    assert.truthy(failure.job_id, "the failed line names its JobId: the next run downloads it, no second submit")
    assert.equal(failure.job_id, failed.job_id)
    assert.equal(1, submits())
    -- the job is DONE and journaled: a run with a working host finishes the line without a second submit
    code, out, err = hy3d("batch p.txt --dir out --timeout 30 --interval 0.05 --json", env, w)
    assert.equal(0, code, err)
    assert.same({ 1, 1 }, { of(events(out), "summary")[1].total, of(events(out), "summary")[1].done })
    assert.equal(1, submits())
    assert.is_true(exists(w .. "/out/a_stalled_stool/a_stalled_stool.glb"))
  end)

  it("a bad line is reported with its number and nothing is submitted", function()
    local w = cli.workdir(dir)
    for _, case in ipairs {
      { "a chair\n\n{\"Prompt\": \"a table\"\n", "line 3" },
      { "a chair\n# fine\n{\"Prompt\": \"a lamp\", \"FaceCount\": 5}\n", "line 3" },
      { "name,prompt,options\nchair,a chair,{\"EnablePBR\":true}\ntable,a table,[1]\n", "line 3" },
      { "# nothing\n\n", "no jobs" },
    } do
      write(w .. "/bad.txt", case[1])
      local code, _, err = hy3d("batch bad.txt --dir out", env, w)
      assert.equal(2, code, err)
      assert.matches(case[2], err, 1, true)
      assert.equal(0, submits())
    end
    local code, _, err = hy3d("batch missing.txt", env, w)
    assert.equal(2, code)
    assert.matches("cannot read missing.txt", err, 1, true)
  end)

  it("--then a kind the door cannot run (rig on the gateway) is refused before any model is paid for", function()
    local w = cli.workdir(dir)
    write(w .. "/list.txt", "a chair\na table\n")
    local before = #sb:requests()
    local code, _, err = hy3d("batch list.txt --then rig --dir out", env, w)
    assert.equal(3, code, err)                      -- credentials: the step needs API 3.0's
    assert.matches("rigging needs API 3%.0", err)
    assert.equal(before, #sb:requests())           -- no submit, no query: nothing at all
  end)

  it("--then rig with both a gateway key and API 3.0 credentials runs on API 3.0: every model rigged", function()
    local w = cli.workdir(dir)
    write(w .. "/list.txt", "a chair\na table\n")
    local both = { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key, HY3D_ENDPOINT = sb.url,
                   TENCENTCLOUD_SECRET_ID = sandbox.secret_id, TENCENTCLOUD_SECRET_KEY = sandbox.secret_key,
                   HY3D_JOBS_FILE = w .. "/jobs.jsonl" }
    local code, _, err = hy3d("batch list.txt --then rig --dir out --interval 0.05", both, w)
    assert.equal(0, code, err)
    assert.is_true(sandbox.exists(w .. "/out/a_chair/a_chair_rigging.fbx"))
    assert.is_true(sandbox.exists(w .. "/out/a_table/a_table_rigging.fbx"))
  end)

  it("CSV columns and JSON lines become the jobs' fields", function()
    local w = cli.workdir(dir)
    write(w .. "/p.csv", 'name,prompt,options,FaceCount\nchair,"a chair, red",{"EnablePBR":true},40000\n'
      .. 'lamp,a lamp,,\n')
    local code, out, err = hy3d("batch p.csv --dir out --interval 0.05 --json", env, w)
    assert.equal(0, code, err)
    assert.equal(2, of(events(out), "summary")[1].done)
    local bodies = {}
    for _, r in ipairs(sb:requests("submit")) do bodies[#bodies + 1] = core.decode(r.body) end
    table.sort(bodies, function(a, b) return a.Prompt < b.Prompt end)
    assert.same({ Prompt = "a chair, red", EnablePBR = true, FaceCount = 40000 }, bodies[1])
    assert.same({ Prompt = "a lamp" }, bodies[2])
    assert.is_true(exists(w .. "/out/chair/chair.glb"))
    assert.is_true(exists(w .. "/out/lamp/lamp.glb"))
  end)

  it("hostile names in the file stay inside --dir, and duplicates get a suffix", function()
    local w = cli.workdir(dir)
    write(w .. "/p.txt", table.concat({
      '{"name":"../../escape","Prompt":"one"}', '{"name":"/etc/passwd","Prompt":"two"}',
      '{"name":"..","Prompt":"three"}', '{"name":"a/../../b","Prompt":"four"}', '{"name":"dup","Prompt":"five"}',
      '{"name":"dup","Prompt":"six"}', '{"name":"\\u0000\\n","Prompt":"seven"}' }, "\n") .. "\n")
    local code, out, err = hy3d("batch p.txt --dir out/inner --interval 0.05 --json", env, w)
    assert.equal(0, code, err)
    local names = {}
    for _, e in ipairs(of(events(out), "batch_job")) do
      if e.state == "done" then names[#names + 1] = e.name end
    end
    table.sort(names)
    assert.same({ "a_b", "dup", "dup-2", "escape", "etc_passwd", "seven", "three" }, names)
    local _, listing = sandbox.run("cd " .. q(w) .. " && find . -type f | sort")
    for path in listing:gmatch("[^\n]+") do
      assert.is_truthy(path == "./p.txt" or path:match("^%./out/inner/"), path)
    end
  end)

  -- Every file under `root` (not the journal) with its bytes.
  local function snapshot(root)
    local _, listing = sandbox.run("cd " .. q(root) .. " && find . -type f ! -name '.hy3d-batch.jsonl' | sort")
    local t = {}
    for path in listing:gmatch("[^\n]+") do t[path] = read(root .. "/" .. path) end
    return t
  end

  local function assert_kept(before, root)
    local after = snapshot(root)
    for path, bytes in pairs(before) do assert.is_true(after[path] == bytes, path .. " was overwritten or removed") end
    local _, newer = sandbox.run("cd " .. q(root) .. " && find . -type f -newer ../marker ! -name '.hy3d-batch.jsonl'")
    for path in newer:gmatch("[^\n]+") do
      assert.is_nil(before[path], path .. " was written again")
    end
  end

  it("two long prompts sharing 48 chars: deleting line 1 submits nothing and overwrites nothing", function()
    local w = cli.workdir(dir)
    local stem = "an ornate carved wooden dining chair with tall back"
    write(w .. "/p.txt", stem .. ", version one\n" .. stem .. ", version two\n")
    local code, out, err = hy3d("batch p.txt --dir out --interval 0.05 --json", env, w)
    assert.equal(0, code, err)
    local names = {}
    for _, e in ipairs(of(events(out), "batch_job")) do
      if e.state == "done" then names[e.line] = e.name end
    end
    assert.are_not.equal(names[1], names[2])
    local before = snapshot(w .. "/out")
    write(w .. "/marker", "")
    write(w .. "/p.txt", stem .. ", version two\n")
    local n = submits()
    code, out, err = hy3d("batch p.txt --dir out --interval 0.05 --json", env, w)
    assert.equal(0, code, err)
    assert.equal(n, submits())
    local job = of(events(out), "batch_job")[1]
    assert.same({ "skipped", names[2] }, { job.state, job.name })
    assert_kept(before, w .. "/out")
  end)

  it("non-Latin prompts: a line added at the top is the only submit and takes no other line's folder", function()
    local w = cli.workdir(dir)
    write(w .. "/p.txt", "一把木椅子\n一个红色茶壶\n")
    local code, out, err = hy3d("batch p.txt --dir out --interval 0.05 --json", env, w)
    assert.equal(0, code, err)
    local first = {}
    for _, e in ipairs(of(events(out), "batch_job")) do
      if e.state == "done" then first[e.name] = true end
    end
    local before = snapshot(w .. "/out")
    write(w .. "/marker", "")
    write(w .. "/p.txt", "一只小狗\n一把木椅子\n一个红色茶壶\n")
    local n = submits()
    code, out, err = hy3d("batch p.txt --dir out --interval 0.05 --json", env, w)
    assert.equal(0, code, err)
    assert.equal(n + 1, submits())
    local states = {}
    for _, e in ipairs(of(events(out), "batch_job")) do
      if e.line == 1 and e.state == "done" then assert.is_nil(first[e.name], e.name) end
      if e.line > 1 then states[#states + 1] = e.state end
    end
    assert.same({ "skipped", "skipped" }, states)
    assert_kept(before, w .. "/out")
  end)

  it("a batch from --cache is in the job record: hy3d gallery on its folder shows every model", function()
    local w = cli.workdir(dir)
    write(w .. "/p.txt", "a red teapot\na green lamp\na blue vase\n")
    local code, out, err = hy3d("batch p.txt --dir c1 --format glb,preview --cache C --interval 0.05 --json", env, w)
    assert.equal(0, code, err)
    assert.equal(0, of(events(out), "summary")[1].cached)
    local n = submits()
    code, out, err = hy3d("batch p.txt --dir c2 --format glb,preview --cache C --interval 0.05 --json", env, w)
    assert.equal(0, code, err)
    assert.equal(n, submits())
    assert.equal(3, of(events(out), "summary")[1].cached)
    for _, e in ipairs(of(events(out), "batch_job")) do
      assert.equal("cached", e.state)
      assert.is_string(e.job_id)
    end
    -- the hits are recorded with their files and no credits: the original job's credits stand
    local hits = 0
    for _, rec in ipairs(journal(dir .. "/jobs.jsonl")) do
      if type(rec.files) == "table" and tostring(rec.files[1]):find(w .. "/c2/", 1, true) then
        hits = hits + 1
        assert.is_nil(rec.credits)
      end
    end
    assert.equal(3, hits)
    code, out, err = hy3d("gallery c2 --json --viewer none", env, w)
    assert.equal(0, code, err)
    assert.equal(3, of(events(out), "gallery")[1].models)
    code, out, err = hy3d("gallery c1 --json --viewer none", env, w)
    assert.equal(0, code, err)
    assert.equal(3, of(events(out), "gallery")[1].models)
  end)
end)
