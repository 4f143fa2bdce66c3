--- Result files for hy3d-sandbox. A job's prompt (or image) picks a procedural shape — a chair or
-- table built from boxes, or a sphere, torus, cylinder or cone turned on a lathe — tessellated to
-- about the requested FaceCount; this module writes that mesh in every format the sandbox serves:
-- glTF 2.0 binary (GLB, texture embedded), an OBJ zip (obj + mtl + texture, as the service
-- delivers OBJ), binary STL, ASCII FBX 7.4, USDZ (one usda stage), PNG and GIF previews, and an
-- MP4 *placeholder* (an ISO-BMFF file with ftyp/free/mdat boxes and no track: not playable video,
-- since nothing here can encode H.264). `new` gives a cache object that generates each
-- (parameters, file) pair once. Everything is deterministic; compression and CRC-32 come from
-- lua-zlib. The older one-chair functions (mesh, glb, obj, stl, png, zip, preview, build) remain.
local cjson = require("cjson").new()
local zlib = require "zlib"

local pack, unpack, concat, rep, format = string.pack, string.unpack, table.concat, string.rep, string.format
local floor, sqrt, sin, cos, pi = math.floor, math.sqrt, math.sin, math.cos, math.pi
local max, min, huge = math.max, math.min, math.huge
local table_unpack = table.unpack

local DEFAULT_FACES = 5000          -- triangles when a job names no FaceCount
local DEFAULT_MAX_FACES = 100000
local MIN_MAX_FACES = 200           -- the coarsest chair has 108 triangles
local PREVIEW_SIZE, GIF_SIZE, TEXTURE_SIZE = 256, 128, 128

-- ===== shapes =====

-- Boxes as {cx, cy, cz, hx, hy, hz}, metres, Y up, front is +Z.
local CHAIR = {
  { 0, 0.45, 0, 0.22, 0.025, 0.22 },            -- seat
  { -0.19, 0.2125, 0.19, 0.025, 0.2125, 0.025 },  -- legs
  { 0.19, 0.2125, 0.19, 0.025, 0.2125, 0.025 },
  { -0.19, 0.2125, -0.19, 0.025, 0.2125, 0.025 },
  { 0.19, 0.2125, -0.19, 0.025, 0.2125, 0.025 },
  { -0.19, 0.75, -0.2, 0.025, 0.275, 0.02 },      -- back posts
  { 0.19, 0.75, -0.2, 0.025, 0.275, 0.02 },
  { 0, 0.95, -0.2, 0.22, 0.07, 0.02 },            -- back rail
  { 0, 0.72, -0.2, 0.17, 0.03, 0.015 },           -- back slat
}

local TABLE = {
  { 0, 0.74, 0, 0.6, 0.03, 0.4 },                 -- top
  { -0.54, 0.355, 0.34, 0.03, 0.355, 0.03 },      -- legs
  { 0.54, 0.355, 0.34, 0.03, 0.355, 0.03 },
  { -0.54, 0.355, -0.34, 0.03, 0.355, 0.03 },
  { 0.54, 0.355, -0.34, 0.03, 0.355, 0.03 },
}

-- The six faces of a unit box: normal and four corners (counter-clockwise seen from outside).
local FACES = {
  { { 1, 0, 0 }, { { 1, -1, 1 }, { 1, -1, -1 }, { 1, 1, -1 }, { 1, 1, 1 } } },
  { { -1, 0, 0 }, { { -1, -1, -1 }, { -1, -1, 1 }, { -1, 1, 1 }, { -1, 1, -1 } } },
  { { 0, 1, 0 }, { { -1, 1, 1 }, { 1, 1, 1 }, { 1, 1, -1 }, { -1, 1, -1 } } },
  { { 0, -1, 0 }, { { -1, -1, -1 }, { 1, -1, -1 }, { 1, -1, 1 }, { -1, -1, 1 } } },
  { { 0, 0, 1 }, { { -1, -1, 1 }, { 1, -1, 1 }, { 1, 1, 1 }, { -1, 1, 1 } } },
  { { 0, 0, -1 }, { { 1, -1, -1 }, { -1, -1, -1 }, { -1, 1, -1 }, { 1, 1, -1 } } },
}

-- Surfaces of revolution about +Y: `around` is the circumference that sets the slice count, and
-- each strip is a profile curve t -> r, y, normal_r, normal_y (t in 0..1) of arc length `len`,
-- traversed with the solid on its left so triangles wind counter-clockwise from outside.
-- Strips meet at creases (a cylinder's rims), so each gets its own vertices.
local function ball(radius)
  return { around = 2 * pi * radius, strips = { { len = pi * radius, min = 2, f = function(t)
    local a = pi * t
    return radius * sin(a), radius - radius * cos(a), sin(a), -cos(a)
  end } } }
end

local function ring(major, minor)
  return { around = 2 * pi * major, strips = { { len = 2 * pi * minor, min = 3, f = function(t)
    local a = 2 * pi * t
    return major + minor * cos(a), minor + minor * sin(a), cos(a), sin(a)
  end } } }
end

local function disc(radius, y, up)
  return { len = radius, min = 1, f = function(t)
    if up then return radius * (1 - t), y, 0, 1 end
    return radius * t, y, 0, -1
  end }
end

local function can(radius, height)
  return { around = 2 * pi * radius, strips = {
    disc(radius, 0, false),
    { len = height, min = 1, f = function(t) return radius, height * t, 1, 0 end },
    disc(radius, height, true),
  } }
end

local function cone(radius, height)
  local slant = sqrt(radius * radius + height * height)
  return { around = 2 * pi * radius, strips = {
    disc(radius, 0, false),
    { len = slant, min = 1, f = function(t)
      return radius * (1 - t), height * t, height / slant, radius / slant
    end },
  } }
end

-- Shape name -> geometry ({boxes = ...} or a lathe) and base colour (linear 0..1 RGB).
local SHAPES = {
  chair = { boxes = CHAIR, color = { 0.55, 0.36, 0.2 }, material = "wood" },
  table = { boxes = TABLE, color = { 0.45, 0.29, 0.16 }, material = "wood" },
  box = { boxes = { { 0, 0.4, 0, 0.4, 0.4, 0.4 } }, color = { 0.66, 0.5, 0.3 }, material = "crate" },
  sphere = { lathe = ball(0.5), color = { 0.78, 0.22, 0.18 }, material = "paint" },
  torus = { lathe = ring(0.35, 0.15), color = { 0.86, 0.6, 0.32 }, material = "glaze" },
  cylinder = { lathe = can(0.3, 0.9), color = { 0.3, 0.46, 0.72 }, material = "enamel" },
  cone = { lathe = cone(0.4, 1.0), color = { 0.26, 0.56, 0.3 }, material = "paint" },
}
-- The order a hash picks from (never reorder: it would change every unmatched prompt's shape).
local SHAPE_ORDER = { "chair", "table", "box", "sphere", "torus", "cylinder", "cone" }
local GEOMETRY_COLOR = { 0.8, 0.8, 0.8 }

local KEYWORDS = {
  chair = "chair armchair stool seat throne sofa couch bench",
  table = "table desk",
  sphere = "ball sphere planet head apple orange orb globe moon egg",
  box = "box crate cube house chest block dice cabinet",
  torus = "ring donut doughnut torus tire tyre bagel wheel",
  cylinder = "cup can tower bottle cylinder vase mug pillar barrel candle drum jar",
  cone = "cone tree hat rocket spire funnel pyramid",
}
local WORDS = {}
for shape, words in pairs(KEYWORDS) do
  for w in words:gmatch("%a+") do WORDS[w] = shape end
end
-- Chinese prompts: substrings, earliest match wins (as for English words).
local CJK = {
  { "椅", "chair" }, { "凳", "chair" }, { "沙发", "chair" }, { "桌", "table" }, { "球", "sphere" },
  { "苹果", "sphere" }, { "星球", "sphere" }, { "箱", "box" }, { "盒", "box" }, { "房", "box" },
  { "环", "torus" }, { "圈", "torus" }, { "轮胎", "torus" }, { "杯", "cylinder" }, { "瓶", "cylinder" },
  { "罐", "cylinder" }, { "塔", "cylinder" }, { "树", "cone" }, { "锥", "cone" }, { "帽", "cone" },
}

-- FNV-1a over the first 64 KiB and the length: cheap for a whole image, stable across runs.
local function hash(s)
  local h = 2166136261
  for i = 1, min(#s, 65536) do h = ((h ~ s:byte(i)) * 16777619) & 0xffffffff end
  return (h ~ #s) & 0xffffffff
end

local function pick_shape(text)
  if type(text) ~= "string" or text == "" then return "chair" end
  local best, best_at
  for at, word in text:lower():gmatch("()(%a+)") do
    local shape = WORDS[word] or WORDS[word:gsub("e?s$", "")] or WORDS[word:gsub("s$", "")]
    if shape then best, best_at = shape, at break end
  end
  for _, k in ipairs(CJK) do
    local at = text:find(k[1], 1, true)
    if at and (not best_at or at < best_at) then best, best_at = k[2], at end
  end
  return best or SHAPE_ORDER[hash(text) % #SHAPE_ORDER + 1]
end

-- ===== tessellation =====
-- A shape is tessellated at a density n (cells per metre); the triangle count never falls as n
-- grows, so a binary search finds the n whose count is nearest the target.

local function round(x) return floor(x + 0.5) end

local function box_grid(b, face, n)
  local c = face[2]
  local du, dv = 0, 0
  for k = 1, 3 do
    du = du + ((c[2][k] - c[1][k]) * b[k + 3]) ^ 2
    dv = dv + ((c[4][k] - c[1][k]) * b[k + 3]) ^ 2
  end
  return max(1, round(n * sqrt(du))), max(1, round(n * sqrt(dv)))
end

local function lathe_dims(lathe, n)
  local segments = {}
  for i, s in ipairs(lathe.strips) do segments[i] = max(s.min, round(n * s.len)) end
  return max(3, round(n * lathe.around)), segments
end

local function triangles(shape, n)
  local count = 0
  if shape.boxes then
    for _, b in ipairs(shape.boxes) do
      for _, face in ipairs(FACES) do
        local gu, gv = box_grid(b, face, n)
        count = count + 2 * gu * gv
      end
    end
    return count
  end
  local slices, segments = lathe_dims(shape.lathe, n)
  for i, s in ipairs(shape.lathe.strips) do
    local k = segments[i]
    local r0 = s.f(0)
    for j = 1, k do
      local r1 = s.f(j / k)
      count = count + ((r0 > 1e-9 and r1 > 1e-9) and 2 or (r0 > 1e-9 or r1 > 1e-9) and 1 or 0) * slices
      r0 = r1
    end
  end
  return count
end

-- Meshes are flat arrays: p (x, y, z ...), n (normals), t (u, v ...), idx (0-based triangle corners).
local function add_boxes(m, boxes, n)
  local p, nn, t, idx = m.p, m.n, m.t, m.idx
  for _, b in ipairs(boxes) do
    for _, face in ipairs(FACES) do
      local normal, c = face[1], face[2]
      local gu, gv = box_grid(b, face, n)
      local base = #p // 3
      for j = 0, gv do
        for i = 0, gu do
          local u, v = i / gu, j / gv
          for k = 1, 3 do
            p[#p + 1] = b[k] + (c[1][k] + (c[2][k] - c[1][k]) * u + (c[4][k] - c[1][k]) * v) * b[k + 3]
            nn[#nn + 1] = normal[k]
          end
          local nt = #t
          t[nt + 1], t[nt + 2] = u, v
        end
      end
      for j = 0, gv - 1 do
        for i = 0, gu - 1 do
          local a = base + j * (gu + 1) + i
          local d = a + gu + 1
          local ni = #idx
          idx[ni + 1], idx[ni + 2], idx[ni + 3] = a, a + 1, d + 1
          idx[ni + 4], idx[ni + 5], idx[ni + 6] = a, d + 1, d
        end
      end
    end
  end
end

local function add_lathe(m, lathe, n)
  local p, nn, t, idx = m.p, m.n, m.t, m.idx
  local slices, segments = lathe_dims(lathe, n)
  local cs, sn = {}, {}
  for j = 0, slices do
    local a = 2 * pi * j / slices
    cs[j], sn[j] = cos(a), sin(a)
  end
  cs[slices], sn[slices] = 1, 0
  for si, strip in ipairs(lathe.strips) do
    local k = segments[si]
    local base = #p // 3
    local radius = {}
    for i = 0, k do
      local r, y, nr, ny = strip.f(i / k)
      if r < 1e-9 then r = 0 end
      radius[i] = r
      for j = 0, slices do
        local np = #p
        p[np + 1], p[np + 2], p[np + 3] = r * cs[j], y, r * sn[j]
        nn[np + 1], nn[np + 2], nn[np + 3] = nr * cs[j], ny, nr * sn[j]
        local nt = #t
        t[nt + 1], t[nt + 2] = j / slices, i / k
      end
    end
    for i = 0, k - 1 do
      for j = 0, slices - 1 do
        local a = base + i * (slices + 1) + j
        local b, d = a + 1, a + slices + 1
        local c = d + 1
        local ni = #idx
        if radius[i + 1] > 0 then idx[ni + 1], idx[ni + 2], idx[ni + 3] = a, d, c; ni = ni + 3 end
        if radius[i] > 0 then idx[ni + 1], idx[ni + 2], idx[ni + 3] = a, c, b end
      end
    end
  end
end

-- The density whose triangle count is nearest `target` without passing `cap`.
local function density(shape, target, cap)
  local function count(step) return triangles(shape, step / 16) end
  if count(1) >= target then return 1 / 16 end
  local lo, hi = 1, 2
  while count(hi) <= target do lo, hi = hi, hi * 2 end
  while hi - lo > 1 do                      -- count(lo) <= target < count(hi)
    local mid = (lo + hi) // 2
    if count(mid) <= target then lo = mid else hi = mid end
  end
  local below, above = count(lo), count(hi)
  if above <= cap and above - target < target - below then return hi / 16 end
  return lo / 16
end

local function generate(shape_name, faces, cap)
  local shape = SHAPES[shape_name]
  local n = density(shape, faces, cap)
  local m = { p = {}, n = {}, t = {}, idx = {} }
  if shape.boxes then add_boxes(m, shape.boxes, n) else add_lathe(m, shape.lathe, n) end
  return m
end

-- The older mesh form ({positions = {{x, y, z}...}, normals, uvs, indices}) -> flat arrays.
local function flat(m)
  if m.p then return m end
  local f = { p = {}, n = {}, t = {}, idx = m.indices }
  for i, v in ipairs(m.positions) do
    local normal, uv = m.normals[i], m.uvs[i]
    for k = 1, 3 do
      f.p[3 * (i - 1) + k], f.n[3 * (i - 1) + k] = v[k], normal[k]
    end
    f.t[2 * i - 1], f.t[2 * i] = uv[1], uv[2]
  end
  return f
end

--- Builds the one-chair mesh of older sandboxes (or a mesh of other boxes {cx, cy, cz, hx, hy, hz}):
-- `{positions = {{x, y, z}...}, normals = ..., uvs = {{u, v}...}, indices = {0-based...}}`.
local function mesh(boxes)
  local f = { p = {}, n = {}, t = {}, idx = {} }
  add_boxes(f, boxes or CHAIR, 0)
  local m = { positions = {}, normals = {}, uvs = {}, indices = f.idx }
  for i = 1, #f.p // 3 do
    local k = 3 * (i - 1)
    m.positions[i] = { f.p[k + 1], f.p[k + 2], f.p[k + 3] }
    m.normals[i] = { f.n[k + 1], f.n[k + 2], f.n[k + 3] }
    m.uvs[i] = { f.t[2 * i - 1], f.t[2 * i] }
  end
  return m
end

local function bounds(p)
  local lo, hi = { huge, huge, huge }, { -huge, -huge, -huge }
  for i = 1, #p, 3 do
    for k = 1, 3 do
      local v = p[i + k - 1]
      if v < lo[k] then lo[k] = v end
      if v > hi[k] then hi[k] = v end
    end
  end
  return lo, hi
end

-- ===== binary helpers =====

local function pad(s, to, byte)
  local r = #s % to
  return r == 0 and s or s .. rep(byte, to - r)
end

-- Packs every value of `list` with the one-value format `item` ("f", "I2", ...), many per call.
local function pack_all(item, list)
  local batch = 240
  local whole = "<" .. rep(item, batch)
  local out, n = {}, #list
  for i = 1, n - batch + 1, batch do
    out[#out + 1] = pack(whole, table_unpack(list, i, i + batch - 1))
  end
  local rest = n % batch
  if rest > 0 then out[#out + 1] = pack("<" .. rep(item, rest), table_unpack(list, n - rest + 1, n)) end
  return concat(out)
end

local function crc32(s)
  return (zlib.crc32()(s))
end

local function f32(x)
  return (unpack("<f", pack("<f", x)))
end

-- ===== writers =====

--- A glTF 2.0 binary (GLB) of a mesh: POSITION, NORMAL, TEXCOORD_0 and indices (16-bit while they
-- fit, else 32-bit). opts (all optional): `color` {r, g, b} base colour (default wood), `texture`
-- PNG bytes embedded as the base colour texture, `material` name, `uvs = false` to leave out UVs.
local function glb(m, opts)
  opts = opts or {}
  m = flat(m)
  local nverts = #m.p // 3
  local wide = nverts > 65535                     -- 65535 itself is reserved in 16-bit indices
  local with_uvs = opts.uvs ~= false
  local lo, hi = bounds(m.p)                      -- rounding to float32 keeps the order: min/max stay exact
  for k = 1, 3 do lo[k], hi[k] = f32(lo[k]), f32(hi[k]) end
  local views = { pack_all("f", m.p), pack_all("f", m.n) }
  local attributes = { POSITION = 0, NORMAL = 1 }
  local accessors = {
    { bufferView = 0, componentType = 5126, count = nverts, type = "VEC3", min = "@min@", max = "@max@" },
    { bufferView = 1, componentType = 5126, count = nverts, type = "VEC3" },
  }
  if with_uvs then
    views[#views + 1] = pack_all("f", m.t)
    attributes.TEXCOORD_0 = #accessors
    accessors[#accessors + 1] = { bufferView = #views - 1, componentType = 5126, count = nverts, type = "VEC2" }
  end
  local index_bytes = pack_all(wide and "I4" or "I2", m.idx)
  views[#views + 1] = pad(index_bytes, 4, "\0")
  local indices, index_view = #accessors, #views - 1
  accessors[#accessors + 1] = { bufferView = index_view, componentType = wide and 5125 or 5123,
                                count = #m.idx, type = "SCALAR" }
  local color = opts.color or SHAPES.chair.color
  local material = { name = opts.material or "wood", pbrMetallicRoughness = {
    baseColorFactor = { color[1], color[2], color[3], 1 }, metallicFactor = 0, roughnessFactor = 0.8 } }
  local gltf = {
    asset = { version = "2.0", generator = "hy3d-sandbox" },
    scene = 0,
    scenes = { { nodes = { 0 } } },
    nodes = { { mesh = 0, name = "model" } },
    meshes = { { name = "model", primitives = { {
      attributes = attributes, indices = indices, material = 0, mode = 4,
    } } } },
    materials = { material },
    accessors = accessors,
  }
  if opts.texture and with_uvs then
    views[#views + 1] = pad(opts.texture, 4, "\0")
    gltf.images = { { bufferView = #views - 1, mimeType = "image/png" } }
    gltf.samplers = { { magFilter = 9729, minFilter = 9987, wrapS = 10497, wrapT = 10497 } }
    gltf.textures = { { sampler = 0, source = 0 } }
    material.pbrMetallicRoughness.baseColorFactor = { 1, 1, 1, 1 }
    material.pbrMetallicRoughness.baseColorTexture = { index = 0 }
  end
  local offset, buffer_views = 0, {}
  for i, v in ipairs(views) do
    buffer_views[i] = { buffer = 0, byteOffset = offset, byteLength = #v }
    offset = offset + #v
  end
  for _, a in ipairs(accessors) do
    buffer_views[a.bufferView + 1].target = a.bufferView == index_view and 34963 or 34962
  end
  buffer_views[index_view + 1].byteLength = #index_bytes
  if gltf.images then buffer_views[#views].byteLength = #opts.texture end
  local bin = concat(views)
  gltf.buffers = { { byteLength = #bin } }
  gltf.bufferViews = buffer_views
  -- cjson keeps 14 digits; 17 make POSITION min/max the stored float32 values exactly
  local exact = {
    ['"@min@"'] = format("[%.17g,%.17g,%.17g]", lo[1], lo[2], lo[3]),
    ['"@max@"'] = format("[%.17g,%.17g,%.17g]", hi[1], hi[2], hi[3]),
  }
  local json = pad((cjson.encode(gltf):gsub('"@m%a%a@"', exact)), 4, " ")
  local total = 12 + 8 + #json + 8 + #bin
  return concat {
    pack("<c4I4I4", "glTF", 2, total),
    pack("<I4c4", #json, "JSON"), json,
    pack("<I4c4", #bin, "BIN\0"), bin,
  }
end

--- Wavefront OBJ text (positions, texture coordinates, normals) using `material` (default "wood")
-- from model.mtl.
local function obj(m, material)
  m = flat(m)
  local p, n, t, i = m.p, m.n, m.t, m.idx
  local out = { "# hy3d-sandbox generated mesh\nmtllib model.mtl\no model\n" }
  for k = 1, #p, 3 do out[#out + 1] = format("v %.4f %.4f %.4f\n", p[k], p[k + 1], p[k + 2]) end
  for k = 1, #t, 2 do out[#out + 1] = format("vt %.5g %.5g\n", t[k], t[k + 1]) end
  for k = 1, #n, 3 do out[#out + 1] = format("vn %.4g %.4g %.4g\n", n[k], n[k + 1], n[k + 2]) end
  out[#out + 1] = "usemtl " .. (material or "wood") .. "\n"
  for k = 1, #i, 3 do
    local a, b, c = i[k] + 1, i[k + 1] + 1, i[k + 2] + 1
    out[#out + 1] = format("f %d/%d/%d %d/%d/%d %d/%d/%d\n", a, a, a, b, b, b, c, c, c)
  end
  return concat(out)
end

local MTL = "newmtl wood\nKa 1 1 1\nKd 1 1 1\nKs 0.1 0.1 0.1\nNs 10\nmap_Kd texture.png\n"

local function mtl(material, color, textured)
  if textured then
    return format("newmtl %s\nKa 1 1 1\nKd 1 1 1\nKs 0.1 0.1 0.1\nNs 10\nmap_Kd texture.png\n", material)
  end
  return format("newmtl %s\nKa 1 1 1\nKd %.3f %.3f %.3f\nKs 0.1 0.1 0.1\nNs 10\n", material, color[1], color[2], color[3])
end

--- Binary STL of a mesh (facet normals from the triangles themselves).
local function stl(m)
  m = flat(m)
  local p, i = m.p, m.idx
  local out = { pad("hy3d-sandbox generated mesh", 80, " "), pack("<I4", #i // 3) }
  for k = 1, #i, 3 do
    local a, b, c = 3 * i[k] + 1, 3 * i[k + 1] + 1, 3 * i[k + 2] + 1
    local ax, ay, az = p[a], p[a + 1], p[a + 2]
    local bx, by, bz, cx, cy, cz = p[b], p[b + 1], p[b + 2], p[c], p[c + 1], p[c + 2]
    local ux, uy, uz, vx, vy, vz = bx - ax, by - ay, bz - az, cx - ax, cy - ay, cz - az
    local nx, ny, nz = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx
    local len = sqrt(nx * nx + ny * ny + nz * nz)
    if len > 0 then nx, ny, nz = nx / len, ny / len, nz / len end
    out[#out + 1] = pack("<fff fff fff fff I2", nx, ny, nz, ax, ay, az, bx, by, bz, cx, cy, cz, 0)
  end
  return concat(out)
end

-- Comma-separated numbers, `per_line` to a line (FBX and USDA arrays can be long).
local function number_list(values, fmt, per_line, sep)
  local lines, line = {}, {}
  for k = 1, #values do
    line[#line + 1] = format(fmt, values[k])
    if #line == per_line then lines[#lines + 1] = concat(line, ","); line = {} end
  end
  if #line > 0 then lines[#lines + 1] = concat(line, ",") end
  return concat(lines, sep)
end

local FBX_HEADER = [[
; FBX 7.4.0 project file
; Created by hy3d-sandbox (an offline emulator of Tencent Hunyuan 3D)
; ----------------------------------------------------

FBXHeaderExtension:  {
	FBXHeaderVersion: 1003
	FBXVersion: 7400
	CreationTimeStamp:  {
		Version: 1000
		Year: 2025
		Month: 1
		Day: 1
		Hour: 0
		Minute: 0
		Second: 0
		Millisecond: 0
	}
	Creator: "hy3d-sandbox"
}
GlobalSettings:  {
	Version: 1000
	Properties70:  {
		P: "UpAxis", "int", "Integer", "",1
		P: "UpAxisSign", "int", "Integer", "",1
		P: "FrontAxis", "int", "Integer", "",2
		P: "FrontAxisSign", "int", "Integer", "",1
		P: "CoordAxis", "int", "Integer", "",0
		P: "CoordAxisSign", "int", "Integer", "",1
		P: "OriginalUpAxis", "int", "Integer", "",1
		P: "OriginalUpAxisSign", "int", "Integer", "",1
		P: "UnitScaleFactor", "double", "Number", "",100
		P: "OriginalUnitScaleFactor", "double", "Number", "",100
	}
}

; Documents Description
;------------------------------------------------------------------

Documents:  {
	Count: 1
	Document: 1000000000, "", "Scene" {
		Properties70:  {
			P: "SourceObject", "object", "", ""
			P: "ActiveAnimStackName", "KString", "", "", ""
		}
		RootNode: 0
	}
}

; Document References
;------------------------------------------------------------------

References:  {
}

; Object definitions
;------------------------------------------------------------------

Definitions:  {
	Version: 100
	Count: 4
	ObjectType: "GlobalSettings" {
		Count: 1
	}
	ObjectType: "Model" {
		Count: 1
	}
	ObjectType: "Geometry" {
		Count: 1
	}
	ObjectType: "Material" {
		Count: 1
	}
}

; Object properties
;------------------------------------------------------------------

]]

--- An ASCII FBX 7.4 document: one mesh model (Vertices, PolygonVertexIndex, per-vertex normals
-- and UVs) with a Phong material of `color` (1 unit = 1 metre, Y up).
local function fbx(m, color, material)
  m = flat(m)
  color = color or SHAPES.chair.color
  local corners = {}
  for k = 1, #m.idx do corners[k] = m.idx[k] end
  for k = 3, #corners, 3 do corners[k] = ~corners[k] end     -- a polygon's last corner is -(index + 1)
  local geometry, model, mat = 1000000001, 1000000002, 1000000003
  return concat {
    FBX_HEADER,
    "Objects:  {\n",
    format('\tGeometry: %d, "Geometry::model", "Mesh" {\n', geometry),
    format("\t\tVertices: *%d {\n\t\t\ta: ", #m.p), number_list(m.p, "%.6g", 24, ",\n"), "\n\t\t}\n",
    format("\t\tPolygonVertexIndex: *%d {\n\t\t\ta: ", #corners), number_list(corners, "%d", 32, ",\n"),
    "\n\t\t}\n",
    "\t\tGeometryVersion: 124\n",
    '\t\tLayerElementNormal: 0 {\n\t\t\tVersion: 101\n\t\t\tName: ""\n',
    '\t\t\tMappingInformationType: "ByVertice"\n\t\t\tReferenceInformationType: "Direct"\n',
    format("\t\t\tNormals: *%d {\n\t\t\t\ta: ", #m.n), number_list(m.n, "%.6g", 24, ",\n"), "\n\t\t\t}\n",
    "\t\t}\n",
    '\t\tLayerElementUV: 0 {\n\t\t\tVersion: 101\n\t\t\tName: "UVMap"\n',
    '\t\t\tMappingInformationType: "ByVertice"\n\t\t\tReferenceInformationType: "Direct"\n',
    format("\t\t\tUV: *%d {\n\t\t\t\ta: ", #m.t), number_list(m.t, "%.6g", 24, ",\n"), "\n\t\t\t}\n",
    "\t\t}\n",
    '\t\tLayerElementMaterial: 0 {\n\t\t\tVersion: 101\n\t\t\tName: ""\n',
    '\t\t\tMappingInformationType: "AllSame"\n\t\t\tReferenceInformationType: "IndexToDirect"\n',
    "\t\t\tMaterials: *1 {\n\t\t\t\ta: 0\n\t\t\t}\n\t\t}\n",
    "\t\tLayer: 0 {\n\t\t\tVersion: 100\n",
    '\t\t\tLayerElement:  {\n\t\t\t\tType: "LayerElementNormal"\n\t\t\t\tTypedIndex: 0\n\t\t\t}\n',
    '\t\t\tLayerElement:  {\n\t\t\t\tType: "LayerElementMaterial"\n\t\t\t\tTypedIndex: 0\n\t\t\t}\n',
    '\t\t\tLayerElement:  {\n\t\t\t\tType: "LayerElementUV"\n\t\t\t\tTypedIndex: 0\n\t\t\t}\n',
    "\t\t}\n\t}\n",
    format('\tModel: %d, "Model::model", "Mesh" {\n\t\tVersion: 232\n', model),
    '\t\tProperties70:  {\n\t\t\tP: "DefaultAttributeIndex", "int", "Integer", "",0\n\t\t}\n',
    '\t\tShading: T\n\t\tCulling: "CullingOff"\n\t}\n',
    format('\tMaterial: %d, "Material::%s", "" {\n', mat, material or "wood"),
    '\t\tVersion: 102\n\t\tShadingModel: "phong"\n\t\tMultiLayer: 0\n\t\tProperties70:  {\n',
    format('\t\t\tP: "DiffuseColor", "Color", "", "A",%.4f,%.4f,%.4f\n', color[1], color[2], color[3]),
    '\t\t\tP: "DiffuseFactor", "Number", "", "A",1\n',
    '\t\t\tP: "SpecularColor", "Color", "", "A",0.1,0.1,0.1\n',
    '\t\t\tP: "Shininess", "Number", "", "A",10\n',
    '\t\t\tP: "Opacity", "double", "Number", "",1\n',
    "\t\t}\n\t}\n}\n\n",
    "; Object connections\n;------------------------------------------------------------------\n\n",
    "Connections:  {\n",
    format('\t;Model::model, Model::RootNode\n\tC: "OO",%d,0\n\n', model),
    format('\t;Geometry::model, Model::model\n\tC: "OO",%d,%d\n\n', geometry, model),
    format('\t;Material::%s, Model::model\n\tC: "OO",%d,%d\n}\n', material or "wood", mat, model),
  }
end

-- USD text arrays: tuples "(x, y, z)" of `width` numbers each.
local function usd_tuples(values, width)
  local out = {}
  local fmt = width == 3 and "(%.6g, %.6g, %.6g)" or "(%.6g, %.6g)"
  for k = 1, #values, width do out[#out + 1] = format(fmt, table_unpack(values, k, k + width - 1)) end
  return concat(out, ", ")
end

--- A USD text stage ("#usda 1.0"): one Mesh with points, normals, st and a UsdPreviewSurface of
-- `color` (metres, Y up).
local function usda(m, color, material, with_uvs)
  m = flat(m)
  color = color or SHAPES.chair.color
  material = material or "wood"
  local lo, hi = bounds(m.p)
  local out = {
    '#usda 1.0\n(\n    defaultPrim = "model"\n    doc = "hy3d-sandbox generated mesh"\n',
    '    metersPerUnit = 1\n    upAxis = "Y"\n)\n\n',
    'def Xform "model" (\n    kind = "component"\n)\n{\n',
    '    def Mesh "mesh" (\n        prepend apiSchemas = ["MaterialBindingAPI"]\n    )\n    {\n',
    format("        float3[] extent = [(%.6g, %.6g, %.6g), (%.6g, %.6g, %.6g)]\n", lo[1], lo[2], lo[3], hi[1], hi[2], hi[3]),
    "        int[] faceVertexCounts = [", rep("3", #m.idx // 3, ", "), "]\n",
    "        int[] faceVertexIndices = [", concat(m.idx, ", "), "]\n",
    format("        rel material:binding = </model/Looks/%s>\n", material),
    "        normal3f[] normals = [", usd_tuples(m.n, 3), '] (\n            interpolation = "vertex"\n        )\n',
    "        point3f[] points = [", usd_tuples(m.p, 3), "]\n",
  }
  if with_uvs ~= false then
    out[#out + 1] = "        texCoord2f[] primvars:st = ["
    out[#out + 1] = usd_tuples(m.t, 2)
    out[#out + 1] = '] (\n            interpolation = "vertex"\n        )\n'
  end
  out[#out + 1] = '        uniform token orientation = "rightHanded"\n'
  out[#out + 1] = '        uniform token subdivisionScheme = "none"\n    }\n\n'
  out[#out + 1] = format('    def Scope "Looks"\n    {\n        def Material "%s"\n        {\n', material)
  out[#out + 1] = format("            token outputs:surface.connect = </model/Looks/%s/surface.outputs:surface>\n\n", material)
  out[#out + 1] = '            def Shader "surface"\n            {\n'
  out[#out + 1] = '                uniform token info:id = "UsdPreviewSurface"\n'
  out[#out + 1] = format("                color3f inputs:diffuseColor = (%.4f, %.4f, %.4f)\n", color[1], color[2], color[3])
  out[#out + 1] = "                float inputs:metallic = 0\n                float inputs:roughness = 0.8\n"
  out[#out + 1] = "                token outputs:surface\n            }\n        }\n    }\n}\n"
  return concat(out)
end

--- A PNG (8-bit RGB) from a pixel function f(x, y) -> r, g, b in 0..255.
local function png(w, h, f)
  local rows, char = {}, string.char
  for y = 0, h - 1 do
    local row = { "\0" }
    for x = 0, w - 1 do
      row[#row + 1] = char(f(x, y))
    end
    rows[#rows + 1] = concat(row)
  end
  local function chunk(kind, data)
    return pack(">I4", #data) .. kind .. data .. pack(">I4", crc32(kind .. data))
  end
  return concat {
    "\137PNG\r\n\26\n",
    chunk("IHDR", pack(">I4I4BBBBB", w, h, 8, 2, 0, 0, 0)),
    chunk("IDAT", (zlib.deflate(9)(concat(rows), "finish"))),
    chunk("IEND", ""),
  }
end

local function clamp8(v)
  return max(0, min(255, floor(v + 0.5)))
end

-- A grain texture tinted by `color`.
local function texture(color, size)
  color = color or SHAPES.chair.color
  size = size or 64
  local s = 64 / size
  return png(size, size, function(x, y)
    local grain = 0.5 + 0.5 * sin(x * s * 0.55 + 2.5 * sin(y * s * 0.11))
    local k = 190 + 70 * grain
    return clamp8(color[1] * k), clamp8(color[2] * k), clamp8(color[3] * k)
  end)
end

-- A shaded three-quarter view, framed to the mesh's bounds: z-buffered triangles, one directional
-- light, shading interpolated from the vertex normals. Returns the shade (0.35..1) of each
-- covered pixel, indexed y * size + x + 1 (nil where the background shows).
local function render(m, size)
  m = flat(m)
  local p, nn, idx = m.p, m.n, m.idx
  local yaw, pitch = math.rad(35), math.rad(25)
  local cyaw, syaw, cpitch, spitch = cos(yaw), sin(yaw), cos(pitch), sin(pitch)
  local lo, hi = bounds(p)
  local mx, my, mz = (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2, (lo[3] + hi[3]) / 2
  local radius = sqrt((hi[1] - lo[1]) ^ 2 + (hi[2] - lo[2]) ^ 2 + (hi[3] - lo[3]) ^ 2) / 2
  local scale, half = size * 0.45 / max(radius, 1e-6), size / 2
  local lx, ly, lz = -0.4, 0.8, 0.6
  local ll = sqrt(lx * lx + ly * ly + lz * lz)
  lx, ly, lz = lx / ll, ly / ll, lz / ll
  local X, Y, Z, S = {}, {}, {}, {}
  for v = 0, #p // 3 - 1 do
    local k = 3 * v + 1
    local x0, y0, z0 = p[k] - mx, p[k + 1] - my, p[k + 2] - mz
    local x = x0 * cyaw + z0 * syaw
    local z = -x0 * syaw + z0 * cyaw
    X[v] = half + x * scale
    Y[v] = half - (y0 * cpitch - z * spitch) * scale
    Z[v] = y0 * spitch + z * cpitch
    S[v] = 0.35 + 0.65 * max(0, nn[k] * lx + nn[k + 1] * ly + nn[k + 2] * lz)
  end
  local zbuf, shade = {}, {}
  for t = 1, #idx, 3 do
    local a, b, c = idx[t], idx[t + 1], idx[t + 2]
    local ax, ay, bx, by, cx, cy = X[a], Y[a], X[b], Y[b], X[c], Y[c]
    local area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
    if area ~= 0 then
      local inv = 1 / area
      local az, bz, cz, as, bs, cs = Z[a], Z[b], Z[c], S[a], S[b], S[c]
      local x0, x1 = max(0, floor(min(ax, bx, cx))), min(size - 1, floor(max(ax, bx, cx)))
      local y0, y1 = max(0, floor(min(ay, by, cy))), min(size - 1, floor(max(ay, by, cy)))
      for yy = y0, y1 do
        local py = yy + 0.5
        for xx = x0, x1 do
          local px = xx + 0.5
          local w0 = ((bx - px) * (cy - py) - (by - py) * (cx - px)) * inv
          if w0 >= 0 then
            local w1 = ((cx - px) * (ay - py) - (cy - py) * (ax - px)) * inv
            local w2 = 1 - w0 - w1
            if w1 >= 0 and w2 >= 0 then
              local z = w0 * az + w1 * bz + w2 * cz
              local key = yy * size + xx + 1
              local old = zbuf[key]
              if not old or z > old then
                zbuf[key], shade[key] = z, w0 * as + w1 * bs + w2 * cs
              end
            end
          end
        end
      end
    end
  end
  return shade
end

local function background(y, size)
  return 235 - 40 * y / size
end

-- The rendered view as a PNG, the object in `color`.
local function preview_png(m, size, color)
  size = size or PREVIEW_SIZE
  color = color or SHAPES.chair.color
  local shade = render(m, size)
  local r, g, b = 272 * color[1], 272 * color[2], 272 * color[3]
  return png(size, size, function(x, y)
    local s = shade[y * size + x + 1]
    if s then return clamp8(r * s), clamp8(g * s), clamp8(b * s) end
    local bg = background(y, size)
    return clamp8(bg), clamp8(bg), clamp8(bg + 6)
  end)
end

--- A shaded three-quarter view of a mesh as a PNG of size x size pixels (default 256).
local function preview(m, size)
  return preview_png(m, size)
end

-- GIF89a without LZW compression. The minimum code size is 7, so the 128-entry palette indices
-- are literal codes 0..127, 128 is Clear and 129 End; codes start 8 bits wide, so every code is
-- exactly one byte. A decoder widens codes once its table reaches 256 entries, i.e. after 126
-- codes following a Clear; sending a Clear before every 100 pixels keeps every code at 8 bits,
-- whatever off-by-one a decoder has. The image data is then just the palette indices with a
-- Clear byte every 100, cut into sub-blocks of at most 255 bytes.
local GIF_CLEAR, GIF_END, GIF_RUN = 128, 129, 100
local GIF_BACKGROUND_LEVELS = 32          -- palette 0..31: background greys; 32..127: object shades

--- The rendered view of a mesh as a GIF89a of size x size pixels (default 128), 128 colours, the
-- object in `color` (default wood).
local function gif(m, size, color)
  size = size or GIF_SIZE
  color = color or SHAPES.chair.color
  local shade = render(m, size)
  local palette = {}
  for l = 0, GIF_BACKGROUND_LEVELS - 1 do
    local bg = background((l + 0.5) * size / GIF_BACKGROUND_LEVELS, size)
    palette[#palette + 1] = string.char(clamp8(bg), clamp8(bg), clamp8(bg + 6))
  end
  local levels = 128 - GIF_BACKGROUND_LEVELS
  for l = 0, levels - 1 do
    local s = 0.35 + 0.65 * l / (levels - 1)
    palette[#palette + 1] = string.char(clamp8(272 * color[1] * s), clamp8(272 * color[2] * s),
      clamp8(272 * color[3] * s))
  end
  local codes, run = { GIF_CLEAR }, 0
  for y = 0, size - 1 do
    local bg = min(GIF_BACKGROUND_LEVELS - 1, y * GIF_BACKGROUND_LEVELS // size)
    for x = 0, size - 1 do
      if run == GIF_RUN then codes[#codes + 1] = GIF_CLEAR; run = 0 end
      local s = shade[y * size + x + 1]
      codes[#codes + 1] = s and GIF_BACKGROUND_LEVELS + round((s - 0.35) / 0.65 * (levels - 1)) or bg
      run = run + 1
    end
  end
  codes[#codes + 1] = GIF_END
  local data = pack_all("B", codes)
  local blocks = {}
  for i = 1, #data, 255 do
    local piece = data:sub(i, i + 254)
    blocks[#blocks + 1] = string.char(#piece) .. piece
  end
  return concat {
    "GIF89a", pack("<I2I2BBB", size, size, 0xF6, 0, 0),   -- global palette of 2^(6+1) entries
    concat(palette),
    pack("<BI2I2I2I2B", 0x2C, 0, 0, size, size, 0),      -- image descriptor, no local palette
    "\7", concat(blocks), "\0",
    ";",
  }
end

--- The MP4 placeholder: a well-formed ISO-BMFF file (ftyp isom, a free box saying what it is, an
-- empty mdat) with no movie box: not playable video, since nothing here can encode H.264.
local function mp4()
  local note = "hy3d-sandbox: placeholder, not playable video (the sandbox cannot encode H.264)"
  local brands = pack(">c4I4c4c4c4", "isom", 512, "isom", "iso2", "mp41")
  return concat {
    pack(">I4c4", 8 + #brands, "ftyp"), brands,
    pack(">I4c4", 8 + #note, "free"), note,
    pack(">I4c4", 8, "mdat"),
  }
end

--- A zip archive of {name = ..., data = ...} items, in order: deflated, or with opts.stored every
-- entry stored (method 0) and, with opts.align = N, each entry's data starting at a multiple of N
-- bytes (padding goes in the local header's extra field, as USDZ requires with N = 64).
local function zip(entries, opts)
  opts = opts or {}
  local out, central, offset = {}, {}, 0
  local time, date = 0, ((2025 - 1980) << 9) | (1 << 5) | 1
  local method = opts.stored and 0 or 8
  for _, e in ipairs(entries) do
    local crc = crc32(e.data)
    local packed = opts.stored and e.data or zlib.deflate(6, -15)(e.data, "finish")
    local extra = ""
    if opts.align then
      local gap = (opts.align - (offset + 30 + #e.name) % opts.align) % opts.align
      if gap > 0 and gap < 4 then gap = gap + opts.align end   -- an extra field needs 4 header bytes
      if gap > 0 then extra = pack("<I2I2", 0x1986, gap - 4) .. rep("\0", gap - 4) end
    end
    local head = pack("<I4I2I2I2I2I2I4I4I4I2I2", 0x04034b50, 20, 0, method, time, date, crc,
      #packed, #e.data, #e.name, #extra) .. e.name .. extra
    out[#out + 1] = head
    out[#out + 1] = packed
    central[#central + 1] = pack("<I4I2I2I2I2I2I2I4I4I4I2I2I2I2I2I4I4", 0x02014b50, 20, 20, 0, method,
      time, date, crc, #packed, #e.data, #e.name, 0, 0, 0, 0, 0, offset) .. e.name
    offset = offset + #head + #packed
  end
  local cd = concat(central)
  out[#out + 1] = cd
  out[#out + 1] = pack("<I4I2I2I2I2I4I4I2", 0x06054b50, 0, 0, #entries, #entries, #cd, offset, 0)
  return concat(out)
end

--- Every result file of the one-chair sandbox, generated once: {glb=, zip=, stl=, png=} (binary strings).
local function build()
  local m = mesh()
  return {
    glb = glb(m),
    zip = zip {
      { name = "model.obj", data = obj(m) },
      { name = "model.mtl", data = MTL },
      { name = "texture.png", data = texture() },
    },
    stl = stl(m),
    png = preview(m),
  }
end

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
  build = build,
  mesh = mesh,
  glb = glb,
  obj = obj,
  stl = stl,
  fbx = fbx,
  usda = usda,
  gif = gif,
  mp4 = mp4,
  png = png,
  zip = zip,
  preview = preview,
}
