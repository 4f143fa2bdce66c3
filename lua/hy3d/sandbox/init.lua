--- hy3d-sandbox: an offline emulator of Tencent's Hunyuan 3D service for development, demos and
-- tests. This version emulates the OpenAI-compatible gateway (`/v1/ai3d/submit`, `/v1/ai3d/query`)
-- with jobs that go WAIT -> RUN -> DONE (or FAIL) on configurable timings, result files it serves
-- itself, fault injection, and control endpoints under `/_sandbox/`.
local cjson = require "cjson"
local socket = require "socket"
local http = require "hy3d.sandbox.http"
local assets = require "hy3d.sandbox.assets"

local gettime = socket.gettime
local format, concat = string.format, table.concat

local VERSION = "0.1.0"

local DEFAULTS = {
  host = "127.0.0.1",
  port = 0,
  keys = { "sk-hy3d-sandbox" },
  wait_time = 1,          -- seconds a job stays WAIT
  run_time = 3,           -- seconds a job stays RUN
  envelope = "wrapped",   -- "wrapped": {"Response": {...}}; "flat": the object alone (reference §2.4 [R])
  concurrency = 3,        -- Pro jobs per account in WAIT/RUN; 0 = unlimited
  url_ttl = 86399,        -- seconds a result URL stays valid (COS q-sign-time window)
  job_ttl = 86400,        -- seconds a JobId stays queryable
  lifetime = nil,         -- exit after this many seconds (a safety net for scripts)
  log = false,            -- one line per request on stderr
}

local PRO_FIELDS = {
  Model = "string", Prompt = "string", ImageBase64 = "string", ImageUrl = "any",
  MultiViewImages = "table", EnablePBR = "boolean", FaceCount = "number", GenerateType = "string",
  PolygonType = "string", ResultFormat = "string",
}
local GENERATE_TYPES = { Normal = true, LowPoly = true, Geometry = true, Sketch = true }
local POLYGON_TYPES = { triangle = true, quadrilateral = true }
local RESULT_FORMATS = { STL = true, USDZ = true, FBX = true }
local VIEWS_30 = { left = true, right = true, back = true }
local VIEWS_31 = { top = true, bottom = true, left_front = true, right_front = true }
local MAX_IMAGE_BYTES = 6 * 1024 * 1024

-- A placeholder that encodes as [] (lua-cjson 2.1.0 encodes every empty table as {}).
local EMPTY_ARRAY_MARK = "\1hy3d-empty-array\1"
local EMPTY_ARRAY_PATTERN = ('"\\u0001hy3d-empty-array\\u0001"'):gsub("%p", "%%%0")

local function encode(v)
  return (cjson.encode(v):gsub(EMPTY_ARRAY_PATTERN, "[]"))
end

local function uuid()
  local r = {}
  for i = 1, 16 do r[i] = math.random(0, 255) end
  r[7] = (r[7] & 0x0f) | 0x40
  r[9] = (r[9] & 0x3f) | 0x80
  local h = {}
  for i = 1, 16 do h[i] = format("%02x", r[i]) end
  return concat(h, "", 1, 4) .. "-" .. concat(h, "", 5, 6) .. "-" .. concat(h, "", 7, 8) .. "-"
    .. concat(h, "", 9, 10) .. "-" .. concat(h, "", 11, 16)
end

local Sandbox = {}
Sandbox.__index = Sandbox

-- ===== responses =====

local function json_response(status, body, extra)
  local headers = { ["Content-Type"] = "application/json" }
  for k, v in pairs(extra or {}) do headers[k] = v end
  return { status = status, headers = headers, body = encode(body) }
end

-- A service answer (HTTP 200) in the configured envelope, with a fresh RequestId.
function Sandbox:answer(fields)
  fields.RequestId = uuid()
  if self.cfg.envelope == "flat" then return json_response(200, fields) end
  return json_response(200, { Response = fields })
end

-- A business error: HTTP 200 with Response.Error (the API's convention).
function Sandbox:api_error(code, message)
  return self:answer { Error = { Code = code, Message = message } }
end

local function openai_error(status, message, code, kind)
  return json_response(status, { error = { message = message, type = kind or "invalid_request_error", code = code } })
end

-- ===== jobs =====

function Sandbox:new_job_id()
  self.job_seq = (self.job_seq + 1) % 4096
  local ms = math.floor(gettime() * 1000) - 1288834974657
  return format("%d", (ms << 22) | (self.job_seq << 10) | math.random(0, 1023))
end

local function status_of(job, now)
  local age = (now or gettime()) - job.created
  if age < job.wait_time then return "WAIT" end
  if age < job.wait_time + job.run_time then return "RUN" end
  return job.fail and "FAIL" or "DONE"
end

function Sandbox:running_jobs()
  local n, now = 0, gettime()
  for _, job in pairs(self.jobs) do
    local s = status_of(job, now)
    if s == "WAIT" or s == "RUN" then n = n + 1 end
  end
  return n
end

-- COS-like signed URL of one result file.
function Sandbox:file_url(job, name)
  local start = math.floor(gettime())
  return format("%s/files/%s/%s?q-sign-algorithm=sha1&q-ak=AKIDsandbox&q-sign-time=%d%%3B%d"
    .. "&q-key-time=%d%%3B%d&q-header-list=host&q-url-param-list=&q-signature=%s",
    self.base_url, job.id, name, start, start + self.cfg.url_ttl, start, start + self.cfg.url_ttl,
    (uuid():gsub("-", "")))
end

function Sandbox:result_files(job)
  local preview = self:file_url(job, "preview.png")
  local files = {}
  if job.params.GenerateType ~= "Geometry" then
    files[#files + 1] = { Type = "OBJ", Url = self:file_url(job, "model.zip"), PreviewImageUrl = preview }
  end
  files[#files + 1] = { Type = "GLB", Url = self:file_url(job, "model.glb"), PreviewImageUrl = preview }
  if job.params.ResultFormat == "STL" then
    files[#files + 1] = { Type = "STL", Url = self:file_url(job, "model.stl"), PreviewImageUrl = preview }
  end
  return files
end

-- ===== validation (reference §5.3, §8, §12.3) =====

local function param_error(field, rule)
  return "InvalidParameter", format("【%s】%s", field, rule)
end

-- Returns nil when params are acceptable, else code, message.
local function validate_pro(p)
  for k, v in pairs(p) do
    local want = PRO_FIELDS[k]
    if not want then return "UnknownParameter", format("The parameter `%s` is not recognized.", k) end
    if want ~= "any" and type(v) ~= want then return param_error(k, "参数类型错误") end
  end
  local model = p.Model or "3.0"
  if model ~= "3.0" and model ~= "3.1" then return param_error("Model", "仅支持3.0,3.1") end
  local gen = p.GenerateType or "Normal"
  if not GENERATE_TYPES[gen] then return param_error("GenerateType", "仅支持Normal,LowPoly,Geometry,Sketch") end
  if model == "3.1" and (gen == "LowPoly" or gen == "Sketch") then
    return param_error("GenerateType", "3.1版本不支持LowPoly和Sketch")
  end
  local image = p.ImageUrl
  if type(image) == "table" then image = image.Url end
  if p.ImageUrl ~= nil and type(image) ~= "string" then return param_error("ImageUrl", "参数类型错误") end
  local inputs = (p.Prompt and 1 or 0) + (p.ImageBase64 and 1 or 0) + (image and 1 or 0)
  if gen == "Sketch" then
    if not (p.ImageBase64 or image) then return param_error("ImageBase64/ImageUrl", "Sketch模式需要提供图片") end
  elseif inputs ~= 1 then
    return param_error("Prompt/ImageBase64/ImageUrl", "必须且只能提供其中一个")
  end
  if p.Prompt then
    local n = utf8.len(p.Prompt)
    if not n then return param_error("Prompt", "不是合法的UTF-8文本") end
    if n == 0 then return param_error("Prompt", "不能为空") end
    if n > 1024 then return param_error("Prompt", "长度不能超过1024个字符") end
  end
  if p.ImageBase64 and #p.ImageBase64 * 3 / 4 > MAX_IMAGE_BYTES then
    return param_error("ImageBase64", "图片大小不能超过6M")
  end
  if p.FaceCount then
    if p.FaceCount ~= math.floor(p.FaceCount) then return param_error("FaceCount", "必须是整数") end
    if p.FaceCount < 3000 or p.FaceCount > 1500000 then return param_error("FaceCount", "取值范围为[3000, 1500000]") end
  end
  if p.PolygonType and not POLYGON_TYPES[p.PolygonType] then
    return param_error("PolygonType", "仅支持triangle,quadrilateral")
  end
  if p.ResultFormat and not RESULT_FORMATS[p.ResultFormat] then
    return param_error("ResultFormat", "仅支持STL,USDZ,FBX")
  end
  if p.MultiViewImages then
    local seen = {}
    for i, v in ipairs(p.MultiViewImages) do
      if type(v) ~= "table" then return param_error("MultiViewImages", "参数类型错误") end
      local view = v.ViewType
      if not (VIEWS_30[view] or VIEWS_31[view]) then return param_error("MultiViewImages.ViewType", "取值错误") end
      if VIEWS_31[view] and model ~= "3.1" then return param_error("MultiViewImages.ViewType", view .. "仅3.1版本支持") end
      if seen[view] then return param_error("MultiViewImages.ViewType", "视角不能重复") end
      seen[view] = i
      if type(v.ViewImageUrl) ~= "string" and type(v.ViewImageBase64) ~= "string" then
        return param_error("MultiViewImages", "每个视角需要提供ViewImageUrl或ViewImageBase64")
      end
    end
  end
  return nil
end

-- ===== request log and faults =====

-- Describes the Authorization header without keeping it: its form ("raw", "bearer" or "missing")
-- and whether it carries a configured key.
local function auth_form(value, keys)
  if not value or value == "" then return "missing", false end
  local bearer = value:match("^[Bb]earer%s+(.+)$")
  local key = bearer or value
  for _, k in ipairs(keys) do
    if key == k then return bearer and "bearer" or "raw", true end
  end
  return bearer and "bearer" or "raw", false
end

function Sandbox:record(req, route, auth, key_ok)
  local headers = {}
  for k, v in pairs(req.headers) do
    if k ~= "authorization" then headers[k] = v end
  end
  local log = self.requests
  log[#log + 1] = { method = req.method, path = req.path, query = req.query, route = route,
                    auth = auth, key_ok = key_ok, headers = headers, body = req.body, time = gettime(),
                    connection = req.connection }
  if #log > 200 then table.remove(log, 1) end
  if self.cfg.log then
    io.stderr:write(format("hy3d-sandbox: %s %s (%s)\n", req.method, req.path, route))
  end
end

-- The first fault rule that matches this route, consumed (count) if one does.
function Sandbox:take_fault(route, phase)
  for i, f in ipairs(self.faults) do
    if (f.route == route or f.route == "any") and (f.phase or "request") == phase then
      if f.count > 0 then
        f.count = f.count - 1
        if f.count == 0 then table.remove(self.faults, i) end
      end
      return f
    end
  end
end

-- Applies a request-phase fault. Returns a response to send instead, or nil to go on.
function Sandbox:apply_fault(f)
  if f.action == "delay" then
    http.sleep(f.delay or 1)
    return nil
  elseif f.action == "status" then
    return { status = f.status or 500, headers = { ["Content-Type"] = f.content_type or "text/plain" },
             body = f.body or (http.reasons[f.status or 500] or "error") .. "\n" }
  elseif f.action == "garbage" then
    return { status = 200, headers = { ["Content-Type"] = "text/html" },
             body = f.body or "<html><body>502 upstream hiccup</body></html>" }
  elseif f.action == "close" then
    return { drop = true }
  elseif f.action == "api_error" then
    return self:api_error(f.code or "InternalError", f.message or "内部错误")
  end
  return nil
end

-- The response a request-phase fault puts in place of the real one, if any (a delay just waits).
function Sandbox:injected(route)
  local fault = self:take_fault(route, "request")
  return fault and self:apply_fault(fault)
end

-- ===== routes =====

function Sandbox:submit(p)
  local code, message = validate_pro(p)
  if code then return self:api_error(code, message) end
  local limit = self.cfg.concurrency
  if limit > 0 and self:running_jobs() >= limit then
    return self:api_error("RequestLimitExceeded.JobNumExceed", format("当前已达到%d个任务上限，请稍后重试", limit))
  end
  local job = { id = self:new_job_id(), created = gettime(), params = p,
                wait_time = self.cfg.wait_time, run_time = self.cfg.run_time }
  local fail = self:take_fault("submit", "job")
  if fail then
    job.fail = { code = fail.code or "FailedOperation.ServerError", message = fail.message or "算法服务异常" }
  end
  self.jobs[job.id] = job
  self.stats.jobs_created = self.stats.jobs_created + 1
  return self:answer { JobId = job.id }
end

function Sandbox:query(p)
  if p.JobId == nil then return self:api_error("MissingParameter", "【JobId】缺少必填参数") end
  if type(p.JobId) ~= "string" then return self:api_error(param_error("JobId", "参数类型错误")) end
  for k in pairs(p) do
    if k ~= "JobId" then return self:api_error("UnknownParameter", format("The parameter `%s` is not recognized.", k)) end
  end
  local job = self.jobs[p.JobId]
  if job and gettime() - job.created > self.cfg.job_ttl then job = nil end
  if not job then return self:api_error("FailedOperation.JobNotFound", "任务不存在") end
  local status = status_of(job)
  local r = { Status = status, ErrorCode = "", ErrorMessage = "", ResultFile3Ds = EMPTY_ARRAY_MARK }
  if status == "DONE" then
    r.ResultFile3Ds = self:result_files(job)
  elseif status == "FAIL" then
    r.ErrorCode, r.ErrorMessage = job.fail.code, job.fail.message
  end
  return self:answer(r)
end

-- POST /v1/ai3d/{submit,query}: key, method, content type and body checked like the service.
function Sandbox:gateway(req, route)
  local auth, key_ok = auth_form(req.headers.authorization, self.cfg.keys)
  self:record(req, route, auth, key_ok)
  local injected = self:injected(route)
  if injected then return injected end
  if req.method ~= "POST" then
    return openai_error(405, "Method not allowed; use POST", "method_not_allowed")
  end
  if not key_ok then
    if auth == "missing" then
      return openai_error(401, "You didn't provide an API key in the Authorization header", "invalid_api_key")
    end
    return openai_error(401, "Incorrect API key provided", "invalid_api_key")
  end
  local ctype = (req.headers["content-type"] or ""):lower()
  if not ctype:match("^application/json%s*;?") or ctype:match("^application/json[^;%s]") then
    return self:api_error("InvalidParameter", "Content-Type must be application/json")
  end
  local ok, body = pcall(cjson.decode, req.body)
  if not ok or type(body) ~= "table" then
    return self:api_error("InvalidParameter", "请求体不是合法的JSON对象")
  end
  if route == "submit" then return self:submit(body) end
  return self:query(body)
end

local FILE_TYPES = {
  ["model.glb"] = { "glb", "model/gltf-binary" },
  ["model.zip"] = { "zip", "application/zip" },
  ["model.stl"] = { "stl", "model/stl" },
  ["preview.png"] = { "png", "image/png" },
}

local function cos_error(status, code, message)
  return { status = status, headers = { ["Content-Type"] = "application/xml" },
           body = format("<?xml version='1.0' encoding='utf-8' ?>\n<Error><Code>%s</Code><Message>%s</Message></Error>\n",
             code, message) }
end

-- GET /files/<JobId>/<name>?q-sign-time=...: the result files, like COS pre-signed URLs.
function Sandbox:files(req, job_id, name)
  self:record(req, "files", req.headers.authorization and "present" or "missing", nil)
  local injected = self:injected("files")
  if injected then return injected end
  if req.method ~= "GET" and req.method ~= "HEAD" then return cos_error(405, "MethodNotAllowed", "method not allowed") end
  local job, kind = self.jobs[job_id], FILE_TYPES[name]
  if not job or not kind or status_of(job) ~= "DONE" then
    return cos_error(404, "NoSuchKey", "The specified key does not exist.")
  end
  local window_end = tonumber((req.query:match("q%-sign%-time=%d+%%3B(%d+)")))
  if not window_end then return cos_error(403, "AccessDenied", "Request has no valid signature.") end
  if gettime() > window_end then return cos_error(403, "AccessDenied", "Request has expired") end
  return { status = 200, headers = { ["Content-Type"] = kind[2] }, body = self.assets[kind[1]] }
end

-- ===== control endpoints (/_sandbox/...) =====

local CONFIG_KEYS = { wait_time = "number", run_time = "number", envelope = "string",
                      concurrency = "number", url_ttl = "number", job_ttl = "number", log = "boolean" }
local FAULT_ACTIONS = { delay = true, status = true, garbage = true, close = true, api_error = true, fail = true }

local MAX_BLOB = 512 * 1024 * 1024

function Sandbox:control(req, what)
  if what == "blob" then       -- GET /_sandbox/blob?size=N: N bytes of a fixed pattern (download tests)
    local size = tonumber(req.query:match("size=(%d+)") or "")
    if not size or size > MAX_BLOB then return openai_error(400, "size must be 0.." .. MAX_BLOB, "bad_size") end
    local pattern = "0123456789abcdef"
    local body = pattern:rep(size // #pattern) .. pattern:sub(1, size % #pattern)
    return { status = 200, headers = { ["Content-Type"] = "application/octet-stream" }, body = body }
  end
  local body = {}
  if req.body ~= "" then
    local ok, decoded = pcall(cjson.decode, req.body)
    if not ok or type(decoded) ~= "table" then return openai_error(400, "body must be a JSON object", "bad_json") end
    body = decoded
  end
  if what == "stats" then
    local s = {}
    for k, v in pairs(self.server.stats) do s[k] = v end
    for k, v in pairs(self.stats) do s[k] = v end
    s.jobs_running = self:running_jobs()
    return json_response(200, s)
  elseif what == "requests" then
    local list = self.requests
    if #list == 0 then return json_response(200, { requests = EMPTY_ARRAY_MARK }) end
    return json_response(200, { requests = list })
  elseif what == "config" and req.method == "POST" then
    for k, v in pairs(body) do
      if CONFIG_KEYS[k] ~= type(v) then
        return openai_error(400, "unknown or mistyped config key: " .. tostring(k), "bad_config")
      end
      self.cfg[k] = v
    end
    return json_response(200, self:public_config())
  elseif what == "config" then
    return json_response(200, self:public_config())
  elseif what == "faults" and req.method == "POST" then
    local rules = body[1] and body or { body }
    for _, f in ipairs(rules) do
      if not FAULT_ACTIONS[f.action] then
        return openai_error(400, "unknown fault action: " .. tostring(f.action), "bad_fault")
      end
      f.route = f.route or "any"
      f.count = f.count or 1
      f.phase = f.action == "fail" and "job" or "request"
      if f.action == "fail" then f.route = "submit" end
      self.faults[#self.faults + 1] = f
    end
    return json_response(200, { faults = #self.faults })
  elseif what == "reset" and req.method == "POST" then
    self.jobs, self.faults, self.requests = {}, {}, {}
    self.stats.jobs_created = 0
    local st = self.server.stats
    st.connections_opened, st.requests_served = st.connections_open, 0
    return json_response(200, { reset = true })
  elseif what == "shutdown" and req.method == "POST" then
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
  if path == "/v1/ai3d/submit" then return self:gateway(req, "submit") end
  if path == "/v1/ai3d/query" then return self:gateway(req, "query") end
  local job_id, name = path:match("^/files/(%d+)/([%w%.]+)$")
  if job_id then return self:files(req, job_id, name) end
  local what = path:match("^/_sandbox/(%a+)$")
  if what then return self:control(req, what) end
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
    if DEFAULTS[k] == nil and k ~= "lifetime" then error("hy3d-sandbox: unknown option " .. tostring(k), 2) end
    c[k] = v
  end
  local self = setmetatable({ cfg = c, jobs = {}, faults = {}, requests = {}, job_seq = 0,
                              stats = { jobs_created = 0 }, assets = assets.build() }, Sandbox)
  self.server = http.new(function(req) return self:handle(req) end)
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

local USAGE = [[
usage: hy3d-sandbox [options]
  --host ADDR          address to bind (default 127.0.0.1)
  --port N             port (default 0: pick a free one)
  --api-key KEY        accept this API key (repeatable; default sk-hy3d-sandbox;
                       also HY3D_SANDBOX_KEYS=key1,key2)
  --wait-time S        seconds a job stays WAIT (default 1)
  --run-time S         seconds a job stays RUN (default 3)
  --envelope MODE      wrapped (default) or flat response bodies
  --concurrency N      Pro jobs running at once per account (default 3; 0 = unlimited)
  --url-ttl S          seconds a result URL stays valid (default 86399)
  --lifetime S         exit after S seconds
  --log                print one line per request on stderr
  --help
The first line printed is the base URL, e.g. http://127.0.0.1:40123
]]

--- Command-line entry point (bin/hy3d-sandbox).
local function main(argv)
  local cfg, keys = {}, {}
  local env_keys = os.getenv("HY3D_SANDBOX_KEYS")
  if env_keys then
    for k in env_keys:gmatch("[^,%s]+") do keys[#keys + 1] = k end
  end
  local numeric = { ["--port"] = "port", ["--wait-time"] = "wait_time", ["--run-time"] = "run_time",
                    ["--concurrency"] = "concurrency", ["--url-ttl"] = "url_ttl", ["--lifetime"] = "lifetime" }
  local i = 1
  while i <= #argv do
    local a, v = argv[i], argv[i + 1]
    if a == "--help" or a == "-h" then
      io.write(USAGE)
      return 0
    elseif numeric[a] then
      if not tonumber(v) then io.stderr:write("hy3d-sandbox: ", a, " needs a number\n") return 2 end
      cfg[numeric[a]] = tonumber(v)
      i = i + 1
    elseif a == "--host" or a == "--envelope" then
      if not v then io.stderr:write("hy3d-sandbox: ", a, " needs a value\n") return 2 end
      cfg[a:sub(3)] = v
      i = i + 1
    elseif a == "--api-key" then
      if not v then io.stderr:write("hy3d-sandbox: --api-key needs a value\n") return 2 end
      keys[#keys + 1] = v
      i = i + 1
    elseif a == "--log" then
      cfg.log = true
    else
      io.stderr:write("hy3d-sandbox: unknown argument ", a, "\n", USAGE)
      return 2
    end
    i = i + 1
  end
  if #keys > 0 then cfg.keys = keys end
  if cfg.envelope and cfg.envelope ~= "wrapped" and cfg.envelope ~= "flat" then
    io.stderr:write("hy3d-sandbox: --envelope must be wrapped or flat\n")
    return 2
  end
  math.randomseed(math.floor(gettime() * 1000) % 2147483647)
  local sb = new(cfg)
  local url, err = sb:listen()
  if not url then
    io.stderr:write("hy3d-sandbox: cannot listen on ", sb.cfg.host, ":", tostring(sb.cfg.port), ": ", tostring(err), "\n")
    return 1
  end
  io.stdout:write(url, "\n")
  io.stdout:write(format("hy3d-sandbox %s: API keys: %s; jobs WAIT %gs, RUN %gs\n", VERSION,
    concat(sb.cfg.keys, ", "), sb.cfg.wait_time, sb.cfg.run_time))
  io.stdout:flush()
  sb:run()
  return 0
end

return {
  new = new,
  main = main,
  defaults = DEFAULTS,
  validate_pro = validate_pro,
  _VERSION = VERSION,
}
