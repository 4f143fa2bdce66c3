--- Binary packing for hy3d-sandbox's result files: padding, many values per string.pack, CRC-32,
-- and the two containers built from them, a zip archive (deflated, or stored and 64-byte aligned as
-- USDZ wants) and the MP4 placeholder's boxes. Needs lua-zlib.
local zlib = require "zlib"

local pack, concat, rep = string.pack, table.concat, string.rep
local table_unpack = table.unpack

-- ===== binary helpers =====

local function pad(s, to, byte)
  local r = #s % to
  return r == 0 and s or s .. rep(byte, to - r)
end

-- Packs every value of `list` with the one-value format `item` ("f", "I2", ...), many per call.
local function pack_all(item, list)
  local batch = 240
  local whole = "<" .. rep(item, batch)
  local out, n = {}, #list
  for i = 1, n - batch + 1, batch do
    out[#out + 1] = pack(whole, table_unpack(list, i, i + batch - 1))
  end
  local rest = n % batch
  if rest > 0 then out[#out + 1] = pack("<" .. rep(item, rest), table_unpack(list, n - rest + 1, n)) end
  return concat(out)
end

-- The CRC-32 of a string (PNG chunks, zip entries).
local function crc32(s)
  return (zlib.crc32()(s))
end

-- ===== containers =====

--- The MP4 placeholder: a well-formed ISO-BMFF file (ftyp isom, a free box saying what it is, an
-- empty mdat) with no movie box: not playable video, since nothing here can encode H.264.
local function mp4()
  local note = "hy3d-sandbox: placeholder, not playable video (the sandbox cannot encode H.264)"
  local brands = pack(">c4I4c4c4c4", "isom", 512, "isom", "iso2", "mp41")
  return concat {
    pack(">I4c4", 8 + #brands, "ftyp"), brands,
    pack(">I4c4", 8 + #note, "free"), note,
    pack(">I4c4", 8, "mdat"),
  }
end

--- A zip archive of {name = ..., data = ...} items, in order: deflated, or with opts.stored every
-- entry stored (method 0) and, with opts.align = N, each entry's data starting at a multiple of N
-- bytes (padding goes in the local header's extra field, as USDZ requires with N = 64).
local function zip(entries, opts)
  opts = opts or {}
  local out, central, offset = {}, {}, 0
  local time, date = 0, ((2025 - 1980) << 9) | (1 << 5) | 1
  local method = opts.stored and 0 or 8
  for _, e in ipairs(entries) do
    local crc = crc32(e.data)
    local packed = opts.stored and e.data or zlib.deflate(6, -15)(e.data, "finish")
    local extra = ""
    if opts.align then
      local gap = (opts.align - (offset + 30 + #e.name) % opts.align) % opts.align
      if gap > 0 and gap < 4 then gap = gap + opts.align end   -- an extra field needs 4 header bytes
      if gap > 0 then extra = pack("<I2I2", 0x1986, gap - 4) .. rep("\0", gap - 4) end
    end
    local head = pack("<I4I2I2I2I2I2I4I4I4I2I2", 0x04034b50, 20, 0, method, time, date, crc,
      #packed, #e.data, #e.name, #extra) .. e.name .. extra
    out[#out + 1] = head
    out[#out + 1] = packed
    central[#central + 1] = pack("<I4I2I2I2I2I2I2I4I4I4I2I2I2I2I2I4I4", 0x02014b50, 20, 20, 0, method,
      time, date, crc, #packed, #e.data, #e.name, 0, 0, 0, 0, 0, offset) .. e.name
    offset = offset + #head + #packed
  end
  local cd = concat(central)
  out[#out + 1] = cd
  out[#out + 1] = pack("<I4I2I2I2I2I4I4I2", 0x06054b50, 0, 0, #entries, #entries, #cd, offset, 0)
  return concat(out)
end

return {
  pad = pad,
  pack_all = pack_all,
  crc32 = crc32,
  zip = zip,
  mp4 = mp4,
}
