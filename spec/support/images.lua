-- Image files for specs: the smallest well-formed headers of each format the service reads, with
-- any pixel size (the sandbox checks headers, not pixels), padded to a chosen byte size.
local zlib = require "zlib"

local pack = string.pack

local M = {}

local function crc32(s)
  return zlib.crc32()(s)
end

local function chunk(kind, data)
  return pack(">I4", #data) .. kind .. data .. pack(">I4", crc32(kind .. data))
end

-- pad: total size in bytes (the filler goes where each format allows arbitrary data).
function M.png(w, h, pad)
  local head = "\137PNG\r\n\26\n" .. chunk("IHDR", pack(">I4I4BBBBB", w, h, 8, 2, 0, 0, 0))
  local idat = chunk("IDAT", (zlib.deflate()(("\0"):rep(16), "finish")))
  local tail = chunk("IEND", "")
  local filler = ""
  if pad and pad > #head + #idat + #tail + 12 then
    filler = chunk("tEXt", "c\0" .. ("x"):rep(pad - #head - #idat - #tail - 14))
  end
  return head .. filler .. idat .. tail
end

function M.jpeg(w, h, pad)
  local app0 = "\255\224" .. pack(">I2", 16) .. "JFIF\0\1\1\0\0\1\0\1\0\0"
  local sof = "\255\192" .. pack(">I2BI2I2B", 17, 8, h, w, 3) .. "\1\17\0\2\17\1\3\17\1"
  local filler = ""
  if pad and pad > 2 + #app0 + #sof + 2 then
    local left = pad - (2 + #app0 + #sof + 2)
    local parts = {}
    while left > 4 do                               -- COM segments of at most 65535 bytes
      local n = math.min(left, 65533 + 2)
      parts[#parts + 1] = "\255\254" .. pack(">I2", n - 2) .. ("c"):rep(n - 4)
      left = left - n
    end
    filler = table.concat(parts)
  end
  return "\255\216" .. app0 .. filler .. sof .. "\255\217"
end

-- Extended WebP (VP8X) with the canvas size in its header.
function M.webp(w, h)
  local vp8x = "VP8X" .. pack("<I4", 10) .. "\0\0\0\0" .. pack("<I3I3", w - 1, h - 1)
  return "RIFF" .. pack("<I4", 4 + #vp8x) .. "WEBP" .. vp8x
end

function M.gif(w, h)
  return "GIF89a" .. pack("<I2I2BBB", w, h, 0, 0, 0) .. ";"
end

return M
