--- hy3d.cli.cmd.submit: `hy3d submit`: submits a job, records it and prints its JobId.
-- Version-neutral Lua (5.1 to 5.4, LuaJIT).
local jobs = require "hy3d.jobs"
local args = require "hy3d.cli.args"
local exit = require "hy3d.cli.exit"
local cli_kinds = require "hy3d.cli.kinds"
local cli_params = require "hy3d.cli.params"
local budget = require "hy3d.cli.budget"

local EXIT = exit.EXIT
local job_params = cli_params.job_params
local JOB_HELP, CONNECT_HELP, output_help = args.JOB_HELP, args.CONNECT_HELP, args.output_help

local USAGE = [[
usage: hy3d submit [options] PROMPT...
       hy3d submit [options] --image PATH [PROMPT...]

Submits a job, records it and prints its JobId (alone on a line; with --json, a "submitted"
event). `hy3d wait JOBID` and `hy3d download JOBID` take it from there. --dry-run shows what
would be submitted and its estimate in credits instead.

]] .. JOB_HELP .. "\n" .. budget.HELP .. "\n" .. CONNECT_HELP .. "\n" .. output_help(false)

local function cmd_submit(ctx, o, pos)
  local kind = o.kind or "pro"
  local known, kerr = cli_kinds.job_kind(kind)
  if not known then return ctx:fail(kerr) end
  local ok, berr = budget.check(o)
  if not ok then return ctx:fail(berr) end
  local params, err = job_params(o, pos, kind)
  if not params then return ctx:fail(err) end
  local client
  client, err = ctx:connect(o, kind, o.kind and ("--kind " .. kind))
  if not client then return ctx:fail(err) end
  if o.dry_run then
    local plan, perr = client:submit(params, { kind = kind, dry_run = true })
    if not plan then return ctx:fail(perr) end
    return budget.report(ctx, plan, client)
  end
  local job
  job, err = ctx:drive(function() return client:submit(params, { kind = kind }) end)
  if not job then return ctx:fail(err) end
  ctx:remember { job_id = job.JobId, kind = job.kind, door = client.door, base_url = client.base_url,
                 site = client.site ~= "mainland" and client.site or nil,
                 prompt = jobs.excerpt(params.Prompt, 80), image = o.image and jobs.excerpt(o.image, 80) or nil,
                 submitted_at = os.time() }
  ctx.job_id, ctx.kind = job.JobId, job.kind
  if ctx.json then
    ctx:submitted(job)
  else
    ctx:out(job.JobId .. "\n")
    if ctx.tty_err and not ctx.quiet then
      ctx:err(("submitted %s job %s: `hy3d wait %s` waits for it, `hy3d download %s` fetches its files\n")
        :format(job.kind, job.JobId, job.JobId, job.JobId))
    end
  end
  return EXIT.ok
end

return { usage = USAGE, run = cmd_submit }
