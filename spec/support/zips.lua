-- Zip archives for specs, hostile ones included: stored or deflated entries with any name, any Unix
-- mode and any claimed size (so a spec can craft "../x", "/abs", links, devices, bombs and lying
-- headers that a real zip tool refuses to write). Every Lua version.
local zlib = require "zlib"
local binary = require "spec.support.binary"

local le = binary.le

local M = {}

--- Unix file types for an entry's mode.
M.FILE, M.DIR, M.LINK, M.FIFO = 0x81A4, 0x41ED, 0xA1FF, 0x11A4   -- 0100644, 040755, 0120777, 010644

--- The bytes of a zip of `entries`, each { name = , data = , mode = , deflate = , size = ,
-- encrypted = } (mode: a Unix mode, default a regular file 0644; deflate: compress the data (raw
-- deflate, method 8), else it is stored; size: the uncompressed size the headers claim, default
-- the true one — a lie lets a spec check that the extractor counts what comes out rather than
-- trusting the archive; encrypted: the entry is marked ZipCrypto-encrypted (flag bit 0, and the
-- 12-byte encryption header before its data) — the layout of `zip -P`, though the bytes are not
-- really enciphered: an extractor must refuse it from the headers, before reading any data).
function M.build(entries)
  local locals, central, offset = {}, {}, 0
  for _, e in ipairs(entries) do
    local data = e.data or ""
    local crc = zlib.crc32()(data)
    local body, method, version = data, 0, 10
    if e.deflate then body, method, version = zlib.deflate(9, -15)(data, "finish"), 8, 20 end
    local flags = 0
    if e.encrypted then body, flags, version = ("\0"):rep(11) .. le(crc, 4):sub(4) .. body, 1, 20 end
    local size = e.size or #data
    local head = le(0x04034b50, 4) .. le(version, 2) .. le(flags, 2) .. le(method, 2) .. le(0, 2) .. le(0x21, 2)
      .. le(crc, 4) .. le(#body, 4) .. le(size, 4) .. le(#e.name, 2) .. le(0, 2) .. e.name
    locals[#locals + 1] = head .. body
    central[#central + 1] = le(0x02014b50, 4) .. le(0x031E, 2) .. le(version, 2) .. le(flags, 2) .. le(method, 2)
      .. le(0, 2) .. le(0x21, 2) .. le(crc, 4) .. le(#body, 4) .. le(size, 4) .. le(#e.name, 2)
      .. le(0, 2) .. le(0, 2) .. le(0, 2) .. le(0, 2) .. le((e.mode or M.FILE) * 65536, 4)
      .. le(offset, 4) .. e.name
    offset = offset + #head + #body
  end
  local cd = table.concat(central)
  return table.concat(locals) .. cd .. le(0x06054b50, 4) .. le(0, 2) .. le(0, 2) .. le(#entries, 2)
    .. le(#entries, 2) .. le(#cd, 4) .. le(offset, 4) .. le(0, 2)
end

--- `n` bytes of pseudo-random letters from a four-letter alphabet (a fixed seed): data that
-- deflates to about a quarter of its size, like real model files, not like a bomb.
function M.noise(n)
  local out, x = {}, 12345
  for i = 1, n do
    x = (x * 1103515245 + 12345) % 2147483648
    local k = math.floor(x / 65536) % 4 + 1     -- high bits: an LCG's low bits repeat every 4
    out[i] = ("acgt"):sub(k, k)
  end
  return table.concat(out)
end

--- Writes M.build(entries) to path.
function M.write(path, entries)
  local f = assert(io.open(path, "wb"))
  f:write(M.build(entries))
  f:close()
  return path
end

return M
