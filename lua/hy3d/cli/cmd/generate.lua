--- hy3d.cli.cmd.generate: `hy3d generate`: checks the options and the output folder, submits a job
-- (recorded before it waits), shows its status, downloads its files. Version-neutral Lua (5.1 to
-- 5.4, LuaJIT).
local core = require "hy3d.core"
local jobs = require "hy3d.jobs"
local args = require "hy3d.cli.args"
local exit = require "hy3d.cli.exit"
local context = require "hy3d.cli.context"
local cli_kinds = require "hy3d.cli.kinds"
local cli_params = require "hy3d.cli.params"
local shared = require "hy3d.cli.cmd.shared"
local budget = require "hy3d.cli.budget"
local chain = require "hy3d.chain"
local credits = require "hy3d.credits"
local chain_cmd = require "hy3d.cli.cmd.chain"

local concat = table.concat
local now = core.now
local guarded = context.guarded
local usage_error = exit.usage_error
local job_params, save_options, reconcile = cli_params.job_params, cli_params.save_options, cli_params.reconcile
local check_dir = cli_params.check_dir
local slug, image_name = cli_params.slug, cli_params.image_name
local check_wait_options, finish_download = shared.check_wait_options, shared.finish_download
local JOB_HELP, WAIT_HELP, SAVE_HELP, CONNECT_HELP, OUTPUT_HELP = args.JOB_HELP, args.WAIT_HELP, args.SAVE_HELP,
  args.CONNECT_HELP, args.OUTPUT_HELP
local cache_report = require("hy3d.cli.cmd.cache").report
local THEN_HELP = args.THEN_HELP

local USAGE = [[
usage: hy3d generate [options] PROMPT...
       hy3d generate [options] --image PATH [PROMPT...]

Submits a job, shows its status while it runs, then downloads its files. The JobId is
recorded before waiting: after Ctrl-C or a timeout, `hy3d download JOBID` picks up.
Without -o the files are named after the prompt (or the image file or URL), else after the
JobId. With --cache DIR (or HY3D_CACHE_DIR) a request identical to an earlier one is answered
from the cache: the same files, no request, no credits. The output folder is checked before
the submit: nothing is billed for files that could not be saved. --dry-run shows what would be
submitted and its estimate in credits instead. With --then, --max-credits covers the model
and its steps together (all refused before anything is sent), and --dry-run lists each step's
estimate and the total.

]] .. JOB_HELP .. "\n" .. WAIT_HELP .. "\n" .. SAVE_HELP .. "\n" .. args.CACHE_HELP .. "\n" .. budget.HELP .. "\n"
  .. THEN_HELP .. "\n" .. CONNECT_HELP .. "\n"
  .. OUTPUT_HELP

local function cmd_generate(ctx, o, pos)
  local kind = o.kind or "pro"
  local known, kerr = cli_kinds.job_kind(kind)
  if not known then return ctx:fail(kerr) end
  local ok, err = check_wait_options(o)
  if ok then ok, err = budget.check(o) end
  if not ok then return ctx:fail(err) end
  if o.cache and o.no_cache then return ctx:fail(usage_error("--cache and --no-cache exclude each other")) end
  local save
  save, err = save_options(o)
  if not save then return ctx:fail(err) end
  local then_kinds
  then_kinds, err = chain_cmd.then_kinds(o.then_list)
  if not then_kinds then return ctx:fail(err) end
  local then_params
  then_params, err = chain_cmd.then_params(o.then_param, then_kinds)
  if not then_params then return ctx:fail(err) end
  local params
  params, err = job_params(o, pos, kind)
  if not params then return ctx:fail(err) end
  ok, err = reconcile(params, save, kind)
  if not ok then return ctx:fail(err) end
  if not save.name then save.name = slug(params.Prompt) or (o.image and image_name(o.image)) or nil end
  if not o.dry_run then                           -- a dry run creates nothing
    ok, err = check_dir(save.dir)
    if not ok then return ctx:fail(err) end
  end
  local client
  client, err = ctx:connect(o, kind, o.kind and ("--kind " .. kind))
  if not client then return ctx:fail(err) end
  local steps                                     -- --then: each step's estimate, checked with the model's
  if #then_kinds > 0 then                         -- a --then step no door here can run: refused before the model is paid for
    local steps_client, cerr = ctx:connect(o, then_kinds[1], "--then " .. then_kinds[1])   -- the client the steps use
    if not steps_client then return ctx:fail(cerr) end
    steps = {}
    for i, tk in ipairs(then_kinds) do
      local offered, oerr = chain.offered(steps_client, tk)
      if not offered then return ctx:fail(oerr) end
      steps[i] = { kind = tk, credits = (credits.estimate(then_params[tk] or {}, { kind = tk, door = steps_client.door })) }
    end
    local fine, perr = chain.precheck(steps_client, then_kinds, then_params, kind, params)   -- a step's params and input
    if not fine then return ctx:fail(perr) end
  end
  if o.dry_run or steps then
    local plan, perr = client:generate(params, { kind = kind, formats = save.formats, dry_run = true })
    if not plan then return ctx:fail(perr) end
    local total = plan.credits
    for _, st in ipairs(steps or {}) do total = total and st.credits and total + st.credits end
    local left = select(2, client:credits()).left
    if steps and left and total and total > left then   -- the model and its steps must fit: nothing is sent otherwise
      return ctx:fail(client:_error { kind = "invalid", code = "OVER_BUDGET",
        message = ("the model and its --then steps would cost %g credits, over --max-credits %g (%g left): "
          .. "nothing was sent"):format(total, select(2, client:credits()).max, left) })
    end
    if o.dry_run then return budget.report(ctx, plan, client, steps, total) end
  end
  ctx.t0 = now()
  ctx:start_clock(o)
  local res, gerr = ctx:drive(function()
    return client:generate(params, {
      kind = kind, formats = save.formats, dir = save.dir, name = save.name, extract = save.extract,
      interval = o.interval, timeout = o.timeout, download_timeout = ctx.limit, cache = not o.no_cache,
      on_submit = guarded(ctx, function(job)
        ctx.t0 = now()
        ctx:remember { job_id = job.JobId, kind = job.kind, door = client.door, base_url = client.base_url,
                       site = client.site ~= "mainland" and client.site or nil,
                       prompt = jobs.excerpt(params.Prompt, 80), image = o.image and jobs.excerpt(o.image, 80) or nil,
                       submitted_at = os.time(), dir = ctx:absolute(save.dir or "."), name = save.name,
                       formats = concat(save.formats, ","), extract = save.extract,
                       face_count = tonumber(params.FaceCount) }
        ctx:submitted(job)
      end),
      on_status = guarded(ctx, function(r)
        ctx:status_changed(r)
        if ctx.status == "DONE" then ctx.phase = "download" end
      end),
      on_progress = guarded(ctx, function(done, total, ftype)
        ctx.phase = "download"
        ctx:progressed(done, total, ftype)
      end),
    })
  end)
  if not res then return ctx:fail_download(ctx:deadline_error(gerr)) end
  ctx.job_id = ctx.job_id or (res.job and res.job.JobId)
  cache_report(ctx, res)
  local code = finish_download(ctx, res.files or {}, kind, res.result)
  if #then_kinds == 0 then return code end
  return chain_cmd.then_steps(ctx, o, then_kinds, res.result, save, res.key, then_params)   -- --then: rig, topology, ...
end

return { usage = USAGE, run = cmd_generate }
