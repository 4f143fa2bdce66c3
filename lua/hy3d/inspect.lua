--- hy3d.inspect: what a model file holds (GLB, OBJ or its zip, STL, FBX): format, vertices, triangles,
-- bounding box, materials and textures, embedded image sizes, file size, and which post-processing
-- jobs take it. The parsing is Open Asset Import Library's (assimp, Debian's libassimp), through the
-- optional C module hy3d.mesh (src/inspect/hy3d_mesh.c), which is not part of hy3d.core: what no
-- library covers is done here — the format sniffed from the first bytes, the FBX version and GLB
-- header, a truncated GLB or binary STL caught by its own length fields, and image sizes by the
-- core's PNG/JPEG/WebP header reader (core.image_info, as hy3d.image). Version-neutral Lua.
-- @module hy3d.inspect
local core = require "hy3d.core"
local errors = require "hy3d.error"

local open, floor = io.open, math.floor
local byte, sub, find, lower = string.byte, string.sub, string.find, string.lower

local MB = 1024 * 1024
local DEFAULT_MAX_BYTES = 512 * MB       -- the model and every file it opens (MTL, textures), together

-- What the service's post-processing jobs accept (../reference §5.6-5.13, §8): formats, bytes, faces.
-- (`faces` is the triangle count; the service's limits are the mainland's unless marked intl.)
local TAKES = {
  { kind = "rigging", formats = { fbx = true, glb = true }, max_bytes = 60 * MB },
  { kind = "convert", formats = { fbx = true, obj = true, glb = true }, max_bytes = 60 * MB },
  { kind = "part", formats = { fbx = true }, max_bytes = 200 * MB, max_faces = 1500000 },
  { kind = "uv", formats = { fbx = true, obj = true, glb = true }, max_faces = 29999 },
  { kind = "topology", formats = { obj = true, glb = true }, max_bytes = 200 * MB },
  { kind = "texture", formats = { obj = true, glb = true } },
}

local function fail(kind, code, message, path)
  return nil, errors.new { kind = kind, code = code, message = message, path = path }
end

-- Control characters of a file's own strings (names, paths) made visible.
local function clean(s)
  if type(s) ~= "string" then return nil end
  return (s:gsub("%c", "?"))
end

local function u32(s, at)
  local a, b, c, d = byte(s, at, at + 3)
  if not d then return nil end
  return a + b * 256 + c * 65536 + d * 16777216
end

-- The format from the first bytes (and the file size); the extension only for OBJ, which has no magic.
-- Returns format, encoding, version, or nil and why.
local function sniff(head, size, path)
  if sub(head, 1, 4) == "glTF" then
    local total = u32(head, 9)
    if not total or total ~= size then
      return nil, ("a truncated GLB: its header says %s bytes, the file has %d"):format(tostring(total), size)
    end
    return "glb", "binary", u32(head, 5)
  end
  if sub(head, 1, 18) == "Kaydara FBX Binary" then
    return "fbx", "binary", u32(head, 24)
  end
  local fbx = head:match("^[^\n]*FBX (%d+)%.(%d+)")
  if fbx or find(head, "^%s*;%s*FBX") or find(head, "FBXHeaderExtension", 1, true) then
    local major, minor = head:match("FBX (%d+)%.(%d+)")
    return "fbx", "ascii", major and tonumber(major) * 1000 + tonumber(minor) * 100 or nil
  end
  if sub(head, 1, 4) == "PK\3\4" then return "zip" end
  local n = size >= 84 and u32(head, 81)
  if n and 84 + 50 * n == size then return "stl", "binary" end     -- (a binary header may start "solid" too)
  if find(lower(sub(head, 1, 5)), "^solid") then return "stl", "ascii" end
  local ext = lower(path:match("%.([%w]+)$") or "")
  if ext == "stl" then
    return nil, ("a truncated binary STL: %s triangles need %s bytes, the file has %d"):format(tostring(n or "?"),
      n and tostring(84 + 50 * n) or "84+", size)
  end
  if ext == "obj" then return "obj", "ascii" end
  if ext == "gltf" then return "gltf", "ascii" end
  return nil, "not a GLB, glTF, OBJ (or its zip), STL or FBX file"
end

-- An image's format and size from its first bytes: { format, width, height } or nil.
local function image_size(head)
  if type(head) ~= "string" then return nil end
  local format, width, height = core.image_info(head)
  if not format then return nil end
  return format, width, height
end

local function fits(info)
  local list = {}
  for _, t in ipairs(TAKES) do
    local why
    if not t.formats[info.format] then
      local names = {}
      for f in pairs(t.formats) do names[#names + 1] = f:upper() end
      table.sort(names)
      why = "takes " .. table.concat(names, ", ")
    elseif t.max_bytes and info.bytes > t.max_bytes then
      why = ("over %d MB"):format(t.max_bytes / MB)
    elseif t.max_faces and not info.triangles then
      why = ("up to %d faces, and the count is unknown"):format(t.max_faces)
    elseif t.max_faces and info.triangles > t.max_faces then
      why = ("over %d faces"):format(t.max_faces)
    end
    list[#list + 1] = { kind = t.kind, ok = why == nil, why = why }
  end
  return list
end

local function vec(v)
  return { v[1], v[2], v[3] }
end

-- The reader's summary in hy3d.inspect's words.
local function summary(info, s)
  info.vertices, info.triangles, info.faces = s.vertices, s.triangles, s.faces
  info.meshes, info.bones, info.animations = s.meshes, s.bones, s.animations
  info.incomplete = s.incomplete or nil
  if s.bbox then
    local lo, hi = s.bbox.min, s.bbox.max
    info.bbox = { min = vec(lo), max = vec(hi), size = { hi[1] - lo[1], hi[2] - lo[2], hi[3] - lo[3] } }
  end
  info.images = {}
  for i, t in ipairs(s.textures or {}) do
    local img = { index = i, bytes = t.bytes, name = clean(t.name), format = t.format, width = t.width,
                  height = t.height }
    local format, width, height = image_size(t.head)
    if format then img.format, img.width, img.height = format, width, height
    elseif not img.format then img.format = clean(t.hint) ~= "" and clean(t.hint) or nil end
    info.images[i] = img
  end
  info.materials = {}
  for i, m in ipairs(s.materials or {}) do
    local textures = {}
    for k, t in ipairs(m.textures or {}) do
      local tex = { type = t.type, path = clean(t.path), embedded = t.embedded }
      local img = t.embedded and info.images[t.embedded]
      if img then
        tex.format, tex.width, tex.height = img.format, img.width, img.height
      else
        local format, width, height = image_size(t.head)
        if format then tex.format, tex.width, tex.height = format, width, height
        else tex.missing = t.head == nil or nil end
      end
      textures[k] = tex
    end
    info.materials[i] = { name = clean(m.name), textures = textures }
  end
  return info
end

--- What a model file holds.
-- Formats: GLB (and glTF), OBJ and the zip the service delivers OBJ in (OBJ + MTL + textures), STL
-- (binary and ASCII), FBX (binary and ASCII). Nothing is written; every file the model names (an
-- MTL, a texture) is read only from the model's own folder or zip.
-- @tparam string path the model file
-- @tparam[opt] table opts `max_bytes`: the most bytes the model and the files it opens may hold
-- together (default 512 MiB; more is the error TOO_LARGE before anything is parsed)
-- @treturn table `{ path, format ("glb", "gltf", "obj", "stl" or "fbx"), encoding ("binary" or "ascii"),
-- version (GLB's container version, FBX's as 7400), container ("zip") with entry and files,
-- bytes, vertices, triangles, faces, meshes, bones, animations, bbox = { min, max, size } (each {x, y, z}),
-- materials = { { name, textures = { { type, path, embedded, format, width, height } } } },
-- images = { { index, format, width, height, bytes } } (embedded), takes = { { kind, ok, why } },
-- parser, parsed }`; a binary FBX the parser cannot read gives its header only: format, encoding,
-- version, bytes, takes, `parsed = false` and `reason`
-- @return nil and an Error: kind "invalid" (BAD_PATH, BAD_MODEL, TOO_LARGE, INSPECT_UNAVAILABLE: hy3d.mesh
-- is not installed) or "io" (FILE_UNREADABLE)
local function inspect(path, opts)
  if type(path) ~= "string" or path == "" then return fail("invalid", "BAD_PATH", "give the model file's path") end
  if find(path, "\0", 1, true) then return fail("invalid", "BAD_PATH", "the path holds a NUL byte") end
  if opts ~= nil and type(opts) ~= "table" then return fail("invalid", "BAD_OPTION", "opts must be a table") end
  local max_bytes = (opts or {}).max_bytes or DEFAULT_MAX_BYTES
  if type(max_bytes) ~= "number" or max_bytes < 1 or max_bytes ~= max_bytes then
    return fail("invalid", "BAD_OPTION", "max_bytes must be a positive number")
  end
  local f, oerr = open(path, "rb")
  if not f then                                     -- io.open's "PATH: reason": the path is err.path, said once
    local why = tostring(oerr)
    if why:sub(1, #path + 2) == path .. ": " then why = why:sub(#path + 3) end
    return fail("io", "FILE_UNREADABLE", "cannot read the model: " .. why, path)
  end
  local size = f:seek("end")
  local head = size and f:seek("set", 0) and f:read(4096)
  f:close()
  if size == 0 then return fail("invalid", "BAD_MODEL", "the file is empty", path) end
  if not head then return fail("io", "FILE_UNREADABLE", "cannot read the model (a folder?)", path) end
  if size > max_bytes then
    return fail("invalid", "TOO_LARGE", ("the file is %d bytes, over max_bytes (%d)"):format(size, max_bytes), path)
  end
  local format, encoding, version = sniff(head, size, path)
  if not format then return fail("invalid", "BAD_MODEL", encoding, path) end
  local ok, mesh = pcall(require, "hy3d.mesh")
  if not ok then
    return fail("invalid", "INSPECT_UNAVAILABLE", "hy3d.mesh is not installed: it needs Open Asset Import "
      .. "Library (Debian/Ubuntu: apt-get install libassimp-dev, then make and make install)", path)
  end
  local zipped = format == "zip"
  local s, code, message = mesh.read(path, floor(max_bytes), zipped)
  local info = { path = path, bytes = size, parser = mesh.parser, parsed = s ~= nil }
  if not s and format == "fbx" and encoding == "binary" and code == "BAD_MODEL" then
    -- the binary header at least (assimp 5.2 cannot read every binary FBX, e.g. the 7.5 files its own
    -- exporter writes): the version and size, no counts
    info.format, info.encoding, info.version, info.reason = format, encoding, version, clean(message)
    info.materials, info.images = {}, {}
    info.takes = fits(info)
    return info
  end
  if not s then return fail("invalid", code or "BAD_MODEL", "cannot read the model: " .. clean(message), path) end
  if zipped then
    info.container, info.entry = "zip", clean(s.entry)
    info.files = {}
    for i, name in ipairs(s.files or {}) do info.files[i] = clean(name) end
    local ext = lower((s.entry or ""):match("%.(%w+)$") or "")
    info.format = ext
    info.encoding = (ext == "obj" or ext == "gltf") and "ascii" or nil
  else
    info.format, info.encoding, info.version = format, encoding, version
  end
  summary(info, s)
  info.takes = fits(info)
  return info
end

return { inspect = inspect, TAKES = TAKES }
