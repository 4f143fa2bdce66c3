--- hy3d.cli.context: the context of one run of the hy3d command (Ctx): its output (inherited from
-- hy3d.cli.output), its secrets, the job record (hy3d.jobs), errors reported with their exit code
-- and hint, the --timeout deadline, library calls driven in an hy3d task, and the client
-- (connect, from hy3d.cli.connect). Version-neutral Lua (5.1 to 5.4, LuaJIT).
local core = require "hy3d.core"
local errors = require "hy3d.error"
local jobs = require "hy3d.jobs"
local connect = require "hy3d.cli.connect"
local exit = require "hy3d.cli.exit"
local output = require "hy3d.cli.output"

local now = core.now
local EXIT, exit_code, translate = exit.EXIT, exit.exit_code, exit.translate

local M = {}

local DEFAULT_TIMEOUT = 1800      -- seconds --timeout gives a command that waits or downloads

local Ctx = setmetatable({}, { __index = output.Output })
Ctx.__index = Ctx
Ctx.connect = connect.connect

--- A new context; `env` as for hy3d.cli.main.
function M.new(env)
  local getenv = os.getenv
  if type(env) == "function" then
    getenv = env
  elseif type(env) == "table" then
    getenv = function(name)
      local v = env[name]
      if v == nil then return nil end
      if v == false then return nil end
      return tostring(v)
    end
  end
  local ctx = setmetatable({ getenv = getenv, secrets = {}, started = now(), last_draw = 0,
                             progress_at = 0, progress = {}, warned = {} }, Ctx)
  for _, name in ipairs { "HY3D_API_KEY", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN" } do
    ctx:secret(os.getenv(name))
    ctx:secret(getenv(name))
  end
  return ctx
end

-- ===== the job record =====

function Ctx:record()
  if self.rec == nil then
    local path, err = self.jobs_file, nil
    if not path then path, err = jobs.default_path(self.getenv) end
    if path then
      self.rec = jobs.open(path)
    else
      self.rec = false
      self.rec_error = err
    end
  end
  return self.rec or nil
end

-- Appends to the record; a failure is a warning, never fatal.
function Ctx:remember(entry)
  errors.redact_all(entry, self.secrets)          -- a prompt or a server's JobId may hold a secret
  local rec = self:record()
  if not rec then
    self:warn("the job record is off: " .. tostring(self.rec_error))
    return
  end
  local ok, res, err = pcall(rec.append, rec, entry)
  if not ok or not res then
    self:warn(("cannot write the job record %s: %s"):format(rec.path, tostring(ok and err or res)))
  end
end

-- What the record knows about a job (nil when nothing, or it cannot be read).
function Ctx:lookup(id)
  local rec = self:record()
  if not rec then return nil end
  local ok, found = pcall(rec.get, rec, id)
  return ok and found or nil
end

-- An absolute version of a relative path (from PWD), for the record.
function Ctx:absolute(path)
  if path:sub(1, 1) == "/" then return path end
  local pwd = self.getenv("PWD")
  if not pwd or pwd:sub(1, 1) ~= "/" then return path end
  path = (pwd:gsub("/+$", "")) .. "/" .. path
  local n
  repeat path, n = path:gsub("/%./", "/") until n == 0
  return (path:gsub("/%.$", ""):gsub("//+", "/"))
end

-- ===== errors =====

-- A word for a shell: as it is when it is plain, else in single quotes.
local function shell_word(s)
  s = tostring(s)
  if s:match("^[%w%._/:@%%+=,-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- The command that carries on after a failure of each command with a JobId (another command sets
-- ctx.recover, a whole command line, if it has one).
local RECOVER_VERB = { generate = "download", download = "download", wait = "wait", status = "status", submit = "wait" }

-- The command that carries on after a failure of this run (the "recover" field of its error
-- event), or nil when nothing would (the job FAILed; usage, credentials; an API error that is not
-- retryable, such as an unknown JobId): `hy3d download ID` once the job is DONE or when the command
-- fetches files, `hy3d wait ID` after `hy3d wait`, `hy3d status ID` after `hy3d status`. It keeps
-- --kind and --jobs-file when they were given (the record holds the rest: door, site, folder).
function Ctx:recover_command(code, job_id, err)
  if not (job_id or self.recover) or code == EXIT.failed or code == EXIT.usage or code == EXIT.auth
      or code == EXIT.internal then
    return nil
  end
  if code == EXIT.api and not (type(err) == "table" and err.retryable) then
    return nil                                    -- an API error about the job (unknown, expired) stays
  end
  if self.recover then return self.recover end   -- a command's own (e.g. one that resumes a whole run)
  local verb = RECOVER_VERB[self.cmd or ""]
  if not verb then return nil end
  local words = { "hy3d", verb, shell_word(job_id) }
  if self.kind_given and self.kind then words[#words + 1] = "--kind " .. shell_word(self.kind) end
  if self.jobs_file then words[#words + 1] = "--jobs-file " .. shell_word(self.jobs_file) end
  return table.concat(words, " ")
end

-- Reports an error (stderr, and an "error" event in JSON mode, with the command that recovers)
-- with a hint, and returns the exit code.
function Ctx:fail(err)
  err = translate(err, self.door, self.language)
  local code = exit_code(err, self.phase)
  if code == EXIT.interrupted then return self:interrupted() end
  local job_id = err.job_id or self.job_id
  if self.live then self:settle() end
  if self.json and err.kind ~= "usage" then
    self:emit { event = "error", kind = err.kind, code = err.code, message = err.message, job_id = job_id,
                http_status = err.http_status, request_id = err.request_id, exit = code,
                recover = self:recover_command(code, job_id, err) }
  end
  if err.kind == "usage" then
    self:err(("hy3d%s: %s (see `hy3d%s --help`)\n"):format(self.cmd and (" " .. self.cmd) or "", err.message,
      self.cmd and (" " .. self.cmd) or ""))
    return code
  end
  self:err(tostring(err) .. "\n")
  local hint
  if code == EXIT.timeout and job_id and self.phase == "download" then
    hint = ("job %s is DONE: `hy3d download %s` fetches its files (resuming what arrived)"):format(job_id, job_id)
  elseif code == EXIT.timeout and job_id then
    hint = ("job %s goes on at the service: `hy3d wait %s` waits again, `hy3d download %s` waits and "
      .. "fetches its files"):format(job_id, job_id, job_id)
  elseif code == EXIT.auth and err.kind ~= "invalid" then
    if self.door == "api3" or self.door == "mps" then
      hint = ("check the credentials: TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (and "
        .. "TENCENTCLOUD_SESSION_TOKEN when set) for %s, used because %s"):format(
        self.door == "mps" and "MPS" or "API 3.0", self.door_why)
    elseif self.door == "gateway" then
      hint = ("check the credentials: %s for the gateway, used because %s"):format(self.key_from, self.door_why)
    else
      hint = "check the credentials: HY3D_API_KEY for the gateway, TENCENTCLOUD_SECRET_ID and "
        .. "TENCENTCLOUD_SECRET_KEY for API 3.0"
    end
  elseif self.phase == "download" and job_id and (code == EXIT.network or code == EXIT.io) then
    hint = ("job %s is DONE: `hy3d download %s` fetches its files again"):format(job_id, job_id)
  elseif code == EXIT.api and job_id and self.client then
    local rec = self:lookup(job_id)
    if rec and type(rec.base_url) == "string" and rec.base_url ~= self.client.base_url then
      hint = ("job %s was submitted to %s, not %s"):format(job_id, rec.base_url, self.client.base_url)
    elseif not rec and not self.kind_given and self.kind == "pro" and err.kind == "api"
        and (tostring(err.code):match("JobNotFound$") or tostring(err.code):match("^ResourceNotFound")) then
      hint = ("job %s is not in the job record, so it was asked for as a pro job: if it is a rapid job, "
        .. "add --kind rapid"):format(job_id)
    end
  end
  if hint then self:err("hy3d: " .. hint .. "\n") end
  return code
end

function Ctx:interrupted()
  if self.live then self:settle() end
  local id = self.job_id
  local message
  if id and self.phase == "download" then
    message = ("interrupted; job %s is DONE: `hy3d download %s` fetches its files"):format(id, id)
  elseif id then
    message = ("interrupted; job %s goes on at the service: resume with `hy3d wait %s` (or `hy3d download %s` "
      .. "to wait and fetch its files)"):format(id, id, id)
  else
    message = "interrupted"
  end
  if self.json then
    self:emit { event = "error", kind = "interrupted", code = "INTERRUPTED", message = message, job_id = id,
                exit = EXIT.interrupted, recover = self:recover_command(EXIT.interrupted, id) }
  end
  self:err("hy3d: " .. message .. "\n")
  return EXIT.interrupted
end

-- A failed download may have saved some files first (err.files): they are reported and
-- recorded before the error.
function Ctx:fail_download(err)
  if type(err) == "table" and type(err.files) == "table" and #err.files > 0 and self.job_id then
    local paths = {}
    for _, f in ipairs(err.files) do
      self:saved(f)
      paths[#paths + 1] = self:absolute(f.path)
    end
    self:remember { job_id = self.job_id, files = paths }
  end
  return self:fail(err)
end

-- ===== running library calls =====

-- The error of a command that outlived --timeout (self.deadline), by phase; `cause` is the
-- library's error when it ended the call.
function Ctx:timed_out(cause)
  local id, limit = self.job_id, self.limit
  if self.phase == "download" then
    return errors.new({ kind = "timeout", code = "DOWNLOAD_TIMEOUT", job_id = id, cause = cause,
      message = ("the files of job %s did not arrive within --timeout %g s"):format(tostring(id), limit) }, self.secrets)
  end
  return errors.new({ kind = "timeout", code = "WAIT_TIMEOUT", job_id = id, status = self.status, cause = cause,
    message = ("job %s did not finish within %g s (last status %s); it goes on at the service"):format(
      tostring(id or "(not submitted)"), limit, tostring(self.status)) }, self.secrets)
end

-- A failure at or after the deadline that the deadline caused (a transfer cut short) is a timeout.
function Ctx:deadline_error(err)
  if self.deadline and now() >= self.deadline and type(err) == "table"
      and (err.kind == "network" or err.kind == "timeout") then
    return self:timed_out(err)
  end
  return err
end

-- Runs fn in an hy3d task and pumps it, ticking the live line about 10 times a second. Returns
-- what fn returns; an error fn raises is raised again. Past self.deadline (--timeout) the task
-- is given up and its transfers cancelled: nil and a timeout error.
function Ctx:drive(fn)
  local hy3d = require "hy3d"
  local scheduler = require "hy3d.scheduler"
  local on_error = scheduler.on_error
  scheduler.on_error = function(task) return task end       -- reported by the caller instead
  local task = hy3d.spawn(fn)
  while task:status() == "running" do
    local left = self.deadline and self.deadline - now()
    if left and left <= 0 then
      scheduler.on_error = on_error
      if self.client then self.client:close() end            -- cancels the transfers; a partial file stays
      return nil, self:timed_out()
    end
    hy3d.step(left and math.min(0.1, left) or 0.1)
    self:tick()
  end
  scheduler.on_error = on_error
  if task:status() == "failed" then error(task.traceback or task.error, 0) end
  return task:result()
end

-- Starts the --timeout clock of a command that waits and downloads.
function Ctx:start_clock(o)
  self.limit = o.timeout or DEFAULT_TIMEOUT
  self.deadline = now() + self.limit
end

-- A callback for the library that can never raise (except for Ctrl-C, which must get through).
local function guarded(ctx, fn)
  return function(...)
    local ok, err = pcall(fn, ...)
    if not ok then
      if tostring(err):find("interrupted!", 1, true) then error(err, 0) end
      ctx:warn("internal: " .. tostring(err))
    end
  end
end
M.guarded = guarded
M.shell_word = shell_word
M.Ctx = Ctx

return M
