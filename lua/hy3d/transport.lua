--- hy3d.transport: a client's transfers, the seam between the client, its downloads and the pump.
-- One engine (a curl multi handle, hy3d.core) and the door it speaks (hy3d.doors), the
-- retry loop of an API call (the policy is hy3d.retry's), waiting (Transport:waiter: yield to the
-- pump, the `yield` option, the hy3d.use adapter, or block in curl_multi_poll), the log option and
-- the redaction of this client's secrets.
-- The scheduler drives transports (engine, closed, pollfd/events/timeout), never clients.
-- Depends on hy3d.core, hy3d.doors, hy3d.error, hy3d.retry and hy3d.scheduler.
local core = require "hy3d.core"
local doors = require "hy3d.doors"
local errors = require "hy3d.error"
local retry = require "hy3d.retry"
local scheduler = require "hy3d.scheduler"

local now = core.now
local mentions = core.mentions                    -- C: does any string of an answer hold a secret?
local new_error = errors.new
local yield = coroutine.yield

local isyieldable = coroutine.isyieldable or function()
  local co, ismain = coroutine.running()
  return co ~= nil and not ismain
end

-- Secrets per transport, kept out of the transport (and client) table so no dump of it can show them.
local secrets_of = setmetatable({}, { __mode = "k" })

local Transport = {}
Transport.__index = Transport
Transport.__name = "hy3d.Transport"

--- A transport from hy3d.options' settings.transport: engine (core.new's options), door, base_url,
-- request_timeout, yield, retry (hy3d.retry.new's options), allow_http, log, secrets, error_ctx,
-- door_options (options only a door reads: stuck_timeout, sync_generate).
-- Registers it with the pump.
local function new(s)
  local self = setmetatable({
    engine = core.new(s.engine),
    door = s.door,
    door_impl = s.door_impl or doors.get(s.door) or doors.gateway,
    door_options = s.door_options or {},
    base_url = s.base_url,
    request_timeout = s.request_timeout,
    yield = s.yield,
    retry = retry.new(s.retry),
    allow_http = s.allow_http,
    log = s.log,
    error_ctx = s.error_ctx,
    closed = false,
  }, Transport)
  secrets_of[self] = s.secrets
  scheduler.add(self)
  return self
end

--- An hy3d error from fields, with this client's secrets redacted and its door's hints.
function Transport:error(fields)
  return new_error(fields, secrets_of[self], self.error_ctx)
end

--- t (a table of answers) with every string redacted of this client's secrets.
function Transport:redact_all(t)
  return errors.redact_all(t, secrets_of[self])
end

-- The door's own exchange (hy3d.doors: exchange), as n, res, err: n == 0 when it left the
-- exchange to request/answer/failure.
local function own_exchange(...)
  return select("#", ...), ...
end

-- One try of `action` through the client's door (hy3d.doors' interface: request says the method,
-- the route and whether to sign, or refuses the params; answer reads the answer, failure a failed
-- exchange; a door with `exchange` may make it itself). A submit goes on a fresh connection. The
-- engine's request API is called here, and by a door's own exchange or health check only.
function Transport:try(action, params, timeout, submit)
  local door = self.door_impl
  if door.exchange then
    local n, res, err = own_exchange(door:exchange(self, action, params, timeout, submit))
    if n > 0 then return res, err end
  end
  local method, target, body, signed = door:request(action, params, submit)
  if not method then return nil, target end      -- the door refused the params: nothing was sent
  local req, err = self.engine:request(method, target, body, timeout, submit, signed)
  if not req then return nil, err end
  local res, rerr, clean = self:settle(req, secrets_of[self])
  if res and door.answer then return door:answer(action, res, submit, params) end
  if not res and door.failure then return nil, door:failure(action, rerr, submit, params) end
  return res, rerr, clean
end

-- One try of a query the engine polls (engine:poll with `spec`; see hy3d.doors' poll): sent again in
-- C while the job runs, its last answer read as Transport:try reads one. spec.seen: the values at
-- spec.watch in that answer as the service sent it (the next poll's spec.last).
function Transport:try_poll(action, params, timeout, spec)
  local door = self.door_impl
  local method, target, body, signed = door:request(action, params, false)
  if not method then return nil, target end
  local req, err = self.engine:poll(method, target, body, timeout, signed, spec)
  if not req then return nil, err end
  local res, rerr, clean = self:settle(req, secrets_of[self])
  if res and spec.watch then                      -- the watched values as answered (before door:answer)
    spec.seen = {}
    for i, path in ipairs(spec.watch) do
      local v = res
      for _, name in ipairs(path) do v = type(v) == "table" and v[name] or nil end
      spec.seen[i] = v
    end
  end
  if res and door.answer then return door:answer(action, res, false, params) end
  if not res and door.failure then return nil, door:failure(action, rerr, false, params) end
  return res, rerr, clean
end

-- Whether an action is a submit (its name starts with "Submit"), memoized: the query path asks on every call.
local is_submit = setmetatable({}, { __index = function(t, action)
  local v = action:match("^Submit") ~= nil
  t[action] = v
  return v
end })

--- Runs one API call with retries (see hy3d.retry), logging each try when asked. Every error
-- carries `attempts`. `deadline` (monotonic) bounds the pauses: when only it stops the retries,
-- the error carries past_deadline = true. Answers come back with every secret redacted.
-- With `spec` (engine:poll's) each try is polled by the engine (Transport:try_poll); a retry
-- sends at once (spec.delay is for the first).
function Transport:api(action, params, timeout, deadline, spec)
  local submit = is_submit[action]
  local policy = self.retry
  local attempt = 0
  while true do
    attempt = attempt + 1
    local t0 = now()
    if self.log then self:log_line(("hy3d: -> %s %s %s"):format(self.door, action, core.encode(params) or "?")) end
    local res, err, clean
    if spec then
      res, err, clean = self:try_poll(action, params, timeout, spec)
      spec.delay = nil
    else
      res, err, clean = self:try(action, params, timeout, submit)
    end
    if self.log then
      self:log_line(("hy3d: <- %s %s in %.3f s%s"):format(action, res and "ok" or tostring(self:error(err)),
        now() - t0, res and res.RequestId and (", request " .. tostring(res.RequestId)) or ""))
    end
    if res then                                   -- an answer may echo a secret: redact it when it may
      if clean then return res end                -- its JSON text could hold none (req:mentions)
      local secrets = secrets_of[self]
      if secrets and mentions(res, secrets) then return errors.redact_all(res, secrets) end
      return res
    end
    err.attempts = attempt
    local again, ambiguous = policy:decide(err, submit)
    if self.closed then again = false end       -- closed meanwhile: nothing can be sent again
    if ambiguous then err.retryable = false end
    local delay = again and policy:backoff(attempt, err)
    local past = again and deadline and now() + delay >= deadline
    if not again or attempt > policy.max or delay > policy.cap or past then
      errors.hint_plain_http(err, self.base_url)
      if past and attempt <= policy.max and delay <= policy.cap then err.past_deadline = true end
      if ambiguous then
        err.message = tostring(err.message or err.code) .. retry.AMBIGUOUS
        err.maybe_submitted = true
      end
      return nil, err
    end
    if policy.hook then
      local ok, herr = pcall(policy.hook, attempt, delay, self:error(err))
      if not ok then
        return nil, { kind = "callback", code = "ON_RETRY", attempts = attempt,
                      message = "on_retry raised: " .. tostring(herr) }
      end
    end
    self:sleep_until(now() + delay)
  end
end

--- One line to the log option, with every secret taken out.
function Transport:log_line(line)
  local ok = pcall(self.log, errors.redact(line, secrets_of[self]))
  if not ok then self.log = nil end              -- a broken logger is dropped, never fatal
end

--- How a call made here waits, by the rule in doc/game-loops.md ("Who resumes hy3d"): hy3d yields
-- only to a resumer it knows. "task" inside a spawned task (yield to the pump); the client's `yield`
-- option inside a coroutine; the wait of the adapter hy3d.use installed, where that adapter says it
-- applies (scheduler.adapter.waiter); else nil: block in the kernel (curl_multi_poll), never a plain
-- coroutine.yield to a resumer that may resume at once (LÖVE's main loop, OpenResty's entry thread).
-- A waiter may also be false and an error table: the adapter refuses to wait here at all.
function Transport:waiter()
  if scheduler.current() then return "task" end
  if self.yield and isyieldable() then return self.yield end
  local a = scheduler.adapter
  if a then return a.waiter(self) end
  return nil
end

--- Gives control back through waiter w (Transport:waiter): to the pump, told what the task waits
-- for (a request or a wake time), or to w(delay), `delay` hinting when hy3d needs control back.
function Transport:pause(delay, req, wake, w) -- luacheck: ignore 212
  if w == "task" then
    yield(scheduler.TOKEN, req, wake)
  else
    w(delay or 0)
  end
end

--- Closes req and passes its result on: its easy handle (5.5 KB in libcurl 7.88) and body go back
-- now, not when the collector gets to the userdata (Lua sees ~0.5 KB of it, so that can be late).
local function closing(req, ...)
  req:close()
  return ...
end

--- Runs a started request to completion: through this call's waiter (Transport:waiter), or
-- blocking in the kernel where there is none. An adapter that refuses to wait here: nil, its error.
-- Given `secrets` (a list), an API request's answer comes with a third value: true when its JSON
-- text could hold none of them (req:mentions), so it needs no redaction.
function Transport:settle(req, secrets)
  local eng = self.engine
  local w, werr = self:waiter()
  if w == "task" then
    -- In a spawned task the pump's update drives the engine (its collect starts this request and
    -- finds it done): a round of our own here would do every other transfer's due work (the armed
    -- polls of a thousand jobs) inside this task's resume, outside any budget.
    while not req:done() do
      self:pause(nil, req, nil, w)
      if self.closed then break end             -- closed meanwhile (another task): req was cancelled
    end
  elseif w then
    while not eng:wait(req, 0) do
      self:pause(eng:timeout(), req, nil, w)
      if self.closed then break end             -- closed meanwhile (another task): req was cancelled
    end
  elseif w == false then
    req:close()
    return nil, self:error(werr)
  else
    eng:wait(req)
  end
  -- the server's clock as its last answer said (hy3d doctor's skew check): the Date header
  -- and when it arrived (wall clock)
  local date = req.header and req:header("Date")
  if date then self.last_date, self.last_date_at = date, os.time() end
  if secrets then
    local res, err = req:result()
    local clean = res ~= nil and not req:mentions(secrets)
    req:close()
    return res, err, clean
  end
  return closing(req, req:result())
end

--- Waits until the monotonic time t while keeping every transfer moving. An adapter that refuses
-- to wait here: nil and its error (the caller's transfers keep their state).
function Transport:sleep_until(t)
  local eng = self.engine
  local w, werr = self:waiter()
  if w == false then return nil, self:error(werr) end
  if w then
    while true do
      eng:step(0)
      local left = t - now()
      if left <= 0 then return true end
      self:pause(left, nil, t, w)
    end
  end
  while true do
    local left = t - now()
    if left <= 0 then return true end
    eng:step(left)
  end
end

--- A file descriptor that is readable whenever these transfers need attention (Linux; nil
-- elsewhere or once closed). With events() and timeout() a transport is a cqueues pollable.
function Transport:pollfd()
  if self.closed then return nil end
  return self.engine:pollfd()
end

--- The events to wait for on pollfd(): always "r".
function Transport:events() -- luacheck: ignore 212
  return "r"
end

--- Seconds until these transfers need attention even without socket activity (nil: only socket
-- activity will do, or closed).
function Transport:timeout()
  if self.closed then return nil end
  return self.engine:timeout()
end

--- Cancels the transfers in flight and frees the engine. Idempotent.
function Transport:close()
  self.closed = true
  return self.engine:close()
end

return {
  new = new,
  Transport = Transport,
  isyieldable = isyieldable,
  closing = closing,
}
