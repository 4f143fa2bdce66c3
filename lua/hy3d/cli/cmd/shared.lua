--- hy3d.cli.cmd.shared: what several commands share: the JobId argument and its kind (from
-- hy3d.kinds and the job record), waiting with the live status line, --timeout/--interval, and the
-- report of downloaded files. Version-neutral Lua (5.1 to 5.4, LuaJIT).
local core = require "hy3d.core"
local args = require "hy3d.cli.args"
local context = require "hy3d.cli.context"
local exit = require "hy3d.cli.exit"
local output = require "hy3d.cli.output"

local now = core.now
local EXIT, usage_error = exit.EXIT, exit.usage_error
local number_option = args.number_option
local guarded = context.guarded
local round3 = output.round3

local M = {}

local function file_list(files)
  local out = {}
  for i, f in ipairs(files) do
    out[i] = { type = f.type, path = f.path, bytes = f.bytes, dir = f.dir }
  end
  return out
end

local function result_urls(res)
  local out = {}
  for i, f in ipairs(type(res.ResultFile3Ds) == "table" and res.ResultFile3Ds or {}) do
    out[i] = { type = f.Type, url = f.Url, preview = f.PreviewImageUrl }
  end
  return out
end

local function check_wait_options(o)
  local ok, err = number_option(o, "timeout", "--timeout", 0, false, nil, true)
  if ok then ok, err = number_option(o, "interval", "--interval", 0) end
  return ok, err
end

-- Records the files of a download and reports them, then the result event. `res` (optional): the
-- job's final query result, whose ResultCreditConsumed is recorded (for `hy3d gallery`); a cache hit's
-- (res.cached) is not: the job's credits were recorded when it ran, and the hit spent none.
local function finish_download(ctx, files, res_kind, res)
  local paths = {}
  for _, f in ipairs(files) do
    ctx:saved(f)
    paths[#paths + 1] = ctx:absolute(f.path)
    if f.dir then paths[#paths + 1] = ctx:absolute((f.dir:gsub("/+$", "")) .. "/") end
  end
  local credits = type(res) == "table" and not res.cached and tonumber(res.ResultCreditConsumed) or nil
  ctx:remember { job_id = ctx.job_id, status = "DONE", files = paths, credits = credits }
  if ctx.json then
    ctx:emit { event = "result", job_id = ctx.job_id, kind = res_kind, status = "DONE",
               elapsed = round3(now() - ctx.t0), files = file_list(files) }
  end
  return EXIT.ok
end

-- The JobId argument and the kind to use for it (--kind, else the record's, else pro).
local function job_argument(ctx, o, pos)
  if #pos ~= 1 then return nil, usage_error("needs one JOBID") end
  local id = pos[1]
  if id == "" or id:find("[%s%c]") then return nil, usage_error("not a JobId") end
  local rec = ctx:lookup(id)
  local kind = o.kind or (rec and type(rec.kind) == "string" and rec.kind) or "pro"
  local known, kerr = require("hy3d.cli.kinds").any_kind(kind, o.kind == nil)
  if not known then return nil, kerr end
  ctx.job_id, ctx.kind, ctx.kind_given = id, kind, o.kind ~= nil
  if rec then rec.job_id = id end
  local kind_from = o.kind and ("--kind " .. kind) or ("the job record (a %s job)"):format(kind)
  return id, kind, rec, kind_from
end

-- Waits for a job with the live status line; returns the result or nil, err.
local function wait_for(ctx, client, id, kind, o)
  ctx.t0 = now()
  return ctx:drive(function()
    return client:wait(id, { kind = kind, interval = o.interval, timeout = o.timeout,
                             on_status = guarded(ctx, function(r) ctx:status_changed(r) end) })
  end)
end

M.file_list, M.result_urls, M.check_wait_options, M.finish_download = file_list, result_urls, check_wait_options,
  finish_download
M.job_argument, M.wait_for = job_argument, wait_for

return M
