--- hy3d.Client: the job calls of one client on either door (the compatible gateway with an API
-- key, or Tencent Cloud API 3.0 with a SecretId/SecretKey): submit, query, wait, call (any API
-- 3.0 action by name), convert and the one-call generate; download and download_files come from
-- hy3d.download. Every network call runs on the client's transport (hy3d.transport: one curl
-- multi handle, retries, pauses). Inside a spawned task (or with the yield option, or where an
-- hy3d.use adapter applies) a call never blocks: it yields while its transfer or timer is pending.
-- Elsewhere it blocks efficiently in curl_multi_poll (Transport:waiter).
-- A client's fields: base_url, door (and its old name mode), site, region (API 3.0), request_timeout,
-- poll_interval. The tags are LDoc's (`make doc`, with download.lua's methods merged in).
-- @classmod hy3d.Client
local cache = require "hy3d.cache"
local chain = require "hy3d.chain"
local core = require "hy3d.core"
local credits = require "hy3d.credits"
local download = require "hy3d.download"
local families = require "hy3d.families"
local options = require "hy3d.options"
local scheduler = require "hy3d.scheduler"
local sites = require "hy3d.sites"
local slots = require "hy3d.slots"
local transport = require "hy3d.transport"
local validate = require "hy3d.validate"

local now = core.now
local min = math.min
local check_options = options.check_options
local DEFAULTS = options.defaults
local CHECK_OPTIONS = { kind = "string", formats = "table" }   -- Client:check's (no module-level shortcut)
local SUBMIT_OPTIONS, QUERY_OPTIONS, WAIT_OPTIONS, GENERATE_OPTIONS = options.methods.submit,
  options.methods.query, options.methods.wait, options.methods.generate
local id_string, job_id_of, kind_of = validate.job_id, validate.job_id_of, families.of

-- The params of a query of each JobId ({ JobId = id }, read-only: no door changes its params), made
-- once, not on every poll; weak values: a JobId nobody polls any more is collected.
local query_params = setmetatable({}, { __mode = "v" })

local Client = {}
Client.__index = Client
Client.__name = "hy3d.Client"
for name, method in pairs(download) do Client[name] = method end

--- Creates a client. Gateway options: api_key, base_url, auth_scheme ("Bearer"). API 3.0
-- options: secret_id, secret_key, token (STS), region, endpoint, version, language. Both:
-- timeout, connect_timeout, poll_interval, user_agent, yield (a function that replaces
-- coroutine.yield). An api_key selects the gateway, a SecretId/SecretKey API 3.0 (hy3d.options);
-- door names one (gateway, api3, tokenhub, local, mps), site ("mainland", "intl") its site (hy3d.sites).
local function new(opts)
  opts = check_options("hy3d.new", opts, options.types, 2)
  local s = options.settings(opts)
  local door = s.door
  return setmetatable({
    base_url = s.base_url,
    door = door,
    mode = door,                                  -- its earlier name, kept as an alias
    site = s.site,                                -- "mainland" or "intl" (hy3d.sites)
    region = door == "api3" and s.region or nil,
    request_timeout = s.transport.request_timeout,
    poll_interval = s.poll_interval,
    max_concurrent_jobs = s.max_concurrent_jobs or false,   -- false: no limit of the client's own
    _transport = transport.new(s.transport),
    _has_key = s.has_credentials,
    _validate = s.validate,
    _slots = s.max_concurrent_jobs and slots.new(s.max_concurrent_jobs) or nil,
    _cache = s.cache_dir and cache.new(s.cache_dir) or nil,
    _ledger = credits.ledger(s.max_credits),      -- credits spent and pending, max_credits (hy3d.credits)
  }, Client)
end

-- ===== internals =====

function Client:_error(fields)
  return self._transport:error(fields)
end

function Client:_no_key()
  if self._has_key then return nil end
  return self:_error { kind = "invalid", code = "NO_CREDENTIALS",
    message = "no credentials: pass api_key (or set HY3D_API_KEY) for the gateway, or secret_id and "
      .. "secret_key (or set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY) for API 3.0" }
end

-- An error from the engine, with the hint the usual cause of SignatureExpire needs.
function Client:_api_error(err)
  if err.code == "AuthFailure.SignatureExpire" then
    err.message = tostring(err.message) .. " [hy3d signs with this machine's clock (UTC "
      .. os.date("!%Y-%m-%d %H:%M:%S") .. "): check that it is right]"
  end
  return self:_error(err)
end

-- The action names of a job family, or nil and an invalid error (unknown family, or not on this door).
function Client:_kind(kind)
  local k, family = families.resolve(kind, self.door and self._transport.door_impl)
  if not k then return nil, self:_error(family) end
  return k, family
end

-- A job of this client reached DONE or FAIL: its max_concurrent_jobs slot (if any) is free, and its
-- credits are counted once (hy3d.credits' ledger: what the answer reports, else the estimate).
function Client:_job_ended(id, res, status)
  if self._slots then self._slots:ended(id) end
  if (status or res.Status) == "DONE" then self._ledger:done(id, res) else self._ledger:failed(id) end
end

-- The estimate of a job of `kind` on this client's door, taken out of the max_credits budget: the
-- amount reserved, the estimate (nil: not priced) and its details; or nil and the error (OVER_BUDGET,
-- or a job that cannot be priced while max_credits is set). Nothing has been sent.
function Client:_reserve(params, kind)
  local est, details = credits.estimate(params, { kind = kind, door = self.door })
  local amount, err = self._ledger:reserve(est, details)
  if not amount then return nil, self:_error(err) end
  return amount, est, est and details or nil
end

-- ===== public methods =====

-- What submit checks before anything is sent: credentials, the kind on this door and site, and
-- (unless validate = false) the local rules. Returns the kind's entry and name, or nil, nil, err.
function Client:_check(params, kind_name)
  local err = self:_no_key()
  if err then return nil, nil, err end
  local k, kind = self:_kind(kind_name)
  if not k then return nil, nil, kind end
  local door = self._transport.door_impl   -- the door's table on the client's site (hy3d.sites.door)
  local unsupported = sites.check(door, kind, params, k.submit)  -- not a rule: the site cannot express it
  if unsupported then return nil, nil, self:_error(unsupported) end
  if self._validate then
    local bad
    if door.check then bad = door:check(kind, params) else bad = validate.check(kind, params, door.prompt_limits) end
    if bad then
      return nil, nil, self:_error { kind = "invalid", code = "INVALID_PARAMETER", field = bad.field,
        message = bad.message .. " (checked locally; nothing was sent — validate = false skips the check)" }
    end
  end
  return k, kind
end

--- Checks a job's parameters as submit would, sending nothing: credentials, the kind on this
-- client's door and site, and the local rules (unless validate = false). With opts.formats, first
-- generate's fix-up for those files (hy3d.families.deliverable: the ResultFormat they need).
-- Returns the parameters to send (a new table where fixed up), or nil, err (kind "invalid").
-- @tparam table params the API fields
-- @tparam[opt] table opts kind, formats
-- @treturn[1] table the parameters to send
-- @treturn[2] nil
-- @treturn[2] Error err
function Client:check(params, opts)
  if type(params) ~= "table" then error("hy3d check: expects a table of API fields", 2) end
  opts = check_options("hy3d check", opts, CHECK_OPTIONS, 2)
  for _, f in ipairs(opts.formats or {}) do
    if type(f) ~= "string" then error("hy3d check: formats must be a list of strings", 2) end
  end
  if opts.formats and self._validate then
    local fixed, derr = families.deliverable(opts.kind or "pro", params, opts.formats)
    if not fixed then return nil, self:_error(derr) end
    params = fixed
  end
  local k, _, err = self:_check(params, opts.kind)
  if not k then return nil, err end
  return params
end

--- Submits a job. `params` is a table of API fields sent as the JSON body unchanged; opts.kind
-- picks the family: "pro" (default), "rapid", "part", "uv", "reduce_face", "texture", "profile",
-- "motion", "rigging", the intl site's "texture_edit" and "convert_job", or one hy3d.kinds.register
-- added (all but pro need API 3.0, or TokenHub for rapid, MPS for texture). Returns the job (the
-- unwrapped response: JobId, RequestId, and `kind`) or nil, err. With max_credits (hy3d.new), a job
-- whose estimate (hy3d.estimate) would pass the budget is refused before anything is sent (invalid,
-- OVER_BUDGET). opts.dry_run: every local check, nothing sent; returns the plan { dry_run = true,
-- kind, door, site, base_url, action, params, credits, credit_details }.
-- @tparam table params the API fields (Prompt, ImageBase64, ImageUrl, Model, ...)
-- @tparam[opt] table opts kind, dry_run
-- @treturn[1] table the job: JobId, RequestId, kind (with dry_run: the plan)
-- @treturn[2] nil
-- @treturn[2] Error err
function Client:submit(params, opts)
  if type(params) ~= "table" then error("hy3d submit: expects a table of API fields", 2) end
  opts = check_options("hy3d submit", opts, SUBMIT_OPTIONS, 2)
  local k, kind, cerr = self:_check(params, opts.kind)
  if not k then return nil, cerr end
  local reserved, est, details = self:_reserve(params, kind)
  if not reserved then return nil, est end
  local tr, queue = self._transport, self._slots
  if opts.dry_run then
    self._ledger:release(reserved)
    return tr:redact_all { dry_run = true, kind = kind, door = self.door, site = self.site, base_url = self.base_url,
      action = k.submit, params = params, credits = est, credit_details = details }
  end
  local ticket, terr
  if queue then
    ticket, terr = queue:take(tr, kind, self.poll_interval)
    if not ticket then
      self._ledger:release(reserved)
      return nil, terr
    end
  end
  local job, rerr
  while true do
    job, rerr = tr:api(k.submit, params)
    if job or not queue or rerr.code ~= "RequestLimitExceeded.JobNumExceed" then break end
    tr:sleep_until(now() + math.min(tr.retry.cap, math.max(1, self.poll_interval)))   -- the account is full
    queue:wait(tr, self.poll_interval)
  end
  if not job then
    if ticket then queue:release(ticket) end
    self._ledger:release(reserved)
    return nil, self:_api_error(rerr)
  end
  local id = id_string(job.JobId)
  if not id then                                  -- none, or 1e400 (never "inf"), 2.5, a table
    if ticket then queue:release(ticket) end
    self._ledger:release(reserved)
    return nil, self:_error { kind = "decode", code = "NO_JOB_ID", request_id = job.RequestId,
      message = "the submit response has no JobId (a string or a whole number)" }
  end
  job.JobId = id
  job.kind = kind
  if ticket then queue:hold(ticket, job) end
  self._ledger:submitted(id, est, reserved)
  return job
end

--- Queries a job once (a job table, or a JobId with opts.kind when it is not pro). Returns the
-- unwrapped response (Status, ResultFile3Ds, ErrorCode, ...) or nil, err.
-- @param job a job table or a JobId
-- @tparam[opt] table opts kind
-- @treturn[1] table the result: Status, ResultFile3Ds, ErrorCode, ErrorMessage, JobId, kind
-- @treturn[2] nil
-- @treturn[2] Error err
function Client:query(job, opts)
  local id = job_id_of(job, "hy3d query")
  opts = check_options("hy3d query", opts, QUERY_OPTIONS, 2)
  local err = self:_no_key()
  if err then return nil, err end
  local k, kind = self:_kind(kind_of(job, opts))
  if not k then return nil, kind end
  local params = query_params[id]
  if not params then
    params = { JobId = id }
    query_params[id] = params
  end
  local res, qerr = self._transport:api(k.query, params)
  if not res then
    qerr.job_id = id
    return nil, self:_api_error(qerr)
  end
  res.kind = kind
  if res.JobId == nil then res.JobId = id end
  if res.Status == "DONE" or res.Status == "FAIL" then self:_job_ended(id, res) end
  return res
end

--- Polls a job until it is DONE (returns the result) or FAIL (nil, err of kind "job").
-- opts: interval (seconds between polls), timeout (total seconds, default 1800, bounding every
-- poll too; on expiry nil, err of kind "timeout" with job_id), on_status(result) (called when
-- Status changes, or Progress on a door that reports it), kind (for a bare JobId that is not pro).
-- @param job a job table or a JobId
-- @tparam[opt] table opts interval, timeout, on_status, kind
-- @treturn[1] table the DONE result
-- @treturn[2] nil
-- @treturn[2] Error err (kind "job" when the job failed, "timeout" past the deadline)
function Client:wait(job, opts)
  local id = job_id_of(job, "hy3d wait")
  opts = check_options("hy3d wait", opts, WAIT_OPTIONS, 2)
  local interval = opts.interval or self.poll_interval
  local limit = opts.timeout or DEFAULTS.wait_timeout
  if interval ~= interval or interval < 0 then error("hy3d wait: interval must be >= 0", 2) end
  if limit ~= limit or limit < 0 then error("hy3d wait: timeout must be >= 0", 2) end
  local err = self:_no_key()
  if err then return nil, err end
  local k, kind = self:_kind(kind_of(job, opts))
  if not k then return nil, kind end
  local tr, deadline = self._transport, now() + limit
  local last, last_progress
  local function timed_out(cause)
    return self:_error { kind = "timeout", code = "WAIT_TIMEOUT", job_id = id, status = last, cause = cause,
      message = ("job %s did not finish within %g s (last status %s%s); it goes on at the service:"
        .. " wait again with its JobId"):format(id, limit, tostring(last),
        cause and ("; the last poll: " .. tostring(self:_error(cause))) or "") }
  end
  -- the engine polls (engine:poll) where the door says how; Lua then runs only on what it must see
  local poll, delay, seen = tr.door_impl.poll, nil, nil
  if tr.door_impl.exchange then poll = nil end
  while true do
    local left = deadline - now()
    if left <= 0 then return nil, timed_out() end
    local spec = poll and { interval = interval, deadline = deadline, path = poll.path, running = poll.running,
      watch = opts.on_status and { poll.path, poll.progress } or nil, last = seen, delay = delay }
    local res, qerr = tr:api(k.query, { JobId = id }, min(self.request_timeout, left), deadline, spec)
    if spec then seen = spec.seen end             -- the watched values as the service sent them
    if not res then
      if qerr.kind == "network" and qerr.code == "OPERATION_TIMEDOUT" and now() >= deadline then
        return nil, timed_out()
      end
      if qerr.past_deadline then                  -- the next try would start after the deadline
        qerr.job_id = id
        return nil, timed_out(qerr)
      end
      qerr.job_id = id
      return nil, self:_api_error(qerr)
    end
    res.kind = kind
    if res.JobId == nil then res.JobId = id end
    local status = type(res.Status) == "string" and res.Status:upper() or nil
    if not status then
      return nil, self:_error { kind = "decode", code = "NO_STATUS", job_id = id, request_id = res.RequestId,
        message = "the query response has no Status" }
    end
    local progress = res.Progress                 -- a door that reports it (mps); never NaN, which ~= itself
    if type(progress) ~= "number" or progress ~= progress then progress = nil end
    if status ~= last or progress ~= last_progress then
      last, last_progress = status, progress
      if opts.on_status then
        local ok, cerr = pcall(opts.on_status, res)
        if not ok then
          return nil, self:_error { kind = "callback", code = "ON_STATUS", job_id = id, status = status,
            message = "on_status raised: " .. tostring(cerr) .. " (the job goes on; wait again with its JobId)" }
        end
      end
    end
    if status == "DONE" or status == "FAIL" then self:_job_ended(id, res, status) end
    if status == "DONE" then return res end
    if status == "FAIL" then
      local code = res.ErrorCode ~= "" and res.ErrorCode or "FAIL"
      return nil, self:_error { kind = "job", code = code, job_id = id, request_id = res.RequestId,
        message = (res.ErrorMessage and res.ErrorMessage ~= "") and res.ErrorMessage or ("job " .. id .. " failed"),
        result = res }
    end
    if poll and now() + interval < deadline then
      delay = interval                            -- the engine's first send waits the interval
    else
      tr:sleep_until(min(now() + interval, deadline))
    end
  end
end

-- nil on API 3.0, else the error that says the method `what` (call, convert) needs it, naming
-- the client's door (MPS signs with the same pair as API 3.0, but for its own service; the local
-- door takes none).
function Client:_needs_api3(what)
  if self.door == "api3" then return nil end
  local uses = self.door == "gateway" and "the gateway (api_key)"
    or self._transport.door_impl.credentials == "pair"
      and ("the %s door (its secret_id and secret_key work with door = \"api3\")"):format(tostring(self.door))
    or self._transport.door_impl.credentials == "none" and ("the %s door (no credentials)"):format(tostring(self.door))
    or ("the %s door (api_key)"):format(tostring(self.door))
  return self:_error { kind = "invalid", code = what:upper() .. "_NEEDS_API3",
    message = what .. " reaches API 3.0 actions and needs door \"api3\" (secret_id and secret_key); this client uses "
      .. uses }
end

--- Calls any API 3.0 action by name with a table of parameters: the escape hatch for actions
-- hy3d has no method for. Returns the unwrapped Response or nil, err (API errors: kind "api",
-- code, message, request_id). Needs API 3.0 credentials.
-- @tparam string action the action's name, such as "DescribeAutoRiggingJob"
-- @tparam[opt] table params its parameters
-- @treturn[1] table the unwrapped Response
-- @treturn[2] nil
-- @treturn[2] Error err
function Client:call(action, params)
  if type(action) ~= "string" or not action:match("^%w+$") then
    error("hy3d call: action must be an API action name such as \"DescribeAutoRiggingJob\"", 2)
  end
  if params ~= nil and type(params) ~= "table" then error("hy3d call: params must be a table", 2) end
  local err = self:_no_key()
  if err then return nil, err end
  err = self:_needs_api3("call")
  if err then return nil, err end
  local res, cerr = self._transport:api(action, params or {})
  if not res then return nil, self:_api_error(cerr) end
  return res
end

--- The Date header of the last answer this client received and this machine's time (os.time())
-- when it came: how `hy3d doctor` compares the clocks. nil before any answer carried one.
-- @treturn ?string the header, as the server sent it
-- @treturn ?number this machine's time then, in seconds
function Client:server_date()
  return self._transport.last_date, self._transport.last_date_at
end

--- Asks the server whether it is up, on a door that has such a check (the local door: GET /health,
-- which Hunyuan3D-2.1's server has and 2's has not). Returns { Status = "healthy", ... } or nil, err
-- (kind "invalid", code HEALTH_NOT_ON_DOOR on a door without one).
-- @treturn[1] table { Status = "healthy", ... }
-- @treturn[2] nil
-- @treturn[2] Error err
function Client:health()
  local door, tr = self._transport.door_impl, self._transport
  if not door.health then
    return nil, self:_error { kind = "invalid", code = "HEALTH_NOT_ON_DOOR",
      message = "the " .. tostring(self.door) .. " door has no health check" }
  end
  local res, err = door:health(tr)
  if not res then return nil, self:_error(err) end
  return res
end

--- Converts a model file to another format (the synchronous Convert3DFormat): params are
-- File3D (the model's URL) and Format (STL, USDZ, FBX, MP4 or GIF). Returns the response with
-- ResultFile3D (the converted file's URL) or nil, err. Needs API 3.0 credentials.
-- @tparam table params File3D (a URL) and Format
-- @treturn[1] table the response, with ResultFile3D
-- @treturn[2] nil
-- @treturn[2] Error err
function Client:convert(params)
  if type(params) ~= "table" then error("hy3d convert: expects { File3D = url, Format = ... }", 2) end
  local err = self:_no_key() or self:_needs_api3("convert")
  if err then return nil, err end
  local reserved, est = self:_reserve(params, "convert")
  if not reserved then return nil, est end
  local res
  res, err = self:call("Convert3DFormat", params)
  if not res then
    self._ledger:release(reserved)
    return nil, err
  end
  self._ledger:charged(res, est, reserved)
  return res
end

--- The credits this client's jobs have cost: each job counted once, when a wait, query or generate
-- sees it DONE (ResultCreditConsumed where the answer reports it, else the estimate made at submit;
-- a failed job costs nothing), and Convert3DFormat calls. Returns the total and the breakdown:
-- reported, estimated, pending (the estimates of jobs submitted and not seen to end), pending_jobs,
-- jobs, unpriced (jobs neither reported nor priced), max (max_credits) and left (what the budget
-- has left for new submits).
-- @treturn number the credits spent
-- @treturn table reported, estimated, pending, pending_jobs, jobs, unpriced, max, left
function Client:credits()
  return self._ledger:summary()
end

--- Counts a job of an earlier run (one this client did not submit: a resumed batch's journal) in
-- this client's credits and max_credits budget, once per JobId: `amount` credits spent, or with
-- `pending` true the estimate of a job still running (settled when a wait sees it end).
-- @tparam string job_id the job's JobId
-- @tparam number amount its credits (spent, or the estimate when pending)
-- @tparam[opt] boolean pending true: the job has not ended yet
-- @treturn boolean true (false when the JobId was counted already or the arguments are not a job and a number)
function Client:credits_add(job_id, amount, pending)
  local id = id_string(job_id)
  if not id or type(amount) ~= "number" or amount ~= amount or amount < 0 then return false end
  local l = self._ledger
  if l.seen[id] or l.pending[id] ~= nil then return false end
  if pending then
    l:submitted(id, amount, 0)
  else
    l:done(id, { ResultCreditConsumed = amount })
  end
  return true
end

--- The result cache key of a request (the key generate uses: door, base_url, kind, formats and params;
-- opts.parent, the key of the job a chained step works on, makes the key of that step), or nil when the
-- client has no cache_dir or the params cannot be keyed.
-- @tparam table params the API fields (after generate's ResultFormat fix-up: hy3d.families.deliverable)
-- @tparam[opt] table opts kind, formats, parent
-- @treturn ?string the key (64 hex digits)
function Client:cache_key(params, opts)
  opts = opts or {}
  if not self._cache or type(params) ~= "table" then return nil end
  local p = params
  if opts.parent ~= nil then p = { parent = tostring(opts.parent), params = params } end
  return self:_cache_key(p, { kind = opts.kind, formats = opts.formats })
end

--- The cache entry of `key` restored into opts.dir as opts.name (like generate's hit: nothing is sent):
-- { cached = true, key, files, job, result }, or nil (a miss, or a corrupt entry: err.code CACHE_CORRUPT,
-- fetch it again) and nil or the error.
-- @tparam string key a key of cache_key
-- @tparam[opt] table opts dir, name, extract, max_bytes, kind
-- @treturn[1] table the hit
-- @treturn[2] nil
-- @treturn[2] ?Error err
function Client:cache_lookup(key, opts)
  if not self._cache or type(key) ~= "string" then return nil end
  local hit, err, fatal = self:_from_cache(key, opts or {})
  if hit then return hit end
  if err then
    local e = self:_error(err)
    e.fatal = fatal or nil
    return nil, e
  end
  return nil
end

--- Stores the files a job saved (download_files' list) as the cache entry of `key`, with info
-- (job_id, kind, prompt, credits; no secret). Returns true, or nil and err (the files stay saved).
-- @tparam string key a key of cache_key
-- @tparam table info job_id, kind, prompt, credits
-- @tparam table saved the files of download_files
-- @treturn[1] boolean true
-- @treturn[2] nil
-- @treturn[2] Error err
function Client:cache_store(key, info, saved)
  if not self._cache then return nil, self:_error { kind = "invalid", code = "NO_CACHE", message = "no cache_dir" } end
  local ok, err = self._cache:store(key, self._transport:redact_all(info or {}), saved or {})
  if not ok then return nil, self:_error(err) end
  return true
end

--- Generates a model in one call: submits `params` (a table of API fields, or a prompt string
-- meaning { Prompt = s }), waits for the job and downloads its files. opts: kind, formats (default
-- {"GLB"}; {"all"} for a family registered at run time), dir, name, extract (see download_files),
-- dry_run (the checks and the plan of submit's dry_run, after formats set ResultFormat; nothing sent),
-- on_submit(job) (called as soon as the JobId exists: record it), on_status(result),
-- on_progress(done, total, type), interval and timeout (of the wait), max_bytes, download_timeout
-- (download_files' timeout: bounds the downloads), cache (false: bypass the client's cache_dir).
-- Returns { job = <submit response>, result = <final query result>, files = <list from download_files> }
-- or nil, err; err.job_id is set whenever a job exists. With cache_dir, a request identical to an
-- earlier one (door, base_url, kind, formats, parameters, image bytes) is served from the cache
-- with no request: then `cached` is true (and job, result come from the entry's manifest).
-- @param params a prompt string or a table of API fields
-- @tparam[opt] table opts kind, formats, dir, name, extract, on_submit, on_status, on_progress,
-- interval, timeout, max_bytes, download_timeout, cache, dry_run
-- @treturn[1] table { job, result, files[, cached] } (with dry_run: submit's plan)
-- @treturn[2] nil
-- @treturn[2] Error err
function Client:generate(params, opts)
  if type(params) == "string" then params = { Prompt = params } end
  if type(params) ~= "table" then error("hy3d generate: expects a prompt string or a table of API fields", 2) end
  opts = check_options("hy3d generate", opts, GENERATE_OPTIONS, 2)
  for _, f in ipairs(opts.formats or {}) do      -- a programmer error raises before the job, not after it
    if type(f) ~= "string" then error("hy3d generate: formats must be a list of strings", 2) end
  end
  local job, err
  if self._validate then
    params, err = families.deliverable(opts.kind or "pro", params, opts.formats or families.default_formats(opts.kind))
    if not params then return nil, self:_error(err) end
  end
  if opts.dry_run then                            -- the plan only: no cache, nothing sent
    return self:submit(params, { kind = opts.kind, dry_run = true })
  end
  local key, cache_err = self:_cache_key(params, opts), nil
  if key then
    local hit, fatal
    hit, cache_err, fatal = self:_from_cache(key, opts)
    if hit then return hit end
    if fatal then return nil, self:_error(cache_err) end   -- the entry is good, the user's folder is not
  end
  job, err = self:submit(params, { kind = opts.kind })
  if not job then return nil, err end
  if opts.on_submit then
    local ok, cerr = pcall(opts.on_submit, job)
    if not ok then
      return nil, self:_error { kind = "callback", code = "ON_SUBMIT", job_id = job.JobId,
        message = "on_submit raised: " .. tostring(cerr) .. " (the job goes on; wait again with its JobId)" }
    end
  end
  local res
  res, err = self:wait(job, { interval = opts.interval, timeout = opts.timeout, on_status = opts.on_status })
  if not res then
    err.job_id = err.job_id or job.JobId
    return nil, err
  end
  local got
  got, err = self:download_files(res, { formats = opts.formats, dir = opts.dir, name = opts.name,
    extract = opts.extract, on_progress = opts.on_progress, max_bytes = opts.max_bytes,
    timeout = opts.download_timeout })
  if not got then
    err.result = res
    return nil, err
  end
  if key then
    local ok, serr = self._cache:store(key, self._transport:redact_all { job_id = job.JobId, kind = job.kind,
      prompt = type(params.Prompt) == "string" and params.Prompt:sub(1, 400) or nil,   -- no secret in the manifest
      credits = res.ResultCreditConsumed }, got)
    local repaired = ok and cache_err ~= nil and cache_err.code == "CACHE_CORRUPT"
    if ok then cache_err = nil else cache_err = serr end
    return self._transport:redact_all { job = job, result = res, files = got, key = key, cache_repaired = repaired or nil,
      cache_error = cache_err and self:_error(cache_err) or nil }   -- the files are saved all the same
  end
  return self._transport:redact_all { job = job, result = res, files = got }
end

-- The cache key of a generate (nil without a cache, with opts.cache == false, or for params
-- that cannot be keyed).
function Client:_cache_key(params, opts)
  if not self._cache or opts.cache == false then return nil end
  return (cache.key { door = self.door, base_url = self.base_url, site = self.site, region = self.region,
    kind = opts.kind or "pro", formats = opts.formats or families.default_formats(opts.kind), params = params })
end

-- generate's answer from the cache entry of key, or nil (a miss; "corrupt" and the entry is
-- fetched again). A hit sends nothing: job and result are the entry's, with cached = true.
function Client:_from_cache(key, opts)
  local m, why = self._cache:lookup(key)
  if not m then return nil, why == "corrupt" and { kind = "io", code = "CACHE_CORRUPT",
    message = "the cache entry " .. key:sub(1, 12) .. " did not check out: fetched again" } or nil end
  local got, err = self._cache:restore(m, { dir = opts.dir, name = opts.name, extract = opts.extract,
    max_bytes = opts.max_bytes })
  if not got then return nil, err, true end
  local kind = type(m.kind) == "string" and m.kind or opts.kind or "pro"
  local id = id_string(m.job_id)
  return self._transport:redact_all { cached = true, key = key, files = got,
    job = { JobId = id, kind = kind, cached = true },
    result = { JobId = id, kind = kind, Status = "DONE", ResultCreditConsumed = 0, cached = true } }
end

--- Submits a follow-up job on a previous job's output (hy3d.chain): kind "part", "uv",
-- "reduce_face" ("topology"), "texture", "rigging" ("rig"), "motion" or "convert". src is the
-- previous job's DONE result, job table or JobId; the file the action takes is picked by type,
-- checked against the documented size limit before anything is sent, its URL refreshed by a query
-- when expired. opts: from (the previous job's kind for a bare JobId), type, check_size, count_faces,
-- timeout. Returns the job like submit (convert: its result) or nil, err.
-- @param src the previous job's result, job table or JobId
-- @tparam string kind the follow-up kind
-- @tparam[opt] table params the action's other fields (Prompt, Format, MotionType, ...)
-- @tparam[opt] table opts from, type, check_size, count_faces, timeout
-- @treturn[1] table the job (convert: its result, with ResultFile3Ds)
-- @treturn[2] nil
-- @treturn[2] Error err
function Client:chain(src, kind, params, opts)
  return chain.chain(self, src, kind, params, opts)
end

--- The host-loop pump, non-blocking: drives the transfers of every client in this Lua state
-- and resumes the tasks of hy3d.spawn that are due, spending at most `budget` seconds on resumes
-- (default hy3d.update_budget, 0.25 ms). Call it once per frame. Returns the number of live tasks.
-- @tparam[opt] number budget seconds spent resuming tasks at most
-- @treturn integer the number of live tasks
function Client:update(budget) -- luacheck: ignore 212
  return scheduler.pump(budget)
end

--- Like update, but may first wait up to `timeout` seconds for work (in curl_multi_poll).
-- @tparam[opt] number timeout seconds it may wait for work
-- @treturn integer the number of live tasks
function Client:step(timeout) -- luacheck: ignore 212
  return scheduler.pump_step(timeout)
end

--- A file descriptor that is readable whenever this client's transfers need attention (Linux;
-- nil elsewhere). With events() and timeout() it makes the client a cqueues pollable.
-- @treturn ?integer the file descriptor
function Client:pollfd()
  return self._transport:pollfd()
end

--- The events to wait for on pollfd(): always "r".
-- @treturn string "r"
function Client:events() -- luacheck: ignore 212
  return "r"
end

--- Seconds until this client's transfers need attention even without socket activity (nil:
-- only socket activity will do).
-- @treturn ?number seconds
function Client:timeout()
  return self._transport:timeout()
end

--- Closes the client: cancels transfers in flight and frees the engine. Idempotent.
function Client:close()
  return self._transport:close()
end

Client.__close = Client.close

function Client:__tostring()
  local intl = self.site ~= sites.default and (" (" .. tostring(self.site) .. ")") or ""
  local how = self.door == "gateway" and "gateway, API key set"
    or self.door == "api3" and ("API 3.0%s, %s, SecretId set"):format(intl, self.region)
    or self.door == "local" and "a self-hosted server, no credentials needed"
    or self.door and self._has_key and (self._transport.door_impl.credentials == "pair"
      and (self.door .. " door" .. intl .. ", SecretId set") or (self.door .. ", API key set"))
    or "no credentials"
  return ("hy3d.Client (%s, %s)"):format(self.base_url, how)
end

return {
  new = new,
  defaults = DEFAULTS,
  kinds = families.actions,
  Client = Client,
  isyieldable = transport.isyieldable,
  check_options = check_options,
}
