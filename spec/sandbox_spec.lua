-- hy3d-sandbox: the emulator itself — validation like the service, limits, keep-alive, files.
local cjson = require "cjson"
local socket = require "socket"
local sandbox = require "spec.support.sandbox"

-- Reads one HTTP/1.1 response (Content-Length framed) from a blocking luasocket connection.
local function read_response(sock)
  local status = assert(sock:receive("*l"))
  local headers = {}
  while true do
    local line = assert(sock:receive("*l"))
    if line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.*)$")
    headers[k:lower()] = v
  end
  local body = ""
  local n = tonumber(headers["content-length"] or "0")
  if n > 0 then body = assert(sock:receive(n)) end
  return tonumber(status:match("^HTTP/1%.1 (%d+)")), headers, body
end

local function request_bytes(path, key, body)
  return ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\nContent-Type: application/json\r\n"
    .. "Content-Length: %d\r\n\r\n%s"):format(path, key, #body, body)
end

describe("hy3d-sandbox", function()
  local sb

  setup(function()
    sb = sandbox.start { wait_time = 0, run_time = 0.2 }
  end)

  teardown(function()
    sb:stop()
  end)

  before_each(function()
    sb:reset()
  end)

  local function submit(params, headers)
    local h = { ["Content-Type"] = "application/json", Authorization = sb.key }
    for k, v in pairs(headers or {}) do h[k] = v end
    local body = type(params) == "string" and params or cjson.encode(params)
    h["Content-Length"] = #body
    return sb:raw("POST", "/v1/ai3d/submit", h, body)
  end

  local function api_error_code(params)
    local status, body = submit(params)
    assert.equal(200, status)
    return body.Response.Error and body.Response.Error.Code, body.Response.Error and body.Response.Error.Message
  end

  describe("command line", function()
    it("prints usage with --help and refuses unknown arguments", function()
      local ok, out = sandbox.run(sandbox.lua() .. " bin/hy3d-sandbox --help")
      assert.is_true(ok)
      assert.matches("usage: hy3d%-sandbox", out)
      local bad, out2, code = sandbox.run(sandbox.lua() .. " bin/hy3d-sandbox --bogus")
      assert.is_false(bad)
      assert.equal(2, code)
      assert.matches("unknown argument %-%-bogus", out2)
    end)
  end)

  describe("compatible gateway", function()
    it("accepts the raw key and the Bearer form, and answers in the Response envelope", function()
      local status, body = submit({ Prompt = "小狗" })
      assert.equal(200, status)
      assert.matches("^%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d$", body.Response.JobId)
      assert.matches("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$", body.Response.RequestId)
      status = submit({ Prompt = "小狗" }, { Authorization = "Bearer " .. sb.key })
      assert.equal(200, status)
    end)

    it("answers a wrong or missing key with HTTP 401 and an OpenAI-style body", function()
      local status, body = submit({ Prompt = "x" }, { Authorization = "sk-nope" })
      assert.equal(401, status)
      assert.equal("invalid_api_key", body.error.code)
      assert.equal("Incorrect API key provided", body.error.message)
      status = sb:raw("POST", "/v1/ai3d/submit", { ["Content-Type"] = "application/json", ["Content-Length"] = 2 }, "{}")
      assert.equal(401, status)
    end)

    it("refuses other methods and content types", function()
      assert.equal(405, (sb:raw("GET", "/v1/ai3d/submit", { Authorization = sb.key })))
      local status, body = submit('{"Prompt":"x"}', { ["Content-Type"] = "text/plain" })
      assert.equal(200, status)
      assert.equal("InvalidParameter", body.Response.Error.Code)
      status, body = submit("not json")
      assert.equal(200, status)
      assert.equal("InvalidParameter", body.Response.Error.Code)
    end)

    it("validates Pro parameters like the service", function()
      sb:config { concurrency = 0 }
      assert.equal("UnknownParameter", api_error_code { Prompt = "x", prompt = "x" })
      assert.equal("InvalidParameter", api_error_code {})
      assert.equal("InvalidParameter", api_error_code { Prompt = "x", ImageUrl = "https://e.com/a.png" })
      assert.is_nil(api_error_code { GenerateType = "Sketch", Prompt = "x", ImageUrl = "https://e.com/a.png" })
      assert.is_nil(api_error_code { ImageUrl = { Url = "data:image/png;base64,iVBOR" } })
      assert.is_nil(api_error_code { Prompt = string.rep("椅", 1024) })
      local code, msg = api_error_code { Prompt = string.rep("椅", 1025) }
      assert.equal("InvalidParameter", code)
      assert.matches("【Prompt】", msg)
      assert.equal("InvalidParameter", api_error_code { Prompt = "x", FaceCount = 2999 })
      assert.equal("InvalidParameter", api_error_code { Prompt = "x", FaceCount = 1500001 })
      assert.is_nil(api_error_code { Prompt = "x", FaceCount = 3000 })
      code, msg = api_error_code { Prompt = "x", GenerateType = "normal" }
      assert.equal("InvalidParameter", code)
      assert.equal("【GenerateType】仅支持Normal,LowPoly,Geometry,Sketch", msg)
      assert.equal("InvalidParameter", api_error_code { Prompt = "x", Model = "3.1", GenerateType = "LowPoly" })
      assert.equal("InvalidParameter", api_error_code { Prompt = "x", Model = "4.0" })
      assert.equal("InvalidParameter", api_error_code { Prompt = "x", ResultFormat = "OBJ" })
      assert.equal("InvalidParameter", api_error_code { Prompt = "x", EnablePBR = "yes" })
      assert.equal("InvalidParameter", api_error_code {
        ImageUrl = "https://e.com/f.png",
        MultiViewImages = { { ViewType = "left", ViewImageUrl = "u" }, { ViewType = "left", ViewImageUrl = "v" } } })
      assert.equal("InvalidParameter", api_error_code {
        ImageUrl = "https://e.com/f.png", MultiViewImages = { { ViewType = "top", ViewImageUrl = "u" } } })
      assert.is_nil(api_error_code { Model = "3.1", ImageUrl = "https://e.com/f.png",
        MultiViewImages = { { ViewType = "top", ViewImageUrl = "u" } } })
      sb:config { concurrency = 3 }
    end)

    it("requires a JobId on query and reports unknown ones", function()
      local h = { ["Content-Type"] = "application/json", Authorization = sb.key, ["Content-Length"] = 2 }
      local _, body = sb:raw("POST", "/v1/ai3d/query", h, "{}")
      assert.equal("MissingParameter", body.Response.Error.Code)
      local q = '{"JobId":"1"}'
      h["Content-Length"] = #q
      _, body = sb:raw("POST", "/v1/ai3d/query", h, q)
      assert.equal("FailedOperation.JobNotFound", body.Response.Error.Code)
      assert.is_string(body.Response.RequestId)
    end)

    it("rejects submits beyond the account's concurrency", function()
      sb:config { run_time = 30, concurrency = 2 }
      assert.is_nil(api_error_code { Prompt = "1" })
      assert.is_nil(api_error_code { Prompt = "2" })
      local code, msg = api_error_code { Prompt = "3" }
      assert.equal("RequestLimitExceeded.JobNumExceed", code)
      assert.equal("当前已达到2个任务上限，请稍后重试", msg)
      assert.equal(2, sb:stats().jobs_running)
      sb:config { run_time = 0.2, concurrency = 3 }
    end)
  end)

  describe("result files", function()
    local function done_job(params)
      local _, body = submit(params)
      local id = body.Response.JobId
      socket.sleep(0.3)
      local h = { ["Content-Type"] = "application/json", Authorization = sb.key }
      local q = cjson.encode { JobId = id }
      h["Content-Length"] = #q
      local _, r = sb:raw("POST", "/v1/ai3d/query", h, q)
      assert.equal("DONE", r.Response.Status)
      return r.Response
    end

    it("returns OBJ and GLB by default, GLB alone for Geometry, and STL when asked", function()
      local r = done_job { Prompt = "x" }
      assert.equal("OBJ", r.ResultFile3Ds[1].Type)
      assert.equal("GLB", r.ResultFile3Ds[2].Type)
      r = done_job { Prompt = "x", GenerateType = "Geometry" }
      assert.equal(1, #r.ResultFile3Ds)
      assert.equal("GLB", r.ResultFile3Ds[1].Type)
      r = done_job { Prompt = "x", ResultFormat = "STL" }
      local stl = r.ResultFile3Ds[3]
      assert.equal("STL", stl.Type)
      local data = assert(require("socket.http").request(stl.Url))
      local triangles = string.unpack("<I4", data, 81)
      assert.equal(84 + 50 * triangles, #data)
    end)

    it("serves HEAD with the length and no body", function()
      local r = done_job { Prompt = "x" }
      local path = r.ResultFile3Ds[2].Url:match("^http://[^/]+(/.*)$")
      local full = assert(require("socket.http").request(r.ResultFile3Ds[2].Url))
      local status, body, headers = sb:raw("HEAD", path)
      assert.equal(200, status)
      assert.equal(tostring(#full), headers["content-length"])
      assert.equal("", body)
      assert.equal("model/gltf-binary", headers["content-type"])
    end)
  end)

  describe("connections", function()
    it("serves many concurrent keep-alive connections and counts them", function()
      local n = 60
      local before = sb:stats()
      local conns = {}
      for i = 1, n do
        conns[i] = assert(socket.connect("127.0.0.1", tonumber(sb.url:match(":(%d+)$"))))
        conns[i]:settimeout(10)
      end
      for round = 1, 2 do
        for i = 1, n do
          assert(conns[i]:send(request_bytes("/v1/ai3d/query", sb.key, '{"JobId":"' .. i .. round .. '"}')))
        end
        for i = 1, n do
          local status, headers, body = read_response(conns[i])
          assert.equal(200, status)
          assert.equal("keep-alive", headers.connection)
          assert.equal("FailedOperation.JobNotFound", cjson.decode(body).Response.Error.Code)
        end
      end
      for i = 1, n do conns[i]:close() end
      local after = sb:stats()
      -- n client connections, plus the one this stats call opens
      assert.equal(n + 1, after.connections_opened - before.connections_opened)
      assert.equal(2 * n + 1, after.requests_served - before.requests_served)
    end)
  end)
end)
