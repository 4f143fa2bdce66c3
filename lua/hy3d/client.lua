--- hy3d clients: options, submit/query/wait on the compatible gateway, and downloads.
-- Every network call runs on the client's engine (one curl multi handle). Inside a coroutine a
-- call never blocks: it yields while its transfer or timer is pending. In the main thread it
-- blocks efficiently in curl_multi_poll.
local core = require "hy3d.core"
local errors = require "hy3d.error"

local now = core.now
local new_error = errors.new
local min = math.min
local yield = coroutine.yield

local isyieldable = coroutine.isyieldable or function()
  local co, ismain = coroutine.running()
  return co ~= nil and not ismain
end

local VERSION = core._VERSION

--- Option defaults (environment variables HY3D_API_KEY and HY3D_BASE_URL come first).
local DEFAULTS = {
  base_url = "https://api.ai3d.cloud.tencent.com",
  timeout = 60,           -- seconds per HTTP request
  connect_timeout = 10,   -- seconds to connect
  poll_interval = 5,      -- seconds between polls in wait
  wait_timeout = 1800,    -- seconds wait polls before giving up (the job goes on)
}

local OPTION_TYPES = {
  api_key = "string", base_url = "string", auth_scheme = "string", timeout = "number",
  connect_timeout = "number", poll_interval = "number", user_agent = "string", yield = "function",
}
local WAIT_OPTIONS = { interval = "number", timeout = "number", on_status = "function" }
local DOWNLOAD_OPTIONS = { timeout = "number", stall = "number", max_bytes = "number" }

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

-- Raises on unknown names and wrong types: a typo must never be silent.
local function check_options(what, opts, types, level)
  if opts == nil then return {} end
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

--- Creates a client. Options: api_key, base_url, auth_scheme ("Bearer"), timeout,
-- connect_timeout, poll_interval, user_agent, yield (a function that replaces coroutine.yield).
local function new(opts)
  opts = check_options("hy3d.new", opts, OPTION_TYPES, 2)
  local key = opts.api_key or env("HY3D_API_KEY")
  if key then
    key = key:match("^%s*(.-)%s*$")
    if key:find("[%c]") then error("hy3d.new: api_key contains control characters", 2) end
    if key == "" then key = nil end
  end
  local base_url = opts.base_url or env("HY3D_BASE_URL") or DEFAULTS.base_url
  if not base_url:match("^https?://[^/%s]+") then
    error("hy3d.new: base_url must be an http:// or https:// URL, got " .. ("%q"):format(base_url), 2)
  end
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
  local timeout = opts.timeout or DEFAULTS.timeout
  local user_agent = opts.user_agent
    or ("hy3d/%s (libcurl/%s; %s)"):format(VERSION, core.curl_version, _VERSION)
  local self = setmetatable({
    base_url = base_url,
    timeout = timeout,
    poll_interval = opts.poll_interval or DEFAULTS.poll_interval,
    _engine = core.new {
      base_url = base_url,
      authorization = key and (scheme and ("Bearer " .. key) or key) or nil,
      user_agent = user_agent,
      timeout = timeout,
      connect_timeout = opts.connect_timeout or DEFAULTS.connect_timeout,
    },
    _yield = opts.yield,
    _has_key = key ~= nil,
  }, Client)
  secrets_of[self] = { key }
  return self
end

-- ===== internals =====

function Client:_error(fields)
  return new_error(fields, secrets_of[self])
end

function Client:_no_key()
  if self._has_key then return nil end
  return self:_error { kind = "invalid", code = "NO_CREDENTIALS",
    message = "no API key: pass api_key to hy3d.new or set HY3D_API_KEY" }
end

-- Gives control back to whoever resumes this coroutine; `delay` hints when hy3d needs it back.
function Client:_pause(delay)
  if self._yield then
    self._yield(delay or 0)
  else
    yield()
  end
end

-- Runs a started request to completion: yields inside a coroutine, blocks in the main thread.
function Client:_settle(req)
  local eng = self._engine
  if isyieldable() then
    while not eng:wait(req, 0) do self:_pause(eng:timeout()) end
  else
    eng:wait(req)
  end
  return req:result()
end

-- Waits until the monotonic time t while keeping every transfer moving.
function Client:_sleep_until(t)
  local eng = self._engine
  if isyieldable() then
    while true do
      eng:step(0)
      local left = t - now()
      if left <= 0 then return end
      self:_pause(left)
    end
  end
  while true do
    local left = t - now()
    if left <= 0 then return end
    eng:step(left)
  end
end

local function job_id_of(job, what)
  local id = job
  if type(job) == "table" then id = job.JobId end
  if type(id) ~= "string" or id == "" then
    error(what .. ": expects a job table (with JobId) or a JobId string", 3)
  end
  return id
end

-- One query request with its own time limit.
function Client:_query(id, timeout)
  local req, err = self._engine:query(id, timeout)
  if not req then return nil, err end
  return self:_settle(req)
end

-- ===== public methods =====

--- Submits a generation job. `params` is a table of API fields sent as the JSON body unchanged.
-- Returns the job (the unwrapped response: JobId, RequestId) or nil, err.
function Client:submit(params)
  if type(params) ~= "table" then error("hy3d submit: expects a table of API fields", 2) end
  local err = self:_no_key()
  if err then return nil, err end
  local req, serr = self._engine:submit(params)
  if not req then return nil, self:_error(serr) end
  local job, rerr = self:_settle(req)
  if not job then return nil, self:_error(rerr) end
  if type(job.JobId) ~= "string" and type(job.JobId) ~= "number" then
    return nil, self:_error { kind = "decode", code = "NO_JOB_ID", request_id = job.RequestId,
      message = "the submit response has no JobId" }
  end
  job.JobId = tostring(job.JobId)
  return job
end

--- Queries a job once. Returns the unwrapped response (Status, ResultFile3Ds, ErrorCode, ...)
-- or nil, err.
function Client:query(job)
  local id = job_id_of(job, "hy3d query")
  local err = self:_no_key()
  if err then return nil, err end
  local res, qerr = self:_query(id)
  if not res then
    qerr.job_id = id
    return nil, self:_error(qerr)
  end
  return res
end

--- Polls a job until it is DONE (returns the result) or FAIL (nil, err of kind "job").
-- opts: interval (seconds between polls), timeout (total seconds, default 1800, bounding every
-- poll too; on expiry nil, err of kind "timeout" with job_id), on_status(result) (called when
-- Status changes).
function Client:wait(job, opts)
  local id = job_id_of(job, "hy3d wait")
  opts = check_options("hy3d wait", opts, WAIT_OPTIONS, 2)
  local interval = opts.interval or self.poll_interval
  local limit = opts.timeout or DEFAULTS.wait_timeout
  if interval ~= interval or interval < 0 then error("hy3d wait: interval must be >= 0", 2) end
  if limit ~= limit or limit < 0 then error("hy3d wait: timeout must be >= 0", 2) end
  local err = self:_no_key()
  if err then return nil, err end
  local deadline = now() + limit
  local last
  local function timed_out()
    return self:_error { kind = "timeout", code = "WAIT_TIMEOUT", job_id = id, status = last,
      message = ("job %s did not finish within %g s (last status %s); it goes on at the service:"
        .. " wait again with its JobId"):format(id, limit, tostring(last)) }
  end
  while true do
    local left = deadline - now()
    if left <= 0 then return nil, timed_out() end
    local res, qerr = self:_query(id, min(self.timeout, left))
    if not res then
      if qerr.kind == "network" and qerr.code == "OPERATION_TIMEDOUT" and now() >= deadline then
        return nil, timed_out()
      end
      qerr.job_id = id
      return nil, self:_error(qerr)
    end
    local status = type(res.Status) == "string" and res.Status:upper() or nil
    if not status then
      return nil, self:_error { kind = "decode", code = "NO_STATUS", job_id = id, request_id = res.RequestId,
        message = "the query response has no Status" }
    end
    if status ~= last then
      last = status
      if opts.on_status then opts.on_status(res) end
    end
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

--- Streams url to the file at path (through path..".part", renamed on success, removed on
-- failure). Never sends the API key. opts: timeout (total seconds, default none), stall
-- (seconds without a byte before giving up, default the client's timeout), max_bytes.
-- Returns path, bytes or nil, err.
function Client:download(url, path, opts)
  if type(url) ~= "string" or url == "" then error("hy3d download: url must be a string", 2) end
  if type(path) ~= "string" or path == "" then error("hy3d download: path must be a string", 2) end
  opts = check_options("hy3d download", opts, DOWNLOAD_OPTIONS, 2)
  if not url:match("^https?://") then
    return nil, self:_error { kind = "invalid", code = "BAD_URL", message = "only http:// and https:// URLs can be downloaded" }
  end
  local tmp = path .. ".part"
  local req, err = self._engine:download(url, tmp, {
    timeout = opts.timeout, stall = opts.stall or self.timeout, max_bytes = opts.max_bytes })
  if not req then
    os.remove(tmp)
    return nil, self:_error(err)
  end
  local bytes, derr = self:_settle(req)
  if not bytes then
    os.remove(tmp)
    return nil, self:_error(derr)
  end
  local ok, rerr = os.rename(tmp, path)
  if not ok then
    os.remove(tmp)
    return nil, self:_error { kind = "io", code = "RENAME_FAILED", message = tostring(rerr) }
  end
  return path, bytes
end

--- Closes the client: cancels transfers in flight and frees the engine. Idempotent.
function Client:close()
  return self._engine:close()
end

Client.__close = Client.close

function Client:__tostring()
  return ("hy3d.Client (%s, %s)"):format(self.base_url, self._has_key and "API key set" or "no API key")
end

return {
  new = new,
  defaults = DEFAULTS,
  Client = Client,
  isyieldable = isyieldable,
}
