-- The issue's "Done when" pipeline run as a user runs it against hy3d-sandbox: `hy3d batch prompts.txt --then rig
-- --max-credits N --cache C --dir out`, killed with SIGKILL and run again (no job submitted twice, every model and
-- its rigged FBX saved, `hy3d gallery out` showing each model with its rig), a second run with a fresh --dir
-- costing zero requests, a budget too low refusing lines with nothing sent for them, and --dry-run.
local hy3d_lib = require "hy3d"
local sandbox = require "spec.support.sandbox"
local cli = require "spec.support.cli"

local q, write, exists, read = sandbox.shell_quote, sandbox.write_file, sandbox.exists, sandbox.read_file
local hy3d, events, of = cli.run, cli.events, cli.of

local LINES = 6

local journal, count = cli.journal, cli.count

local function prompts()
  local lines = { "# the pipeline's props" }
  for i = 1, LINES do lines[#lines + 1] = ("a game prop, number %d"):format(i) end
  return table.concat(lines, "\n") .. "\n"
end

local function name(i) return ("a_game_prop_number_%d"):format(i) end

-- What one line costs by hy3d's estimate: its Pro model and its rigging.
local function line_cost()
  local model = assert(hy3d_lib.estimate({ Prompt = "x" }, { kind = "pro", door = "api3" }))
  local rig = assert(hy3d_lib.estimate({}, { kind = "rigging", door = "api3" }))
  return model + rig, model, rig
end

describe("hy3d batch --then rig --max-credits --cache (the pipeline)", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2, extra = { "--all-credits" } }
  local root, env

  setup(function()
    root = sandbox.tmpdir()
  end)
  before_each(function()
    env = { HY3D_ENDPOINT = sb.url, TENCENTCLOUD_SECRET_ID = sandbox.secret_id,
            TENCENTCLOUD_SECRET_KEY = sandbox.secret_key, HY3D_JOBS_FILE = root .. "/jobs.jsonl" }
  end)
  teardown(function()
    os.execute("rm -rf " .. q(root))
  end)

  local function stat(action) return (sb:stats().requests or {})[action] or 0 end
  local function all_requests()
    local n = 0
    for _, v in pairs(sb:stats().requests or {}) do n = n + v end
    return n
  end

  it("killed with SIGKILL and run again: nothing submitted twice, every model rigged; a second run costs nothing",
    function()
    local per_line = line_cost()
    local budget = per_line * LINES
    local w = cli.workdir(root)
    write(w .. "/prompts.txt", prompts())
    local args = ("batch prompts.txt --then rig --max-credits %d --cache cache --dir out --interval 0.05 --json")
      :format(budget)
    local jfile, pidfile = w .. "/out/.hy3d-batch.jsonl", w .. "/pid"
    local inner = "echo $$ > " .. q(pidfile) .. "; exec " .. cli.command(args, env, w):gsub("^cd [^&]+&& ", "")
    os.execute(("cd %s && ( sh -c %s > bg.out 2> bg.err ) > /dev/null 2>&1 &"):format(q(w), q(inner)))
    local t0 = os.time()
    local function journaled()
      local j = journal(jfile)
      return count(j, "event", "submitted") + count(j, "event", "then_submitted"), j
    end
    repeat                                         -- until the journal shows models and a chained job
      os.execute("sleep 0.05")
      local _, j = journaled()
    until (count(j, "event", "submitted") >= 2 and count(j, "event", "then_submitted") >= 1) or os.time() - t0 > 30
    -- the job clock stops; the run settles with every job the sandbox made in the journal (a kill while a
    -- submit's answer is on its way would lose that JobId: see doc/cli.md)
    sb:freeze()
    local steady = 0
    repeat
      os.execute("sleep 0.1")
      local n = journaled()
      if n == sb:stats().jobs_created then steady = steady + 1 else steady = 0 end
    until steady >= 3 or os.time() - t0 > 30
    os.execute("kill -9 " .. assert(read(pidfile)):match("%d+"))
    local n_before, at_kill = journaled()
    local chained_open = count(at_kill, "event", "then_submitted") - count(at_kill, "event", "then_done")
    assert.equal(n_before, sb:stats().jobs_created)
    assert.is_true(n_before < 2 * LINES, "the run was killed before the end: " .. n_before)
    sb:clock { freeze = false }

    local code, out, err = hy3d(args, env, w)
    assert.equal(0, code, err)
    local summary = of(events(out), "summary")[1]
    assert.same({ LINES, LINES, 0 }, { summary.total, summary.done, summary.failed })
    assert.equal(LINES, summary.chained)
    -- a chained job in flight at the kill was waited for, not submitted again
    assert.equal(chained_open, count(events(out), "state", "then_resumed"))
    assert.is_true(summary.resumed >= 1, "the jobs in flight at the kill were waited for")
    -- no job made twice: six models, six rigs, and every Pro submit accepted once
    assert.equal(2 * LINES, sb:stats().jobs_created)
    assert.equal(LINES, stat("SubmitHunyuanTo3DProJob"))
    for i = 1, LINES do
      assert.is_true(exists(("%s/out/%s/%s.glb"):format(w, name(i), name(i))), name(i))
      assert.is_true(exists(("%s/out/%s/%s_rigging.fbx"):format(w, name(i), name(i))), name(i) .. " rigged")
    end
    -- every chained job was journaled with the model it worked on
    local j, rig_ids = journal(jfile), {}
    for _, e in ipairs(j) do
      if e.event == "then_submitted" then
        assert.is_string(e.from_job)
        assert.is_nil(rig_ids[e.job_id])
        rig_ids[e.job_id] = true
      end
    end
    assert.equal(LINES, count(j, "event", "then_submitted"))
    local _, mode = sandbox.run("stat -c %a " .. q(jfile))
    assert.equal("600", mode:match("%d+"))

    -- `hy3d gallery out`: one card per model, its rig listed on it; nothing sent
    local sent = all_requests()
    code, out, err = hy3d("gallery out --json", env, w)
    assert.equal(0, code, err)
    assert.equal(LINES, of(events(out), "gallery")[1].models)
    local page, cards = assert(read(w .. "/out/index.html")), 0
    for card in page:gmatch("<article.-</article>") do
      cards = cards + 1
      assert.truthy(card:find("_rigging.fbx</a> FBX", 1, true), card)
    end
    assert.equal(LINES, cards)
    assert.equal(sent, all_requests())

    -- the same batch in a fresh --dir with the same cache: zero requests, every file there
    local before = all_requests()
    code, out, err = hy3d(args:gsub("%-%-dir out", "--dir again"), env, w)
    assert.equal(0, code, err)
    summary = of(events(out), "summary")[1]
    assert.same({ LINES, LINES, LINES }, { summary.done, summary.cached, summary.chained })
    assert.equal(0, summary.credits or 0)
    assert.equal(before, all_requests())
    for i = 1, LINES do
      assert.is_true(exists(("%s/again/%s/%s.glb"):format(w, name(i), name(i))), name(i))
      assert.is_true(exists(("%s/again/%s/%s_rigging.fbx"):format(w, name(i), name(i))), name(i) .. " rigged")
    end
  end)

  it("--max-credits for one line: the others fail OVER_BUDGET with nothing sent for them", function()
    local per_line = line_cost()
    local w = cli.workdir(root)
    write(w .. "/prompts.txt", prompts())
    local pro0, created0 = stat("SubmitHunyuanTo3DProJob"), sb:stats().jobs_created
    local code, out, err = hy3d(("batch prompts.txt --then rig --max-credits %d --concurrency 1 --dir out "
      .. "--interval 0.05 --json"):format(per_line), env, w)
    assert.equal(1, code, err)
    local list = events(out)
    local summary = of(list, "summary")[1]
    assert.same({ 1, LINES - 1 }, { summary.done, summary.failed })
    for _, f in ipairs(summary.failures) do assert.equal("OVER_BUDGET", f.code) end
    assert.equal(per_line, summary.credits)
    assert.equal(1, stat("SubmitHunyuanTo3DProJob") - pro0)
    assert.equal(2, sb:stats().jobs_created - created0)   -- the one line's model and its rig

    -- run again with the same budget: the journal's spent credits count, so nothing more is sent
    local before = sb:stats().jobs_created
    code, out = hy3d(("batch prompts.txt --then rig --max-credits %d --concurrency 1 --dir out --interval 0.05 --json")
      :format(per_line), env, w)
    assert.equal(1, code)
    summary = of(events(out), "summary")[1]
    assert.same({ 1, 1, LINES - 1 }, { summary.done, summary.skipped, summary.failed })
    assert.equal(before, sb:stats().jobs_created)
  end)

  it("--max-credits with --concurrency 3: a line starts only if its steps fit beside the others' pending steps", function()
    local per_line, model = line_cost()
    local w = cli.workdir(root)
    write(w .. "/prompts.txt", prompts())
    local created0 = sb:stats().jobs_created
    local max = per_line + model                  -- room for one whole line and a second line's model only
    local code, out, err = hy3d(("batch prompts.txt --then rig --max-credits %d --concurrency 3 --dir out "
      .. "--interval 0.05 --json"):format(max), env, w)
    assert.equal(1, code, err)
    local summary = of(events(out), "summary")[1]
    assert.same({ 1, LINES - 1 }, { summary.done, summary.failed })
    for _, f in ipairs(summary.failures) do assert.equal("OVER_BUDGET", f.code) end
    for _, e in ipairs(of(events(out), "failed")) do assert.is_nil(e.job_id) end   -- nothing sent for them
    assert.equal(2, sb:stats().jobs_created - created0)   -- one model and its rig: no model left without its rig
    assert.is_true(summary.credits <= max)
  end)

  it("generate --then rig --cache: a second run (a fresh --dir) costs zero requests, the rig from the cache too", function()
    local w = cli.workdir(root)
    local args = "generate --json --interval 0.05 --cache cache --dir %s --then rig a knight"
    local code, _, err = hy3d(args:format("one"), env, w)
    assert.equal(0, code, err)
    assert.is_true(exists(w .. "/one/a-knight_rigging.fbx"))
    local before = all_requests()
    local out
    code, out, err = hy3d(args:format("two"), env, w)
    assert.equal(0, code, err)
    assert.equal(before, all_requests())
    assert.is_true(exists(w .. "/two/a-knight.glb"))
    assert.is_true(exists(w .. "/two/a-knight_rigging.fbx"))
    assert.equal(read(w .. "/one/a-knight_rigging.fbx"), read(w .. "/two/a-knight_rigging.fbx"))
    assert.is_true(#of(events(out), "result") >= 1)
  end)

  it("--dry-run: every line's plan and estimate with its chained step, a total, nothing sent", function()
    local per_line, model, rig = line_cost()
    local w = cli.workdir(root)
    write(w .. "/prompts.txt", prompts())
    local before = all_requests()
    local code, out, err = hy3d("batch prompts.txt --then rig --dry-run --dir out --json", env, w)
    assert.equal(0, code, err)
    local list = events(out)
    local plans = of(list, "dry_run")
    assert.equal(LINES, #plans)
    assert.equal("SubmitHunyuanTo3DProJob", plans[1].action)
    assert.equal(per_line, plans[1].credits)
    assert.same({ { kind = "rigging", credits = rig } }, plans[1].steps)
    assert.equal(model + rig, plans[LINES].credits)
    assert.equal(per_line * LINES, of(list, "dry_run_total")[1].credits)
    assert.equal(before, all_requests())
    assert.is_false(exists(w .. "/out"))
    local c2, text = hy3d("batch prompts.txt --then rig --dry-run --text", env, w)
    assert.equal(0, c2)
    assert.matches("total: 6 lines, " .. per_line * LINES .. " credits", text)
  end)
end)
