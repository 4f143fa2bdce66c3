--- Result files for hy3d-sandbox. A job's prompt (or image) picks a procedural shape — a chair or
-- table built from boxes, or a sphere, torus, cylinder or cone turned on a lathe — tessellated to
-- about the requested FaceCount; this module hands out that mesh in every format the sandbox serves:
-- glTF 2.0 binary (GLB, texture embedded), an OBJ zip (obj + mtl + texture, as the service
-- delivers OBJ), binary STL, ASCII FBX 7.4, USDZ (one usda stage), PNG and GIF previews, and an
-- MP4 *placeholder* (an ISO-BMFF file with ftyp/free/mdat boxes and no track: not playable video,
-- since nothing here can encode H.264). `new` gives a cache object that generates each
-- (parameters, file) pair once. Everything is deterministic; compression and CRC-32 come from
-- lua-zlib. The pipeline, one module per stage, dependencies only downward:
--   init (describe, mesh and file cache) -> writers (glb/obj/mtl/stl/fbx/usda),
--   raster (png/texture/render/gif), pack (binary helpers, zip, mp4) -> mesh (shapes, tessellation).
local mesh = require "hy3d.sandbox.assets.mesh"
local writers = require "hy3d.sandbox.assets.writers"
local raster = require "hy3d.sandbox.assets.raster"
local packing = require "hy3d.sandbox.assets.pack"

local format = string.format
local floor, min, huge = math.floor, math.min, math.huge
local SHAPES, SHAPE_ORDER, GEOMETRY_COLOR = mesh.shapes, mesh.order, mesh.geometry_color
local pick_shape, generate = mesh.pick_shape, mesh.generate
local glb, obj, mtl, stl, fbx, usda = writers.glb, writers.obj, writers.mtl, writers.stl, writers.fbx, writers.usda
local texture, preview_png, gif = raster.texture, raster.preview, raster.gif
local zip, mp4 = packing.zip, packing.mp4

local DEFAULT_FACES = 5000          -- triangles when a job names no FaceCount
local DEFAULT_MAX_FACES = 100000
local MIN_MAX_FACES = 200           -- the coarsest chair has 108 triangles
local PREVIEW_SIZE, GIF_SIZE, TEXTURE_SIZE = raster.PREVIEW_SIZE, raster.GIF_SIZE, 128

-- ===== per-job files with a cache =====

-- A least-recently-used store bounded by entry count and total size.
local function lru(max_entries, max_bytes)
  return { items = {}, count = 0, bytes = 0, tick = 0, max_entries = max_entries, max_bytes = max_bytes }
end

local function lru_get(store, key)
  local item = store.items[key]
  if item then
    store.tick = store.tick + 1
    item.used = store.tick
    return item.value
  end
end

local function lru_put(store, key, value, size)
  if size > store.max_bytes then return end
  local old = store.items[key]
  if old then
    store.items[key] = nil
    store.count, store.bytes = store.count - 1, store.bytes - old.size
  end
  while store.count >= store.max_entries or store.bytes + size > store.max_bytes do
    local oldest, oldest_key
    for k, item in pairs(store.items) do
      if not oldest or item.used < oldest.used then oldest, oldest_key = item, k end
    end
    store.items[oldest_key] = nil
    store.count, store.bytes = store.count - 1, store.bytes - oldest.size
  end
  store.tick = store.tick + 1
  store.items[key] = { value = value, size = size, used = store.tick }
  store.count, store.bytes = store.count + 1, store.bytes + size
end

local Assets = {}
Assets.__index = Assets

local function look(desc)
  local shape = SHAPES[desc.shape]
  local color = desc.geometry and GEOMETRY_COLOR or shape.color
  local material = desc.geometry and "default" or shape.material
  return color, material, not desc.geometry
end

-- name -> content type and builder(self, desc, mesh) -> body (nil: not served for this desc).
local FILES = {
  ["model.glb"] = { "model/gltf-binary", function(self, desc, m)
    local color, material, textured = look(desc)
    return glb(m, { color = color, material = material, uvs = textured,
                    texture = textured and self:file(desc, "texture.png") or nil })
  end },
  ["model.obj"] = { "model/obj", function(_, desc, m)
    local _, material = look(desc)
    return obj(m, material)
  end },
  ["model.mtl"] = { "model/mtl", function(_, desc)
    local color, material, textured = look(desc)
    return mtl(material, color, textured)
  end },
  ["model.zip"] = { "application/zip", function(self, desc)
    local entries = {
      { name = "model.obj", data = self:file(desc, "model.obj") },
      { name = "model.mtl", data = self:file(desc, "model.mtl") },
    }
    if not desc.geometry then entries[3] = { name = "texture.png", data = self:file(desc, "texture.png") } end
    return zip(entries)
  end },
  ["model.stl"] = { "model/stl", function(_, _, m) return stl(m) end },
  ["model.fbx"] = { "application/octet-stream", function(_, desc, m)
    local color, material = look(desc)
    return fbx(m, color, material)
  end },
  ["model.usdz"] = { "model/vnd.usdz+zip", function(_, desc, m)
    local color, material, textured = look(desc)
    return zip({ { name = "model.usda", data = usda(m, color, material, textured) } }, { stored = true, align = 64 })
  end },
  ["model.gif"] = { "image/gif", function(_, desc, m) return gif(m, GIF_SIZE, (look(desc))) end },
  ["model.mp4"] = { "video/mp4", function() return mp4() end },
  ["preview.png"] = { "image/png", function(_, desc, m) return preview_png(m, PREVIEW_SIZE, (look(desc))) end },
  ["texture.png"] = { "image/png", function(_, desc)
    if desc.geometry then return nil end
    return texture(SHAPES[desc.shape].color, TEXTURE_SIZE)
  end },
}
-- Files that need no mesh.
local MESHLESS = { ["model.mtl"] = true, ["model.zip"] = true, ["model.mp4"] = true, ["texture.png"] = true }

--- Describes the model a job gets: shape, triangle target, whether it is untextured, cache key.
-- @tparam table params `text` (the prompt, or any string standing for the image; may be nil),
-- `faces` (the requested FaceCount; nil for the default), `geometry` (true: untextured)
-- @treturn table `{ shape = name, faces = target triangles, geometry = bool, key = string }`
function Assets:describe(params)
  params = params or {}
  local faces = tonumber(params.faces)
  faces = faces and faces >= 1 and floor(faces) or DEFAULT_FACES
  faces = min(faces, self.max_faces)
  local shape = pick_shape(params.text)
  local geometry = params.geometry == true
  return { shape = shape, faces = faces, geometry = geometry,
           key = format("%s/%d/%s", shape, faces, geometry and "geometry" or "textured") }
end

--- The mesh for a description (flat arrays: `p` positions, `n` normals, `t` uvs, `idx` 0-based
-- triangle corners), generated once per key while it stays in a two-mesh cache.
function Assets:mesh(desc)
  local m = lru_get(self.meshes, desc.key)
  if not m then
    m = generate(desc.shape, desc.faces, self.max_faces)
    lru_put(self.meshes, desc.key, m, 1)
  end
  return m
end

--- One result file for a described model, generated once and then served from the cache.
-- @tparam table desc a description from `describe`
-- @tparam string name "model.glb", "model.zip", "model.obj", "model.mtl", "model.stl",
-- "model.fbx", "model.usdz", "model.gif", "model.mp4", "preview.png" or "texture.png"
-- @treturn string the file's bytes, and its content type as a second value
-- @return nil for an unknown name (and for texture.png of an untextured model)
function Assets:file(desc, name)
  local spec = FILES[name]
  if not spec or not SHAPES[desc.shape] then return nil end
  local key = desc.key .. "|" .. name
  local body = lru_get(self.files, key)
  if body then
    self.hits = self.hits + 1
    return body, spec[1]
  end
  self.misses = self.misses + 1
  body = spec[2](self, desc, not MESHLESS[name] and self:mesh(desc) or nil)
  if not body then return nil end
  lru_put(self.files, key, body, #body)
  return body, spec[1]
end

--- Cache counters: `{ entries = n, bytes = n, hits = n, misses = n }`.
function Assets:stats()
  return { entries = self.files.count, bytes = self.files.bytes, hits = self.hits, misses = self.misses }
end

local OPTIONS = { max_faces = true, cache_entries = true, cache_bytes = true }

--- A file generator with its own cache.
-- @tparam[opt] table opts `max_faces` (cap on triangles, default 100000, at least 200),
-- `cache_entries` (files kept, default 64), `cache_bytes` (their total size, default 256 MiB)
-- @treturn table an object with `describe`, `file` and `stats`
local function new(opts)
  local o = {}
  for k, v in pairs(opts or {}) do
    if not OPTIONS[k] then error("hy3d.sandbox.assets: unknown option " .. tostring(k), 2) end
    o[k] = math.tointeger(v)                      -- 100000.0 from JSON is fine
    if not o[k] or o[k] < 1 then error(("hy3d.sandbox.assets: %s must be a positive integer"):format(k), 2) end
  end
  local max_faces = o.max_faces or DEFAULT_MAX_FACES
  if max_faces < MIN_MAX_FACES then
    error(("hy3d.sandbox.assets: max_faces must be at least %d"):format(MIN_MAX_FACES), 2)
  end
  return setmetatable({
    max_faces = max_faces,
    files = lru(o.cache_entries or 64, o.cache_bytes or 256 * 1024 * 1024),
    meshes = lru(2, huge),
    hits = 0,
    misses = 0,
  }, Assets)
end

return {
  new = new,
  shapes = SHAPE_ORDER,
  glb = glb,
  obj = obj,
  stl = stl,
  fbx = fbx,
  usda = usda,
  gif = gif,
  mp4 = mp4,
  png = raster.png,
  zip = zip,
  preview = raster.preview,
}
