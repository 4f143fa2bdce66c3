-- hy3d.inspect: the sandbox's GLB, OBJ zip, STL and FBX (fetched over loopback from real jobs) read back with the
-- counts and box of the mesh the sandbox generated; truncated, foreign and hostile files give typed errors.
local hy3d = require "hy3d"
local cjson = require "cjson"
local sandbox = require "spec.support.sandbox"

local HAS_MESH, MESH_WHY = pcall(require, "hy3d.mesh")
local q = sandbox.shell_quote

-- The mesh the sandbox generates for a prompt and FaceCount, asked of its own generator (Lua 5.3+, in a child).
local GENERATOR = [[
local assets = require "hy3d.sandbox.assets"
local mesh = require "hy3d.sandbox.assets.mesh"
local cjson = require "cjson"
local a = assets.new()
local d = a:describe { text = arg[1], faces = tonumber(arg[2]) }
local m = a:mesh(d)
local lo, hi = mesh.bounds(m.p)
io.write(cjson.encode { shape = d.shape, vertices = #m.p // 3, triangles = #m.idx // 3, min = lo, max = hi })
]]

local function generated(prompt, faces)
  local script = sandbox.write_file(os.tmpname(), GENERATOR)
  local ok, out = sandbox.run(("%s %s %s %s %d"):format(sandbox.sandbox_env(), os.getenv("HY3D_SANDBOX_LUA") or "lua5.4",
    q(script), q(prompt), faces))
  os.remove(script)
  assert(ok, out)
  return cjson.decode(out)
end

local function near(want, got, what)
  for k = 1, 3 do
    assert(math.abs(want[k] - got[k]) < 1e-5, ("%s[%d]: want %s, got %s"):format(what, k, want[k], got[k]))
  end
end

local function takes(info, kind)
  for _, t in ipairs(info.takes) do
    if t.kind == kind then return t end
  end
end

describe("hy3d.inspect", function()
  local sb = sandbox.suite()
  local client, dir

  before_each(function()
    if not HAS_MESH then return end
    client = sb:client { poll_interval = 0.05 }
    dir = sandbox.tmpdir()
  end)

  after_each(function()
    if dir then os.execute("rm -rf " .. q(dir)) end
    dir = nil
  end)

  -- One job's files by type (GLB, OBJ zip, and `extra`, the one more format a job may make).
  local function job_files(prompt, faces, extra)
    local r = assert(client:generate({ Prompt = prompt, FaceCount = faces },
      { dir = dir, name = extra:lower(), formats = { "GLB", "OBJ", extra } }))
    local by = {}
    for _, f in ipairs(r.files) do by[f.type] = f.path end
    return by
  end

  it("reads the sandbox's GLB, OBJ zip, STL and FBX of a chair with the generated mesh's counts and box", function()
    if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
    local want = generated("a wooden chair", 3000)
    assert.equal("chair", want.shape)
    local a = job_files("a wooden chair", 3000, "STL")
    local b = job_files("a wooden chair", 3000, "FBX")
    assert.equal(2, #sb:requests("submit"))
    local cases = {
      { a.GLB, "glb", "binary", 2 }, { a.OBJ, "obj", "ascii" }, { a.STL, "stl", "binary" }, { b.FBX, "fbx", "ascii", 7400 },
    }
    for _, c in ipairs(cases) do
      local info = assert(hy3d.inspect(c[1]))
      assert.equal(c[2], info.format, c[1])
      assert.equal(c[3], info.encoding, c[1])
      assert.equal(c[4], info.version, c[1])
      assert.equal(want.triangles, info.triangles, c[1])
      assert.equal(want.vertices, info.vertices, c[1])
      assert.equal(1, info.meshes)
      near(want.min, info.bbox.min, c[1] .. " min")
      near(want.max, info.bbox.max, c[1] .. " max")
      near({ want.max[1] - want.min[1], want.max[2] - want.min[2], want.max[3] - want.min[3] }, info.bbox.size, "size")
      local f = assert(io.open(c[1], "rb"))
      assert.equal(f:seek("end"), info.bytes)
      f:close()
      assert.matches("^assimp %d", info.parser)
    end
  end)

  it("names the materials and textures with their pixel sizes: embedded in the GLB, beside the OBJ in its zip", function()
    if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
    local files = job_files("a wooden chair", 3000, "STL")
    local glb = assert(hy3d.inspect(files.GLB))
    assert.equal(1, #glb.images)
    assert.same({ "png", 128, 128 }, { glb.images[1].format, glb.images[1].width, glb.images[1].height })
    assert.equal("wood", glb.materials[1].name)
    local tex = glb.materials[1].textures[1]
    assert.same({ 1, "png", 128, 128 }, { tex.embedded, tex.format, tex.width, tex.height })
    local zip = assert(hy3d.inspect(files.OBJ))
    assert.equal("zip", zip.container)
    assert.equal("model.obj", zip.entry)
    table.sort(zip.files)
    assert.same({ "model.mtl", "model.obj", "texture.png" }, zip.files)
    assert.equal("wood", zip.materials[1].name)
    tex = zip.materials[1].textures[1]
    assert.same({ "texture.png", "png", 128, 128 }, { tex.path, tex.format, tex.width, tex.height })
    assert.equal(0, #zip.images)
  end)

  it("says which post-processing jobs take the file: rigging takes the GLB and FBX, not the STL or the OBJ", function()
    if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
    local a = job_files("a red ball", 3000, "STL")
    local b = job_files("a red ball", 3000, "FBX")
    local want = generated("a red ball", 3000)
    for path, rig in pairs { [a.GLB] = true, [b.FBX] = true, [a.STL] = false, [a.OBJ] = false } do
      local info = assert(hy3d.inspect(path))
      assert.equal(want.triangles, info.triangles)
      assert.equal(rig, takes(info, "rigging").ok, path)
    end
    local stl = assert(hy3d.inspect(a.STL))
    assert.matches("takes FBX, GLB", takes(stl, "rigging").why, 1, true)
    assert.is_true(takes(assert(hy3d.inspect(b.FBX)), "part").ok)
  end)

  it("reads an ASCII STL", function()
    if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
    local path = sandbox.write_file(dir .. "/tri.stl", table.concat({
      "solid tri", "facet normal 0 0 1", "outer loop", "vertex 0 0 0", "vertex 2 0 0", "vertex 0 3 0", "endloop",
      "endfacet", "facet normal 0 0 1", "outer loop", "vertex 2 0 0", "vertex 2 3 0", "vertex 0 3 0", "endloop",
      "endfacet", "endsolid tri", "" }, "\n"))
    local info = assert(hy3d.inspect(path))
    assert.same({ "stl", "ascii", 2, 4 }, { info.format, info.encoding, info.triangles, info.vertices })
    assert.same({ 2, 3, 0 }, info.bbox.size)
  end)

  it("a binary FBX: its header's version at least, and the counts where assimp reads the body", function()
    if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
    local path = sandbox.write_file(dir .. "/head.fbx", "Kaydara FBX Binary  \0\26\0" .. "\232\28\0\0" .. ("\0"):rep(200))
    local info = assert(hy3d.inspect(path))
    assert.same({ "fbx", "binary", 7400, false, 227 }, { info.format, info.encoding, info.version, info.parsed, info.bytes })
    assert.is_string(info.reason)
    assert.is_nil(info.triangles)
    assert.is_true(takes(info, "rigging").ok)
    assert.is_false(takes(info, "uv").ok)                  -- its face limit cannot be checked
    assert.matches("unknown", takes(info, "uv").why)
  end)

  it("a binary FBX written by assimp's own exporter (assimp-utils) from the sandbox's GLB", function()
    if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
    if not sandbox.run("command -v assimp") then return pending("the assimp command (assimp-utils) is not installed") end
    local want = generated("a wooden chair", 3000)
    local glb = job_files("a wooden chair", 3000, "STL").GLB
    local fbx = dir .. "/exported.fbx"
    local ok, out = sandbox.run(("assimp export %s %s -ffbx"):format(q(glb), q(fbx)))
    assert(ok, out)
    local info = assert(hy3d.inspect(fbx))
    assert.same({ "fbx", "binary" }, { info.format, info.encoding })
    assert.is_true(info.version >= 7400)
    if info.parsed then                                     -- an assimp that reads FBX 7.5 back
      assert.equal(want.triangles, info.triangles)
    else                                                    -- assimp 5.2 cannot: the header only
      assert.is_nil(info.triangles)
      assert.matches("FBX", info.reason)
    end
  end)

  describe("bad input", function()
    local function err_of(path, opts)
      local info, err = hy3d.inspect(path, opts)
      assert.is_nil(info)
      assert.is_table(err)
      return err
    end

    it("a path that is not a string, empty, or holds a NUL is BAD_PATH; a missing file is io", function()
      for _, p in ipairs { 42, "", "model\0.glb" } do
        local err = err_of(p)
        assert.same({ "invalid", "BAD_PATH" }, { err.kind, err.code })
      end
      local err = err_of("/nonexistent/model.glb")
      assert.same({ "io", "FILE_UNREADABLE" }, { err.kind, err.code })
      local folder = sandbox.tmpdir()
      err = err_of(folder)
      os.execute("rm -rf " .. q(folder))
      assert.equal("io", err.kind)
      assert.same({ "invalid", "BAD_OPTION" }, { err_of("x.glb", { max_bytes = -1 }).kind, err_of("x.glb", 7).code })
    end)

    it("truncated, empty, garbage and foreign files are BAD_MODEL, never a crash", function()
      if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
      local files = job_files("a wooden chair", 3000, "STL")
      local fbx = job_files("a wooden chair", 3000, "FBX").FBX
      local function cut(path, n, name)
        local data = assert(sandbox.read_file(path))
        return sandbox.write_file(dir .. "/" .. name, data:sub(1, n))
      end
      local cases = {
        cut(files.GLB, 3000, "cut.glb"), cut(files.GLB, 12, "header.glb"), cut(files.OBJ, 2000, "cut.zip"),
        cut(files.STL, 3000, "cut.stl"), cut(fbx, 3000, "cut.fbx"),
        sandbox.write_file(dir .. "/empty.glb", ""),
        sandbox.write_file(dir .. "/noise.glb", ("\1\2\3\250garbage"):rep(300)),
        sandbox.write_file(dir .. "/text.obj", "this is no model\n"),
        sandbox.write_file(dir .. "/image.fbx", "\137PNG\r\n\26\n" .. ("\0"):rep(64)),
      }
      for _, path in ipairs(cases) do
        local err = err_of(path)
        assert.equal("invalid", err.kind, path)
        assert.equal("BAD_MODEL", err.code, path .. ": " .. tostring(err.message))
        assert.is_string(err.message)
      end
    end)

    it("mutated and cut copies of every format (a fixed seed) each give a summary or a typed error", function()
      if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
      local a = job_files("a coffee cup", 3000, "STL")
      local sources = { a.GLB, a.OBJ, a.STL, job_files("a coffee cup", 3000, "FBX").FBX }
      math.randomseed(19)
      local n = 0
      for _, src in ipairs(sources) do
        local data = assert(sandbox.read_file(src))
        local ext = src:match("%.%w+$")
        for i = 1, 40 do
          local copy
          if i <= 10 then
            copy = data:sub(1, math.floor(#data * i / 11))                 -- cut
          else
            copy = data
            for _ = 1, math.random(1, 20) do                              -- a few bytes anywhere, the header included
              local at = math.random(1, #copy)
              copy = copy:sub(1, at - 1) .. string.char(math.random(0, 255)) .. copy:sub(at + 1)
            end
          end
          local path = sandbox.write_file(("%s/m%d%s"):format(dir, i, ext), copy)
          local info, err = hy3d.inspect(path)
          if info then
            assert.is_number(info.triangles)
          else
            assert.is_true(err.kind == "invalid" or err.kind == "io", tostring(err))
            assert.is_string(err.code)
            n = n + 1
          end
        end
      end
      assert.is_true(n >= 40, "at least the cut copies are refused")
    end)

    it("a GLB whose accessors claim more than its buffer holds, and a zip with no model, are BAD_MODEL", function()
      if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
      local glb = assert(sandbox.read_file(job_files("a wooden chair", 3000, "STL").GLB))
      local function u32(n)
        local b = {}
        for i = 1, 4 do b[i] = string.char(n % 256); n = math.floor(n / 256) end
        return table.concat(b)
      end
      local function le(s, at) local a, b, c, d = s:byte(at, at + 3); return a + b * 256 + c * 65536 + d * 16777216 end
      local jlen = le(glb, 13)
      local gltf = cjson.decode(glb:sub(21, 20 + jlen))
      gltf.accessors[1].count = 2147483647
      local json = cjson.encode(gltf)
      json = json .. (" "):rep((4 - #json % 4) % 4)
      local rest = glb:sub(21 + jlen)
      local body = u32(#json) .. "JSON" .. json .. rest
      local path = sandbox.write_file(dir .. "/huge.glb", "glTF" .. u32(2) .. u32(12 + #body) .. body)
      local err = err_of(path)
      assert.same({ "invalid", "BAD_MODEL" }, { err.kind, err.code })
      -- a zip of no model: only a text file (stored, made by the zip tool when present; else by hand)
      local txt = sandbox.write_file(dir .. "/readme.txt", "no model here\n")
      local zip = dir .. "/nomodel.zip"
      local ok = sandbox.run(("cd %s && zip -q -X %s %s"):format(q(dir), q("nomodel.zip"), q("readme.txt")))
      if ok then
        err = err_of(zip)
        assert.same({ "invalid", "BAD_MODEL" }, { err.kind, err.code })
        assert.matches("no .obj", err.message, 1, true)
      end
      os.remove(txt)
    end)

    it("a file over max_bytes is TOO_LARGE before it is parsed, and so is an OBJ zip that unpacks past it", function()
      if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
      local files = job_files("a wooden chair", 3000, "STL")
      local err = err_of(files.GLB, { max_bytes = 1000 })
      assert.same({ "invalid", "TOO_LARGE" }, { err.kind, err.code })
      local size = #assert(sandbox.read_file(files.OBJ))
      err = err_of(files.OBJ, { max_bytes = size + 10 })          -- the zip fits; its model.obj unpacks to more
      assert.same({ "invalid", "TOO_LARGE" }, { err.kind, err.code })
    end)

    it("an OBJ's MTL and textures are read from its own folder only: a hostile mtllib path is ignored", function()
      if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
      local outside = sandbox.tmpdir()
      sandbox.write_file(outside .. "/evil.mtl", "newmtl evil\nmap_Kd evil.png\n")
      local path = sandbox.write_file(dir .. "/m.obj", table.concat({
        "mtllib ../" .. outside:match("[^/]+$") .. "/evil.mtl", "mtllib " .. outside .. "/evil.mtl", "usemtl evil",
        "v 0 0 0", "v 1 0 0", "v 0 1 0", "f 1 2 3", "" }, "\n"))
      local info = assert(hy3d.inspect(path))
      assert.equal(1, info.triangles)
      for _, m in ipairs(info.materials) do
        assert.equal(0, #m.textures, "a texture came from " .. outside)
      end
      os.execute("rm -rf " .. q(outside))
    end)

    it("an MTL that is a FIFO in the model's folder is skipped, not waited on", function()
      if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
      assert(sandbox.run("mkfifo " .. q(dir .. "/fifo.mtl")))
      local path = sandbox.write_file(dir .. "/f.obj", "mtllib fifo.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
      local info = assert(hy3d.inspect(path))
      assert.equal(1, info.triangles)
    end)
  end)
end)
