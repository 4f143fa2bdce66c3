-- Bad input from the user: every public function given wrong types, nil, huge strings, invalid
-- UTF-8, NaN, deep or cyclic tables — a clear error (a raise for programmer mistakes, nil + an
-- invalid error for bad values), never a crash. Version-neutral.
local hy3d = require "hy3d"
local core = require "hy3d.core"

local BAD = { false, 0 / 0, 1 / 0, -1, "", ("x"):rep(1024 * 1024), "\255\254", {}, function() end,
              coroutine.create(function() end), io.stdout }

local function deep(n)
  local t = {}
  local top = t
  for _ = 1, n do
    t.x = {}
    t = t.x
  end
  return top
end

local function cyclic()
  local t = { Prompt = "x" }
  t.self = t
  return t
end

-- Calls f(...) and checks it either returned (anything) or raised a string error, not a crash.
local function survives(f, ...)
  local ok, err = pcall(f, ...)
  if not ok then assert.is_string(err, "the error is a message") end
  return ok, err
end

describe("bad input", function()
  local client = hy3d.new { api_key = "sk-xxxxxxxx", base_url = "http://127.0.0.1:9", max_retries = 0, timeout = 1 }
  local api3 = hy3d.new { secret_id = "AKIDx", secret_key = "kkkkkkkk", endpoint = "http://127.0.0.1:9", max_retries = 0,
                          timeout = 1 }

  it("hy3d.new raises a message for every wrong option", function()
    for _, v in ipairs(BAD) do
      for _, name in ipairs { "api_key", "timeout", "base_url", "poll_interval", "max_retries", "stall",
                              "max_concurrent_jobs", "yield", "validate", "secret_id" } do
        local ok = survives(hy3d.new, { [name] = v })
        if ok then hy3d.new({ [name] = v }):close() end
      end
      survives(hy3d.new, v)
    end
    assert.has_error(function() hy3d.new { timeout = 0 / 0 } end)
    assert.has_error(function() hy3d.new { max_concurrent_jobs = 0 } end)
    assert.has_error(function() hy3d.new { max_retries = 1.5 } end)
  end)

  it("client methods raise for wrong argument types", function()
    for _, c in ipairs { client, api3 } do
      for _, v in ipairs { nil, 42, true, function() end } do
        assert.has_error(function() c:submit(v) end)
        assert.has_error(function() c:query(v) end)
        assert.has_error(function() c:wait(v) end)
        assert.has_error(function() c:download(v, "x") end)
        assert.has_error(function() c:download("http://127.0.0.1:9/x", v) end)
        assert.has_error(function() c:call(v, {}) end)
        assert.has_error(function() c:convert(v) end)
      end
      assert.has_error(function() c:query({}) end)
      assert.has_error(function() c:wait("1", { interval = -1 }) end)
      assert.has_error(function() c:wait("1", { timeout = 0 / 0 }) end)
      assert.has_error(function() c:submit({ Prompt = "x" }, { kind = 5 }) end)
      assert.has_error(function() c:step("soon") end)
    end
  end)

  -- The result of client:submit(params) when the local checks let it through: the request went
  -- out and found nobody (port 9), so a network error, never an invalid one.
  local function passes(params)
    local job, err = client:submit(params)
    assert.is_nil(job)
    assert.equal("network", err.kind, tostring(err))
  end

  local function refused(params, field, pattern)
    local job, err = client:submit(params)
    assert.is_nil(job)
    assert.equal("invalid", err.kind)
    assert.equal("INVALID_PARAMETER", err.code)
    assert.equal(field, err.field)
    if pattern then assert.matches(pattern, err.message) end
  end

  it("FaceCount: 3000 to 1500000, both ends included", function()
    passes { Prompt = "x", FaceCount = 3000 }
    passes { Prompt = "x", FaceCount = 1500000 }
    refused({ Prompt = "x", FaceCount = 2999 }, "FaceCount", "%[3000, 1500000%], got 2999")
    refused({ Prompt = "x", FaceCount = 1500001 }, "FaceCount", "%[3000, 1500000%], got 1500001")
  end)

  it("multi-view images: at most 8 MB encoded together, the front image included", function()
    local MB = 1024 * 1024
    local function b64(n) return ("A"):rep(n) end          -- n base64 characters (n a multiple of 4)
    local function params(front, views)
      local list = {}
      for i, n in ipairs(views) do list[i] = { ViewType = ({ "left", "right", "back" })[i], ViewImageBase64 = b64(n) } end
      return { ImageBase64 = b64(front), MultiViewImages = list }
    end
    passes(params(4 * MB, { 2 * MB, 2 * MB }))            -- exactly 8 MB
    refused(params(4 * MB, { 2 * MB, 2 * MB + 4 }), "MultiViewImages", "8 MB")
    -- the views alone (4 MB + 4) are well under 8 MB: only the front image takes them over
    refused(params(4 * MB, { 4 * MB + 4 }), "MultiViewImages", "8 MB")
    passes(params(4, { 4 * MB, 4 * MB - 4 }))
  end)

  it("GenerateType with Model 3.1: LowPoly and Sketch are refused, Normal and Geometry go out", function()
    local url = "https://e.com/sketch.png"
    for _, gen in ipairs { "LowPoly", "Sketch" } do
      refused({ ImageUrl = url, Model = "3.1", GenerateType = gen }, "GenerateType", gen .. " is not available with Model 3.1")
    end
    passes { ImageUrl = url, Model = "3.0", GenerateType = "Sketch" }
    passes { ImageUrl = url, Model = "3.1", GenerateType = "Geometry" }
    passes { Prompt = "x", Model = "3.1", GenerateType = "Normal" }
  end)

  it("bad values come back as invalid errors, without a request", function()
    local values = {
      { Prompt = ("椅"):rep(400000) },                 -- a huge prompt
      { Prompt = "\255\254 invalid UTF-8" },
      { Prompt = "x", FaceCount = 0 / 0 },
      { Prompt = "x", FaceCount = 1 / 0 },
      { Prompt = "x", Nested = deep(2000) },
      cyclic(),
      { Prompt = "x", Callback = function() end },
    }
    for _, c in ipairs { client, api3 } do
      for _, params in ipairs(values) do
        local job, err = c:submit(params)
        assert.is_nil(job)
        assert.equal("invalid", err.kind, tostring(err))
        assert.is_string(err.message)
      end
    end
    local loose = hy3d.new { api_key = "sk-xxxxxxxx", base_url = "http://127.0.0.1:9", validate = false }
    for _, params in ipairs { { Prompt = "x", FaceCount = 0 / 0 }, { Prompt = "x", T = deep(2000) }, cyclic() } do
      local _, err = loose:submit(params)
      assert.equal("invalid", err.kind)
      assert.equal("JSON_ENCODE", err.code)
    end
    loose:close()
  end)

  it("call and convert take only tables and action names", function()
    assert.has_error(function() api3:call("Convert3DFormat", "File3D=x") end)
    assert.has_error(function() api3:call("Bad Action", {}) end)
    assert.has_error(function() api3:call(("A"):rep(10) .. "\0", {}) end)
    local _, err = api3:call("Convert3DFormat", { File3D = cyclic() })
    assert.equal("invalid", err.kind)
  end)

  it("the pump and the module functions raise for wrong arguments", function()
    assert.has_error(function() hy3d.spawn(nil) end)
    assert.has_error(function() hy3d.spawn({}) end)
    assert.has_error(function() hy3d.sleep("1") end)
    assert.has_error(function() hy3d.sleep(0 / 0) end)
    assert.has_error(function() hy3d.use(42) end)
    assert.has_error(function() hy3d.update("soon") end)
    assert.has_error(function() hy3d.step(-1) end)
  end)

  it("download_files takes a plain file name only: a name can never lead out of dir", function()
    for _, name in ipairs { "../x", "..", ".", "", "sub/x", "/tmp/x", "x\n", "x\0" } do
      assert.has_error(function() client:download_files("1", { name = name, dir = "out" }) end,
        "hy3d download_files: name must be a plain file name")
    end
  end)

  it("engine methods raise for a negative time, which only wait() takes", function()
    local e = core.new { base_url = "http://127.0.0.1:9" }
    assert.has_error(function() e:request("POST", "/", {}, -1, true) end)
    assert.has_error(function() e:request("POST", "/", { JobId = "1" }, -0.5) end)
    assert.has_error(function() e:step(-1) end)
    assert.has_error(function() e:step(1e9) end)
    assert.equal(0, e:pending(), "nothing was started")
    assert.equal(0, e:step(0))
    e:close()
  end)

  it("the C core survives garbage in every entry point", function()
    for _, v in ipairs(BAD) do
      survives(core.encode, v)
      survives(core.decode, v)
      survives(core.base64_decode, v)
      survives(core.base64_encode, v)
      survives(core.sha256, v)
      survives(core.hmac_sha256, v, v)
      survives(core.tc3_sign, { secret_id = v, secret_key = v, payload = v, host = v, timestamp = v })
      survives(core.new, { base_url = v })
      survives(core.new, { base_url = "http://127.0.0.1:9", tc3 = v })
    end
    for _, s in ipairs { "", "{", "[1,2", ('{"a":'):rep(2000), "\0\1\2", ("9"):rep(5000), '"\\ud800"' } do
      survives(core.decode, s)
    end
    local e = core.new { base_url = "http://127.0.0.1:9" }
    local spot = os.tmpname()                       -- any file a bad download might create goes here
    for _, v in ipairs(BAD) do
      survives(e.request, e, "POST", "/", v)          -- the body
      survives(e.request, e, "POST", v)               -- the target
      survives(e.request, e, v, "/")                  -- the method
      survives(e.request, e, "POST", "/", {}, v)      -- the timeout
      survives(e.request, e, "POST", "/", {}, nil, false, v)   -- the action (no tc3: always raises)
      survives(e.download, e, v, spot)
      if type(v) ~= "string" then survives(e.download, e, "http://127.0.0.1:9/x", v) end
      survives(e.wait, e, v)
      survives(e.step, e, v)
    end
    e:close()
    os.remove(spot)
    assert.has_error(function() e:request("POST", "/", {}) end)   -- closed: a clear error
  end)
end)
