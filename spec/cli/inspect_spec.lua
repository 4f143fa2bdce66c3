-- hy3d inspect: a model's summary as text or one JSON line per file, typed errors with exit codes, the help,
-- and a clear message (exit 2) when the optional parser hy3d.mesh is not installed.
local hy3d = require "hy3d"
local cli = require "spec.support.cli"
local sandbox = require "spec.support.sandbox"

local HAS_MESH, MESH_WHY = pcall(require, "hy3d.mesh")
local q = sandbox.shell_quote
local ROOT = os.getenv("PWD")

describe("hy3d inspect", function()
  local sb = sandbox.suite()
  local dir, files

  setup(function()
    dir = sandbox.tmpdir()
    if not HAS_MESH then return end
    local client = sb:client { poll_interval = 0.05 }
    local r = assert(client:generate({ Prompt = "a wooden chair", FaceCount = 3000 },
      { dir = dir, name = "chair", formats = { "GLB", "OBJ", "FBX" } }))
    files = {}
    for _, f in ipairs(r.files) do files[f.type] = f.path end
  end)

  teardown(function()
    os.execute("rm -rf " .. q(dir))
  end)

  it("is listed in `hy3d --help` and has its own --help", function()
    local code, out = cli.run("--help")
    assert.equal(0, code)
    assert.matches("\n  inspect FILE", out)
    code, out = cli.run("inspect --help")
    assert.equal(0, code)
    assert.matches("^usage: hy3d inspect", out)
    local code2, out2 = cli.run("help inspect")
    assert.equal(0, code2)
    assert.equal(out, out2)
    code, out = cli.run("inspect")
    assert.equal(2, code)
    assert.equal("", out)
  end)

  it("--json writes one inspect event per file with what hy3d.inspect finds", function()
    if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
    local code, out, err = cli.run(("inspect --json %s %s %s"):format(q(files.GLB), q(files.OBJ), q(files.FBX)))
    assert.equal(0, code, err)
    local events = cli.of(cli.events(out), "inspect")
    assert.equal(3, #events)
    for i, path in ipairs { files.GLB, files.OBJ, files.FBX } do
      local want = assert(hy3d.inspect(path))
      local e = events[i]
      assert.equal(path, e.path)
      assert.same({ want.format, want.bytes, want.vertices, want.triangles },
        { e.format, e.bytes, e.vertices, e.triangles })
      assert.same(want.takes, e.takes)
      assert.same(#want.images, e.images and #e.images or 0)
    end
    assert.equal("zip", events[2].container)
    assert.equal(128, events[1].images[1].width)
  end)

  it("--text prints the counts, the box, the materials with their image sizes and the jobs that take the file", function()
    if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
    local info = assert(hy3d.inspect(files.GLB))
    local code, out, err = cli.run("inspect --text " .. q(files.GLB))
    assert.equal(0, code, err)
    assert.matches(files.GLB .. ": GLB 2 binary, " .. info.bytes .. " bytes\n", out, 1, true)
    assert.matches(("vertices %d, triangles %d"):format(info.vertices, info.triangles), out, 1, true)
    assert.matches("bounding box %(%-0%.22, 0%.?0?, %-0%.22%) to %(0%.22, 1%.025, 0%.22%)", out)
    assert.matches("material wood: diffuse *0 (embedded PNG 128x128)", out, 1, true)
    assert.matches("jobs that take it: rigging, convert, uv, topology, texture; not part (takes FBX)", out, 1, true)
  end)

  it("a bad file among good ones: the good are printed, the bad is a typed error naming it, exit 2", function()
    if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
    local cut = sandbox.write_file(dir .. "/cut.glb", assert(sandbox.read_file(files.GLB)):sub(1, 500))
    local code, out = cli.run(("inspect --json %s %s"):format(q(cut), q(files.GLB)))
    assert.equal(2, code)
    local events = cli.events(out)
    assert.equal(1, #cli.of(events, "inspect"))
    local e = cli.of(events, "error")[1]
    assert.same({ "invalid", "BAD_MODEL", 2 }, { e.kind, e.code, e.exit })
    assert.matches(cut .. ": a truncated GLB", e.message, 1, true)
    local err
    code, out, err = cli.run("inspect --text " .. q(dir .. "/none.glb"))
    assert.equal(7, code)
    assert.equal("", out)
    assert.matches("FILE_UNREADABLE", err)
  end)

  it("prints plain text in a pipe unless --json, as its help says", function()
    if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
    local code, out, err = cli.run("inspect " .. q(files.GLB))
    assert.equal(0, code, err)
    assert.matches(files.GLB .. ": GLB 2 binary, ", out, 1, true)
    assert.is_nil(out:find("{", 1, true), out)
  end)

  it("a missing file is named once", function()
    local path = dir .. "/nosuch.glb"
    local code, out, err = cli.run("inspect --text " .. q(path))
    assert.equal(7, code)
    assert.equal("", out)
    local _, n = err:gsub(path:gsub("%p", "%%%0"), "")
    assert.equal(1, n, err)
  end)

  it("a model's own names with control characters are printed harmlessly", function()
    if not HAS_MESH then return pending("hy3d.mesh is not built (libassimp-dev): " .. tostring(MESH_WHY)) end
    sandbox.write_file(dir .. "/odd.mtl", "newmtl bad\27[2Jname\n")
    local path = sandbox.write_file(dir .. "/odd.obj",
      "mtllib odd.mtl\nusemtl bad\27[2Jname\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    local code, out, err = cli.run("inspect --text " .. q(path))
    assert.equal(0, code, err)
    assert.not_matches("\27", out, 1, true)
    assert.matches("material bad?[2Jname", out, 1, true)
  end)

  it("without hy3d.mesh it says how to get it (INSPECT_UNAVAILABLE, exit 2)", function()
    -- a module path with the core and no hy3d.mesh
    local only_core = sandbox.tmpdir()
    local core_so = ROOT .. "/" .. (os.getenv("HY3D_CPATH") or "./build/?.so"):match("^[^;]+"):gsub("^%./", "")
      :gsub("%?", "hy3d/core")
    assert(os.execute(("mkdir -p %s/hy3d && ln -s %s %s/hy3d/core.so"):format(q(only_core), q(core_so), q(only_core))))
    local path = sandbox.write_file(dir .. "/tiny.stl", "solid t\nendsolid t\n")
    local cmd = cli.command("inspect --json " .. q(path)):gsub("LUA_CPATH='[^']*'", "LUA_CPATH=" ..
      q(only_core .. "/?.so;;"):gsub("%%", "%%%%"))
    local _, out, code = sandbox.run(cmd .. " 2>/dev/null")
    os.execute("rm -rf " .. q(only_core))
    assert.equal(2, code)
    local e = cli.of(cli.events(out), "error")[1]
    assert.equal("INSPECT_UNAVAILABLE", e.code)
    assert.matches("libassimp-dev", e.message, 1, true)
  end)
end)
