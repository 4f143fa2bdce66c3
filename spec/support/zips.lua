-- Zip archives for specs, hostile ones included: stored entries with any name and any Unix mode
-- (so a spec can craft "../x", "/abs", links and devices that a real zip tool refuses to write).
-- Every Lua version.
local zlib = require "zlib"
local binary = require "spec.support.binary"

local le = binary.le

local M = {}

--- Unix file types for an entry's mode.
M.FILE, M.DIR, M.LINK, M.FIFO = 0x81A4, 0x41ED, 0xA1FF, 0x11A4   -- 0100644, 040755, 0120777, 010644

--- The bytes of a zip of `entries`, each { name = , data = , mode = } (mode: a Unix mode, default
-- a regular file 0644).
function M.build(entries)
  local locals, central, offset = {}, {}, 0
  for _, e in ipairs(entries) do
    local data = e.data or ""
    local crc = zlib.crc32()(data)
    local head = le(0x04034b50, 4) .. le(10, 2) .. le(0, 2) .. le(0, 2) .. le(0, 2) .. le(0x21, 2)
      .. le(crc, 4) .. le(#data, 4) .. le(#data, 4) .. le(#e.name, 2) .. le(0, 2) .. e.name
    locals[#locals + 1] = head .. data
    central[#central + 1] = le(0x02014b50, 4) .. le(0x031E, 2) .. le(10, 2) .. le(0, 2) .. le(0, 2)
      .. le(0, 2) .. le(0x21, 2) .. le(crc, 4) .. le(#data, 4) .. le(#data, 4) .. le(#e.name, 2)
      .. le(0, 2) .. le(0, 2) .. le(0, 2) .. le(0, 2) .. le((e.mode or M.FILE) * 65536, 4)
      .. le(offset, 4) .. e.name
    offset = offset + #head + #data
  end
  local cd = table.concat(central)
  return table.concat(locals) .. cd .. le(0x06054b50, 4) .. le(0, 2) .. le(0, 2) .. le(#entries, 2)
    .. le(#entries, 2) .. le(#cd, 4) .. le(offset, 4) .. le(0, 2)
end

--- Writes M.build(entries) to path.
function M.write(path, entries)
  local f = assert(io.open(path, "wb"))
  f:write(M.build(entries))
  f:close()
  return path
end

return M
