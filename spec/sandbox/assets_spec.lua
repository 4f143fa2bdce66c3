-- hy3d.sandbox.assets: per-job procedural models — shape from the prompt, FaceCount honoured,
-- every served format well-formed, a bounded cache, and each stage (mesh, pack, writers, raster) alone.
local assets = require "hy3d.sandbox.assets"
local image = require "hy3d.sandbox.image"
local cjson = require "cjson"
local zlib = require "zlib"
local sandbox = require "spec.support.sandbox"

local unpack = string.unpack

-- Writes bytes to a temporary file, runs `cmd <file>`, removes the file: ok, output.
local function run_on(bytes, cmd)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  local ok, out = sandbox.run(cmd .. " " .. sandbox.shell_quote(path))
  os.remove(path)
  return ok, out
end

-- Checks a GLB's container and returns its glTF JSON, the BIN chunk and the triangle count.
local function parse_glb(glb)
  local magic, version, total = unpack("<c4I4I4", glb)
  assert.equal("glTF", magic)
  assert.equal(2, version)
  assert.equal(#glb, total)
  local jlen, jtype = unpack("<I4c4", glb, 13)
  assert.equal("JSON", jtype)
  assert.equal(0, jlen % 4)
  local gltf = cjson.decode(glb:sub(21, 20 + jlen))
  local blen, btype = unpack("<I4c4", glb, 21 + jlen)
  assert.equal("BIN\0", btype)
  assert.equal(#glb, 20 + jlen + 8 + blen)
  assert.equal(blen, gltf.buffers[1].byteLength)
  assert.equal("2.0", gltf.asset.version)
  assert.is_table(gltf.meshes)
  assert.is_table(gltf.accessors)
  assert.is_table(gltf.bufferViews)
  for _, view in ipairs(gltf.bufferViews) do
    assert.is_true(view.byteOffset + view.byteLength <= blen)
  end
  local prim = gltf.meshes[1].primitives[1]
  local indices = gltf.accessors[prim.indices + 1]
  assert.equal(0, indices.count % 3)
  return gltf, glb:sub(29 + jlen, 28 + jlen + blen), math.tointeger(indices.count // 3)
end

-- Local file headers of a zip, in order: name, method, data offset (0-based), sizes, crc.
local function zip_entries(zip)
  local entries, pos = {}, 1
  while zip:sub(pos, pos + 3) == "PK\3\4" do
    local _, _, flags, method, _, _, crc, csize, usize, nlen, xlen = unpack("<I4I2I2I2I2I2I4I4I4I2I2", zip, pos)
    local name = zip:sub(pos + 30, pos + 29 + nlen)
    local data_at = pos + 30 + nlen + xlen
    entries[#entries + 1] = { name = name, method = method, flags = flags, offset = data_at - 1, crc = crc,
                              csize = csize, usize = usize, data = zip:sub(data_at, data_at + csize - 1) }
    pos = data_at + csize
  end
  return entries
end

local function count_lines(text, pattern)
  local n = 0
  for _ in text:gmatch(pattern) do n = n + 1 end
  return n
end

describe("hy3d.sandbox.assets", function()
  describe("shapes", function()
    it("picks the shape from keywords in the prompt: the first keyword wins, plurals count", function()
      local a = assets.new()
      local cases = {
        ["a small wooden chair"] = "chair", ["three bar STOOLS"] = "chair", ["a kitchen table"] = "table",
        ["a red ball"] = "sphere", ["Planet Earth"] = "sphere", ["an apple"] = "sphere", ["a head"] = "sphere",
        ["a wooden crate"] = "box", ["a cube"] = "box", ["a tiny house"] = "box", ["boxes"] = "box",
        ["a ring"] = "torus", ["a glazed donut"] = "torus", ["old tires"] = "torus", ["a torus"] = "torus",
        ["a coffee cup"] = "cylinder", ["a soda can"] = "cylinder", ["a stone tower"] = "cylinder",
        ["a wine bottle"] = "cylinder", ["a vase"] = "cylinder", ["a cylinder"] = "cylinder",
        ["a pine tree"] = "cone", ["a ball on a chair"] = "sphere", ["a chair with a ball"] = "chair",
        ["一把木头椅子"] = "chair", ["一个红色的球"] = "sphere", ["咖啡杯"] = "cylinder",
        -- whole words only: "can" is not in "candle... scan", "ring" is not in "string"
        ["a string"] = a:describe { text = "a string" }.shape,
      }
      for text, shape in pairs(cases) do
        assert.equal(shape, a:describe { text = text }.shape, text)
      end
      assert.not_equal("torus", a:describe { text = "a string" }.shape)
    end)

    it("is deterministic for prompts without keywords, and spreads them over the shapes", function()
      local a, b = assets.new(), assets.new { max_faces = 5000 }
      local seen = {}
      for i = 1, 60 do
        local text = "mysterious object number " .. i
        local shape = a:describe { text = text }.shape
        assert.equal(shape, b:describe { text = text }.shape)
        assert.equal(shape, a:describe { text = text, faces = 1234, geometry = true }.shape)
        seen[shape] = true
      end
      local kinds = 0
      for _, name in ipairs(assets.shapes) do
        if seen[name] then kinds = kinds + 1 end
      end
      assert.is_true(kinds >= 5, "only " .. kinds .. " shapes")
      assert.equal("chair", a:describe {}.shape)
      local img = string.rep("\255\216\255\224", 5000)
      assert.equal(a:describe { text = img }.shape, b:describe { text = img }.shape)
    end)

    it("describes the target and keys the cache on shape, faces and texturing", function()
      local a = assets.new { max_faces = 20000 }
      local d = a:describe { text = "a chair", faces = 10000 }
      assert.same({ shape = "chair", faces = 10000, geometry = false, key = d.key }, d)
      assert.equal(5000, a:describe { text = "a chair" }.faces)
      assert.equal(20000, a:describe { text = "a chair", faces = 50000 }.faces)
      assert.equal(40, a:describe { text = "a chair", faces = 40.0 }.faces)
      assert.is_true(a:describe { text = "a chair", faces = 10000, geometry = true }.geometry)
      local keys = {}
      for _, p in ipairs { { "chair", 10000, false }, { "chair", 10000, true }, { "chair", 9000, false },
                           { "ball", 10000, false } } do
        keys[a:describe { text = p[1], faces = p[2], geometry = p[3] }.key] = true
      end
      local n = 0
      for _ in pairs(keys) do n = n + 1 end
      assert.equal(4, n)
      assert.equal(d.key, assets.new { max_faces = 20000 }:describe { text = "another chair", faces = 10000 }.key)
    end)

    it("refuses unknown options and caps below the coarsest mesh", function()
      assert.has_error(function() assets.new { max_face = 10 } end)
      assert.has_error(function() assets.new { max_faces = 100 } end)
      assert.has_error(function() assets.new { cache_entries = 0 } end)
      assert.has_error(function() assets.new { cache_bytes = "big" } end)
      assert.has_error(function() assets.new { max_faces = 5000.5 } end)
      assert.equal(5000, assets.new({ max_faces = 5000.0 }):describe({ faces = 9000 }).faces)   -- as JSON decodes it
    end)
  end)

  describe("FaceCount", function()
    it("tessellates to within 25% of the target, every shape", function()
      local a = assets.new { cache_entries = 4 }
      for _, shape in ipairs(assets.shapes) do
        for _, faces in ipairs { 1000, 5000, 40000 } do
          local d = a:describe { text = "a " .. shape, faces = faces }
          assert.equal(shape, d.shape)
          local _, _, triangles = parse_glb(a:file(d, "model.glb"))
          assert.is_true(math.abs(triangles - faces) <= 0.25 * faces,
            ("%s: %d triangles for %d"):format(shape, triangles, faces))
        end
      end
    end)

    it("honours 100000 and never exceeds max_faces", function()
      local a = assets.new { cache_entries = 4 }
      for _, text in ipairs { "a sphere", "a torus", "a cylinder", "a chair" } do
        local d = a:describe { text = text, faces = 100000 }
        local _, _, triangles = parse_glb(a:file(d, "model.glb"))   -- how long it takes: bench/assets.lua
        assert.is_true(triangles <= 100000 and triangles >= 75000, text .. ": " .. triangles)
      end
      local small = assets.new { max_faces = 3000 }
      for _, shape in ipairs(assets.shapes) do
        local d = small:describe { text = shape, faces = 1000000 }
        assert.equal(3000, d.faces)
        local _, _, triangles = parse_glb(small:file(d, "model.glb"))
        assert.is_true(triangles <= 3000 and triangles >= 2250, shape .. ": " .. triangles)
      end
    end)

    it("switches to 32-bit indices past 65535 vertices", function()
      local a = assets.new { max_faces = 300000 }
      local gltf, _, triangles = parse_glb(a:file(a:describe { text = "a ball", faces = 250000 }, "model.glb"))
      assert.is_true(gltf.accessors[1].count > 65535)
      assert.equal(5125, gltf.accessors[gltf.meshes[1].primitives[1].indices + 1].componentType)
      assert.is_true(triangles <= 300000 and math.abs(triangles - 250000) < 0.25 * 250000)
    end)
  end)

  describe("files", function()
    local a, d, glb, gltf, bin, triangles, nverts
    setup(function()
      a = assets.new()
      d = a:describe { text = "a glazed donut", faces = 6000 }
      glb = a:file(d, "model.glb")
      gltf, bin, triangles = parse_glb(glb)
      nverts = math.tointeger(gltf.accessors[1].count)
    end)

    it("GLB: positions, normals, uvs, indices and the embedded texture, all inside the buffer", function()
      local prim = gltf.meshes[1].primitives[1]
      assert.equal(0, prim.attributes.POSITION)
      assert.is_number(prim.attributes.NORMAL)
      assert.is_number(prim.attributes.TEXCOORD_0)
      assert.equal(5123, gltf.accessors[prim.indices + 1].componentType)
      local texture = a:file(d, "texture.png")
      local view = gltf.bufferViews[gltf.images[1].bufferView + 1]
      assert.equal(texture, bin:sub(view.byteOffset + 1, view.byteOffset + view.byteLength))
      assert.equal(0, gltf.materials[1].pbrMetallicRoughness.baseColorTexture.index)
      -- every index refers to a vertex
      local iview = gltf.bufferViews[gltf.accessors[prim.indices + 1].bufferView + 1]
      local top = 0
      for k = 0, triangles * 3 - 1 do
        top = math.max(top, (unpack("<I2", bin, iview.byteOffset + 2 * k + 1)))
      end
      assert.equal(nverts - 1, top)
      -- POSITION min/max are the data's own bounds
      local pview, lo = gltf.bufferViews[1], { math.huge, math.huge, math.huge }
      for v = 0, nverts - 1 do
        for k = 1, 3 do
          lo[k] = math.min(lo[k], (unpack("<f", bin, pview.byteOffset + 12 * v + 4 * (k - 1) + 1)))
        end
      end
      assert.same(lo, gltf.accessors[1].min)
    end)

    it("GLB without texture for geometry-only jobs", function()
      local g = a:describe { text = "a glazed donut", faces = 6000, geometry = true }
      local ggltf = parse_glb(a:file(g, "model.glb"))
      assert.is_nil(ggltf.images)
      assert.is_nil(ggltf.meshes[1].primitives[1].attributes.TEXCOORD_0)
      assert.is_nil(a:file(g, "texture.png"))
    end)

    it("OBJ zip: obj, mtl and texture that unzip accepts", function()
      local zip, ctype = a:file(d, "model.zip")
      assert.equal("application/zip", ctype)
      local ok, out = run_on(zip, "unzip -t")
      assert.is_true(ok, out)
      assert.matches("model%.obj%s+OK", out)
      assert.matches("model%.mtl%s+OK", out)
      assert.matches("texture%.png%s+OK", out)
      local obj, mtl = a:file(d, "model.obj"), a:file(d, "model.mtl")
      assert.equal(nverts, count_lines(obj, "\nv "))
      assert.equal(nverts, count_lines(obj, "\nvn "))
      assert.equal(triangles, count_lines(obj, "\nf "))
      assert.matches("mtllib model%.mtl", obj)
      assert.matches("map_Kd texture%.png", mtl)
      local entries = zip_entries(zip)
      assert.equal(obj, zlib.inflate(-15)(entries[1].data))
      local g = a:describe { text = "a glazed donut", faces = 6000, geometry = true }
      ok, out = run_on(a:file(g, "model.zip"), "unzip -t")
      assert.is_true(ok, out)
      assert.matches("model%.obj", out)
      assert.not_matches("texture%.png", out)
      assert.not_matches("map_Kd", a:file(g, "model.mtl"))
    end)

    it("STL: binary, one record per triangle", function()
      local stl = a:file(d, "model.stl")
      assert.equal(triangles, (unpack("<I4", stl, 81)))
      assert.equal(84 + 50 * triangles, #stl)
      -- the first facet's normal has unit length
      local nx, ny, nz = unpack("<fff", stl, 85)
      assert.is_true(math.abs(nx * nx + ny * ny + nz * nz - 1) < 1e-4)
    end)

    it("FBX: an ASCII 7.4 document with the mesh's vertices and polygons", function()
      local fbx = a:file(d, "model.fbx")
      assert.equal("; FBX 7.4.0 project file\n", fbx:sub(1, 25))
      assert.matches("FBXVersion: 7400", fbx)
      assert.matches("Vertices: %*" .. 3 * nverts .. " {", fbx)
      assert.matches("PolygonVertexIndex: %*" .. 3 * triangles .. " {", fbx)
      assert.matches("Normals: %*" .. 3 * nverts .. " {", fbx)
      assert.matches('C: "OO",%d+,0', fbx)
      local body = fbx:match("PolygonVertexIndex: %*%d+ {\n\t\t\ta: ([^}]*)}")
      local negatives, values = 0, 0
      for v in body:gmatch("%-?%d+") do
        values = values + 1
        if v:sub(1, 1) == "-" then negatives = negatives + 1 end
      end
      assert.equal(3 * triangles, values)
      assert.equal(triangles, negatives)
    end)

    it("USDZ: one stored usda entry, its data 64-byte aligned", function()
      local usdz, ctype = a:file(d, "model.usdz")
      assert.equal("model/vnd.usdz+zip", ctype)
      local entries = zip_entries(usdz)
      assert.equal(1, #entries)
      local e = entries[1]
      assert.equal("model.usda", e.name)
      assert.equal(0, e.method)
      assert.equal(0, e.flags)
      assert.equal(0, e.offset % 64)
      assert.equal(e.usize, e.csize)
      assert.equal(zlib.crc32()(e.data), e.crc)
      assert.equal("#usda 1.0\n", e.data:sub(1, 10))
      assert.matches('def Mesh "mesh"', e.data)
      assert.matches("int%[%] faceVertexCounts", e.data)
      local ok, out = run_on(usdz, "unzip -t")
      assert.is_true(ok, out)
      -- alignment holds whatever the name length
      local many = {}
      for i = 1, 5 do many[i] = { name = string.rep("n", i * 7) .. ".usda", data = string.rep("x", i * 13) } end
      for _, entry in ipairs(zip_entries(assets.zip(many, { stored = true, align = 64 }))) do
        assert.equal(0, entry.offset % 64)
        assert.equal(0, entry.method)
      end
    end)

    it("GIF: GIF89a, 128x128 screen, byte-wide codes that never grow, trailer", function()
      local gif, ctype = a:file(d, "model.gif")
      assert.equal("image/gif", ctype)
      assert.equal("GIF89a", gif:sub(1, 6))
      local w, h, flags = unpack("<I2I2B", gif, 7)
      assert.equal(128, w)
      assert.equal(128, h)
      assert.equal(0x80, flags & 0x80)                 -- global colour table
      local palette = 3 * (1 << ((flags & 7) + 1))
      local pos = 14 + palette
      assert.equal(0x2C, gif:byte(pos))
      assert.equal(128, (unpack("<I2", gif, pos + 5)))
      local min_code = gif:byte(pos + 10)
      assert.equal(7, min_code)
      pos = pos + 11
      local data = {}
      while gif:byte(pos) ~= 0 do
        local n = gif:byte(pos)
        data[#data + 1] = gif:sub(pos + 1, pos + n)
        pos = pos + n + 1
      end
      assert.equal(#gif, pos + 1)
      assert.equal(0x3B, gif:byte(#gif))
      local codes, pixels, run = table.concat(data), 0, 0
      assert.equal(128, codes:byte(1))                 -- Clear first
      assert.equal(129, codes:byte(#codes))            -- End last
      for i = 2, #codes - 1 do
        local c = codes:byte(i)
        if c == 128 then run = 0 else
          assert.is_true(c < 128)
          pixels, run = pixels + 1, run + 1
          assert.is_true(run <= 126)
        end
      end
      assert.equal(128 * 128, pixels)
    end)

    it("MP4: an ISO-BMFF placeholder whose boxes add up", function()
      local mp4, ctype = a:file(d, "model.mp4")
      assert.equal("video/mp4", ctype)
      assert.equal("ftypisom", mp4:sub(5, 12))
      local pos, kinds = 1, {}
      while pos <= #mp4 do
        local size, kind = unpack(">I4c4", mp4, pos)
        assert.is_true(size >= 8)
        kinds[#kinds + 1] = kind
        pos = pos + size
      end
      assert.equal(#mp4 + 1, pos)
      assert.same({ "ftyp", "free", "mdat" }, kinds)
    end)

    it("previews and texture are PNGs that pngcheck accepts", function()
      for name, size in pairs { ["preview.png"] = 256, ["texture.png"] = 128 } do
        local png, ctype = a:file(d, name)
        assert.equal("image/png", ctype)
        assert.same({ format = "png", width = size, height = size }, image.info(png))
        local ok, out = run_on(png, "pngcheck -q")
        assert.is_true(ok, out)
      end
      -- the preview shows this mesh: another shape renders differently
      local other = a:describe { text = "a chair", faces = 6000 }
      assert.not_equal(a:file(d, "preview.png"), a:file(other, "preview.png"))
    end)

    it("serves every name with a content type, and nil for an unknown one", function()
      for _, name in ipairs { "model.glb", "model.zip", "model.obj", "model.mtl", "model.stl", "model.fbx",
                              "model.usdz", "model.gif", "model.mp4", "preview.png", "texture.png" } do
        local body, ctype = a:file(d, name)
        assert.is_string(body, name)
        assert.is_true(#body > 0, name)
        assert.matches("^%a+/", ctype)
      end
      assert.is_nil(a:file(d, "model.blend"))
      assert.is_nil(a:file(d, "../etc/passwd"))
    end)

    it("is deterministic: a fresh generator writes the same bytes", function()
      local b = assets.new()
      local bd = b:describe { text = "a glazed donut", faces = 6000 }
      for _, name in ipairs { "model.glb", "model.zip", "model.fbx", "model.usdz", "model.gif", "preview.png" } do
        assert.equal(a:file(d, name), b:file(bd, name), name)
      end
    end)
  end)

  describe("cache", function()
    it("returns the very same string for a repeated request, without generating it again", function()
      local a = assets.new()
      local d = a:describe { text = "a vase", faces = 20000 }
      local first = a:file(d, "model.glb")
      local before = a:stats()
      local again = a:file(assets.new():describe { text = "a tall vase", faces = 20000 }, "model.glb")
      local after = a:stats()
      assert.same({ before.hits + 1, before.misses }, { after.hits, after.misses })   -- a hit, nothing generated
      assert.equal(first, again)
      if pcall(string.format, "%p", first) then       -- Lua 5.4: the very same string object
        assert.equal(("%p"):format(first), ("%p"):format(again))
      end
    end)

    it("evicts the least recently used file past its entry bound", function()
      local a = assets.new { cache_entries = 3 }
      local d = a:describe { text = "a cube", faces = 500 }
      for _, name in ipairs { "model.stl", "model.obj", "model.fbx", "model.gif" } do a:file(d, name) end
      assert.equal(3, a:stats().entries)
      local misses = a:stats().misses
      a:file(d, "model.gif")                           -- still cached
      assert.equal(misses, a:stats().misses)
      a:file(d, "model.stl")                           -- the oldest: evicted, generated again
      assert.equal(misses + 1, a:stats().misses)
      assert.equal(3, a:stats().entries)
    end)

    it("keeps its total size within the byte bound", function()
      local bound = 300000
      local a = assets.new { cache_bytes = bound }
      local d = a:describe { text = "a cube", faces = 2000 }
      local total = 0
      for _, name in ipairs { "model.stl", "model.obj", "model.fbx", "model.glb", "model.usdz" } do
        total = total + #a:file(d, name)
      end
      assert.is_true(total > bound)
      assert.is_true(a:stats().bytes <= bound)
      assert.is_true(a:stats().entries >= 1)
    end)
  end)

  -- The stages one by one (init -> writers, raster, pack -> mesh): what each module hands the next.
  describe("mesh", function()
    local mesh = require "hy3d.sandbox.assets.mesh"

    it("lists every shape in the hash order, each with a colour and a material", function()
      assert.same({ "chair", "table", "box", "sphere", "torus", "cylinder", "cone" }, mesh.order)
      assert.equal(assets.shapes, mesh.order)
      for _, name in ipairs(mesh.order) do
        local shape = mesh.shapes[name]
        assert.is_true((shape.boxes or shape.lathe) ~= nil, name)
        assert.equal(3, #shape.color)
        assert.is_string(shape.material)
      end
      assert.equal("chair", mesh.pick_shape(nil))
      assert.equal("torus", mesh.pick_shape("a donut on a table"))
      assert.equal("table", mesh.pick_shape("一张桌子和一个球"))
    end)

    it("generates flat arrays whose triangle count is what triangles() predicts, within the cap", function()
      for _, name in ipairs(mesh.order) do
        local m = mesh.generate(name, 2000, 2500)
        assert.equal(0, #m.p % 3)
        assert.equal(#m.p, #m.n)
        assert.equal(2 * #m.p // 3, #m.t)
        assert.equal(0, #m.idx % 3)
        local count = #m.idx // 3
        assert.is_true(count <= 2500 and math.abs(count - 2000) <= 500, name .. ": " .. count)
        local top = 0
        for _, i in ipairs(m.idx) do top = math.max(top, i) end
        assert.equal(#m.p // 3 - 1, top)
      end
      assert.equal(108, mesh.triangles(mesh.shapes.chair, 0))     -- the coarsest chair (MIN_MAX_FACES)
    end)

    it("bounds a mesh", function()
      local lo, hi = mesh.bounds { 1, 2, 3, -1, 5, 0, 0, 0, 9 }
      assert.same({ -1, 0, 0 }, lo)
      assert.same({ 1, 5, 9 }, hi)
    end)
  end)

  describe("pack", function()
    local packing = require "hy3d.sandbox.assets.pack"

    it("pads, packs many values per call and checksums", function()
      assert.equal("abc\0", packing.pad("abc", 4, "\0"))
      assert.equal("abcd", packing.pad("abcd", 4, "\0"))
      local list = {}
      for i = 1, 1000 do list[i] = i end                            -- more than one batch of 240
      local packed = packing.pack_all("I2", list)
      assert.equal(2000, #packed)
      assert.equal(1000, (string.unpack("<I2", packed, 1999)))
      assert.equal(zlib.crc32()("hy3d"), packing.crc32("hy3d"))
    end)

    it("zips deflated entries that unzip accepts", function()
      local zip = packing.zip { { name = "a.txt", data = string.rep("a", 1000) }, { name = "b.txt", data = "b" } }
      local entries = zip_entries(zip)
      assert.equal(2, #entries)
      assert.equal(8, entries[1].method)
      assert.equal(string.rep("a", 1000), zlib.inflate(-15)(entries[1].data))
      local ok, out = run_on(zip, "unzip -t")
      assert.is_true(ok, out)
      assert.equal(packing.mp4(), assets.mp4())
    end)
  end)

  describe("writers and raster", function()
    local mesh = require "hy3d.sandbox.assets.mesh"
    local writers = require "hy3d.sandbox.assets.writers"
    local raster = require "hy3d.sandbox.assets.raster"
    local m = mesh.generate("box", 12, 200)                         -- 12 triangles, 24 vertices

    it("write a flat mesh in every mesh format", function()
      local gltf, _, triangles = parse_glb(writers.glb(m))
      assert.equal(12, triangles)
      assert.equal(24, gltf.accessors[1].count)
      assert.is_nil(gltf.images)
      assert.equal(12, (unpack("<I4", writers.stl(m), 81)))
      local obj = writers.obj(m, "crate")
      assert.equal(24, count_lines(obj, "\nv "))
      assert.equal(12, count_lines(obj, "\nf "))
      assert.matches("usemtl crate", obj)
      assert.matches("map_Kd texture%.png", writers.mtl("crate", { 1, 1, 1 }, true))
      assert.matches("Kd 0%.500 0%.250 1%.000", writers.mtl("plain", { 0.5, 0.25, 1 }, false))
      assert.matches("PolygonVertexIndex: %*36 {", writers.fbx(m))
      local usda = writers.usda(m, nil, "crate", false)
      assert.matches("def Material \"crate\"", usda)
      assert.not_matches("primvars:st", usda)
    end)

    it("draw a flat mesh as PNG and GIF of the size asked", function()
      assert.same({ format = "png", width = 32, height = 32 }, image.info(raster.preview(m, 32)))
      assert.same({ format = "png", width = 16, height = 16 }, image.info(raster.texture(nil, 16)))
      assert.equal("GIF89a", raster.gif(m, 24):sub(1, 6))
      assert.equal(24, (unpack("<I2", raster.gif(m, 24), 7)))
      local shade, covered = raster.render(m, 20), 0
      for _, s in pairs(shade) do
        assert.is_true(s >= 0.35 and s <= 1)
        covered = covered + 1
      end
      assert.is_true(covered > 0 and covered < 400)
      assert.equal(256, raster.PREVIEW_SIZE)
      assert.equal(128, raster.GIF_SIZE)
    end)
  end)

  it("offers no one-chair API of older sandboxes", function()
    assert.is_nil(assets.build)
    assert.is_nil(assets.mesh)
  end)
end)
