-- client:download / hy3d.download: exact bytes on disk, progress, resume with Range, atomic
-- rename, the partial file kept only when a later call can resume it, expired URLs refreshed.
local hy3d = require "hy3d"
local http = require "socket.http"
local socket = require "socket"
local binary = require "spec.support.binary"
local sandbox = require "spec.support.sandbox"

local exists = sandbox.exists
local write = sandbox.write_file

-- The blob's fixed pattern, as /_sandbox/blob serves it.
local function pattern(size)
  local p = "0123456789abcdef"
  return p:rep(math.floor(size / 16)) .. p:sub(1, size % 16)
end

describe("download", function()
  local sb, client, result, dir

  setup(function()
    sb = sandbox.start { wait_time = 0, run_time = 0 }
    client = sb:client()
    result = assert(client:wait(assert(client:submit { Prompt = "a chair" })))
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
  end)

  teardown(function()
    sb:stop()
    os.execute("rm -rf " .. dir)
  end)

  local function url_of(kind)
    for _, f in ipairs(result.ResultFile3Ds) do
      if f.Type == kind then return f.Url end
    end
  end

  it("writes exactly the bytes the file host serves", function()
    local url = url_of("GLB")
    local path, bytes = client:download(url, dir .. "/chair.glb")
    assert.equal(dir .. "/chair.glb", path)
    local got = sandbox.read_file(path)
    local expected = assert(http.request(url))
    assert.equal(#expected, bytes)
    assert.equal(expected, got)
    assert.is_false(exists(hy3d.partial_path(url, path)))
  end)

  it("fetches a valid glTF 2.0 binary", function()
    local path = assert(client:download(url_of("GLB"), dir .. "/model.glb"))
    local data = sandbox.read_file(path)
    local magic, version, length = data:sub(1, 4), binary.u32le(data, 5), binary.u32le(data, 9)
    assert.equal("glTF", magic)
    assert.equal(2, version)
    assert.equal(#data, length)
    local json_len, json_type = binary.u32le(data, 13), data:sub(17, 20)
    assert.equal("JSON", json_type)
    local gltf = require("cjson").decode(data:sub(21, 20 + json_len))
    assert.equal("2.0", gltf.asset.version)
    assert.is_true(#gltf.meshes[1].primitives >= 1)
  end)

  it("fetches an OBJ zip and a PNG preview that real tools accept", function()
    local zip = assert(client:download(url_of("OBJ"), dir .. "/model.zip"))
    local ok, out = sandbox.run("unzip -t " .. zip)
    assert.is_true(ok, out)
    assert.matches("model%.obj", out)
    assert.matches("model%.mtl", out)
    local png = assert(client:download(result.ResultFile3Ds[1].PreviewImageUrl, dir .. "/preview.png"))
    ok, out = sandbox.run("pngcheck " .. png)
    assert.is_true(ok, out)
  end)

  it("never sends the API key to the file host", function()
    local before = #sb:requests("files")
    assert(client:download(url_of("GLB"), dir .. "/nokey.glb"))
    local log = sb:requests("files")
    assert.equal(before + 1, #log)
    assert.equal("missing", log[#log].auth)
  end)

  it("leaves no file, and an existing file untouched, when the host answers 404", function()
    local path = dir .. "/keep.glb"
    local f = assert(io.open(path, "wb"))
    f:write("old contents")
    f:close()
    local bad = url_of("GLB"):gsub("/files/%d+/", "/files/1/")
    local p, err = client:download(bad, path)
    assert.is_nil(p)
    assert.equal("http", err.kind)
    assert.equal(404, err.http_status)
    assert.matches("NoSuchKey", err.message)
    assert.equal("old contents", sandbox.read_file(path))
    assert.is_false(exists(hy3d.partial_path(bad, path)))
  end)

  it("reports an expired URL as http 403 and leaves no file", function()
    local stale = url_of("GLB"):gsub("q%-sign%-time=%d+%%3B%d+", "q-sign-time=1000%%3B2000")
    local path = dir .. "/stale.glb"
    local p, err = client:download(stale, path)
    assert.is_nil(p)
    assert.equal(403, err.http_status)
    assert.is_false(exists(path))
    assert.is_false(exists(hy3d.partial_path(stale, path)))
  end)

  it("leaves no file when the connection drops before a byte arrives", function()
    local once = sb:client { max_retries = 0 }
    sb:fault { route = "files", action = "close", count = 1 }
    local path = dir .. "/dropped.glb"
    local p, err = once:download(url_of("GLB"), path)
    assert.is_nil(p)
    assert.equal("network", err.kind)
    assert.is_nil(err.partial)
    assert.is_false(exists(path))
    assert.is_false(exists(hy3d.partial_path(url_of("GLB"), path)))
  end)

  it("gives up when the host stalls longer than a sub-second stall limit", function()
    local once = sb:client { max_retries = 0 }
    sb:fault { route = "files", action = "delay", delay = 5 }
    local path = dir .. "/stalled.glb"
    local p, err = once:download(url_of("GLB"), path, { stall = 0.5 })
    assert.is_nil(p)
    assert.equal("network", err.kind)
    assert.equal("OPERATION_TIMEDOUT", err.code)
    assert.is_false(exists(path))
  end)

  it("refuses files larger than max_bytes", function()
    local path = dir .. "/big.glb"
    local p, err = client:download(url_of("GLB"), path, { max_bytes = 100 })
    assert.is_nil(p)
    assert.equal("io", err.kind)
    assert.equal("MAX_BYTES", err.code)
    assert.is_false(exists(path))
    assert.is_false(exists(hy3d.partial_path(url_of("GLB"), path)))
    -- a resumed download counts the bytes already on disk against the limit too
    local url = sb.url .. "/_sandbox/blob?size=1000"
    write(hy3d.partial_path(url, path), pattern(600))
    p, err = client:download(url, path, { max_bytes = 900 })
    assert.is_nil(p)
    assert.equal("MAX_BYTES", err.code)
    assert.is_false(exists(hy3d.partial_path(url, path)))
  end)

  it("reports an unwritable destination as an io error", function()
    local p, err = client:download(url_of("GLB"), dir .. "/no/such/dir/x.glb")
    assert.is_nil(p)
    assert.equal("io", err.kind)
    assert.equal("OPEN_FAILED", err.code)
  end)

  it("refuses URLs that are not http or https", function()
    local p, err = client:download("file:///etc/passwd", dir .. "/passwd")
    assert.is_nil(p)
    assert.equal("invalid", err.kind)
    assert.is_false(exists(dir .. "/passwd"))
    assert.has_error(function() client:download(url_of("GLB"), dir .. "/x", { maxbytes = 1 }) end)
  end)

  it("yields inside a coroutine and completes", function()
    -- the file host holds its answer 0.3 s: a download that blocked its coroutine would come
    -- back from the first resume already finished
    sb:fault { route = "files", action = "delay", delay = 0.3 }
    local co = coroutine.create(function() return client:download(url_of("GLB"), dir .. "/co.glb") end)
    local out = { assert(coroutine.resume(co)) }
    assert.equal("suspended", coroutine.status(co))
    assert.is_false(exists(dir .. "/co.glb"))     -- the first resume left with the transfer in flight
    local resumes = 1
    while coroutine.status(co) ~= "dead" do
      socket.sleep(0.001)
      out = { assert(coroutine.resume(co)) }
      resumes = resumes + 1
    end
    assert.equal(dir .. "/co.glb", out[2])
    assert.is_true(resumes > 1)
    assert.equal((http.request(url_of("GLB"))), sandbox.read_file(dir .. "/co.glb"))
  end)

  it("streams to disk without holding the body in memory", function()
    local function peak_kb()
      local status = sandbox.read_file("/proc/self/status")
      return tonumber(status:match("VmHWM:%s*(%d+)"))
    end
    local size = 32 * 1024 * 1024
    collectgarbage()
    local before = peak_kb()
    local path, bytes = client:download(sb.url .. "/_sandbox/blob?size=" .. size, dir .. "/blob.bin")
    assert.equal(dir .. "/blob.bin", path)
    assert.equal(size, bytes)
    local f = assert(io.open(path, "rb"))
    assert.equal(size, f:seek("end"))
    f:seek("set", size - 16)
    assert.equal("0123456789abcdef", f:read(16))
    f:close()
    os.remove(path)
    -- a buffered body would raise the peak by the file's 32 MB
    assert.is_true(peak_kb() - before < 8 * 1024, ("peak RSS grew by %d kB"):format(peak_kb() - before))
  end)

  it("reports progress that only grows and ends at the total", function()
    local url = url_of("GLB")
    local size = #assert(http.request(url))
    sb:fault { route = "files", action = "stall", after = math.floor(size / 3), stall = 0.3 }
    local calls = {}
    local path, bytes = client:download(url, dir .. "/progress.bin", {
      on_progress = function(done, total) calls[#calls + 1] = { done, total } end })
    assert.equal(size, bytes, tostring(path))
    assert.is_true(#calls >= 2, "on_progress was called " .. #calls .. " times")
    assert.is_true(calls[1][1] < size, "the first call came before the last byte")
    for i = 2, #calls do
      assert.is_true(calls[i][1] >= calls[i - 1][1], "progress went back at call " .. i)
    end
    assert.same({ size, size }, calls[#calls])
    for _, c in ipairs(calls) do
      assert.is_true(c[2] == nil or c[2] == size)
      assert.is_true(c[1] <= size)
    end
  end)

  it("resumes a partial file with a Range request and ends with the exact bytes", function()
    local url = url_of("GLB")
    local whole = assert(http.request(url))
    local path = dir .. "/resumed.glb"
    local part = hy3d.partial_path(url, path)
    write(part, whole:sub(1, 1000))
    local before = #sb:requests("files")
    local p, bytes = client:download(url, path)
    assert.equal(path, p)
    assert.equal(#whole, bytes)
    assert.equal(whole, sandbox.read_file(path))
    assert.is_false(exists(part))
    local log = sb:requests("files")
    assert.equal(before + 1, #log)
    assert.equal("bytes=1000-", log[#log].range)
  end)

  it("resumes after the connection breaks mid-file, in the same call", function()
    local url = url_of("GLB")
    local whole = assert(http.request(url))
    sb:fault { route = "files", action = "cut", after = 5000, count = 1 }
    local before = #sb:requests("files")
    local path = dir .. "/cut.glb"
    local p, bytes = client:download(url, path)
    assert.equal(path, p)
    assert.equal(#whole, bytes)
    assert.equal(whole, sandbox.read_file(path))
    local log = sb:requests("files")
    assert.equal(before + 2, #log)
    assert.is_nil(log[before + 1].range)
    assert.equal("bytes=5000-", log[before + 2].range)
  end)

  it("keeps the partial file when it gives up mid-file, leaves the destination alone, and resumes later", function()
    local once = sb:client { max_retries = 0 }
    local url = url_of("GLB")
    local whole = assert(http.request(url))
    local path = dir .. "/later.glb"
    write(path, "the old model")
    sb:fault { route = "files", action = "cut", after = 4096, count = 1 }
    local p, err = once:download(url, path)
    assert.is_nil(p)
    assert.equal("network", err.kind)
    assert.equal(hy3d.partial_path(url, path), err.partial)
    assert.matches("resumes", tostring(err))
    assert.equal("the old model", sandbox.read_file(path))
    assert.equal(4096, #sandbox.read_file(err.partial))
    local before = #sb:requests("files")
    assert.equal(path, (once:download(url, path)))
    assert.equal(whole, sandbox.read_file(path))
    assert.equal("bytes=4096-", sb:requests("files")[before + 1].range)
  end)

  it("starts over when the host ignores Range", function()
    local url = url_of("GLB")
    local whole = assert(http.request(url))
    local path = dir .. "/norange.glb"
    write(hy3d.partial_path(url, path), ("X"):rep(777))
    sb:config { ranges = false }
    local p, bytes = client:download(url, path)
    sb:config { ranges = true }
    assert.equal(path, p)
    assert.equal(#whole, bytes)
    assert.equal(whole, sandbox.read_file(path))
  end)

  it("starts over when the partial file is longer than the file", function()
    local url = sb.url .. "/_sandbox/blob?size=500"
    local path = dir .. "/toolong.bin"
    write(hy3d.partial_path(url, path), ("Y"):rep(800))
    local p, bytes = client:download(url, path)
    assert.equal(path, p)
    assert.equal(500, bytes)
    assert.equal(pattern(500), sandbox.read_file(path))
  end)

  it("finishes a partial file that already holds every byte without fetching it again", function()
    local url = url_of("GLB")
    local whole, code = http.request(url)         -- the file's bytes, fetched outside the client
    assert.equal(200, code)
    local path = dir .. "/complete.glb"
    write(hy3d.partial_path(url, path), whole)
    local before = #sb:requests("files")
    local p, bytes = client:download(url, path)
    assert.equal(path, p)
    assert.equal(#whole, bytes)
    assert.equal(whole, sandbox.read_file(path))
    -- one GET, for the bytes after the last one, refused with 416: no byte of the file sent again
    local gets = sb:requests("files")
    assert.equal(before + 1, #gets)
    assert.equal("bytes=" .. #whole .. "-", gets[#gets].range)
    assert.equal(416, gets[#gets].status)
  end)

  it("does not resume from another object's partial file", function()
    local a, b = sb.url .. "/_sandbox/blob?size=300", sb.url .. "/files/1/model.glb?x=1"
    assert.not_equal(hy3d.partial_path(a, dir .. "/same"), hy3d.partial_path(b, dir .. "/same"))
    -- a refreshed link to the same object (only the signature differs) shares the partial file
    local url = url_of("GLB")
    local resigned = url:gsub("q%-signature=%x+", "q-signature=0")
    assert.equal(hy3d.partial_path(url, "x"), hy3d.partial_path(resigned, "x"))
  end)

  it("starts over when asked not to resume", function()
    local url = sb.url .. "/_sandbox/blob?size=256"
    local path = dir .. "/noresume.bin"
    write(hy3d.partial_path(url, path), ("Z"):rep(100))
    assert(client:download(url, path, { resume = false }))
    assert.equal(pattern(256), sandbox.read_file(path))
  end)

  it("asks refresh for a fresh URL once when the file host says 403", function()
    local url = url_of("GLB")
    local stale = url:gsub("q%-sign%-time=%d+%%3B%d+", "q-sign-time=1000%%3B2000")
    local asked = 0
    local path = dir .. "/refreshed.glb"
    local p = client:download(stale, path, { refresh = function() asked = asked + 1; return url end })
    assert.equal(path, p)
    assert.equal(1, asked)
    assert.equal(assert(http.request(url)), sandbox.read_file(path))
    -- a refresh that finds nothing ends the download with the reason
    local p2, err = client:download(stale, dir .. "/gone.glb", { refresh = function()
      return nil, { kind = "api", code = "FailedOperation.JobNotFound", message = "gone" } end })
    assert.is_nil(p2)
    assert.equal("FailedOperation.JobNotFound", err.code)
    assert.matches("expired", err.message)
    assert.is_false(exists(dir .. "/gone.glb"))
  end)

  it("refuses a second download to the same file while the first runs", function()
    local url = url_of("GLB")
    local whole = assert(http.request(url))
    sb:fault { route = "files", action = "stall", after = 1000, stall = 0.3 }   -- the first one lasts
    local path = dir .. "/twice.glb"
    local a = hy3d.spawn(function() return client:download(url, path) end)
    local b = hy3d.spawn(function() return client:download(url, path) end)
    assert.is_true(hy3d.run())
    local ok, refused = {}, {}
    for _, task in ipairs { a, b } do
      local p, err = task:result()
      if p then ok[#ok + 1] = p else refused[#refused + 1] = err.code end
    end
    assert.same({ path }, ok)
    assert.same({ "DOWNLOAD_IN_PROGRESS" }, refused)
    assert.equal(whole, sandbox.read_file(path))
  end)

  it("reports an on_progress that raises, and keeps what arrived", function()
    local url = url_of("GLB")
    local path = dir .. "/cb.glb"
    sb:fault { route = "files", action = "stall", after = 1000, stall = 0.3 }
    local p, err = client:download(url, path, { on_progress = function(done) if done > 0 then error("stop here") end end })
    assert.is_nil(p)
    assert.equal("callback", err.kind)
    assert.matches("stop here", err.message)
    assert.is_false(exists(path))
    assert.equal(err.partial, hy3d.partial_path(url, path))
    assert.equal(1000, #sandbox.read_file(err.partial))
    os.remove(err.partial)
  end)

  it("works at module level without an API key", function()
    local path = dir .. "/module.glb"
    local p, bytes = hy3d.download(url_of("GLB"), path)
    assert.equal(path, p)
    assert.is_true(bytes > 0)
  end)
end)
