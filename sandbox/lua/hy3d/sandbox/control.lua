-- hy3d.sandbox.control: what a test or a person sees and steers from outside — the /_sandbox/
-- endpoints (stats, requests, config, faults, families, clock, blob, reset, shutdown), the job clock's freeze
-- and advance, and the request log (kept in memory for /_sandbox/requests, optionally JSON lines to a
-- file, secrets redacted). Methods of the sandbox object (hy3d.sandbox mixes `methods` in); depends
-- on store, doors (JSON answers), cos (byte ranges for blob) and tc3 (redaction).
local cjson = require "cjson"
local socket = require "socket"
local tc3 = require "hy3d.sandbox.tc3"
local store = require "hy3d.sandbox.store"
local doors = require "hy3d.sandbox.doors"
local cos = require "hy3d.sandbox.cos"

local gettime = socket.gettime
local format = string.format
local status_of, etag_of = store.status_of, cos.etag_of
local encode, json_response, openai_error = doors.encode, doors.json_response, doors.openai_error
local EMPTY_ARRAY_MARK = doors.EMPTY_ARRAY_MARK

local Sandbox = {}

-- ===== the job clock (hy3d.sandbox.store keeps its time) =====

function Sandbox:clock_state()
  local c, real = self.clock, gettime()
  return { now = c.frozen or (real + c.offset), frozen = c.frozen ~= nil,
           ahead = c.frozen and (c.frozen - real) or c.offset }
end

-- POST /_sandbox/clock: { freeze = true } stops the job clock where it is, { freeze = false } lets
-- it run again from there (it never goes back), { advance = S } moves it S seconds on (frozen or
-- not); freeze applies first when both are given.
function Sandbox:set_clock(body)
  for k, v in pairs(body) do
    local ok = (k == "freeze" and type(v) == "boolean")
      or (k == "advance" and type(v) == "number" and v >= 0 and v < math.huge)
    if not ok then
      return openai_error(400, "clock takes freeze (true or false) and advance (seconds >= 0), not " .. tostring(k),
        "bad_clock")
    end
  end
  local c = self.clock
  if body.freeze == true then
    c.frozen = self:now()
  elseif body.freeze == false and c.frozen then
    c.offset, c.frozen = c.frozen - gettime(), nil
  end
  if body.advance then
    if c.frozen then c.frozen = c.frozen + body.advance else c.offset = c.offset + body.advance end
  end
  return json_response(200, self:clock_state())
end

-- ===== request log =====

local function abbreviate(body)
  if #body <= 4096 then return body end
  return body:sub(1, 256) .. format("...(%d bytes)", #body)
end

local SECRET_HEADERS = { authorization = true, ["x-tc-token"] = true }

function Sandbox:record(req, entry)
  local headers = {}
  for k, v in pairs(req.headers) do
    if not SECRET_HEADERS[k] then headers[k] = v end
  end
  if req.headers.authorization and entry.auth == "tc3" then headers.authorization = tc3.redact(req.headers.authorization) end
  if req.headers["x-tc-token"] then headers["x-tc-token"] = "<redacted>" end
  entry.method, entry.path, entry.query, entry.headers = req.method, req.path, req.query, headers
  entry.body, entry.time, entry.connection = abbreviate(req.body or ""), gettime(), req.connection
  entry.proxied = req.proxied or nil
  local log = self.requests
  log[#log + 1] = entry
  if #log > 200 then table.remove(log, 1) end
  local counts = self.stats.requests
  local key = entry.action or entry.route
  counts[key] = (counts[key] or 0) + 1
  return entry
end

function Sandbox:write_log(entry, res)
  entry.status, entry.code = res.status, res.code
  if not self.log_file then return end
  local line = { time = entry.time, method = entry.method, path = entry.path, route = entry.route,
                 action = entry.action, auth = entry.auth, secret_id = entry.secret_id, status = res.status,
                 code = res.code, connection = entry.connection, range = entry.range, if_range = entry.if_range,
                 body = entry.body ~= "" and entry.body or nil }
  self.log_file:write(encode(line), "\n")
  self.log_file:flush()
end

-- ===== control endpoints (/_sandbox/...) =====

local CONFIG_KEYS = {
  wait_time = "number", run_time = "number", envelope = "string", concurrency = "table", slot_cooldown = "number",
  rate_limit = "number", url_ttl = "number", job_ttl = "number", expired_code = "string", result_format = "string",
  gateway_credits = "boolean", all_credits = "boolean", max_skew = "number", clock_offset = "number", regions = "table",
  ranges = "boolean",
  tokenhub = "table",
  intl_regions = "table", intl_on_mainland_code = "string", mainland_on_intl_code = "string",
  selfhosted = "string", selfhosted_busy = "number", selfhosted_stuck = "boolean", selfhosted_answer = "string",
  mps = "table",
}

local MAX_BLOB = 512 * 1024 * 1024

function Sandbox:job_counts()
  local by_status, by_family, now = { WAIT = 0, RUN = 0, DONE = 0, FAIL = 0 }, {}, self:now()
  for _, job in pairs(self.jobs) do
    local s = status_of(job, now)
    by_status[s] = by_status[s] + 1
    by_family[job.family] = (by_family[job.family] or 0) + 1
  end
  return by_status, by_family
end

function Sandbox:stats_body()
  local s = {}
  for k, v in pairs(self.server.stats) do s[k] = v end
  for k, v in pairs(self.stats) do s[k] = v end
  local by_status, by_family = self:job_counts()
  s.jobs = by_status
  s.jobs_by_family = by_family
  s.jobs_running = by_status.WAIT + by_status.RUN
  s.faults_fired = self.faults.fired
  s.faults_pending = #self.faults.rules
  if next(s.requests) == nil then s.requests = nil end
  if next(by_family) == nil then s.jobs_by_family = nil end
  return s
end

function Sandbox:set_config(body)
  for k, v in pairs(body) do
    if CONFIG_KEYS[k] ~= type(v) and not (k == "concurrency" and type(v) == "number") then
      return openai_error(400, "unknown or mistyped config key: " .. tostring(k), "bad_config")
    end
  end
  for k, v in pairs(body) do self.cfg[k] = v end
  return json_response(200, self:public_config())
end

function Sandbox:control(req, what)
  if what == "blob" then       -- GET /_sandbox/blob?size=N: N bytes of a fixed pattern (download tests)
    local size = tonumber(req.query:match("size=(%d+)") or "")
    if not size or size > MAX_BLOB then return openai_error(400, "size must be 0.." .. MAX_BLOB, "bad_size") end
    local pattern = "0123456789abcdef"
    local body = pattern:rep(size // #pattern) .. pattern:sub(1, size % #pattern)
    return self:serve_bytes(req, body, { ["Content-Type"] = "application/octet-stream" }, etag_of("blob", size),
      function()
        return { headers = { ["Content-Type"] = "text/plain" }, body = "range not satisfiable\n" }
      end)
  end
  local body = {}
  if req.body ~= "" then
    local ok, decoded = pcall(cjson.decode, req.body)
    if not ok or type(decoded) ~= "table" then return openai_error(400, "body must be a JSON object", "bad_json") end
    body = decoded
  end
  local post = req.method == "POST"
  if what == "stats" then
    return json_response(200, self:stats_body())
  elseif what == "requests" then
    local list = self.requests
    return json_response(200, { requests = #list > 0 and list or EMPTY_ARRAY_MARK })
  elseif what == "config" then
    if post then return self:set_config(body) end
    return json_response(200, self:public_config())
  elseif what == "faults" and post then
    local rules = body[1] and body or { body }
    local n = #self.faults.rules
    for _, f in ipairs(rules) do
      local ok, err = self.faults:add(f)
      if not ok then
        for i = #self.faults.rules, n + 1, -1 do self.faults.rules[i] = nil end
        return openai_error(400, err, "bad_fault")
      end
    end
    return json_response(200, { faults = #self.faults.rules })
  elseif what == "faults" then
    return json_response(200, { faults = #self.faults.rules > 0 and self.faults.rules or EMPTY_ARRAY_MARK,
                                fired = self.faults.fired })
  elseif what == "families" and post then       -- a family beyond the catalogue (hy3d.sandbox.families)
    local family, err = self:add_family(body, true)
    if not family then return openai_error(400, err, "bad_family") end
    return json_response(200, { families = self:family_list() })
  elseif what == "families" then
    local list = self:family_list()
    return json_response(200, { families = #list > 0 and list or EMPTY_ARRAY_MARK })
  elseif what == "clock" then
    if post then return self:set_clock(body) end
    return json_response(200, self:clock_state())
  elseif what == "reset" and post then
    self.jobs, self.order, self.order_head, self.active, self.requests, self.rate = {}, {}, 1, {}, {}, {}
    self.clock = { offset = 0 }
    self.selfhosted_jobs = nil
    self.faults:clear()
    self:drop_control_families()
    self.stats = { jobs_created = 0, credits_consumed = 0, rate_limited = 0, requests = {} }
    local st = self.server.stats
    st.connections_opened, st.requests_served = st.connections_open, 0
    return json_response(200, { reset = true })
  elseif what == "shutdown" and post then
    self.server:stop()
    return json_response(200, { stopping = true })
  end
  return openai_error(404, "no such control endpoint", "not_found")
end

function Sandbox:public_config()
  local c = {}
  for k in pairs(CONFIG_KEYS) do c[k] = self.cfg[k] end
  return c
end

return { methods = Sandbox }
