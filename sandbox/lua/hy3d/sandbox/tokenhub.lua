-- hy3d.sandbox.tokenhub: the TokenHub door: /v1/api/3d/submit|query, Bearer keys, snake_case, models, statuses, errors.
-- TokenHub (reference Appendix A; landscape rows 9-11) fronts Pro (hy-3d-3.0, hy-3d-3.1) and
-- Rapid (hy-3d-express) generation over the same job store as the other doors: a request's
-- snake_case fields are put back in the API's PascalCase names and run through the same actions
-- (validation, concurrency slots: Pro 3, Express 1 by default, rate limit, faults), and the API
-- 3.0 answer is put in TokenHub's shape. What the reference marks uncertain is configurable under
-- the `tokenhub` option: `keys` (false: the gateway's keys), `http_status` (false: every error at
-- HTTP 200, else 400/401/404/429/500 by code), `express_prompt_chars` (Express's Prompt limit:
-- 1024 by TokenHub's Express page where API 3.0's Rapid says 200). This door finds only its own jobs, and only with
-- the model each was submitted with. Methods of the sandbox
-- object (hy3d.sandbox mixes `methods` in); depends on doors (perform, envelopes), actions and store (uuid).
local cjson = require "cjson"
local actions = require "hy3d.sandbox.actions"
local doors = require "hy3d.sandbox.doors"
local store = require "hy3d.sandbox.store"

local json_response, EMPTY_ARRAY_MARK = doors.json_response, doors.EMPTY_ARRAY_MARK
local format = string.format

local Sandbox = {}

-- The models and the actions behind them.
local MODELS = {
  ["hy-3d-3.0"] = { submit = "SubmitHunyuanTo3DProJob", query = "QueryHunyuanTo3DProJob", family = "pro" },
  ["hy-3d-3.1"] = { submit = "SubmitHunyuanTo3DProJob", query = "QueryHunyuanTo3DProJob", family = "pro", Model = "3.1" },
  ["hy-3d-express"] = { submit = "SubmitHunyuanTo3DRapidJob", query = "QueryHunyuanTo3DRapidJob", family = "rapid" },
}

-- snake_case -> the API's names, per family (reference Appendix A: Pro's and Rapid's fields).
local SHARED = { prompt = "Prompt", image_base64 = "ImageBase64", image_url = "ImageUrl", enable_pbr = "EnablePBR",
                 result_format = "ResultFormat" }
local FIELDS = { pro = { face_count = "FaceCount", generate_type = "GenerateType", polygon_type = "PolygonType",
                         multi_view_images = "MultiViewImages" },
                 rapid = { enable_geometry = "EnableGeometry" } }
for _, t in pairs(FIELDS) do
  for k, v in pairs(SHARED) do t[k] = v end
end
local VIEW_FIELDS = { view_type = "ViewType", view_image_url = "ViewImageUrl", view_image_base64 = "ViewImageBase64" }

local STATUS = { WAIT = "queued", RUN = "in_progress", DONE = "completed", FAIL = "failed" }

-- The action behind a submit of `model`: for Express, Rapid's with TokenHub's own Prompt limit
-- (cfg.tokenhub.express_prompt_chars), the rest of Rapid's rules unchanged.
local function submit_action(cfg, model)
  local action = actions.ACTIONS[model.submit]
  local limit = cfg.express_prompt_chars
  if model.family ~= "rapid" or not limit then return action end
  local own = setmetatable({}, { __index = action })
  own.validate = function(a, p, ctx)
    local n = type(p.Prompt) == "string" and utf8.len(p.Prompt)
    if not n or n == 0 then return actions.validate(a, p, ctx) end
    if n > limit then
      return "InvalidParameterValue", { zh = format("【Prompt】长度不能超过%d个字符", limit),
        en = format("Prompt: must be at most %d characters long.", limit) }
    end
    local short = {}
    for k, v in pairs(p) do short[k] = v end
    short.Prompt = "x"                            -- the length is checked above; the rest by Rapid's rules
    local code, message = actions.validate(a, short, ctx)
    for k, v in pairs(short) do if k ~= "Prompt" then p[k] = v end end   -- what the rules normalised
    return code, message
  end
  return own
end

-- The HTTP status of an error code (when cfg.tokenhub.http_status is not false).
local function status_for(code)
  code = tostring(code)
  if code:match("^RequestLimitExceeded") then return 429 end
  if code:match("JobNotFound$") then return 404 end
  if code:match("^40[13]") then return tonumber(code:sub(1, 3)) end
  if code:match("^InvalidParameter") or code:match("^MissingParameter") or code:match("^UnknownParameter")
      or code:match("^RequestSizeLimitExceeded") then
    return 400
  end
  return 500
end

-- TokenHub's error envelope: {"error": {"message", "type", "code"}} (and message_zh beside a Chinese message).
function Sandbox:tokenhub_error(code, message, message_zh)
  local status = self.cfg.tokenhub.http_status == false and 200 or status_for(code)
  local kind = status == 400 and "invalid_request_error" or status == 401 and "authentication_error" or "api_error"
  local res = json_response(status, { error = { code = code, message = message, message_zh = message_zh, type = kind },
                                      request_id = store.uuid() })
  res.code = code
  return res
end

-- The API's PascalCase params of a TokenHub submit body, or nil and an error response.
function Sandbox:tokenhub_params(body, model)
  local names, p = FIELDS[model.family], { Model = model.Model }
  for k, v in pairs(body) do
    if k ~= "model" then
      local name = names[k]
      if not name then
        return nil, self:tokenhub_error("InvalidParameter", format("Unknown parameter: %s (model %s)", tostring(k),
          body.model), format("未知参数：%s", tostring(k)))
      end
      if name == "MultiViewImages" and type(v) == "table" then
        local list = {}
        for i, view in ipairs(v) do
          if type(view) ~= "table" then return nil, self:tokenhub_error("InvalidParameter", "multi_view_images: objects") end
          list[i] = {}
          for vk, vv in pairs(view) do
            if not VIEW_FIELDS[vk] then
              return nil, self:tokenhub_error("InvalidParameter", "Unknown parameter: multi_view_images." .. tostring(vk))
            end
            list[i][VIEW_FIELDS[vk]] = vv
          end
        end
        v = list
      end
      p[name] = v
    end
  end
  return p
end

-- An API 3.0 answer (the sandbox's own, from perform) in TokenHub's shape.
local function unwrap(res)
  if res.status ~= 200 then return nil end
  local ok, body = pcall(cjson.decode, res.body)
  return ok and type(body) == "table" and type(body.Response) == "table" and body.Response or nil
end

function Sandbox:tokenhub_run(route, body)
  local model = MODELS[body.model]
  if body.model == nil then
    return self:tokenhub_error("MissingParameter", "model is required (hy-3d-3.0, hy-3d-3.1 or hy-3d-express)")
  end
  if not model then
    return self:tokenhub_error("InvalidParameter", format("model %s is not supported (hy-3d-3.0, hy-3d-3.1, hy-3d-express)",
      tostring(body.model)))
  end
  local action
  if route == "submit" then
    local p, err = self:tokenhub_params(body, model)
    if not p then return err end
    action = submit_action(self.cfg.tokenhub, model)
    local res = self:perform(action, cjson.encode(p), "tokenhub")
    local r = unwrap(res)
    if not r then return res end
    if r.Error then return self:tokenhub_error(r.Error.Code, r.Error.Message) end
    local job = self.jobs[r.JobId]
    job.tokenhub_model = body.model
    return json_response(200, { id = r.JobId, request_id = r.RequestId, object = "3d_job", model = body.model,
                                created_at = math.floor(job.created), status = "queued" })
  end
  for k in pairs(body) do
    if k ~= "model" and k ~= "id" then return self:tokenhub_error("InvalidParameter", "Unknown parameter: " .. tostring(k)) end
  end
  if type(body.id) ~= "string" or body.id == "" then return self:tokenhub_error("MissingParameter", "id is required") end
  local job = self.jobs[body.id]
  if not job or job.tokenhub_model ~= body.model then        -- another model's job, or another door's
    return self:tokenhub_error(self.cfg.expired_code, "The job does not exist.", "任务不存在")
  end
  action = actions.ACTIONS[model.query]
  local res = self:perform(action, cjson.encode { JobId = body.id }, "tokenhub")
  local r = unwrap(res)
  if not r then return res end
  if r.Error then return self:tokenhub_error(r.Error.Code, r.Error.Message) end
  local out = { id = body.id, request_id = r.RequestId, object = "3d_job", model = body.model,
                created_at = math.floor(job.created), status = STATUS[r.Status] }
  if r.Status == "DONE" then
    local data = {}
    for i, f in ipairs(r.ResultFile3Ds) do
      data[i] = { type = f.Type:lower(), url = f.Url, preview_image_url = f.PreviewImageUrl }
    end
    out.data = #data > 0 and data or EMPTY_ARRAY_MARK
  elseif r.Status == "FAIL" then
    out.error = { code = r.ErrorCode, message = r.ErrorMessage }
  end
  return json_response(200, out)
end

-- Describes the Authorization header without keeping it: "bearer", "raw" or "missing", and
-- whether it is `Bearer <a configured key>` (TokenHub takes the key only after Bearer).
local function bearer(value, keys)
  if not value or value == "" then return "missing", false end
  local key = value:match("^Bearer%s+(.+)$")
  if not key then return "raw", false end
  for _, k in ipairs(keys) do
    if key == k then return "bearer", true end
  end
  return "bearer", false
end

-- POST /v1/api/3d/{submit,query}: TokenHub.
function Sandbox:tokenhub(req, route)
  local cfg = self.cfg.tokenhub
  local auth, key_ok = bearer(req.headers.authorization, cfg.keys or self.cfg.keys)
  local entry = self:record(req, { route = route, door = "tokenhub", auth = auth, key_ok = key_ok })
  local res = self:with_faults({ route, "tokenhub" }, "tokenhub", function()
    if req.method ~= "POST" then return self:tokenhub_error("405", "Method not allowed; use POST") end
    if auth == "missing" or auth == "raw" then
      return self:tokenhub_error("401001", "Missing API Key: send Authorization: Bearer <API Key>",
        "缺少 API Key：请在 Authorization 中携带 Bearer <API Key>")
    end
    if not key_ok then return self:tokenhub_error("401002", "API Key does not exist", "API Key 不存在") end
    local ct = (req.headers["content-type"] or ""):lower()
    if not (ct:match("^application/json%s*$") or ct:match("^application/json%s*;")) then
      return self:tokenhub_error("InvalidParameter", "Content-Type must be application/json")
    end
    if #req.body > self.cfg.max_body then
      return self:tokenhub_error("RequestSizeLimitExceeded", "The request body is too large.", "请求包体过大")
    end
    local ok, body = pcall(cjson.decode, req.body)
    if not ok or type(body) ~= "table" then
      return self:tokenhub_error("InvalidParameter", "The request body is not a JSON object.", "请求体不是合法的JSON对象")
    end
    return self:tokenhub_run(route, body)
  end)
  local r = unwrap(res)                            -- an api_error fault answers in TokenHub's envelope too
  if r and r.Error then res = self:tokenhub_error(r.Error.Code, r.Error.Message) end
  self:write_log(entry, res)
  return res
end

return { methods = Sandbox, MODELS = MODELS, FIELDS = FIELDS }
