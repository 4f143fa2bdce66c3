-- hy3d.doors.local's translation of PascalCase fields, and the C core's readers of a JSON answer in
-- a file (core.json_skim, core.json_b64_field) on well-formed and hostile answers.
local core = require "hy3d.core"
local door = require "hy3d.doors.local"
local doors = require "hy3d.doors"
local sandbox = require "spec.support.sandbox"

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local read = sandbox.read_file

describe("the local door", function()
  it("is listed among the doors, without credentials", function()
    assert.equal(door, doors.get("local"))
    assert.equal("none", door.credentials)
    assert.same({ "gateway", "api3", "tokenhub", "local", "mps" }, doors.names)   -- one order everywhere
  end)

  it("meets hy3d.doors' interface: /send through request/answer/failure, its own exchange otherwise", function()
    local Transport = require("hy3d.transport").Transport
    local sent, answers = {}, {}
    local tr = setmetatable({ door_impl = door, door_options = {}, base_url = "http://gpu-box:8081",
      engine = { request = function(_, ...) sent[#sent + 1] = { ... }; return true end } }, { __index = Transport })
    tr.settle = function()
      local a = table.remove(answers, 1)
      return a[1], a[2]
    end
    answers[1] = { { uid = "abc-1" } }
    local res = assert(tr:try("SubmitHunyuanTo3DProJob", { ImageBase64 = "aGk=" }, 5, true))
    assert.same({ JobId = "abc-1", raw = { uid = "abc-1" } }, res)         -- lowercase raw, as TokenHub's
    assert.same({ "POST", "/send", { image = "aGk=" }, 5, true }, sent[1])
    local _, err = tr:try("SubmitHunyuanTo3DProJob", { ImageUrl = "https://x/a.png" }, 5, true)
    assert.same({ "invalid", "FIELD_NOT_ON_DOOR", "ImageUrl" }, { err.kind, err.code, err.field })
    assert.equal(1, #sent)                                                  -- refused by request: nothing sent
    answers[1] = { nil, { kind = "http", http_status = 404, message = 'HTTP 404: {"error_code": 1}' } }
    _, err = tr:try("SubmitHunyuanTo3DProJob", { ImageBase64 = "aGk=" }, 5, true)
    assert.same({ "api", "RequestLimitExceeded.ServerBusy" }, { err.kind, err.code })   -- failure
    answers[1] = { { uid = "no spaces allowed" } }
    _, err = tr:try("SubmitHunyuanTo3DProJob", { ImageBase64 = "aGk=" }, 5, true)
    assert.same({ "decode", "NO_JOB_ID" }, { err.kind, err.code })          -- answer
    _, err = tr:try("QueryHunyuanTo3DProJob", { JobId = "bad id" }, 5, false)
    assert.equal("BAD_JOB_ID", err.code)                                    -- the door's own exchange
    _, err = tr:try("Convert3DFormat", {}, 5, false)
    assert.equal("ACTION_NOT_ON_DOOR", err.code)
    assert.equal(3, #sent)                                                  -- the /send exchanges only
  end)

  it("translates the fields it can express", function()
    assert.same({ image = "aGk=", face_count = 5000, texture = true, seed = 1, octree_resolution = 256,
                  num_inference_steps = 5, guidance_scale = 5.5, num_chunks = 8000, remove_background = false,
                  type = "glb" },
      door.translate { ImageBase64 = "aGk=", FaceCount = 5000, EnablePBR = true, Seed = 1, OctreeResolution = 256,
                       NumInferenceSteps = 5, GuidanceScale = 5.5, NumChunks = 8000, RemoveBackground = false,
                       ResultFormat = "glb" })
    assert.same({ text = "a chair", texture = false }, door.translate { Prompt = "a chair", GenerateType = "Geometry" })
    assert.same({ texture = true }, door.translate { GenerateType = "Normal" })
    assert.same({ texture = false }, door.translate { GenerateType = "Normal", EnablePBR = false })
  end)

  it("refuses what it cannot express, naming the door and the field", function()
    for field, params in pairs {
      ImageUrl = { ImageUrl = "https://example.com/a.png" },
      MultiViewImages = { MultiViewImages = {} },
      Model = { Model = "3.0" },
      PolygonType = { PolygonType = "quadrilateral" },
      ResultFormat = { ResultFormat = "FBX" },
      GenerateType = { GenerateType = "Sketch" },
      EnablePBR = { EnablePBR = true, GenerateType = "Geometry" },
      FaceCount = { FaceCount = "many" },
    } do
      local body, err = door.translate(params)
      assert.is_nil(body, field)
      assert.equal("invalid", err.kind)
      assert.equal("FIELD_NOT_ON_DOOR", err.code)
      assert.equal(field, err.field)
      assert.matches("the local door", err.message)
    end
    local _, err = door.translate { ["bad\nname"] = 1 }
    assert.is_nil(err.message:find("\n", 1, true))              -- a hostile key never reaches a message as is
  end)
end)

describe("core.json_skim and core.json_b64_field", function()
  local src, dst
  before_each(function()
    src, dst = os.tmpname(), os.tmpname()
  end)
  after_each(function()
    os.remove(src)
    os.remove(dst)
  end)

  it("refuses a path holding a NUL (BAD_PATH, nothing opened) and negative limits", function()
    write(src, '{"model_base64": "Z2xURg=="}')
    local text, err = core.json_skim(src .. "\0.x", 50, 1000)
    assert.is_nil(text)
    assert.same({ "invalid", "BAD_PATH" }, { err.kind, err.code })
    for _, args in ipairs { { src .. "\0.x", "model_base64", dst }, { src, "model_base64", dst .. "\0.x" } } do
      local n, e = core.json_b64_field(args[1], args[2], args[3])
      assert.is_nil(n)
      assert.same({ "invalid", "BAD_PATH" }, { e.kind, e.code })
    end
    assert.equal("", read(dst))                     -- the model's file was never opened
    assert.has_error(function() core.json_skim(src, -1, 1000) end)
    assert.has_error(function() core.json_skim(src, 50, -1) end)
  end)

  it("replaces long strings by their length and keeps the rest, escapes included", function()
    write(src, '{"status": "completed", "note": "a \\"quoted\\" word", "model_base64": "' .. ("A"):rep(100) .. '"}')
    local text = assert(core.json_skim(src, 50, 1000))
    assert.same({ status = "completed", note = 'a "quoted" word', model_base64 = 100 }, core.decode(text))
  end)

  it("refuses an answer whose fields, long strings aside, exceed the bound, or that ends inside a string", function()
    write(src, '{"junk": [' .. ("1,"):rep(1000) .. '1]}')
    local text, err = core.json_skim(src, 50, 1000)
    assert.is_nil(text)
    assert.same({ "decode", "RESPONSE_TOO_LARGE" }, { err.kind, err.code })
    write(src, '{"status": "comp')
    text, err = core.json_skim(src, 50, 1000)
    assert.is_nil(text)
    assert.equal("INVALID_JSON", err.code)
    text, err = core.json_skim(src .. ".missing", 50, 1000)
    assert.is_nil(text)
    assert.equal("io", err.kind)
  end)

  it("decodes the top-level field only, through \\/ escapes and line breaks, in chunks", function()
    local data = {}
    for i = 1, 300000 do data[i] = string.char(i % 256) end
    data = table.concat(data)
    local b64 = core.base64_encode(data)
    local wrapped = b64:gsub(("."):rep(76), "%0\n"):gsub("/", "\\/"):gsub("\n", "\\n")
    write(src, '{"inner": {"model_base64": "QUJD"}, "list": ["model_base64"], "model_base64" : "' .. wrapped .. '"}')
    assert.equal(#data, core.json_b64_field(src, "model_base64", dst))
    assert.equal(data, read(dst))
  end)

  it("gives typed errors for a missing field, a value that is not a string, bad base64 and a cut answer", function()
    for _, case in ipairs {
      { '{"status": "completed"}', "NO_MODEL_FIELD" },
      { '{"inner": {"model_base64": "QUJD"}}', "NO_MODEL_FIELD" },
      { '{"model_base64": null}', "BAD_MODEL_FIELD" },
      { '{"model_base64": "QU*D"}', "BAD_BASE64" },
      { '{"model_base64": "QUJD\\u0041"}', "BAD_BASE64" },
      { '{"model_base64": "QUJD', "INVALID_JSON" },
    } do
      write(src, case[1])
      local n, err = core.json_b64_field(src, "model_base64", dst)
      assert.is_nil(n, case[1])
      assert.same({ "decode", case[2] }, { err.kind, err.code }, case[1])
    end
  end)
end)
