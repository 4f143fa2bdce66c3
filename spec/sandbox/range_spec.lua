-- hy3d-sandbox byte ranges: result files and /_sandbox/blob answer like COS/S3 (ETag,
-- Accept-Ranges, 206 for one range, 416 past the end, If-Range), the `ranges` switch, the Range a
-- client sent in the request log, and faults on ranged bodies. Real HTTP over 127.0.0.1 (raw
-- luasocket requests and curl); version-neutral (the sandbox runs as a child process).
local cjson = require "cjson"
local socket = require "socket"
local sandbox = require "spec.support.sandbox"

local PATTERN = "0123456789abcdef"

-- The bytes /_sandbox/blob?size=N serves.
local function blob(size)
  return PATTERN:rep(math.floor(size / #PATTERN)) .. PATTERN:sub(1, size % #PATTERN)
end

local function path_of(url) return (url:match("^http://[^/]+(/.*)$")) end

-- One request on a fresh connection, with `lines` sent verbatim as header lines. Reads the
-- response however it ends: { status, headers (lower-case names), body, err }.
local function fetch(sb, method, path, lines)
  local sock = assert(socket.connect("127.0.0.1", tonumber(sb.url:match(":(%d+)$"))))
  sock:settimeout(10)
  local head = { method .. " " .. path .. " HTTP/1.1", "Host: 127.0.0.1", "Connection: close" }
  for _, l in ipairs(lines or {}) do head[#head + 1] = l end
  assert(sock:send(table.concat(head, "\r\n") .. "\r\n\r\n"))
  local status = assert(sock:receive("*l"))
  local r = { status = tonumber(status:match("^HTTP/1%.1 (%d+)")), headers = {}, body = "" }
  while true do
    local line = assert(sock:receive("*l"))
    if line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.*)$")
    r.headers[k:lower()] = v
  end
  local n = tonumber(r.headers["content-length"] or "0")
  if method ~= "HEAD" and n > 0 then
    local data, err, partial = sock:receive(n)
    r.body, r.err = data or partial, err
  end
  sock:close()
  return r
end

local function range(sb, path, value, extra)
  local lines = { "Range: " .. value }
  for _, l in ipairs(extra or {}) do lines[#lines + 1] = l end
  return fetch(sb, "GET", path, lines)
end

describe("hy3d-sandbox byte ranges", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0 }

  before_each(function()
    sb:config { ranges = true }
  end)

  -- A DONE Pro job submitted through the gateway with the sandbox's key: its query answer.
  local function done_job(prompt)
    local function post(route, params)
      local body = cjson.encode(params)
      local status, answer = sb:raw("POST", "/v1/ai3d/" .. route, { Authorization = sb.key,
        ["Content-Type"] = "application/json", ["Content-Length"] = #body }, body)
      assert.equal(200, status)
      assert.is_nil(answer.Response.Error)
      return answer.Response
    end
    local id = post("submit", { Prompt = prompt or "a wooden chair" }).JobId
    local r = post("query", { JobId = id })
    assert.equal("DONE", r.Status)
    return r
  end

  local function glb_path(r)
    for _, f in ipairs(r.ResultFile3Ds) do
      if f.Type == "GLB" then return path_of(f.Url) end
    end
  end

  describe("/_sandbox/blob", function()
    local path, body = "/_sandbox/blob?size=1000", blob(1000)

    it("answers bytes=N- with 206, Content-Range and the bytes from N to the end", function()
      local r = range(sb, path, "bytes=990-")
      assert.equal(206, r.status)
      assert.equal("bytes 990-999/1000", r.headers["content-range"])
      assert.equal("10", r.headers["content-length"])
      assert.equal(body:sub(991), r.body)
      assert.equal("ef01234567", r.body)             -- 1000 = 62 * 16 + 8
    end)

    it("answers bytes=N-M with exactly those bytes, and clamps M past the end", function()
      local r = range(sb, path, "bytes=17-20")
      assert.equal(206, r.status)
      assert.equal("bytes 17-20/1000", r.headers["content-range"])
      assert.equal("1234", r.body)
      r = range(sb, path, "bytes=0-0")
      assert.equal("bytes 0-0/1000", r.headers["content-range"])
      assert.equal("0", r.body)
      r = range(sb, path, "bytes=995-5000")
      assert.equal(206, r.status)
      assert.equal("bytes 995-999/1000", r.headers["content-range"])
      assert.equal(body:sub(996), r.body)
    end)

    it("answers bytes=-K with the last K bytes, the whole body when K is larger", function()
      local r = range(sb, path, "bytes=-7")
      assert.equal(206, r.status)
      assert.equal("bytes 993-999/1000", r.headers["content-range"])
      assert.equal(body:sub(-7), r.body)
      r = range(sb, path, "bytes=-4000")
      assert.equal(206, r.status)
      assert.equal("bytes 0-999/1000", r.headers["content-range"])
      assert.equal(body, r.body)
    end)

    it("tolerates whitespace and any case in the unit", function()
      for _, value in ipairs { "Bytes=10-19", "BYTES = 10 - 19", "bytes=10-19 ", "bytes= 10-19, " } do
        local r = range(sb, path, value)
        assert.equal(206, r.status, value)
        assert.equal("bytes 10-19/1000", r.headers["content-range"], value)
        assert.equal(body:sub(11, 20), r.body, value)
      end
    end)

    it("answers 416 with bytes */TOTAL when the range starts at the end or cannot be satisfied", function()
      for _, value in ipairs { "bytes=1000-", "bytes=5000-6000", "bytes=-0", "bytes=9-2", "bytes=abc", "bytes=",
                               "bytes=-", "bytes" } do
        local r = range(sb, path, value)
        assert.equal(416, r.status, value)
        assert.equal("bytes */1000", r.headers["content-range"], value)
        assert.is_nil(r.body:find(PATTERN, 1, true), value)
      end
      local r = range(sb, "/_sandbox/blob?size=0", "bytes=0-")
      assert.equal(416, r.status)
      assert.equal("bytes */0", r.headers["content-range"])
      assert.equal(206, range(sb, path, "bytes=999-").status)
    end)

    it("answers several ranges, or another unit, with the whole body", function()
      for _, value in ipairs { "bytes=0-1,5-6", "bytes=0-1, -5", "items=0-5" } do
        local r = range(sb, path, value)
        assert.equal(200, r.status, value)
        assert.is_nil(r.headers["content-range"], value)
        assert.equal(body, r.body, value)
      end
    end)

    it("sends Accept-Ranges and a strong ETag that follows the size", function()
      local whole, part = fetch(sb, "GET", path), range(sb, path, "bytes=1-2")
      assert.equal(200, whole.status)
      assert.equal(body, whole.body)
      assert.equal("bytes", whole.headers["accept-ranges"])
      assert.equal("bytes", part.headers["accept-ranges"])
      assert.matches('^"[^"]+"$', whole.headers.etag)
      assert.equal(whole.headers.etag, part.headers.etag)
      assert.equal(whole.headers.etag, fetch(sb, "GET", path).headers.etag)
      assert.are_not.equal(whole.headers.etag, fetch(sb, "GET", "/_sandbox/blob?size=1001").headers.etag)
    end)

    it("ignores Range when If-Range names another ETag, and honours it when it matches", function()
      local etag = fetch(sb, "HEAD", path).headers.etag
      local r = range(sb, path, "bytes=500-", { 'If-Range: "not-the-etag"' })
      assert.equal(200, r.status)
      assert.is_nil(r.headers["content-range"])
      assert.equal(body, r.body)
      r = range(sb, path, "bytes=500-", { "If-Range: W/" .. etag })   -- a weak tag never matches
      assert.equal(200, r.status)
      r = range(sb, path, "bytes=5000-", { 'If-Range: "not-the-etag"' })
      assert.equal(200, r.status)
      r = range(sb, path, "bytes=500-", { "If-Range: " .. etag })
      assert.equal(206, r.status)
      assert.equal(body:sub(501), r.body)
    end)

    it("ignores Range entirely when ranges is off", function()
      local cfg = sb:config { ranges = false }
      assert.is_false(cfg.ranges)
      for _, value in ipairs { "bytes=10-", "bytes=5000-" } do
        local r = range(sb, path, value)
        assert.equal(200, r.status, value)
        assert.is_nil(r.headers["content-range"], value)
        assert.is_nil(r.headers["accept-ranges"], value)
        assert.is_string(r.headers.etag)
        assert.equal(body, r.body, value)
      end
      assert.is_true(sb:config { ranges = true }.ranges)
      assert.equal(206, range(sb, path, "bytes=10-").status)
      local status = sb:raw("POST", "/_sandbox/config", { ["Content-Type"] = "application/json", ["Content-Length"] = 16 },
        '{"ranges":"off"}')
      assert.equal(400, status)
    end)
  end)

  describe("result files", function()
    it("answers bytes=N-, N-M and -K of a DONE job's file with exactly those bytes", function()
      local path = glb_path(done_job())
      local full = fetch(sb, "GET", path)
      assert.equal(200, full.status)
      local size = #full.body
      assert.is_true(size > 1000)
      local tail = size - 777
      local r = range(sb, path, "bytes=" .. tail .. "-")
      assert.equal(206, r.status)
      assert.equal(("bytes %d-%d/%d"):format(tail, size - 1, size), r.headers["content-range"])
      assert.equal("model/gltf-binary", r.headers["content-type"])
      assert.equal(full.body:sub(tail + 1), r.body)
      r = range(sb, path, "bytes=12-19")
      assert.equal(("bytes 12-19/%d"):format(size), r.headers["content-range"])
      assert.equal(full.body:sub(13, 20), r.body)
      r = range(sb, path, "bytes=-20")
      assert.equal(full.body:sub(-20), r.body)
    end)

    it("answers 416 with bytes */TOTAL and an InvalidRange error past the end", function()
      local path = glb_path(done_job())
      local size = #fetch(sb, "GET", path).body
      local r = range(sb, path, "bytes=" .. size .. "-")
      assert.equal(416, r.status)
      assert.equal("bytes */" .. size, r.headers["content-range"])
      assert.matches("<Code>InvalidRange</Code>", r.body)
    end)

    it("answers HEAD with a Range like the GET, without the body", function()
      local path = glb_path(done_job())
      local size = #fetch(sb, "GET", path).body
      local r = fetch(sb, "HEAD", path, { "Range: bytes=100-" })
      assert.equal(206, r.status)
      assert.equal(tostring(size - 100), r.headers["content-length"])
      assert.equal(("bytes 100-%d/%d"):format(size - 1, size), r.headers["content-range"])
      assert.equal("", r.body)
    end)

    it("sends Accept-Ranges and an ETag that stays the same across requests and fresh signed URLs", function()
      local first = done_job("a round ball")
      local path = glb_path(first)
      local a, b = fetch(sb, "GET", path), range(sb, path, "bytes=0-9")
      assert.equal("bytes", a.headers["accept-ranges"])
      assert.equal("bytes", b.headers["accept-ranges"])
      assert.matches('^"%x+"$', a.headers.etag)
      assert.equal(a.headers.etag, b.headers.etag)
      -- a fresh signed URL of the same file (another q-signature)
      local body = cjson.encode { JobId = path:match("^/files/(%d+)/") }
      local _, again = sb:raw("POST", "/v1/ai3d/query",
        { Authorization = sb.key, ["Content-Type"] = "application/json", ["Content-Length"] = #body }, body)
      local fresh = glb_path(again.Response)
      assert.are_not.equal(path, fresh)
      assert.equal(a.headers.etag, fetch(sb, "HEAD", fresh).headers.etag)
      -- another file of the job has another ETag
      local obj = path_of(first.ResultFile3Ds[1].Url)
      assert.are_not.equal(a.headers.etag, fetch(sb, "HEAD", obj).headers.etag)
    end)

    it("ignores Range when If-Range names another ETag", function()
      local path = glb_path(done_job())
      local full = fetch(sb, "GET", path)
      local r = range(sb, path, "bytes=10-", { 'If-Range: "0000000000000000"' })
      assert.equal(200, r.status)
      assert.equal(full.body, r.body)
      r = range(sb, path, "bytes=10-", { "If-Range: " .. full.headers.etag })
      assert.equal(206, r.status)
      assert.equal(full.body:sub(11), r.body)
    end)

    it("serves the whole file with ranges off", function()
      local path = glb_path(done_job())
      local full = fetch(sb, "GET", path)
      sb:config { ranges = false }
      local r = range(sb, path, "bytes=10-")
      assert.equal(200, r.status)
      assert.is_nil(r.headers["accept-ranges"])
      assert.equal(full.body, r.body)
    end)

    it("records the Range and If-Range a client sent in the request log", function()
      local path = glb_path(done_job())
      fetch(sb, "GET", path)
      range(sb, path, "bytes=42-", { 'If-Range: "abc"' })
      local log = sb:requests("files")
      assert.equal(2, #log)
      assert.is_nil(log[1].range)
      assert.is_nil(log[1].if_range)
      assert.equal(200, log[1].status)
      assert.equal("bytes=42-", log[2].range)
      assert.equal('"abc"', log[2].if_range)
      assert.equal(200, log[2].status)
    end)

    it("cuts a ranged body after the bytes a cut fault allows", function()
      local path = glb_path(done_job())
      local size = #fetch(sb, "GET", path).body
      sb:fault { route = "files", action = "cut", after = 10 }
      local r = range(sb, path, "bytes=100-")
      assert.equal(206, r.status)
      assert.equal(tostring(size - 100), r.headers["content-length"])
      assert.equal("closed", r.err)
      assert.equal(10, #r.body)
      sb:fault { route = "files", action = "status", status = 503 }
      assert.equal(503, range(sb, path, "bytes=100-").status)
      assert.equal(206, range(sb, path, "bytes=100-").status)
    end)

    it("lets curl resume a download of a DONE job's file to the exact bytes", function()
      local path = glb_path(done_job("a glass sphere"))
      local url = sb.url .. path
      local full = fetch(sb, "GET", path).body
      local file = os.tmpname()
      local f = assert(io.open(file, "wb"))
      f:write(full:sub(1, math.floor(#full / 3)))
      f:close()
      -- curl is a third-party tool: it runs without the sanitizer runtime `make test-asan` preloads
      -- (curl's resolver thread deadlocks under it), and never longer than 30 s
      local curl = "env -u LD_PRELOAD curl --max-time 30 "
      local ok, out = sandbox.run(curl .. "-sS -f -C - -o " .. sandbox.shell_quote(file) .. " " .. sandbox.shell_quote(url))
      local got = sandbox.read_file(file)
      os.remove(file)
      assert.is_true(ok, out)
      assert.equal(#full, #got)
      assert.is_true(full == got)
      local log = sb:requests("files")
      assert.equal("bytes=" .. math.floor(#full / 3) .. "-", log[#log].range)
      assert.equal(206, log[#log].status)
      ok, out = sandbox.run(curl .. "-sS -f -r 8-15 " .. sandbox.shell_quote(url))
      assert.is_true(ok, out)
      assert.is_true(out == full:sub(9, 16))
    end)
  end)

  describe("command line", function()
    local function sandbox_cmd(args)
      return sandbox.sandbox_env() .. " " .. (os.getenv("HY3D_SANDBOX_LUA") or "lua5.4") .. " sandbox/bin/hy3d-sandbox " .. args
    end

    it("documents --no-ranges in --help", function()
      local ok, out = sandbox.run(sandbox_cmd("--help"))
      assert.is_true(ok, out)
      assert.matches("%-%-no%-ranges", out)
    end)

    it("starts without range support with --no-ranges, and logs the Range asked for", function()
      local log = os.tmpname()
      local other = sandbox.start { extra = { "--no-ranges", "--log", log } }
      local r = range(other, "/_sandbox/blob?size=100", "bytes=10-")
      assert.equal(200, r.status)
      assert.is_nil(r.headers["accept-ranges"])
      assert.equal(blob(100), r.body)
      assert.is_false(other:config().ranges)
      local path = "/files/1/model.glb?q-sign-time=1%3B2"
      assert.equal(404, range(other, path, "bytes=0-").status)
      other:stop()
      local text = sandbox.read_file(log)
      os.remove(log)
      local line = cjson.decode(text:match("[^\n]+"))
      assert.equal("files", line.route)
      assert.equal("bytes=0-", line.range)
    end)
  end)
end)
