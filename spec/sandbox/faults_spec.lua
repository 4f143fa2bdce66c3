-- hy3d.sandbox.faults: each fault kind, seen on the wire (raw sockets), from the control
-- endpoint, the command line and the environment; probabilistic faults repeat under a seed.
local cjson = require "cjson"
local socket = require "socket"
local sandbox = require "spec.support.sandbox"
local faults = require "hy3d.sandbox.faults"

local function port_of(sb) return tonumber(sb.url:match(":(%d+)$")) end

-- Sends one gateway query on a fresh connection and reads what comes back, however it ends.
-- Returns { status, headers, body, err, first_byte (s), elapsed (s) }.
local function exchange(sb, path, body, key)
  body = body or '{"JobId":"1"}'
  local sock = assert(socket.connect("127.0.0.1", port_of(sb)))
  sock:settimeout(10)
  local t0 = socket.gettime()
  assert(sock:send(("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\nContent-Type: application/json\r\n"
    .. "Content-Length: %d\r\n\r\n%s"):format(path or "/v1/ai3d/query", key or sb.key, #body, body)))
  local r = {}
  local line, err = sock:receive("*l")
  r.first_byte = socket.gettime() - t0
  if not line then
    r.err, r.elapsed = err, socket.gettime() - t0
    sock:close()
    return r
  end
  r.status, r.headers = tonumber(line:match("^HTTP/1%.1 (%d+)")), {}
  while true do
    local h = assert(sock:receive("*l"))
    if h == "" then break end
    local k, v = h:match("^([^:]+):%s*(.*)$")
    r.headers[k:lower()] = v
  end
  local n = tonumber(r.headers["content-length"])
  local data, rerr, partial = sock:receive(n)
  r.body, r.err = data or partial, rerr
  r.elapsed = socket.gettime() - t0
  sock:close()
  return r
end

describe("hy3d-sandbox faults", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0.1 }

  it("adds latency", function()
    sb:fault { route = "query", action = "delay", delay = 0.4 }
    local r = exchange(sb)
    assert.equal(200, r.status)
    assert.is_true(r.elapsed >= 0.38)
  end)

  it("answers with an HTTP error status", function()
    sb:fault { route = "query", action = "status", status = 503, body = "overloaded" }
    local r = exchange(sb)
    assert.equal(503, r.status)
    assert.equal("overloaded", r.body)
    assert.equal(200, exchange(sb).status)            -- count defaults to one
  end)

  it("answers 429 with Retry-After", function()
    sb:fault { route = "submit", action = "status", status = 429, retry_after = 7 }
    local r = exchange(sb, "/v1/ai3d/submit", '{"Prompt":"x"}')
    assert.equal(429, r.status)
    assert.equal("7", r.headers["retry-after"])
  end)

  it("closes the connection before a response (FIN), or resets it (RST)", function()
    sb:fault { route = "query", action = "close" }
    local r = exchange(sb)
    assert.is_nil(r.status)
    assert.equal("closed", r.err)
    -- luasocket reports both as "closed"; libcurl tells an empty reply (52) from a reset (56)
    local client = sb:client { max_retries = 0 }
    sb:fault { route = "query", action = "close" }
    local _, err = client:query("1")
    assert.equal(52, err.curl_code)
    sb:fault { route = "query", action = "reset" }
    _, err = client:query("1")
    assert.equal(56, err.curl_code)
    assert.matches("reset", err.message)
  end)

  it("cuts the body short", function()
    sb:fault { route = "query", action = "cut", after = 10 }
    local r = exchange(sb)
    assert.equal(200, r.status)
    assert.equal("closed", r.err)
    assert.equal(10, #r.body)
    assert.is_true(tonumber(r.headers["content-length"]) > 10)
  end)

  it("stalls in the middle of the body, then finishes it", function()
    sb:fault { route = "query", action = "stall", after = 5, stall = 0.5 }
    local r = exchange(sb)
    assert.equal(200, r.status)
    assert.is_nil(r.err)
    assert.is_true(r.elapsed - r.first_byte >= 0.45)
    assert.equal("FailedOperation.JobNotFound", cjson.decode(r.body).Response.Error.Code)
  end)

  it("sends a body that is not JSON", function()
    sb:fault { route = "query", action = "garbage" }
    local r = exchange(sb)
    assert.equal(200, r.status)
    assert.matches("^text/html", r.headers["content-type"])
    assert.is_false(pcall(cjson.decode, r.body))
  end)

  it("answers with a transient FailedOperation error", function()
    sb:fault { route = "submit", action = "api_error", code = "FailedOperation.RequestTimeout", message = "后端服务超时" }
    local r = exchange(sb, "/v1/ai3d/submit", '{"Prompt":"x"}')
    assert.equal(200, r.status)
    local e = cjson.decode(r.body).Response.Error
    assert.same({ Code = "FailedOperation.RequestTimeout", Message = "后端服务超时" }, e)
  end)

  it("makes a job FAIL with the chosen ErrorCode, on one family only", function()
    sb:fault { action = "fail", route = "rapid", code = "FailedOperation.DownloadError", message = "文件下载失败。" }
    sb:freeze()
    local _, pro = sb:api("SubmitHunyuanTo3DProJob", { Prompt = "x" })
    local _, rapid = sb:api("SubmitHunyuanTo3DRapidJob", { Prompt = "x" })
    local _, q = sb:api("QueryHunyuanTo3DRapidJob", { JobId = rapid.Response.JobId })
    assert.equal("RUN", q.Response.Status)            -- it fails when its run is over, not before
    assert.equal("", q.Response.ErrorCode)
    sb:advance(0.25)                                  -- past WAIT 0 + RUN 0.1 on the job clock
    _, q = sb:api("QueryHunyuanTo3DRapidJob", { JobId = rapid.Response.JobId })
    assert.equal("FAIL", q.Response.Status)
    assert.equal("FailedOperation.DownloadError", q.Response.ErrorCode)
    assert.equal("文件下载失败。", q.Response.ErrorMessage)
    _, q = sb:api("QueryHunyuanTo3DProJob", { JobId = pro.Response.JobId })
    assert.equal("DONE", q.Response.Status)
  end)

  it("matches API 3.0 actions by name and everything with route any", function()
    sb:fault { route = "DescribeReduceFaceJob", action = "status", status = 502, count = 2 }
    local status = sb:api("QueryHunyuanTo3DProJob", { JobId = "1" })
    assert.equal(200, status)
    assert.equal(502, (sb:api("DescribeReduceFaceJob", { JobId = "1" })))
    assert.equal(502, (sb:api("DescribeReduceFaceJob", { JobId = "1" })))
    assert.equal(200, (sb:api("DescribeReduceFaceJob", { JobId = "1" })))
    sb:fault { action = "status", status = 500, count = -1 }
    assert.equal(500, (sb:api("Convert3DFormat", {})))
    assert.equal(500, exchange(sb).status)
    local listed = sb:control("faults")
    assert.equal(1, #listed.faults)
    assert.equal(4, listed.fired)
  end)

  it("refuses rules it does not know", function()
    local status, body = sb:raw("POST", "/_sandbox/faults", { ["Content-Type"] = "application/json", ["Content-Length"] = 20 },
      '{"action":"explode"}')
    assert.equal(400, status)
    assert.matches("unknown fault action explode", body.error.message)
    local ok, err = faults.new(1):add { action = "delay", delay = "soon" }
    assert.is_nil(ok)
    assert.matches("delay must be a number", err)
    assert.is_nil((faults.new(1):add { action = "close", probability = 2 }))
  end)

  it("fires probabilistic rules the same way under the same seed", function()
    local function pattern(seed)
      local f = faults.new(seed)
      assert(f:parse("query:status:status=503,probability=0.5"))
      local hits = {}
      for i = 1, 64 do hits[i] = f:take({ "query" }, "request") and "x" or "." end
      return table.concat(hits)
    end
    assert.equal(pattern(42), pattern(42))
    assert.are_not.equal(pattern(42), pattern(43))
    local n = select(2, pattern(7):gsub("x", ""))
    assert.is_true(n > 16 and n < 48)
  end)

  it("parses rules from text and JSON", function()
    local f = faults.new(1)
    local rules = assert(f:parse("query:status:status=503,count=2; any:delay:delay=0.1"))
    assert.equal(2, #rules)
    assert.equal(503, f.rules[1].status)
    assert.equal(2, f.rules[1].count)
    assert(f:parse('[{"action":"reset","route":"files"}]'))
    assert.equal("files", f.rules[3].route)
    assert.is_nil((f:parse("nonsense")))
    assert.is_nil((f:parse("query:status:status")))
    assert.equal(3, #f.rules)                         -- a bad spec adds nothing
  end)

  it("takes rules from --fault and HY3D_SANDBOX_FAULTS", function()
    local other = sandbox.start { extra = { "--fault", "query:status:status=418,count=-1", "--seed", "5" } }
    assert.equal(418, exchange(other).status)
    assert.equal(418, exchange(other).status)
    other:stop()
    local out = os.tmpname()
    local cmd = ("HY3D_SANDBOX_FAULTS='submit:status:status=503' %s %s sandbox/bin/hy3d-sandbox --port 0 --lifetime 20 "
      .. "--api-key %s > %s 2>&1 & echo $!"):format(sandbox.lua_env(), sandbox.lua(), sb.key, out)
    local p = io.popen(cmd)
    local pid = p:read("l")
    p:close()
    local url
    for _ = 1, 500 do
      url = (sandbox.read_file(out) or ""):match("^(http://[%d%.]+:%d+)\n")
      if url then break end
      socket.sleep(0.02)
    end
    assert.is_string(url)
    local env_sb = { url = url, key = sb.key }
    assert.equal(503, exchange(env_sb, "/v1/ai3d/submit", '{"Prompt":"x"}').status)
    assert.equal(200, exchange(env_sb, "/v1/ai3d/submit", '{"Prompt":"x"}').status)
    os.execute("kill " .. pid)
    os.remove(out)
    local bad, msg, code = sandbox.run(sandbox.lua_env() .. " " .. sandbox.lua() .. " sandbox/bin/hy3d-sandbox --fault nonsense")
    assert.is_false(bad)
    assert.equal(2, code)
    assert.matches("%-%-fault: fault spec must look like", msg)
  end)
end)
