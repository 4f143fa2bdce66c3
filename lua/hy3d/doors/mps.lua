--- hy3d.doors.mps — the Media Processing (MPS) door as data and functions: its service, version and endpoint,
-- the API 3.0 field names turned into MPS's (SubmitHunyuan3DTask / QueryHunyuan3DTask, TaskId), a
-- field MPS cannot express refused naming the door, MPS's local value rules, and its answers read
-- into the client's shape (Status WAIT/RUN/DONE/FAIL, ResultFile3Ds, ErrorCode/ErrorMessage,
-- Progress, the raw answer under `raw`), and its international site (`sites.intl`: another host).
-- Registered by hy3d.doors; depends on nothing.
local floor = math.floor

local M = {
  name = "mps",
  credentials = "pair",
  path = "/",
  service = "mps",
  version = "2019-06-12",
  url = "https://mps.tencentcloudapi.com",
  region = false,                       -- "本接口不需要传递此参数": no X-TC-Region unless asked for
  families = { pro = true, texture = true },
  submit_action = "SubmitHunyuan3DTask",
  query_action = "QueryHunyuan3DTask",
  -- MPS's international site (tencentcloud.com accounts; landscape row 2: "intl
  -- mps.intl.tencentcloudapi.com", https://www.tencentcloud.com/document/api/1041/83187): the same
  -- service, version, actions and families, no region; only the host differs (hy3d.sites.door)
  sites = { intl = { url = "https://mps.intl.tencentcloudapi.com" } },
}

-- The families' API 3.0 actions and what they are on MPS (one pair for both families).
local ACTIONS = {
  SubmitHunyuanTo3DProJob = "submit", SubmitTextureTo3DJob = "texture",
  QueryHunyuanTo3DProJob = "query", DescribeTextureTo3DJob = "query",
}

-- The fields MPS takes (reference: landscape row 2; cloud.tencent.com/document/product/862/137208),
-- as the user writes them on API 3.0 (PascalCase): MPS's name for each. ImageBase64 is not in
-- MPS's table, but whether MPS takes it is open: it goes through as it is (the service decides).
local PRO_FIELDS = {
  Prompt = "Prompt", ImageUrl = "ImageUrl", ImageBase64 = "ImageBase64", MultiViewImages = "MultiViewImages",
  GenerateType = "GenerateType", EnablePBR = "EnablePBR", FaceCount = "FaceCount", ResultFormat = "ResultFormat",
  MeshUrl = "MeshUrl", KeepUV = "KeepUV", EnableKeepUV = "KeepUV", Seed = "Seed", Style = "Style",
}
-- A texture job (API 3.0's SubmitTextureTo3DJob) on MPS: the model as MeshUrl, the look as a
-- prompt or an image, GenerateType Texture.
local TEXTURE_FIELDS = {
  Prompt = "Prompt", EnablePBR = "EnablePBR", EnableKeepUV = "KeepUV", KeepUV = "KeepUV", MeshUrl = "MeshUrl",
  MultiViewImages = "MultiViewImages", ImageUrl = "ImageUrl", ImageBase64 = "ImageBase64", Seed = "Seed",
  Style = "Style", ResultFormat = "ResultFormat", FaceCount = "FaceCount",
  File3D = true, Image = true, GenerateType = true,     -- translated below
}

local function sorted(set)
  local list = {}
  for k in pairs(set) do list[#list + 1] = k end
  table.sort(list)
  return table.concat(list, ", ")
end

local function invalid(field, message)
  return { kind = "invalid", code = "FIELD_NOT_ON_DOOR", field = field, message = message }
end

-- A field the door has no name for: refused, never dropped.
local function cannot(field, fields, what)
  return invalid(field, ("the mps door cannot express %s '%s' (MPS takes %s)"):format(what or "field",
    tostring(field), sorted(fields)))
end

-- params (API 3.0 names) as an MPS submit body, or nil and an invalid error.
local function translate(params, texture)
  local fields = texture and TEXTURE_FIELDS or PRO_FIELDS
  local body = {}
  for k, v in pairs(params) do
    local name = type(k) == "string" and fields[k]
    if not name then return nil, cannot(k, fields) end
    if type(name) == "string" then
      if body[name] ~= nil then
        return nil, invalid(k, ("%s and the field MPS calls %s say the same thing: give one"):format(k, name))
      end
      body[name] = v
    end
  end
  if type(params.ImageUrl) == "table" then               -- the gateway's {Url = ...} form
    if type(params.ImageUrl.Url) ~= "string" then return nil, invalid("ImageUrl", "ImageUrl must be a URL string") end
    body.ImageUrl = params.ImageUrl.Url
  end
  if texture then
    local f3d = params.File3D
    if f3d ~= nil then
      if type(f3d) ~= "table" or type(f3d.Url) ~= "string" then
        return nil, invalid("File3D", "File3D must be a table {Type = \"GLB\"|\"OBJ\", Url = ...}")
      end
      for k in pairs(f3d) do
        if k ~= "Url" and k ~= "Type" then return nil, cannot("File3D." .. tostring(k), { Type = 1, Url = 1 }) end
      end
      if body.MeshUrl then return nil, invalid("File3D", "File3D and MeshUrl name the same model: give one") end
      body.MeshUrl = f3d.Url
    end
    local img = params.Image
    if img ~= nil then
      if type(img) ~= "table" then return nil, invalid("Image", "Image must be a table {Url = ...} or {Base64 = ...}") end
      for k, v in pairs(img) do
        local to = (k == "Url" and "ImageUrl") or (k == "Base64" and "ImageBase64") or nil
        if not to then return nil, cannot("Image." .. tostring(k), { Url = 1, Base64 = 1 }) end
        if body[to] ~= nil then
          return nil, invalid("Image", "Image." .. k .. " and " .. to .. " say the same thing: give one")
        end
        body[to] = v
      end
    end
    if params.GenerateType ~= nil and params.GenerateType ~= "Texture" then
      return nil, invalid("GenerateType", "a texture job on the mps door is GenerateType Texture")
    end
    body.GenerateType = "Texture"
  end
  return body
end

--- What one exchange sends: MPS's action for the family's action, MPS's field names; any other
-- action goes as it is (none does today: call and convert are API 3.0's, and a family registered
-- at run time is not on this door). Returns method, path, body, action to sign; or nil and the
-- fields of an invalid error.
function M.request(door, action, params)
  local role = ACTIONS[action]
  if role == "query" then return "POST", door.path, { TaskId = params.JobId }, door.query_action end
  if role then
    local body, err = translate(params, role == "texture")
    if not body then return nil, err end
    return "POST", door.path, body, door.submit_action
  end
  return "POST", door.path, params, action
end

-- ===== local checks (validate = true) =====

local function chars(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

local function is_int(v)
  return type(v) == "number" and v == v and v == floor(v) and v > -math.huge and v < math.huge
end

local TYPES = { Prompt = "string", ImageUrl = "string", ImageBase64 = "string", MultiViewImages = "table",
                GenerateType = "string", MeshUrl = "string", EnablePBR = "boolean", KeepUV = "boolean",
                FaceCount = "number", ResultFormat = "string", Seed = "number", Style = "string" }

local function bad(field, rule)
  return { field = field, message = field .. ": " .. rule .. " (the mps door)" }
end

--- MPS's documented rules for the body a job of `kind` would send (after the translation): types,
-- Prompt at most 1024 characters, FaceCount in [3000, 1500000], ResultFormat FBX only, at least two
-- views and among them front, a MeshUrl of .glb or .obj. GenerateType's values beyond Normal,
-- Geometry and Texture are not known: any other string goes to the service. Returns nil or
-- { field, message }; a field the door cannot express is left to request (an invalid error).
function M.check(door, kind, params) -- luacheck: ignore 212
  local body = translate(params, kind == "texture")
  if not body then return nil end
  for name, want in pairs(TYPES) do
    local v = body[name]
    if v ~= nil and type(v) ~= want then return bad(name, ("must be a %s, got %s"):format(want, type(v))) end
  end
  if body.Prompt and chars(body.Prompt) > 1024 then return bad("Prompt", "at most 1024 characters (UTF-8)") end
  if body.Prompt == "" then return bad("Prompt", "must not be empty") end
  if body.FaceCount ~= nil and not (is_int(body.FaceCount) and body.FaceCount >= 3000 and body.FaceCount <= 1500000) then
    return bad("FaceCount", "an integer in [3000, 1500000], got " .. tostring(body.FaceCount))
  end
  if body.Seed ~= nil and not is_int(body.Seed) then return bad("Seed", "a whole number, got " .. tostring(body.Seed)) end
  if body.ResultFormat ~= nil and body.ResultFormat ~= "FBX" then
    return bad("ResultFormat", "MPS adds only FBX to OBJ and GLB, got " .. tostring(body.ResultFormat))
  end
  local views = body.MultiViewImages
  if views ~= nil then
    local front = false
    for i, v in ipairs(views) do
      if type(v) ~= "table" or type(v.ViewType) ~= "string" then
        return bad(("MultiViewImages[%d]"):format(i), "must be a table {ViewType, ViewImageUrl|ViewImageBase64}")
      end
      if v.ViewType == "front" then front = true end
    end
    if #views < 2 or not front then return bad("MultiViewImages", "at least 2 views, one of them front") end
  end
  if body.MeshUrl then
    local path = body.MeshUrl:match("^[^?#]*"):lower()
    if not (path:match("%.glb$") or path:match("%.obj$")) then
      return bad("MeshUrl", "a .glb or .obj model (MPS textures those)")
    end
  elseif body.GenerateType == "Texture" then
    return bad(kind == "texture" and "File3D" or "GenerateType",
      "a Texture job needs the model (MeshUrl, or File3D on kind texture)")
  end
  if not (body.Prompt or body.ImageUrl or body.ImageBase64 or views) then
    return bad("Prompt/ImageUrl/MultiViewImages", "give a prompt, an image or views")
  end
  return nil
end

-- ===== answers =====

-- MPS's statuses, and the words a task service may use for them, as the client's four.
local STATUS = {
  WAIT = "WAIT", WAITING = "WAIT", QUEUED = "WAIT", QUEUING = "WAIT", PENDING = "WAIT", CREATED = "WAIT",
  RUN = "RUN", RUNNING = "RUN", PROCESSING = "RUN", IN_PROGRESS = "RUN",
  DONE = "DONE", FINISH = "DONE", FINISHED = "DONE", SUCCESS = "DONE", SUCCEEDED = "DONE", COMPLETED = "DONE",
  FAIL = "FAIL", FAILED = "FAIL", ERROR = "FAIL",
}

-- engine:poll's data (hy3d.doors' poll): MPS's own Status words of a task still waiting or running.
local running = {}
for word, status in pairs(STATUS) do
  if status == "WAIT" or status == "RUN" then running[#running + 1] = word end
end
table.sort(running)
M.poll = { path = { "Status" }, running = running, progress = { "Progress" } }

local function str(v)
  if type(v) == "string" then return v end
  if type(v) == "number" then return tostring(v) end
  return nil
end

-- One File3D as the client reads it (Type, Url, PreviewImageUrl), or a list of them where MPS
-- nests them ({File3D = [...]}, as hunyuan's legacy answer did).
local function files_of(list, out)
  if type(list) ~= "table" then return out end
  for _, f in ipairs(list) do
    if type(f) == "table" then
      if type(f.File3D) == "table" then
        files_of(f.File3D, out)
      else
        out[#out + 1] = { Type = str(f.Type), Url = str(f.Url), PreviewImageUrl = str(f.PreviewImageUrl) }
      end
    end
  end
  return out
end

--- The answer as the client reads it: a submit's TaskId as JobId; a query's Status as WAIT, RUN,
-- DONE or FAIL, Progress (0 to 100, a number; 100 once DONE), ResultFile3Ds, ErrorCode and
-- ErrorMessage; MPS's own answer under `raw`. A query answered with only ErrorCode (MPS's "task not
-- found or expired") is an api error.
function M.answer(door, action, res, submit) -- luacheck: ignore 212
  if type(res) ~= "table" then return res end
  local out = { RequestId = res.RequestId, raw = res }
  if submit then
    out.JobId = res.TaskId
    if out.JobId == nil then out.JobId = res.JobId end
    return out
  end
  if ACTIONS[action] ~= "query" then return res end
  local code = str(res.ErrorCode) or ""
  if res.Status == nil and code ~= "" then
    return nil, { kind = "api", code = code, message = str(res.ErrorMessage) or code, request_id = str(res.RequestId) }
  end
  local status = res.Status
  if type(status) == "string" then status = STATUS[status:upper()] or status end
  out.Status = status
  out.JobId = str(res.TaskId)
  local p = tonumber(res.Progress)
  if p and p == p then out.Progress = floor(p < 0 and 0 or p > 100 and 100 or p) end
  if status == "DONE" then out.Progress = 100 end
  out.ResultFile3Ds = files_of(res.ResultFile3Ds, {})
  out.ErrorCode, out.ErrorMessage = code, str(res.ErrorMessage) or ""
  return out
end

return M
