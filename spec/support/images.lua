-- Image files for specs: the smallest well-formed headers of each format the service reads, with
-- any pixel size (the sandbox and hy3d.image read headers, not pixels), padded to a chosen byte
-- size. Every Lua version.
local zlib = require "zlib"
local binary = require "spec.support.binary"

local be, le = binary.be, binary.le

local M = {}

local function crc32(s)
  return zlib.crc32()(s)
end

local function chunk(kind, data)
  return be(#data, 4) .. kind .. data .. be(crc32(kind .. data), 4)
end

-- pad: total size in bytes (the filler goes where each format allows arbitrary data).
function M.png(w, h, pad)
  local head = "\137PNG\r\n\26\n" .. chunk("IHDR", be(w, 4) .. be(h, 4) .. "\8\2\0\0\0")
  local idat = chunk("IDAT", (zlib.deflate()(("\0"):rep(16), "finish")))
  local tail = chunk("IEND", "")
  local filler = ""
  if pad and pad > #head + #idat + #tail + 12 then
    filler = chunk("tEXt", "c\0" .. ("x"):rep(pad - #head - #idat - #tail - 14))
  end
  return head .. filler .. idat .. tail
end

function M.jpeg(w, h, pad)
  local app0 = "\255\224" .. be(16, 2) .. "JFIF\0\1\1\0\0\1\0\1\0\0"
  local sof = "\255\192" .. be(17, 2) .. "\8" .. be(h, 2) .. be(w, 2) .. "\3" .. "\1\17\0\2\17\1\3\17\1"
  local filler = ""
  if pad and pad > 2 + #app0 + #sof + 2 then
    local left = pad - (2 + #app0 + #sof + 2)
    local parts = {}
    while left > 4 do                               -- COM segments of at most 65535 bytes
      local n = math.min(left, 65533 + 2)
      parts[#parts + 1] = "\255\254" .. be(n - 2, 2) .. ("c"):rep(n - 4)
      left = left - n
    end
    filler = table.concat(parts)
  end
  return "\255\216" .. app0 .. filler .. sof .. "\255\217"
end

-- A JPEG whose Huffman table (DHT, marker 0xC4, in the SOF range but no frame) comes before its
-- frame header, as most encoders write them: a reader that takes any 0xC0..0xCF marker for the
-- frame reads the table's counts as the size.
function M.jpeg_with_tables(w, h)
  local counts = "\0\1\5\1\1\1\1\1\1" .. ("\0"):rep(7)          -- the standard DC luminance table
  local dht = "\255\196" .. be(2 + 1 + 16 + 12, 2) .. "\0" .. counts .. "\0\1\2\3\4\5\6\7\8\9\10\11"
  local jpeg = M.jpeg(w, h)
  return jpeg:sub(1, 2 + 18) .. dht .. jpeg:sub(2 + 18 + 1)         -- after SOI and APP0
end

local function riff(chunk_type, payload)
  local body = chunk_type .. le(#payload, 4) .. payload
  return "RIFF" .. le(4 + #body, 4) .. "WEBP" .. body
end

-- Extended WebP (VP8X) with the canvas size in its header; kind "lossy" (VP8) and "lossless"
-- (VP8L) give the simple formats' headers instead.
function M.webp(w, h, kind)
  if kind == "lossy" then        -- frame tag (key frame), start code, 14-bit sizes
    return riff("VP8 ", "\16\2\0" .. "\157\1\42" .. le(w, 2) .. le(h, 2) .. ("\0"):rep(8))
  elseif kind == "lossless" then -- signature 0x2f, then 14 bits width-1 and 14 bits height-1
    local bits = (w - 1) + (h - 1) * 16384
    return riff("VP8L", "\47" .. le(bits, 4) .. ("\0"):rep(8))
  end
  return riff("VP8X", "\0\0\0\0" .. le(w - 1, 3) .. le(h - 1, 3))
end

function M.gif(w, h)
  return "GIF89a" .. le(w, 2) .. le(h, 2) .. "\0\0\0;"
end

return M
