-- hy3d.sandbox.actions: every action's parameters validated like the service, through real
-- signed API 3.0 requests (and the gateway where it differs).
local cjson = require "cjson"
local core = require "hy3d.core"
local sandbox = require "spec.support.sandbox"
local images = require "spec.support.images"

local b64 = core.base64_encode

describe("hy3d-sandbox actions", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0.1, extra = { "--concurrency", "pro=0,default=0" }, reset = false }

  -- The Error of an API 3.0 answer (code, message), or nil and the Response when it succeeded.
  local function call(action, params, opts)
    local status, body = sb:api(action, params, opts)
    assert.equal(200, status)
    assert.is_string(body.Response.RequestId)
    local e = body.Response.Error
    if e then return e.Code, e.Message end
    return nil, body.Response
  end

  -- A finished model of an earlier job, to feed actions that take a model URL.
  local model_url
  local function a_model_url()
    if model_url then return model_url end
    local _, r = call("SubmitHunyuanTo3DProJob", { Prompt = "a chair" })
    sb:advance(0.25)                                  -- past WAIT 0 + RUN 0.1 on the job clock
    local _, q = call("QueryHunyuanTo3DProJob", { JobId = r.JobId })
    assert.equal("DONE", q.Status)
    model_url = q.ResultFile3Ds[2].Url
    return model_url
  end

  describe("SubmitHunyuanTo3DProJob", function()
    it("takes exactly one of Prompt, ImageBase64 and ImageUrl (both prompt and image for Sketch)", function()
      local png = b64(images.png(512, 512))
      assert.is_nil((call("SubmitHunyuanTo3DProJob", { Prompt = "小狗" })))
      assert.is_nil((call("SubmitHunyuanTo3DProJob", { ImageBase64 = png })))
      assert.is_nil((call("SubmitHunyuanTo3DProJob", { ImageUrl = "https://example.com/a.png" })))
      local code, msg = call("SubmitHunyuanTo3DProJob", {})
      assert.equal("InvalidParameterValue", code)
      assert.equal("【Prompt/ImageBase64/ImageUrl】必须且只能提供其中一个", msg)
      assert.equal("InvalidParameterValue", (call("SubmitHunyuanTo3DProJob", { Prompt = "x", ImageBase64 = png })))
      assert.equal("InvalidParameterValue", (call("SubmitHunyuanTo3DProJob",
        { ImageBase64 = png, ImageUrl = "https://example.com/a.png" })))
      assert.is_nil((call("SubmitHunyuanTo3DProJob", { GenerateType = "Sketch", Prompt = "x", ImageBase64 = png })))
      assert.equal("InvalidParameterValue", (call("SubmitHunyuanTo3DProJob", { GenerateType = "Sketch", Prompt = "x" })))
    end)

    it("counts the prompt limit in UTF-8 characters, not bytes", function()
      assert.is_nil((call("SubmitHunyuanTo3DProJob", { Prompt = ("椅"):rep(1024) })))
      local code, msg = call("SubmitHunyuanTo3DProJob", { Prompt = ("椅"):rep(1025) })
      assert.equal("InvalidParameterValue", code)
      assert.equal("【Prompt】长度不能超过1024个字符", msg)
      assert.equal("InvalidParameterValue", (call("SubmitHunyuanTo3DProJob", { Prompt = "" })))
      assert.equal("InvalidParameterValue", (call("SubmitHunyuanTo3DProJob", { Prompt = "\255\254" })))
    end)

    it("checks FaceCount's range and type", function()
      assert.is_nil((call("SubmitHunyuanTo3DProJob", { Prompt = "x", FaceCount = 3000 })))
      assert.is_nil((call("SubmitHunyuanTo3DProJob", { Prompt = "x", FaceCount = 1500000 })))
      local code, msg = call("SubmitHunyuanTo3DProJob", { Prompt = "x", FaceCount = 2999 })
      assert.equal("InvalidParameterValue", code)
      assert.equal("【FaceCount】取值范围为[3000, 1500000]", msg)
      code, msg = call("SubmitHunyuanTo3DProJob", { Prompt = "x", FaceCount = 1500001 })   -- the upper bound
      assert.equal("InvalidParameterValue", code)
      assert.equal("【FaceCount】取值范围为[3000, 1500000]", msg)
      code, msg = call("SubmitHunyuanTo3DProJob", { Prompt = "x", FaceCount = 5000.5 })
      assert.equal("InvalidParameter", code)
      assert.equal("【FaceCount】参数类型错误，应为Integer", msg)
      assert.equal("InvalidParameter", (call("SubmitHunyuanTo3DProJob", { Prompt = "x", FaceCount = "5000" })))
    end)

    it("spells enums case-sensitively", function()
      local code, msg = call("SubmitHunyuanTo3DProJob", { Prompt = "x", GenerateType = "normal" })
      assert.equal("InvalidParameter", code)
      assert.equal("【GenerateType】仅支持Normal,LowPoly,Geometry,Sketch", msg)
      for field, bad in pairs { PolygonType = "Triangle", ResultFormat = "stl", Model = "3.2" } do
        assert.equal("InvalidParameter", (call("SubmitHunyuanTo3DProJob", { Prompt = "x", [field] = bad })))
      end
      assert.is_nil((call("SubmitHunyuanTo3DProJob",
        { Prompt = "x", GenerateType = "LowPoly", PolygonType = "quadrilateral", ResultFormat = "FBX" })))
    end)

    it("keeps LowPoly, Sketch and the extra views to their models", function()
      local code, msg = call("SubmitHunyuanTo3DProJob", { Prompt = "x", Model = "3.1", GenerateType = "LowPoly" })
      assert.equal("InvalidParameterValue", code)
      assert.matches("【GenerateType】", msg)
      assert.equal("InvalidParameterValue", (call("SubmitHunyuanTo3DProJob",
        { ImageUrl = "https://e.com/f.png", Model = "3.1", GenerateType = "Sketch" })))
      local top = { { ViewType = "top", ViewImageUrl = "https://e.com/t.png" } }
      code, msg = call("SubmitHunyuanTo3DProJob", { ImageUrl = "https://e.com/f.png", MultiViewImages = top })
      assert.equal("InvalidParameterValue", code)
      assert.equal("【MultiViewImages.0.ViewType】top仅在Model为3.1时支持", msg)
      assert.is_nil((call("SubmitHunyuanTo3DProJob", { ImageUrl = "https://e.com/f.png", Model = "3.1", MultiViewImages = top })))
    end)

    it("wants one image per view, each a JPEG or PNG within the limits", function()
      local front = "https://e.com/f.png"
      local left = { ViewType = "left", ViewImageBase64 = b64(images.png(512, 512)) }
      assert.is_nil((call("SubmitHunyuanTo3DProJob", { ImageUrl = front, MultiViewImages = { left } })))
      local code, msg = call("SubmitHunyuanTo3DProJob", { ImageUrl = front, MultiViewImages = { left, left } })
      assert.equal("InvalidParameterValue", code)
      assert.matches("重复", msg)
      assert.equal("InvalidParameterValue", (call("SubmitHunyuanTo3DProJob", { ImageUrl = front,
        MultiViewImages = { { ViewType = "back", ViewImageBase64 = b64(images.webp(512, 512)) } } })))
      assert.equal("InvalidParameterValue", (call("SubmitHunyuanTo3DProJob", { ImageUrl = front,
        MultiViewImages = { { ViewType = "back", ViewImageBase64 = b64(images.png(128, 512)) } } })))
      assert.equal("MissingParameter", (call("SubmitHunyuanTo3DProJob", { ImageUrl = front,
        MultiViewImages = { { ViewType = "back" } } })))
      assert.equal("InvalidParameter", (call("SubmitHunyuanTo3DProJob", { ImageUrl = front,
        MultiViewImages = { { ViewType = "Back", ViewImageUrl = front } } })))
      assert.equal("InvalidParameterValue", (call("SubmitHunyuanTo3DProJob",
        { Prompt = "x", MultiViewImages = { left } })))
    end)

    it("holds every inline image of a multi-view submit, the front one included, to 8 MB encoded", function()
      local MB = 1024 * 1024
      -- base64 of n raw bytes is 4 * ceil(n / 3) characters: these come to 8 MB exactly
      local front = b64(images.png(512, 512, 2400000))          -- 3,200,000 characters
      local left = b64(images.png(512, 512, 2400000))           -- 3,200,000
      local back_raw = (8 * MB - 2 * 3200000) * 3 // 4          -- 1,491,456 raw, 1,988,608 encoded
      assert.equal(8 * MB, #front + #left + #b64(images.png(512, 512, back_raw)))
      local function submit(front_field, back_bytes)
        local p = { MultiViewImages = { { ViewType = "left", ViewImageBase64 = left },
                                        { ViewType = "back", ViewImageBase64 = b64(back_bytes) } } }
        if front_field == "ImageBase64" then p.ImageBase64 = front else p.ImageUrl = "data:image/png;base64," .. front end
        return call("SubmitHunyuanTo3DProJob", p)
      end
      for _, field in ipairs { "ImageBase64", "ImageUrl" } do
        assert.is_nil((submit(field, images.png(512, 512, back_raw))), field)         -- 8 MB: within
        local code, msg = submit(field, images.png(512, 512, back_raw + 1))          -- 8 MB + 4 characters
        assert.equal("InvalidParameterValue", code, field)
        assert.equal("【MultiViewImages】图片总大小不能超过8M", msg, field)
      end
      -- the views alone (5.2 MB) are within it: the front image is what tips it over
      local over = b64(images.png(512, 512, back_raw + 1))
      assert.is_nil((call("SubmitHunyuanTo3DProJob", { ImageUrl = "https://e.com/f.png", MultiViewImages = {
        { ViewType = "left", ViewImageBase64 = left }, { ViewType = "back", ViewImageBase64 = over } } })))
    end)

    it("reads the image header for format, pixel size and byte size", function()
      local function image_code(bytes)
        return call("SubmitHunyuanTo3DProJob", { ImageBase64 = b64(bytes) })
      end
      assert.is_nil((image_code(images.png(128, 5000))))
      assert.is_nil((image_code(images.jpeg(640, 480))))
      assert.is_nil((image_code(images.webp(1024, 768))))
      local code, msg = image_code(images.png(127, 512))
      assert.equal("InvalidParameterValue", code)
      assert.equal("【ImageBase64】图片分辨率为127x512，边长需不小于128且不大于5000像素", msg)
      assert.equal("InvalidParameterValue", (image_code(images.jpeg(5001, 600))))
      code, msg = image_code(images.gif(512, 512))
      assert.equal("InvalidParameterValue", code)
      assert.matches("图片格式仅支持jpg,png,jpeg,webp", msg, 1, true)
      code, msg = image_code("not an image at all")
      assert.equal("InvalidParameterValue", code)
      assert.matches("【ImageBase64】图片解码失败", msg)
      code, msg = call("SubmitHunyuanTo3DProJob", { ImageBase64 = "%%%not base64%%%" })
      assert.equal("InvalidParameterValue", code)
      assert.equal("【ImageBase64】不是合法的base64编码", msg)
      code, msg = image_code(images.jpeg(640, 480, 6 * 1024 * 1024 + 1))
      assert.equal("InvalidParameterValue", code)
      assert.equal("【ImageBase64】图片大小不能超过6M", msg)
    end)

    it("decodes data: URIs in ImageUrl and vets URLs of its own files", function()
      local uri = "data:image/jpeg;base64," .. b64(images.jpeg(100, 100))
      local code, msg = call("SubmitHunyuanTo3DProJob", { ImageUrl = uri })
      assert.equal("InvalidParameterValue", code)
      assert.matches("100x100", msg)
      assert.is_nil((call("SubmitHunyuanTo3DProJob", { ImageUrl = "data:image/png;base64," .. b64(images.png(300, 300)) })))
      assert.equal("InvalidParameterValue", (call("SubmitHunyuanTo3DProJob", { ImageUrl = "ftp://e.com/a.png" })))
      code = call("SubmitHunyuanTo3DProJob", { ImageUrl = sb.url .. "/files/1234/preview.png?q-sign-time=1%3B2" })
      assert.equal("FailedOperation.DownloadError", code)
    end)

    it("rejects unknown fields, lowercase duplicates and non-object bodies", function()
      local code, msg = call("SubmitHunyuanTo3DProJob", { Prompt = "x", prompt = "x" })
      assert.equal("UnknownParameter", code)
      assert.equal("The parameter `prompt` is not recognized.", msg)
      assert.equal("UnknownParameter", (call("SubmitHunyuanTo3DProJob", { Prompt = "x", EnableGeometry = true })))
      assert.equal("InvalidParameter", (call("SubmitHunyuanTo3DProJob", nil, { body = "[1,2]" })))
      assert.equal("InvalidParameter", (call("SubmitHunyuanTo3DProJob", nil, { body = "{not json" })))
    end)

    it("treats JSON null as an omitted field", function()
      assert.is_nil((call("SubmitHunyuanTo3DProJob", nil, { body = '{"Prompt":"x","FaceCount":null}' })))
    end)
  end)

  describe("SubmitHunyuanTo3DRapidJob", function()
    it("has its own prompt limit, formats and EnableGeometry", function()
      assert.is_nil((call("SubmitHunyuanTo3DRapidJob", { Prompt = ("a"):rep(200), ResultFormat = "MP4" })))
      assert.equal("InvalidParameterValue", (call("SubmitHunyuanTo3DRapidJob", { Prompt = ("a"):rep(201) })))
      assert.equal("InvalidParameter", (call("SubmitHunyuanTo3DRapidJob", { Prompt = "x", ResultFormat = "GIF" })))
      local code, msg = call("SubmitHunyuanTo3DRapidJob", { Prompt = "x", EnableGeometry = true, ResultFormat = "OBJ" })
      assert.equal("InvalidParameterValue", code)
      assert.matches("EnableGeometry", msg)
      assert.equal("UnknownParameter", (call("SubmitHunyuanTo3DRapidJob", { Prompt = "x", FaceCount = 40000 })))
    end)
  end)

  describe("model-input actions", function()
    it("require their model input and check its type", function()
      local url = a_model_url()
      local code, msg = call("SubmitReduceFaceJob", {})
      assert.equal("MissingParameter", code)
      assert.equal("The request is missing a required parameter `File3D`.", msg)
      assert.equal("MissingParameter", (call("SubmitReduceFaceJob", { File3D = { Type = "GLB" } })))
      assert.equal("InvalidParameter", (call("SubmitReduceFaceJob", { File3D = { Type = "FBX", Url = url } })))
      assert.is_nil((call("SubmitReduceFaceJob", { File3D = { Type = "GLB", Url = url }, FaceLevel = "low" })))
      assert.equal("InvalidParameter", (call("SubmitReduceFaceJob",
        { File3D = { Type = "GLB", Url = url }, FaceLevel = "Low" })))
      assert.equal("MissingParameter", (call("SubmitHunyuan3DPartJob", {})))
      assert.equal("InvalidParameter", (call("SubmitHunyuan3DPartJob", { File = { Type = "GLB", Url = url } })))
      assert.is_nil((call("SubmitHunyuan3DPartJob", { File = { Type = "FBX", Url = url }, EnablePostProcess = true })))
      assert.equal("InvalidParameterValue", (call("SubmitHunyuan3DPartJob",
        { File = { Type = "FBX", Url = url }, PartSegmentationInfo = "not json" })))
      assert.is_nil((call("SubmitHunyuanTo3DUVJob", { File = { Type = "OBJ", Url = url } })))
      assert.equal("UnknownParameter", (call("SubmitHunyuanTo3DUVJob", { File = { Type = "OBJ", Url = url, Size = 1 } })))
      assert.is_nil((call("SubmitAutoRiggingJob", { File3D = { Type = "FBX", Url = url }, MotionType = 48 })))
      assert.equal("InvalidParameterValue", (call("SubmitAutoRiggingJob",
        { File3D = { Type = "FBX", Url = url }, MotionType = 49 })))
    end)

    it("answers DownloadError for its own file URLs that are unknown or expired", function()
      local code, msg = call("SubmitAutoRiggingJob", { File3D = { Type = "FBX", Url = sb.url .. "/files/99/model.fbx" } })
      assert.equal("FailedOperation.DownloadError", code)
      assert.matches("File3D.Url", msg, 1, true)
      local stale = a_model_url():gsub("q%-sign%-time=(%d+)%%3B%d+", "q-sign-time=%1%%3B1")
      assert.equal("FailedOperation.DownloadError", (call("SubmitReduceFaceJob", { File3D = { Type = "GLB", Url = stale } })))
    end)

    it("texture: one of Prompt or Image, multi-view only with 3.1, and the size range", function()
      local f = { Type = "GLB", Url = a_model_url() }
      assert.is_nil((call("SubmitTextureTo3DJob", { File3D = f, Prompt = "rusty metal", TextureSize = 720 })))
      assert.equal("InvalidParameterValue", (call("SubmitTextureTo3DJob", { File3D = f })))
      local img = { Base64 = b64(images.png(1024, 1024)) }
      assert.is_nil((call("SubmitTextureTo3DJob", { File3D = f, Image = img })))
      assert.equal("InvalidParameterValue", (call("SubmitTextureTo3DJob", { File3D = f, Image = img, Prompt = "x" })))
      assert.equal("InvalidParameterValue", (call("SubmitTextureTo3DJob",
        { File3D = f, Image = { Base64 = b64(images.png(4096, 512)) } })))
      assert.equal("InvalidParameterValue", (call("SubmitTextureTo3DJob", { File3D = f, Prompt = "x", TextureSize = 4097 })))
      local views = { { ViewType = "left", ViewImageUrl = "https://e.com/l.png" } }
      assert.equal("InvalidParameterValue", (call("SubmitTextureTo3DJob", { File3D = f, Image = img, MultiViewImages = views })))
      assert.is_nil((call("SubmitTextureTo3DJob", { File3D = f, Image = img, MultiViewImages = views, Model = "3.1" })))
    end)

    it("profile: a portrait above 500 px and a known template", function()
      local portrait = { Base64 = b64(images.jpeg(800, 1000)) }
      assert.is_nil((call("SubmitProfileTo3DJob", { Profile = portrait, Template = "basketball" })))
      assert.equal("MissingParameter", (call("SubmitProfileTo3DJob", { Profile = portrait })))
      assert.equal("InvalidParameter", (call("SubmitProfileTo3DJob", { Profile = portrait, Template = "Basketball" })))
      assert.equal("InvalidParameterValue", (call("SubmitProfileTo3DJob",
        { Profile = { Base64 = b64(images.jpeg(500, 1000)) }, Template = "guitar" })))
      assert.equal("MissingParameter", (call("SubmitProfileTo3DJob", { Profile = {}, Template = "guitar" })))
    end)

    it("motion: a required prompt of at most 128 characters and a duration of 1-12 s", function()
      assert.is_nil((call("SubmitHunyuanTo3DMotionJob", { Prompt = "A person walks forward", Duration = 12 })))
      assert.equal("MissingParameter", (call("SubmitHunyuanTo3DMotionJob", { Duration = 3 })))
      assert.equal("InvalidParameterValue", (call("SubmitHunyuanTo3DMotionJob", { Prompt = ("走"):rep(129) })))
      assert.equal("InvalidParameterValue", (call("SubmitHunyuanTo3DMotionJob", { Prompt = "jump", Duration = 0 })))
      assert.equal("InvalidParameter", (call("SubmitHunyuanTo3DMotionJob", { Prompt = "jump", Model = "HY-Motion-2.0" })))
    end)
  end)

  describe("Convert3DFormat", function()
    it("converts synchronously to a served file of the asked format", function()
      local code, r = call("Convert3DFormat", { File3D = a_model_url(), Format = "STL" })
      assert.is_nil(code)
      assert.matches("/model%.stl%?q%-sign%-algorithm=sha1", r.ResultFile3D)
      local data = assert(require("socket.http").request(r.ResultFile3D))
      assert.equal(84 + 50 * string.unpack("<I4", data, 81), #data)
      assert.equal("MissingParameter", (call("Convert3DFormat", { File3D = a_model_url() })))
      assert.equal("InvalidParameter", (call("Convert3DFormat", { File3D = a_model_url(), Format = "OBJ" })))
      assert.equal("InvalidParameter", (call("Convert3DFormat", { File3D = { Url = "x" }, Format = "STL" })))
    end)
  end)

  describe("queries", function()
    it("require a JobId of their own family", function()
      local _, r = call("SubmitHunyuanTo3DRapidJob", { Prompt = "x" })
      local code, msg = call("DescribeReduceFaceJob", {})
      assert.equal("MissingParameter", code)
      assert.equal("The request is missing a required parameter `JobId`.", msg)
      assert.equal("FailedOperation.JobNotFound", (call("QueryHunyuanTo3DProJob", { JobId = r.JobId })))
      local ok, q = call("QueryHunyuanTo3DRapidJob", { JobId = r.JobId })
      assert.is_nil(ok)
      assert.is_string(q.Status)
      assert.equal("InvalidParameter", (call("QueryHunyuanTo3DRapidJob", { JobId = 42 })))
    end)
  end)

  describe("the gateway", function()
    it("applies the Pro rules and takes ImageUrl as a string or {Url = ...}", function()
      local function gw(params)
        local body = cjson.encode(params)
        local _, r = sb:raw("POST", "/v1/ai3d/submit",
          { Authorization = sb.key, ["Content-Type"] = "application/json", ["Content-Length"] = #body }, body)
        return r.Response.Error and r.Response.Error.Code
      end
      assert.is_nil(gw { ImageUrl = { Url = "data:image/png;base64," .. b64(images.png(256, 256)) } })
      assert.equal("InvalidParameterValue", gw { ImageUrl = { Url = "data:image/png;base64," .. b64(images.png(64, 64)) } })
      assert.equal("UnknownParameter", gw { ImageUrl = { Link = "https://e.com/a.png" } })
      assert.equal("InvalidParameterValue", gw { Prompt = "x", FaceCount = 5 })
      -- the 3.0 door takes the documented string only
      assert.equal("InvalidParameter", (call("SubmitHunyuanTo3DProJob", { ImageUrl = { Url = "https://e.com/a.png" } })))
    end)
  end)
end)
