--- The models behind hy3d-sandbox's result files: procedural shapes (boxes, and lathes turned about
-- +Y), the prompt -> shape pick, and tessellation to about a triangle target, as flat arrays.
-- Needs nothing; everything else in hy3d.sandbox.assets builds on it.
local floor, sqrt, sin, cos, pi = math.floor, math.sqrt, math.sin, math.cos, math.pi
local max, min, huge = math.max, math.min, math.huge

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

return {
  shapes = SHAPES,                -- name -> { boxes = ... or lathe = ..., color, material }
  order = SHAPE_ORDER,
  geometry_color = GEOMETRY_COLOR,
  pick_shape = pick_shape,
  triangles = triangles,
  generate = generate,
  bounds = bounds,
}
