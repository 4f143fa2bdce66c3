--- hy3d.cli.params: a job's parameters from the command line (job_params), where and what to
-- download (save_options, check_dir) and what generate's formats ask of the job (reconcile). The
-- service's enumerations come from the library (hy3d.validate), never a copy: a value the
-- library learns, the command line takes. Version-neutral Lua (5.1 to 5.4, LuaJIT).
local core = require "hy3d.core"
local errors = require "hy3d.error"
local validate = require "hy3d.validate"
local args = require "hy3d.cli.args"
local exit = require "hy3d.cli.exit"

local concat = table.concat
local usage_error = exit.usage_error
local number_option = args.number_option

local M = {}

-- "a, b or c" (`last` "and": "a, b and c").
local function either(list, last)
  if #list < 2 then return concat(list) end
  return concat(list, ", ", 1, #list - 1) .. " " .. (last or "or") .. " " .. list[#list]
end

local function set_of(list, key)
  local set = {}
  for _, v in ipairs(list) do set[key and key(v) or v] = v end
  return set
end

-- The service's values (hy3d.validate's lists): GenerateType by its lower-case name, ResultFormat
-- of a pro job (one more file) and of a rapid job (its one file), Model and PolygonType.
local PRO = validate.pro
local PRO_TYPES = set_of(PRO.generate, string.lower)
local PRO_RESULT_FORMATS = set_of(PRO.formats)
local RAPID_RESULT_FORMATS = set_of(validate.rapid_formats)
local MODELS, POLYGONS = set_of(PRO.models), set_of(PRO.polygon)

-- File extensions of -o that name a File3D Type.
local EXT_TYPES = { glb = "GLB", obj = "OBJ", zip = "OBJ", stl = "STL", usdz = "USDZ", fbx = "FBX", mp4 = "MP4",
                    gif = "GIF" }

-- A file name from a prompt: lower-case ASCII words joined by '-', at most 48 characters.
local function slug(s)
  if type(s) ~= "string" then return nil end
  local out = s:lower():gsub("[^%w]+", "-"):gsub("^%-+", ""):sub(1, 48):gsub("%-+$", "")
  if out == "" then return nil end
  return out
end

local function split_list(s)
  local list = {}
  for item in s:gmatch("[^,%s]+") do list[#list + 1] = item end
  return list
end

local function is_url(s)
  return s:match("^https?://") ~= nil or s:match("^data:") ~= nil
end

-- True when a decoded JSON value holds a number JSON cannot carry back (1e400 decodes to inf).
local function finite(v, depth)
  if type(v) == "number" then return v == v and v ~= math.huge and v ~= -math.huge end
  if type(v) ~= "table" or depth > 32 then return type(v) ~= "table" end
  for _, x in pairs(v) do
    if not finite(x, depth + 1) then return false end
  end
  return true
end

-- The --param NAME=VALUE fields: VALUE read as JSON, else taken as a string. Returns a table of
-- them, or nil and a usage error (a name that is not an API field name, or given twice).
local function param_fields(list)
  local out = {}
  for _, item in ipairs(list or {}) do
    local name, value = item:match("^([%a][%w]*)=(.*)$")
    if not name then return nil, usage_error("--param needs NAME=VALUE, NAME an API field such as Duration") end
    if out[name] ~= nil then return nil, usage_error("--param names " .. name .. " twice") end
    local ok, decoded = pcall(core.decode, value)
    if not (ok and decoded ~= nil) then
      decoded = value
    elseif not finite(decoded, 0) then
      return nil, usage_error("--param " .. name .. ": a number beyond what JSON carries")
    end
    out[name] = decoded
  end
  return out
end

local function job_params(o, pos, kind)
  local hy3d = require "hy3d"
  local p = {}
  local extra, perr = param_fields(o.param)
  if not extra then return nil, perr end
  if #pos > 0 then p.Prompt = concat(pos, " ") end
  if not p.Prompt and not o.image and next(extra) == nil then
    return nil, usage_error("give a prompt, or an image with --image")
  end
  local pro_only = { model = "--model", faces = "--faces", type = "--type", polygon = "--polygon" }
  if kind ~= "pro" then
    for key, name in pairs(pro_only) do
      if o[key] then return nil, usage_error(name .. " is for pro jobs") end
    end
    if #o.view > 0 then return nil, usage_error("--view is for pro jobs") end
  end
  local views
  if #o.view > 0 then
    if not o.image then return nil, usage_error("--view needs --image (the front view)") end
    views = {}
    for _, v in ipairs(o.view) do
      local name, where = v:match("^([%w_]+)=(.+)$")
      if not name then return nil, usage_error("--view needs NAME=PATH or NAME=URL") end
      if views[name] then return nil, usage_error("--view names the same view twice") end
      views[name] = where
    end
  end
  if o.image then
    if is_url(o.image) then
      p.ImageUrl = o.image
    else
      local b64, info = hy3d.image(o.image)
      if not b64 then return nil, info end
      p.ImageBase64 = b64
    end
  end
  if views then
    local list, err = hy3d.views(views)
    if not list then return nil, err end
    p.MultiViewImages = list
  end
  if o.model then
    if not MODELS[o.model] then return nil, usage_error("--model is " .. either(PRO.models)) end
    p.Model = o.model
  end
  local ok, err = number_option(o, "faces", "--faces", 1, true, "from 3000 to 1500000", false, 2147483647)
  if not ok then return nil, err end
  p.FaceCount = o.faces
  if o.type then
    p.GenerateType = PRO_TYPES[o.type:lower()]
    if not p.GenerateType then return nil, usage_error("--type is " .. either(PRO.generate)) end
  end
  if o.polygon then
    local poly = o.polygon:lower()
    if not POLYGONS[poly] then
      return nil, usage_error("--polygon is " .. either(PRO.polygon))
    end
    p.PolygonType = poly
  end
  if o.pbr then p.EnablePBR = true end
  if o.result_format then
    local rf = o.result_format:upper()
    if kind == "pro" and not PRO_RESULT_FORMATS[rf] then
      return nil, usage_error("--result-format is " .. either(PRO.formats) .. " for pro jobs")
    elseif kind == "rapid" and not RAPID_RESULT_FORMATS[rf] then
      return nil, usage_error("--result-format is " .. either(validate.rapid_formats) .. " for rapid jobs")
    end
    p.ResultFormat = rf
  end
  for name, value in pairs(extra) do
    if p[name] ~= nil then
      return nil, usage_error(("--param %s: another option (or the prompt) sets %s already"):format(name, name))
    end
    p[name] = value
  end
  return p
end

-- Where and what to download: { dir, name, formats, extract } from -o, --dir, --format,
-- --extract (nil fields: the library's defaults). `explicit` says whether any was given.
local function save_options(o)
  local s = { extract = o.extract or nil }
  local ext_type
  if o.output then
    local out = o.output
    local d, base = out:match("^(.*)/([^/]*)$")
    if not d then d, base = nil, out end
    if d == "" then d = "/" end
    if base == "" or base == "." or base == ".." then
      d = out
    else
      local stem, ext = base:match("^(.+)%.(%w+)$")
      if stem and EXT_TYPES[ext:lower()] then
        s.name, ext_type = stem, EXT_TYPES[ext:lower()]
      else
        s.name = base
      end
    end
    if d and o.dir and d:sub(1, 1) ~= "/" then d = (o.dir:gsub("/+$", "")) .. "/" .. d end
    s.dir = d or o.dir
  else
    s.dir = o.dir
  end
  if o.format then
    local list = split_list(o.format)
    if #list == 0 then return nil, usage_error("--format needs a list of file types, e.g. glb,obj") end
    for i, f in ipairs(list) do
      if not f:match("^[%w_]+$") then return nil, usage_error("--format: not a file type name") end
      list[i] = f:lower() == "all" and "all" or f:upper()
    end
    s.formats = list
  elseif ext_type then
    s.formats = { ext_type }
  end
  return s
end

-- Fills in what generate's files need from the job: the default formats (every file for a kind
-- added at run time), and the ResultFormat a requested STL/USDZ/FBX (pro) or a rapid job's single file needs.
local function reconcile(params, save, kind)
  if not save.formats and kind ~= "pro" and kind ~= "rapid" then   -- a kind added at run time: what it makes
    save.formats = { "all" }
    return true
  end
  if not save.formats then
    save.formats = { params.ResultFormat or "GLB" }
    if kind == "rapid" and not params.ResultFormat then params.ResultFormat = "GLB" end
    return true
  end
  if save.formats[1] == "all" then return true end
  local models = {}                         -- "preview" is the files' preview image, not a file type
  for _, f in ipairs(save.formats) do
    if f ~= "PREVIEW" then models[#models + 1] = f end
  end
  if #models == 0 then return true end
  if kind == "pro" then
    for _, f in ipairs(models) do
      if not (f == "OBJ" or f == "GLB" or PRO_RESULT_FORMATS[f]) then
        return nil, usage_error("--format: a pro job makes OBJ, GLB and one of " .. either(PRO.formats, "and")
          .. " (or give all)")
      end
      if f == "OBJ" and params.GenerateType == "Geometry" then
        return nil, usage_error("a Geometry job makes a GLB only")
      end
    end
  end
  if kind == "pro" and not params.ResultFormat then
    local extra
    for _, f in ipairs(models) do
      if PRO_RESULT_FORMATS[f] then
        if extra and extra ~= f then
          return nil, usage_error("a pro job makes at most one of " .. either(PRO.formats, "and"))
        end
        extra = f
      end
    end
    params.ResultFormat = extra
  elseif kind == "rapid" and not params.ResultFormat then
    if #models > 1 or not RAPID_RESULT_FORMATS[models[1]] then
      return nil, usage_error("a rapid job makes one file: --format " .. concat(validate.rapid_formats, ", ")
        .. " or all")
    end
    params.ResultFormat = models[1]
  end
  return true
end

-- A file name from an --image: the file's name, or the URL's last path segment, without its
-- extension (nil for a data: URL, which has no path, or when nothing usable is left: the JobId
-- names the files).
local function image_name(image)
  local last
  if is_url(image) then
    last = (image:match("^%a+://[^/?#]*(/[^?#]*)") or ""):match("([^/]*)$")
  else
    last = image:match("([^/]*)$")
  end
  return slug((last or ""):gsub("%.%w+$", ""))
end

local ENOENT, ENOTDIR = 2, 20                       -- Linux's errno values (io.open's third result)

-- Checks, before anything is submitted, that the files can go to `dir` (nil: the current
-- folder): each part of it that exists is a folder, and the deepest that exists can be written
-- (the rest is created at download time). Returns true, or nil and an io error.
local function check_dir(dir)
  dir = dir or "."
  local function fail(message)
    return nil, errors.new { kind = "io", code = "OUTPUT_DIR", message = ("cannot save to %s: %s"):format(dir, message) }
  end
  local path = dir:sub(1, 1) == "/" and "/" or ""
  local deepest = path == "/" and "/" or "."
  for part in dir:gmatch("[^/]+") do
    local p = path .. part
    local f, msg, errno = io.open(p .. "/.", "rb")
    if f then
      f:close()
      deepest = p
    elseif errno == ENOTDIR or tostring(msg):find("Not a directory", 1, true) then
      return fail(p .. " is not a folder")
    elseif errno == ENOENT then
      break
    else
      return fail(("cannot reach %s (%s)"):format(p, tostring(msg):match("[^:]*$"):gsub("^%s+", "")))
    end
    path = p .. "/"
  end
  local probe = ("%s/.hy3d-write-check-%d-%d"):format(deepest == "/" and "" or deepest, os.time(),
    math.random(1, 1e9))
  local f, msg = io.open(probe, "wb")
  if not f then
    return fail(("cannot write in %s (%s)"):format(deepest, tostring(msg):match("[^:]*$"):gsub("^%s+", "")))
  end
  f:close()
  os.remove(probe)
  return true
end

M.job_params, M.save_options, M.reconcile, M.check_dir = job_params, save_options, reconcile, check_dir
M.slug, M.split_list, M.image_name = slug, split_list, image_name
M.param_fields = param_fields

return M
