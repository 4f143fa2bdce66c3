-- Image header inspection for hy3d-sandbox: tells the format and pixel size of an uploaded image
-- (PNG, JPEG, WebP; GIF and BMP are recognised so a caller can name them) from its first bytes,
-- without decoding pixels. Malformed or truncated input never raises: every failure is
-- `nil, reason`. Pure Lua 5.4 (string.unpack).
-- It re-implements what hy3d's client checks of an image (lua/hy3d/image.lua, src/hy3d_image.c) ON
-- PURPOSE and shares no code with it: an independent oracle, so the specs compare two readings of
-- the same bytes instead of one reading with itself.
local unpack, byte, sub = string.unpack, string.byte, string.sub

local PNG_SIGNATURE = "\137PNG\r\n\26\n"

-- JPEG markers whose segment is a frame header (SOFn): C0-C3, C5-C7, C9-CB, CD-CF. C4 (DHT),
-- C8 (JPG, reserved) and CC (DAC) share the range but are not frame headers.
local SOF = {}
for m = 0xC0, 0xCF do
  if m ~= 0xC4 and m ~= 0xC8 and m ~= 0xCC then SOF[m] = true end
end

local function dims(format, width, height)
  if width <= 0 or height <= 0 then return nil, format .. ": zero width or height" end
  return { format = format, width = width, height = height }
end

local function png(s)
  if #s < 24 then return nil, "png: truncated header" end
  local length, kind, width, height = unpack(">I4c4I4I4", s, 9)
  if kind ~= "IHDR" or length ~= 13 then return nil, "png: first chunk is not IHDR" end
  if width > 0x7fffffff or height > 0x7fffffff then return nil, "png: dimensions out of range" end
  return dims("png", width, height)
end

-- Walks the marker segments from SOI to the first frame header.
local function jpeg(s)
  local n, pos = #s, 3
  while true do
    if pos > n then return nil, "jpeg: truncated before a frame header" end
    if byte(s, pos) ~= 0xFF then return nil, "jpeg: expected a marker at byte " .. (pos - 1) end
    while byte(s, pos) == 0xFF do pos = pos + 1 end     -- 0xFF fill bytes may precede any marker
    local marker = byte(s, pos)
    if not marker then return nil, "jpeg: truncated in a marker" end
    pos = pos + 1
    if marker == 0x01 or (marker >= 0xD0 and marker <= 0xD7) then   -- TEM, RSTn: no length
      goto continue
    end
    if marker == 0x00 or marker == 0xD8 then return nil, ("jpeg: unexpected marker 0x%02X"):format(marker) end
    if marker == 0xD9 then return nil, "jpeg: end of image before a frame header" end
    if marker == 0xDA then return nil, "jpeg: scan before a frame header" end
    if pos + 1 > n then return nil, "jpeg: truncated segment length" end
    do
      local length = unpack(">I2", s, pos)
      if length < 2 then return nil, "jpeg: bad segment length" end
      if SOF[marker] then
        if length < 8 then return nil, "jpeg: frame header too short" end
        if pos + 6 > n then return nil, "jpeg: truncated frame header" end
        local height, width = unpack(">I2I2", s, pos + 3)
        return dims("jpeg", width, height)
      end
      pos = pos + length
    end
    ::continue::
  end
end

-- RIFF container: the first chunk after "WEBP" is VP8 (lossy), VP8L (lossless) or VP8X (extended).
local function webp(s)
  if #s < 20 then return nil, "webp: truncated header" end
  local kind = sub(s, 13, 16)
  if kind == "VP8 " then
    if #s < 30 then return nil, "webp: truncated VP8 frame header" end
    if byte(s, 21) & 1 ~= 0 then return nil, "webp: VP8 data does not start with a key frame" end
    if sub(s, 24, 26) ~= "\x9d\x01\x2a" then return nil, "webp: bad VP8 start code" end
    local w, h = unpack("<I2I2", s, 27)
    return dims("webp", w & 0x3fff, h & 0x3fff)
  elseif kind == "VP8L" then
    if #s < 25 then return nil, "webp: truncated VP8L header" end
    if byte(s, 21) ~= 0x2f then return nil, "webp: bad VP8L signature" end
    local bits = unpack("<I4", s, 22)
    return dims("webp", (bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1)
  elseif kind == "VP8X" then
    if #s < 30 then return nil, "webp: truncated VP8X header" end
    local w, h = unpack("<I3I3", s, 25)
    return dims("webp", w + 1, h + 1)
  end
  return nil, "webp: unknown first chunk"
end

local function gif(s)
  if #s < 10 then return nil, "gif: truncated header" end
  return dims("gif", unpack("<I2I2", s, 7))
end

local function bmp(s)
  if #s < 18 then return nil, "bmp: truncated header" end
  local header = unpack("<I4", s, 15)
  if header == 12 then                               -- BITMAPCOREHEADER: 16-bit sizes
    if #s < 22 then return nil, "bmp: truncated header" end
    return dims("bmp", unpack("<I2I2", s, 19))
  end
  if header < 40 then return nil, "bmp: unknown header size" end
  if #s < 26 then return nil, "bmp: truncated header" end
  local w, h = unpack("<i4i4", s, 19)
  return dims("bmp", w, h < 0 and -h or h)           -- a negative height means top-down rows
end

--- Tells an image's format and size from its header.
-- @tparam string bytes the image file's bytes (at least its first few hundred)
-- @treturn table `{ format = "png"|"jpeg"|"webp"|"gif"|"bmp", width = W, height = H }`
-- @return or `nil, reason` when the bytes are not a recognised, well-formed image header
local function info(bytes)
  if type(bytes) ~= "string" then return nil, "image data is not a string" end
  if bytes == "" then return nil, "image data is empty" end
  if sub(bytes, 1, 8) == PNG_SIGNATURE then return png(bytes) end
  if sub(bytes, 1, 2) == "\xFF\xD8" then return jpeg(bytes) end
  if sub(bytes, 1, 4) == "RIFF" and sub(bytes, 9, 12) == "WEBP" then return webp(bytes) end
  if sub(bytes, 1, 6) == "GIF87a" or sub(bytes, 1, 6) == "GIF89a" then return gif(bytes) end
  if sub(bytes, 1, 2) == "BM" then return bmp(bytes) end
  return nil, "unrecognised image format"
end

return {
  info = info,
}
