-- The sandbox's server clock: every answer carries a Date header (RFC 9110 IMF-fixdate), and the
-- clock_offset config moves it and the TC3 timestamp check together, as a server whose clock is
-- off would (what `hy3d doctor` measures).
local sandbox = require "spec.support.sandbox"
local doctor = require "hy3d.cli.cmd.doctor"

local SANDBOX_RUNS = _VERSION ~= "Lua 5.1" and _VERSION ~= "Lua 5.2" and not rawget(_G, "jit")
if not SANDBOX_RUNS then
  pending("the sandbox's clock: hy3d-sandbox needs Lua 5.3+ (this suite runs on " .. _VERSION .. ")")
  return
end

describe("hy3d-sandbox's clock", function()
  local sb = sandbox.suite()
  after_each(function() sb:config { clock_offset = 0 } end)

  it("sends a Date header with every answer, from this machine's clock by default", function()
    for _, path in ipairs { "/", "/v1/ai3d/query", "/nowhere" } do
      local before = os.time()
      local get = path == "/"
      local _, _, headers = sb:raw(get and "GET" or "POST", path,
        not get and { ["Content-Type"] = "application/json", ["Content-Length"] = "2" } or nil, not get and "{}" or nil)
      local t = doctor.http_date(headers.date)
      assert.truthy(t, path .. ": " .. tostring(headers.date))
      assert.truthy(t >= before and t <= os.time(), path)
    end
  end)

  it("moves the Date header and the TC3 check by clock_offset", function()
    assert.equal(3600, sb:config({ clock_offset = 3600 }).clock_offset)
    local before = os.time()
    local code, body, headers = sb:api("QueryHunyuanTo3DProJob", { JobId = "1" })
    assert.equal(200, code)
    local t = doctor.http_date(headers.date)
    assert.truthy(t >= before + 3600 and t <= os.time() + 3600, headers.date)
    assert.equal("AuthFailure.SignatureExpire", body.Response.Error.Code, "a request signed now is an hour old there")
    code, body = sb:api("QueryHunyuanTo3DProJob", { JobId = "1" }, { timestamp = os.time() + 3600 })
    assert.equal(200, code)
    assert.equal("FailedOperation.JobNotFound", body.Response.Error.Code, "signed on the server's time, it passes")
  end)
end)
