-- hy3d.sandbox.doors: the two doors into one job store — the OpenAI-compatible gateway
-- (/v1/ai3d/submit|query, API key) and Tencent Cloud API 3.0 (POST /, X-TC-Action, TC3) — each
-- turning a request into an action (API 3.0's preflight checks in the service's order), running it
-- (validation by hy3d.sandbox.actions, then submit, query or the synchronous convert on the store)
-- and answering in its envelope and language; request-phase faults wrap both. Methods of the
-- sandbox object (hy3d.sandbox mixes `methods` in); depends on store, actions, faults' rules (through
-- self.faults), tc3 and http (fault delays). About 320 lines: the two doors share the actions and
-- the envelopes, which a further cut would pass back and forth.
local cjson = require "cjson"
local http = require "hy3d.sandbox.http"
local actions = require "hy3d.sandbox.actions"
local tc3 = require "hy3d.sandbox.tc3"
local store = require "hy3d.sandbox.store"
local intl = require "hy3d.sandbox.intl"

local format = string.format
local uuid, status_of = store.uuid, store.status_of

local API_VERSION = "2025-05-13"

-- A placeholder that encodes as [] (lua-cjson 2.1.0 encodes every empty table as {}).
local EMPTY_ARRAY_MARK = "\1hy3d-empty-array\1"
local EMPTY_ARRAY_PATTERN = ('"\\u0001hy3d-empty-array\\u0001"'):gsub("%p", "%%%0")

local function encode(v)
  return (cjson.encode(v):gsub(EMPTY_ARRAY_PATTERN, "[]"))
end

local Sandbox = {}

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
                site = door == "intl" and "intl" or nil,
                wait_time = self.cfg.wait_time, run_time = self.cfg.run_time, desc = desc,
                results = (action.results or actions.result_files)(family, p, self.cfg), credits = total,
                credit_details = details }
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
  if job and (now - job.created > self.cfg.job_ttl or job.family ~= action.family
      or (job.site == "intl") ~= (door == "intl")) then            -- each site knows its own jobs
    job = nil
  end
  if not job then return self:api_error(self.cfg.expired_code, { zh = "任务不存在", en = "The job does not exist." }, door) end
  local status = status_of(job, now)
  local r = { Status = status, ErrorCode = "", ErrorMessage = "", ResultFile3Ds = EMPTY_ARRAY_MARK }
  if status == "DONE" then
    r.ResultFile3Ds = self:result_files(job)
    -- Pro's answers carry the credit fields (reference §5.3); the other kinds document none (all_credits adds
    -- them, by the same table); the gateway's only with gateway_credits; the intl site's never
    local credit_door = door == "api" or door == "gateway" and self.cfg.gateway_credits
    if (job.family == "pro" or self.cfg.all_credits) and credit_door then
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
  local total, details = actions.credits("convert", p)
  local job = { id = self:new_job_id(), family = "convert", action = "Convert3DFormat", created = self:now(),
                params = p, wait_time = 0, run_time = 0, credits = total,
                desc = self.assets:describe { text = "convert:" .. source },
                results = { { p.Format, actions.FILE_NAMES[p.Format] } } }
  self:store(job)
  self.stats.credits_consumed = self.stats.credits_consumed + job.credits
  local r = { ResultFile3D = self:file_url(job, actions.FILE_NAMES[p.Format]) }
  if self.cfg.all_credits and door == "api" then
    r.ResultCreditConsumed, r.ResultCreditDetails = total, cjson.encode(details)
  end
  return self:answer(r, door)
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
  local code, message = (action.validate or actions.validate)(action, p, ctx)
  if code then return self:api_error(code, message, door) end
  if action.role == "submit" then return self:submit(action, p, door) end
  if action.role == "query" then return self:query(action, p, door) end
  return self:convert(p, door)
end

-- ===== the doors =====

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

-- The union of two SecretId -> SecretKey tables (the other site's keys verify its signatures too,
-- so that a good signature from the wrong site gets that site's refusal, not SignatureFailure).
local function both(a, b)
  local out = {}
  for k, v in pairs(b or {}) do out[k] = v end
  for k, v in pairs(a or {}) do out[k] = v end
  return out
end

-- The checks of the API 3.0 door before the action runs, in the service's order. `site` is a
-- hy3d.sandbox.intl site (mainland or intl): its version, TC3 service, SecretIds, regions, actions.
function Sandbox:api_preflight(req, entry, site)
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
  if h["x-tc-version"] ~= site.version then
    return self:api_error("NoSuchVersion", format("The API version `%s` does not exist (%s has %s).",
      h["x-tc-version"], site.service, site.version))
  end
  local own, foreign = site.own(self.cfg) or {}, site.foreign(self.cfg) or {}
  local secret_id, code, message = tc3.verify(req, both(own, foreign), { max_skew = self.cfg.max_skew,
                                                                          service = site.service, now = self:wall_clock() })
  if not secret_id then
    local parsed = req.headers.authorization and tc3.parse(req.headers.authorization)
    entry.secret_id = parsed and parsed.secret_id
    return self:api_error(code, message)
  end
  entry.secret_id = secret_id
  if not own[secret_id] then                       -- an account of the other site
    local refuse = site.refuse(self.cfg)
    return self:api_error(refuse, intl.refusal_message(refuse))
  end
  local region = h["x-tc-region"]
  if not region or region == "" then
    return self:api_error("MissingParameter", "The request is missing a required parameter `Region`.")
  end
  if not region_ok(site.regions(self.cfg), region) then
    return self:api_error("UnsupportedRegion", format("The region `%s` is not supported by %s.", region, site.service))
  end
  if not self:action_of(h["x-tc-action"], site) then
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

-- POST / with X-TC-Action: Tencent Cloud API 3.0, on the mainland (service ai3d) or the
-- international site (service hunyuan: hy3d.sandbox.intl), as the credential scope says. Every API
-- answer is HTTP 200.
function Sandbox:api3(req)
  local name = req.headers["x-tc-action"]
  local site = intl.site_of(req.headers.authorization, tc3.parse)
  local action = self:action_of(name or "", site)
  local entry = self:record(req, { route = "api", door = site.door, site = site.name, action = name, auth = "tc3" })
  local tags = { "api", name or "", action and action.family or "", action and action.role or "" }
  if action and action.role == "sync" then tags[#tags + 1] = "convert" end
  if site.name == "intl" then tags[#tags + 1] = "intl" end
  local co = coroutine.running() or false
  language_of[co] = (req.headers["x-tc-language"] or ""):match("^%s*[Ee][Nn]") and "en" or nil
  local res = self:with_faults(tags, "api", function()
    return self:api_preflight(req, entry, site) or self:perform(action, req.body, site.door)
  end)
  language_of[co] = nil
  self:write_log(entry, res)
  return res
end

return { methods = Sandbox, encode = encode, json_response = json_response, openai_error = openai_error,
         EMPTY_ARRAY_MARK = EMPTY_ARRAY_MARK, API_VERSION = API_VERSION }
