--- hy3d.chain: post-processing chains: what each follow-up action takes, Client:chain, run_then.
-- The data: each action's input field, the File3D types it accepts, its size and face limits.
-- Client:chain(job_or_result, kind, params, opts) submits a Part / UV / ReduceFace (smart topology) /
-- Texture / AutoRigging / Motion job, or runs the synchronous Convert3DFormat, on a previous job's
-- output: it reads the previous job's ResultFile3Ds (querying it when given a JobId or a job table),
-- picks the file by the types the action accepts, checks the documented limits before anything is
-- paid for (by downloading the file with max_bytes at the limit: refused from Content-Length before
-- a byte is written), refreshes an expired link by querying the job again, and fills the action's
-- input field. run_then(client, result, list, opts) runs several such steps in a row, each on the
-- previous step's output, waiting for each and downloading its files (`hy3d generate --then`,
-- `hy3d batch --then`). Depends on hy3d.files, hy3d.options and hy3d.validate; the
-- client's methods are reached through the client given (no require of hy3d.client).
local files = require "hy3d.files"
local options = require "hy3d.options"
local validate = require "hy3d.validate"

local MB = 1024 * 1024
local id_string = validate.job_id

-- What each follow-up action takes (reference §5.6-5.13, §8). field: the request field the picked
-- file fills; shape: "InputFile3D"/"File3D" ({ Type, Url }) or "url" (a bare URL string); types: the
-- File3D types it accepts, in the order hy3d prefers them; max_bytes / max_faces: documented limits
-- (checked before the submit; max_faces only with opts.count_faces); needs: user parameters the
-- action cannot do without (one of them); makes: what run_then downloads by default. `uncertain`
-- says which of these facts the reference marks as unsure or gives for the intl site only: the client
-- stays lenient there (opts.type picks another type, opts.check_size = false skips the limit).
local INPUTS = {
  part = { field = "File", shape = "InputFile3D", types = { "FBX" }, max_bytes = 200 * MB, max_faces = 1500000,
           makes = { "FBX" },
           uncertain = "the 200 MB and 1,500,000-face limits are the intl page's; the mainland page says FBX only" },
  uv = { field = "File", shape = "InputFile3D", types = { "GLB", "FBX", "OBJ" }, max_faces = 30000,
         makes = { "all" }, uncertain = "the 30,000-face limit (and 100 connected components) is the intl page's" },
  reduce_face = { field = "File3D", shape = "File3D", types = { "GLB", "OBJ" }, max_bytes = 200 * MB,
                  makes = { "GLB" }, uncertain = "the 200 MB limit is the intl page's (Submit3DSmartTopologyJob)" },
  texture = { field = "File3D", shape = "File3D", types = { "GLB", "OBJ" }, needs = { "Prompt", "Image" },
              makes = { "GLB" } },
  rigging = { field = "File3D", shape = "InputFile3D", types = { "GLB", "FBX" }, max_bytes = 60 * MB,
              makes = { "FBX" },
              uncertain = "GLB: the May 2026 page said FBX or OBJ, the intl page still does; the later page FBX or GLB" },
  motion = { field = "RetargetFile", shape = "InputFile3D", types = { "FBX", "GLB" }, needs = { "Prompt" },
             makes = { "FBX" }, uncertain = "RetargetFile takes only models made from Hunyuan 3D's animation templates" },
  convert = { field = "File3D", shape = "url", types = { "GLB", "FBX", "OBJ" }, max_bytes = 60 * MB,
              needs = { "Format" }, sync = true },
}

-- The words the command line (and run_then) takes for each kind, and the kinds themselves.
local VERBS = { rig = "rigging", topology = "reduce_face", uv = "uv", texture = "texture", part = "part",
                convert = "convert", motion = "motion" }
for k in pairs(INPUTS) do VERBS[k] = k end

local CHAIN_OPTIONS = { from = "string", type = "string", check_size = "boolean", count_faces = "function",
                        timeout = "number" }
local THEN_OPTIONS = { params = "table", dir = "string", name = "string", formats = "table", extract = "boolean",
                       on_submit = "function", on_status = "function", on_progress = "function", interval = "number",
                       timeout = "number", download_timeout = "number", from = "string", check_size = "boolean",
                       on_step = "function", cache = "string", resume = "function", before_step = "function" }

local M = { inputs = INPUTS, verbs = VERBS }

-- The kind named by a verb or a kind name, or nil.
local function kind_of(word)
  return type(word) == "string" and VERBS[word:lower()] or nil
end
M.kind_of = kind_of

-- True for a URL hy3d would send on as an input file: http(s), a host, no space or control character.
local function sendable_url(url)
  return type(url) == "string" and #url < 8192 and url:match("^[hH][tT][tT][pP][sS]?://[%w%.%-%[%]:@_]+") ~= nil
    and not url:find("[%s%c]")
end

local function sorted_kinds()
  local list = {}
  for k in pairs(INPUTS) do list[#list + 1] = k end
  table.sort(list)
  return table.concat(list, ", ")
end

local function human_mb(n)
  return ("%g MB"):format(math.floor(n / MB * 10 + 0.5) / 10)
end

-- The files of `res` the action of `spec` takes, in the order hy3d prefers them: a list of
-- { type, server_type, url, index }, or nil and the fields of an error (none; or one whose URL is
-- not http(s): a hostile answer is refused, not skipped). `want` (opts.type) names one type instead.
local function pick(res, spec, kind, want)
  local list = type(res.ResultFile3Ds) == "table" and res.ResultFile3Ds or {}
  local job_id = id_string(res.JobId)
  local types = want and { want:upper() } or spec.types
  local out = {}
  for _, t in ipairs(types) do
    for i, f in ipairs(list) do
      if type(f) == "table" and type(f.Type) == "string" and f.Type:upper() == t then
        if not sendable_url(f.Url) then
          return nil, { kind = "invalid", code = "BAD_RESULT_URL", job_id = job_id,
            message = ("job %s lists a %s file whose URL is not an http(s) URL hy3d would send on: refused "
              .. "(nothing was submitted)"):format(tostring(job_id), t) }
        end
        out[#out + 1] = { type = t, server_type = f.Type, url = f.Url, index = i }
      end
    end
  end
  if #out > 0 then return out end
  local have = {}
  for _, f in ipairs(list) do
    have[#have + 1] = type(f) == "table" and files.safe_token(f.Type, 32) or "?"
  end
  return nil, { kind = "invalid", code = "NO_INPUT_FILE", job_id = job_id,
    message = ("job %s has no file a %s job takes (it takes %s; the job has %s): nothing was submitted"):format(
      tostring(job_id), kind, table.concat(types, " or "), #have > 0 and table.concat(have, ", ") or "no files") }
end

-- The DONE result of the previous job: `src` itself when it carries ResultFile3Ds, else a query.
local function previous(client, src, from)
  if type(src) == "table" and src.ResultFile3Ds ~= nil then
    local status = type(src.Status) == "string" and src.Status:upper() or nil
    if status and status ~= "DONE" then
      return nil, { kind = "invalid", code = "NOT_DONE", job_id = id_string(src.JobId), status = src.Status,
        message = ("job %s is %s, not DONE: chain a finished job"):format(tostring(id_string(src.JobId)), status) }
    end
    return src
  end
  local id = id_string(type(src) == "table" and src.JobId or src)
  if not id then
    return nil, { kind = "invalid", code = "BAD_JOB", message = "chain expects a job's result, a job table "
      .. "(with JobId) or a JobId (a string, or a whole number)" }
  end
  local res, err = client:query(id, { kind = from or (type(src) == "table" and src.kind) or nil })
  if not res then return nil, err end
  local status = type(res.Status) == "string" and res.Status:upper() or tostring(res.Status)
  if status ~= "DONE" then
    local failed = status == "FAIL"
    return nil, { kind = "invalid", code = failed and "PREVIOUS_FAILED" or "NOT_DONE", job_id = id, status = status,
      message = failed and ("job %s failed (%s): there is no output to chain"):format(id,
        files.safe_token(res.ErrorCode, 64) or "FAIL")
        or ("job %s is %s, not DONE: wait for it first (`hy3d wait %s`)"):format(id, files.safe_token(status, 16) or "?", id) }
  end
  return res
end

-- A temporary path for the size check's download.
local function scratch()
  return os.tmpname()
end

-- Checks the picked file against the limits of `spec` by downloading it (max_bytes at the limit:
-- a file over it is refused from its Content-Length). An expired URL is refreshed by querying the
-- job again; the URL to send is returned (maybe the fresh one), or nil and an error.
local function check_file(client, res, file, spec, kind, opts)
  local job_id = id_string(res.JobId)
  local url = file.url
  local function refresh()
    if not job_id then return nil, { kind = "invalid", code = "NO_JOB_ID", message = "the result has no JobId to query" } end
    local fresh, qerr = client:query(job_id, { kind = res.kind or opts.from })
    if not fresh then return nil, qerr end
    local entry = type(fresh.ResultFile3Ds) == "table" and fresh.ResultFile3Ds[file.index]
    if type(entry) == "table" and type(entry.Type) == "string" and entry.Type:upper() == file.type
        and sendable_url(entry.Url) then
      url = entry.Url
      return url
    end
    return nil, { kind = "invalid", code = "NO_INPUT_FILE", message = "the job no longer lists this file" }
  end
  local path = scratch()
  local ok, derr = client:download(url, path, { max_bytes = spec.max_bytes, timeout = opts.timeout,
                                                refresh = job_id and refresh or nil })
  local faces, ferr
  if ok and spec.max_faces and opts.count_faces then
    local fine, n = pcall(opts.count_faces, path, file.type)
    if fine then faces = n else ferr = n end
  end
  os.remove(path)
  files.discard_partial(files.partial_path(url, path))
  if not ok then
    if derr.code == "MAX_BYTES" then
      return nil, { kind = "invalid", code = "FILE_TOO_LARGE", job_id = job_id, limit = spec.max_bytes,
        message = ("the %s file of job %s is larger than a %s job takes (at most %s): nothing was submitted"):format(
          file.type, tostring(job_id), kind, human_mb(spec.max_bytes)) }
    end
    derr.job_id = derr.job_id or job_id
    return nil, derr
  end
  if ferr then
    return nil, { kind = "callback", code = "COUNT_FACES", job_id = job_id,
      message = "count_faces raised: " .. tostring(ferr) .. " (nothing was submitted)" }
  end
  if type(faces) == "number" and faces > spec.max_faces then
    return nil, { kind = "invalid", code = "TOO_MANY_FACES", job_id = job_id, limit = spec.max_faces, faces = faces,
      message = ("the %s file of job %s has %s faces; a %s job takes at most %d: nothing was submitted"):format(
        file.type, tostring(job_id), faces, kind, spec.max_faces) }
  end
  return url
end

--- Whether this client can run follow-up jobs of kind k (a kind, not a verb): credentials, and the
-- kind on its door (the gateway offers Pro only; convert needs API 3.0). true, or nil and the error.
-- Checked before a job whose output a chain needs is paid for (generate --then, hy3d.batch's then).
-- @param client the hy3d.Client
-- @tparam string k the follow-up kind
-- @treturn[1] boolean true
-- @treturn[2] nil
-- @treturn[2] Error err
function M.offered(client, k)
  local spec = INPUTS[k]
  local err = client:_no_key() or (spec and spec.sync and client:_needs_api3(k))
  if err then return nil, err end
  if spec and not spec.sync then                  -- not on this door (the gateway offers pro only): say so first
    local family, kerr = client:_kind(k)
    if not family then return nil, kerr end
  end
  return true
end

-- The params of step i (kind k) in a table by kind, verb or index (run_then's opts.params), or nil.
local function step_params(by, k, i)
  if type(by) ~= "table" then return nil end
  local p = by[k] or (i and by[i])
  if p == nil then
    for verb, kk in pairs(VERBS) do
      if kk == k and by[verb] then p = by[verb] end
    end
  end
  return p
end
M.step_params = step_params

--- What a chain of steps after a model needs that can be known before the model is submitted:
-- each step's required parameters (INPUTS[k].needs: Format for convert, Prompt for motion, Prompt or
-- Image for texture) in params_by (a table by kind, verb or index, like run_then's opts.params), and
-- a file the first step takes among those the model will make (model_kind and model_params: a Pro
-- job makes OBJ and GLB, FBX only with ResultFormat = "FBX"; later steps' inputs are left to Client:chain).
-- Nothing is sent. true, or nil and an invalid error (MISSING_PARAMETER, NO_INPUT_FILE; err.step, err.field).
-- @param client the hy3d.Client
-- @tparam table kinds the steps' kinds, in order
-- @tparam[opt] table params_by each step's params
-- @tparam[opt] string model_kind the model's kind (default pro)
-- @tparam[opt] table model_params the model's params
-- @treturn[1] boolean true
-- @treturn[2] nil
-- @treturn[2] Error err
function M.precheck(client, kinds, params_by, model_kind, model_params)
  local families = require "hy3d.families"
  local have = families.made_types(model_kind or "pro", model_params)
  for i, word in ipairs(kinds) do
    local k = kind_of(word)
    local spec = k and INPUTS[k]
    if spec then
      local p = step_params(params_by, k, i)
      local any = not spec.needs
      for _, n in ipairs(spec.needs or {}) do any = any or (type(p) == "table" and p[n] ~= nil) end
      if not any then
        return nil, client:_error { kind = "invalid", code = "MISSING_PARAMETER", field = spec.needs[1], step = i,
          message = ("the %s step needs %s: give it in the step's params (on the command line "
            .. "--then-param %s.%s=VALUE): nothing was sent"):format(k, table.concat(spec.needs, " or "), k,
            spec.needs[1]) }
      end
      if have then
        local takes = false
        for _, t in ipairs(spec.types) do
          for _, h in ipairs(have) do takes = takes or h == t end
        end
        if not takes then
          local hint = i == 1 and (model_kind or "pro") == "pro" and spec.types[1] == "FBX"
            and " (add ResultFormat FBX to the model: --result-format FBX, or \"ResultFormat\":\"FBX\" in a batch line)"
            or ""
          return nil, client:_error { kind = "invalid", code = "NO_INPUT_FILE", step = i,
            message = ("the %s step takes %s, and %s will make %s%s: nothing was sent"):format(k,
              table.concat(spec.types, " or "), "the model",
              table.concat(have, " and "), hint) }
        end
      end
      have = nil                                  -- what a step returns beyond the files hy3d saves is the service's
    end
  end
  return true
end

--- Submits a follow-up job on a previous job's output: `kind` is "part", "uv", "reduce_face" (or
-- "topology"), "texture", "rigging" (or "rig"), "motion" or "convert". `src` is the previous job's
-- DONE result (with ResultFile3Ds), its job table or its JobId (opts.from: its kind when not pro).
-- The file is picked by the types the action takes (hy3d.chain.inputs), checked against its size
-- limit before anything is submitted (opts.check_size = false skips; opts.count_faces(path, type)
-- adds the face limit), its URL refreshed by a query when it has expired. params are the action's
-- other fields (Prompt for texture and motion, Format for convert, MotionType, ...); the input
-- field is the picked file's. Returns the job like submit (JobId, RequestId, kind, and `input`: the
-- picked type and the previous JobId); convert, which is synchronous, returns its answer with
-- ResultFile3Ds = { { Type = Format, Url = ResultFile3D } }, Status "DONE" and kind "convert".
-- @param src the previous job's result, job table or JobId
-- @tparam string kind the follow-up kind
-- @tparam[opt] table params the action's other fields
-- @tparam[opt] table opts from, type, check_size, count_faces, timeout
-- @treturn[1] table the job (or convert's result)
-- @treturn[2] nil
-- @treturn[2] Error err
function M.chain(client, src, kind, params, opts)
  opts = options.check_options("hy3d chain", opts, CHAIN_OPTIONS, 3)
  local k = kind_of(kind)
  if not k then
    return nil, client:_error { kind = "invalid", code = "UNKNOWN_CHAIN_KIND",
      message = ("cannot chain a %s job (kinds: %s; or rig, topology)"):format(
        type(kind) == "string" and (files.safe_token(kind, 32) or "?") or type(kind), sorted_kinds()) }
  end
  if params ~= nil and type(params) ~= "table" then
    return nil, client:_error { kind = "invalid", code = "BAD_PARAMS", message = "chain: params must be a table" }
  end
  local spec = INPUTS[k]
  local p = {}
  for key, v in pairs(params or {}) do p[key] = v end
  if spec.needs then
    local any = false
    for _, n in ipairs(spec.needs) do any = any or p[n] ~= nil end
    if not any then
      return nil, client:_error { kind = "invalid", code = "MISSING_PARAMETER", field = spec.needs[1],
        message = ("a %s job needs %s in params (nothing was sent)"):format(k, table.concat(spec.needs, " or ")) }
    end
  end
  if opts.type ~= nil and not opts.type:match("^%w+$") then
    return nil, client:_error { kind = "invalid", code = "BAD_TYPE", message = "chain: type must be a file type such as FBX" }
  end
  local offered, err = M.offered(client, k)
  if not offered then return nil, err end
  local res
  res, err = previous(client, src, opts.from)
  if not res then return nil, client:_error(err) end
  local candidates
  candidates, err = pick(res, spec, k, opts.type)
  if not candidates then return nil, client:_error(err) end
  local file, url = candidates[1], candidates[1].url
  if opts.check_size ~= false then                -- the first file within the limits (GLB too big: the FBX)
    local first
    url = nil
    for _, c in ipairs(candidates) do
      url, err = check_file(client, res, c, spec, k, opts)
      if url then
        file = c
        break
      end
      if err.code ~= "FILE_TOO_LARGE" and err.code ~= "TOO_MANY_FACES" then return nil, client:_error(err) end
      first = first or err
    end
    if not url then
      if #candidates > 1 then first.message = first.message .. " (nor is any other file of the job it takes within it)" end
      return nil, client:_error(first)
    end
  end
  p[spec.field] = spec.shape == "url" and url or { Type = file.type, Url = url }
  local from_id = id_string(res.JobId)
  if spec.sync then
    local out, cerr = client:convert(p)
    if not out then
      cerr.job_id = cerr.job_id or from_id
      return nil, cerr
    end
    if not sendable_url(out.ResultFile3D) then
      return nil, client:_error { kind = "decode", code = "BAD_RESULT_URL", request_id = out.RequestId,
        message = "Convert3DFormat answered without an http(s) ResultFile3D" }
    end
    local fmt = type(p.Format) == "string" and files.safe_token(p.Format:upper(), 16) or "FILE"
    out.kind, out.Status = "convert", "DONE"
    out.ResultFile3Ds = { { Type = fmt, Url = out.ResultFile3D } }
    out.input = { type = file.type, from_job = from_id }
    return out
  end
  local job, serr = client:submit(p, { kind = k })
  if not job then
    serr.from_job = from_id
    return nil, serr
  end
  job.input = { type = file.type, from_job = from_id }
  return job
end

-- A list of kinds from a list of words, each maybe "a,b" (nil and an error on an unknown one).
local function then_list(client, list)
  if type(list) == "string" then list = { list } end
  if type(list) ~= "table" then
    return nil, client:_error { kind = "invalid", code = "BAD_THEN", message = "then: expects a list of kinds" }
  end
  local out = {}
  for _, item in ipairs(list) do
    for word in tostring(item):gmatch("[^,%s]+") do
      local k = kind_of(word)
      if not k then
        return nil, client:_error { kind = "invalid", code = "UNKNOWN_CHAIN_KIND",
          message = ("cannot chain a %s job (kinds: %s; or rig, topology)"):format(files.safe_token(word, 32) or "?",
            sorted_kinds()) }
      end
      out[#out + 1] = k
    end
  end
  return out
end
--- Runs follow-up jobs one after another, each on the previous one's output: `result` is the
-- first job's DONE result (or job table, or JobId), `list` a list of kinds or verbs (each may be
-- "topology,rig"). Each step is chained (M.chain), waited for and its files downloaded into
-- opts.dir as <name>_<kind>.<ext> (opts.formats, else what the kind makes: FBX for rigging, GLB
-- for topology, ...). opts: params (a table by kind or verb of each step's params), dir, name,
-- formats, extract, on_submit(job, i, kind) (record the JobId there), on_status(result, i, kind),
-- on_progress(done, total, type, i, kind), on_step(step, i) (a step done, its files saved), before_step(i, kind)
-- (a step is about to be chained: not called for one from the cache or resumed), interval,
-- timeout, download_timeout, from, check_size, resume(i, kind) (a JobId an earlier run submitted for
-- step i: it is waited for instead of a second submit), cache (the result cache key of the first job:
-- each step is keyed by its parent's key, kind, params and formats, served from the client's cache with no
-- request when there, stored when not; client:cache_key).
-- Returns the list of steps { kind, job, result, files, key, cached }, or nil and err (err.steps: the steps
-- done, err.job_id the step's job when one exists).
-- @param client the hy3d.Client
-- @param result the first job's result, job table or JobId
-- @tparam table list the kinds to run, in order
-- @tparam[opt] table opts params, dir, name, formats, ...
-- @treturn[1] table the steps
-- @treturn[2] nil
-- @treturn[2] Error err
function M.run_then(client, result, list, opts)
  opts = options.check_options("hy3d run_then", opts, THEN_OPTIONS, 2)
  local kinds, err = then_list(client, list)
  if not kinds then return nil, err end
  local steps, prev, from, prev_key = {}, result, opts.from, opts.cache
  local base = opts.name or files.safe_token(id_string(type(result) == "table" and result.JobId or result), 64) or "chain"
  local function failed(e, job_id)
    e.steps = steps
    e.job_id = e.job_id or job_id
    return nil, e
  end
  for i, k in ipairs(kinds) do
    local params = opts.params and (opts.params[k] or opts.params[i])
    if params == nil and opts.params then
      for verb, kk in pairs(VERBS) do
        if kk == k and opts.params[verb] then params = opts.params[verb] end
      end
    end
    local formats = opts.formats or INPUTS[k].makes
    local key = opts.cache and client:cache_key(params or {}, { kind = k, formats = formats or { "all" },
                                                               parent = prev_key }) or nil
    local hit = key and client:cache_lookup(key, { dir = opts.dir, name = base .. "_" .. k, extract = opts.extract })
    local resumed = not hit and opts.resume and id_string(opts.resume(i, k)) or nil
    local job, cerr
    if hit then
      job = hit.job
    elseif resumed then
      job = { JobId = resumed, kind = k, resumed = true }
    else
      if opts.before_step then opts.before_step(i, k) end   -- the step is about to be chained (hy3d.batch's budget)
      job, cerr = M.chain(client, prev, k, params, { from = from, check_size = opts.check_size })
      if not job then return failed(cerr) end
    end
    if opts.on_submit and not hit and not resumed then
      local ok, e = pcall(opts.on_submit, job, i, k)
      if not ok and tostring(e):find("interrupted!", 1, true) then error(e, 0) end   -- Ctrl-C goes on up
      if not ok then
        return failed(client:_error { kind = "callback", code = "ON_SUBMIT", job_id = job.JobId,
          message = "on_submit raised: " .. tostring(e) .. " (the job goes on; wait again with its JobId)" })
      end
    end
    local res = hit and hit.result or job
    if not hit and not INPUTS[k].sync then
      local werr
      res, werr = client:wait(job, { interval = opts.interval, timeout = opts.timeout,
        on_status = opts.on_status and function(r) return opts.on_status(r, i, k) end })
      if not res then return failed(werr, job.JobId) end
    end
    local got, derr
    if hit then
      got = hit.files
    else
      got, derr = client:download_files(res, { formats = formats or { res.ResultFile3Ds[1].Type }, dir = opts.dir,
        name = base .. "_" .. k, extract = opts.extract, timeout = opts.download_timeout,
        on_progress = opts.on_progress and function(d, t, ft) return opts.on_progress(d, t, ft, i, k) end })
      if not got then return failed(derr, job.JobId) end
      if key then                                 -- stored for the next run; a store that fails costs nothing
        client:cache_store(key, { job_id = res.JobId or job.JobId, kind = k, credits = res.ResultCreditConsumed }, got)
      end
    end
    local step = { kind = k, job = job, result = res, files = got, key = key, cached = hit and true or nil }
    steps[#steps + 1] = step
    if opts.on_step then
      local ok, e = pcall(opts.on_step, step, i)
      if not ok and tostring(e):find("interrupted!", 1, true) then error(e, 0) end
      if not ok then
        return failed(client:_error { kind = "callback", code = "ON_STEP", job_id = job.JobId,
          message = "on_step raised: " .. tostring(e) .. " (the step's files are saved)" })
      end
    end
    prev, from, prev_key = res, k, key
  end
  return steps
end

M.sendable_url = sendable_url

return M
