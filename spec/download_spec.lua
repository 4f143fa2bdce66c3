-- client:download / hy3d.download: exact bytes on disk, atomic rename, nothing left on failure.
local hy3d = require "hy3d"
local http = require "socket.http"
local socket = require "socket"
local binary = require "spec.support.binary"
local sandbox = require "spec.support.sandbox"

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
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
    assert.is_false(exists(path .. ".part"))
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
    assert.is_false(exists(path .. ".part"))
  end)

  it("reports an expired URL as http 403 and leaves no file", function()
    local stale = url_of("GLB"):gsub("q%-sign%-time=%d+%%3B%d+", "q-sign-time=1000%%3B2000")
    local path = dir .. "/stale.glb"
    local p, err = client:download(stale, path)
    assert.is_nil(p)
    assert.equal(403, err.http_status)
    assert.is_false(exists(path))
    assert.is_false(exists(path .. ".part"))
  end)

  it("leaves no file when the connection drops", function()
    sb:fault { route = "files", action = "close", count = 2 }
    local path = dir .. "/dropped.glb"
    local p, err = client:download(url_of("GLB"), path)
    assert.is_nil(p)
    assert.equal("network", err.kind)
    assert.is_false(exists(path))
    assert.is_false(exists(path .. ".part"))
  end)

  it("gives up when the host stalls longer than a sub-second stall limit", function()
    sb:fault { route = "files", action = "delay", delay = 5 }
    local path = dir .. "/stalled.glb"
    local p, err = client:download(url_of("GLB"), path, { stall = 0.5 })
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
    assert.is_false(exists(path .. ".part"))
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
    local co = coroutine.create(function() return client:download(url_of("GLB"), dir .. "/co.glb") end)
    local resumes, out = 0, nil
    while coroutine.status(co) ~= "dead" do
      out = { assert(coroutine.resume(co)) }
      resumes = resumes + 1
      socket.sleep(0.001)
    end
    assert.equal(dir .. "/co.glb", out[2])
    assert.is_true(resumes >= 1)
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

  it("works at module level without an API key", function()
    local path = dir .. "/module.glb"
    local p, bytes = hy3d.download(url_of("GLB"), path)
    assert.equal(path, p)
    assert.is_true(bytes > 0)
  end)
end)
