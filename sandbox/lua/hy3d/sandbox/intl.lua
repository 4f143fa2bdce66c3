-- hy3d.sandbox.intl: the international site of API 3.0 (product hunyuan, 2023-09-01) as the sandbox serves it.
-- Its action catalogue: the intl names (ReduceFace is Submit3DSmartTopologyJob there), Pro without
-- ResultFormat, Part without Model, no texture, profile or motion, and its own texture edit and
-- asynchronous format conversion (reference §1 row 4, §5.13; landscape (a) row 4); and the site
-- table hy3d.sandbox.doors reads for each request: the TC3 service, version and regions it checks,
-- its actions, its SecretIds and the code it answers the other site's credentials with. Depends on
-- hy3d.sandbox.actions (the mainland catalogue and the pieces it exports).
local actions = require "hy3d.sandbox.actions"

local P = actions.parts
local string_t, boolean_t, object_t, input_file3d = P.string_t, P.boolean_t, P.object_t, P.input_file3d
local check_fields, bad_value = P.check_fields, P.bad_value

local M = {}

M.SERVICE = "hunyuan"
M.VERSION = "2023-09-01"

-- A copy of a field table without some names.
local function without(fields, ...)
  local out = {}
  for k, v in pairs(fields) do out[k] = v end
  for _, name in ipairs { ... } do out[name] = nil end
  return out
end

local MAIN = actions.FAMILIES

-- SubmitHunyuanTo3DTextureEditJob: an FBX model and a prompt or a reference image; EnablePBR only
-- with the prompt (landscape (a) row 4).
local TEXTURE_EDIT = {
  File3D = input_file3d({ "FBX" }, { required = true }),
  Image = P.IMAGE,
  Prompt = string_t { max_chars = 1024 },
  EnablePBR = boolean_t(),
}
local function check_texture_edit(p, ctx)
  if (p.Prompt and 1 or 0) + (p.Image and 1 or 0) ~= 1 then
    return bad_value("Prompt/Image", "必须且只能提供其中一个", "give exactly one of them")
  end
  if p.EnablePBR ~= nil and not p.Prompt then
    return bad_value("EnablePBR", "仅在提供Prompt时支持", "is available only with Prompt")
  end
  local code, msg = P.check_input_file(ctx, p.File3D.Url, "File3D.Url")
  if code then return code, msg end
  if p.Image then return P.check_image_object(ctx, p.Image, actions.image_rules.texture, "Image") end
  return nil
end

-- SubmitConvert3DFormatJob: File (OBJ as a zip, FBX, GLB) to one Format.
local CONVERT_JOB = {
  File = object_t("InputFile3D", { Type = string_t { required = true, enum = { "OBJ", "FBX", "GLB" } },
                                   Url = string_t { required = true } }, { required = true }),
  Format = string_t { required = true, enum = { "STL", "USDZ", "FBX", "MP4", "GIF" } },
}
local function check_convert_job(p, ctx) return P.check_input_file(ctx, p.File.Url, "File.Url") end

local RAPID = without(MAIN.rapid.fields, "ResultFormat")
RAPID.ResultFormat = string_t { enum = { "OBJ", "GLB", "STL", "USDZ", "FBX", "MP4", "GIF" } }   -- the intl SDK adds GIF

--- The families of the intl site: their actions, fields and checks.
M.FAMILIES = {
  pro = { submit = MAIN.pro.submit, query = MAIN.pro.query, fields = without(MAIN.pro.fields, "ResultFormat"),
          check = MAIN.pro.check, refused = { "ResultFormat" } },
  rapid = { submit = MAIN.rapid.submit, query = MAIN.rapid.query, fields = RAPID, check = MAIN.rapid.check },
  part = { submit = MAIN.part.submit, query = MAIN.part.query, fields = without(MAIN.part.fields, "Model"),
           check = MAIN.part.check, refused = { "Model" } },
  uv = MAIN.uv,
  reduce_face = { submit = "Submit3DSmartTopologyJob", query = "Describe3DSmartTopologyJob",
                  fields = MAIN.reduce_face.fields, check = MAIN.reduce_face.check },
  rigging = MAIN.rigging,
  texture_edit = { submit = "SubmitHunyuanTo3DTextureEditJob", query = "QueryHunyuanTo3DTextureEditJob",
                   fields = TEXTURE_EDIT, check = check_texture_edit },
  convert_job = { submit = "SubmitConvert3DFormatJob", query = "DescribeConvert3DFormatJob", fields = CONVERT_JOB,
                  check = check_convert_job },
}

-- The files a finished job of an intl-only family returns; the others as on the mainland.
local function result_files(family, p, cfg)
  if family == "texture_edit" then
    return { { "FBX", "model.fbx" }, { "TEXTURE_IMAGE", "texture.png" }, { "IMAGE", "preview.png" } }
  elseif family == "convert_job" then
    return { { p.Format, actions.FILE_NAMES[p.Format] } }
  end
  return actions.result_files(family, p, cfg)
end

-- Validates an intl action's parameters (the mainland's validate, with this site's fields).
local function validate(action, p, ctx)
  if type(p) ~= "table" or (next(p) ~= nil and p[1] ~= nil) then
    return "InvalidParameter", { zh = "请求体需为JSON对象", en = "The request body must be a JSON object." }
  end
  if action.role == "query" then return check_fields(P.QUERY, p, "") end
  local family = M.FAMILIES[action.family]
  for _, name in ipairs(family.refused or {}) do
    if p[name] ~= nil then
      return "InvalidParameter", { zh = ("【%s】国际站不支持该参数"):format(name),
                                   en = ("%s: not supported by this service."):format(name) }
    end
  end
  local code, msg = check_fields(family.fields, p, "")
  if code then return code, msg end
  return family.check(p, ctx)
end

--- action name -> { name, family, role, results, validate } (what hy3d.sandbox.doors runs).
M.ACTIONS = {
  Convert3DFormat = { name = "Convert3DFormat", family = "convert", role = "sync" },
}
for family, f in pairs(M.FAMILIES) do
  M.ACTIONS[f.submit] = { name = f.submit, family = family, role = "submit", results = result_files, validate = validate }
  M.ACTIONS[f.query] = { name = f.query, family = family, role = "query", validate = validate }
end

--- The two sites as hy3d.sandbox.doors reads them: per site, the log's door name, the TC3 service,
-- the version, the actions, and from the sandbox's config its SecretIds (own), the other site's
-- (foreign), the regions and the code that refuses the other site's credentials.
M.sites = {
  mainland = {
    name = "mainland", door = "api", service = "ai3d", version = "2025-05-13", actions = actions.ACTIONS,
    own = function(cfg) return cfg.secrets end, foreign = function(cfg) return cfg.intl_secrets end,
    regions = function(cfg) return cfg.regions end, refuse = function(cfg) return cfg.intl_on_mainland_code end,
  },
  intl = {
    name = "intl", door = "intl", service = M.SERVICE, version = M.VERSION, actions = M.ACTIONS,
    own = function(cfg) return cfg.intl_secrets end, foreign = function(cfg) return cfg.secrets end,
    regions = function(cfg) return cfg.intl_regions end, refuse = function(cfg) return cfg.mainland_on_intl_code end,
  },
}

--- The site a request is for: intl when its TC3 credential scope names the intl service, else the
-- mainland (whose checks then answer a missing or malformed Authorization header).
function M.site_of(auth_value, parse)
  local a = auth_value and parse(auth_value)
  if a and a.service == M.SERVICE then return M.sites.intl end
  return M.sites.mainland
end

-- The messages of the codes a site may refuse the other site's credentials with.
local MESSAGES = {
  ["AuthFailure.SignatureFailure"] = "The provided credentials could not be validated. Please check your signature is correct.",
  ["AuthFailure.SecretIdNotFound"] = "The SecretId is not found, please ensure that your SecretId is correct.",
  ["AuthFailure.InvalidSecretId"] = "Invalid key (not a cloud API key type).",
  ["ResourceUnavailable"] = { zh = "计费状态未知", en = "The billing status is unknown." },
}

--- The message that goes with `code` when a site refuses the other site's SecretId.
function M.refusal_message(code)
  return MESSAGES[code] or "The SecretId cannot be used with this service."
end

return M
