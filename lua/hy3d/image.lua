--- Image inputs: a local PNG, JPEG or WebP checked against the service's limits (format, pixel
-- size from the header, bytes) and encoded as the API wants it (base64, by OpenSSL in the core),
-- and the MultiViewImages list of a job's other views.
local core = require "hy3d.core"
local errors = require "hy3d.error"
local check_options = require("hy3d.options").check_options

local open = io.open
local MB = 1024 * 1024

-- The limits of the reference (§5.3, §8): one image (ImageBase64), each side 128 to 5000 pixels,
-- and multi-view images, each side strictly over 128 and under 5000 (the reference words the two
-- differently: ">=128 and <=5000" against ">128 and <5000"), so 129 to 4999.
local SINGLE = { formats = { "png", "jpeg", "webp" }, min_side = 128, max_side = 5000, max_bytes = 6 * MB }
local VIEW = { formats = { "png", "jpeg" }, min_side = 129, max_side = 4999, max_bytes = 6 * MB }

-- The views MultiViewImages takes, in the order they are sent; the last four need Model "3.1".
local VIEW_TYPES = { "left", "right", "back", "top", "bottom", "left_front", "right_front" }

local OPTION_TYPES = { formats = "table", min_side = "number", max_side = "number", max_bytes = "number" }

local function invalid(code, message, path)
  return errors.new { kind = "invalid", code = code, message = message, path = path }
end

-- Reads a file of at most `limit` bytes. Returns its bytes or nil, err.
local function read_image(path, limit)
  local f, oerr = open(path, "rb")
  if not f then return nil, invalid("IMAGE_UNREADABLE", "cannot read the image: " .. tostring(oerr), path) end
  local size = f:seek("end")
  if size and size > limit then
    f:close()
    return nil, invalid("IMAGE_TOO_BIG", ("%s is %d bytes; the service takes at most %d (%.1f MB)")
      :format(path, size, limit, limit / MB), path)
  end
  f:seek("set")
  local data = f:read("*a")
  f:close()
  if not data then return nil, invalid("IMAGE_UNREADABLE", "cannot read the image " .. path, path) end
  return data
end

-- Checks one image against limits; `view` names the view it is for (a multi-view image, whose
-- side limits are exclusive, and are said so). Returns base64, info or nil, err.
local function encode(path, limits, view)
  local data, err = read_image(path, limits.max_bytes)
  if not data then return nil, err end
  local format, width, height = core.image_info(data)
  if not format then return nil, invalid("NOT_AN_IMAGE", path .. " is " .. width, path) end
  local allowed = false
  for _, f in ipairs(limits.formats) do
    if f == format or (f == "jpg" and format == "jpeg") then allowed = true end
  end
  if not allowed then
    return nil, invalid("IMAGE_FORMAT", ("%s is a %s image; this input takes %s"):format(path, format:upper(),
      table.concat(limits.formats, ", "):upper()), path)
  end
  local small, large = math.min(width, height), math.max(width, height)
  if small < limits.min_side then
    local rule = ("each side must be at least %d"):format(limits.min_side)
    if view then
      rule = ("each side of a view image must be more than %d"):format(limits.min_side - 1)
      if limits.min_side - 1 == SINGLE.min_side then rule = rule .. (" (the main image may be %d)"):format(SINGLE.min_side) end
    end
    return nil, invalid("IMAGE_TOO_SMALL", ("%s is %dx%d pixels; %s"):format(path, width, height, rule), path)
  end
  if large > limits.max_side then
    local rule = ("each side must be at most %d"):format(limits.max_side)
    if view then
      rule = ("each side of a view image must be less than %d"):format(limits.max_side + 1)
      if limits.max_side + 1 == SINGLE.max_side then rule = rule .. (" (the main image may be %d)"):format(SINGLE.max_side) end
    end
    return nil, invalid("IMAGE_TOO_LARGE", ("%s is %dx%d pixels; %s"):format(path, width, height, rule), path)
  end
  return core.base64_encode(data), { format = format, width = width, height = height, bytes = #data, path = path }
end

local function merged(defaults, opts)
  local t = {}
  for k, v in pairs(defaults) do t[k] = v end
  for k, v in pairs(opts) do t[k] = v end
  return t
end

--- Reads a local PNG, JPEG or WebP for ImageBase64: checks the format, each side in pixels
-- (128 to 5000, read from the header) and the size (6 MB). opts overrides a limit: formats,
-- min_side, max_side, max_bytes. Returns the base64 text and {format, width, height, bytes}, or
-- nil and an error of kind "invalid" (IMAGE_UNREADABLE, NOT_AN_IMAGE, IMAGE_FORMAT,
-- IMAGE_TOO_SMALL, IMAGE_TOO_LARGE, IMAGE_TOO_BIG).
local function image(path, opts)
  if type(path) ~= "string" or path == "" then error("hy3d.image: expects the path of an image file", 2) end
  return encode(path, merged(SINGLE, check_options("hy3d.image", opts, OPTION_TYPES, 2)))
end

--- Builds MultiViewImages from a table of view type -> image: { left = "l.png", back = "b.jpg",
-- right = "https://..." }. Paths are checked (PNG or JPEG, each side over 128 and under 5000
-- pixels, 6 MB in all) and sent as ViewImageBase64; http(s) URLs as ViewImageUrl. Views: left,
-- right, back, and with Model "3.1" also top, bottom, left_front, right_front. opts overrides the
-- limits as in hy3d.image (max_bytes is the total). Returns the list or nil, err.
local function views(map, opts)
  if type(map) ~= "table" then error("hy3d.views: expects a table such as { left = \"left.png\" }", 2) end
  local limits = merged(VIEW, check_options("hy3d.views", opts, OPTION_TYPES, 2))
  local known = {}
  for _, v in ipairs(VIEW_TYPES) do known[v] = true end
  for k, v in pairs(map) do
    if not known[k] then
      local hint = k == "front" and " (the front view is the job's ImageBase64 or ImageUrl)" or ""
      return nil, invalid("VIEW_TYPE", ("unknown view %q%s; views are %s"):format(tostring(k), hint,
        table.concat(VIEW_TYPES, ", ")))
    end
    if type(v) ~= "string" or v == "" then error("hy3d.views: each view must be a path or an http(s) URL", 2) end
  end
  local list, total = {}, 0
  for _, view in ipairs(VIEW_TYPES) do
    local src = map[view]
    if src and src:match("^https?://") then
      list[#list + 1] = { ViewType = view, ViewImageUrl = src }
    elseif src then
      local b64, info = encode(src, limits, view)
      if not b64 then
        info.message = view .. " view: " .. tostring(info.message)   -- which of the views it is
        return nil, info
      end
      total = total + info.bytes
      if total > limits.max_bytes then
        return nil, invalid("IMAGE_TOO_BIG", ("%s view: the view images add up to more than %d bytes (%.1f MB)")
          :format(view, limits.max_bytes, limits.max_bytes / MB), src)
      end
      list[#list + 1] = { ViewType = view, ViewImageBase64 = b64 }
    end
  end
  return list
end

return {
  image = image,
  views = views,
  limits = { single = SINGLE, view = VIEW },
  view_types = VIEW_TYPES,
}
