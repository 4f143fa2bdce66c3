--- The pictures of hy3d-sandbox's result files: PNG encoding, the grain texture, a z-buffered shaded
-- view of a flat mesh, and that view as a PNG preview or an uncompressed GIF89a.
-- Needs hy3d.sandbox.assets.mesh (bounds, the default colour), .pack and lua-zlib.
local zlib = require "zlib"
local mesh = require "hy3d.sandbox.assets.mesh"
local packing = require "hy3d.sandbox.assets.pack"

local pack, concat = string.pack, table.concat
local floor, sqrt, sin, cos = math.floor, math.sqrt, math.sin, math.cos
local max, min = math.max, math.min
local SHAPES, bounds = mesh.shapes, mesh.bounds
local crc32, pack_all = packing.crc32, packing.pack_all

local PREVIEW_SIZE, GIF_SIZE = 256, 128

local function round(x) return floor(x + 0.5) end

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

--- A shaded three-quarter view of a mesh as a PNG of size x size pixels (default 256), the object
-- in `color` (default wood).
local function preview(m, size, color)
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

return {
  PREVIEW_SIZE = PREVIEW_SIZE,
  GIF_SIZE = GIF_SIZE,
  png = png,
  texture = texture,
  render = render,
  preview = preview,
  gif = gif,
}
