-- hy3d.doors.tokenhub — the TokenHub door: routes, Bearer key, models, the field table, its answers in API 3.0's shape.
-- TokenHub (tokenhub.tencentmaas.com, reference Appendix A) offers Pro (models hy-3d-3.0 and
-- hy-3d-3.1) and Rapid (hy-3d-express) generation: POST /v1/api/3d/submit and /v1/api/3d/query,
-- `Authorization: Bearer sk-...`, snake_case fields, a query that repeats the model. The user writes
-- the same PascalCase fields as on the other doors; a field TokenHub cannot express is an invalid
-- error naming the door, before anything is sent.
--
-- The query needs the model, which a bare TokenHub id does not say. So the JobId this door gives
-- back is "<model>:<id>" (e.g. "hy-3d-3.1:1400000000000984"): wait(job.JobId) and the CLI's job
-- record keep working with the JobId alone. A bare id (without "<model>:") is queried with the
-- kind's model: pro -> hy-3d-3.0, rapid -> hy-3d-express (a hy-3d-3.1 job needs the prefix).
-- Depends on nothing (hy3d.doors registers it).
local M = {
  name = "tokenhub",
  credentials = "key",
  url = "https://tokenhub.tencentmaas.com",
  intl_url = "https://tokenhub-intl.tencentmaas.com",      -- the Singapore origin (reference App. A [R])
  sites = { intl = { url = "https://tokenhub-intl.tencentmaas.com" } },   -- site = "intl": that origin
  submit = "/v1/api/3d/submit",
  query = "/v1/api/3d/query",
  auth_scheme = "Bearer",                                   -- always: TokenHub takes no raw key
  -- no root object; an error object beside a non-2xx status (its code and message; see failure).
  -- A 2xx {"error": ...} is read by answer: a failed job may carry one beside its status.
  envelope = { request_id = "request_id", http_error = "error" },
  families = { pro = true, rapid = true },
  prompt_limits = { rapid = 1024 },                         -- Express takes 1024 characters (API 3.0's Rapid: 200)
}

-- The models of each family: the default, and the Pro Model values ("3.0", "3.1") by name.
local MODELS = {
  pro = { default = "hy-3d-3.0", ["3.0"] = "hy-3d-3.0", ["3.1"] = "hy-3d-3.1",
          ["hy-3d-3.0"] = "hy-3d-3.0", ["hy-3d-3.1"] = "hy-3d-3.1" },
  rapid = { default = "hy-3d-express", ["hy-3d-express"] = "hy-3d-express" },
}

-- The translation table: each family's PascalCase fields and TokenHub's names for them.
local SHARED = { Prompt = "prompt", ImageBase64 = "image_base64", ImageUrl = "image_url", EnablePBR = "enable_pbr",
                 ResultFormat = "result_format" }
local FIELDS = { pro = { FaceCount = "face_count", GenerateType = "generate_type", PolygonType = "polygon_type",
                         MultiViewImages = "multi_view_images" },
                 rapid = { EnableGeometry = "enable_geometry" } }
for _, t in pairs(FIELDS) do
  for k, v in pairs(SHARED) do t[k] = v end
end
local VIEW_FIELDS = { ViewType = "view_type", ViewImageUrl = "view_image_url", ViewImageBase64 = "view_image_base64" }
M.fields, M.view_fields, M.models = FIELDS, VIEW_FIELDS, MODELS

-- TokenHub's statuses (and a few spellings of the same states seen on OpenAI-style APIs).
local STATUS = { queued = "WAIT", pending = "WAIT", in_progress = "RUN", running = "RUN", processing = "RUN",
                 completed = "DONE", succeeded = "DONE", success = "DONE", failed = "FAIL", cancelled = "FAIL",
                 canceled = "FAIL", expired = "FAIL" }

local function family_of(action)
  if type(action) ~= "string" then return nil end
  if action:find("Rapid", 1, true) then return "rapid" end
  if action:find("Pro", 1, true) then return "pro" end
  return nil
end

-- A name fit for a message (a caller's or a server's string: printable, bounded).
local function shown(v)
  local s = tostring(v):gsub("[%c\128-\255]", "?")
  if #s > 64 then s = s:sub(1, 61) .. "..." end
  return s
end

local function refuse(field, why)
  return { kind = "invalid", code = "FIELD_NOT_ON_DOOR", field = tostring(field),
           message = ("the tokenhub door cannot express %s: %s (nothing was sent)"):format(shown(field), why) }
end

-- The TokenHub model of a submit's params (family pro or rapid), or nil and an invalid error.
local function model_of(family, params)
  local m = params.Model
  if m == nil then return MODELS[family].default end
  if family ~= "pro" then return nil, refuse("Model", "TokenHub's Express model (hy-3d-express) has no versions") end
  local name = type(m) == "string" and MODELS.pro[m]
  if not name then return nil, refuse("Model", "TokenHub has Pro models 3.0 and 3.1 (hy-3d-3.0, hy-3d-3.1)") end
  return name
end
M.model_of = model_of

-- One MultiViewImages entry in TokenHub's names.
local function view(v, i)
  local field = ("MultiViewImages[%d]"):format(i)
  if type(v) ~= "table" then return nil, refuse(field, "each view is a table") end
  local out = {}
  for k, x in pairs(v) do
    local name = VIEW_FIELDS[k]
    if not name then return nil, refuse(field .. "." .. tostring(k), "a view has ViewType, ViewImageUrl, ViewImageBase64") end
    out[name] = x
  end
  return out
end

--- A submit's body in TokenHub's names: the fields translated and `model` set; or nil and an
-- invalid error naming the first field TokenHub cannot express.
local function translate(family, params)
  local model, err = model_of(family, params)
  if not model then return nil, err end
  local body, names = { model = model }, FIELDS[family]
  for k, v in pairs(params) do
    local name = names[k]
    if k ~= "Model" then
      if not name then
        return nil, refuse(k, ("TokenHub's %s has no such field"):format(family == "pro" and "Pro (hy-3d-3.x)"
          or "Express (hy-3d-express)"))
      end
      if k == "ImageUrl" and type(v) == "table" then            -- {Url = ...}: TokenHub takes the URL itself
        if type(v.Url) ~= "string" or next(v, next(v)) ~= nil then return nil, refuse("ImageUrl", "only {Url = ...}") end
        v = v.Url
      elseif k == "MultiViewImages" then
        if type(v) ~= "table" then return nil, refuse(k, "a list of views") end
        local list = {}
        for i, x in ipairs(v) do
          local one, verr = view(x, i)
          if not one then return nil, verr end
          list[i] = one
        end
        v = list
      end
      body[name] = v
    end
  end
  return body
end
M.translate = translate

-- The model and TokenHub id of a JobId ("<model>:<id>", or a bare id: the family's model).
local function split(job_id, family)
  local model, id = job_id:match("^(%a[%w%.%-_]*):(.+)$")
  if model then return model, id end
  return MODELS[family].default, job_id
end
M.split = split

--- What one exchange sends (hy3d.doors' interface), or nil and an invalid error.
function M.request(door, action, params, submit)
  local family = family_of(action)
  if not family then
    return nil, { kind = "invalid", code = "ACTION_NOT_ON_DOOR",
                  message = ("the tokenhub door has no action %s (it offers Pro and Express generation)"):format(shown(action)) }
  end
  if submit then
    local body, err = translate(family, params)
    if not body then return nil, err end
    return "POST", door.submit, body, nil
  end
  local model, id = split(tostring(params.JobId), family)
  return "POST", door.query, { model = model, id = id }, nil
end

local function text(v)
  if type(v) == "string" then return v end
  if type(v) == "number" then
    return (v % 1 == 0 and v > -2 ^ 53 and v < 2 ^ 53) and ("%.0f"):format(v) or ("%.17g"):format(v)
  end
  return nil
end

-- A TokenHub id as a string (a non-empty string, or a whole number), else nil.
local function id_of(v)
  if type(v) == "string" then return v ~= "" and not v:find("%c") and v or nil end
  if type(v) == "number" and v >= 0 and v <= 2 ^ 53 and v % 1 == 0 then return ("%.0f"):format(v) end
  return nil
end

-- The error fields of an {"error": ...} value (an object with code and message, or a string).
local function error_fields(e, request_id)
  local code, message
  if type(e) == "table" then
    code, message = text(e.code) or text(e.type), text(e.message)
  else
    message = text(e)
  end
  return { kind = "api", code = code or "TokenHubError", message = message or "TokenHub answered with an error",
           request_id = request_id }
end

--- TokenHub's answer in API 3.0's shape (hy3d.doors' interface): a submit {JobId = "<model>:<id>",
-- RequestId}; a query Status WAIT/RUN/DONE/FAIL, ResultFile3Ds {Type, Url, PreviewImageUrl},
-- ErrorCode, ErrorMessage; both with TokenHub's answer as it came under `raw`.
function M.answer(_, action, res, submit, params)
  local request_id = text(res.request_id)
  if res.error ~= nil and res.status == nil then return nil, error_fields(res.error, request_id) end
  if submit then
    local family = family_of(action)
    local id = id_of(res.id)
    return { JobId = id and (model_of(family, params) or MODELS[family].default) .. ":" .. id or nil,
             RequestId = request_id, raw = res }
  end
  local status = type(res.status) == "string" and STATUS[res.status:lower()]
  if not status then
    return nil, { kind = "decode", code = "UNKNOWN_STATUS", request_id = request_id,
                  message = ("the TokenHub query answer has no status hy3d knows (got %s)"):format(
                    type(res.status) == "string" and ("%q"):format(shown(res.status)) or type(res.status)) }
  end
  local files = {}
  if type(res.data) == "table" then
    for _, f in ipairs(res.data) do
      if type(f) == "table" then
        files[#files + 1] = { Type = type(f.type) == "string" and f.type:upper() or nil, Url = text(f.url),
                              PreviewImageUrl = text(f.preview_image_url) }
      end
    end
  end
  local out = { Status = status, ResultFile3Ds = files, ErrorCode = "", ErrorMessage = "", RequestId = request_id,
                raw = res }
  if status == "FAIL" then
    local e = type(res.error) == "table" and res.error or {}
    out.ErrorCode = text(e.code) or text(res.error_code) or "FAIL"
    out.ErrorMessage = text(e.message) or text(res.error_message) or text(res.error) or ""
  end
  return out
end

--- A failed exchange in hy3d's kinds (hy3d.doors' interface): a non-2xx answer with TokenHub's
-- {"error": {"code", "message"}} is an api error with that code (its http_status kept); other
-- errors pass as they are.
function M.failure(_, _, err)
  if err.kind == "http" and err.code ~= nil and not tostring(err.code):match("^HTTP_%d+$") then
    err.kind, err.code = "api", text(err.code) or tostring(err.code)
  end
  if err.http_status == 401 and (err.kind == "api" or err.kind == "http") then
    err.hint = "TokenHub refused the API key: check HY3D_API_KEY (or api_key); a TokenHub key (sk-...) is not "
      .. "the 3D console's gateway key"
  end
  return err
end

return M
