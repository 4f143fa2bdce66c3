-- hy3d.gallery(dir, opts): which records' files it shows, escaping, links that stay in DIR, GLB wrappers, typed errors.
local core = require "hy3d.core"
local hy3d = require "hy3d"
local gallery = require "hy3d.gallery"
local sandbox = require "spec.support.sandbox"

local write, read = sandbox.write_file, sandbox.read_file
local GLB = "glTF\2\0\0\0" .. ("\0\1\2\255"):rep(40)

describe("hy3d.gallery", function()
  local dir, viewer

  before_each(function()
    dir = sandbox.tmpdir()
    viewer = write(dir .. "/viewer.js", "/* a stand-in viewer */")
  end)

  after_each(function()
    os.execute("rm -rf " .. sandbox.shell_quote(dir))
  end)

  it("shows each recorded job with a file in DIR: preview, facts, links; the GLB wrapped for the viewer", function()
    write(dir .. "/chair.glb", GLB)
    write(dir .. "/chair.png", "\137PNG")
    write(dir .. "/lamp.glb", GLB)
    local res = assert(hy3d.gallery(dir, { viewer = viewer, jobs = {
      { job_id = "1", name = "chair", prompt = "a chair", kind = "pro", credits = 20, face_count = 40000,
        files = { dir .. "/chair.glb", dir .. "/chair.png" } },
      { job_id = "2", prompt = "a lamp", files = { dir .. "/lamp.glb" } },
      { job_id = "3", prompt = "elsewhere", files = { "/tmp/elsewhere.glb" } },
    } }))
    assert.equal(dir .. "/index.html", res.path)
    assert.equal(2, res.models)
    assert.equal(2, res.glbs)
    assert.equal(viewer, res.viewer)
    assert.same({ "2" }, res.no_preview)
    local html = assert(read(res.path))
    assert.truthy(html:find('<script src=".hy3d-gallery/model-viewer-umd.min.js"></script>', 1, true))
    assert.truthy(html:find('<img class="preview" src="chair.png"', 1, true))
    assert.truthy(html:find("<dt>credits</dt><dd>20</dd>", 1, true))
    assert.truthy(html:find("<dt>faces asked</dt><dd>40000</dd>", 1, true))
    assert.truthy(html:find("20 credits", 1, true))
    assert.falsy(html:find("elsewhere", 1, true))
    assert.equal("/* a stand-in viewer */", read(dir .. "/.hy3d-gallery/model-viewer-umd.min.js"))
    local key = html:match('<model%-viewer data%-model="(%x+)"')
    assert.equal(24, #key)
    local wrapped = assert(read(dir .. "/.hy3d-gallery/" .. key .. ".js"))
    local b64 = wrapped:match('^hy3dGallery%.model%("' .. key .. '","([%w+/=]+)"%);\n$')
    assert.equal(GLB, core.base64_decode(b64))
    -- the next page without that model removes its wrapper, and nothing else of the folder
    write(dir .. "/.hy3d-gallery/mine.txt", "the user's")
    res = assert(hy3d.gallery(dir, { viewer = viewer, jobs = {
      { job_id = "2", prompt = "a lamp", files = { dir .. "/lamp.glb" } } } }))
    assert.equal(1, res.models)
    assert.is_false(sandbox.exists(dir .. "/.hy3d-gallery/" .. key .. ".js"))
    assert.equal("the user's", read(dir .. "/.hy3d-gallery/mine.txt"))
    local other = assert(read(res.path)):match('<model%-viewer data%-model="(%x+)"')
    assert.is_true(sandbox.exists(dir .. "/.hy3d-gallery/" .. other .. ".js"))
  end)

  it("lists a follow-up job's files (from_job: --then rig, a chain of steps) on its model's card, credits added", function()
    write(dir .. "/chair.glb", GLB)
    write(dir .. "/chair.png", "\137PNG")
    write(dir .. "/chair_reduce_face.glb", GLB)
    write(dir .. "/chair_rigging.fbx", "Kaydara FBX Binary  \0")
    write(dir .. "/orphan_rigging.fbx", "Kaydara FBX Binary  \0")
    local res = assert(hy3d.gallery(dir, { viewer = viewer, jobs = {
      { job_id = "1", name = "chair", prompt = "a chair", kind = "pro", credits = 20,
        files = { dir .. "/chair.glb", dir .. "/chair.png" } },
      { job_id = "2", kind = "reduce_face", from_job = "1", credits = 50, files = { dir .. "/chair_reduce_face.glb" } },
      { job_id = "3", kind = "rigging", from_job = "2", credits = 10, files = { dir .. "/chair_rigging.fbx" } },
      { job_id = "4", kind = "rigging", from_job = "999", files = { dir .. "/orphan_rigging.fbx" } },   -- its model not here
    } }))
    assert.equal(2, res.models)                    -- the chair (with its two steps) and the orphan
    assert.same({ "4" }, res.no_preview)
    local html = assert(read(res.path))
    local chair = html:match('<article.-chair%.glb.-</article>')
    assert.truthy(chair:find('chair_reduce_face.glb</a> GLB', 1, true))
    assert.truthy(chair:find('(reduce_face)', 1, true))
    assert.truthy(chair:find('chair_rigging.fbx</a> FBX', 1, true))
    assert.truthy(chair:find('(rigging)', 1, true))
    assert.truthy(chair:find("<dt>credits</dt><dd>80</dd>", 1, true))
    assert.falsy(chair:find("orphan", 1, true))
  end)

  it("never links a path that leaves DIR, and escapes every recorded text", function()
    os.execute("mkdir -p " .. sandbox.shell_quote(dir .. "/sub"))
    write(dir .. "/sub/a b&\"<x>.glb", GLB)
    write(dir .. "/outside.glb", GLB)
    local inner = dir .. "/in"
    os.execute("mkdir -p " .. sandbox.shell_quote(inner))
    local evil = [["><script>alert(1)</script>]]
    local res = assert(gallery.write(inner, { viewer = false, jobs = {
      { job_id = "1", files = { "/etc/passwd", inner .. "/../outside.glb", inner .. "/./x.glb", "outside.glb",
                                inner .. "/", inner .. "/\n.glb" } },
      { job_id = evil, name = evil, prompt = evil, kind = evil, files = { inner .. "/../sub/a b&\"<x>.glb" } },
    } }))
    assert.equal(0, res.models)
    res = assert(gallery.write(dir, { viewer = false, title = evil, jobs = {
      { job_id = evil, name = evil, prompt = evil, kind = evil, files = { dir .. "/sub/a b&\"<x>.glb" } },
    } }))
    assert.equal(1, res.models)
    local html = assert(read(res.path))
    assert.falsy(html:find("<script>alert", 1, true))
    assert.truthy(html:find("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;", 1, true))
    assert.truthy(html:find('href="sub/a%20b%26%22%3Cx%3E.glb"', 1, true))
    assert.falsy(html:find("<model-viewer", 1, true))      -- viewer = false
    for href in html:gmatch('href="([^"]*)"') do assert.falsy(href:find("^/") or href:find("%.%."), href) end
  end)

  it("reads the record file, and takes a GLB's triangles from an inspect function", function()
    write(dir .. "/m.glb", GLB)
    local record = dir .. "/jobs.jsonl"
    write(record, core.encode { job_id = "9", prompt = "from the record", files = { dir .. "/m.glb" } } .. "\n")
    local res = assert(hy3d.gallery(dir, { jobs_file = record, viewer = false,
      inspect = function(path) return { triangles = path == dir .. "/m.glb" and 1234 or 0 } end }))
    assert.equal(1, res.models)
    local html = read(res.path)
    assert.truthy(html:find("from the record", 1, true))
    assert.truthy(html:find("<dt>triangles</dt><dd>1234</dd>", 1, true))
  end)

  it("returns typed errors for what it cannot do, and raises on a programmer's error", function()
    local res, err = hy3d.gallery(dir .. "/nosuch", { jobs = {} })
    assert.is_nil(res)
    assert.same({ "io", "GALLERY_DIR" }, { err.kind, err.code })
    res, err = hy3d.gallery("relative", { jobs = {}, getenv = function() return nil end })
    assert.is_nil(res)
    assert.equal("GALLERY_DIR", err.code)
    res, err = hy3d.gallery(dir, { jobs_file = dir })              -- a folder is no record
    assert.is_nil(res)
    assert.equal("RECORD_UNREADABLE", err.code)
    write(dir .. "/m.glb", GLB)
    res, err = hy3d.gallery(dir, { viewer = dir .. "/missing.js", jobs = { { job_id = "1", files = { dir .. "/m.glb" } } } })
    assert.is_nil(res)
    assert.same({ "io", "NO_VIEWER" }, { err.kind, err.code })
    assert.has_error(function() hy3d.gallery(nil) end)
    assert.has_error(function() hy3d.gallery(dir, { bogus = 1 }) end)
    assert.has_error(function() hy3d.gallery(dir, { viewer = 3 }) end)
  end)

  it("finds the viewer a checkout's make deps-viewer fetched, or the one HY3D_MODEL_VIEWER names", function()
    assert.equal("/x/v.js", gallery.viewer_path(function(k) return k == "HY3D_MODEL_VIEWER" and "/x/v.js" or nil end))
    local found = gallery.viewer_path(function() return nil end)
    if sandbox.exists("build/model-viewer/model-viewer-umd.min.js") then
      assert.matches("/build/model%-viewer/model%-viewer%-umd%.min%.js$", found)
    end
  end)
end)
