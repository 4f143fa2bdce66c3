--- hy3d.cli.cmd.status: `hy3d status`: queries a job once. Version-neutral Lua (5.1 to 5.4,
-- LuaJIT).
local core = require "hy3d.core"
local errors = require "hy3d.error"
local args = require "hy3d.cli.args"
local exit = require "hy3d.cli.exit"
local output = require "hy3d.cli.output"
local shared = require "hy3d.cli.cmd.shared"

local now = core.now
local EXIT = exit.EXIT
local round3 = output.round3
local job_argument, result_urls = shared.job_argument, shared.result_urls
local KIND_HELP, CONNECT_HELP, OUTPUT_HELP = args.KIND_HELP, args.CONNECT_HELP, args.OUTPUT_HELP

local USAGE = [[
usage: hy3d status [options] JOBID

Queries a job once and prints its status and result files. Exits 1 when the job FAILed.

job:
]] .. KIND_HELP .. "\n" .. CONNECT_HELP .. "\n" .. OUTPUT_HELP

local function cmd_status(ctx, o, pos)
  local id, kind, rec, kind_from = job_argument(ctx, o, pos)
  if not id then return ctx:fail(kind) end
  local client, err = ctx:connect(o, kind, kind_from, rec)
  if not client then return ctx:fail(err) end
  ctx.t0 = now()
  local res
  res, err = ctx:drive(function() return client:query(id, { kind = kind }) end)
  if not res then return ctx:fail(err) end
  local status = type(res.Status) == "string" and res.Status:upper() or errors.text(res.Status)
  ctx:remember { job_id = id, kind = kind, status = status }
  local failed = status == "FAIL"
  if ctx.json then
    ctx:emit { event = "status", job_id = id, kind = kind, status = status, elapsed = round3(now() - ctx.t0),
               error_code = failed and errors.text(res.ErrorCode) or nil,
               error_message = failed and errors.text(res.ErrorMessage) or nil,
               files = #result_urls(res) > 0 and result_urls(res) or nil }
  else
    local line = ("job %s (%s): %s"):format(id, kind, status)
    if failed then line = line .. (" (%s: %s)"):format(errors.text(res.ErrorCode), errors.text(res.ErrorMessage)) end
    ctx:out(line .. "\n")
    for _, f in ipairs(result_urls(res)) do ctx:out(("%s\t%s\n"):format(errors.text(f.type), errors.text(f.url))) end
  end
  return failed and EXIT.failed or EXIT.ok
end

return { usage = USAGE, run = cmd_status }
