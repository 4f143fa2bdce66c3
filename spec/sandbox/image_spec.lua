-- hy3d.sandbox.image: format and size from real image headers; malformed input never raises.
local image = require "hy3d.sandbox.image"
local assets = require "hy3d.sandbox.assets"

local pack = string.pack

-- A JPEG marker segment: FF, marker, big-endian length (counting itself), payload.
local function segment(marker, payload)
  return pack(">BBI2", 0xFF, marker, #payload + 2) .. payload
end

-- SOI, APP0 (JFIF), APP1 of `app1` bytes, optional extras, SOFn with the size, EOI.
local function jpeg(width, height, opts)
  opts = opts or {}
  local sof = pack(">BI2I2B", 8, height, width, 3) .. "\1\x22\0\2\x11\1\3\x11\1"
  return table.concat {
    "\xFF\xD8",
    segment(0xE0, "JFIF\0\1\1\0\0\1\0\1\0\0"),
    segment(0xE1, "Exif\0\0" .. string.rep("\0", opts.app1 or 300)),
    opts.before_sof or "",
    segment(opts.sof or 0xC0, sof),
    "\xFF\xD9",
  }
end

local function riff(chunk, data)
  local body = "WEBP" .. chunk .. pack("<I4", #data) .. data
  return "RIFF" .. pack("<I4", #body) .. body
end

-- VP8 key frame: 3-byte frame tag (bit 0 clear), start code, 14-bit sizes with 2-bit scale on top.
local function webp_lossy(width, height)
  return riff("VP8 ", "\x50\x02\x00" .. "\x9d\x01\x2a" .. pack("<I2I2", width | (1 << 14), height | (2 << 14))
    .. string.rep("\0", 8))
end

local function webp_lossless(width, height)
  return riff("VP8L", "\x2f" .. pack("<I4", (width - 1) | ((height - 1) << 14)) .. string.rep("\0", 6))
end

local function webp_extended(width, height)
  return riff("VP8X", "\x10\0\0\0" .. pack("<I3I3", width - 1, height - 1))
end

local function gray(_, _) return 128, 128, 128 end

-- Every prefix of a valid file either yields the full answer or fails cleanly with a reason.
local function assert_prefixes_fail_cleanly(bytes, expected, header_len)
  for n = 0, #bytes - 1 do
    local prefix = bytes:sub(1, n)
    local ok, info, reason = pcall(image.info, prefix)
    assert.is_true(ok, "raised on a " .. n .. "-byte prefix: " .. tostring(info))
    if info then
      assert.is_true(n >= header_len, "answered from a " .. n .. "-byte prefix")
      assert.same(expected, info)
    else
      assert.equal("string", type(reason), "no reason for a " .. n .. "-byte prefix")
      assert.is_true(n < header_len or #reason > 0)
    end
  end
end

describe("hy3d.sandbox.image", function()
  describe("PNG", function()
    it("reads the size from IHDR", function()
      for _, wh in ipairs { { 1, 1 }, { 256, 256 }, { 300, 17 }, { 17, 300 } } do
        assert.same({ format = "png", width = wh[1], height = wh[2] }, image.info(assets.png(wh[1], wh[2], gray)))
      end
    end)

    it("fails cleanly on every truncation and on a bad first chunk", function()
      local png = assets.png(40, 30, gray)
      assert_prefixes_fail_cleanly(png:sub(1, 40), { format = "png", width = 40, height = 30 }, 24)
      local bad = png:sub(1, 12) .. "IDAT" .. png:sub(17)
      local info, reason = image.info(bad)
      assert.is_nil(info)
      assert.matches("IHDR", reason)
      info, reason = image.info(png:sub(1, 16) .. pack(">I4I4", 0, 30) .. png:sub(25))
      assert.is_nil(info)
      assert.matches("zero", reason)
    end)
  end)

  describe("JPEG", function()
    it("walks APPn segments to the baseline frame header", function()
      assert.same({ format = "jpeg", width = 640, height = 480 }, image.info(jpeg(640, 480)))
      assert.same({ format = "jpeg", width = 1, height = 65535 }, image.info(jpeg(1, 65535, { app1 = 65000 })))
    end)

    it("accepts every SOFn and skips DHT, DAC and JPG markers that share the range", function()
      for _, m in ipairs { 0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF } do
        assert.same({ format = "jpeg", width = 33, height = 44 }, image.info(jpeg(33, 44, { sof = m })), ("0x%X"):format(m))
      end
      -- DHT, DAC and JPG segments whose payload would read as a size if taken for a frame header
      local decoys = segment(0xC4, "\8\0\9\0\9" .. string.rep("\1", 20)) .. segment(0xCC, "\8\0\7\0\7\1")
        .. segment(0xC8, "\8\0\5\0\5")
      assert.same({ format = "jpeg", width = 33, height = 44 }, image.info(jpeg(33, 44, { before_sof = decoys })))
    end)

    it("skips fill bytes, standalone markers, DQT and comments", function()
      local extras = "\xFF\xFF\xFF" .. segment(0xDB, string.rep("\1", 65)) .. "\xFF\xD0\xFF\xD7\xFF\x01"
        .. segment(0xFE, "made by hand") .. "\xFF\xFF"
      assert.same({ format = "jpeg", width = 1920, height = 1080 }, image.info(jpeg(1920, 1080, { before_sof = extras })))
    end)

    it("fails cleanly on truncation, garbage between segments, scans and EOI before a frame", function()
      local full = jpeg(120, 90, { before_sof = "\xFF\xFF" .. segment(0xFE, "x") })
      local sof_at = full:find("\xFF\xC0", 1, true)
      assert_prefixes_fail_cleanly(full, { format = "jpeg", width = 120, height = 90 }, sof_at + 8)
      local cases = {
        { "\xFF\xD8\0\0\0\0", "marker" },
        { "\xFF\xD8\xFF\xD9", "end of image" },
        { "\xFF\xD8" .. segment(0xDA, "\1\1\0\0\63\0"), "scan" },
        { "\xFF\xD8\xFF\xE0\0\1", "length" },
        { "\xFF\xD8\xFF\xC0\0\5\8\0\1\0\1", "frame header" },
        { "\xFF\xD8\xFF\0", "unexpected" },
        { "\xFF\xD8" .. segment(0xE1, string.rep("a", 100)):sub(1, 50), "truncated" },
      }
      for _, c in ipairs(cases) do
        local info, reason = image.info(c[1])
        assert.is_nil(info)
        assert.matches(c[2], reason)
      end
    end)
  end)

  describe("WebP", function()
    it("reads lossy (VP8), lossless (VP8L) and extended (VP8X) headers", function()
      assert.same({ format = "webp", width = 550, height = 368 }, image.info(webp_lossy(550, 368)))
      assert.same({ format = "webp", width = 16383, height = 1 }, image.info(webp_lossy(16383, 1)))
      assert.same({ format = "webp", width = 386, height = 395 }, image.info(webp_lossless(386, 395)))
      assert.same({ format = "webp", width = 16384, height = 16384 }, image.info(webp_lossless(16384, 16384)))
      assert.same({ format = "webp", width = 1, height = 1 }, image.info(webp_extended(1, 1)))
      assert.same({ format = "webp", width = 16777216, height = 20000 }, image.info(webp_extended(16777216, 20000)))
    end)

    it("fails cleanly on truncation, bad signatures and unknown chunks", function()
      assert_prefixes_fail_cleanly(webp_lossy(550, 368), { format = "webp", width = 550, height = 368 }, 30)
      assert_prefixes_fail_cleanly(webp_lossless(9, 7), { format = "webp", width = 9, height = 7 }, 25)
      assert_prefixes_fail_cleanly(webp_extended(90, 70), { format = "webp", width = 90, height = 70 }, 30)
      local cases = {
        { riff("VP8 ", "\x50\x02\x00\x9d\x01\x2b" .. pack("<I2I2", 5, 5)), "start code" },
        { riff("VP8 ", "\x51\x02\x00\x9d\x01\x2a" .. pack("<I2I2", 5, 5)), "key frame" },
        { riff("VP8 ", "\x50\x02\x00\x9d\x01\x2a" .. pack("<I2I2", 0, 5)), "zero" },
        { riff("VP8L", "\x2e" .. pack("<I4", 0)), "signature" },
        { riff("ALPH", string.rep("\0", 20)), "unknown" },
      }
      for _, c in ipairs(cases) do
        local info, reason = image.info(c[1])
        assert.is_nil(info)
        assert.matches(c[2], reason)
      end
    end)
  end)

  describe("other formats", function()
    it("recognises GIF and BMP so a caller can name them", function()
      local a = assets.new()
      local gif = a:file(a:describe { text = "ball" }, "model.gif")
      assert.same({ format = "gif", width = 128, height = 128 }, image.info(gif))
      local bmp = "BM" .. pack("<I4I4I4", 0, 0, 54) .. pack("<I4i4i4", 40, 320, -200) .. string.rep("\0", 28)
      assert.same({ format = "bmp", width = 320, height = 200 }, image.info(bmp))
      local core = "BM" .. pack("<I4I4I4", 0, 0, 26) .. pack("<I4I2I2", 12, 64, 32) .. "\1\0\24\0"
      assert.same({ format = "bmp", width = 64, height = 32 }, image.info(core))
    end)

    it("answers nil and a reason for anything else, and never raises", function()
      for _, v in ipairs { "", "hello world", "\0\0\0\0", "<svg/>", "RIFF\0\0\0\0AVI LIST" } do
        local info, reason = image.info(v)
        assert.is_nil(info)
        assert.equal("string", type(reason))
      end
      assert.is_nil((image.info(nil)))
      assert.is_nil((image.info(42)))
      -- every single-byte corruption of every valid header
      local valid = { assets.png(5, 6, gray):sub(1, 40), jpeg(7, 8, { app1 = 10 }), webp_lossy(9, 10),
                      webp_lossless(11, 12), webp_extended(13, 14) }
      for _, v in ipairs(valid) do
        for i = 1, #v do
          for _, b in ipairs { 0x00, 0xFF, 0x2a } do
            local ok, info, reason = pcall(image.info, v:sub(1, i - 1) .. string.char(b) .. v:sub(i + 1))
            assert.is_true(ok, info)
            assert.is_true(info ~= nil or type(reason) == "string")
          end
        end
      end
      math.randomseed(12345)
      local prefixes = { "\xFF\xD8", "RIFF\0\0\0\0WEBP", "\137PNG\r\n\26\n", "BM", "GIF89a", "" }
      for round = 1, 3000 do
        local bytes = {}
        for k = 1, math.random(0, 64) do bytes[k] = string.char(math.random(0, 255)) end
        local s = prefixes[round % #prefixes + 1] .. table.concat(bytes)
        local ok, info, reason = pcall(image.info, s)
        assert.is_true(ok, info)
        assert.is_true(info ~= nil or type(reason) == "string")
      end
    end)
  end)
end)
