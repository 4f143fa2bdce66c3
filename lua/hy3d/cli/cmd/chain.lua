--- hy3d.cli.cmd.chain: the chain verbs (`hy3d rig|topology|uv|texture|part|motion|convert JOBID`) and generate's --then.
-- Each verb submits a follow-up job on a finished job's output (client:chain, hy3d.chain), records it
-- before waiting, waits and downloads its files (unless --no-wait); `then_steps` runs generate's
-- --then list after the model is done. Version-neutral Lua (5.1 to 5.4, LuaJIT).
local core = require "hy3d.core"
local chain = require "hy3d.chain"
local args = require "hy3d.cli.args"
local context = require "hy3d.cli.context"
local exit = require "hy3d.cli.exit"
local cli_params = require "hy3d.cli.params"
local shared = require "hy3d.cli.cmd.shared"

local concat = table.concat
local now = core.now
local guarded = context.guarded
local EXIT, usage_error = exit.EXIT, exit.usage_error
local save_options, check_dir, param_fields = cli_params.save_options, cli_params.check_dir, cli_params.param_fields
local check_wait_options, job_argument, wait_for, finish_download = shared.check_wait_options, shared.job_argument,
  shared.wait_for, shared.finish_download
local KIND_HELP, WAIT_HELP, CONNECT_HELP, OUTPUT_HELP, save_help = args.KIND_HELP, args.WAIT_HELP, args.CONNECT_HELP,
  args.OUTPUT_HELP, args.save_help

-- verb -> { kind, what the words after JOBID are, a line of help }
local VERBS = {
  rig = { kind = "rigging", words = "", what = "rigs and skins the model (AutoRigging: FBX or GLB, at most 60 MB)",
          example = "--param MotionType=26" },
  topology = { kind = "reduce_face", words = "", what = "retopologises the model (smart topology, ReduceFace: OBJ or GLB)",
               example = "--param FaceLevel=low --param PolygonType=quadrilateral" },
  uv = { kind = "uv", words = "", what = "unwraps the model's UVs (FBX, OBJ or GLB)" },
  texture = { kind = "texture", words = " PROMPT...", what = "textures the model from a prompt (or --param Image=...)",
              example = "rusty iron" },
  part = { kind = "part", words = "", what = "splits the model into parts (FBX only: generate with --result-format FBX)" },
  motion = { kind = "motion", words = " PROMPT...", what = "animates the model from a prompt (Motion, RetargetFile)",
             example = "a person walks forward" },
  convert = { kind = "convert", words = " FORMAT", what = "converts the model to STL, USDZ, FBX, MP4 or GIF "
              .. "(synchronous Convert3DFormat; at most 60 MB)", example = "STL" },
}
local ORDER = { "rig", "topology", "uv", "texture", "part", "motion", "convert" }
local CONVERT_FORMATS = { STL = true, USDZ = true, FBX = true, MP4 = true, GIF = true }   -- Convert3DFormat's Format

local CHAIN_HELP = [[
chain:
  --no-wait              submit and print the new JobId; `hy3d download JOBID` fetches later
  --input-type TYPE      the previous job's file to send (default: the first the action takes)
  --param NAME=VALUE     another field of the action, read as JSON (repeatable)
]]

local function usage(verb)
  local v = VERBS[verb]
  return ("usage: hy3d %s [options] JOBID%s\n\n"):format(verb, v.words)
    .. ("On the output of a finished job, %s: the file is picked by the types the action takes,\n"
    .. "checked against its documented size limit before anything is sent (nothing is billed for a\n"
    .. "file the service would refuse), and its link refreshed when it has expired. The new job is\n"
    .. "recorded before waiting; its files are named after the first job's, with _%s.\n"):format(v.what, v.kind)
    .. (v.example and ("example: hy3d %s 1384898587778465792 %s\n"):format(verb, v.example) or "")
    .. "\njob:\n" .. KIND_HELP .. "\n" .. CHAIN_HELP .. "\n" .. WAIT_HELP .. "\n"
    .. save_help("anything is submitted", v.kind == "convert" and "the FORMAT" or concat(chain.inputs[v.kind].makes, ","))
    .. "\n" .. CONNECT_HELP .. "\n" .. OUTPUT_HELP
end

-- The params of a verb: --param fields, then the words after JOBID (a prompt, or convert's format).
local function verb_params(verb, o, words)
  local p, err = param_fields(o.param)
  if not p then return nil, err end
  local v = VERBS[verb]
  if v.kind == "texture" or v.kind == "motion" then
    if #words > 0 then p.Prompt = concat(words, " ") end
  elseif v.kind == "convert" then
    if #words > 1 then return nil, usage_error("convert takes one FORMAT after the JOBID (STL, USDZ, FBX, MP4 or GIF)") end
    if words[1] then
      if not words[1]:match("^%a[%w]*$") then return nil, usage_error("convert: FORMAT is STL, USDZ, FBX, MP4 or GIF") end
      p.Format = words[1]:upper()
    end
    if p.Format == nil then return nil, usage_error("convert needs a FORMAT: STL, USDZ, FBX, MP4 or GIF") end
    if not CONVERT_FORMATS[tostring(p.Format):upper()] then      -- the service would refuse it: sent for nothing
      return nil, usage_error(("convert: %s is not a FORMAT it makes (STL, USDZ, FBX, MP4 or GIF)"):format(
        tostring(p.Format)))
    end
  elseif #words > 0 then
    return nil, usage_error(verb .. " takes one JOBID (other fields with --param NAME=VALUE)")
  end
  return p
end

-- Records a chained job and reports it.
local function recorded(ctx, client, job, from, save, formats)
  if not job.JobId then return end                  -- convert: synchronous, no job to record
  ctx.t0 = now()
  ctx:remember { job_id = job.JobId, kind = job.kind, door = client.door, base_url = client.base_url,
                 site = client.site ~= "mainland" and client.site or nil, from_job = from,
                 submitted_at = os.time(), dir = ctx:absolute(save.dir or "."), name = save.name,
                 formats = concat(formats, ","), extract = save.extract }
  ctx:submitted(job, { from_job = from })
end

local function run_verb(verb)
  local kind = VERBS[verb].kind
  return function(ctx, o, pos)
    local ok, err = check_wait_options(o)
    if not ok then return ctx:fail(err) end
    local save
    save, err = save_options(o)
    if not save then return ctx:fail(err) end
    if #pos < 1 then return ctx:fail(usage_error("needs a JOBID (of a finished job)")) end
    local words = {}
    for i = 2, #pos do words[#words + 1] = pos[i] end
    local params
    params, err = verb_params(verb, o, words)
    if not params then return ctx:fail(err) end
    if o.input_type and not o.input_type:match("^%a[%w_]*$") then
      return ctx:fail(usage_error("--input-type is a file type such as FBX or GLB"))
    end
    local id, from_kind, rec = job_argument(ctx, o, { pos[1] })
    if not id then return ctx:fail(from_kind) end
    if rec and type(rec.dir) == "string" and not (o.dir or o.output) then save.dir = rec.dir end   -- beside the model
    local formats = save.formats or (kind == "convert" and { params.Format }) or chain.inputs[kind].makes
    save.name = save.name or ((rec and type(rec.name) == "string" and rec.name or id) .. "_" .. kind)
    ok, err = check_dir(save.dir)
    if not ok then return ctx:fail(err) end
    local client
    client, err = ctx:connect(o, kind, ("hy3d %s (a %s job)"):format(verb, kind), rec)
    if not client then return ctx:fail(err) end
    ctx:start_clock(o)
    ctx.t0 = now()
    local job
    job, err = ctx:drive(function()
      return client:chain(id, kind, params, { from = from_kind, type = o.input_type })
    end)
    if not job then return ctx:fail(ctx:deadline_error(err)) end
    recorded(ctx, client, job, id, save, formats)
    if o.no_wait and job.JobId then
      if not ctx.json then ctx:out(job.JobId .. "\n") end
      return EXIT.ok
    end
    local res = job
    if job.JobId then
      ctx.job_id, ctx.kind = job.JobId, kind
      res, err = wait_for(ctx, client, job.JobId, kind, o)
      if not res then return ctx:fail(err) end
    end
    ctx.phase = "download"
    local files
    files, err = ctx:drive(function()
      return client:download_files(res, {
        formats = formats, dir = save.dir, name = save.name, extract = save.extract,
        timeout = math.max(ctx.deadline - now(), 0.001),
        on_progress = guarded(ctx, function(done, total, ftype) ctx:progressed(done, total, ftype) end),
      })
    end)
    if not files then return ctx:fail_download(ctx:deadline_error(err)) end
    return finish_download(ctx, files, kind, job.JobId and res or nil)   -- its credits; convert's: no job of its own
  end
end

-- The --then list of generate (each item a verb or a comma list): the kinds, or nil and a usage error.
local function then_kinds(list)
  local out = {}
  for _, item in ipairs(list or {}) do
    for word in item:gmatch("[^,]+") do
      local k = chain.kind_of(word:match("^%s*(.-)%s*$"))
      if not k then
        return nil, usage_error("--then takes " .. concat(ORDER, ", ") .. " (repeatable, or a comma list)")
      end
      out[#out + 1] = k
    end
  end
  return out
end

-- The --then-param list (VERB.NAME=VALUE, VALUE read as JSON like --param) for the --then `kinds`: a table
-- by kind of each step's fields, or nil and a usage error (a VERB not in --then is one).
local function then_params(list, kinds)
  local by, out, listed = {}, {}, {}
  for _, k in ipairs(kinds or {}) do listed[k] = true end
  for _, item in ipairs(list or {}) do
    local verb, rest = item:match("^(%a[%w_]*)%.(.*)$")
    local k = verb and chain.kind_of(verb)
    if not k then
      return nil, usage_error("--then-param needs VERB.NAME=VALUE, VERB one of " .. concat(ORDER, ", ")
        .. " (e.g. convert.Format=STL)")
    end
    if not listed[k] then return nil, usage_error("--then-param " .. verb .. ".*: no --then " .. verb .. " to give it to") end
    by[k] = by[k] or {}
    by[k][#by[k] + 1] = rest
  end
  for k, fields in pairs(by) do
    local p, err = param_fields(fields)
    if not p then return nil, usage_error("--then-param " .. k .. ": " .. tostring(err.message)) end
    out[k] = p
  end
  return out
end

-- Runs generate's --then steps on `result` (the model's DONE result): each is recorded as it is
-- submitted, waited for and downloaded next to the model as <name>_<kind>.<ext>. `key`: the model's cache
-- key (each step then comes from the cache, or is stored in it). Returns the exit code.
local function then_steps(ctx, o, kinds, result, save, key, params)
  local client, err = ctx:connect(o, kinds[1], "--then " .. kinds[1])
  if not client then return ctx:fail(err) end
  local from = result.JobId
  local base = save.name or from                  -- the steps' files: <base>_<kind>.<ext>
  local steps
  steps, err = ctx:drive(function()
    return chain.run_then(client, result, kinds, {
      dir = save.dir, name = base, extract = save.extract, from = result.kind, params = params,
      interval = o.interval, download_timeout = math.max(ctx.deadline - now(), 0.001), cache = key,
      on_submit = guarded(ctx, function(job, _, kind)
        ctx.phase = "wait"
        ctx.status = nil
        recorded(ctx, client, job, from, { dir = save.dir, name = base .. "_" .. kind,
                                           extract = save.extract }, chain.inputs[kind].makes or { "all" })
        from = job.JobId or from
        ctx.job_id = job.JobId
      end),
      on_status = guarded(ctx, function(r) ctx:status_changed(r) end),
      on_progress = guarded(ctx, function(done, total, ftype)
        ctx.phase = "download"
        ctx:progressed(done, total, ftype)
      end),
      on_step = guarded(ctx, function(step)            -- each step's files, reported as it ends
        ctx.job_id = step.job.JobId
        if ctx.job_id then return finish_download(ctx, step.files, step.kind, not step.cached and step.result or nil) end
        for _, f in ipairs(step.files) do ctx:saved(f) end   -- convert: synchronous, no job
        if ctx.json then
          ctx:emit { event = "result", kind = step.kind, status = "DONE", files = shared.file_list(step.files) }
        end
      end),
    })
  end)
  if not steps then return ctx:fail_download(ctx:deadline_error(err)) end
  return EXIT.ok
end

local M = { verbs = {}, order = ORDER, then_kinds = then_kinds, then_steps = then_steps,
            then_params = then_params }
for _, verb in ipairs(ORDER) do
  M.verbs[verb] = { usage = usage(verb), run = run_verb(verb) }
end

return M
