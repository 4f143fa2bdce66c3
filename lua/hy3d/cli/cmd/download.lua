--- hy3d.cli.cmd.download: `hy3d download`: waits for a job if need be, then downloads its files
-- where generate would have put them (the job record) unless told otherwise. Version-neutral Lua
-- (5.1 to 5.4, LuaJIT).
local core = require "hy3d.core"
local args = require "hy3d.cli.args"
local context = require "hy3d.cli.context"
local cli_params = require "hy3d.cli.params"
local shared = require "hy3d.cli.cmd.shared"

local now = core.now
local guarded = context.guarded
local save_options, check_dir, split_list = cli_params.save_options, cli_params.check_dir, cli_params.split_list
local check_wait_options, job_argument, wait_for, finish_download = shared.check_wait_options, shared.job_argument,
  shared.wait_for, shared.finish_download
local KIND_HELP, WAIT_HELP, CONNECT_HELP, OUTPUT_HELP, save_help = args.KIND_HELP, args.WAIT_HELP, args.CONNECT_HELP,
  args.OUTPUT_HELP, args.save_help

local USAGE = [[
usage: hy3d download [options] JOBID

Waits for a job if it is not DONE yet, then downloads its files. For a job that `hy3d generate`
submitted, what -o, --dir, --format and --extract do not say is what generate would have used
(its directory, file name, formats and --extract); otherwise the files go to the current
directory, named after the JobId, GLB by default.

job:
]] .. KIND_HELP .. "\n" .. WAIT_HELP .. "\n" .. save_help("waiting for the job") .. "\n" .. CONNECT_HELP .. "\n" .. OUTPUT_HELP

local function cmd_download(ctx, o, pos)
  local ok, err = check_wait_options(o)
  if not ok then return ctx:fail(err) end
  local save
  save, err = save_options(o)
  if not save then return ctx:fail(err) end
  local id, kind, rec, kind_from = job_argument(ctx, o, pos)
  if not id then return ctx:fail(kind) end
  if rec then                                 -- what generate would have written, unless told otherwise
    if type(rec.dir) == "string" and not (o.dir or o.output) then save.dir = rec.dir end
    if type(rec.name) == "string" and not o.output then save.name = rec.name end
    if type(rec.formats) == "string" and not save.formats then save.formats = split_list(rec.formats) end
    if rec.extract == true and save.extract == nil then save.extract = true end
  end
  ok, err = check_dir(save.dir)
  if not ok then return ctx:fail(err) end
  local client
  client, err = ctx:connect(o, kind, kind_from, rec)
  if not client then return ctx:fail(err) end
  ctx:start_clock(o)
  local res
  res, err = wait_for(ctx, client, id, kind, o)
  if not res then return ctx:fail(err) end
  ctx.phase = "download"
  res.JobId = res.JobId or id
  res.kind = res.kind or kind
  local files
  files, err = ctx:drive(function()
    return client:download_files(res, {
      formats = save.formats, dir = save.dir, name = save.name, extract = save.extract,
      timeout = math.max(ctx.deadline - now(), 0.001),
      on_progress = guarded(ctx, function(done, total, ftype) ctx:progressed(done, total, ftype) end),
    })
  end)
  if not files then return ctx:fail_download(ctx:deadline_error(err)) end
  return finish_download(ctx, files, kind, res)
end

return { usage = USAGE, run = cmd_download }
