-- The result cache (cache_dir): an identical generate sends no request and pays nothing, a changed parameter or image byte
-- is a real job, a corrupted entry is fetched again and repaired, cache = false bypasses it, entries are owner-only.
local hy3d = require "hy3d"
local cache = require "hy3d.cache"
local images = require "spec.support.images"
local sandbox = require "spec.support.sandbox"

local read_file, write_file, q = sandbox.read_file, sandbox.write_file, sandbox.shell_quote

local function mode(path)
  local ok, out = sandbox.run("stat -c %a " .. q(path))
  assert(ok, out)
  return (out:gsub("%s+$", ""))
end

local function ls(dir)
  local _, out = sandbox.run("ls -A " .. q(dir))
  local names = {}
  for name in out:gmatch("[^\n]+") do names[#names + 1] = name end
  return names
end

describe("the result cache", function()
  local sb = sandbox.suite { wait_time = 0.05, run_time = 0.1 }
  local root, cdir, out1, out2

  before_each(function()
    root = sandbox.tmpdir()
    cdir, out1, out2 = root .. "/cache", root .. "/one", root .. "/two"
  end)
  after_each(function() os.execute("rm -rf " .. q(root)) end)

  local function client(extra)
    local o = { poll_interval = 0.05, cache_dir = cdir }
    for k, v in pairs(extra or {}) do o[k] = v end
    return sb:client(o)
  end

  it("answers a second identical generate from the cache: zero requests, no credits, the same files", function()
    local c = client()
    local r1 = assert(c:generate("a red cube", { dir = out1, formats = { "GLB", "OBJ" }, extract = true }))
    assert.is_nil(r1.cached)
    local seen, created = #sb:requests(), sb:stats().jobs_created
    assert.equal(1, created)
    local r2 = assert(c:generate("a red cube", { dir = out2, formats = { "GLB", "OBJ" }, extract = true }))
    assert.is_true(r2.cached)
    assert.equal(seen, #sb:requests(), "a cache hit sends nothing")
    assert.equal(created, sb:stats().jobs_created)
    assert.equal(r1.job.JobId, r2.job.JobId)
    assert.equal(0, r2.result.ResultCreditConsumed)
    assert.equal(#r1.files, #r2.files)
    for i, f in ipairs(r1.files) do
      local g = r2.files[i]
      assert.equal(f.type, g.type)
      assert.equal(f.path:gsub("^" .. out1:gsub("%p", "%%%0"), ""), (g.path:gsub("^" .. out2:gsub("%p", "%%%0"), "")))
      assert.equal(read_file(f.path), read_file(g.path))
      assert.equal(f.bytes, g.bytes)
      if f.dir then assert.same(f.entries, g.entries) end
    end
    -- a fresh client (another run of the build) hits the same entry
    local r3 = assert(client():generate("a red cube", { dir = out2, name = "cube", formats = { "glb", "obj" } }))
    assert.is_true(r3.cached)
    assert.equal(out2 .. "/cube.glb", r3.files[1].path)
    assert.equal(out2 .. "/cube.zip", r3.files[2].path)
    assert.equal(seen, #sb:requests())
  end)

  it("keys on the parameters: a changed one is a real job", function()
    local c = client()
    assert(c:generate({ Prompt = "a chair", FaceCount = 40000 }, { dir = out1 }))
    local r = assert(c:generate({ FaceCount = 40001, Prompt = "a chair" }, { dir = out1 }))
    assert.is_nil(r.cached)
    assert.equal(2, sb:stats().jobs_created)
    local again = assert(c:generate({ FaceCount = 40001, Prompt = "a chair" }, { dir = out1 }))
    assert.is_true(again.cached, "the order of the fields does not matter")
    assert.equal(2, sb:stats().jobs_created)
  end)

  it("keys on the image's bytes: one changed byte is a real job", function()
    local c = client()
    local png = images.png(512, 512, 2000)
    local a = assert(hy3d.image(write_file(root .. "/a.png", png)))
    local b = assert(hy3d.image(write_file(root .. "/b.png", png:sub(1, 100) .. "y" .. png:sub(102))))
    assert(c:generate({ ImageBase64 = a }, { dir = out1 }))
    assert.is_true(assert(c:generate({ ImageBase64 = a }, { dir = out1 })).cached)
    local r = assert(c:generate({ ImageBase64 = b }, { dir = out1 }))
    assert.is_nil(r.cached)
    assert.equal(2, sb:stats().jobs_created)
  end)

  it("keys on the door's URL, never on the credentials", function()
    assert(client():generate("a lamp", { dir = out1 }))
    local k1 = cache.key { door = "gateway", base_url = sb.url, site = "mainland", kind = "pro", params = { Prompt = "a lamp" } }
    assert.equal(k1, cache.key { door = "gateway", base_url = sb.url, site = "mainland", params = { Prompt = "a lamp" },
      formats = { "glb" } })
    assert.not_equal(k1, cache.key { door = "gateway", base_url = sb.url .. "/other", site = "mainland",
      params = { Prompt = "a lamp" } })
    assert.is_table(cache.new(cdir):lookup(k1), "the entry is under the key of door, URL, kind, formats, params")
    assert(client():generate("a lamp for " .. sb.key, { dir = out1 }))   -- a prompt that holds the key
    local _, all = sandbox.run("cat " .. q(cdir) .. "/index " .. q(cdir) .. "/entries/*")
    assert.is_nil(all:find(sb.key, 1, true), "no credential in the cache's files")
    assert.matches("a lamp for ", all, 1, true)
  end)

  for _, how in ipairs { "flipped", "truncated", "missing" } do
    it("fetches a " .. how .. " entry again with a real job and repairs it, never returning it", function()
      local c = client()
      local r1 = assert(c:generate("a vase", { dir = out1 }))
      local objects = ls(cdir .. "/objects")
      assert.equal(1, #objects)
      local obj = cdir .. "/objects/" .. objects[1]
      local data = read_file(obj)
      if how == "flipped" then
        write_file(obj, data:sub(1, 20) .. string.char((data:byte(21) + 1) % 256) .. data:sub(22))
      elseif how == "truncated" then
        write_file(obj, data:sub(1, #data - 1))
      else
        os.remove(obj)
      end
      local r2 = assert(c:generate("a vase", { dir = out2 }))
      assert.is_nil(r2.cached)
      assert.is_true(r2.cache_repaired)
      assert.equal(2, sb:stats().jobs_created)
      assert.equal(#read_file(r1.files[1].path), r2.files[1].bytes)
      assert.equal(data, read_file(obj), "the entry is whole again")
      local r3 = assert(c:generate("a vase", { dir = out2 }))
      assert.is_true(r3.cached)
      assert.equal(2, sb:stats().jobs_created)
    end)
  end

  it("is bypassed with cache = false, and off without cache_dir", function()
    local c = client()
    assert(c:generate("a boat", { dir = out1 }))
    local r = assert(c:generate("a boat", { dir = out1, cache = false }))
    assert.is_nil(r.cached)
    r = assert(sb:client { poll_interval = 0.05 }:generate("a boat", { dir = out1 }))
    assert.is_nil(r.cached)
    assert.equal(3, sb:stats().jobs_created)
  end)

  it("keeps the folder owner-only (0700) and every file in it 0600, files named by their SHA-256", function()
    assert(client():generate("a bell", { dir = out1, formats = { "GLB", "STL" } }))
    assert.equal("700", mode(cdir))
    assert.equal("700", mode(cdir .. "/objects"))
    assert.equal("700", mode(cdir .. "/entries"))
    assert.equal("600", mode(cdir .. "/index"))
    for _, name in ipairs(ls(cdir .. "/objects")) do
      assert.matches("^%x+$", name)
      assert.equal(64, #name)
      assert.equal("600", mode(cdir .. "/objects/" .. name))
    end
    for _, name in ipairs(ls(cdir .. "/entries")) do
      assert.matches("^%x+%.json$", name)
      assert.equal("600", mode(cdir .. "/entries/" .. name))
    end
  end)

  it("lists entries and clears all of them, or only the older ones", function()
    local c = client()
    assert(c:generate("an old tree", { dir = out1 }))
    assert(c:generate("a new tree", { dir = out1 }))
    local store = cache.new(cdir)
    local list = store:list()
    assert.equal(2, #list)
    assert.equal("an old tree", list[1].prompt)
    assert.equal("pro", list[1].kind)
    assert.is_true(list[1].bytes > 0)
    -- age the first entry by a day (its manifest says when it was made)
    local path = cdir .. "/entries/" .. list[1].key .. ".json"
    local m = require("cjson").decode(read_file(path))
    m.created = m.created - 2 * 86400
    write_file(path, require("cjson").encode(m))
    local removed = store:clear { older_than = 86400 }
    assert.equal(1, removed)
    list = store:list()
    assert.equal(1, #list)
    assert.equal("a new tree", list[1].prompt)
    assert.is_true(assert(c:generate("a new tree", { dir = out1 })).cached)
    assert.equal(1, (store:clear()))
    assert.same({}, store:list())
    assert.same({}, ls(cdir .. "/objects"))
    assert.is_nil(assert(c:generate("a new tree", { dir = out1 })).cached)
  end)

  it("says so, sending nothing, when a hit cannot be copied into the user's folder", function()
    local c = client()
    assert(c:generate("a clay pot", { dir = out1 }))
    local seen = #sb:requests()
    write_file(root .. "/afile", "not a folder")
    local r, err = c:generate("a clay pot", { dir = root .. "/afile/sub" })
    assert.is_nil(r)
    assert.equal("io", err.kind)
    assert.equal(seen, #sb:requests(), "the entry is good: no job is paid for again")
  end)

  it("takes a manifest that names a path, not a type, for a miss: nothing lands outside the folder", function()
    local c = client()
    assert(c:generate("a paper crane", { dir = out1 }))
    local key = cache.new(cdir):list()[1].key
    local path = cdir .. "/entries/" .. key .. ".json"
    local m = require("cjson").decode(read_file(path))
    m.files[1].type, m.files[1].ext, m.job_id = "../../evil", "glb/../../x", "../../../escaped"
    write_file(path, require("cjson").encode(m))
    local r = assert(c:generate("a paper crane", { dir = out2 }))
    assert.is_nil(r.cached)
    assert.equal(2, sb:stats().jobs_created)
    assert.is_false(sandbox.exists(root .. "/evil.glb"))
    assert.is_false(sandbox.exists(root .. "/escaped.glb"))
    assert.same({ r.job.JobId .. ".glb" }, ls(out2))
  end)

  it("refuses a bad cache_dir at hy3d.new", function()
    assert.has_error(function() hy3d.new { api_key = sb.key, base_url = sb.url, cache_dir = "" } end,
      "hy3d.new: cache_dir must be a folder path")
    assert.has_error(function() hy3d.new { api_key = sb.key, base_url = sb.url, cache_dir = 5 } end)
  end)
end)

describe("the cache's canonical JSON", function()
  it("sorts keys at every depth and writes whole numbers without a fraction", function()
    assert.equal('{"a":[1,2.5,{"x":true,"y":"z"}],"b":3}', cache.canonical { b = 3, a = { 1, 2.5, { y = "z", x = true } } })
    assert.equal(cache.canonical { A = 1, B = { C = 2, D = 3 } }, cache.canonical { B = { D = 3, C = 2 }, A = 1 })
  end)

  it("enters long strings by their SHA-256", function()
    local long = ("x"):rep(cache.LONG + 1)
    assert.equal(('{"#sha256":"%s","#bytes":%d}'):format(require("hy3d.core").sha256(long, "hex"), #long),
      cache.canonical(long))
  end)

  it("has no key for what JSON cannot hold", function()
    assert.is_nil(cache.canonical { f = print })
    assert.is_nil(cache.canonical(0 / 0))
  end)
end)
