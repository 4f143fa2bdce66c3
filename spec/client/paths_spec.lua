-- A hostile server against download_files: a result's Type, its URL and the JobId never put a
-- file outside the folder the caller gave (with and without extract, one format or "all"), and an
-- archive it serves unpacks only within max_bytes and a sane compression ratio.
local cjson = require "cjson"
local sandbox = require "spec.support.sandbox"
local zips = require "spec.support.zips"

local exists, q = sandbox.exists, sandbox.shell_quote

-- Every path under root (files, folders, links), relative to it, sorted.
local function listing(root)
  local p = assert(io.popen("cd " .. q(root) .. " && find . -mindepth 1 | LC_ALL=C sort"))
  local out = {}
  for line in p:lines() do out[#out + 1] = line:sub(3) end
  p:close()
  return out
end

-- The entries of a listing that are not `inside` (a path relative to the listed root) or under it.
local function outside(list, inside)
  local out = {}
  for _, p in ipairs(list) do
    if p ~= inside and p:sub(1, #inside + 1) ~= inside .. "/" then out[#out + 1] = p end
  end
  return out
end

-- Makes the sandbox's next query answer DONE with these result files (a hostile server).
local function answer_query(sb, job_id, list, times)
  sb:fault { route = "query", action = "status", status = 200, content_type = "application/json", count = times or 1,
             body = cjson.encode { Response = { Status = "DONE", JobId = job_id, ErrorCode = "", ErrorMessage = "",
                                                ResultFile3Ds = list, RequestId = "hostile" } } }
end

local SAFE_FILE = "^[A-Za-z0-9][A-Za-z0-9_%-]*%.[a-z0-9]+$"
local SAFE_DIR = "^[A-Za-z0-9][A-Za-z0-9_%-]*$"

describe("download_files with hostile names", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0 }   -- reset before each: no fault of a test outlives it
  local client, job, glb, obj, root, dir

  setup(function()
    client = sb:client()
  end)

  before_each(function()
    job = assert(client:wait(assert(client:submit { Prompt = "a teapot" }), { interval = 0.05 }))
    glb, obj = nil, nil
    for _, f in ipairs(job.ResultFile3Ds) do
      if f.Type == "GLB" then glb = f.Url elseif f.Type == "OBJ" then obj = f.Url end
    end
    assert(glb and obj, "the sandbox job has a GLB and an OBJ zip")
    root = sandbox.tmpdir()
    dir = root .. "/out"
    sandbox.write_file(root .. "/victim", "precious\n")
  end)
  after_each(function() os.execute("rm -rf " .. q(root)) end)

  -- Every file and folder download_files reports sits directly in dir, under a safe name.
  local function assert_inside(got)
    for _, f in ipairs(got) do
      local name = f.path:sub(#dir + 2)
      assert.equal(dir .. "/", f.path:sub(1, #dir + 1))
      assert.matches(SAFE_FILE, name)
      assert.is_true(exists(f.path), f.path)
      assert.matches("^[A-Z0-9][A-Z0-9_]*$", f.type)
      if f.dir then
        assert.equal(dir .. "/", f.dir:sub(1, #dir + 1))
        assert.matches(SAFE_DIR, f.dir:sub(#dir + 2))
      end
    end
  end

  local TYPES = {
    { "an absolute path up and out", "/../../../../../../../../../../../..%s/abs" },
    { "a relative escape", "/../../escape" },
    { "\"..\"", ".." },
    { "a slash", "a/b" },
    { "a NUL byte", "/../../victim\0" },
    { "an empty string", "" },
    { "a very long name", ("A"):rep(5000) },
    { "control and terminal bytes", "\27[31mRED\n" },
  }
  for _, case in ipairs(TYPES) do
    for _, extract in ipairs { false, true } do
      it(("keeps a Type with %s inside dir (extract %s)"):format(case[1], tostring(extract)), function()
        local ftype = case[2]:find("%%s") and case[2]:format(root) or case[2]
        -- an OBJ zip with an empty Type first: without safe names it creates the folder <id>_
        -- that the later "../" walks out of
        answer_query(sb, job.JobId, { { Type = "", Url = obj }, { Type = "GLB", Url = glb }, { Type = ftype, Url = glb },
                                      { Type = ftype, Url = obj } })
        local before = listing(root)
        local got, err = client:download_files(job.JobId, { dir = dir, formats = { "all" }, extract = extract })
        assert.is_table(got, tostring(err and err.message))
        assert.same(before, outside(listing(root), "out"))
        assert.equal("precious\n", sandbox.read_file(root .. "/victim"))
        assert.equal(4, #got)
        assert_inside(got)
        local paths = {}
        for _, f in ipairs(got) do
          assert.is_nil(paths[f.path], "two results never share a file")
          paths[f.path] = true
          if f.dir then
            assert.is_nil(paths[f.dir], "two archives never share a folder")
            paths[f.dir] = true
          end
          if extract and f.path:match("%.zip$") then assert.is_true(exists(f.dir .. "/model.obj")) end
        end
      end)
    end
  end

  it("names files from a safe form of the Type and of the URL's extension", function()
    answer_query(sb, job.JobId, { { Type = "GLB", Url = glb }, { Type = "x/../Gl B\0", Url = glb },
                                  { Type = "../..", Url = sb.url .. "/_sandbox/blob?size=10" },
                                  { Type = "glb", Url = glb }, { Type = "GLB", Url = glb } })
    local got = assert(client:download_files(job.JobId, { dir = dir, name = "m", formats = { "all" } }))
    assert.equal(dir .. "/m.glb", got[1].path)
    assert.equal("X_GL_B", got[2].type)
    assert.equal(dir .. "/m_x_gl_b.glb", got[2].path)
    assert.equal("FILE", got[3].type)
    assert.equal(dir .. "/m.file", got[3].path)
    assert.equal(dir .. "/m_glb.glb", got[4].path)
    assert.equal(dir .. "/m_glb_2.glb", got[5].path, "a third file of one type gets a number, never a path taken")
    assert.same({ "m.file", "m.glb", "m_glb.glb", "m_glb_2.glb", "m_x_gl_b.glb" }, listing(dir))
  end)

  it("picks a single format by its Type without being fooled by one with a path in it", function()
    answer_query(sb, job.JobId, { { Type = "../GLB", Url = obj }, { Type = "GLB", Url = glb } })
    local before = listing(root)
    local got = assert(client:download_files(job.JobId, { dir = dir, formats = { "GLB" }, extract = true }))
    assert.equal(1, #got)
    assert.equal(dir .. "/" .. job.JobId .. ".glb", got[1].path)
    assert.same(before, outside(listing(root), "out"))
    assert.same({ job.JobId .. ".glb" }, listing(dir))
  end)

  local JOB_IDS = {
    { "a path", "../../evil", "evil" },
    { "an absolute path", "/tmp/evil", "tmp_evil" },
    { "nothing safe", "../..", "result" },
    { "a NUL byte", "../victim\0", "victim" },
  }
  for _, case in ipairs(JOB_IDS) do
    it("names files after a JobId with " .. case[1] .. " safely and returns rather than raising", function()
      answer_query(sb, case[2], { { Type = "GLB", Url = glb }, { Type = "OBJ", Url = obj } })
      local before = listing(root)
      local ok, got, err = pcall(client.download_files, client, job.JobId,
                                 { dir = dir, formats = { "GLB", "OBJ" }, extract = true })
      assert.is_true(ok, tostring(got))
      assert.is_table(got, tostring(err and err.message))
      assert.same(before, outside(listing(root), "out"))
      assert.equal(dir .. "/" .. case[3] .. ".glb", got[1].path)
      assert.equal(dir .. "/" .. case[3] .. "_obj", got[2].dir)
      assert_inside(got)
    end)
  end

  it("refuses a server's JobId that is neither a string nor a whole number, with a typed error", function()
    for _, bad in ipairs { 1.5, { 1 }, true } do
      local res = { Status = "DONE", JobId = bad, ResultFile3Ds = { { Type = "GLB", Url = glb } } }
      local ok, got, err = pcall(client.download_files, client, res, { dir = dir })
      assert.is_true(ok, tostring(got))
      assert.is_nil(got)
      assert.equal("decode", err.kind)
      assert.equal("BAD_JOB_ID", err.code)
    end
    local res = { Status = "DONE", JobId = 1234567, ResultFile3Ds = { { Type = "GLB", Url = glb } } }
    local got = assert(client:download_files(res, { dir = dir }))
    assert.equal(dir .. "/1234567.glb", got[1].path)
    assert.is_false(exists(dir .. "/inf.glb"))
  end)

  it("still raises for the caller's own bad name, and refuses a dir holding a NUL", function()
    local res = { Status = "DONE", JobId = "1", ResultFile3Ds = { { Type = "GLB", Url = glb } } }
    for _, name in ipairs { "../x", "a/b", "", ".", "..", "x\0y" } do
      assert.has_error(function() client:download_files(res, { dir = dir, name = name }) end)
    end
    local got, err = client:download_files(res, { dir = root .. "/victim\0/x" })
    assert.is_nil(got)
    assert.equal("invalid", err.kind)
    assert.equal("BAD_PATH", err.code)
    assert.equal("precious\n", sandbox.read_file(root .. "/victim"))
    assert.same({ "victim" }, listing(root))
  end)
end)

describe("download_files with hostile archives", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0 }
  local client, root

  setup(function()
    client = sb:client()
  end)
  before_each(function()
    root = sandbox.tmpdir()
  end)
  after_each(function() os.execute("rm -rf " .. q(root)) end)

  -- The file host's next answer is this zip; a DONE result whose one OBJ file it is.
  local function serve_zip(entries)
    local data = zips.build(entries)
    sb:fault { route = "files", action = "status", status = 200, content_type = "application/zip", body = data }
    return { Status = "DONE", JobId = "1", ResultFile3Ds = { { Type = "OBJ", Url = sb.url .. "/files/1/model.zip" } } },
      #data
  end

  it("bounds what an archive unpacks to by max_bytes, not only its download", function()
    local res, size = serve_zip { { name = "model.obj", data = zips.noise(300000), deflate = true } }
    assert.is_true(size < 150000, "the zip itself is within max_bytes")
    local got, err = client:download_files(res, { dir = root, formats = { "OBJ" }, extract = true, max_bytes = 150000 })
    assert.is_nil(got)
    assert.equal("io", err.kind)
    assert.equal("ZIP_TOO_BIG", err.code)
    assert.equal("1", err.job_id)
    assert.equal(root .. "/1.zip", err.files[1].path)
    assert.equal(size, #sandbox.read_file(root .. "/1.zip"), "the download is kept")
    assert.is_false(exists(root .. "/1_obj"), "nothing of the archive is left")
  end)

  it("unpacks the same archive when max_bytes allows it", function()
    local res = serve_zip { { name = "model.obj", data = zips.noise(300000), deflate = true } }
    local got = assert(client:download_files(res, { dir = root, formats = { "OBJ" }, extract = true, max_bytes = 400000 }))
    assert.equal(root .. "/1_obj", got[1].dir)
    assert.equal(300000, #sandbox.read_file(root .. "/1_obj/model.obj"))
  end)

  it("refuses a zip bomb by its compression ratio even without max_bytes", function()
    local res = serve_zip { { name = "model.obj", data = ("\0"):rep(2000000), deflate = true } }
    local got, err = client:download_files(res, { dir = root, formats = { "OBJ" }, extract = true })
    assert.is_nil(got)
    assert.equal("ZIP_RATIO", err.code)
    assert.equal("model.obj", err.entry)
    assert.same({ "1.zip" }, listing(root))
  end)
end)
