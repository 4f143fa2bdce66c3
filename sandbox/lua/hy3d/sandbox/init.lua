--- hy3d-sandbox: an offline emulator of Tencent's Hunyuan 3D service for development, demos and
-- tests. Two doors share one job store: the OpenAI-compatible gateway (`/v1/ai3d/submit`,
-- `/v1/ai3d/query`, API key) and Tencent Cloud API 3.0 (`POST /`, `X-TC-Action`, TC3-HMAC-SHA256)
-- with all 19 ai3d actions. Jobs go WAIT -> RUN -> DONE (or FAIL) on configurable timings; result
-- files are generated and served by the sandbox behind COS-like signed URLs; faults, limits and
-- expiry are configurable; `/_sandbox/` has the control and inspection endpoints, among them a
-- job clock that tests freeze and advance. The API 3.0 door answers in the language of
-- X-TC-Language like the service: English for en-US, else Chinese (the gateway: Chinese).
local cjson = require "cjson"
local socket = require "socket"
local http = require "hy3d.sandbox.http"
local assets = require "hy3d.sandbox.assets"
local actions = require "hy3d.sandbox.actions"
local faults = require "hy3d.sandbox.faults"
local tc3 = require "hy3d.sandbox.tc3"

local gettime = socket.gettime
local format, concat = string.format, table.concat
local floor = math.floor

local VERSION = require("hy3d.core")._VERSION   -- hy3d's version: HY3D_VERSION in src/hy3d.h
local API_VERSION = "2025-05-13"

-- The default API 3.0 credentials (fake, like the default API key).
local SANDBOX_SECRET_ID = "AKIDhy3dSandboxSecretId0000000000"
local SANDBOX_SECRET_KEY = "hy3dSandboxSecretKey000000000000"

local DEFAULTS = {
  host = "127.0.0.1",
  port = 0,
  keys = { "sk-hy3d-sandbox" },                 -- gateway API keys
  secrets = { [SANDBOX_SECRET_ID] = SANDBOX_SECRET_KEY },   -- API 3.0 SecretId -> SecretKey
  regions = { "ap-guangzhou" },                 -- X-TC-Region values accepted ("*" accepts any)
  wait_time = 1,            -- seconds a job stays WAIT
  run_time = 3,             -- seconds a job stays RUN
  envelope = "wrapped",     -- gateway bodies: "wrapped" {"Response": {...}} or "flat" (reference §2.4 [R])
  concurrency = { pro = 3, default = 1 },       -- jobs in WAIT/RUN per family; 0 = unlimited
  slot_cooldown = 0,        -- seconds a finished job still holds its slot (reported for AutoRigging [R])
  rate_limit = 20,          -- requests per second per action; 0 = unlimited
  url_ttl = 86399,          -- seconds a result URL stays valid (COS q-sign-time window)
  job_ttl = 86400,          -- seconds a JobId stays queryable
  expired_code = "FailedOperation.JobNotFound",   -- answer for unknown or expired JobIds (reference §6 [I])
  result_format = "add",    -- Pro ResultFormat adds a file to OBJ+GLB ("add") or replaces them ("replace")
  gateway_credits = false,  -- gateway queries carry ResultCreditConsumed/Details (one report says not [R])
  ranges = true,            -- file URLs and /_sandbox/blob honour Range (false: always 200, no Accept-Ranges)
  max_skew = 300,           -- seconds of clock skew before AuthFailure.SignatureExpire
  max_body = 10 * 1024 * 1024,   -- request bodies above this get RequestSizeLimitExceeded
  max_faces = 100000,       -- cap on generated triangles (FaceCount is honoured up to this)
  seed = nil,               -- seeds JobIds, RequestIds and probabilistic faults
  faults = nil,             -- fault rules to start with (see hy3d.sandbox.faults)
  log = false,              -- request log: false, a file name, or "-" for stderr (JSON lines)
  lifetime = nil,           -- exit after this many seconds (a safety net for scripts)
  max_connections = 900,    -- open connections (select's FD_SETSIZE is 1024); past it, an incomplete head or
                            -- the longest-idle one is closed
  header_timeout = 10,      -- seconds a connection has to send a complete request head (then 408 and closed)
}

-- A placeholder that encodes as [] (lua-cjson 2.1.0 encodes every empty table as {}).
local EMPTY_ARRAY_MARK = "\1hy3d-empty-array\1"
local EMPTY_ARRAY_PATTERN = ('"\\u0001hy3d-empty-array\\u0001"'):gsub("%p", "%%%0")

local function encode(v)
  return (cjson.encode(v):gsub(EMPTY_ARRAY_PATTERN, "[]"))
end

local function uuid()
  local a, b, c, d = math.random(0, 0xffffffff), math.random(0, 0xffff), math.random(0, 0x0fff),
    math.random(0, 0x3fff)
  return format("%08x-%04x-4%03x-%04x-%012x", a, b, c, d | 0x8000, math.random(0, 0xffffffffffff))
end

local Sandbox = {}
Sandbox.__index = Sandbox

-- ===== responses =====

local function json_response(status, body, extra)
  local headers = { ["Content-Type"] = "application/json" }
  for k, v in pairs(extra or {}) do headers[k] = v end
  return { status = status, headers = headers, body = encode(body) }
end

-- A service answer (HTTP 200) with a fresh RequestId: wrapped in Response on the API 3.0 door,
-- in the configured envelope on the gateway.
function Sandbox:answer(fields, door)
  fields.RequestId = uuid()
  if door == "gateway" and self.cfg.envelope == "flat" then return json_response(200, fields) end
  return json_response(200, { Response = fields })
end

-- The language of the request this connection's coroutine is serving ("en" or nil for Chinese),
-- set by the API 3.0 door for the length of one request (a handler may sleep; others run meanwhile).
local language_of = setmetatable({}, { __mode = "k" })

--- A message in the language of the request being served: `m` is a string (the same in both) or
-- { zh = ..., en = ... }.
local function say(m)
  if type(m) ~= "table" then return m end
  return language_of[coroutine.running() or false] == "en" and m.en or m.zh
end

-- A business error: HTTP 200 with Response.Error (the API's convention). `message`: as for say.
function Sandbox:api_error(code, message, door)
  local res = self:answer({ Error = { Code = code, Message = say(message) } }, door)
  res.code = code
  return res
end

local function openai_error(status, message, code, kind)
  local res = json_response(status, { error = { message = message, type = kind or "invalid_request_error", code = code } })
  res.code = code
  return res
end

-- ===== the job clock =====

-- The time jobs live by: WAIT -> RUN -> DONE, job_ttl, url_ttl windows, slot cool-downs and the
-- rate limit's seconds. Real time plus an offset, or an instant that stands still while frozen;
-- POST /_sandbox/clock freezes and advances it (a test facility, so a spec steps a job through its
-- phases instead of sleeping and racing them). Connection deadlines, fault delays, JobIds, the
-- request log and the TC3 clock-skew check stay on real time.
function Sandbox:now()
  local c = self.clock
  return c.frozen or (gettime() + c.offset)
end

-- The clock as /_sandbox/clock shows it: the job time, whether it stands still, and how far it is
-- ahead of real time.
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

-- ===== jobs =====

function Sandbox:new_job_id()
  self.job_seq = (self.job_seq + 1) % 4096
  local ms = floor(gettime() * 1000) - 1288834974657
  return format("%d", (ms << 22) | (self.job_seq << 10) | math.random(0, 1023))
end

local function status_of(job, now)
  local age = now - job.created
  if age < job.wait_time then return "WAIT" end
  if age < job.wait_time + job.run_time then return "RUN" end
  return job.fail and "FAIL" or "DONE"
end

function Sandbox:limit_of(family)
  local c = self.cfg.concurrency
  if type(c) == "number" then return family == "pro" and c or 1 end
  return c[family] or c.default or 1
end

-- Jobs of `family` holding a concurrency slot (WAIT, RUN, or finished within the cool-down).
function Sandbox:busy_slots(family, now)
  local list, n = self.active[family] or {}, 0
  local keep = {}
  for _, job in ipairs(list) do
    if now < job.created + job.wait_time + job.run_time + self.cfg.slot_cooldown and self.jobs[job.id] then
      keep[#keep + 1] = job
      n = n + 1
    end
  end
  self.active[family] = keep
  return n
end

-- Forgets jobs whose id and files have both expired (the store stays bounded in long runs).
function Sandbox:sweep(now)
  local order, horizon = self.order, math.max(self.cfg.job_ttl, self.cfg.url_ttl) + self.cfg.wait_time + self.cfg.run_time
  while self.order_head <= #order do
    local job = self.jobs[order[self.order_head]]
    if job and now - job.created <= horizon then break end
    if job then self.jobs[job.id] = nil end
    order[self.order_head] = nil
    self.order_head = self.order_head + 1
  end
  if self.order_head > 1024 and self.order_head > #order / 2 then
    local compact = {}
    for i = self.order_head, #order do compact[#compact + 1] = order[i] end
    self.order, self.order_head = compact, 1
  end
end

function Sandbox:store(job)
  self.jobs[job.id] = job
  self.order[#self.order + 1] = job.id
  self.stats.jobs_created = self.stats.jobs_created + 1
end

-- COS-like signed URL of one result file.
function Sandbox:file_url(job, name)
  local start = floor(self:now())
  local stop = start + self.cfg.url_ttl
  return format("%s/files/%s/%s?q-sign-algorithm=sha1&q-ak=AKIDsandbox&q-sign-time=%d%%3B%d"
    .. "&q-key-time=%d%%3B%d&q-header-list=host&q-url-param-list=&q-signature=%s",
    self.base_url, job.id, name, start, stop, start, stop, (uuid():gsub("-", "")))
end

function Sandbox:result_files(job)
  local files, preview = {}, self:file_url(job, "preview.png")
  for _, entry in ipairs(job.results) do
    local f = { Type = entry[1], Url = self:file_url(job, entry[2]) }
    if job.family == "pro" or job.family == "rapid" then f.PreviewImageUrl = preview end
    files[#files + 1] = f
  end
  return files
end

-- The file `name` of a job, if the job has one by that name.
local function file_of(job, name)
  if name == "preview.png" and (job.family == "pro" or job.family == "rapid") then return name end
  if name == "segmentation.json" and job.family == "part" then return name end
  for _, entry in ipairs(job.results) do
    if entry[2] == name then return name end
  end
  return nil
end

-- A URL given as input (an image or a model): this sandbox's own file URLs must name a live
-- file; other URLs are accepted without fetching (the sandbox never reaches the network).
function Sandbox:check_url(url, field)
  local prefix = self.base_url .. "/files/"
  if url:sub(1, #prefix) ~= prefix then return nil end
  local job_id, name = url:sub(#prefix + 1):match("^(%d+)/([%w%.]+)")
  local job = job_id and self.jobs[job_id]
  local window_end = tonumber(url:match("q%-sign%-time=%d+%%3B(%d+)") or "")
  local now = self:now()
  if not job or not file_of(job, name) or status_of(job, now) ~= "DONE" or not window_end or now > window_end then
    return "FailedOperation.DownloadError", { zh = format("文件下载失败。（%s）", field),
      en = format("The file could not be downloaded (%s).", field) }
  end
  return nil
end

-- ===== request log =====

local function abbreviate(body)
  if #body <= 4096 then return body end
  return body:sub(1, 256) .. format("...(%d bytes)", #body)
end

-- Describes the gateway Authorization header without keeping it: its form ("raw", "bearer" or
-- "missing") and whether it carries a configured key.
local function auth_form(value, keys)
  if not value or value == "" then return "missing", false end
  local bearer = value:match("^[Bb]earer%s+(.+)$")
  local key = bearer or value
  for _, k in ipairs(keys) do
    if key == k then return bearer and "bearer" or "raw", true end
  end
  return bearer and "bearer" or "raw", false
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

-- ===== faults =====

-- The response a request-phase fault puts in place of the real one, or a decoration for it
-- (cut, stall), or nil. A delay just waits and lets the request go on.
function Sandbox:request_fault(tags, door)
  local f = self.faults:take(tags, "request")
  if not f then return nil end
  local a = f.action
  if a == "delay" then
    http.sleep(f.delay or 1)
    return nil
  elseif a == "status" then
    local status = f.status or 500
    local headers = { ["Content-Type"] = f.content_type or "text/plain" }
    if status == 429 or f.retry_after then headers["Retry-After"] = format("%g", f.retry_after or 1) end
    return { replace = { status = status, headers = headers, body = f.body or (http.reasons[status] or "error") .. "\n" } }
  elseif a == "garbage" then
    return { replace = { status = 200, headers = { ["Content-Type"] = "text/html" },
                         body = f.body or "<html><body>502 upstream hiccup</body></html>" } }
  elseif a == "close" then
    return { replace = { drop = true } }
  elseif a == "reset" then
    return { replace = { reset = true } }
  elseif a == "api_error" then
    return { replace = self:api_error(f.code or "InternalError", f.message or { zh = "内部错误", en = "Internal error." },
      door) }
  elseif a == "cut" then
    return { decorate = { cut_after = f.after } }
  elseif a == "stall" then
    return { decorate = { stall_after = f.after, stall = f.stall or 2 } }
  end
end

-- Runs `handler` under the faults that match `tags`.
function Sandbox:with_faults(tags, door, handler)
  local f = self:request_fault(tags, door)
  if f and f.replace then return f.replace end
  local res = handler()
  if f and f.decorate then
    local d = f.decorate
    local n = #(res.body or "")
    if d.cut_after then res.cut_after = math.min(d.cut_after or n // 2, math.max(n - 1, 0)) end
    if d.stall_after then res.stall_after, res.stall = math.min(d.stall_after or n // 2, n), d.stall end
  end
  return res
end

-- ===== actions =====

-- Rate limit: at most cfg.rate_limit requests per second per action (reference §5.1).
function Sandbox:rate_limited(action)
  local limit = self.cfg.rate_limit
  if limit <= 0 then return false end
  local second = floor(self:now())
  local bucket = self.rate[action]
  if not bucket or bucket.second ~= second then
    bucket = { second = second, n = 0 }
    self.rate[action] = bucket
  end
  bucket.n = bucket.n + 1
  return bucket.n > limit
end

function Sandbox:submit(action, p, door)
  local family = action.family
  local limit = self:limit_of(family)
  local now = self:now()
  self:sweep(now)
  if limit > 0 and self:busy_slots(family, now) >= limit then
    return self:api_error("RequestLimitExceeded.JobNumExceed", { zh = format("当前已达到%d个任务上限，请稍后重试", limit),
      en = format("The limit of %d concurrent jobs is reached; please try again later.", limit) }, door)
  end
  local desc = self.assets:describe { text = actions.mesh_source(p), faces = p.FaceCount,
                                      geometry = p.GenerateType == "Geometry" or p.EnableGeometry == true }
  local total, details = actions.credits(family, p)
  local job = { id = self:new_job_id(), family = family, action = action.name, created = now, params = p,
                wait_time = self.cfg.wait_time, run_time = self.cfg.run_time, desc = desc,
                results = actions.result_files(family, p, self.cfg), credits = total, credit_details = details }
  local fail = self.faults:take({ "submit", action.name, family }, "job")
  if fail then
    job.fail = { code = fail.code or "FailedOperation.ServerError",
                 message = fail.message or { zh = "算法服务异常", en = "The algorithm service failed." } }
  end
  self:store(job)
  local list = self.active[family] or {}
  self.active[family] = list
  list[#list + 1] = job
  if limit <= 0 and #list > (self.prune_at[family] or 1024) then   -- unlimited: prune now and then
    self.prune_at[family] = 2 * self:busy_slots(family, now) + 1024
  end
  return self:answer({ JobId = job.id }, door)
end

function Sandbox:query(action, p, door)
  local job = self.jobs[p.JobId]
  local now = self:now()
  if job and (now - job.created > self.cfg.job_ttl or job.family ~= action.family) then job = nil end
  if not job then return self:api_error(self.cfg.expired_code, { zh = "任务不存在", en = "The job does not exist." }, door) end
  local status = status_of(job, now)
  local r = { Status = status, ErrorCode = "", ErrorMessage = "", ResultFile3Ds = EMPTY_ARRAY_MARK }
  if status == "DONE" then
    r.ResultFile3Ds = self:result_files(job)
    if job.family == "pro" and (door ~= "gateway" or self.cfg.gateway_credits) then
      r.ResultCreditConsumed = job.credits
      r.ResultCreditDetails = cjson.encode(job.credit_details)
    end
    if job.family == "part" then
      r.PartSegmentationInfoUrl = self:file_url(job, "segmentation.json")
    end
    if not job.charged then
      job.charged = true
      self.stats.credits_consumed = self.stats.credits_consumed + job.credits
    end
  elseif status == "FAIL" then
    r.ErrorCode, r.ErrorMessage = job.fail.code, say(job.fail.message)
  end
  return self:answer(r, door)
end

-- Convert3DFormat: synchronous; the converted file is served like a job's result.
function Sandbox:convert(p, door)
  local source = p.File3D
  local job = { id = self:new_job_id(), family = "convert", action = "Convert3DFormat", created = self:now(),
                params = p, wait_time = 0, run_time = 0, credits = 5,
                desc = self.assets:describe { text = "convert:" .. source },
                results = { { p.Format, actions.FILE_NAMES[p.Format] } } }
  self:store(job)
  self.stats.credits_consumed = self.stats.credits_consumed + job.credits
  return self:answer({ ResultFile3D = self:file_url(job, actions.FILE_NAMES[p.Format]) }, door)
end

-- Validates and runs one action (both doors end here).
function Sandbox:perform(action, body, door)
  if self:rate_limited(action.name) then
    self.stats.rate_limited = self.stats.rate_limited + 1
    return self:api_error("RequestLimitExceeded", { zh = format("请求频率超过限制：每个接口每秒最多%d次。", self.cfg.rate_limit),
      en = format("Too many requests: at most %d per second per action.", self.cfg.rate_limit) }, door)
  end
  local ok, p = pcall(cjson.decode, body)
  if not ok or type(p) ~= "table" then
    return self:api_error("InvalidParameter", { zh = "请求体不是合法的JSON对象", en = "The request body is not a valid JSON object." },
      door)
  end
  local ctx = { door = door, check_url = function(url, field) return self:check_url(url, field) end }
  local code, message = actions.validate(action, p, ctx)
  if code then return self:api_error(code, message, door) end
  if action.role == "submit" then return self:submit(action, p, door) end
  if action.role == "query" then return self:query(action, p, door) end
  return self:convert(p, door)
end

local function json_content_type(value)
  local ct = (value or ""):lower()
  return ct:match("^application/json%s*$") or ct:match("^application/json%s*;")
end

-- POST /v1/ai3d/{submit,query}: the OpenAI-compatible gateway (Pro only).
function Sandbox:gateway(req, route)
  language_of[coroutine.running() or false] = nil   -- Chinese, whatever an API 3.0 request before said
  local auth, key_ok = auth_form(req.headers.authorization, self.cfg.keys)
  local action = actions.ACTIONS[route == "submit" and "SubmitHunyuanTo3DProJob" or "QueryHunyuanTo3DProJob"]
  local entry = self:record(req, { route = route, door = "gateway", auth = auth, key_ok = key_ok })
  local res = self:with_faults({ route, "gateway", action.name, "pro" }, "gateway", function()
    if req.method ~= "POST" then return openai_error(405, "Method not allowed; use POST", "method_not_allowed") end
    if not key_ok then
      if auth == "missing" then
        return openai_error(401, "You didn't provide an API key in the Authorization header", "invalid_api_key")
      end
      return openai_error(401, "Incorrect API key provided", "invalid_api_key")
    end
    if not json_content_type(req.headers["content-type"]) then
      return self:api_error("InvalidParameter", "Content-Type must be application/json", "gateway")
    end
    if #req.body > self.cfg.max_body then
      return self:api_error("RequestSizeLimitExceeded", { zh = "请求包体过大", en = "The request body is too large." }, "gateway")
    end
    return self:perform(action, req.body, "gateway")
  end)
  self:write_log(entry, res)
  return res
end

local function region_ok(regions, region)
  for _, r in ipairs(regions) do
    if r == "*" or r == region then return true end
  end
  return false
end

-- The checks of the API 3.0 door before the action runs, in the service's order.
function Sandbox:api_preflight(req, entry)
  local h = req.headers
  if req.method ~= "POST" then
    return self:api_error("UnsupportedProtocol", "hy3d-sandbox emulates API 3.0 over POST (the SDKs' default).")
  end
  for _, name in ipairs { "x-tc-action", "x-tc-version", "x-tc-timestamp" } do
    if not h[name] or h[name] == "" then
      local param = name:match("^x%-tc%-(.+)$"):gsub("^%l", string.upper)
      return self:api_error("MissingParameter", format("The request is missing a required parameter `%s`.", param))
    end
  end
  if h["x-tc-version"] ~= API_VERSION then
    return self:api_error("NoSuchVersion", format("The API version `%s` does not exist (ai3d has %s).",
      h["x-tc-version"], API_VERSION))
  end
  local secret_id, code, message = tc3.verify(req, self.cfg.secrets, { max_skew = self.cfg.max_skew, service = "ai3d" })
  if not secret_id then
    local parsed = req.headers.authorization and tc3.parse(req.headers.authorization)
    entry.secret_id = parsed and parsed.secret_id
    return self:api_error(code, message)
  end
  entry.secret_id = secret_id
  local region = h["x-tc-region"]
  if not region or region == "" then
    return self:api_error("MissingParameter", "The request is missing a required parameter `Region`.")
  end
  if not region_ok(self.cfg.regions, region) then
    return self:api_error("UnsupportedRegion", format("The region `%s` is not supported by ai3d.", region))
  end
  if not actions.ACTIONS[h["x-tc-action"]] then
    return self:api_error("InvalidAction", format("The action `%s` is not found.", h["x-tc-action"]))
  end
  if not json_content_type(h["content-type"]) then
    return self:api_error("InvalidParameter", "Content-Type must be application/json")
  end
  if #req.body > self.cfg.max_body then
    return self:api_error("RequestSizeLimitExceeded", "The request body is larger than 10 MB.")
  end
  return nil
end

-- POST / with X-TC-Action: Tencent Cloud API 3.0. Every API answer is HTTP 200.
function Sandbox:api3(req)
  local name = req.headers["x-tc-action"]
  local action = actions.ACTIONS[name or ""]
  local entry = self:record(req, { route = "api", door = "api", action = name, auth = "tc3" })
  local tags = { "api", name or "", action and action.family or "", action and action.role or "" }
  if action and action.role == "sync" then tags[#tags + 1] = "convert" end
  local co = coroutine.running() or false
  language_of[co] = (req.headers["x-tc-language"] or ""):match("^%s*[Ee][Nn]") and "en" or nil
  local res = self:with_faults(tags, "api", function()
    return self:api_preflight(req, entry) or self:perform(action, req.body, "api")
  end)
  language_of[co] = nil
  self:write_log(entry, res)
  return res
end

-- ===== byte ranges (like COS/S3: one range per request, If-Range, 416) =====

-- FNV-1a (64-bit) of a short string, as 16 hex digits.
local function fnv64(s)
  local h = 0xcbf29ce484222325
  for i = 1, #s do h = (h ~ s:byte(i)) * 0x100000001b3 end
  return format("%016x", h)
end

-- A strong ETag from what determines the bytes (never from the bytes themselves, which may be
-- hundreds of MB): equal for equal bytes, different when the bytes differ.
local function etag_of(identity, size)
  return format('"%s"', fnv64(format("hy3d-sandbox/%s/%s/%d", VERSION, identity, size)))
end

-- What a Range header asks of a representation of `total` bytes (RFC 9110 §14.1-14.2): nil to
-- ignore it (another unit, or several ranges: answered whole, as RFC 9110 allows), false when it
-- does not parse or cannot be satisfied, else the first and last offsets (0-based, inclusive).
local function byte_range(value, total)
  local unit, set = value:match("^%s*([^=%s]+)%s*=%s*(.-)%s*$")
  if not unit then return false end
  if unit:lower() ~= "bytes" then return nil end
  local specs = {}
  for item in set:gmatch("[^,]+") do
    item = item:match("^%s*(.-)%s*$")
    if item ~= "" then
      local a, b = item:match("^(%d*)%s*%-%s*(%d*)$")
      if not a or (a == "" and b == "") then return false end
      a, b = tonumber(a), tonumber(b)
      if a and b and b < a then return false end
      specs[#specs + 1] = { a, b }
    end
  end
  if #specs == 0 then return false end
  if #specs > 1 then return nil end
  local first, last = specs[1][1], specs[1][2]
  if not first then                                   -- bytes=-K: the last K bytes
    if last == 0 or total == 0 then return false end
    return math.max(total - last, 0), total - 1
  end
  if first >= total then return false end
  return first, math.min(last or total - 1, total - 1)
end

-- Answers a GET or HEAD of `body` like object storage: a strong ETag and, unless cfg.ranges is
-- false, `Accept-Ranges: bytes` and the Range header honoured: 206 with Content-Range and just
-- those bytes, 416 with `Content-Range: bytes */TOTAL` (the body from `refusal()`), or the whole
-- body when the range is to be ignored or If-Range names another ETag.
function Sandbox:serve_bytes(req, body, headers, etag, refusal)
  headers.ETag = etag
  local whole = { status = 200, headers = headers, body = body }
  if self.cfg.ranges == false then return whole end
  headers["Accept-Ranges"] = "bytes"
  local range, if_range = req.headers.range, req.headers["if-range"]
  if not range or (if_range and if_range ~= etag) then return whole end
  local first, last = byte_range(range, #body)
  if first == nil then return whole end
  if not first then
    local res = refusal()
    res.status = 416
    res.headers["Accept-Ranges"] = "bytes"
    res.headers["Content-Range"] = format("bytes */%d", #body)
    return res
  end
  headers["Content-Range"] = format("bytes %d-%d/%d", first, last, #body)
  return { status = 206, headers = headers, body = body:sub(first + 1, last + 1) }
end

local FILE_TYPES = {
  ["model.glb"] = "model.glb", ["model.zip"] = "model.zip", ["postprocess.zip"] = "model.zip",
  ["model.stl"] = "model.stl", ["model.fbx"] = "model.fbx", ["model.usdz"] = "model.usdz",
  ["model.mp4"] = "model.mp4", ["model.gif"] = "model.gif", ["model.obj"] = "model.obj",
  ["model.mtl"] = "model.mtl", ["preview.png"] = "preview.png", ["texture.png"] = "texture.png",
}

local function cos_error(status, code, message)
  return { status = status, headers = { ["Content-Type"] = "application/xml" }, code = code,
           body = format("<?xml version='1.0' encoding='utf-8' ?>\n<Error><Code>%s</Code><Message>%s</Message></Error>\n",
             code, message) }
end

function Sandbox:file_body(job, name)
  if name == "segmentation.json" then
    return cjson.encode { MeshName_part_1 = { face_ids = { 0, 1, 2 }, color = "#FF805C" } }, "application/json"
  end
  return self.assets:file(job.desc, FILE_TYPES[name])
end

-- GET /files/<JobId>/<name>?q-sign-time=...: the result files, like COS pre-signed URLs (byte
-- ranges included). The log entry keeps the Range and If-Range a client sent (range, if_range).
function Sandbox:files(req, job_id, name)
  local entry = self:record(req, { route = "files", auth = req.headers.authorization and "present" or "missing",
                                   range = req.headers.range, if_range = req.headers["if-range"] })
  local res = self:with_faults({ "files" }, "files", function()
    if req.method ~= "GET" and req.method ~= "HEAD" then return cos_error(405, "MethodNotAllowed", "method not allowed") end
    local job, now = self.jobs[job_id], self:now()
    if not job or not file_of(job, name) or status_of(job, now) ~= "DONE" then
      return cos_error(404, "NoSuchKey", "The specified key does not exist.")
    end
    local window_end = tonumber((req.query:match("q%-sign%-time=%d+%%3B(%d+)")))
    if not window_end then return cos_error(403, "AccessDenied", "Request has no valid signature.") end
    if now > window_end then return cos_error(403, "AccessDenied", "Request has expired") end
    local body, ctype = self:file_body(job, name)
    if not body then return cos_error(404, "NoSuchKey", "The specified key does not exist.") end
    local identity = name == "segmentation.json" and name or (job.desc.key .. "|" .. FILE_TYPES[name])
    return self:serve_bytes(req, body, { ["Content-Type"] = ctype }, etag_of(identity, #body), function()
      return cos_error(416, "InvalidRange", "The requested range is not satisfiable")
    end)
  end)
  self:write_log(entry, res)
  return res
end

-- ===== control endpoints (/_sandbox/...) =====

local CONFIG_KEYS = {
  wait_time = "number", run_time = "number", envelope = "string", concurrency = "table", slot_cooldown = "number",
  rate_limit = "number", url_ttl = "number", job_ttl = "number", expired_code = "string", result_format = "string",
  gateway_credits = "boolean", max_skew = "number", regions = "table", ranges = "boolean",
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
  elseif what == "clock" then
    if post then return self:set_clock(body) end
    return json_response(200, self:clock_state())
  elseif what == "reset" and post then
    self.jobs, self.order, self.order_head, self.active, self.requests, self.rate = {}, {}, 1, {}, {}, {}
    self.clock = { offset = 0 }
    self.faults:clear()
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

function Sandbox:handle(req)
  local path = req.path
  if path == "/" and req.headers["x-tc-action"] then return self:api3(req) end
  if path == "/v1/ai3d/submit" then return self:gateway(req, "submit") end
  if path == "/v1/ai3d/query" then return self:gateway(req, "query") end
  local job_id, name = path:match("^/files/(%d+)/([%w%.]+)$")
  if job_id then return self:files(req, job_id, name) end
  local what = path:match("^/_sandbox/(%a+)$")
  if what then return self:control(req, what) end
  if path == "/" and req.method == "POST" then return self:api3(req) end
  if path == "/" or path == "/health" then
    return json_response(200, { service = "hy3d-sandbox", version = VERSION })
  end
  return openai_error(404, "Not found: " .. path, "not_found")
end

--- Creates a sandbox from a config table (see DEFAULTS); call :listen() then :run().
local function new(cfg)
  local c = {}
  for k, v in pairs(DEFAULTS) do c[k] = v end
  for k, v in pairs(cfg or {}) do
    if DEFAULTS[k] == nil and k ~= "lifetime" and k ~= "seed" and k ~= "faults" then
      error("hy3d-sandbox: unknown option " .. tostring(k), 2)
    end
    c[k] = v
  end
  if type(c.max_connections) ~= "number" or c.max_connections < 1 then
    error("hy3d-sandbox: max_connections must be a number >= 1", 2)
  end
  local ht = c.header_timeout
  if type(ht) ~= "number" or ht <= 0 or ht ~= ht then
    error("hy3d-sandbox: header_timeout must be a number of seconds > 0", 2)
  end
  if c.seed then math.randomseed(c.seed) end
  local self = setmetatable({
    cfg = c, jobs = {}, order = {}, order_head = 1, active = {}, prune_at = {}, requests = {}, rate = {}, job_seq = 0,
    clock = { offset = 0 },
    stats = { jobs_created = 0, credits_consumed = 0, rate_limited = 0, requests = {} },
    assets = assets.new { max_faces = c.max_faces }, faults = faults.new(c.seed),
  }, Sandbox)
  for _, rule in ipairs(c.faults or {}) do
    local ok, err = self.faults:add(rule)
    if not ok then error("hy3d-sandbox: " .. err, 2) end
  end
  if c.log == "-" then
    self.log_file = io.stderr
  elseif type(c.log) == "string" then
    self.log_file = assert(io.open(c.log, "a"))
  end
  self.server = http.new(function(req) return self:handle(req) end, { max_connections = c.max_connections,
                                                                        header_timeout = c.header_timeout })
  return self
end

function Sandbox:listen()
  local ip, port = self.server:listen(self.cfg.host, self.cfg.port)
  if not ip then return nil, port end
  self.port = port
  self.base_url = format("http://%s:%d", ip, port)
  return self.base_url
end

function Sandbox:step(timeout)
  return self.server:step(timeout)
end

function Sandbox:run()
  return self.server:run(self.cfg.lifetime)
end

--- Stops listening and closes every connection (for a sandbox driven with step()).
function Sandbox:close()
  self.server:close()
  if self.log_file and self.log_file ~= io.stderr then self.log_file:close() end
  self.log_file = nil
end

local USAGE = [[
usage: hy3d-sandbox [options]
  --host ADDR            address to bind (default 127.0.0.1)
  --port N               port (default 0: pick a free one)
  --api-key KEY          accept this gateway API key (repeatable; alias --key; default sk-hy3d-sandbox;
                         also HY3D_SANDBOX_KEYS=key1,key2)
  --secret-id ID --secret-key KEY
                         accept these API 3.0 credentials (repeatable pairs; default
                         AKIDhy3dSandboxSecretId0000000000 / hy3dSandboxSecretKey000000000000;
                         also HY3D_SANDBOX_SECRET_ID / HY3D_SANDBOX_SECRET_KEY)
  --region R             accept this X-TC-Region (repeatable; default ap-guangzhou; * = any)
  --wait-s S             seconds a job stays WAIT (default 1; alias --wait-time)
  --run-s S              seconds a job stays RUN (default 3; alias --run-time)
  --concurrency N|F=N,.. jobs at once: N for Pro, or per family (pro, rapid, part, uv, reduce_face,
                         texture, profile, motion, rigging, default); 0 = unlimited (default pro=3, others 1)
  --slot-cooldown S      seconds a finished job still holds its slot (default 0)
  --rate-limit N         requests per second per action (default 20; 0 = unlimited)
  --url-ttl S            seconds a result URL stays valid (default 86399)
  --job-ttl S            seconds a JobId stays queryable (default 86400)
  --expired-code CODE    error for unknown/expired JobIds (default FailedOperation.JobNotFound)
  --envelope MODE        gateway bodies: wrapped (default) or flat
  --result-format MODE   Pro ResultFormat adds a file (add, default) or replaces OBJ+GLB (replace)
  --gateway-credits      include credit fields in gateway query answers
  --no-ranges            ignore Range on result files and /_sandbox/blob: always 200 with the whole
                         body and no Accept-Ranges (a host without range support). By default they
                         answer like COS: ETag, Accept-Ranges, 206 for one byte range, 416 past the end
  --max-faces N          cap on generated triangles (default 100000)
  --fault SPEC           inject faults: ROUTE:ACTION[:key=value,...] (repeatable; also
                         HY3D_SANDBOX_FAULTS, rules separated by ';'); see the README
  --seed N               make JobIds, RequestIds and probabilistic faults repeatable
  --log FILE             append a JSON line per request to FILE (- for stderr); secrets redacted
  --max-connections N    open connections at most (default 900, below select's limit of 1024
                         descriptors); a new one takes the place of the oldest incomplete request
                         head, else of the connection idle the longest
  --header-timeout S     seconds a connection has to send a complete request head (default 10);
                         then it is answered 408 (or, if it sent nothing, just closed)
  --lifetime S           exit after S seconds
  --help
The first line printed is the base URL, e.g. http://127.0.0.1:40123
]]

local function fail_usage(message)
  io.stderr:write("hy3d-sandbox: ", message, "\n")
  return 2
end

-- "3" -> { pro = 3, default = 1 }; "pro=3,rapid=2" -> { pro = 3, rapid = 2, default = 1 }
local function parse_concurrency(v)
  if tonumber(v) then return { pro = tonumber(v), default = 1 } end
  local t = { pro = 3, default = 1 }
  for pair in v:gmatch("[^,]+") do
    local k, n = pair:match("^%s*([%w_]+)=(%d+)%s*$")
    if not k or not (actions.FAMILIES[k] or k == "default") then return nil end
    t[k] = tonumber(n)
  end
  return t
end

local NUMERIC = {
  ["--port"] = "port", ["--wait-s"] = "wait_time", ["--wait-time"] = "wait_time", ["--run-s"] = "run_time",
  ["--run-time"] = "run_time", ["--url-ttl"] = "url_ttl", ["--job-ttl"] = "job_ttl", ["--lifetime"] = "lifetime",
  ["--rate-limit"] = "rate_limit", ["--slot-cooldown"] = "slot_cooldown", ["--max-faces"] = "max_faces",
  ["--seed"] = "seed", ["--max-connections"] = "max_connections", ["--header-timeout"] = "header_timeout",
}
-- What each number option takes: a whole number (int), a least value (min, or above: more than),
-- a greatest (max). Values are decimal digits, with a fraction where a whole number is not needed.
local NUMBER_RULES = {
  ["--port"] = { int = true, min = 0, max = 65535 }, ["--max-faces"] = { int = true, min = 1 },
  ["--max-connections"] = { int = true, min = 1 }, ["--rate-limit"] = { min = 0 },
  ["--seed"] = { int = true, min = 0 }, ["--header-timeout"] = { above = 0 }, ["--lifetime"] = { above = 0 },
}

-- The number `v` for option `a`, or nil and a message that says what the option takes.
local function number_arg(a, v)
  local rule = NUMBER_RULES[a] or { min = 0 }
  local n = tonumber(v)
  local digits = v:match("^%d+$") or (not rule.int and (v:match("^%d+%.%d*$") or v:match("^%.%d+$")))
  if not digits or not n or n > (rule.max or 1e15) or (rule.min and n < rule.min) or (rule.above and n <= rule.above) then
    local want = rule.int and "a whole number" or "a number of seconds"
    if rule.max then
      want = ("%s from %d to %d"):format(want, rule.min, rule.max)
    elseif rule.above then
      want = ("%s above %g"):format(want, rule.above)
    else
      want = ("%s of at least %d"):format(want, rule.min)
    end
    return nil, ("%s needs %s"):format(a, want)
  end
  return n
end

local STRING = { ["--host"] = "host", ["--envelope"] = "envelope", ["--expired-code"] = "expired_code",
                 ["--result-format"] = "result_format", ["--log"] = "log" }
local VALUED = { ["--api-key"] = true, ["--key"] = true, ["--secret-id"] = true, ["--secret-key"] = true, ["--region"] = true,
                 ["--fault"] = true, ["--concurrency"] = true }
local CHOICES = { envelope = { wrapped = true, flat = true }, result_format = { add = true, replace = true } }

--- Parses argv and the environment into a config table, or nil, message.
local function parse_args(argv, getenv)
  local cfg, keys, ids, secret_keys, regions, fault_specs = {}, {}, {}, {}, {}, {}
  for k in (getenv("HY3D_SANDBOX_KEYS") or ""):gmatch("[^,%s]+") do keys[#keys + 1] = k end
  if getenv("HY3D_SANDBOX_SECRET_ID") and getenv("HY3D_SANDBOX_SECRET_KEY") then
    ids[1], secret_keys[1] = getenv("HY3D_SANDBOX_SECRET_ID"), getenv("HY3D_SANDBOX_SECRET_KEY")
  end
  if getenv("HY3D_SANDBOX_FAULTS") then fault_specs[1] = getenv("HY3D_SANDBOX_FAULTS") end
  local i = 1
  while i <= #argv do
    local a, v = argv[i], argv[i + 1]
    if a == "--help" or a == "-h" then
      return { help = true }
    elseif a == "--log" and (v == nil or v:sub(1, 2) == "--") then
      cfg.log = "-"                                  -- bare --log: stderr, as before
      i = i - 1
    elseif a == "--gateway-credits" then
      cfg.gateway_credits = true
      i = i - 1
    elseif a == "--no-ranges" then
      cfg.ranges = false
      i = i - 1
    elseif not (NUMERIC[a] or STRING[a] or VALUED[a]) then
      return nil, "unknown argument " .. a
    elseif v == nil then
      return nil, a .. " needs a value"
    elseif NUMERIC[a] then
      local n, err = number_arg(a, v)
      if not n then return nil, err end
      cfg[NUMERIC[a]] = n
    elseif STRING[a] then
      local key = STRING[a]
      if CHOICES[key] and not CHOICES[key][v] then return nil, a .. ": unknown value " .. v end
      cfg[key] = v
    elseif a == "--api-key" or a == "--key" then keys[#keys + 1] = v
    elseif a == "--secret-id" then ids[#ids + 1] = v
    elseif a == "--secret-key" then secret_keys[#secret_keys + 1] = v
    elseif a == "--region" then regions[#regions + 1] = v
    elseif a == "--fault" then fault_specs[#fault_specs + 1] = v
    else                                             -- --concurrency
      cfg.concurrency = parse_concurrency(v)
      if not cfg.concurrency then return nil, "--concurrency needs N or family=N,... (families: pro, rapid, ...)" end
    end
    i = i + 2
  end
  if #keys > 0 then cfg.keys = keys end
  if #ids ~= #secret_keys then return nil, "--secret-id and --secret-key come in pairs" end
  if #ids > 0 then
    cfg.secrets = {}
    for n = 1, #ids do cfg.secrets[ids[n]] = secret_keys[n] end
  end
  if #regions > 0 then cfg.regions = regions end
  if #fault_specs > 0 then
    local probe = faults.new(1)
    cfg.faults = {}
    for _, spec in ipairs(fault_specs) do
      local rules, err = probe:parse(spec)
      if not rules then return nil, "--fault: " .. err end
      for _, r in ipairs(rules) do cfg.faults[#cfg.faults + 1] = r end
    end
  end
  return cfg
end

--- Command-line entry point (bin/hy3d-sandbox).
local function main(argv)
  local cfg, err = parse_args(argv, os.getenv)
  if not cfg then return fail_usage(err .. " (see `hy3d-sandbox --help`)") end
  if cfg.help then
    io.write(USAGE)
    return 0
  end
  if not cfg.seed then math.randomseed(floor(gettime() * 1000) % 2147483647) end
  local ok, sb = pcall(new, cfg)
  if not ok then return fail_usage(tostring(sb)) end
  local url, lerr = sb:listen()
  if not url then
    io.stderr:write("hy3d-sandbox: cannot listen on ", sb.cfg.host, ":", tostring(sb.cfg.port), ": ", tostring(lerr), "\n")
    return 1
  end
  local ids = {}
  for id in pairs(sb.cfg.secrets) do ids[#ids + 1] = id end
  table.sort(ids)
  io.stdout:write(url, "\n")
  io.stdout:write(format("hy3d-sandbox %s: API keys: %s; SecretIds: %s; jobs WAIT %gs, RUN %gs\n", VERSION,
    concat(sb.cfg.keys, ", "), concat(ids, ", "), sb.cfg.wait_time, sb.cfg.run_time))
  io.stdout:flush()
  sb:run()
  sb:close()
  return 0
end

return {
  new = new,
  main = main,
  parse_args = parse_args,
  defaults = DEFAULTS,
  secret_id = SANDBOX_SECRET_ID,
  secret_key = SANDBOX_SECRET_KEY,
  api_version = API_VERSION,
  _VERSION = VERSION,
}
