--- Local checks of the documented Pro and Rapid rules (reference §5.3, §5.4, §8), made before
-- anything is sent so a mistake costs nothing: one-of inputs, prompt lengths in UTF-8
-- characters, FaceCount, enum spelling and case, 3.1-only options, image sizes, views. A wrong
-- type is named as such before any rule of the value. A field a letter or two from a documented
-- name (prompt, Promt) is a typo and is named with that name; one far from every name passes
-- through (Tencent adds fields; the service has the last word). Version-neutral Lua (5.1 to
-- 5.4, LuaJIT). A client option (validate = false) turns it off; job_id (what a JobId may
-- be, for the client and the job record; job_id_of raises for a caller's non-JobId) and
-- loopback (where plain http:// needs no opt-in) always apply.
local floor = math.floor
local byte, find = string.byte, string.find

local MB = 1024 * 1024

-- The number of UTF-8 characters in s, or nil when s is not valid UTF-8.
local function utf8_length(s)
  if not find(s, "[\128-\255]") then return #s end   -- ASCII (most prompts): one C scan, no loop
  local i, n, len = 1, 0, #s
  while i <= len do
    local c = byte(s, i)
    local extra
    if c < 0x80 then extra = 0
    elseif c >= 0xC2 and c <= 0xDF then extra = 1
    elseif c >= 0xE0 and c <= 0xEF then extra = 2
    elseif c >= 0xF0 and c <= 0xF4 then extra = 3
    else return nil end
    for k = 1, extra do
      local cc = byte(s, i + k)
      if not cc or cc < 0x80 or cc > 0xBF then return nil end
    end
    if extra == 2 then
      local c2 = byte(s, i + 1)
      if (c == 0xE0 and c2 < 0xA0) or (c == 0xED and c2 > 0x9F) then return nil end   -- overlong, surrogates
    elseif extra == 3 then
      local c2 = byte(s, i + 1)
      if (c == 0xF0 and c2 < 0x90) or (c == 0xF4 and c2 > 0x8F) then return nil end
    end
    i = i + extra + 1
    n = n + 1
  end
  return n
end

-- Bytes a base64 string decodes to (padding and whitespace aside).
local function decoded_size(b64)
  local clean = b64:gsub("%s", "")
  local pad = clean:match("(=*)$")
  return floor(#clean * 3 / 4) - #pad
end

local function is_int(v)
  return type(v) == "number" and v == v and v == floor(v) and v > -math.huge and v < math.huge
end

local function join(list)
  return table.concat(list, ", ")
end

local function one_of(v, list)
  for _, x in ipairs(list) do if v == x then return true end end
  return false
end

local PRO = {
  models = { "3.0", "3.1" },
  generate = { "Normal", "LowPoly", "Geometry", "Sketch" },
  polygon = { "triangle", "quadrilateral" },
  formats = { "STL", "USDZ", "FBX" },
  views = { "left", "right", "back", "top", "bottom", "left_front", "right_front" },
  views_31 = { top = true, bottom = true, left_front = true, right_front = true },
}
local RAPID_FORMATS = { "OBJ", "GLB", "STL", "USDZ", "FBX", "MP4" }

-- A failed rule: the field, and a sentence that says the rule.
local function bad(field, rule)
  return { field = field, message = field .. ": " .. rule }
end

-- The fields of each kind (in the order messages list them) and the type each must have.
local FIELDS = {
  pro = { { "Prompt", "string" }, { "ImageBase64", "string" }, { "ImageUrl", "url" }, { "Model", "string" },
          { "GenerateType", "string" }, { "FaceCount", "integer" }, { "PolygonType", "string" },
          { "ResultFormat", "string" }, { "EnablePBR", "boolean" }, { "MultiViewImages", "list" } },
  rapid = { { "Prompt", "string" }, { "ImageBase64", "string" }, { "ImageUrl", "url" }, { "ResultFormat", "string" },
            { "EnablePBR", "boolean" }, { "EnableGeometry", "boolean" } },
}
local KIND_NAMES = { pro = "Pro", rapid = "Rapid" }

local TYPE_OK = {
  string = function(v) return type(v) == "string" end,
  integer = function(v) return type(v) == "number" end,        -- whole or not: a rule of the value
  boolean = function(v) return type(v) == "boolean" end,
  list = function(v) return type(v) == "table" end,
  url = function(v) return type(v) == "string" or (type(v) == "table" and type(v.Url) == "string") end,
}
local TYPE_WORDS = { string = "a string", integer = "an integer", boolean = "a boolean", list = "a list",
                     url = "a string (a URL; the gateway also takes {Url = ...})" }

-- What a user gave, for a message: its Lua type and (short) value.
local function given(v)
  local t = type(v)
  if t == "string" then
    if #v > 40 then v = v:sub(1, 37) .. "..." end
    return "string " .. ("%q"):format(v):gsub("\\\n", "\\n")
  end
  if t == "number" or t == "boolean" then return t .. " " .. tostring(v) end
  return t
end

-- Optimal string alignment distance (edits and swaps of neighbours) of two short strings.
local function distance(a, b)
  local prev2, prev = nil, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local d = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (byte(a, i) == byte(b, j) and 0 or 1))
      if prev2 and j > 1 and byte(a, i) == byte(b, j - 1) and byte(a, i - 1) == byte(b, j) then
        d = math.min(d, prev2[j - 2] + 1)
      end
      cur[j] = d
    end
    prev2, prev = prev, cur
  end
  return prev[#b]
end

-- The documented field that `name` is probably a typo of, or nil.
local function closest(kind, name)
  local low, best, best_d = name:lower(), nil, math.huge
  for _, f in ipairs(FIELDS[kind]) do
    local d = distance(low, f[1]:lower())
    if d < best_d then best, best_d = f[1], d end
  end
  if best and best_d <= math.max(1, floor(#best / 4)) then return best end
  return nil
end

local function field_list(kind)
  local names = {}
  for i, f in ipairs(FIELDS[kind]) do names[i] = f[1] end
  return KIND_NAMES[kind] .. " jobs take " .. join(names)
end

-- The string keys of p that are no documented field of kind, sorted.
local function unknown_fields(kind, p)
  local known, out = {}, {}
  for _, f in ipairs(FIELDS[kind]) do known[f[1]] = true end
  for k in pairs(p) do
    if type(k) == "string" and not known[k] then out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

-- Typos of documented fields, then wrong types: the mistakes named before any rule of a value.
local function check_names_and_types(kind, p)
  for _, k in ipairs(unknown_fields(kind, p)) do
    local near = closest(kind, k)
    if near then
      return bad(k, ("unknown field '%s' (did you mean %s?); %s"):format(k, near, field_list(kind)))
    end
  end
  for _, f in ipairs(FIELDS[kind]) do
    local name, want = f[1], f[2]
    local v = p[name]
    if v ~= nil and not TYPE_OK[want](v) then
      return bad(name, ("must be %s, got %s"):format(TYPE_WORDS[want], given(v)))
    end
  end
  return nil
end

local function check_prompt(p, limit)
  if p.Prompt == nil then return nil end
  local n = utf8_length(p.Prompt)
  if not n then return bad("Prompt", "is not valid UTF-8") end
  if n == 0 then return bad("Prompt", "must not be empty") end
  if n > limit then return bad("Prompt", ("at most %d characters (UTF-8), got %d"):format(limit, n)) end
  return nil
end

-- Exactly one of Prompt, ImageBase64, ImageUrl (a Sketch takes an image, and a prompt besides).
-- Types are checked already. When none is given the unknown fields are named (prompt = ... was
-- caught as a typo; a field far from every name may still be the user's idea of one).
local function check_inputs(kind, p, sketch)
  local url = p.ImageUrl
  if type(url) == "table" then url = url.Url end
  local image = (p.ImageBase64 ~= nil and 1 or 0) + (url ~= nil and 1 or 0)
  if image > 1 then return bad("ImageBase64/ImageUrl", "give one image, not both") end
  if sketch then
    if image == 0 then return bad("ImageBase64/ImageUrl", "a Sketch needs an image (and may add a Prompt)") end
  elseif image + (p.Prompt ~= nil and 1 or 0) ~= 1 then
    local rule = "give exactly one of them"
    local unknown = image == 0 and unknown_fields(kind, p) or {}
    if #unknown > 0 then
      rule = ("%s; got none (unknown field%s '%s'; %s)"):format(rule, #unknown > 1 and "s" or "",
        table.concat(unknown, "', '"), field_list(kind))
    end
    return bad("Prompt/ImageBase64/ImageUrl", rule)
  end
  if p.ImageBase64 then
    if p.ImageBase64:match("^data:") then
      return bad("ImageBase64", "is raw base64 without a data: prefix (a data URI goes in ImageUrl)")
    end
    local size = decoded_size(p.ImageBase64)
    if size > 6 * MB then return bad("ImageBase64", ("at most 6 MB of image, got %.1f MB"):format(size / MB)) end
  end
  return nil
end

local function check_pro(p, limit)
  local te = check_names_and_types("pro", p)
  if te then return te end
  local model = p.Model or "3.0"
  if p.Model ~= nil and not one_of(p.Model, PRO.models) then
    return bad("Model", "one of " .. join(PRO.models) .. " (a string), got " .. tostring(p.Model))
  end
  local gen = p.GenerateType or "Normal"
  if p.GenerateType ~= nil and not one_of(p.GenerateType, PRO.generate) then
    return bad("GenerateType", "one of " .. join(PRO.generate) .. " (case matters), got " .. tostring(p.GenerateType))
  end
  if model == "3.1" and (gen == "LowPoly" or gen == "Sketch") then
    return bad("GenerateType", gen .. " is not available with Model 3.1")
  end
  local e = check_prompt(p, limit or 1024) or check_inputs("pro", p, gen == "Sketch")
  if e then return e end
  if p.FaceCount ~= nil and not (is_int(p.FaceCount) and p.FaceCount >= 3000 and p.FaceCount <= 1500000) then
    return bad("FaceCount", "an integer in [3000, 1500000], got " .. tostring(p.FaceCount))
  end
  if p.PolygonType ~= nil and not one_of(p.PolygonType, PRO.polygon) then
    return bad("PolygonType", "one of " .. join(PRO.polygon) .. ", got " .. tostring(p.PolygonType))
  end
  if p.ResultFormat ~= nil and not one_of(p.ResultFormat, PRO.formats) then
    return bad("ResultFormat", "one of " .. join(PRO.formats) .. " for Pro, got " .. tostring(p.ResultFormat))
  end
  local views = p.MultiViewImages
  if views ~= nil then
    if p.ImageBase64 == nil and p.ImageUrl == nil then
      return bad("MultiViewImages", "needs the front view as ImageBase64 or ImageUrl")
    end
    local seen, total = {}, p.ImageBase64 and #p.ImageBase64 or 0
    for i, v in ipairs(views) do
      local field = ("MultiViewImages[%d]"):format(i)
      if type(v) ~= "table" then return bad(field, "must be a table {ViewType, ViewImageUrl|ViewImageBase64}") end
      if type(v.ViewType) ~= "string" then return bad(field .. ".ViewType", "must be a string, got " .. given(v.ViewType)) end
      if not one_of(v.ViewType, PRO.views) then
        return bad(field .. ".ViewType", "one of " .. join(PRO.views) .. ", got " .. tostring(v.ViewType))
      end
      if PRO.views_31[v.ViewType] and model ~= "3.1" then
        return bad(field .. ".ViewType", v.ViewType .. " needs Model 3.1")
      end
      if seen[v.ViewType] then return bad(field .. ".ViewType", "each view once; " .. v.ViewType .. " repeats") end
      seen[v.ViewType] = true
      if type(v.ViewImageUrl) ~= "string" and type(v.ViewImageBase64) ~= "string" then
        return bad(field, "needs ViewImageUrl or ViewImageBase64")
      end
      total = total + (type(v.ViewImageBase64) == "string" and #v.ViewImageBase64 or 0)
    end
    if total > 8 * MB then return bad("MultiViewImages", "the images together at most 8 MB encoded") end
  end
  return nil
end

local function check_rapid(p, limit)
  local e = check_names_and_types("rapid", p) or check_prompt(p, limit or 200) or check_inputs("rapid", p, false)
  if e then return e end
  if p.ResultFormat ~= nil and not one_of(p.ResultFormat, RAPID_FORMATS) then
    return bad("ResultFormat", "one of " .. join(RAPID_FORMATS) .. " for Rapid, got " .. tostring(p.ResultFormat))
  end
  if p.EnableGeometry == true and p.ResultFormat == "OBJ" then
    return bad("ResultFormat", "OBJ is not available with EnableGeometry")
  end
  return nil
end

local CHECKS = { pro = check_pro, rapid = check_rapid }

--- Checks params for a job of `kind` ("pro", "rapid"; other kinds are left to the service).
-- `prompt_limits` (optional): a door's own Prompt limit per kind, in UTF-8 characters (TokenHub's
-- Express takes 1024 where API 3.0's Rapid takes 200). Returns nil when nothing is wrong, else
-- { field = ..., message = ... }.
local function check(kind, params, prompt_limits)
  local f = CHECKS[kind]
  if not f then return nil end
  return f(params, prompt_limits and prompt_limits[kind])
end

--- A JobId as a string: a non-empty string as it is, or a whole number (0 to 2^53, exact in a
-- double) in decimal. nil for anything else (1e400 must never become "inf", nor 2.5 "2" or "3").
local function job_id(id)
  if type(id) == "string" then return id ~= "" and id or nil end
  if type(id) == "number" and id >= 0 and id <= 2 ^ 53 and id % 1 == 0 then return ("%.0f"):format(id) end
  return nil
end

--- The JobId of a job table or of a bare JobId given by the caller; anything else is the caller's
-- mistake and raises (at `level`, default the caller of the public method that calls this).
local function job_id_of(job, what, level)
  local id = job_id(type(job) == "table" and job.JobId or job)
  if not id then
    error(what .. ": expects a job table (with JobId) or a JobId (a string, or a whole number)", level or 3)
  end
  return id
end

--- True for a URL whose host is this machine (127.0.0.0/8, ::1, localhost): where plain http://
-- is allowed without allow_http (the client) or --allow-http (the command line).
local function loopback(url)
  local host = url:match("^%a+://%[([^%]]+)%]") or url:match("^%a+://([^/:?#]+)") or ""
  host = host:lower()
  return host == "localhost" or host == "::1" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end

return {
  check = check,
  utf8_length = utf8_length,
  job_id = job_id,
  job_id_of = job_id_of,
  loopback = loopback,
  pro = PRO,                        -- the service's values, for the command line (read only)
  rapid_formats = RAPID_FORMATS,
}
