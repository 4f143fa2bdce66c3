--- hy3d.cli.cmd.batch: `hy3d batch FILE`: reads and checks every line of a batch file, then runs the jobs
-- (hy3d.batch) within --concurrency, each JobId in the batch journal and the job record before it is waited for,
-- each job's files in --dir/NAME/; an event per job and a summary (text or JSON lines); exit 1 if any failed.
-- Version-neutral Lua (5.1 to 5.4, LuaJIT).
local core = require "hy3d.core"
local batch = require "hy3d.batch"
local jobs = require "hy3d.jobs"
local files = require "hy3d.files"
local args = require "hy3d.cli.args"
local budget = require "hy3d.cli.budget"
local chain_cmd = require "hy3d.cli.cmd.chain"
local context = require "hy3d.cli.context"
local exit = require "hy3d.cli.exit"
local cli_kinds = require "hy3d.cli.kinds"
local cli_params = require "hy3d.cli.params"
local output = require "hy3d.cli.output"
local shared = require "hy3d.cli.cmd.shared"

local concat = table.concat
local EXIT, usage_error = exit.EXIT, exit.usage_error
local guarded = context.guarded
local round3, human_elapsed = output.round3, output.human_elapsed
local CONNECT_HELP, OUTPUT_HELP = args.CONNECT_HELP, args.OUTPUT_HELP

local USAGE = [[
usage: hy3d batch [options] FILE

Runs one job per line of FILE and saves each job's files in DIR/NAME/. FILE holds one
prompt per line, or one JSON object of API fields per line ({"name":"chair","Prompt":"a
chair","EnablePBR":true}; name is optional), or CSV with a header row name,prompt[,options]
(options: a JSON object; other columns are API fields). Blank lines and # comments are
skipped. Every line is checked first: a bad line is reported with its number and nothing
is submitted. NAME is the line's name, else made from the prompt (letters, digits, - and _;
a short hash is added when the prompt leaves nothing or is cut; a line the journal knows keeps
its NAME; a new line never takes a used one, it gets -2, -3, ...). Each JobId is written to DIR/.hy3d-batch.jsonl (owner-only)
and to the job record before the job is waited for: run the same command again after a
crash or Ctrl-C and it waits for the jobs already submitted (never submitting them twice)
and skips those whose files are all there. Exit 1 if any job failed.

With --then VERB each line's model is followed by that chain (rig, topology, ...): the files
go next to the model as NAME_<kind>.<ext>, each chained JobId in the journal before it is
waited for, so a rerun waits for it rather than submitting it again. With --max-credits the
jobs the journal shows done count against the budget first; a line whose model and chained
steps would pass it (less the chained steps other lines in flight have still to submit) fails
OVER_BUDGET with nothing sent for it; the others go on if they fit, and the exit is 1.
With --cache DIR (HY3D_CACHE_DIR) each line and each chained step identical to an earlier
one comes from the cache: a second run costs no request. --dry-run prints every line's plan
and estimate and a total, and sends nothing.

batch:
  --dir DIR              where the files go, DIR/NAME/ (default .; created if missing)
  --kind KIND            the job family of every line (default pro)
  --format LIST          file types to download, comma-separated (default GLB; "all")
  --concurrency N        jobs at once (default: pro 3, other kinds 1, the service's limits)
  --timeout SECONDS      each job's wait (default 1800) and, when given, each file's download
                         (the job goes on; the next run resumes it or fetches its files)
  --interval SECONDS     seconds between status queries (default 5)
  --extract              unzip zipped results (OBJ) into NAME_obj/
  --no-validate          skip hy3d's local check of the jobs' parameters

]] .. args.CACHE_HELP .. "\n" .. budget.BATCH_HELP .. "\n" .. args.THEN_HELP .. "\n" .. CONNECT_HELP .. "\n"
  .. OUTPUT_HELP

local read_all = files.read_all

-- The report of a dry run: each line's action and estimate (and its chained steps'), the total; exit 0.
local function dry_report(ctx, plan, client)
  local max = select(2, client:credits()).max
  if ctx.json then
    for _, p in ipairs(plan.plans) do
      local steps = {}
      for i, st in ipairs(p.steps) do steps[i] = { kind = st.kind, credits = st.credits } end
      ctx:emit { event = "dry_run", name = p.name, line = p.line, kind = plan.kind, action = p.plan and p.plan.action,
                 door = p.plan and p.plan.door, params = p.plan and budget.shown(p.plan.params, nil, 0),
                 credits = p.credits, steps = #steps > 0 and steps or nil,
                 code = p.error and p.error.code, message = p.error and p.error.message }
    end
    ctx:emit { event = "dry_run_total", total = plan.total, credits = plan.credits, max_credits = max,
               over_budget = max and plan.credits > max or nil }
    return EXIT.ok
  end
  local lines = { "dry run: nothing was submitted" }
  for _, p in ipairs(plan.plans) do
    local chained = {}
    for _, st in ipairs(p.steps) do
      chained[#chained + 1] = ("%s %s"):format(st.kind, st.credits and ("%g"):format(st.credits) or "?")
    end
    lines[#lines + 1] = ("  line %-4d %-24s %s %s%s%s"):format(p.line, p.name, p.plan and tostring(p.plan.action) or "-",
      p.credits and ("%g credits"):format(p.credits) or "estimate unknown",
      #chained > 0 and (" (then " .. concat(chained, ", ") .. ")") or "",
      p.error and ("  " .. tostring(p.error.code) .. ": " .. tostring(p.error.message)) or "")
  end
  lines[#lines + 1] = ("total: %d line%s, %g credits%s"):format(plan.total, plan.total == 1 and "" or "s", plan.credits,
    max and ("; --max-credits %g%s"):format(max, plan.credits > max and " (over: a run would refuse some lines)" or "")
    or "")
  ctx:out(ctx:redact(concat(lines, "\n")) .. "\n")
  return EXIT.ok
end

local function cmd_batch(ctx, o, pos)
  if #pos ~= 1 then return ctx:fail(usage_error("needs one FILE (a prompt or JSON object per line, or CSV)")) end
  local kind = o.kind or "pro"
  local known, kerr = cli_kinds.job_kind(kind)
  if not known then return ctx:fail(kerr) end
  local ok, err = shared.check_wait_options(o)
  if ok then ok, err = args.number_option(o, "concurrency", "--concurrency", 1, true) end
  if ok then ok, err = budget.check(o) end
  if not ok then return ctx:fail(err) end
  if o.cache and o.no_cache then return ctx:fail(usage_error("--cache and --no-cache exclude each other")) end
  local then_kinds
  then_kinds, err = chain_cmd.then_kinds(o.then_list)
  if not then_kinds then return ctx:fail(err) end
  local then_params
  then_params, err = chain_cmd.then_params(o.then_param, then_kinds)
  if not then_params then return ctx:fail(err) end
  local formats
  if o.format then
    formats = cli_params.split_list(o.format)
    if #formats == 0 then return ctx:fail(usage_error("--format needs a list of file types, e.g. glb,obj")) end
    for i, f in ipairs(formats) do
      if not f:match("^[%w_]+$") then return ctx:fail(usage_error("--format: not a file type name")) end
      formats[i] = f:lower() == "all" and "all" or f:upper()
    end
  end
  local text, rerr = read_all(pos[1])
  if not text then return ctx:fail(usage_error("cannot read " .. pos[1] .. ": " .. tostring(rerr))) end
  local items, perr = batch.parse(text)
  if not items then return ctx:fail(usage_error(pos[1] .. ": " .. perr.message)) end
  local dir = o.dir or "."
  if not o.dry_run then                           -- a dry run creates nothing
    ok, err = cli_params.check_dir(dir)
    if not ok then return ctx:fail(err) end
  end
  -- the client queues its submits for a slot (max_concurrent_jobs): a submit the service refuses with
  -- JobNumExceed (another program's jobs hold the account's slots) waits and is tried again
  o.concurrency = o.concurrency or batch.default_concurrency(kind)
  local client
  if #then_kinds > 0 and kind == "pro" then       -- one client runs the models and their steps: the door the steps
    client, err = ctx:connect(o, then_kinds[1], "--then " .. then_kinds[1])   -- need (API 3.0 when both are set)
  else
    client, err = ctx:connect(o, kind, o.kind and ("--kind " .. kind))
  end
  if not client then return ctx:fail(err) end
  if o.dry_run then
    local plan, derr = batch.run(items, { client = client, dir = dir, kind = kind, formats = formats,
                                          ["then"] = then_kinds, then_params = then_params, dry_run = true })
    if not plan then
      if derr and derr.line then return ctx:fail(usage_error(pos[1] .. ": " .. derr.message)) end
      return ctx:fail(derr)
    end
    return dry_report(ctx, plan, client)
  end
  local t0 = core.now()
  local prompts = {}
  for _, it in ipairs(items) do prompts[it.line] = it.params.Prompt end
  local function on_event(e)
    if e.event == "submitted" then
      ctx:remember { job_id = e.job_id, kind = kind, door = client.door, base_url = client.base_url,
                     site = client.site ~= "mainland" and client.site or nil,
                     prompt = jobs.excerpt(prompts[e.line], 80), submitted_at = os.time(),
                     dir = ctx:absolute(dir .. "/" .. e.name), name = e.name,
                     formats = formats and concat(formats, ",") or nil, extract = o.extract }
      if e.journal_error then ctx:warn("cannot write the batch journal: " .. e.journal_error) end
    elseif e.event == "done" then
      local paths = {}
      for _, f in ipairs(e.files or {}) do paths[#paths + 1] = ctx:absolute(f.path) end
      ctx:remember { job_id = e.job_id, status = "DONE", files = paths, credits = e.credits }
    elseif e.event == "cached" and e.job_id then   -- the cached job's files here too; no credits (a hit costs 0,
      local paths = {}                             -- and the job's own credits stay as they were)
      for _, f in ipairs(e.files or {}) do
        paths[#paths + 1] = ctx:absolute(f.path)
        if f.dir then paths[#paths + 1] = ctx:absolute((f.dir:gsub("/+$", "")) .. "/") end
      end
      ctx:remember { job_id = e.job_id, kind = kind, prompt = jobs.excerpt(prompts[e.line], 80), name = e.name,
                     files = paths }
    elseif e.event == "then_submitted" then
      ctx:remember { job_id = e.job_id, kind = e.kind, door = client.door, base_url = client.base_url,
                     site = client.site ~= "mainland" and client.site or nil, from_job = e.from_job,
                     submitted_at = os.time(), dir = ctx:absolute(dir .. "/" .. e.name), name = e.name .. "_" .. e.kind }
      if e.journal_error then ctx:warn("cannot write the batch journal: " .. e.journal_error) end
    elseif e.event == "then_done" and e.job_id and not e.cached then
      local paths = {}
      for _, f in ipairs(e.files or {}) do paths[#paths + 1] = ctx:absolute(f.path) end
      ctx:remember { job_id = e.job_id, status = "DONE", files = paths }
    elseif e.event == "failed" and e.job_id and e.code ~= "OVER_BUDGET" then
      ctx:remember { job_id = e.job_id, status = "FAIL" }
    end
    if ctx.json then
      ctx:emit { event = "batch_job", state = e.event, name = e.name, line = e.line, job_id = e.job_id,
                 code = e.code, message = e.message, credits = e.credits, files = e.files, step = e.step,
                 chain_kind = e.step and e.kind or nil, from_job = e.from_job, cached = e.cached,
                 elapsed = round3(core.now() - t0) }
    elseif not ctx.quiet or e.event == "failed" then
      local what = e.event == "then_done" and ("%s: %d file%s%s"):format(e.kind, #e.files, #e.files == 1 and "" or "s",
          e.cached and ", from the cache" or "")
        or (e.event == "then_submitted" or e.event == "then_resumed") and tostring(e.kind)
        or e.event == "done" and ("%d file%s"):format(#e.files, #e.files == 1 and "" or "s")
        or e.event == "failed" and ("%s: %s"):format(tostring(e.code), tostring(e.message))
        or e.event == "skipped" and "files already there" or e.event == "cached" and "from the cache" or ""
      ctx:out(("%-14s line %-4d %-24s %s  %s\n"):format(e.event, e.line, e.name, e.job_id and ("job " .. e.job_id) or "",
        what))
    end
  end
  local ran, summary, berr = pcall(ctx.drive, ctx, function()
    return batch.run(items, { client = client, dir = dir, kind = kind, formats = formats,
                              concurrency = o.concurrency, interval = o.interval, timeout = o.timeout,
                              download_timeout = o.timeout,
                              extract = o.extract, on_event = guarded(ctx, on_event), ["then"] = then_kinds,
                              then_params = then_params, cache = not o.no_cache })
  end)
  if not ran then
    if not tostring(summary):find("interrupted!", 1, true) then error(summary, 0) end
    local message = ("interrupted; the jobs submitted go on at the service and %s has their JobIds: run the "
      .. "same command again to wait for them and go on"):format(ctx:absolute(dir .. "/" .. batch.JOURNAL))
    if ctx.json then
      local again = { "hy3d", "batch" }
      for _, w in ipairs(ctx.words or {}) do again[#again + 1] = context.shell_word(w) end
      ctx:emit { event = "error", kind = "interrupted", code = "INTERRUPTED", message = message, exit = EXIT.interrupted,
                 recover = concat(again, " ") }
    end
    ctx:err("hy3d: " .. message .. "\n")
    return EXIT.interrupted
  end
  if not summary then
    if berr and berr.line then return ctx:fail(usage_error(pos[1] .. ": " .. berr.message)) end
    return ctx:fail(berr)
  end
  local failed = {}
  for _, j in ipairs(summary.jobs) do
    if j.status == "failed" then failed[#failed + 1] = { name = j.name, line = j.line, job_id = j.job_id, code = j.code } end
  end
  if ctx.json then
    ctx:emit { event = "summary", total = summary.total, done = summary.done, failed = summary.failed,
               skipped = summary.skipped, resumed = summary.resumed, cached = summary.cached or 0, credits = summary.credits,
               chained = summary.chained, chained_credits = summary.chained_credits,
               elapsed = round3(summary.elapsed), failures = #failed > 0 and failed or nil }
  else
    local codes = {}
    for _, f in ipairs(failed) do codes[#codes + 1] = ("%s (line %d) %s"):format(f.name, f.line, tostring(f.code)) end
    ctx:out(("batch: %d done (%d skipped, %d resumed%s), %d failed of %d%s%s in %s\n"):format(summary.done,
      summary.skipped, summary.resumed, summary.cached and (", %d cached"):format(summary.cached) or "",
      summary.failed, summary.total,
      summary.chained and (", %d chained job%s"):format(summary.chained, summary.chained == 1 and "" or "s") or "",
      summary.credits and (", %g credits"):format(summary.credits) or "", human_elapsed(summary.elapsed)))
    if #codes > 0 then ctx:out("failed: " .. concat(codes, ", ") .. "\n") end
  end
  return summary.failed > 0 and EXIT.failed or EXIT.ok
end

return { usage = USAGE, run = cmd_batch }
