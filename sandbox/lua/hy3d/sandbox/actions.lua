--- The ai3d 2025-05-13 action catalogue of hy3d-sandbox: every action's parameters and rules
-- (reference §5, §8), the job family it belongs to, the files a finished job returns and the
-- credits it costs (§9). Validation answers the way the service does: a code and a message in the
-- service's `【Field】rule` style, each with its English twin ({ zh = ..., en = ... }: the door answers
-- in the language of X-TC-Language, Chinese unless en-US).
-- It re-implements the rules hy3d's client checks before sending (lua/hy3d/validate.lua, jobs.lua)
-- ON PURPOSE and shares no code with them: an independent oracle, so a rule the client gets wrong
-- is answered the way the service would answer it instead of being agreed with.
local core = require "hy3d.core"
local image = require "hy3d.sandbox.image"

local format, concat = string.format, table.concat
local floor = math.floor

local NULL = require("cjson").null

-- ===== field types =====

local function string_t(opts) opts = opts or {}; opts.type = "String"; return opts end
local function boolean_t(opts) opts = opts or {}; opts.type = "Boolean"; return opts end
local function integer_t(opts) opts = opts or {}; opts.type = "Integer"; return opts end
local function object_t(name, fields, opts) opts = opts or {}; opts.type = name; opts.fields = fields; return opts end
local function array_t(item, opts) opts = opts or {}; opts.type = "Array of " .. item.type; opts.item = item; return opts end

local function is_array(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  return n == #v
end

local function is_object(v)
  if type(v) ~= "table" then return false end
  return next(v) == nil or not is_array(v)
end

local function type_ok(spec, v)
  local t = spec.type
  if t == "String" then return type(v) == "string" end
  if t == "Boolean" then return type(v) == "boolean" end
  if t == "Integer" then return math.type(v) == "integer" or (type(v) == "number" and v == floor(v) and v == v) end
  if spec.item then return is_array(v) end
  return is_object(v)
end

-- ===== errors =====

local function unknown(name) return "UnknownParameter", format("The parameter `%s` is not recognized.", name) end
local function missing(name) return "MissingParameter", format("The request is missing a required parameter `%s`.", name) end
local function bad_type(name, t)
  return "InvalidParameter", { zh = format("【%s】参数类型错误，应为%s", name, t),
                               en = format("%s: wrong type, must be %s.", name, t) }
end
local function bad_enum(name, values)
  return "InvalidParameter", { zh = format("【%s】仅支持%s", name, concat(values, ",")),
                               en = format("%s: only %s are supported (case matters).", name, concat(values, ",")) }
end
-- A value outside its rule: the rule in Chinese and in English.
local function bad_value(name, zh, en)
  return "InvalidParameterValue", { zh = format("【%s】%s", name, zh), en = format("%s: %s.", name, en) }
end

-- Checks v against spec (type, enum, range, length, nested fields). Returns nil or code, message.
local check_fields
local function check_value(spec, v, name)
  if not type_ok(spec, v) then return bad_type(name, spec.type) end
  if spec.enum then
    local ok = false
    for _, e in ipairs(spec.enum) do if v == e then ok = true break end end
    if not ok then return bad_enum(name, spec.enum) end
  end
  if spec.range and (v < spec.range[1] or v > spec.range[2]) then
    return bad_value(name, format("取值范围为[%d, %d]", spec.range[1], spec.range[2]),
      format("must be in [%d, %d]", spec.range[1], spec.range[2]))
  end
  if spec.max_chars then
    local n = utf8.len(v)
    if not n then return bad_value(name, "不是合法的UTF-8文本", "is not valid UTF-8 text") end
    if n == 0 then return bad_value(name, "不能为空", "must not be empty") end
    if n > spec.max_chars then
      return bad_value(name, format("长度不能超过%d个字符", spec.max_chars),
        format("must be at most %d characters long", spec.max_chars))
    end
  end
  if spec.fields then return check_fields(spec.fields, v, name .. ".") end
  if spec.item then
    for i, item in ipairs(v) do
      local code, msg = check_value(spec.item, item, format("%s.%d", name, i - 1))
      if code then return code, msg end
    end
  end
  return nil
end

-- JSON null counts as absent (the SDKs omit unset fields; a null is treated the same way).
function check_fields(fields, p, prefix)
  for k in pairs(p) do
    if type(k) ~= "string" or not fields[k] then return unknown(prefix .. tostring(k)) end
  end
  local names = {}
  for k in pairs(fields) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    local spec, v = fields[k], p[k]
    if v == nil or v == NULL then
      if spec.required then return missing(prefix .. k) end
      p[k] = nil
    else
      local code, msg = check_value(spec, v, prefix .. k)
      if code then return code, msg end
    end
  end
  return nil
end

-- ===== images and files given as input =====

local MB = 1024 * 1024

-- Image limits by use (reference §5.3, §5.9, §5.10, §8). min/max are inclusive unless strict.
local IMAGE_RULES = {
  single = { min = 128, max = 5000, bytes = 6 * MB, url_bytes = 8 * MB, formats = { "jpg", "png", "jpeg", "webp" } },
  view = { min = 128, max = 5000, strict = true, bytes = 6 * MB, url_bytes = 8 * MB, formats = { "jpg", "png" } },
  texture = { min = 128, max = 4096, strict = true, bytes = 10 * MB, url_bytes = 10 * MB, formats = { "jpg", "jpeg", "png" } },
  profile = { min = 500, max = 4096, strict = true, bytes = 10 * MB, url_bytes = 10 * MB, formats = { "jpg", "jpeg", "png" } },
}

local FORMAT_ALIASES = { jpeg = "jpg" }

-- Checks decoded image bytes against a rule: format from the header, pixel size, byte size.
local function check_image_bytes(bytes, rule, name, limit)
  if #bytes > limit then
    return bad_value(name, format("图片大小不能超过%dM", limit // MB), format("the image must be at most %d MB", limit // MB))
  end
  local info, why = image.info(bytes)
  if not info then return bad_value(name, "图片解码失败：" .. tostring(why), "the image cannot be decoded: " .. tostring(why)) end
  local fmt = FORMAT_ALIASES[info.format] or info.format
  local allowed = false
  for _, f in ipairs(rule.formats) do
    if (FORMAT_ALIASES[f] or f) == fmt then allowed = true end
  end
  if not allowed then
    return bad_value(name, format("图片格式仅支持%s", concat(rule.formats, ",")),
      format("the image format must be one of %s", concat(rule.formats, ",")))
  end
  local w, h = info.width, info.height
  local too_small = rule.strict and (w <= rule.min or h <= rule.min) or (w < rule.min or h < rule.min)
  local too_big = rule.strict and (w >= rule.max or h >= rule.max) or (w > rule.max or h > rule.max)
  if too_small or too_big then
    return bad_value(name, format("图片分辨率为%dx%d，边长需%s%d且%s%d像素", w, h, rule.strict and "大于" or "不小于",
      rule.min, rule.strict and "小于" or "不大于", rule.max),
      format("the image is %dx%d; each side must be %s %d and %s %d pixels", w, h,
        rule.strict and "more than" or "at least", rule.min, rule.strict and "less than" or "at most", rule.max))
  end
  return nil
end

local function check_base64_image(b64, rule, name)
  local bytes = core.base64_decode(b64)
  if not bytes then return bad_value(name, "不是合法的base64编码", "is not valid base64") end
  return check_image_bytes(bytes, rule, name, rule.bytes)
end

-- An image given by URL: a data: URI is decoded and checked; http(s) URLs are taken on trust
-- unless they point at this sandbox's own files (the sandbox never fetches from the network).
local function check_image_url(ctx, url, rule, name)
  local b64 = url:match("^data:image/[%w%.%+%-]+;base64,(.*)$")
  if b64 then
    local bytes = core.base64_decode(b64)
    if not bytes then return bad_value(name, "data URI不是合法的base64编码", "the data URI is not valid base64") end
    return check_image_bytes(bytes, rule, name, rule.url_bytes)
  end
  if url:match("^data:") then
    return bad_value(name, "data URI需为data:image/<type>;base64,<data>",
      "a data URI must be data:image/<type>;base64,<data>")
  end
  if not url:match("^https?://[^/%s]+") then return bad_value(name, "不是合法的URL", "is not a valid URL") end
  return ctx.check_url(url, name)
end

local function check_input_file(ctx, url, name)
  if not url:match("^https?://[^/%s]+") then return bad_value(name, "不是合法的URL", "is not a valid URL") end
  return ctx.check_url(url, name)
end

-- ===== structures (reference §5.2) =====

local VIEW_IMAGE = object_t("ViewImage", {
  ViewType = string_t { enum = { "left", "right", "back", "top", "bottom", "left_front", "right_front" } },
  ViewImageUrl = string_t(),
  ViewImageBase64 = string_t(),
})
local IMAGE = object_t("Image", { Base64 = string_t(), Url = string_t() })
local function input_file3d(types, opts)
  return object_t("InputFile3D", { Type = string_t { required = true, enum = types },
                                   Url = string_t { required = true } }, opts)
end
local function file3d(types, opts)
  return object_t("File3D", { Type = string_t { required = true, enum = types }, Url = string_t { required = true },
                              PreviewImageUrl = string_t() }, opts)
end

local VIEWS_31 = { top = true, bottom = true, left_front = true, right_front = true }

-- The encoded size of an image given inline: its base64 text, or a data: URI's base64 part (0
-- for an http(s) URL, which the sandbox never fetches). `url` wins when both are given.
local function inline_size(b64, url)
  if url then
    local data = url:match("^data:image/[%w%.%+%-]+;base64,(.*)$")
    return data and #data or 0
  end
  return b64 and #b64 or 0
end

-- MultiViewImages: one image per view, 3.1 views only with Model 3.1, and all the images given
-- inline ≤8 MB encoded (reference §5.3: the sum of all encoded images), counting from
-- `front_size`, the encoded size of the front image (Pro's ImageBase64/ImageUrl).
local function check_views(ctx, views, model, name, front_size)
  local seen, total = {}, front_size or 0
  for i, v in ipairs(views) do
    local field = format("%s.%d", name, i - 1)
    if not v.ViewType then return missing(field .. ".ViewType") end
    if VIEWS_31[v.ViewType] and model ~= "3.1" then
      return bad_value(field .. ".ViewType", v.ViewType .. "仅在Model为3.1时支持", v.ViewType .. " needs Model 3.1")
    end
    if seen[v.ViewType] then
      return bad_value(field .. ".ViewType", "视角" .. v.ViewType .. "重复", "the view " .. v.ViewType .. " repeats")
    end
    seen[v.ViewType] = true
    local code, msg
    if v.ViewImageUrl then
      code, msg = check_image_url(ctx, v.ViewImageUrl, IMAGE_RULES.view, field .. ".ViewImageUrl")
    elseif v.ViewImageBase64 then
      code, msg = check_base64_image(v.ViewImageBase64, IMAGE_RULES.view, field .. ".ViewImageBase64")
    else
      return missing(field .. ".ViewImageUrl")
    end
    if code then return code, msg end
    total = total + inline_size(v.ViewImageBase64, v.ViewImageUrl)
  end
  if total > 8 * MB then return bad_value(name, "图片总大小不能超过8M", "the images together must be at most 8 MB") end
  return nil
end

-- The one-of rule shared by Pro and Rapid; `sketch` allows a prompt beside the image.
local function check_prompt_or_image(ctx, p, sketch)
  local has_image = p.ImageBase64 ~= nil or p.ImageUrl ~= nil
  if p.ImageBase64 and p.ImageUrl then
    return bad_value("ImageBase64/ImageUrl", "ImageBase64和ImageUrl只能提供其中一个", "give only one of ImageBase64 and ImageUrl")
  end
  if sketch then
    if not has_image then return bad_value("ImageBase64/ImageUrl", "Sketch模式必须提供图片", "Sketch needs an image") end
  elseif (p.Prompt and 1 or 0) + (has_image and 1 or 0) ~= 1 then
    return bad_value("Prompt/ImageBase64/ImageUrl", "必须且只能提供其中一个", "give exactly one of them")
  end
  if p.ImageBase64 then return check_base64_image(p.ImageBase64, IMAGE_RULES.single, "ImageBase64") end
  if p.ImageUrl then return check_image_url(ctx, p.ImageUrl, IMAGE_RULES.single, "ImageUrl") end
  return nil
end

-- ===== actions =====

-- The gateway's ImageUrl may be a string or {"Url": ...} (reference §2.3 [?]); the 3.0 door takes a string.
local function normalize_image_url(p, ctx)
  if ctx.door == "gateway" and type(p.ImageUrl) == "table" and is_object(p.ImageUrl) then
    for k in pairs(p.ImageUrl) do
      if k ~= "Url" then return unknown("ImageUrl." .. tostring(k)) end
    end
    if type(p.ImageUrl.Url) ~= "string" then return bad_type("ImageUrl.Url", "String") end
    p.ImageUrl = p.ImageUrl.Url
  end
  return nil
end

local PRO = {
  Model = string_t { enum = { "3.0", "3.1" } },
  Prompt = string_t { max_chars = 1024 },
  ImageBase64 = string_t(),
  ImageUrl = string_t(),
  MultiViewImages = array_t(VIEW_IMAGE),
  EnablePBR = boolean_t(),
  FaceCount = integer_t { range = { 3000, 1500000 } },
  GenerateType = string_t { enum = { "Normal", "LowPoly", "Geometry", "Sketch" } },
  PolygonType = string_t { enum = { "triangle", "quadrilateral" } },
  ResultFormat = string_t { enum = { "STL", "USDZ", "FBX" } },
}

local function check_pro(p, ctx)
  local model, gen = p.Model or "3.0", p.GenerateType or "Normal"
  if model == "3.1" and (gen == "LowPoly" or gen == "Sketch") then
    return bad_value("GenerateType", "Model为3.1时不支持LowPoly和Sketch", "LowPoly and Sketch are not available with Model 3.1")
  end
  local code, msg = check_prompt_or_image(ctx, p, gen == "Sketch")
  if code then return code, msg end
  if p.MultiViewImages then
    if not (p.ImageBase64 or p.ImageUrl) then
      return bad_value("MultiViewImages", "多视角生成需要同时提供正面图片ImageBase64或ImageUrl",
        "multi-view generation also needs the front view as ImageBase64 or ImageUrl")
    end
    return check_views(ctx, p.MultiViewImages, model, "MultiViewImages", inline_size(p.ImageBase64, p.ImageUrl))
  end
  return nil
end

local RAPID = {
  Prompt = string_t { max_chars = 200 },
  ImageBase64 = string_t(),
  ImageUrl = string_t(),
  ResultFormat = string_t { enum = { "OBJ", "GLB", "STL", "USDZ", "FBX", "MP4" } },
  EnablePBR = boolean_t(),
  EnableGeometry = boolean_t(),
}

local function check_rapid(p, ctx)
  if p.EnableGeometry and p.ResultFormat == "OBJ" then
    return bad_value("ResultFormat", "EnableGeometry为true时不支持OBJ", "OBJ is not available when EnableGeometry is true")
  end
  return check_prompt_or_image(ctx, p, false)
end

local PART = {
  File = input_file3d({ "FBX" }, { required = true }),
  Model = string_t { enum = { "1.5" } },
  PartSegmentationInfo = string_t(),
  EnableStagedGeneration = boolean_t(),
  EnablePostProcess = boolean_t(),
}

local function check_part(p, ctx)
  if p.PartSegmentationInfo then
    local ok, info = pcall(require("cjson").decode, p.PartSegmentationInfo)
    if not ok or type(info) ~= "table" then
      return bad_value("PartSegmentationInfo", "需为JSON对象字符串", "must be a string holding a JSON object")
    end
  end
  return check_input_file(ctx, p.File.Url, "File.Url")
end

local UV = { File = input_file3d({ "FBX", "OBJ", "GLB" }, { required = true }) }
local function check_file(p, ctx) return check_input_file(ctx, p.File.Url, "File.Url") end

local REDUCE_FACE = {
  File3D = file3d({ "OBJ", "GLB" }, { required = true }),
  PolygonType = string_t { enum = { "triangle", "quadrilateral" } },
  FaceLevel = string_t { enum = { "high", "medium", "low" } },
}
local function check_file3d(p, ctx) return check_input_file(ctx, p.File3D.Url, "File3D.Url") end

local TEXTURE = {
  File3D = file3d({ "OBJ", "GLB" }, { required = true }),
  Model = string_t { enum = { "3.0", "3.1" } },
  MultiViewImages = array_t(VIEW_IMAGE),
  Prompt = string_t { max_chars = 200 },
  Image = IMAGE,
  EnablePBR = boolean_t(),
  EnableKeepUV = boolean_t(),
  TextureSize = integer_t { range = { 720, 4096 } },
}

-- An Image object: Base64 or Url (Url wins when both are given).
local function check_image_object(ctx, img, rule, name)
  if img.Url then return check_image_url(ctx, img.Url, rule, name .. ".Url") end
  if img.Base64 then return check_base64_image(img.Base64, rule, name .. ".Base64") end
  return missing(name .. ".Url")
end

local function check_texture(p, ctx)
  if (p.Prompt and 1 or 0) + (p.Image and 1 or 0) ~= 1 then
    return bad_value("Prompt/Image", "必须且只能提供其中一个", "give exactly one of them")
  end
  if p.MultiViewImages and (p.Model or "3.0") ~= "3.1" then
    return bad_value("MultiViewImages", "仅在Model为3.1时支持", "needs Model 3.1")
  end
  local code, msg = check_input_file(ctx, p.File3D.Url, "File3D.Url")
  if code then return code, msg end
  if p.Image then
    code, msg = check_image_object(ctx, p.Image, IMAGE_RULES.texture, "Image")
    if code then return code, msg end
  end
  if p.MultiViewImages then return check_views(ctx, p.MultiViewImages, "3.1", "MultiViewImages") end
  return nil
end

local TEMPLATES = { "basketball", "badminton", "pingpong", "gymnastics", "pilidance", "tennis", "athletics",
                    "footballboykicking1", "footballboykicking2", "guitar", "footballboy", "skateboard",
                    "futuresoilder", "explorer", "beardollgirl", "bibpantsboy", "womansitpose", "womanstandpose2",
                    "mysteriousprincess", "manstandpose2" }
local PROFILE = {
  Profile = object_t("Image", { Base64 = string_t(), Url = string_t() }, { required = true }),
  Template = string_t { required = true, enum = TEMPLATES },
}
local function check_profile(p, ctx) return check_image_object(ctx, p.Profile, IMAGE_RULES.profile, "Profile") end

local MOTION = {
  Prompt = string_t { required = true, max_chars = 128 },
  Model = string_t { enum = { "HY-Motion-1.0" } },
  RetargetFile = input_file3d { "FBX", "GLB" },
  Duration = integer_t { range = { 1, 12 } },
  EnableMesh = boolean_t(),
  EnableRewrite = boolean_t(),
  EnableDurationEst = boolean_t(),
}
local function check_motion(p, ctx)
  if p.RetargetFile then return check_input_file(ctx, p.RetargetFile.Url, "RetargetFile.Url") end
  return nil
end

local RIGGING = {
  File3D = input_file3d({ "FBX", "GLB" }, { required = true }),
  MotionType = integer_t { range = { 1, 48 } },
}

local CONVERT = {
  File3D = string_t { required = true },
  Format = string_t { required = true, enum = { "STL", "USDZ", "FBX", "MP4", "GIF" } },
}
local function check_convert(p, ctx) return check_input_file(ctx, p.File3D, "File3D") end

local QUERY = { JobId = string_t { required = true } }

-- ===== results and credits (reference §5, §9) =====

-- Result Type -> the file name it is served under at /files/<JobId>/.
local FILE_NAMES = {
  OBJ = "model.zip", GLB = "model.glb", STL = "model.stl", FBX = "model.fbx", USDZ = "model.usdz",
  MP4 = "model.mp4", GIF = "model.gif", IMAGE = "preview.png", MTL = "model.mtl", ZIP = "model.zip",
  TEXTURE_IMAGE = "texture.png", POSTPROCESS_OBJ = "postprocess.zip",
}

local function entries(types)
  local out = {}
  for i, t in ipairs(types) do out[i] = { t, FILE_NAMES[t] } end
  return out
end

--- The result files of a finished job of `family` for params p: a list of { Type, file name }.
-- cfg.result_format says whether Pro's ResultFormat adds to OBJ+GLB or replaces them (reference §6 [?]).
local function result_files(family, p, cfg)
  local extra = cfg.extra_families and cfg.extra_families[family]     -- configured at run time (families.lua)
  if extra then return entries(extra.results) end
  if family == "pro" then
    local types = p.GenerateType == "Geometry" and { "GLB" } or { "OBJ", "GLB" }
    if p.ResultFormat then
      if cfg.result_format == "replace" then types = { p.ResultFormat } else types[#types + 1] = p.ResultFormat end
    end
    return entries(types)
  elseif family == "rapid" then
    return entries { p.ResultFormat or (p.EnableGeometry and "GLB" or "OBJ") }
  elseif family == "part" or family == "uv" then
    return entries { "OBJ", "FBX", "IMAGE" }
  elseif family == "reduce_face" then
    return entries { "OBJ", "GLB", "IMAGE" }
  elseif family == "texture" then        -- the OBJ here is the bare .obj; ZIP has obj + mtl + texture
    return { { "TEXTURE_IMAGE", "texture.png" }, { "MTL", "model.mtl" }, { "ZIP", "model.zip" },
             { "OBJ", "model.obj" }, { "GLB", "model.glb" }, { "IMAGE", "preview.png" } }
  elseif family == "profile" then
    return entries { "POSTPROCESS_OBJ", "OBJ", "IMAGE", "MTL", "FBX" }
  end
  return entries { "FBX" }                -- motion, rigging
end

-- Credits per the billing table: total and the ResultCreditDetails map (Pro's keys as in the
-- official example {"FaceCount":10,"GenerateType-Normal":20,"Pbr":10}; the other kinds' key is the
-- family's name [I]). An add-on counts when its field is sent (FaceCount at any value, EnablePBR
-- true, MultiViewImages non-empty), but not where Pro ignores it (FaceCount with LowPoly, EnablePBR
-- with Geometry). Kept apart from hy3d.credits (the client's estimate) on purpose: an oracle.
local PRO_BASE = { Normal = 20, LowPoly = 25, Geometry = 15, Sketch = 25 }
local FAMILY_CREDITS = { rapid = 15, reduce_face = 50, texture = 30, profile = 30, part = 30, uv = 10,
                         motion = 10, rigging = 10, convert = 5 }

local function credits(family, p)
  local details = {}
  if family == "pro" then
    local gen = p.GenerateType or "Normal"
    details["GenerateType-" .. gen] = PRO_BASE[gen]
    if type(p.MultiViewImages) == "table" and next(p.MultiViewImages) then details.MultiViewImages = 10 end
    if p.EnablePBR and gen ~= "Geometry" then details.Pbr = 10 end
    if p.FaceCount and gen ~= "LowPoly" then details.FaceCount = 10 end
    if p.ResultFormat then details.ResultFormat = 5 end
  else
    details[family] = FAMILY_CREDITS[family]
    if family == "part" and p.EnablePostProcess then details.PostProcess = 20 end
  end
  local total = 0
  for _, v in pairs(details) do total = total + v end
  return total, details
end

-- What the generated mesh is made from: the prompt, or a digest of the image input.
local function mesh_source(p)
  local text = p.Prompt
  if not text then
    local img = p.ImageBase64 or p.ImageUrl or (type(p.Image) == "table" and (p.Image.Url or p.Image.Base64))
      or (type(p.Profile) == "table" and (p.Profile.Url or p.Profile.Base64))
    if img then text = "image:" .. core.sha256(img, "hex") end
  end
  return text
end

-- ===== the catalogue =====

local FAMILIES = {
  pro = { submit = "SubmitHunyuanTo3DProJob", query = "QueryHunyuanTo3DProJob", fields = PRO, check = check_pro },
  rapid = { submit = "SubmitHunyuanTo3DRapidJob", query = "QueryHunyuanTo3DRapidJob", fields = RAPID, check = check_rapid },
  part = { submit = "SubmitHunyuan3DPartJob", query = "QueryHunyuan3DPartJob", fields = PART, check = check_part },
  uv = { submit = "SubmitHunyuanTo3DUVJob", query = "DescribeHunyuanTo3DUVJob", fields = UV, check = check_file },
  reduce_face = { submit = "SubmitReduceFaceJob", query = "DescribeReduceFaceJob", fields = REDUCE_FACE,
                  check = check_file3d },
  texture = { submit = "SubmitTextureTo3DJob", query = "DescribeTextureTo3DJob", fields = TEXTURE, check = check_texture },
  profile = { submit = "SubmitProfileTo3DJob", query = "DescribeProfileTo3DJob", fields = PROFILE, check = check_profile },
  motion = { submit = "SubmitHunyuanTo3DMotionJob", query = "DescribeHunyuanTo3DMotionJob", fields = MOTION,
             check = check_motion },
  rigging = { submit = "SubmitAutoRiggingJob", query = "DescribeAutoRiggingJob", fields = RIGGING, check = check_file3d },
}

-- action name -> { name, family, role = "submit" | "query" | "sync" }
local ACTIONS = {
  Convert3DFormat = { name = "Convert3DFormat", family = "convert", role = "sync" },
}
for family, f in pairs(FAMILIES) do
  ACTIONS[f.submit] = { name = f.submit, family = family, role = "submit" }
  ACTIONS[f.query] = { name = f.query, family = family, role = "query" }
end

--- Validates the parameters of `action` (a table from ACTIONS). `ctx` has `door` ("api" or
-- "gateway") and `check_url(url, field)`, which vets URLs that point at the sandbox itself.
-- The params table may be normalised in place. Returns nil when acceptable, else code, message.
local function validate(action, p, ctx)
  if not is_object(p) then
    return "InvalidParameter", { zh = "请求体需为JSON对象", en = "The request body must be a JSON object." }
  end
  if action.role == "query" then return check_fields(QUERY, p, "") end
  if action.role == "sync" then
    local code, msg = check_fields(CONVERT, p, "")
    if code then return code, msg end
    return check_convert(p, ctx)
  end
  local family = FAMILIES[action.family]
  if not family then return nil end               -- a family configured at run time: no rules known
  local code, msg = normalize_image_url(p, ctx)
  if code then return code, msg end
  code, msg = check_fields(family.fields, p, "")
  if code then return code, msg end
  return family.check(p, ctx)
end

return {
  ACTIONS = ACTIONS,
  FAMILIES = FAMILIES,
  FILE_NAMES = FILE_NAMES,
  validate = validate,
  result_files = result_files,
  credits = credits,
  mesh_source = mesh_source,
  image_rules = IMAGE_RULES,
  -- the pieces another catalogue builds on (hy3d.sandbox.intl: the international site's actions)
  parts = { string_t = string_t, boolean_t = boolean_t, object_t = object_t, input_file3d = input_file3d,
            check_fields = check_fields, check_input_file = check_input_file, check_image_object = check_image_object,
            bad_value = bad_value, missing = missing, IMAGE = IMAGE, QUERY = QUERY },
}
