--- hy3d clients: options and credentials, submit/query/wait on either door (the compatible
-- gateway with an API key, or Tencent Cloud API 3.0 with a SecretId/SecretKey), any API 3.0
-- action by name, downloads (resumable, with progress) and the one-call generate.
-- Every network call runs on the client's engine (one curl multi handle). Inside a coroutine a
-- call never blocks: it yields while its transfer or timer is pending. In the main thread it
-- blocks efficiently in curl_multi_poll.
local core = require "hy3d.core"
local doors = require "hy3d.doors"
local errors = require "hy3d.error"
local files = require "hy3d.files"
local scheduler = require "hy3d.scheduler"
local validate = require "hy3d.validate"

local now = core.now
local new_error = errors.new
local min = math.min
local yield = coroutine.yield

local isyieldable = coroutine.isyieldable or function()
  local co, ismain = coroutine.running()
  return co ~= nil and not ismain
end

local VERSION = core._VERSION

--- Option defaults (environment variables come first: HY3D_API_KEY, HY3D_BASE_URL for the
-- gateway; TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY, TENCENTCLOUD_SESSION_TOKEN,
-- TENCENTCLOUD_REGION and HY3D_ENDPOINT for API 3.0).
local DEFAULTS = {
  base_url = "https://api.ai3d.cloud.tencent.com",
  endpoint = "https://ai3d.tencentcloudapi.com",
  region = "ap-guangzhou",
  version = "2025-05-13",
  timeout = 60,           -- seconds per HTTP request
  connect_timeout = 10,   -- seconds to connect
  poll_interval = 5,      -- seconds between polls in wait
  wait_timeout = 1800,    -- seconds wait polls before giving up (the job goes on)
  stall = 30,             -- seconds an API response may go without a byte
  max_retries = 3,        -- retries after the first try (reads; submits only when provably unsent)
  retry_base = 1,         -- seconds: backoff base (full jitter: random in [0, base * 2^n])
  retry_max = 30,         -- seconds: the longest pause between tries (and the longest Retry-After honoured)
}

local OPTION_TYPES = {
  api_key = "string", base_url = "string", auth_scheme = "string", timeout = "number",
  connect_timeout = "number", poll_interval = "number", user_agent = "string", yield = "function",
  secret_id = "string", secret_key = "string", token = "string", region = "string", endpoint = "string",
  version = "string", language = "string", stall = "number", max_retries = "number", retry_base = "number",
  retry_max = "number", on_retry = "function", retry_submit = "boolean", max_concurrent_jobs = "number",
  validate = "boolean", ca_file = "string", ca_path = "string", insecure = "boolean", allow_http = "boolean",
  log = "function", debug = "boolean", retry_jitter = "function",
}
local SUBMIT_OPTIONS = { kind = "string" }
local QUERY_OPTIONS = { kind = "string" }
local WAIT_OPTIONS = { interval = "number", timeout = "number", on_status = "function", kind = "string" }

--- Job kinds: the API 3.0 Submit and Query/Describe action of each family (the gateway has pro).
local KINDS = {
  pro = { submit = "SubmitHunyuanTo3DProJob", query = "QueryHunyuanTo3DProJob" },
  rapid = { submit = "SubmitHunyuanTo3DRapidJob", query = "QueryHunyuanTo3DRapidJob" },
  part = { submit = "SubmitHunyuan3DPartJob", query = "QueryHunyuan3DPartJob" },
  uv = { submit = "SubmitHunyuanTo3DUVJob", query = "DescribeHunyuanTo3DUVJob" },
  reduce_face = { submit = "SubmitReduceFaceJob", query = "DescribeReduceFaceJob" },
  texture = { submit = "SubmitTextureTo3DJob", query = "DescribeTextureTo3DJob" },
  profile = { submit = "SubmitProfileTo3DJob", query = "DescribeProfileTo3DJob" },
  motion = { submit = "SubmitHunyuanTo3DMotionJob", query = "DescribeHunyuanTo3DMotionJob" },
  rigging = { submit = "SubmitAutoRiggingJob", query = "DescribeAutoRiggingJob" },
}
local DOWNLOAD_OPTIONS = { timeout = "number", stall = "number", max_bytes = "number", on_progress = "function",
                           resume = "boolean", refresh = "function", min_rate = "number", min_avg_rate = "number" }
local FILES_OPTIONS = { formats = "table", dir = "string", name = "string", extract = "boolean", on_progress = "function",
                        max_bytes = "number", kind = "string", timeout = "number", stall = "number" }
local GENERATE_OPTIONS = { kind = "string", formats = "table", dir = "string", name = "string", extract = "boolean",
                           on_submit = "function", on_status = "function", on_progress = "function",
                           interval = "number", timeout = "number", max_bytes = "number", download_timeout = "number" }
local PROGRESS_EVERY = 0.1        -- seconds between on_progress calls while bytes arrive

-- The partial files being written in this Lua state, each to the owner record of its download:
-- two downloads must never share one. Weak values, tied to the live transfer: the download's
-- coroutine holds its owner, so when an abandoned one is collected the owner goes too, and its
-- finalizer closes the transfer it left in flight (the engine anchors that one); a closed client's
-- owners no longer count.
local writing = setmetatable({}, { __mode = "v" })

-- A new owner record for a download by client: owner.box.req is its transfer in flight.
local function new_owner(client)
  local box = {}
  local function finalize()
    if box.req then box.req:close() end
  end
  local owner, proxy = { client = client, box = box }, rawget(_G, "newproxy")
  if proxy then                                   -- Lua 5.1 / LuaJIT: only userdata have __gc
    owner.proxy = proxy(true)
    getmetatable(owner.proxy).__gc = finalize
  else
    setmetatable(owner, { __gc = finalize })
  end
  return owner
end

-- Whether a live download other than `owner` writes the partial file `part`.
local function busy(part, owner)
  local o = writing[part]
  return o ~= nil and o ~= owner and not o.client._closed
end

-- pcall for a callback that may itself yield (a refresh that queries): Lua 5.1's pcall is a
-- C-call boundary a coroutine cannot yield across, LuaJIT's and 5.2+'s are not. On 5.1 the
-- callback runs unprotected.
local yieldable_pcall = pcall
if _VERSION == "Lua 5.1" and not rawget(_G, "jit") then
  yieldable_pcall = function(f, ...) return true, f(...) end
end

-- Secrets per client, kept out of the client table so no dump of it can show them.
local secrets_of = setmetatable({}, { __mode = "k" })

local Client = {}
Client.__index = Client
Client.__name = "hy3d.Client"

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return table.concat(keys, ", ")
end

-- What check_options gives for no options: one shared table (no garbage per call), read-only.
local NO_OPTIONS = setmetatable({}, { __newindex = function() error("hy3d: internal: NO_OPTIONS is read-only", 2) end })

-- Raises on unknown names and wrong types: a typo must never be silent.
local function check_options(what, opts, types, level)
  if opts == nil then return NO_OPTIONS end
  if type(opts) ~= "table" then error(what .. ": options must be a table", level + 1) end
  for k, v in pairs(opts) do
    local want = types[k]
    if not want then
      error(("%s: unknown option '%s' (known: %s)"):format(what, tostring(k), sorted_keys(types)), level + 1)
    end
    if type(v) ~= want then
      error(("%s: option '%s' must be a %s, got %s"):format(what, k, want, type(v)), level + 1)
    end
  end
  return opts
end

local function env(name)
  local v = os.getenv(name)
  if v and v:match("%S") then return v end
  return nil
end

-- Secrets shorter than this are refused: no real one is (an API key, a SecretKey and an STS
-- token are far longer), and one this short turns up inside ordinary words, where redacting it
-- would mangle every message (and a real word could not be told from the key).
local MIN_SECRET = 8

-- A credential as given (trimmed; nil when empty). `what` names where it came from (an option or
-- a variable). For the values that must be kept out of messages, `secret` says what it is and
-- `also` names its other source: shorter than MIN_SECRET raises, naming both and never the value.
local function trimmed(v, what, secret, also)
  if v == nil then return nil end
  v = v:match("^%s*(.-)%s*$")
  if v:find("[%c]") then error("hy3d.new: " .. what .. " contains control characters", 3) end
  if v == "" then return nil end
  if secret and #v < MIN_SECRET then
    error(("hy3d.new: %s (%s) is shorter than %d characters: no real %s is, and one this short could not be "
      .. "kept out of messages"):format(what, also, MIN_SECRET, secret), 3)
  end
  return v
end

local loopback = validate.loopback

local function check_url(v, what, allow_http)
  if not v:match("^https?://[^/%s]+") then
    error(("hy3d.new: %s must be an http:// or https:// URL, got %q"):format(what, v), 3)
  end
  if v:match("^http://") and not allow_http and not loopback(v) then
    error(("hy3d.new: %s is plain http:// to a host that is not loopback; use https://, or pass "
      .. "allow_http = true if you really mean it"):format(what), 3)
  end
  return v
end

-- The credentials and door: explicit options first, then the environment. Returns the mode
-- ("gateway", "api3" or nil when there are none) and the settings of that door.
local function credentials(opts)
  local key = trimmed(opts.api_key, "api_key", "API key", "the option; else HY3D_API_KEY")
  local id = trimmed(opts.secret_id, "secret_id")
  local secret = trimmed(opts.secret_key, "secret_key", "SecretKey",
    "the option; else TENCENTCLOUD_SECRET_KEY")
  if key and (id or secret) then
    error("hy3d.new: give either api_key (the gateway) or secret_id/secret_key (API 3.0), not both", 3)
  end
  if not (key or id or secret) then
    key = trimmed(env("HY3D_API_KEY"), "HY3D_API_KEY", "API key", "read for api_key")
    if not key then
      id = trimmed(env("TENCENTCLOUD_SECRET_ID"), "TENCENTCLOUD_SECRET_ID")
      secret = trimmed(env("TENCENTCLOUD_SECRET_KEY"), "TENCENTCLOUD_SECRET_KEY", "SecretKey", "read for secret_key")
    end
  end
  if (id == nil) ~= (secret == nil) then
    error("hy3d.new: secret_id and secret_key go together (options, or TENCENTCLOUD_SECRET_ID and "
      .. "TENCENTCLOUD_SECRET_KEY)", 3)
  end
  if key then return "gateway", { key = key } end
  if id then
    return "api3", { id = id, secret = secret,
      token = trimmed(opts.token, "token", "STS token", "the option; else TENCENTCLOUD_SESSION_TOKEN")
        or trimmed(env("TENCENTCLOUD_SESSION_TOKEN"), "TENCENTCLOUD_SESSION_TOKEN", "STS token", "read for token") }
  end
  return nil, {}
end

--- Creates a client. Gateway options: api_key, base_url, auth_scheme ("Bearer"). API 3.0
-- options: secret_id, secret_key, token (STS), region, endpoint, version, language. Both:
-- timeout, connect_timeout, poll_interval, user_agent, yield (a function that replaces
-- coroutine.yield). An api_key selects the gateway, a SecretId/SecretKey API 3.0.
local function new(opts)
  opts = check_options("hy3d.new", opts, OPTION_TYPES, 2)
  local mode, cred = credentials(opts)
  local scheme = opts.auth_scheme
  if scheme ~= nil and scheme:lower() ~= "bearer" then
    error("hy3d.new: auth_scheme must be nil (raw key, as documented) or \"Bearer\"", 2)
  end
  for _, name in ipairs { "timeout", "connect_timeout" } do
    local v = opts[name]
    if v ~= nil and (v ~= v or v <= 0) then error("hy3d.new: " .. name .. " must be > 0", 2) end
  end
  local pi = opts.poll_interval
  if pi ~= nil and (pi ~= pi or pi < 0) then
    error("hy3d.new: poll_interval must be >= 0", 2)
  end
  for _, name in ipairs { "stall", "retry_base", "retry_max" } do
    local v = opts[name]
    if v ~= nil and (v ~= v or v < 0) then error("hy3d.new: " .. name .. " must be >= 0", 2) end
  end
  local language = opts.language
  if language ~= nil and not language:match("^%a%a%-%a%a$") then
    error("hy3d.new: language must be a language tag such as \"en-US\" or \"zh-CN\" (X-TC-Language; API 3.0 "
      .. "only: a gateway client ignores it)", 2)
  end
  local mr, mcj = opts.max_retries, opts.max_concurrent_jobs
  if mr ~= nil and (mr ~= mr or mr < 0 or mr ~= math.floor(mr)) then
    error("hy3d.new: max_retries must be a whole number >= 0", 2)
  end
  if mcj ~= nil and (mcj ~= mcj or mcj < 1 or mcj ~= math.floor(mcj)) then
    error("hy3d.new: max_concurrent_jobs must be a whole number >= 1", 2)
  end
  local base_url
  if mode == "api3" then
    base_url = check_url(opts.endpoint or env("HY3D_ENDPOINT") or DEFAULTS.endpoint, "endpoint", opts.allow_http)
  else
    base_url = check_url(opts.base_url or env("HY3D_BASE_URL") or DEFAULTS.base_url, "base_url", opts.allow_http)
  end
  local log = opts.log
  if not log and opts.debug then log = function(line) io.stderr:write(line, "\n") end end
  local region = opts.region or env("TENCENTCLOUD_REGION") or DEFAULTS.region
  local timeout = opts.timeout or DEFAULTS.timeout
  local user_agent = opts.user_agent
    or ("hy3d/%s (libcurl/%s; %s)"):format(VERSION, core.curl_version, _VERSION)
  local self = setmetatable({
    base_url = base_url,
    mode = mode,
    region = mode == "api3" and region or nil,
    request_timeout = timeout,
    poll_interval = opts.poll_interval or DEFAULTS.poll_interval,
    _engine = core.new {
      base_url = base_url,
      authorization = cred.key and (scheme and (doors.gateway.scheme .. " " .. cred.key) or cred.key) or nil,
      tc3 = mode == "api3" and {
        secret_id = cred.id, secret_key = cred.secret, token = cred.token, region = region,
        version = opts.version or DEFAULTS.version, language = language, service = doors.api3.service,
      } or nil,
      envelope = doors.envelope,
      user_agent = user_agent,
      timeout = timeout,
      connect_timeout = opts.connect_timeout or DEFAULTS.connect_timeout,
      stall = (opts.stall or DEFAULTS.stall) > 0 and (opts.stall or DEFAULTS.stall) or nil,
      ca_file = opts.ca_file, ca_path = opts.ca_path, insecure = opts.insecure == true,
    },
    _yield = opts.yield,
    _has_key = mode ~= nil,
    _retry = { max = mr or DEFAULTS.max_retries, base = opts.retry_base or DEFAULTS.retry_base,
               cap = opts.retry_max or DEFAULTS.retry_max, hook = opts.on_retry, submit = opts.retry_submit == true,
               jitter = opts.retry_jitter },
    _validate = opts.validate ~= false,
    _allow_http = opts.allow_http == true,
    _log = log,
    _slots = mcj and { max = mcj, active = {}, count = 0, queue = {}, next_ticket = 1 } or nil,
    _error_ctx = { door = mode, language = mode == "api3" and language or nil },
  }, Client)
  if not self._yield and scheduler.default_yield then self._yield = scheduler.default_yield(self) end
  scheduler.add_client(self)
  local secrets = {}
  for _, v in ipairs { "key", "secret", "token" } do secrets[#secrets + 1] = cred[v] end
  secrets_of[self] = secrets
  return self
end

-- ===== internals =====

function Client:_error(fields)
  return new_error(fields, secrets_of[self], self._error_ctx)
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

-- The action names of a job kind, or nil and an invalid error (unknown kind, or not on this door).
function Client:_kind(kind)
  kind = kind or "pro"
  local k = KINDS[kind]
  if not k then
    local names = {}
    for name in pairs(KINDS) do names[#names + 1] = name end
    table.sort(names)
    return nil, self:_error { kind = "invalid", code = "UNKNOWN_KIND",
      message = ("unknown job kind %q (kinds: %s)"):format(kind, table.concat(names, ", ")) }
  end
  if self.mode == "gateway" and kind ~= "pro" then
    return nil, self:_error { kind = "invalid", code = "KIND_NEEDS_API3",
      message = ("the gateway (api_key) offers only Pro jobs; kind %q needs API 3.0 credentials "
        .. "(secret_id and secret_key)"):format(kind) }
  end
  return k, kind
end

-- One try: an action on API 3.0 (signed), or the gateway route (hy3d.doors). A submit goes on a
-- fresh connection.
function Client:_try(action, params, timeout, submit)
  local door, req, err = doors[self.mode] or doors.gateway
  if self.mode == "api3" then
    req, err = self._engine:request("POST", door.path, params, timeout, submit, action)
  else
    req, err = self._engine:request("POST", submit and door.submit or door.query, params, timeout, submit)
  end
  if not req then return nil, err end
  return self:_settle(req)
end

-- Network failures that prove the request never reached the server.
local UNSENT = { COULDNT_RESOLVE_HOST = true, COULDNT_RESOLVE_PROXY = true, COULDNT_CONNECT = true,
                 SSL_CONNECT_ERROR = true, PROXY = true }

-- Whether err may be retried. Reads: network errors, 429, 5xx, RequestLimitExceeded*. A submit
-- only when it provably never reached the service or the service refused it; `ambiguous` is
-- true when a submit may have created a job. Never a TLS verification (or TLS setup) failure:
-- another try meets the same certificate.
function Client:_retryable(err, submit)
  if errors.tls_permanent(err) then return false end   -- an untrusted peer stays untrusted
  local limited = err.kind == "api" and tostring(err.code or ""):match("^RequestLimitExceeded") ~= nil
  local status = err.http_status
  if submit then
    if limited or (err.kind == "http" and status == 429) then return true end
    if err.kind == "network" and (UNSENT[err.code] or err.sent == false) then return true end
    if err.kind == "invalid" or err.kind == "api" or (err.kind == "http" and status and status < 500) then
      return false
    end
    return self._retry.submit, true                -- after sending: ambiguous
  end
  if err.kind == "network" then return err.code ~= "CANCELLED" end
  if err.kind == "http" then return status == 429 or (status ~= nil and status >= 500) end
  return limited
end

-- Seconds to pause before try number `attempt` + 1: full jitter, or the server's Retry-After.
function Client:_backoff(attempt, err)
  local r = self._retry
  if err.retry_after then return err.retry_after end
  return (r.jitter or math.random)() * math.min(r.cap, r.base * 2 ^ (attempt - 1))
end

local AMBIGUOUS = " — the submit may have reached the service, so a job may exist (and be billed): "
  .. "look for it before submitting again (hy3d does not retry it unless retry_submit = true)"

-- Runs one API call with retries (see _retryable), logging each try when asked. Every error
-- carries `attempts`. `deadline` (monotonic) bounds the pauses: when only it stops the retries,
-- the error carries past_deadline = true. Answers come back with every secret redacted.
function Client:_api(action, params, timeout, deadline)
  local submit = action:match("^Submit") ~= nil
  local attempt = 0
  while true do
    attempt = attempt + 1
    local t0 = now()
    if self._log then self:_log_line(("hy3d: -> %s %s %s"):format(self.mode, action, core.encode(params) or "?")) end
    local res, err = self:_try(action, params, timeout, submit)
    if self._log then
      self:_log_line(("hy3d: <- %s %s in %.3f s%s"):format(action, res and "ok" or tostring(self:_error(err)),
        now() - t0, res and res.RequestId and (", request " .. tostring(res.RequestId)) or ""))
    end
    if res then return errors.redact_all(res, secrets_of[self]) end   -- an answer may echo a secret
    err.attempts = attempt
    local retry, ambiguous = self:_retryable(err, submit)
    if ambiguous then err.retryable = false end
    local delay = retry and self:_backoff(attempt, err)
    local past = retry and deadline and now() + delay >= deadline
    if not retry or attempt > self._retry.max or delay > self._retry.cap or past then
      errors.hint_plain_http(err, self.base_url)
      if past and attempt <= self._retry.max and delay <= self._retry.cap then err.past_deadline = true end
      if ambiguous then
        err.message = tostring(err.message or err.code) .. AMBIGUOUS
        err.maybe_submitted = true
      end
      return nil, err
    end
    if self._retry.hook then
      local ok, herr = pcall(self._retry.hook, attempt, delay, self:_error(err))
      if not ok then
        return nil, { kind = "callback", code = "ON_RETRY", attempts = attempt,
                      message = "on_retry raised: " .. tostring(herr) }
      end
    end
    self:_sleep_until(now() + delay)
  end
end

-- One line to the log option, with every secret taken out.
function Client:_log_line(line)
  local ok = pcall(self._log, errors.redact(line, secrets_of[self]))
  if not ok then self._log = nil end              -- a broken logger is dropped, never fatal
end

-- Gives control back to whoever resumes this coroutine: the pump, for a spawned task (told what
-- it waits for: a request or a wake time), else the `yield` option or coroutine.yield. `delay`
-- hints when hy3d needs control back.
function Client:_pause(delay, req, wake)
  if scheduler.current() then
    yield(scheduler.TOKEN, req, wake)
  elseif self._yield then
    self._yield(delay or 0)
  else
    yield()
  end
end

-- Closes req and passes its result on: its easy handle (5.5 KB in libcurl 7.88) and body go back
-- now, not when the collector gets to the userdata (Lua sees ~0.5 KB of it, so that can be late).
local function closing(req, ...)
  req:close()
  return ...
end

-- Runs a started request to completion: yields inside a coroutine, blocks in the main thread.
function Client:_settle(req)
  local eng = self._engine
  if isyieldable() then
    while not eng:wait(req, 0) do self:_pause(eng:timeout(), req) end
  else
    eng:wait(req)
  end
  return closing(req, req:result())
end

-- Waits until the monotonic time t while keeping every transfer moving.
function Client:_sleep_until(t)
  local eng = self._engine
  if isyieldable() then
    while true do
      eng:step(0)
      local left = t - now()
      if left <= 0 then return end
      self:_pause(left, nil, t)
    end
  end
  while true do
    local left = t - now()
    if left <= 0 then return end
    eng:step(left)
  end
end

local id_string = validate.job_id   -- a JobId as a string, or nil (never "inf" for 1e400)

-- The JobId of a job table or of a bare JobId given by the caller; anything else is the caller's
-- mistake and raises (at `level`, default the caller of the public method).
local function job_id_of(job, what, level)
  local id = id_string(type(job) == "table" and job.JobId or job)
  if not id then
    error(what .. ": expects a job table (with JobId) or a JobId (a string, or a whole number)", level or 3)
  end
  return id
end

-- The kind of a job table or of the options given with a bare JobId.
local function kind_of(job, opts)
  return opts.kind or (type(job) == "table" and job.kind) or nil
end

-- ===== public methods =====

--- Submits a job. `params` is a table of API fields sent as the JSON body unchanged; opts.kind
-- picks the family: "pro" (default), "rapid", "part", "uv", "reduce_face", "texture", "profile",
-- "motion", "rigging" (all but pro need API 3.0). Returns the job (the unwrapped response: JobId,
-- RequestId, and `kind`) or nil, err.
function Client:submit(params, opts)
  if type(params) ~= "table" then error("hy3d submit: expects a table of API fields", 2) end
  opts = check_options("hy3d submit", opts, SUBMIT_OPTIONS, 2)
  local err = self:_no_key()
  if err then return nil, err end
  local k, kind = self:_kind(opts.kind)
  if not k then return nil, kind end
  if self._validate then
    local bad = validate.check(kind, params)
    if bad then
      return nil, self:_error { kind = "invalid", code = "INVALID_PARAMETER", field = bad.field,
        message = bad.message .. " (checked locally; nothing was sent — validate = false skips the check)" }
    end
  end
  local ticket = self:_take_slot(kind)
  local job, rerr
  while true do
    job, rerr = self:_api(k.submit, params)
    if job or not self._slots or rerr.code ~= "RequestLimitExceeded.JobNumExceed" then break end
    self:_sleep_until(now() + math.min(self._retry.cap, math.max(1, self.poll_interval)))   -- the account is full
    self:_wait_for_slot()
  end
  if not job then
    self:_release_slot(ticket)
    return nil, self:_api_error(rerr)
  end
  local id = id_string(job.JobId)
  if not id then                                  -- none, or 1e400 (never "inf"), 2.5, a table
    self:_release_slot(ticket)
    return nil, self:_error { kind = "decode", code = "NO_JOB_ID", request_id = job.RequestId,
      message = "the submit response has no JobId (a string or a whole number)" }
  end
  job.JobId = id
  job.kind = kind
  self:_hold_slot(ticket, job)
  return job
end

-- ===== max_concurrent_jobs: a local FIFO of submits, a slot per unfinished job =====

-- Waits (yielding, or blocking efficiently) until this submit is first in line and a slot is
-- free. Returns a ticket, or nil when the option is off.
function Client:_take_slot(kind)
  local slots = self._slots
  if not slots then return nil end
  local ticket = { n = slots.next_ticket, kind = kind }
  slots.next_ticket = slots.next_ticket + 1
  slots.queue[#slots.queue + 1] = ticket
  while slots.queue[1] ~= ticket or slots.count >= slots.max do self:_wait_for_slot() end
  table.remove(slots.queue, 1)
  slots.count = slots.count + 1
  return ticket
end

-- Pauses a moment; when every slot is held, polls the oldest job this client holds a slot for,
-- so a slot frees even when nobody waits on that job.
function Client:_wait_for_slot()
  local slots = self._slots
  if slots.count >= slots.max then
    local oldest
    for _, job in pairs(slots.active) do
      if not oldest or job.held < oldest.held then oldest = job end
    end
    if oldest and now() - (oldest.checked or 0) >= self.poll_interval then
      oldest.checked = now()
      local res = self:_api(KINDS[oldest.kind].query, { JobId = oldest.id })
      if res and (res.Status == "DONE" or res.Status == "FAIL") then self:_job_ended(oldest.id) end
    end
  end
  self:_sleep_until(now() + 0.05)
end

function Client:_hold_slot(ticket, job)
  if ticket then self._slots.active[job.JobId] = { id = job.JobId, kind = ticket.kind, held = now() } end
end

function Client:_release_slot(ticket)
  if ticket then self._slots.count = self._slots.count - 1 end
end

-- A job of this client reached DONE or FAIL: its slot is free.
function Client:_job_ended(id)
  local slots = self._slots
  if slots and slots.active[id] then
    slots.active[id] = nil
    slots.count = slots.count - 1
  end
end

--- Queries a job once (a job table, or a JobId with opts.kind when it is not pro). Returns the
-- unwrapped response (Status, ResultFile3Ds, ErrorCode, ...) or nil, err.
function Client:query(job, opts)
  local id = job_id_of(job, "hy3d query")
  opts = check_options("hy3d query", opts, QUERY_OPTIONS, 2)
  local err = self:_no_key()
  if err then return nil, err end
  local k, kind = self:_kind(kind_of(job, opts))
  if not k then return nil, kind end
  local res, qerr = self:_api(k.query, { JobId = id })
  if not res then
    qerr.job_id = id
    return nil, self:_api_error(qerr)
  end
  res.kind = kind
  if res.JobId == nil then res.JobId = id end
  if res.Status == "DONE" or res.Status == "FAIL" then self:_job_ended(id) end
  return res
end

--- Polls a job until it is DONE (returns the result) or FAIL (nil, err of kind "job").
-- opts: interval (seconds between polls), timeout (total seconds, default 1800, bounding every
-- poll too; on expiry nil, err of kind "timeout" with job_id), on_status(result) (called when
-- Status changes), kind (for a bare JobId that is not pro).
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
  local deadline = now() + limit
  local last
  local function timed_out(cause)
    return self:_error { kind = "timeout", code = "WAIT_TIMEOUT", job_id = id, status = last, cause = cause,
      message = ("job %s did not finish within %g s (last status %s%s); it goes on at the service:"
        .. " wait again with its JobId"):format(id, limit, tostring(last),
        cause and ("; the last poll: " .. tostring(self:_error(cause))) or "") }
  end
  while true do
    local left = deadline - now()
    if left <= 0 then return nil, timed_out() end
    local res, qerr = self:_api(k.query, { JobId = id }, min(self.request_timeout, left), deadline)
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
    if status ~= last then
      last = status
      if opts.on_status then
        local ok, cerr = pcall(opts.on_status, res)
        if not ok then
          return nil, self:_error { kind = "callback", code = "ON_STATUS", job_id = id, status = status,
            message = "on_status raised: " .. tostring(cerr) .. " (the job goes on; wait again with its JobId)" }
        end
      end
    end
    if status == "DONE" or status == "FAIL" then self:_job_ended(id) end
    if status == "DONE" then return res end
    if status == "FAIL" then
      local code = res.ErrorCode ~= "" and res.ErrorCode or "FAIL"
      return nil, self:_error { kind = "job", code = code, job_id = id, request_id = res.RequestId,
        message = (res.ErrorMessage and res.ErrorMessage ~= "") and res.ErrorMessage or ("job " .. id .. " failed"),
        result = res }
    end
    self:_sleep_until(min(now() + interval, deadline))
  end
end

-- nil on API 3.0, else the error that says the method `what` (call, convert) needs it.
function Client:_needs_api3(what)
  if self.mode == "api3" then return nil end
  return self:_error { kind = "invalid", code = what:upper() .. "_NEEDS_API3",
    message = what .. " reaches API 3.0 actions and needs secret_id and secret_key; this client uses the gateway (api_key)" }
end

--- Calls any API 3.0 action by name with a table of parameters: the escape hatch for actions
-- hy3d has no method for. Returns the unwrapped Response or nil, err (API errors: kind "api",
-- code, message, request_id). Needs API 3.0 credentials.
function Client:call(action, params)
  if type(action) ~= "string" or not action:match("^%w+$") then
    error("hy3d call: action must be an API action name such as \"DescribeAutoRiggingJob\"", 2)
  end
  if params ~= nil and type(params) ~= "table" then error("hy3d call: params must be a table", 2) end
  local err = self:_no_key()
  if err then return nil, err end
  err = self:_needs_api3("call")
  if err then return nil, err end
  local res, cerr = self:_api(action, params or {})
  if not res then return nil, self:_api_error(cerr) end
  return res
end

--- Converts a model file to another format (the synchronous Convert3DFormat): params are
-- File3D (the model's URL) and Format (STL, USDZ, FBX, MP4 or GIF). Returns the response with
-- ResultFile3D (the converted file's URL) or nil, err. Needs API 3.0 credentials.
function Client:convert(params)
  if type(params) ~= "table" then error("hy3d convert: expects { File3D = url, Format = ... }", 2) end
  local err = self:_no_key() or self:_needs_api3("convert")
  if err then return nil, err end
  return self:call("Convert3DFormat", params)
end

-- Runs a started download to completion like _settle, calling prog.fn(done, total) as bytes
-- arrive (at most every PROGRESS_EVERY seconds). Returns req:result(), or nil and a callback error.
function Client:_settle_download(req, prog)
  if not prog.fn then return self:_settle(req) end
  local eng, yieldable = self._engine, isyieldable()
  local function report()
    local done, total = req:progress()
    if done == prog.done and total == prog.total then return nil end
    prog.done, prog.total = done, total
    local ok, perr = pcall(prog.fn, done, total)
    if not ok then
      req:close()
      return { kind = "callback", code = "ON_PROGRESS", message = "on_progress raised: " .. tostring(perr) }
    end
  end
  while not eng:wait(req, yieldable and 0 or PROGRESS_EVERY) do
    local perr = report()
    if perr then return nil, perr end
    if yieldable then self:_pause(PROGRESS_EVERY, req, now() + PROGRESS_EVERY) end
  end
  local perr = report()
  if perr then return nil, perr end
  return closing(req, req:result())
end

-- Whether a failed download leaves a partial file worth resuming: the transfer broke off.
local function resumable(err)
  return err.kind == "network" or err.kind == "timeout" or err.kind == "callback"
end

-- The download loop behind Client:download: resumes after network failures (up to max_retries),
-- starts over when the server cannot continue the partial file (or sends another version of it),
-- and asks opts.refresh once for a fresh URL when the file host says 403. state.deadline (if any)
-- bounds the whole loop. Returns bytes, or nil and an error table.
function Client:_download(url, path, state, opts)
  local prog = { fn = opts.on_progress }
  local refreshed, restarted, attempt = false, false, 0
  if opts.resume == false then files.discard_partial(state.part) end
  while true do
    local left = state.deadline and state.deadline - now()
    if left and left <= 0 then
      return nil, { kind = "timeout", code = "TIMEOUT",
        message = ("the download did not finish within its timeout (%g s)"):format(opts.timeout) }
    end
    local req, err = self._engine:download(url, state.part, {
      timeout = left and math.max(left, 0.001), stall = opts.stall or self.request_timeout, max_bytes = opts.max_bytes,
      min_rate = opts.min_rate, min_avg_rate = opts.min_avg_rate, resume = true, meta = files.partial_meta(state.part),
      allow_http = self._allow_http })
    if not req then return nil, err end
    state.owner.box.req = req
    local bytes, derr = self:_settle_download(req, prog)
    state.owner.box.req = nil
    if bytes then
      if prog.fn and (prog.done ~= bytes or prog.total ~= bytes) then   -- the last call says "all of it"
        local ok, perr = pcall(prog.fn, bytes, bytes)
        if not ok then
          return nil, { kind = "callback", code = "ON_PROGRESS", message = "on_progress raised: " .. tostring(perr) }
        end
      end
      return bytes
    end
    attempt = attempt + 1
    local status = derr.http_status
    if (status == 416 or derr.code == "RANGE_MISMATCH" or derr.code == "OBJECT_CHANGED") and not restarted then
      local have = files.size(state.part)
      if status == 416 and derr.total and have == derr.total then return have end   -- it was all there
      restarted = true                            -- what the part holds cannot be continued
      files.discard_partial(state.part)
    elseif status == 403 and opts.refresh and not refreshed then
      refreshed = true
      local ok, fresh, rerr = yieldable_pcall(opts.refresh)
      if not ok then
        return nil, { kind = "callback", code = "REFRESH", message = "refresh raised: " .. tostring(fresh) }
      elseif type(fresh) ~= "string" then
        rerr = type(rerr) == "table" and rerr or { kind = "http", code = derr.code, http_status = 403 }
        rerr.message = "the file URL was refused (expired?) and no fresh one was found: " .. tostring(rerr.message or rerr.code)
        return nil, rerr
      end
      local part = files.partial_path(fresh, path)
      if part ~= state.part then                  -- keep what arrived under the new name
        if busy(part, state.owner) then return nil, { kind = "invalid", code = "DOWNLOAD_IN_PROGRESS",
          message = "another download is writing " .. part } end
        files.move_partial(state.part, part)
        if writing[state.part] == state.owner then writing[state.part] = nil end
        writing[part], state.part = state.owner, part
      end
      url = fresh
    elseif derr.kind == "network" and self:_retryable(derr, false) and attempt <= self._retry.max then
      local pause = math.min(self:_backoff(attempt, derr), self._retry.cap)
      if state.deadline then pause = math.min(pause, math.max(0, state.deadline - now())) end
      self:_sleep_until(now() + pause)
    else
      return nil, errors.hint_plain_http(derr, url)
    end
  end
end

--- Streams url to the file at path. Bytes go to a partial file beside it (see
-- hy3d.partial_path) that is renamed over path only when complete, so path never holds half a
-- file. A broken transfer is resumed with an HTTP Range request (up to max_retries times, and
-- again by a later call with the same URL and path) carrying If-Range with the first answer's
-- ETag or Last-Modified (kept in a sidecar beside the partial file); a server that cannot
-- continue it, or that sends the rest of another version, gets the whole file fetched anew. Never
-- sends the API credentials; an https link redirected to plain http is refused unless the target
-- is loopback or the client has allow_http. opts: timeout (total seconds for the whole call,
-- retries included; default none), stall (seconds of the low-speed window, default the client's
-- timeout), min_rate (bytes/s the transfer must keep over that window, default 4096; 0: only a
-- window without a byte), min_avg_rate (once the size is known the download must end within
-- stall + size / min_avg_rate seconds, default 1024; 0: no such ceiling), max_bytes,
-- on_progress(done_bytes, total_bytes or nil), resume (false: start over), refresh (a function
-- returning a fresh URL, called once when the file host answers 403 — an expired link).
-- Returns path, bytes or nil, err (err.partial names the partial file when it was kept).
function Client:download(url, path, opts)
  if type(url) ~= "string" or url == "" then error("hy3d download: url must be a string", 2) end
  if type(path) ~= "string" or path == "" then error("hy3d download: path must be a string", 2) end
  opts = check_options("hy3d download", opts, DOWNLOAD_OPTIONS, 2)
  if url:find("%z") or path:find("%z") then
    return nil, self:_error { kind = "invalid", code = "BAD_PATH",
      message = ("the download %s holds a NUL byte (refused: it would name another file)"):format(
        url:find("%z") and "URL" or "path") }
  end
  if not url:match("^https?://") then
    return nil, self:_error { kind = "invalid", code = "BAD_URL", message = "only http:// and https:// URLs can be downloaded" }
  end
  local state = { part = files.partial_path(url, path), owner = new_owner(self),
                  deadline = opts.timeout and opts.timeout > 0 and now() + opts.timeout or nil }
  if busy(state.part, state.owner) then
    return nil, self:_error { kind = "invalid", code = "DOWNLOAD_IN_PROGRESS",
      message = "another download of this file to " .. path .. " is running" }
  end
  writing[state.part] = state.owner
  local bytes, err = self:_download(url, path, state, opts)
  if writing[state.part] == state.owner then writing[state.part] = nil end
  if not bytes then
    if resumable(err) and (files.size(state.part) or 0) > 0 then
      err.partial = state.part
      err.message = tostring(err.message or err.code) .. " (the partial file is kept: downloading again resumes it)"
    elseif err.code ~= "NOT_REGULAR_FILE" then
      files.discard_partial(state.part)
    end
    return nil, self:_error(err)
  end
  local renamed, rerr = os.rename(state.part, path)
  if not renamed then
    files.discard_partial(state.part)
    return nil, self:_error { kind = "io", code = "RENAME_FAILED", message = tostring(rerr) }
  end
  os.remove(files.partial_meta(state.part))
  return path, bytes
end

-- The result (a DONE query response) of a job given as a result, a job table or a JobId.
function Client:_done_result(job, opts)
  if type(job) == "table" and job.ResultFile3Ds then return job end
  local res, err = self:query(job_id_of(job, "hy3d download_files", 4), { kind = kind_of(job, opts) })
  if not res then return nil, err end
  if res.Status ~= "DONE" then
    return nil, self:_error { kind = "invalid", code = "NOT_DONE", job_id = id_string(res.JobId), status = res.Status,
      message = ("job %s is %s, not DONE: wait for it first"):format(tostring(id_string(res.JobId)), tostring(res.Status)) }
  end
  return res
end

-- The result files to fetch: every one for {"all"}, else one per format asked (case-insensitive).
-- Each gets `type`, the server's Type made a safe token (upper case; "FILE" when nothing of it is
-- safe), and keeps the Type as the server gave it in `server_type`.
function Client:_pick_files(res, formats)
  local list, picked = type(res.ResultFile3Ds) == "table" and res.ResultFile3Ds or {}, {}
  local want, seen = {}, {}
  for _, f in ipairs(formats) do
    if type(f) ~= "string" then error("hy3d download_files: formats must be a list of strings", 4) end
    want[#want + 1] = f:upper()
  end
  for _, w in ipairs(want) do
    local found = false
    for i, f in ipairs(list) do
      if type(f) == "table" and type(f.Url) == "string" and type(f.Type) == "string"
          and (w == "ALL" or f.Type:upper() == w) and not seen[i] then
        seen[i], found = true, true
        picked[#picked + 1] = { type = files.safe_token(f.Type:upper()) or "FILE", server_type = f.Type, url = f.Url,
                                index = i }
      end
    end
    if not found and w ~= "ALL" then
      local have = {}
      for _, f in ipairs(list) do
        have[#have + 1] = type(f) == "table" and files.safe_token(f.Type, 32) or "?"
      end
      return nil, self:_error { kind = "invalid", code = "NO_SUCH_FORMAT", job_id = id_string(res.JobId),
        message = ("job %s has no %s result (it has: %s)"):format(tostring(id_string(res.JobId)),
          w, #have > 0 and table.concat(have, ", ") or "no files") }
    end
  end
  return picked
end

-- A path in dir that no earlier result of this call took: stem.ext (unless `typed`), else
-- stem_type.ext, else stem_type_2.ext, ... (ext "" for a folder).
local function unused(used, dir, stem, ftype, ext, typed)
  local n = typed and 2 or 1
  local path = typed and files.join(dir, ("%s_%s%s"):format(stem, ftype:lower(), ext)) or files.join(dir, stem .. ext)
  while used[path] do
    n = n + 1
    path = files.join(dir, ("%s_%s%s%s"):format(stem, ftype:lower(), n > 2 and "_" .. (n - 1) or "", ext))
  end
  used[path] = true
  return path
end

--- Downloads a finished job's result files. `job` is a DONE query result, a job table or a
-- JobId (queried first; opts.kind for a JobId that is not pro). opts: formats (File3D types,
-- default {"GLB"}; {"all"} for every file), dir (default "."), name (file base name, default the
-- JobId), extract (unzip zip results, such as OBJ, into <dir>/<name>_<type>/), on_progress(done,
-- total, type), max_bytes (each file's download, and with extract what each archive unpacks to),
-- timeout, stall. Names from the server never leave dir: the JobId and each Type are reduced to
-- letters, digits, "_" and "-" (files.safe_token). An expired URL (403) is refreshed by querying
-- the job again. Returns a list of {type, path, bytes, url[, dir, entries]} or nil, err.
function Client:download_files(job, opts)
  opts = check_options("hy3d download_files", opts, FILES_OPTIONS, 2)
  local name = opts.name
  if name and (name:find("[/%c]") or name == "" or name == "." or name == "..") then
    error("hy3d download_files: name must be a plain file name", 2)
  end
  local res, err = self:_done_result(job, opts)
  if not res then return nil, err end
  local job_id = id_string(res.JobId)
  if res.JobId ~= nil and not job_id then
    return nil, self:_error { kind = "decode", code = "BAD_JOB_ID", result = res,
      message = ("the result's JobId is not a JobId (a %s)"):format(type(res.JobId)) }
  end
  local picked
  picked, err = self:_pick_files(res, opts.formats or { "GLB" })
  if not picked then return nil, err end
  local dir, base = opts.dir or ".", name or files.safe_token(job_id, 64) or "result"
  local ok, merr = files.mkdirs(dir)
  if not ok then
    merr.job_id = job_id
    return nil, self:_error(merr)
  end
  local out, used = {}, {}
  for _, f in ipairs(picked) do
    local path = unused(used, dir, base, f.type, "." .. files.extension(f.url, f.type))
    local function refresh()                      -- the same file of the job, under a fresh URL
      local fresh, qerr = self:query(job_id, { kind = res.kind or opts.kind })
      if not fresh then return nil, qerr end
      local entry = type(fresh.ResultFile3Ds) == "table" and fresh.ResultFile3Ds[f.index]
      if type(entry) == "table" and type(entry.Type) == "string" and entry.Type:upper() == f.server_type:upper()
          and type(entry.Url) == "string" then
        return entry.Url
      end
      return nil, { kind = "invalid", code = "NO_SUCH_FORMAT", message = "the job no longer lists this file" }
    end
    local on_progress = opts.on_progress and function(done, total) return opts.on_progress(done, total, f.type) end
    local saved, bytes = self:download(f.url, path, { on_progress = on_progress, max_bytes = opts.max_bytes,
      timeout = opts.timeout, stall = opts.stall, refresh = job_id and refresh or nil })
    if not saved then
      local derr = bytes
      derr.job_id, derr.files = job_id, out
      return nil, derr
    end
    local rec = { type = f.type, path = path, bytes = bytes, url = f.url }
    if opts.extract and files.is_zip(path) then
      rec.dir = unused(used, dir, base, f.type, "", true)
      local names, zerr = core.unzip(path, rec.dir, { overwrite = true, max_bytes = opts.max_bytes })
      if not names then
        zerr.job_id, zerr.files = job_id, out
        out[#out + 1] = rec
        rec.dir = nil
        return nil, self:_error(zerr)
      end
      rec.entries = names
    end
    out[#out + 1] = rec
  end
  return out
end

-- What a job of each kind makes, for generate's check before it submits (reference §5.3, §5.4;
-- other kinds are left to the service): the files it returns unasked (`made(params)`), and the
-- ResultFormat values that ask for one more (pro) or for the one file instead (rapid).
local MAKES = {
  pro = { made = function(p) return p.GenerateType == "Geometry" and { "GLB" } or { "OBJ", "GLB" } end,
          extra = { STL = true, USDZ = true, FBX = true }, words = "OBJ and GLB (a Geometry job: GLB only), and "
            .. "the one of STL, USDZ or FBX that ResultFormat asks for", adds = true },
  rapid = { made = function(p) return { p.EnableGeometry == true and "GLB" or "OBJ" } end,
            extra = { OBJ = true, GLB = true, STL = true, USDZ = true, FBX = true, MP4 = true },
            words = "one file: OBJ (GLB with EnableGeometry) unless ResultFormat asks for GLB, STL, USDZ, FBX or MP4" },
}

-- Checks, before anything is sent, that a job of `kind` with `params` makes every format in
-- `formats` (not {"all"}), and when ResultFormat is not set and one such field makes the list
-- deliverable, returns a copy of params with it set. Returns params (maybe that copy), or nil and
-- an invalid / FORMAT_NOT_REQUESTED error.
function Client:_deliverable(kind, params, formats)
  local rule = MAKES[kind]
  if not rule or type(formats) ~= "table" then return params end
  local want = {}
  for _, f in ipairs(formats) do
    if type(f) ~= "string" then return params end          -- generate raised already
    if f:upper() == "ALL" then return params end
    want[#want + 1] = f:upper()
  end
  local rf = type(params.ResultFormat) == "string" and params.ResultFormat:upper() or nil
  local have = {}
  if not (rf and not rule.adds) then
    for _, t in ipairs(rule.made(params)) do have[t] = true end
  end
  if rf then have[rf] = true end
  local missing = {}
  for _, w in ipairs(want) do
    if not have[w] then missing[#missing + 1] = w end
  end
  if #missing == 0 then return params end
  -- one format asked beyond the defaults, and ResultFormat free to ask for it
  if not rf and #missing == 1 and rule.extra[missing[1]] and (rule.adds or #want == 1) then
    local copy = {}
    for k, v in pairs(params) do copy[k] = v end
    copy.ResultFormat = missing[1]
    return copy
  end
  local asked = {}
  for i, w in ipairs(missing) do asked[i] = files.safe_token(w, 32) or "?" end
  return nil, self:_error { kind = "invalid", code = "FORMAT_NOT_REQUESTED",
    message = ("a %s job%s makes %s; formats asks for %s too (nothing was sent: set ResultFormat, or ask for "
      .. "formats the job makes)"):format(kind, rf and (" with ResultFormat " .. rf) or "", rule.words,
      table.concat(asked, ", ")) }
end

--- Generates a model in one call: submits `params` (a table of API fields, or a prompt string
-- meaning { Prompt = s }), waits for the job and downloads its files. opts: kind, formats (default
-- {"GLB"}), dir, name, extract (see download_files), on_submit(job) (called as soon as the JobId
-- exists: record it), on_status(result), on_progress(done, total, type), interval and timeout (of
-- the wait), max_bytes, download_timeout (download_files' timeout: bounds the downloads). Returns
-- { job = <submit response>, result = <final query result>, files = <list from download_files> }
-- or nil, err; err.job_id is set whenever a job exists.
function Client:generate(params, opts)
  if type(params) == "string" then params = { Prompt = params } end
  if type(params) ~= "table" then error("hy3d generate: expects a prompt string or a table of API fields", 2) end
  opts = check_options("hy3d generate", opts, GENERATE_OPTIONS, 2)
  for _, f in ipairs(opts.formats or {}) do      -- a programmer error raises before the job, not after it
    if type(f) ~= "string" then error("hy3d generate: formats must be a list of strings", 2) end
  end
  local job, err
  if self._validate then
    params, err = self:_deliverable(opts.kind or "pro", params, opts.formats or { "GLB" })
    if not params then return nil, err end
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
  return errors.redact_all({ job = job, result = res, files = got }, secrets_of[self])
end

--- The host-loop pump, non-blocking: drives the transfers of every client in this Lua state
-- and resumes the tasks of hy3d.spawn that are due, spending at most `budget` seconds on resumes
-- (default require("hy3d").update_budget, 0.25 ms). Call it once per frame. Returns the number
-- of live tasks.
function Client:update(budget) -- luacheck: ignore 212
  return require("hy3d").update(budget)
end

--- Like update, but may first wait up to `timeout` seconds for work (in curl_multi_poll).
function Client:step(timeout) -- luacheck: ignore 212
  return require("hy3d").step(timeout)
end

--- A file descriptor that is readable whenever this client's transfers need attention (Linux;
-- nil elsewhere). With events() and timeout() it makes the client a cqueues pollable.
function Client:pollfd()
  if self._closed then return nil end
  return self._engine:pollfd()
end

--- The events to wait for on pollfd(): always "r".
function Client:events() -- luacheck: ignore 212
  return "r"
end

--- Seconds until this client's transfers need attention even without socket activity (nil:
-- only socket activity will do).
function Client:timeout()
  if self._closed then return nil end
  return self._engine:timeout()
end

--- Closes the client: cancels transfers in flight and frees the engine. Idempotent.
function Client:close()
  self._closed = true
  return self._engine:close()
end

Client.__close = Client.close

function Client:__tostring()
  local how = self.mode == "gateway" and "gateway, API key set"
    or self.mode == "api3" and ("API 3.0, %s, SecretId set"):format(self.region)
    or "no credentials"
  return ("hy3d.Client (%s, %s)"):format(self.base_url, how)
end

return {
  new = new,
  defaults = DEFAULTS,
  kinds = KINDS,
  Client = Client,
  isyieldable = isyieldable,
  check_options = check_options,
}
