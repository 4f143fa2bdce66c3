--- Result files for hy3d-sandbox, generated from one small mesh (a chair built from boxes):
-- a glTF 2.0 binary (GLB), an OBJ zip (obj + mtl + texture, as the service delivers OBJ), a
-- binary STL and a rendered PNG preview. Compression and CRC-32 come from lua-zlib.
local cjson = require "cjson"
local zlib = require "zlib"

local pack, concat, floor = string.pack, table.concat, math.floor
local sqrt, sin, cos, max, min = math.sqrt, math.sin, math.cos, math.max, math.min

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

-- The six faces of a unit box: normal and four corners (counter-clockwise seen from outside).
local FACES = {
  { { 1, 0, 0 }, { { 1, -1, 1 }, { 1, -1, -1 }, { 1, 1, -1 }, { 1, 1, 1 } } },
  { { -1, 0, 0 }, { { -1, -1, -1 }, { -1, -1, 1 }, { -1, 1, 1 }, { -1, 1, -1 } } },
  { { 0, 1, 0 }, { { -1, 1, 1 }, { 1, 1, 1 }, { 1, 1, -1 }, { -1, 1, -1 } } },
  { { 0, -1, 0 }, { { -1, -1, -1 }, { 1, -1, -1 }, { 1, -1, 1 }, { -1, -1, 1 } } },
  { { 0, 0, 1 }, { { -1, -1, 1 }, { 1, -1, 1 }, { 1, 1, 1 }, { -1, 1, 1 } } },
  { { 0, 0, -1 }, { { 1, -1, -1 }, { -1, -1, -1 }, { -1, 1, -1 }, { 1, 1, -1 } } },
}
local UV = { { 0, 0 }, { 1, 0 }, { 1, 1 }, { 0, 1 } }

--- Builds the mesh: flat arrays of positions, normals, uvs (per vertex) and triangle indices (0-based).
local function mesh(boxes)
  local m = { positions = {}, normals = {}, uvs = {}, indices = {} }
  local nv = 0
  for _, b in ipairs(boxes or CHAIR) do
    for _, f in ipairs(FACES) do
      for k, c in ipairs(f[2]) do
        m.positions[#m.positions + 1] = { b[1] + c[1] * b[4], b[2] + c[2] * b[5], b[3] + c[3] * b[6] }
        m.normals[#m.normals + 1] = f[1]
        m.uvs[#m.uvs + 1] = UV[k]
      end
      for _, corner in ipairs { 0, 1, 2, 0, 2, 3 } do
        m.indices[#m.indices + 1] = nv + corner
      end
      nv = nv + 4
    end
  end
  return m
end

local function bounds(points)
  local lo, hi = { math.huge, math.huge, math.huge }, { -math.huge, -math.huge, -math.huge }
  for _, p in ipairs(points) do
    for k = 1, 3 do lo[k], hi[k] = min(lo[k], p[k]), max(hi[k], p[k]) end
  end
  return lo, hi
end

local function pad(s, to, byte)
  local r = #s % to
  return r == 0 and s or s .. string.rep(byte, to - r)
end

--- A glTF 2.0 binary container with POSITION, NORMAL, TEXCOORD_0, indices and a wood material.
local function glb(m)
  local pos, nrm, uv, idx = {}, {}, {}, {}
  for i, p in ipairs(m.positions) do
    -- round through float32 so min/max match the stored values exactly
    local x, y, z = string.unpack("<fff", pack("<fff", p[1], p[2], p[3]))
    pos[i] = { x, y, z }
  end
  for i, p in ipairs(pos) do pos[i] = pack("<fff", p[1], p[2], p[3]) end
  for i, n in ipairs(m.normals) do nrm[i] = pack("<fff", n[1], n[2], n[3]) end
  for i, t in ipairs(m.uvs) do uv[i] = pack("<ff", t[1], t[2]) end
  for i, v in ipairs(m.indices) do idx[i] = pack("<I2", v) end
  local views = { concat(pos), concat(nrm), concat(uv), pad(concat(idx), 4, "\0") }
  local lo, hi = bounds(m.positions)
  for k = 1, 3 do
    lo[k] = (string.unpack("<f", pack("<f", lo[k])))
    hi[k] = (string.unpack("<f", pack("<f", hi[k])))
  end
  local nverts = #m.positions
  local offset, buffer_views = 0, {}
  local targets = { 34962, 34962, 34962, 34963 }
  for i, v in ipairs(views) do
    buffer_views[i] = { buffer = 0, byteOffset = offset, byteLength = #v, target = targets[i] }
    offset = offset + #v
  end
  buffer_views[4].byteLength = #m.indices * 2
  local bin = concat(views)
  local gltf = {
    asset = { version = "2.0", generator = "hy3d-sandbox" },
    scene = 0,
    scenes = { { nodes = { 0 } } },
    nodes = { { mesh = 0, name = "model" } },
    meshes = { { name = "model", primitives = { {
      attributes = { POSITION = 0, NORMAL = 1, TEXCOORD_0 = 2 }, indices = 3, material = 0, mode = 4,
    } } } },
    materials = { { name = "wood", pbrMetallicRoughness = {
      baseColorFactor = { 0.55, 0.36, 0.2, 1 }, metallicFactor = 0, roughnessFactor = 0.8 } } },
    buffers = { { byteLength = #bin } },
    bufferViews = buffer_views,
    accessors = {
      { bufferView = 0, componentType = 5126, count = nverts, type = "VEC3", min = lo, max = hi },
      { bufferView = 1, componentType = 5126, count = nverts, type = "VEC3" },
      { bufferView = 2, componentType = 5126, count = nverts, type = "VEC2" },
      { bufferView = 3, componentType = 5123, count = #m.indices, type = "SCALAR" },
    },
  }
  local json = pad(cjson.encode(gltf), 4, " ")
  local total = 12 + 8 + #json + 8 + #bin
  return concat {
    pack("<c4I4I4", "glTF", 2, total),
    pack("<I4c4", #json, "JSON"), json,
    pack("<I4c4", #bin, "BIN\0"), bin,
  }
end

--- Wavefront OBJ text (with texture coordinates and normals) referring to model.mtl.
local function obj(m)
  local out = { "# hy3d-sandbox generated mesh\nmtllib model.mtl\no model\n" }
  for _, p in ipairs(m.positions) do out[#out + 1] = ("v %.4f %.4f %.4f\n"):format(p[1], p[2], p[3]) end
  for _, t in ipairs(m.uvs) do out[#out + 1] = ("vt %g %g\n"):format(t[1], t[2]) end
  for _, n in ipairs(m.normals) do out[#out + 1] = ("vn %g %g %g\n"):format(n[1], n[2], n[3]) end
  out[#out + 1] = "usemtl wood\n"
  local i = m.indices
  for k = 1, #i, 3 do
    local a, b, c = i[k] + 1, i[k + 1] + 1, i[k + 2] + 1
    out[#out + 1] = ("f %d/%d/%d %d/%d/%d %d/%d/%d\n"):format(a, a, a, b, b, b, c, c, c)
  end
  return concat(out)
end

local MTL = "newmtl wood\nKa 1 1 1\nKd 1 1 1\nKs 0.1 0.1 0.1\nNs 10\nmap_Kd texture.png\n"

--- Binary STL of the mesh.
local function stl(m)
  local out = { pad("hy3d-sandbox generated mesh", 80, " "), pack("<I4", #m.indices // 3) }
  local p, n, i = m.positions, m.normals, m.indices
  for k = 1, #i, 3 do
    local a, b, c = p[i[k] + 1], p[i[k + 1] + 1], p[i[k + 2] + 1]
    local nn = n[i[k] + 1]
    out[#out + 1] = pack("<fff fff fff fff I2", nn[1], nn[2], nn[3],
      a[1], a[2], a[3], b[1], b[2], b[3], c[1], c[2], c[3], 0)
  end
  return concat(out)
end

local function crc32(s)
  return (zlib.crc32()(s))
end

--- A PNG (8-bit RGB) from a pixel function f(x, y) -> r, g, b in 0..255.
local function png(w, h, f)
  local rows = {}
  for y = 0, h - 1 do
    local row = { "\0" }
    for x = 0, w - 1 do
      local r, g, b = f(x, y)
      row[#row + 1] = string.char(r, g, b)
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

--- A wood-grain texture for the OBJ material.
local function texture()
  return png(64, 64, function(x, y)
    local grain = 0.5 + 0.5 * sin(x * 0.55 + 2.5 * sin(y * 0.11))
    return clamp8(120 + 60 * grain), clamp8(78 + 35 * grain), clamp8(40 + 18 * grain)
  end)
end

--- A shaded three-quarter view of the mesh (z-buffered triangles, one directional light).
local function preview(m, size)
  size = size or 256
  local yaw, pitch = math.rad(35), math.rad(-20)
  local cy, sy, cp, sp = cos(yaw), sin(yaw), cos(pitch), sin(pitch)
  local function view(p)
    local x = p[1] * cy + p[3] * sy
    local z = -p[1] * sy + p[3] * cy
    local y = p[2] - 0.5
    return x, y * cp - z * sp, y * sp + z * cp
  end
  local light = { -0.4, 0.8, 0.6 }
  local ll = sqrt(light[1] ^ 2 + light[2] ^ 2 + light[3] ^ 2)
  local zbuf, color = {}, {}
  local scale, half = size * 0.75, size / 2
  local i, p, n = m.indices, m.positions, m.normals
  for k = 1, #i, 3 do
    local pts = {}
    for j = 0, 2 do
      local x, y, z = view(p[i[k + j] + 1])
      pts[j + 1] = { half + x * scale, half - y * scale, z }
    end
    local nn = n[i[k] + 1]
    local shade = 0.35 + 0.65 * max(0, (nn[1] * light[1] + nn[2] * light[2] + nn[3] * light[3]) / ll)
    local a, b, c = pts[1], pts[2], pts[3]
    local area = (b[1] - a[1]) * (c[2] - a[2]) - (b[2] - a[2]) * (c[1] - a[1])
    if area ~= 0 then
      local x0, x1 = max(0, floor(min(a[1], b[1], c[1]))), min(size - 1, floor(max(a[1], b[1], c[1])) + 1)
      local y0, y1 = max(0, floor(min(a[2], b[2], c[2]))), min(size - 1, floor(max(a[2], b[2], c[2])) + 1)
      for yy = y0, y1 do
        for xx = x0, x1 do
          local px, py = xx + 0.5, yy + 0.5
          local w0 = ((b[1] - px) * (c[2] - py) - (b[2] - py) * (c[1] - px)) / area
          local w1 = ((c[1] - px) * (a[2] - py) - (c[2] - py) * (a[1] - px)) / area
          local w2 = 1 - w0 - w1
          if w0 >= 0 and w1 >= 0 and w2 >= 0 then
            local z = w0 * a[3] + w1 * b[3] + w2 * c[3]
            local key = yy * size + xx
            if not zbuf[key] or z > zbuf[key] then
              zbuf[key], color[key] = z, shade
            end
          end
        end
      end
    end
  end
  return png(size, size, function(x, y)
    local s = color[y * size + x]
    if s then return clamp8(150 * s), clamp8(98 * s), clamp8(55 * s) end
    local bg = 235 - 40 * y / size
    return clamp8(bg), clamp8(bg), clamp8(bg + 6)
  end)
end

--- A zip archive (deflated entries) of {name = ..., data = ...} items, in order.
local function zip(entries)
  local out, central, offset = {}, {}, 0
  local time, date = 0, ((2025 - 1980) << 9) | (1 << 5) | 1
  for _, e in ipairs(entries) do
    local crc = crc32(e.data)
    local packed = zlib.deflate(9, -15)(e.data, "finish")
    local head = pack("<I4I2I2I2I2I2I4I4I4I2I2", 0x04034b50, 20, 0, 8, time, date, crc,
      #packed, #e.data, #e.name, 0) .. e.name
    out[#out + 1] = head
    out[#out + 1] = packed
    central[#central + 1] = pack("<I4I2I2I2I2I2I2I4I4I4I2I2I2I2I2I4I4", 0x02014b50, 20, 20, 0, 8,
      time, date, crc, #packed, #e.data, #e.name, 0, 0, 0, 0, 0, offset) .. e.name
    offset = offset + #head + #packed
  end
  local cd = concat(central)
  out[#out + 1] = cd
  out[#out + 1] = pack("<I4I2I2I2I2I4I4I2", 0x06054b50, 0, 0, #entries, #entries, #cd, offset, 0)
  return concat(out)
end

--- Every result file, generated once: {glb=, zip=, stl=, png=} (binary strings).
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

return {
  build = build,
  mesh = mesh,
  glb = glb,
  obj = obj,
  stl = stl,
  png = png,
  zip = zip,
  preview = preview,
}
