-- hy3d.image and hy3d.views: local PNG/JPEG/WebP checked against the service's limits from
-- their headers and base64-encoded (by OpenSSL in the core) for ImageBase64 / MultiViewImages.
local hy3d = require "hy3d"
local core = require "hy3d.core"
local images = require "spec.support.images"
local sandbox = require "spec.support.sandbox"

describe("hy3d.image", function()
  local dir

  setup(function() dir = sandbox.tmpdir() end)
  teardown(function() os.execute("rm -rf '" .. dir .. "'") end)

  local function file(name, data) return sandbox.write_file(dir .. "/" .. name, data) end

  local formats = {
    { "png", "png", images.png(640, 480) },
    { "jpeg", "jpeg", images.jpeg(640, 480, 3000) },
    { "webp (extended)", "webp", images.webp(640, 480) },
    { "webp (lossy)", "webp", images.webp(640, 480, "lossy") },
    { "webp (lossless)", "webp", images.webp(640, 480, "lossless") },
  }
  for _, case in ipairs(formats) do
    it("reads a " .. case[1] .. " header and returns the file as base64", function()
      local path = file("in." .. case[2], case[3])
      local b64, info = hy3d.image(path)
      assert.is_string(b64, tostring(info))
      assert.equal(case[3], core.base64_decode(b64))
      assert.equal(0, #b64 % 4)
      assert.is_nil(b64:find("[^%w%+/=]"), "plain base64, no line breaks or data: prefix")
      assert.same({ format = case[2], width = 640, height = 480, bytes = #case[3], path = path }, info)
    end)
  end

  it("refuses images with a side under 128 pixels", function()
    local b64, err = hy3d.image(file("small.png", images.png(127, 800)))
    assert.is_nil(b64)
    assert.equal("invalid", err.kind)
    assert.equal("IMAGE_TOO_SMALL", err.code)
    assert.matches("127x800", err.message)
    assert.is_string((hy3d.image(file("edge.png", images.png(128, 5000)))))
  end)

  it("refuses images with a side over 5000 pixels", function()
    local b64, err = hy3d.image(file("large.jpg", images.jpeg(5001, 300)))
    assert.is_nil(b64)
    assert.equal("IMAGE_TOO_LARGE", err.code)
  end)

  it("refuses files over 6 MB before reading them", function()
    local b64, err = hy3d.image(file("heavy.jpg", images.jpeg(1000, 1000, 6 * 1024 * 1024 + 1)))
    assert.is_nil(b64)
    assert.equal("IMAGE_TOO_BIG", err.code)
    assert.is_string((hy3d.image(file("just.jpg", images.jpeg(1000, 1000, 6 * 1024 * 1024)))))
  end)

  it("refuses what is not an image, or not one the service reads", function()
    local b64, err = hy3d.image(file("notes.png", "just some text, not an image"))
    assert.is_nil(b64)
    assert.equal("NOT_AN_IMAGE", err.code)
    b64, err = hy3d.image(file("anim.gif", images.gif(300, 300)))
    assert.is_nil(b64)
    assert.equal("NOT_AN_IMAGE", err.code)
    b64, err = hy3d.image(file("cut.png", images.png(300, 300):sub(1, 20)))
    assert.is_nil(b64)
    assert.equal("NOT_AN_IMAGE", err.code)
    b64, err = hy3d.image(file("empty.jpg", ""))
    assert.is_nil(b64)
    assert.equal("NOT_AN_IMAGE", err.code)
    b64, err = hy3d.image(dir .. "/missing.png")
    assert.is_nil(b64)
    assert.equal("IMAGE_UNREADABLE", err.code)
  end)

  it("lets options change a limit", function()
    local path = file("tiny.png", images.png(64, 64))
    assert.is_nil((hy3d.image(path)))
    assert.is_string((hy3d.image(path, { min_side = 32 })))
    local b64, err = hy3d.image(file("w.webp", images.webp(300, 300)), { formats = { "png" } })
    assert.is_nil(b64)
    assert.equal("IMAGE_FORMAT", err.code)
    assert.has_error(function() hy3d.image(path, { min_size = 1 }) end)
    assert.has_error(function() hy3d.image(nil) end)
  end)

  it("is accepted by the sandbox as ImageBase64", function()
    local sb = sandbox.start { wait_time = 0, run_time = 0 }
    local client = sb:client()
    local job = assert(client:submit { ImageBase64 = assert(hy3d.image(file("chair.png", images.png(512, 512)))) })
    assert.equal("DONE", assert(client:wait(job, { interval = 0.05 })).Status)
    sb:stop()
  end)
end)

describe("hy3d.views", function()
  local dir

  setup(function() dir = sandbox.tmpdir() end)
  teardown(function() os.execute("rm -rf '" .. dir .. "'") end)

  local function file(name, data) return sandbox.write_file(dir .. "/" .. name, data) end

  it("builds MultiViewImages from paths and URLs in a fixed view order", function()
    local left, back = images.png(300, 300), images.jpeg(400, 300)
    local list = assert(hy3d.views { back = file("b.jpg", back), left = file("l.png", left),
                                     right = "https://example.com/r.png" })
    assert.equal(3, #list)
    assert.same({ "left", "right", "back" }, { list[1].ViewType, list[2].ViewType, list[3].ViewType })
    assert.equal(left, core.base64_decode(list[1].ViewImageBase64))
    assert.same({ ViewType = "right", ViewImageUrl = "https://example.com/r.png" }, list[2])
    assert.equal(back, core.base64_decode(list[3].ViewImageBase64))
  end)

  it("takes the Model 3.1 views", function()
    local list = assert(hy3d.views { top = file("t.png", images.png(300, 300)), left_front = "https://e/lf.png" })
    assert.same({ "top", "left_front" }, { list[1].ViewType, list[2].ViewType })
  end)

  it("applies the stricter multi-view rules: PNG or JPEG, over 128 and under 5000 pixels, 6 MB in all", function()
    local list, err = hy3d.views { left = file("l.webp", images.webp(300, 300)) }
    assert.is_nil(list)
    assert.equal("IMAGE_FORMAT", err.code)
    list, err = hy3d.views { left = file("l128.png", images.png(128, 300)) }
    assert.is_nil(list)
    assert.equal("IMAGE_TOO_SMALL", err.code)
    list, err = hy3d.views { left = file("l5000.png", images.png(300, 5000)) }
    assert.is_nil(list)
    assert.equal("IMAGE_TOO_LARGE", err.code)
    local big = images.jpeg(1000, 1000, 4 * 1024 * 1024)
    list, err = hy3d.views { left = file("b1.jpg", big), right = file("b2.jpg", big) }
    assert.is_nil(list)
    assert.equal("IMAGE_TOO_BIG", err.code)
  end)

  it("names the view a refused image is for, and why a view's limit is not the main image's", function()
    local path = file("v128.png", images.png(128, 128))
    assert(hy3d.image(path))                        -- the main image may be 128 pixels a side
    local list, err = hy3d.views { back = file("ok.png", images.png(300, 300)), left = path }
    assert.is_nil(list)
    assert.equal("IMAGE_TOO_SMALL", err.code)
    assert.equal(path, err.path)
    assert.equal(("left view: %s is 128x128 pixels; each side of a view image must be more than 128 (the main "
      .. "image may be 128)"):format(path), err.message)
    list, err = hy3d.views { right = file("v5000.png", images.png(300, 5000)) }
    assert.is_nil(list)
    assert.matches("^right view: .* each side of a view image must be less than 5000", err.message)
    list, err = hy3d.views { back = file("v.webp", images.webp(300, 300)) }
    assert.is_nil(list)
    assert.matches("^back view: ", err.message)
    list, err = hy3d.views { left_front = dir .. "/missing.png" }
    assert.is_nil(list)
    assert.equal("IMAGE_UNREADABLE", err.code)
    assert.matches("^left_front view: ", err.message)
  end)

  it("takes multi-view images exactly at each limit: 129 and 4999 pixels, 6 MB together", function()
    assert(hy3d.views { left = file("e1.png", images.png(129, 4999)), back = file("e2.jpg", images.jpeg(4999, 129)) })
    local a, b = images.jpeg(1000, 1000, 3 * 1024 * 1024), images.png(800, 800, 3 * 1024 * 1024)
    local list = assert(hy3d.views { left = file("half1.jpg", a), right = file("half2.png", b) })
    assert.equal(2, #list)
    local over = images.png(800, 800, 3 * 1024 * 1024 + 1)
    local _, err = hy3d.views { left = file("half3.jpg", a), right = file("over.png", over) }
    assert.equal("IMAGE_TOO_BIG", err.code)
    assert.equal(dir .. "/over.png", err.path)
  end)

  it("refuses unknown views and names the front view's field", function()
    local list, err = hy3d.views { front = "https://e/f.png" }
    assert.is_nil(list)
    assert.equal("VIEW_TYPE", err.code)
    assert.matches("ImageBase64", err.message)
    assert.has_error(function() hy3d.views "left.png" end)
    assert.has_error(function() hy3d.views { left = 42 } end)
  end)

  it("is accepted by the sandbox with a front image", function()
    local sb = sandbox.start { wait_time = 0, run_time = 0 }
    local client = sb:client()
    local job = assert(client:submit {
      ImageBase64 = assert(hy3d.image(file("front.png", images.png(512, 512)))),
      MultiViewImages = assert(hy3d.views { left = file("side.png", images.png(512, 512)),
                                            back = file("back.jpg", images.jpeg(512, 512)) }),
    })
    assert.equal("DONE", assert(client:wait(job, { interval = 0.05 })).Status)
    sb:stop()
  end)
end)

describe("core.image_info", function()
  it("reads sizes without decoding and refuses broken headers", function()
    assert.same({ "jpeg", 300, 200 }, { core.image_info(images.jpeg(300, 200)) })
    assert.same({ "webp", 16383, 16383 }, { core.image_info(images.webp(16383, 16383, "lossless")) })
    local broken = {
      "\255\216\255\224\0\1",                      -- a segment length under 2
      "\255\216\255\218\0\4xx",                   -- image data before any frame header
      "\255\216",                                  -- nothing after the start marker
      "RIFF\0\0\0\0WEBPVP8 \0\0\0\0\0\0\0\0\0\0\0\0\0\0",   -- VP8 without its start code
      "RIFF\0\0\0\0WEBPABCD" .. ("\0"):rep(20),
      images.png(0, 10),
    }
    for _, data in ipairs(broken) do
      local format, why = core.image_info(data)
      assert.is_nil(format)
      assert.is_string(why)
    end
    assert.has_error(function() core.image_info() end)
  end)

  it("skips the segments before a JPEG's frame header, Huffman tables included", function()
    assert.same({ "jpeg", 300, 200 }, { core.image_info(images.jpeg_with_tables(300, 200)) })
    assert.same({ "jpeg", 129, 4999 }, { core.image_info(images.jpeg_with_tables(129, 4999)) })
  end)

  it("image_info refuses a PNG whose first chunk is not IHDR", function()
    local png = images.png(300, 200)
    local format, why = core.image_info(png:sub(1, 12) .. "IDAT" .. png:sub(17))
    assert.is_nil(format)
    assert.equal("a PNG without its IHDR header", why)
    format, why = core.image_info(png:sub(1, 23))        -- IHDR cut before the height
    assert.is_nil(format)
    assert.equal("a PNG without its IHDR header", why)
    assert.same({ "png", 300, 200 }, { core.image_info(png:sub(1, 24)) })
  end)

  it("image_info refuses a WebP cut short of its size fields, at every length", function()
    for _, kind in ipairs { "lossy", "lossless", "extended" } do
      local webp = images.webp(300, 200, kind ~= "extended" and kind or nil)
      assert.same({ "webp", 300, 200 }, { core.image_info(webp) })
      for n = 12, 29 do
        local format, why = core.image_info(webp:sub(1, n))
        assert.is_nil(format, kind .. " cut to " .. n .. " bytes")
        assert.is_string(why)
        if n >= 20 then assert.equal("a WebP cut short", why) end
      end
    end
  end)
end)
