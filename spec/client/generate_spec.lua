-- client:generate and client:download_files: from a prompt to model files on disk in one call,
-- JobIds kept on every failure, formats picked, zips extracted, expired URLs refreshed.
local hy3d = require "hy3d"
local cjson = require "cjson"
local binary = require "spec.support.binary"
local sandbox = require "spec.support.sandbox"

local exists = sandbox.exists

local function is_glb(path)
  local data = sandbox.read_file(path)
  return data and data:sub(1, 4) == "glTF" and binary.u32le(data, 9) == #data
end

describe("generate", function()
  local sb = sandbox.suite { wait_time = 0.05, run_time = 0.1, reset = false }
  local client, dir

  setup(function()
    client = sb:client { poll_interval = 0.05 }
  end)

  before_each(function() dir = sandbox.tmpdir() end)
  after_each(function()
    os.execute("rm -rf '" .. dir .. "'")
    sb:config { url_ttl = 86400 }
  end)


  it("turns a prompt into a GLB on disk in one call, telling each step", function()
    local events = {}
    local r, err = client:generate("a small dog", {
      dir = dir,
      on_submit = function(job) events[#events + 1] = "submit " .. job.JobId end,
      on_status = function(res) events[#events + 1] = res.Status end,
      on_progress = function(done, total, ftype) events[#events + 1] = ("%s %d/%s"):format(ftype, done, tostring(total)) end,
    })
    assert.is_table(r, tostring(err))
    assert.matches("^%d+$", r.job.JobId)
    assert.equal("pro", r.job.kind)
    assert.equal("DONE", r.result.Status)
    assert.equal(r.job.JobId, r.result.JobId)
    assert.equal(1, #r.files)
    local f = r.files[1]
    assert.equal("GLB", f.type)
    assert.equal(dir .. "/" .. r.job.JobId .. ".glb", f.path)
    assert.is_true(is_glb(f.path))
    assert.equal(#sandbox.read_file(f.path), f.bytes)
    assert.equal("submit " .. r.job.JobId, events[1])
    assert.equal(("GLB %d/%d"):format(f.bytes, f.bytes), events[#events])
    local done_at, first_progress
    for i, e in ipairs(events) do
      if e == "DONE" then done_at = i end
      if not first_progress and e:match("^GLB ") then first_progress = i end
    end
    assert.is_number(done_at, table.concat(events, ", "))
    assert.is_true(done_at < first_progress, "the job was DONE before its file came")
  end)

  it("downloads the formats asked for and extracts the OBJ zip into a folder", function()
    local r = assert(client:generate({ Prompt = "a wooden chair" }, { dir = dir .. "/models", name = "chair",
      formats = { "glb", "OBJ" }, extract = true }))
    assert.equal(2, #r.files)
    assert.equal(dir .. "/models/chair.glb", r.files[1].path)
    assert.is_true(is_glb(r.files[1].path))
    local obj = r.files[2]
    assert.equal("OBJ", obj.type)
    assert.equal(dir .. "/models/chair.zip", obj.path)
    assert.equal(dir .. "/models/chair_obj", obj.dir)
    table.sort(obj.entries)
    assert.same({ "model.mtl", "model.obj", "texture.png" }, obj.entries)
    assert.matches("\nv ", sandbox.read_file(obj.dir .. "/model.obj"))
    assert.is_true(exists(obj.path), "the zip itself is kept")
  end)

  it("downloads every file with formats = {\"all\"}", function()
    local r = assert(client:generate("a lamp", { dir = dir, name = "lamp", formats = { "all" } }))
    local types = {}
    for _, f in ipairs(r.files) do
      types[#types + 1] = f.type
      assert.is_true(exists(f.path))
    end
    assert.is_true(#types >= 2)
    assert.equal(#types, #r.result.ResultFile3Ds)
  end)

  it("keeps the JobId and the result when the format asked for is not among the results", function()
    sb:config { result_format = "replace" }         -- the service's ResultFormat replaces OBJ+GLB here
    local r, err = client:generate({ Prompt = "a cup", ResultFormat = "FBX" }, { dir = dir, formats = { "GLB" } })
    sb:config { result_format = "add" }
    assert.is_nil(r)
    assert.equal("invalid", err.kind)
    assert.equal("NO_SUCH_FORMAT", err.code)
    assert.matches("^%d+$", err.job_id)
    assert.equal("DONE", err.result.Status)
    assert.matches("FBX", err.message)
  end)

  it("never submits a job whose files it cannot deliver, and asks for the one extra format itself", function()
    local function submits() return #sb:requests("submit") end
    local before = submits()
    for _, case in ipairs {
      { { Prompt = "a cup" }, { "MP4" } },                          -- no pro job makes one
      { { Prompt = "a cup" }, { "STL", "FBX" } },                    -- one extra format at most
      { { Prompt = "a cup", ResultFormat = "STL" }, { "FBX" } },     -- asked for another
      { { Prompt = "a cup", GenerateType = "Geometry" }, { "OBJ" } }, -- a Geometry job makes a GLB
    } do
      local params = case[1]
      local r, err = client:generate(params, { dir = dir, formats = case[2] })
      assert.is_nil(r)
      assert.equal("invalid", err.kind)
      assert.equal("FORMAT_NOT_REQUESTED", err.code)
      assert.matches("nothing was sent", err.message, 1, true)
      assert.is_nil(err.job_id)
    end
    assert.has_error(function() client:generate("a cup", { dir = dir, formats = { "GLB", 42 } }) end,
      "hy3d generate: formats must be a list of strings")
    assert.equal(before, submits(), "a job was submitted")
    -- one extra format: generate sets ResultFormat (leaving the caller's table alone) and delivers it
    local params = { Prompt = "a printable cup" }
    local r = assert(client:generate(params, { dir = dir, name = "cup", formats = { "GLB", "stl" } }))
    assert.is_nil(params.ResultFormat)
    assert.same({ "GLB", "STL" }, { r.files[1].type, r.files[2].type })
    local sent = sb:requests("submit")
    assert.equal(before + 1, submits())
    assert.equal("STL", cjson.decode(sent[#sent].body).ResultFormat)
    -- what the kind makes anyway, or "all", needs nothing
    assert(client:generate("a plain cup", { dir = dir, formats = { "OBJ", "GLB" } }))
    assert(client:generate("any cup", { dir = dir, formats = { "all" } }))
    sent = sb:requests("submit")
    assert.is_nil(cjson.decode(sent[#sent].body).ResultFormat)
  end)

  it("keeps the JobId when the job fails or the wait times out", function()
    sb:fault { action = "fail", code = "FailedOperation.ServerError", message = "boom" }
    local r, err = client:generate("a vase", { dir = dir })
    assert.is_nil(r)
    assert.equal("job", err.kind)
    assert.equal("FailedOperation.ServerError", err.code)
    assert.matches("^%d+$", err.job_id)
    sb:config { run_time = 5 }
    r, err = client:generate("a slow vase", { dir = dir, timeout = 0.3 })
    sb:config { run_time = 0.1 }
    assert.is_nil(r)
    assert.equal("timeout", err.kind)
    assert.matches("^%d+$", err.job_id)
  end)

  it("reports an on_submit that raises, with the JobId", function()
    local r, err = client:generate("a box", { on_submit = function() error("disk full") end })
    assert.is_nil(r)
    assert.equal("callback", err.kind)
    assert.matches("disk full", err.message)
    assert.matches("^%d+$", err.job_id)
  end)

  it("refuses bad arguments loudly", function()
    assert.has_error(function() client:generate(42) end)
    assert.has_error(function() client:generate("x", { format = { "GLB" } }) end)
    assert.has_error(function() client:download_files("123", { formats = "GLB" }) end)
  end)

  it("runs inside hy3d.spawn without blocking the loop", function()
    local task = hy3d.spawn(function() return client:generate("a spawned fox", { dir = dir }) end)
    local frames = 0
    while task:status() ~= "done" and task:status() ~= "failed" and frames < 100000 do
      hy3d.update()
      frames = frames + 1
      require("socket").sleep(0.001)
    end
    local r = task:result()
    assert.is_table(r, tostring(task.error))
    assert.is_true(is_glb(r.files[1].path))
    assert.is_true(frames > 5)
  end)

  it("asks a rapid job for the one file wanted, or refuses before submitting", function()
    local api3 = hy3d.new { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url,
                            poll_interval = 0.05 }
    finally(function() api3:close() end)
    local function submits() return sb:stats().requests.SubmitHunyuanTo3DRapidJob or 0 end
    local before = submits()
    for _, case in ipairs {
      { { Prompt = "a robot" }, { "OBJ", "GLB" } },                 -- a rapid job makes one file
      { { Prompt = "a robot", ResultFormat = "FBX" }, { "GLB" } },   -- asked for another
      { { Prompt = "a robot" }, { "GIF" } },                         -- not a rapid format
    } do
      local r, err = api3:generate(case[1], { kind = "rapid", dir = dir, formats = case[2] })
      assert.is_nil(r)
      assert.equal("FORMAT_NOT_REQUESTED", err.code)
    end
    assert.equal(before, submits(), "a job was submitted")
    -- the default GLB: a rapid job makes OBJ unless asked, so generate asks
    local r = assert(api3:generate("a rapid glb", { kind = "rapid", dir = dir }))
    assert.equal("GLB", r.files[1].type)
    r = assert(api3:generate("a rapid usdz", { kind = "rapid", dir = dir, formats = { "usdz" } }))
    assert.equal("USDZ", r.files[1].type)
  end)

  it("generates through API 3.0 with another job kind", function()
    local api3 = hy3d.new { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url,
                            poll_interval = 0.05 }
    local r = assert(api3:generate("a rapid robot", { kind = "rapid", dir = dir, formats = { "OBJ" }, extract = true }))
    assert.equal("rapid", r.job.kind)
    assert.is_true(exists(r.files[1].dir .. "/model.obj"))
    api3:close()
  end)
end)

describe("download_files", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0, reset = false }
  local client, dir, result

  setup(function()
    client = sb:client()
    result = assert(client:wait(assert(client:submit { Prompt = "a teapot" }), { interval = 0.05 }))
  end)

  before_each(function() dir = sandbox.tmpdir() end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("takes a JobId and queries the job first", function()
    local files = assert(client:download_files(result.JobId, { dir = dir }))
    assert.equal(dir .. "/" .. result.JobId .. ".glb", files[1].path)
    assert.is_true(is_glb(files[1].path))
  end)

  it("refuses a job that is not DONE yet", function()
    sb:config { run_time = 30 }
    local job = assert(client:submit { Prompt = "still running" })
    sb:config { run_time = 0 }
    local files, err = client:download_files(job, { dir = dir })
    assert.is_nil(files)
    assert.equal("invalid", err.kind)
    assert.equal("NOT_DONE", err.code)
    assert.equal(job.JobId, err.job_id)
  end)

  it("re-queries the job once for fresh URLs when the stored ones expired", function()
    local stale = { JobId = result.JobId, kind = "pro", Status = "DONE", ResultFile3Ds = {} }
    for i, f in ipairs(result.ResultFile3Ds) do
      stale.ResultFile3Ds[i] = { Type = f.Type, Url = f.Url:gsub("q%-sign%-time=%d+%%3B%d+", "q-sign-time=1000%%3B2000") }
    end
    local queries = #sb:requests("query")
    local files = assert(client:download_files(stale, { dir = dir, formats = { "GLB", "OBJ" } }))
    assert.is_true(is_glb(files[1].path))
    assert.equal(queries + 2, #sb:requests("query"), "one query per expired file")
  end)

  it("survives URLs that really expire (url_ttl) between the query and the download", function()
    sb:config { url_ttl = 1 }
    local res = assert(client:wait(assert(client:submit { Prompt = "an expiring hat" }), { interval = 0.05 }))
    sb:advance(2)                                     -- the sandbox's clock: past the 1 s window, whatever second it began in
    local queries, seen = #sb:requests("query"), #sb:requests("files")
    local files = assert(client:download_files(res, { dir = dir }))
    sb:config { url_ttl = 86400 }
    assert.is_true(is_glb(files[1].path))
    local fetched = sb:requests("files")
    assert.equal(seen + 2, #fetched)                  -- refused as expired, then fetched from the fresh URL
    assert.same({ 403, 200 }, { fetched[seen + 1].status, fetched[seen + 2].status })
    assert.equal(queries + 1, #sb:requests("query"))  -- one query for the fresh URL
  end)

  it("reports an archive that would escape its folder, and keeps the downloaded zip", function()
    -- a job result pointing at a hostile zip served by a second, tiny host: the sandbox's blob
    -- cannot hold one, so a file URL the client fetches is swapped for a local HTTP server's
    local zips = require "spec.support.zips"
    local evil = zips.build { { name = "model.obj", data = "v 0 0 0\n" }, { name = "../escape.txt", data = "x" } }
    local socket = require "socket"
    local server = assert(socket.bind("127.0.0.1", 0))
    local _, port = server:getsockname()
    local url = ("http://127.0.0.1:%d/evil.zip"):format(port)
    local task = hy3d.spawn(function()
      return client:download_files({ JobId = "1", Status = "DONE", ResultFile3Ds = { { Type = "OBJ", Url = url } } },
        { dir = dir, name = "evil", formats = { "OBJ" }, extract = true })
    end)
    server:settimeout(0)
    local served = false
    while task:status() ~= "done" and task:status() ~= "failed" do
      hy3d.update()
      local conn = server:accept()
      if conn then
        conn:settimeout(1)
        repeat local line = conn:receive("*l") until line == "" or not line
        conn:send("HTTP/1.1 200 OK\r\nContent-Length: " .. #evil .. "\r\nConnection: close\r\n\r\n" .. evil)
        conn:close()
        served = true
      end
      socket.sleep(0.001)
    end
    server:close()
    assert.is_true(served)
    local files, err = task:result()
    assert.is_nil(files, tostring(task.error))
    assert.equal("ZIP_UNSAFE_ENTRY", err.code)
    assert.equal("../escape.txt", err.entry)
    assert.equal(dir .. "/evil.zip", err.files[1].path)
    assert.is_true(exists(dir .. "/evil.zip"))
    assert.is_false(exists(dir .. "/escape.txt"))
    assert.is_false(exists(dir .. "/evil_obj"))
  end)
end)

describe("JobIds from a hostile server or a careless caller", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0 }
  local client, dir

  setup(function()
    client = sb:client { poll_interval = 0.05 }
  end)
  before_each(function()
    dir = sandbox.tmpdir()
  end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  -- The sandbox's next answer on `route` is this JSON body (HTTP 200).
  local function answer(route, fields)
    sb:fault { route = route, action = "status", status = 200, content_type = "application/json",
               body = type(fields) == "string" and fields or cjson.encode { Response = fields } }
  end

  it("generates into dir when the submit answers a JobId with a path in it, and never raises", function()
    local real = assert(client:wait(assert(client:submit { Prompt = "a real teapot" }), { interval = 0.05 }))
    answer("submit", { JobId = "../../evil", RequestId = "r1" })
    answer("query", { JobId = "../../evil", Status = "DONE", ErrorCode = "", ErrorMessage = "",
                      ResultFile3Ds = real.ResultFile3Ds, RequestId = "r2" })
    local ok, r, err = pcall(client.generate, client, "a hostile teapot",
                             { dir = dir .. "/out", formats = { "GLB", "OBJ" }, extract = true })
    assert.is_true(ok, tostring(r))
    assert.is_table(r, tostring(err and err.message))
    assert.equal("../../evil", r.job.JobId)
    assert.equal(dir .. "/out/evil.glb", r.files[1].path)
    assert.equal(dir .. "/out/evil_obj", r.files[2].dir)
    assert.is_true(is_glb(r.files[1].path))
    local p = assert(io.popen("cd '" .. dir .. "' && find . -mindepth 1 -maxdepth 1"))
    assert.equal("./out", p:read("*a"):match("^(.-)\n?$"))
    p:close()
  end)

  it("refuses a submit answer whose JobId is 1e400 or 2.5 with a typed error, never \"inf\"", function()
    for _, literal in ipairs { "1e400", "2.5", "-1", "123456789012345678901" } do
      answer("submit", '{"Response":{"JobId":' .. literal .. ',"RequestId":"r"}}')
      local job, err = client:submit { Prompt = "a cup" }
      assert.is_nil(job, literal)
      assert.equal("decode", err.kind)
      assert.equal("NO_JOB_ID", err.code)
    end
    answer("submit", '{"Response":{"JobId":1234567,"RequestId":"r"}}')
    local job = assert(client:submit { Prompt = "a cup" })
    assert.equal("1234567", job.JobId)
  end)

  it("raises for a caller's JobId that is not a string or a whole number, and sends whole numbers as text", function()
    for _, bad in ipairs { 1 / 0, 0 / 0, 2.5, -1, 2 ^ 60, "", true, { JobId = 1 / 0 } } do
      assert.has_error(function() client:query(bad) end)
      assert.has_error(function() client:wait(bad) end)
      assert.has_error(function() client:download_files(bad, { dir = dir }) end)
    end
    local ok, msg = pcall(function() local r = client:download_files(1 / 0); return r end)
    assert.is_false(ok)
    assert.matches("hy3d download_files: expects a job table %(with JobId%) or a JobId", msg)
    assert.matches("generate_spec", msg, nil, true)           -- blamed on the caller, not on hy3d
    local res, err = client:query(42)
    assert.is_nil(res)
    assert.equal("42", err.job_id)
    local sent = sb:requests("query")
    assert.matches('"JobId":"42"', sent[#sent].body, nil, true)
  end)
end)

describe("generate's download_timeout", function()
  it("bounds the downloads: a stalled file host ends the call with the job kept", function()
    local sb = sandbox.start { wait_time = 0, run_time = 0.05 }
    local client = sb:client { poll_interval = 0.05, max_retries = 0 }
    local dir = sandbox.tmpdir()
    finally(function()
      sb:stop()
      os.execute("rm -rf '" .. dir .. "'")
    end)
    sb:fault { route = "files", action = "stall", after = 100, stall = 600 }
    local t0 = require("hy3d.core").now()
    local r, err = client:generate("a stalled dog", { dir = dir, download_timeout = 1 })
    assert.is_true(require("hy3d.core").now() - t0 < 30, "the download outlived download_timeout by far")
    assert.is_nil(r)
    assert.is_table(err)
    assert.matches("^%d+$", err.job_id)
    assert.equal("DONE", err.result.Status)
    assert.equal(1, #sb:requests("files"))
    assert.has_error(function() client:generate("x", { download_timeout = "1" }) end)
  end)
end)
