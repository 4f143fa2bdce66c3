--- hy3d.cli.cmd.jobs: `hy3d jobs`: lists the local job record (hy3d.jobs) as a table or JSON lines.
-- Version-neutral Lua (5.1 to 5.4, LuaJIT).
local errors = require "hy3d.error"
local jobs = require "hy3d.jobs"
local args = require "hy3d.cli.args"
local exit = require "hy3d.cli.exit"
local output = require "hy3d.cli.output"

local floor = math.floor
local concat = table.concat
local EXIT, usage_error = exit.EXIT, exit.usage_error
local number_option, output_help = args.number_option, args.output_help

local USAGE = [[
usage: hy3d jobs [options]

Lists the local record of jobs (oldest first): JobId, kind, when it was submitted, last known
status, the prompt's start and the downloaded files.

  --limit N              only the last N jobs (0: none)
]] .. "\n" .. output_help(false)

local function cmd_jobs(ctx, o, pos)
  if #pos > 0 then return ctx:fail(usage_error("takes no arguments")) end
  local ok, err = number_option(o, "limit", "--limit", 0, true)
  if not ok then return ctx:fail(err) end
  local rec = ctx:record()
  if not rec then return ctx:fail(errors.new { kind = "io", code = "NO_RECORD", message = tostring(ctx.rec_error) }) end
  local list, skipped = rec:read()
  if not list then
    return ctx:fail(errors.new { kind = "io", code = "RECORD_UNREADABLE",
      message = ("cannot read %s: %s"):format(rec.path, (errors.text(skipped):gsub("^" .. rec.path:gsub("%p", "%%%0")
        .. ": ", ""))) })
  end
  if skipped > 0 then ctx:warn(("%s: skipped %d unreadable line%s"):format(rec.path, skipped, skipped == 1 and "" or "s")) end
  local first = 1
  if o.limit == 0 then return EXIT.ok end                  -- the last 0 jobs: none
  if o.limit and #list > o.limit then first = #list - o.limit + 1 end
  if ctx.json then
    for i = first, #list do
      local r = list[i]
      local e = { event = "job" }
      for k, v in pairs(r) do e[k] = v end
      if #r.files == 0 then e.files = nil end
      ctx:emit(e)
    end
    return EXIT.ok
  end
  if #list == 0 then
    ctx:note("no jobs recorded in " .. rec.path)
    return EXIT.ok
  end
  local rows = { { "JOBID", "KIND", "SUBMITTED", "STATUS", "PROMPT", "FILES" } }
  for i = first, #list do
    local r = list[i]
    local when = tonumber(r.submitted_at) and os.date("%Y-%m-%d %H:%M", floor(tonumber(r.submitted_at))) or "-"
    local what = r.prompt or (r.image and ("[image] " .. tostring(r.image))) or "-"
    local short = jobs.excerpt(tostring(what), 30)
    if short ~= tostring(what) then short = short .. "..." end
    rows[#rows + 1] = { r.job_id, tostring(r.kind or "-"), when, tostring(r.status or "-"), short,
                        #r.files > 0 and concat(r.files, ", ") or "-" }
  end
  ctx:out(output.columns(rows))
  return EXIT.ok
end

return { usage = USAGE, run = cmd_jobs }
