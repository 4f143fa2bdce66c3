--- hy3d.cli.cmd.wait: `hy3d wait`: waits until a job is DONE or FAIL. Version-neutral Lua (5.1 to
-- 5.4, LuaJIT).
local core = require "hy3d.core"
local errors = require "hy3d.error"
local args = require "hy3d.cli.args"
local exit = require "hy3d.cli.exit"
local output = require "hy3d.cli.output"
local shared = require "hy3d.cli.cmd.shared"

local now = core.now
local EXIT = exit.EXIT
local round3 = output.round3
local check_wait_options, job_argument, wait_for, result_urls = shared.check_wait_options, shared.job_argument,
  shared.wait_for, shared.result_urls
local KIND_HELP, CONNECT_HELP, OUTPUT_HELP, wait_help = args.KIND_HELP, args.CONNECT_HELP, args.OUTPUT_HELP,
  args.wait_help

local USAGE = [[
usage: hy3d wait [options] JOBID

Waits until a job is DONE (prints its result files' types and URLs) or FAIL (exit 1).

job:
]] .. KIND_HELP .. "\n" .. wait_help(false) .. "\n" .. CONNECT_HELP .. "\n" .. OUTPUT_HELP

local function cmd_wait(ctx, o, pos)
  local ok, err = check_wait_options(o)
  if not ok then return ctx:fail(err) end
  local id, kind, rec, kind_from = job_argument(ctx, o, pos)
  if not id then return ctx:fail(kind) end
  local client
  client, err = ctx:connect(o, kind, kind_from, rec)
  if not client then return ctx:fail(err) end
  local res
  res, err = wait_for(ctx, client, id, kind, o)
  if not res then return ctx:fail(err) end
  if ctx.json then
    ctx:emit { event = "result", job_id = id, kind = kind, status = "DONE", elapsed = round3(now() - ctx.t0),
               files = result_urls(res) }
  else
    for _, f in ipairs(result_urls(res)) do ctx:out(("%s\t%s\n"):format(errors.text(f.type), errors.text(f.url))) end
  end
  return EXIT.ok
end

return { usage = USAGE, run = cmd_wait }
