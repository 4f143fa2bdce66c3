-- hy3d.sandbox.mps: the Media Processing (MPS) door of hy3d-sandbox — POST / signed with TC3 for
-- service `mps`, version 2019-06-12, no Region needed; SubmitHunyuan3DTask (MPS's fields: Prompt,
-- ImageUrl, MultiViewImages with front, GenerateType, MeshUrl for a texture job, EnablePBR, FaceCount,
-- KeepUV, ResultFormat FBX, Seed, Style) and QueryHunyuan3DTask (TaskId; Status, Progress rising 0 to
-- 100 over the job's run time, ResultFile3Ds once DONE, ErrorCode/ErrorMessage), in the same job store
-- and with the same result files as the other doors. What is uncertain about MPS is configurable
-- (cfg.mps, DEFAULTS below). Its international site (another host of the same service) is this
-- door too: the SecretIds of both sites (cfg.secrets, cfg.intl_secrets) sign for it. Methods of
-- the sandbox object (hy3d.sandbox mixes `methods` in); depends on store, doors (answers,
-- envelopes, faults), tc3 and image.
local cjson = require "cjson"
local core = require "hy3d.core"
local tc3 = require "hy3d.sandbox.tc3"
local store = require "hy3d.sandbox.store"
local image = require "hy3d.sandbox.image"

local format, floor = string.format, math.floor
local uuid, status_of = store.uuid, store.status_of
local NULL = cjson.null

local VERSION = "2019-06-12"
local SUBMIT, QUERY = "SubmitHunyuan3DTask", "QueryHunyuan3DTask"

--- cfg.mps: what the sources leave open (landscape row 2, open question 1), each settable through
-- /_sandbox/config { mps = {...} } (keys not given keep these values).
local DEFAULTS = {
  statuses = { WAIT = "WAIT", RUN = "RUN", DONE = "DONE", FAIL = "FAIL" },   -- the words Status uses
  generate_types = { "Normal", "Geometry", "Texture" },   -- GenerateType values accepted (only Normal is sure)
  image_base64 = false,       -- whether SubmitHunyuan3DTask takes ImageBase64 (not in its table)
  not_found = "fields",       -- an unknown TaskId: "fields" (ErrorCode/ErrorMessage in Response, the doc's
                              -- example) or "error" (Response.Error)
  concurrency = 3,            -- MPS tasks in WAIT/RUN at once; 0 = unlimited
}

local VIEWS = { front = true, left = true, right = true, back = true, top = true, bottom = true,
                left_front = true, right_front = true }

local Sandbox = {}

function Sandbox:mps_cfg(key)
  local m = self.cfg.mps
  if type(m) == "table" and m[key] ~= nil then return m[key] end
  return DEFAULTS[key]
end

--- Whether a request at / is for this door: one of its actions, or a credential scoped to `mps`.
local function owns(req)
  local action = req.headers["x-tc-action"]
  if action == SUBMIT or action == QUERY then return true end
  local auth = req.headers.authorization
  local parsed = auth and tc3.parse(auth)
  return parsed ~= nil and parsed.service == "mps"
end

-- ===== validation (MPS's rules, independent of the client's) =====

local function unknown(name) return "UnknownParameter", format("The parameter `%s` is not recognized.", name) end
local function bad_type(name, t) return "InvalidParameter", format("%s: wrong type, must be %s.", name, t) end
local function bad_value(name, rule) return "InvalidParameterValue", format("%s: %s.", name, rule) end

local function is_int(v) return math.type(v) == "integer" or (type(v) == "number" and v == floor(v)) end

local FIELDS = {
  Prompt = "string", ImageUrl = "string", ImageBase64 = "string", MultiViewImages = "table", GenerateType = "string",
  MeshUrl = "string", EnablePBR = "boolean", FaceCount = "integer", KeepUV = "boolean", ResultFormat = "string",
  Seed = "integer", Style = "string",
}
local TYPE_WORDS = { string = "String", table = "Array of ViewImage", boolean = "Boolean", integer = "Integer" }

local function check_url(self, url, name)
  if not url:match("^https?://[^/%s]+") then return bad_value(name, "must be an http(s) URL") end
  return self:check_url(url, name)
end

function Sandbox:mps_validate(p)
  for k, v in pairs(p) do
    local want = FIELDS[k]
    if not want or (k == "ImageBase64" and not self:mps_cfg("image_base64")) then return unknown(tostring(k)) end
    if v == NULL then
      p[k] = nil
    elseif (want == "integer" and not is_int(v)) or (want ~= "integer" and type(v) ~= want) then
      return bad_type(k, TYPE_WORDS[want])
    end
  end
  if p.Prompt then
    local n = utf8.len(p.Prompt)
    if not n or n == 0 or n > 1024 then return bad_value("Prompt", "must be 1 to 1024 UTF-8 characters") end
  end
  if p.FaceCount and (p.FaceCount < 3000 or p.FaceCount > 1500000) then
    return bad_value("FaceCount", "must be in [3000, 1500000]")
  end
  if p.ResultFormat and p.ResultFormat ~= "FBX" then return bad_value("ResultFormat", "only FBX is supported") end
  if p.GenerateType then
    local ok = false
    for _, g in ipairs(self:mps_cfg("generate_types")) do if g == p.GenerateType then ok = true end end
    if not ok then
      return "InvalidParameter", format("GenerateType: only %s are supported.", table.concat(self:mps_cfg("generate_types"), ","))
    end
  end
  if p.MeshUrl then
    local path = p.MeshUrl:match("^[^?#]*"):lower()
    if not (path:match("%.glb$") or path:match("%.obj$")) then
      return bad_value("MeshUrl", "only .glb and .obj models are supported")
    end
    local code, msg = check_url(self, p.MeshUrl, "MeshUrl")
    if code then return code, msg end
    p.GenerateType = "Texture"                       -- "传了 MeshUrl → 强制 GenerateType=Texture"
  elseif p.GenerateType == "Texture" then
    return "MissingParameter", "GenerateType Texture needs MeshUrl."
  end
  local views = p.MultiViewImages
  if views then
    local seen = {}
    for i, v in ipairs(views) do
      local name = format("MultiViewImages.%d", i - 1)
      if type(v) ~= "table" then return bad_type(name, "ViewImage") end
      for k in pairs(v) do
        if k ~= "ViewType" and k ~= "ViewImageUrl" and k ~= "ViewImageBase64" then return unknown(name .. "." .. tostring(k)) end
      end
      if not VIEWS[v.ViewType] or seen[v.ViewType] then return bad_value(name .. ".ViewType", "unknown or repeated view") end
      seen[v.ViewType] = true
      if type(v.ViewImageUrl) == "string" then
        local code, msg = check_url(self, v.ViewImageUrl, name .. ".ViewImageUrl")
        if code then return code, msg end
      elseif type(v.ViewImageBase64) ~= "string" then
        return "MissingParameter", format("The request is missing a required parameter `%s.ViewImageUrl`.", name)
      end
    end
    if #views < 2 or not seen.front then return bad_value("MultiViewImages", "at least 2 views, one of them front") end
  end
  if p.ImageUrl then
    local code, msg = check_url(self, p.ImageUrl, "ImageUrl")
    if code then return code, msg end
  end
  if p.ImageBase64 then
    local bytes = core.base64_decode(p.ImageBase64)
    if not bytes or not image.info(bytes) then return bad_value("ImageBase64", "the image cannot be decoded") end
  end
  if not (p.Prompt or p.ImageUrl or p.ImageBase64 or views) then
    return "MissingParameter", "Give Prompt, ImageUrl or MultiViewImages."
  end
  return nil
end

-- ===== the actions =====

local function source_of(p)
  local text = p.Prompt
  if not text then
    local img = p.ImageUrl or p.ImageBase64 or (p.MultiViewImages and cjson.encode(p.MultiViewImages))
    text = "image:" .. core.sha256(img, "hex")
  end
  if p.MeshUrl then text = "mesh:" .. p.MeshUrl .. "|" .. text end
  -- Seed makes the model reproducible; without one each task draws its own
  return format("%s|seed=%s|style=%s", text, tostring(p.Seed or math.random(0, 0x7fffffff)), tostring(p.Style))
end

function Sandbox:mps_submit(p)
  local now = self:now()
  self:sweep(now)
  local limit = self:mps_cfg("concurrency")
  if limit > 0 and self:busy_slots("mps", now) >= limit then
    return self:api_error("RequestLimitExceeded.JobNumExceed",
      format("The limit of %d concurrent tasks is reached; please try again later.", limit), "mps")
  end
  local geometry = p.GenerateType == "Geometry"
  local types = geometry and { "GLB" } or { "OBJ", "GLB" }
  if p.ResultFormat then types[#types + 1] = p.ResultFormat end
  local results = {}
  for i, t in ipairs(types) do results[i] = { t, ({ OBJ = "model.zip", GLB = "model.glb", FBX = "model.fbx" })[t] } end
  results[#results + 1] = { "PREVIEW", "preview.png" }   -- served, listed as each file's PreviewImageUrl
  local job = { id = self:new_job_id(), task_id = uuid(), family = "mps", action = SUBMIT, created = now, params = p,
                wait_time = self.cfg.wait_time, run_time = self.cfg.run_time, results = results, credits = 0,
                desc = self.assets:describe { text = source_of(p), faces = p.FaceCount, geometry = geometry } }
  local fail = self.faults:take({ "submit", SUBMIT, "mps" }, "job")
  if fail then
    job.fail = { code = fail.code or "InternalError.ModelInference", message = fail.message or "model inference failed" }
  end
  self:store(job)
  self.mps_tasks = self.mps_tasks or setmetatable({}, { __mode = "v" })
  self.mps_tasks[job.task_id] = job
  local list = self.active.mps or {}
  self.active.mps = list
  list[#list + 1] = job
  return self:answer({ TaskId = job.task_id }, "mps")
end

-- Progress: 0 while waiting, rising through the run, 100 once DONE; a failed task keeps its last value.
local function progress_of(job, now)
  local ran = now - job.created - job.wait_time
  if ran <= 0 then return 0 end
  if ran >= job.run_time then return job.fail and 99 or 100 end
  return math.min(99, floor(100 * ran / job.run_time))
end

function Sandbox:mps_query(p)
  local job = self.mps_tasks and self.mps_tasks[p.TaskId]
  local now = self:now()
  if job and (self.jobs[job.id] ~= job or now - job.created > self.cfg.job_ttl) then job = nil end
  if not job then
    if self:mps_cfg("not_found") == "error" then
      return self:api_error("ResourceNotFound.TaskId", "task not found or expired", "mps")
    end
    local res = self:answer({ ErrorCode = "ResourceNotFound.TaskId", ErrorMessage = "task not found or expired" }, "mps")
    res.code = "ResourceNotFound.TaskId"
    return res
  end
  local status = status_of(job, now)
  local r = { Status = self:mps_cfg("statuses")[status] or status, Progress = progress_of(job, now),
              ErrorCode = "", ErrorMessage = "" }
  if status == "DONE" then
    local files, preview = {}, self:file_url(job, "preview.png")
    for _, entry in ipairs(job.results) do
      if entry[1] ~= "PREVIEW" then
        files[#files + 1] = { Type = entry[1], Url = self:file_url(job, entry[2]), PreviewImageUrl = preview }
      end
    end
    r.ResultFile3Ds = files
  elseif status == "FAIL" then
    r.ErrorCode, r.ErrorMessage = job.fail.code, job.fail.message
  end
  return self:answer(r, "mps")
end

-- ===== the door =====

function Sandbox:mps_preflight(req, entry)
  local h = req.headers
  if req.method ~= "POST" then return self:api_error("UnsupportedProtocol", "hy3d-sandbox emulates MPS over POST.", "mps") end
  for _, name in ipairs { "x-tc-action", "x-tc-version", "x-tc-timestamp" } do
    if not h[name] or h[name] == "" then
      local param = name:match("^x%-tc%-(.+)$"):gsub("^%l", string.upper)
      return self:api_error("MissingParameter", format("The request is missing a required parameter `%s`.", param), "mps")
    end
  end
  if h["x-tc-version"] ~= VERSION then
    return self:api_error("NoSuchVersion", format("The API version `%s` does not exist (mps has %s).", h["x-tc-version"],
      VERSION), "mps")
  end
  -- one MPS for both sites: the intl site (mps.intl.tencentcloudapi.com) is another host of the same
  -- service, which one port cannot tell apart, so a SecretId of either site is taken
  local accounts = {}
  for _, set in ipairs { self.cfg.secrets or {}, self.cfg.intl_secrets or {} } do
    for id, key in pairs(set) do accounts[id] = key end
  end
  local secret_id, code, message = tc3.verify(req, accounts, { max_skew = self.cfg.max_skew, service = "mps",
                                                       now = self:wall_clock() })
  if not secret_id then
    local parsed = h.authorization and tc3.parse(h.authorization)
    entry.secret_id = parsed and parsed.secret_id
    if type(message) == "table" then message = message.en end
    return self:api_error(code, message, "mps")
  end
  entry.secret_id = secret_id
  local action = h["x-tc-action"]
  if action ~= SUBMIT and action ~= QUERY then
    return self:api_error("InvalidAction", format("The action `%s` is not found.", action), "mps")
  end
  local ct = (h["content-type"] or ""):lower()
  if not (ct:match("^application/json%s*$") or ct:match("^application/json%s*;")) then
    return self:api_error("InvalidParameter", "Content-Type must be application/json", "mps")
  end
  if #req.body > self.cfg.max_body then
    return self:api_error("RequestSizeLimitExceeded", "The request body is larger than 10 MB.", "mps")
  end
  return nil
end

function Sandbox:mps_perform(action, body)
  if self:rate_limited(action) then
    self.stats.rate_limited = self.stats.rate_limited + 1
    return self:api_error("RequestLimitExceeded", format("Too many requests: at most %d per second per action.",
      self.cfg.rate_limit), "mps")
  end
  local ok, p = pcall(cjson.decode, body)
  if not ok or type(p) ~= "table" then
    return self:api_error("InvalidParameter", "The request body is not a valid JSON object.", "mps")
  end
  if action == QUERY then
    for k in pairs(p) do
      if k ~= "TaskId" then local code, msg = unknown(tostring(k)); return self:api_error(code, msg, "mps") end
    end
    if type(p.TaskId) ~= "string" then
      return self:api_error("MissingParameter", "The request is missing a required parameter `TaskId`.", "mps")
    end
    return self:mps_query(p)
  end
  local code, msg = self:mps_validate(p)
  if code then return self:api_error(code, msg, "mps") end
  return self:mps_submit(p)
end

-- POST / for MPS (see owns): every API answer is HTTP 200, in API 3.0's Response envelope.
function Sandbox:mps(req)
  local name = req.headers["x-tc-action"]
  local entry = self:record(req, { route = "mps", door = "mps", action = name, auth = "tc3" })
  local res = self:with_faults({ "mps", name or "" }, "mps", function()
    return self:mps_preflight(req, entry) or self:mps_perform(name, req.body)
  end)
  self:write_log(entry, res)
  return res
end

return { methods = Sandbox, owns = owns, defaults = DEFAULTS, version = VERSION }
