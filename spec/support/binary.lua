-- Reading and writing binary formats in specs on every Lua version (string.pack is 5.3+).
local floor = math.floor
local char = string.char

local M = {}

--- The unsigned little-endian 32-bit integer at byte position pos (1-based) of s, or nil when s
-- is shorter.
function M.u32le(s, pos)
  local a, b, c, d = s:byte(pos, pos + 3)
  if not d then return nil end
  return a + b * 0x100 + c * 0x10000 + d * 0x1000000
end

-- The n low bytes of the unsigned integer v, least significant first.
local function bytes_le(v, n)
  local out = {}
  for i = 1, n do
    out[i] = v % 256
    v = floor(v / 256)
  end
  return out
end

--- v as an n-byte little-endian string.
function M.le(v, n)
  return char((unpack or table.unpack)(bytes_le(v, n)))
end

--- v as an n-byte big-endian string.
function M.be(v, n)
  return M.le(v, n):reverse()
end

return M
