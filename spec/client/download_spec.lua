-- client:download / hy3d.download: exact bytes on disk, progress, resume with Range, atomic
-- rename, the partial file kept only when a later call can resume it, expired URLs refreshed; and
-- against a hostile file host: trickles, changed objects, lying ranges, links, huge headers.
local hy3d = require "hy3d"
local files = require "hy3d.files"
local hostile = require "spec.support.hostile"
local http = require "socket.http"
local socket = require "socket"
local binary = require "spec.support.binary"
local sandbox = require "spec.support.sandbox"

local exists = sandbox.exists
local write = sandbox.write_file

-- Plants a partial file for url/path holding `data`, with the sidecar a first answer of `total`
-- bytes and that ETag would have left (what a broken-off download leaves).
local function plant(url, path, data, etag, total)
  local part = hy3d.partial_path(url, path)
  write(part, data)
  write(files.partial_meta(part), ("hy3d-partial 1\netag %s\nmodified \ntotal %d\n"):format(etag or "", total or -1))
  return part
end

-- The sandbox's ETag for a URL (what its first answer carries).
local function etag_of(url)
  local _, _, headers = http.request { url = url, method = "HEAD" }
  return headers and headers.etag
end

-- The blob's fixed pattern, as /_sandbox/blob serves it.
local function pattern(size)
  local p = "0123456789abcdef"
  return p:rep(math.floor(size / 16)) .. p:sub(1, size % 16)
end

describe("download", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0, reset = false }
  local client, result, dir

  setup(function()
    client = sb:client()
    result = assert(client:wait(assert(client:submit { Prompt = "a chair" })))
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
  end)

  teardown(function()
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

  it("an https:// link to a port that speaks plain HTTP fails at once, with the hint to use http://", function()
    -- any retry would wait 30 s (jitter pinned to 1) and end in the call's 10 s timeout instead
    local c = sb:client { retry_base = 30, retry_max = 30, retry_jitter = function() return 1 end }
    local url = url_of("GLB"):gsub("^http:", "https:")
    local path, err = c:download(url, dir .. "/tls.glb", { timeout = 10 })
    assert.is_nil(path)
    assert.equal("SSL_CONNECT_ERROR", err.code)
    assert.is_false(err.retryable)
    local hostport = url:match("^https://([^/]+)")
    assert.equal(("the server at %s speaks plain HTTP; use http://"):format(hostport), err.hint)
    assert.is_false(exists(dir .. "/tls.glb"))
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
    assert.equal("TOO_SLOW", err.code)
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
    plant(url, path, pattern(600), etag_of(url), 1000)
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

  it("yields inside a coroutine (yield = coroutine.yield) and completes", function()
    -- the file host holds its answer 0.3 s: a download that blocked its coroutine would come
    -- back from the first resume already finished
    sb:fault { route = "files", action = "delay", delay = 0.3 }
    local yc = sb:client { yield = coroutine.yield }
    finally(function() yc:close() end)
    local co = coroutine.create(function() return yc:download(url_of("GLB"), dir .. "/co.glb") end)
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
    assert.is_true(resumes > 1, "it never yielded")
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
    local part = plant(url, path, whole:sub(1, 1000), etag_of(url), #whole)
    local before = #sb:requests("files")
    local p, bytes = client:download(url, path)
    assert.equal(path, p)
    assert.equal(#whole, bytes)
    assert.equal(whole, sandbox.read_file(path))
    assert.is_false(exists(part))
    local log = sb:requests("files")
    assert.equal(before + 1, #log)
    assert.equal("bytes=1000-", log[#log].range)
    assert.equal(etag_of(url), log[#log].if_range)
    assert.is_false(exists(files.partial_meta(part)))
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
    plant(url, path, ("X"):rep(777), etag_of(url), #whole)
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
    plant(url, path, ("Y"):rep(800), etag_of(url), 500)
    local p, bytes = client:download(url, path)
    assert.equal(path, p)
    assert.equal(500, bytes)
    assert.equal(pattern(500), sandbox.read_file(path))
  end)

  it("finishes a partial file that already holds every byte without fetching it again", function()
    local url = url_of("GLB")
    local whole = assert(http.request(url))
    local path = dir .. "/complete.glb"
    plant(url, path, whole, etag_of(url), #whole)
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

describe("download from a hostile file host", function()
  local dir, hosts = nil, {}
  local A, B = hostile.object("A", 10000), hostile.object("B", 10000)
  local ETAG_A, ETAG_B = '"version-a"', '"version-b"'

  setup(function() dir = sandbox.tmpdir() end)
  teardown(function() os.execute("rm -rf " .. dir) end)
  after_each(function()
    for _, h in ipairs(hosts) do h:stop() end
    hosts = {}
  end)

  local function host(plan)
    local h = hostile.start(plan)
    hosts[#hosts + 1] = h
    return h
  end

  -- A client that downloads from h without pauses between tries.
  local function client_of(h, opts)
    local o = { base_url = h and h.url or "http://127.0.0.1:9", retry_base = 0, yield = coroutine.yield }
    for k, v in pairs(opts or {}) do o[k] = v end
    return hy3d.new(o)
  end

  describe("bounds a slow host", function()
    it("gives up on a host that trickles below the default minimum rate", function()
      local h = host { size = 10 * 1024 * 1024, rate = 30 }   -- 30 B/s: never done
      local c = client_of(h, { max_retries = 1 })
      local path = dir .. "/trickle.bin"
      local p, err = c:download(h.url .. "/trickle.bin", path, { stall = 1, timeout = 20 })
      assert.is_nil(p)
      assert.equal("network", err.kind)
      assert.equal("TOO_SLOW", err.code, tostring(err))
      assert.matches("4096 bytes/s", err.message)
      assert.is_false(exists(path))
      -- one retry (this host ignores Range, so it starts over)
      assert.equal(2, #h:requests())
    end)

    it("lets a host that keeps the minimum rate finish", function()
      local h = host { size = 100000, rate = 200000, etag = ETAG_A }
      local c = client_of(h, { max_retries = 0 })
      local path = dir .. "/healthy.bin"
      assert.equal(path, (c:download(h.url .. "/healthy.bin", path, { stall = 1, min_rate = 1000 })))
      assert.equal(hostile.object("A", 100000), sandbox.read_file(path))
    end)

    it("ends a download that outlasts the ceiling its size allows, in bursts that defeat the rate window", function()
      local h = host { size = 400000, burst = { 2000, 0.2 }, etag = ETAG_A }   -- 10 KB/s: 40 s
      local c = client_of(h, { max_retries = 3 })
      local path = dir .. "/ceiling.bin"
      local p, err = c:download(h.url .. "/ceiling.bin", path, { stall = 1, min_rate = 1, min_avg_rate = 200000 })
      assert.is_nil(p)
      assert.equal("timeout", err.kind)
      assert.equal("DOWNLOAD_DEADLINE", err.code, tostring(err))
      assert.equal(1, #h:requests())               -- not retried: the ceiling is for the call
      assert.equal(hy3d.partial_path(h.url .. "/ceiling.bin", path), err.partial)
    end)

    it("lets a file finish within its ceiling", function()
      local h = host { size = 400000, etag = ETAG_A }
      local c = client_of(h, { max_retries = 0 })
      local path = dir .. "/within.bin"
      assert.equal(path, (c:download(h.url .. "/within.bin", path, { stall = 1, min_rate = 1, min_avg_rate = 200000 })))
      assert.equal(hostile.object("A", 400000), sandbox.read_file(path))
    end)

    it("bounds the whole call, retries included, by timeout", function()
      -- every try sends 1000 bytes and holds: each ends TOO_SLOW after its 1 s window and is retried
      local h = host { size = 10000, hold_after = 1000, etag = ETAG_A, ranges = true }
      local c = client_of(h, { max_retries = 100 })
      local p, err = c:download(h.url .. "/held.bin", dir .. "/held.bin", { timeout = 2.5, stall = 1, min_rate = 1000 })
      assert.is_nil(p)
      assert.equal("timeout", err.kind)
      assert.equal("TIMEOUT", err.code, tostring(err))
      assert.is_true(#h:requests() <= 3, #h:requests() .. " tries: each lasts its 1 s window, so 2.5 s holds 3")
    end)
  end)

  describe("resumes only the same version of an object", function()
    it("sends If-Range with the first answer's ETag and takes the whole new object when it changed", function()
      local h = host { { object = "A", size = 10000, etag = ETAG_A, cut_after = 4000 },
                       { object = "B", size = 10000, etag = ETAG_B, ranges = true } }
      local path = dir .. "/changed.bin"
      local p, bytes = client_of(h):download(h.url .. "/changed.bin", path)
      assert.equal(path, p)
      assert.equal(10000, bytes)
      assert.equal(B, sandbox.read_file(path))      -- never half A, half B
      local log = h:requests()
      assert.equal(2, #log)
      assert.equal("bytes=4000-", log[2].range)
      assert.equal(ETAG_A, log[2].if_range)
    end)

    it("refuses a 206 whose total differs from the first answer's size, and starts over", function()
      local h = host { { object = "A", size = 10000, etag = ETAG_A, cut_after = 4000 },
                       { object = "B", size = 12000, etag = ETAG_A, ranges = true, ignore_if_range = true },
                       { object = "B", size = 12000, etag = ETAG_A, ranges = true, ignore_if_range = true } }
      local path = dir .. "/grown.bin"
      local p, bytes = client_of(h):download(h.url .. "/grown.bin", path)
      assert.equal(path, p)
      assert.equal(12000, bytes)
      assert.equal(hostile.object("B", 12000), sandbox.read_file(path))
      local log = h:requests()
      assert.equal(3, #log)
      assert.equal("bytes=4000-", log[2].range)
      assert.is_nil(log[3].range)                   -- started over from zero
    end)

    it("refuses a 206 with another ETag even when its size is the same", function()
      local h = host { { object = "A", size = 10000, etag = ETAG_A, cut_after = 4000 },
                       { object = "B", size = 10000, etag = ETAG_B, ranges = true, ignore_if_range = true } }
      local path = dir .. "/etag.bin"
      assert.equal(path, (client_of(h):download(h.url .. "/etag.bin", path)))
      assert.equal(B, sandbox.read_file(path))
      assert.equal(3, #h:requests())
    end)

    it("refuses a 206 that starts elsewhere than asked, and starts over", function()
      local h = host { { object = "A", size = 10000, etag = ETAG_A, cut_after = 4000 },
                       { object = "A", size = 10000, etag = ETAG_A, ranges = true, start_lie = 100 },
                       { object = "A", size = 10000, etag = ETAG_A, ranges = true } }
      local path = dir .. "/offset.bin"
      assert.equal(path, (client_of(h):download(h.url .. "/offset.bin", path)))
      assert.equal(A, sandbox.read_file(path))
      local log = h:requests()
      assert.equal(3, #log)
      assert.is_nil(log[3].range)
    end)

    it("keeps the validator for a later call, in an owner-only sidecar, and resumes the same version", function()
      local url_path = "/later.bin"
      local h = host { { object = "A", size = 10000, etag = ETAG_A, cut_after = 4000 },
                       { object = "A", size = 10000, etag = ETAG_A, ranges = true } }
      local path = dir .. "/later.bin"
      local once = client_of(h, { max_retries = 0 })
      local p, err = once:download(h.url .. url_path, path)
      assert.is_nil(p)
      local part = hy3d.partial_path(h.url .. url_path, path)
      assert.equal(part, err.partial)
      local _, mode = sandbox.run("stat -c %a " .. files.partial_meta(part))
      assert.equal("600", mode:match("%d+"))
      assert.equal(path, (once:download(h.url .. url_path, path)))
      assert.equal(A, sandbox.read_file(path))
      local log = h:requests()
      assert.equal("bytes=4000-", log[2].range)
      assert.equal(ETAG_A, log[2].if_range)
      assert.is_false(exists(part))
      assert.is_false(exists(files.partial_meta(part)))
    end)

    it("uses Last-Modified as the validator when there is no strong ETag", function()
      local date = "Wed, 21 Oct 2015 07:28:00 GMT"
      local h = host { { size = 10000, etag = 'W/"weak"', last_modified = date, cut_after = 4000 },
                       { size = 10000, etag = 'W/"weak"', last_modified = date, ranges = true } }
      local path = dir .. "/dated.bin"
      assert.equal(path, (client_of(h):download(h.url .. "/dated.bin", path)))
      assert.equal(A, sandbox.read_file(path))
      assert.equal(date, h:requests()[2].if_range)
    end)

    it("starts over, rather than resuming blindly, a partial file without its sidecar", function()
      local h = host { object = "A", size = 10000, etag = ETAG_A, ranges = true }
      local path = dir .. "/orphan.bin"
      write(hy3d.partial_path(h.url .. "/orphan.bin", path), B:sub(1, 3000))
      assert.equal(path, (client_of(h):download(h.url .. "/orphan.bin", path)))
      assert.equal(A, sandbox.read_file(path))
      assert.is_nil(h:requests()[1].range)
    end)

    it("takes an empty 200 to a resume as the whole (now empty) object", function()
      local h = host { { size = 10000, etag = ETAG_A, cut_after = 4000 }, { body = "", etag = ETAG_A } }
      local path = dir .. "/emptied.bin"
      local p, bytes = client_of(h):download(h.url .. "/emptied.bin", path)
      assert.equal(path, p)
      assert.equal(0, bytes)
      assert.equal("", sandbox.read_file(path))
      assert.equal("bytes=4000-", h:requests()[2].range)
    end)

    it("resumes up to max_retries times, each from where the last broke off", function()
      local h = host { size = 10000, etag = ETAG_A, ranges = true, cut_after = 1000 }
      local path = dir .. "/retries.bin"
      local p, err = client_of(h, { max_retries = 2 }):download(h.url .. "/retries.bin", path)
      assert.is_nil(p)
      assert.equal("network", err.kind)
      local log = h:requests()
      assert.equal(3, #log)
      assert.same({ "bytes=1000-", "bytes=2000-" }, { log[2].range, log[3].range })
      assert.equal(3000, #sandbox.read_file(err.partial))
      -- the next call goes on from there, and with retries enough it finishes
      p = client_of(h, { max_retries = 6 }):download(h.url .. "/retries.bin", path)
      assert.equal(path, p)
      assert.equal(A, sandbox.read_file(path))
      assert.equal(10, #h:requests())
    end)
  end)

  describe("frees the path of an abandoned download", function()
    local function start_abandoned(c, url, path)
      local got = 0
      local co = coroutine.create(function()
        return c:download(url, path, { on_progress = function(done) got = done end })
      end)
      for _ = 1, 5000 do                            -- until 3000 bytes are in (the host then holds)
        assert(coroutine.resume(co))
        if got >= 3000 then break end
        socket.sleep(0.002)
      end
      assert.equal(3000, got)
      assert.equal("suspended", coroutine.status(co))
      return co
    end

    it("when its coroutine is dropped and collected", function()
      local h = host { { size = 10000, etag = ETAG_A, hold_after = 3000 }, { size = 10000, etag = ETAG_A, ranges = true } }
      local c = client_of(h)
      local url, path = h.url .. "/dropped.bin", dir .. "/dropped.bin"
      local co = start_abandoned(c, url, path)
      assert.equal("DOWNLOAD_IN_PROGRESS", select(2, c:download(url, path)).code)   -- still live
      assert.equal("suspended", coroutine.status(co))
      co = nil                                      -- luacheck: ignore 311
      collectgarbage()
      collectgarbage()
      local p, bytes = c:download(url, path)
      assert.equal(path, p, tostring(bytes))
      assert.equal(A, sandbox.read_file(path))
      assert.equal("bytes=3000-", h:requests()[2].range)
      c:close()
    end)

    it("when its client is closed", function()
      local h = host { { size = 10000, etag = ETAG_A, hold_after = 3000 }, { size = 10000, etag = ETAG_A, ranges = true } }
      local c = client_of(h)
      local url, path = h.url .. "/closed.bin", dir .. "/closed.bin"
      local co = start_abandoned(c, url, path)
      c:close()
      local again = client_of(h)
      assert.equal(path, (again:download(url, path)))
      assert.equal(A, sandbox.read_file(path))
      assert.equal("suspended", coroutine.status(co))   -- still held: the close alone freed the path
      again:close()
    end)
  end)

  describe("never writes through a link", function()
    it("refuses a symlink planted at the partial file's name and leaves its target alone", function()
      local h = host { size = 10000, etag = ETAG_A, ranges = true }
      local url, path = h.url .. "/linked.bin", dir .. "/linked.bin"
      local target = dir .. "/outside.txt"
      write(target, "precious")
      local part = hy3d.partial_path(url, path)
      assert(os.execute(("ln -s %s %s"):format(target, part)))
      local p, err = client_of(h):download(url, path)
      assert.is_nil(p)
      assert.equal("io", err.kind)
      assert.equal("NOT_REGULAR_FILE", err.code)
      assert.equal("precious", sandbox.read_file(target))
      assert.is_false(exists(path))
    end)

    it("never writes the sidecar through a link either", function()
      local h = host { size = 10000, etag = ETAG_A, ranges = true }
      local url, path = h.url .. "/metalink.bin", dir .. "/metalink.bin"
      local target = dir .. "/outside-meta.txt"
      write(target, "precious")
      assert(os.execute(("ln -s %s %s"):format(target, files.partial_meta(hy3d.partial_path(url, path)))))
      assert.equal(path, (client_of(h):download(url, path)))
      assert.equal(A, sandbox.read_file(path))
      assert.equal("precious", sandbox.read_file(target))
    end)

    it("refuses a NUL in the path or URL with an error, creating nothing", function()
      local h = host { size = 100 }
      local c = client_of(h)
      local p, err = c:download(h.url .. "/x", dir .. "/nul\0.bin")
      assert.is_nil(p)
      assert.same({ "invalid", "BAD_PATH" }, { err.kind, err.code })
      assert.is_false(exists(dir .. "/nul"))
      p, err = c:download(h.url .. "/x\0y", dir .. "/nulurl.bin")
      assert.is_nil(p)
      assert.same({ "invalid", "BAD_PATH" }, { err.kind, err.code })
      assert.equal(0, #h:requests())
    end)
  end)

  describe("says what a broken answer was", function()
    it("reports a 1 MB header line as HEADER_TOO_LARGE, for downloads and API calls", function()
      local h = host { big_header = 1024 * 1024, size = 10 }
      local c = client_of(h, { max_retries = 0, api_key = "sk-hostile-0123456789" })
      local p, err = c:download(h.url .. "/big.bin", dir .. "/big.bin")
      assert.is_nil(p)
      assert.same({ "network", "HEADER_TOO_LARGE" }, { err.kind, err.code })
      assert.matches("header line larger", err.message)
      local res, qerr = c:query("job-1")
      assert.is_nil(res)
      assert.same({ "network", "HEADER_TOO_LARGE" }, { qerr.kind, qerr.code })
    end)

    it("refuses an https link redirected to plain http on a host that is not loopback", function()
      local tls = hostile.tls_redirect("http://192.0.2.1:9/model.glb")
      local c = client_of(nil, { ca_file = tls.ca_file, max_retries = 0, connect_timeout = 2 })
      local path = dir .. "/downgraded.glb"
      local p, err = c:download(tls.url, path)
      tls.stop()
      assert.is_nil(p)
      assert.same({ "http", "INSECURE_REDIRECT" }, { err.kind, err.code }, tostring(err))
      assert.is_false(exists(path))
    end)

    it("follows an https link redirected to plain http on loopback", function()
      local h = host { size = 10000, etag = ETAG_A }
      local tls = hostile.tls_redirect(h.url .. "/model.glb")
      local c = client_of(nil, { ca_file = tls.ca_file, max_retries = 0 })
      local path = dir .. "/loopback.glb"
      local p = c:download(tls.url, path)
      tls.stop()
      assert.equal(path, p)
      assert.equal(A, sandbox.read_file(path))
    end)

    it("reports a 304, or a 300 with no Location, as an http error and writes no file", function()
      for _, status in ipairs { 304, 300 } do
        local h = host { status = status, body = "" }
        local path = dir .. "/not-modified-" .. status .. ".bin"
        local p, err = client_of(h, { max_retries = 0 }):download(h.url .. "/x.bin", path)
        assert.is_nil(p, status)
        assert.same({ "http", status }, { err.kind, err.http_status })
        assert.is_false(exists(path))
        assert.is_false(exists(hy3d.partial_path(h.url .. "/x.bin", path)))
      end
    end)

    it("reports writes that fail at the file's end (a file size limit) as an io error, and no file", function()
      -- a child under `ulimit -f 8` (8 KiB, SIGXFSZ ignored): the first 8192 bytes reach the disk as
      -- the stdio buffer fills, the last 100 only when the file is closed, and that write fails
      local h = host { size = 8292 }
      local path = dir .. "/limited.bin"
      local script = write(dir .. "/limited.lua", ([[
        local hy3d = require "hy3d"
        local c = hy3d.new { base_url = %q, retry_base = 0, max_retries = 0 }
        local p, err = c:download(%q, %q)
        io.write(p and "saved" or (err.kind .. " " .. err.code))
      ]]):format(h.url, h.url .. "/limited.bin", path))
      local _, out = sandbox.run(("%s bash -c %s"):format(sandbox.lua_env(), sandbox.shell_quote(
        ("trap '' XFSZ; ulimit -f 8; exec %s %s"):format(sandbox.lua(), sandbox.shell_quote(script)))))
      assert.equal("io WRITE_ERROR", out)
      assert.is_false(exists(path))
      assert.is_false(exists(hy3d.partial_path(h.url .. "/limited.bin", path)))
    end)
  end)

  describe("bounds what a host sends by max_bytes", function()
    it("refuses a chunked body (no Content-Length) that grows past max_bytes, and leaves no file", function()
      local h = host { size = 10000, chunked = 1000 }
      local path = dir .. "/chunked-big.bin"
      local p, err = client_of(h, { max_retries = 0 }):download(h.url .. "/big.bin", path, { max_bytes = 5000 })
      assert.is_nil(p)
      assert.same({ "io", "MAX_BYTES" }, { err.kind, err.code })
      assert.is_false(exists(path))
      assert.is_false(exists(hy3d.partial_path(h.url .. "/big.bin", path)))
    end)

    it("refuses a resumed answer whose Content-Length plus the part on disk passes max_bytes, before it writes", function()
      -- the engine on its own (the client deletes a refused partial file): the part must not grow
      local core = require "hy3d.core"
      local h = host { size = 10000, etag = ETAG_A, ranges = true, burst = { 1000, 0.2 } }
      local url, path = h.url .. "/resumed-big.bin", dir .. "/resumed-big.bin"
      local part = plant(url, path, A:sub(1, 4000), ETAG_A, 10000)
      local e = core.new { base_url = h.url }
      local req = assert(e:download(url, part, { resume = true, meta = files.partial_meta(part), max_bytes = 8000 }))
      assert.is_true(e:wait(req, 30))
      local res, err = req:result()
      req:close()
      e:close()
      assert.is_nil(res)
      assert.same({ "io", "MAX_BYTES" }, { err.kind, err.code })
      assert.equal("bytes=4000-", h:requests()[1].range)
      assert.equal(4000, files.size(part), "the partial file grew after max_bytes refused the answer")
      assert.is_true(A:sub(1, 4000) == sandbox.read_file(part), "the partial file changed")
      files.discard_partial(part)
    end)
  end)

  describe("reports progress", function()
    it("ends a chunked download (no size known) with a call saying (n, n)", function()
      local h = host { size = 10000, chunked = 1000 }
      local calls = {}
      local path = dir .. "/chunked-progress.bin"
      local p, bytes = client_of(h):download(h.url .. "/c.bin", path, {
        on_progress = function(done, total) calls[#calls + 1] = { done, total } end })
      assert.equal(path, p)
      assert.equal(10000, bytes)
      assert.equal(A, sandbox.read_file(path))
      assert.same({ 10000, 10000 }, calls[#calls])
    end)

    it("counts the part on disk in a resumed download's total when Content-Range does not say it", function()
      local h = host { size = 10000, etag = ETAG_A, ranges = true, total_lie = "*" }
      local url, path = h.url .. "/resumed-progress.bin", dir .. "/resumed-progress.bin"
      plant(url, path, A:sub(1, 4000), ETAG_A, -1)
      local calls = {}
      local p = client_of(h):download(url, path, {
        on_progress = function(done, total) calls[#calls + 1] = { done, total } end })
      assert.equal(path, p)
      assert.equal(A, sandbox.read_file(path))
      assert.equal("bytes=4000-", h:requests()[1].range)
      -- once a byte of the 206 is written (done > 4000) the total counts the 4000 on disk (before
      -- that the answer could still be a whole-object 200 that replaces them)
      for i, c in ipairs(calls) do
        if c[1] > 4000 then
          assert.is_true(c[2] == nil or c[2] == 10000, ("call %d said (%s, %s)"):format(i, tostring(c[1]), tostring(c[2])))
        end
      end
      assert.same({ 10000, 10000 }, calls[#calls])
    end)
  end)

  describe("keeps to what the caller asked", function()
    it("starts over when asked not to resume, even a partial file whose sidecar names this very version", function()
      local h = host { size = 10000, etag = ETAG_A, ranges = true }
      local url, path = h.url .. "/fresh.bin", dir .. "/fresh.bin"
      plant(url, path, B:sub(1, 4000), ETAG_A, 10000)
      assert.equal(path, (client_of(h):download(url, path, { resume = false })))
      assert.equal(A, sandbox.read_file(path))
      local log = h:requests()
      assert.equal(1, #log)
      assert.is_nil(log[1].range)
    end)

    it("asks refresh only once when the fresh URL is refused with 403 too, and returns that 403", function()
      local h = host { status = 403, body = "AccessDenied" }
      local asked = 0
      local path = dir .. "/refused-twice.bin"
      local p, err = client_of(h, { max_retries = 0 }):download(h.url .. "/old.bin", path, { refresh = function()
        asked = asked + 1
        if asked > 3 then return nil, { kind = "api", code = "Gone", message = "stop asking" } end
        return h.url .. "/fresh-" .. asked .. ".bin"
      end })
      assert.is_nil(p)
      assert.equal(1, asked)
      assert.same({ "http", 403 }, { err.kind, err.http_status })
      assert.equal(2, #h:requests())
      assert.equal("/fresh-1.bin", h:requests()[2].target)
      assert.is_false(exists(path))
    end)
  end)
end)
