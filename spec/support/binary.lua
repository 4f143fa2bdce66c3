-- Reading binary formats in specs on every Lua version (string.unpack is 5.3+).
local M = {}

--- The unsigned little-endian 32-bit integer at byte position pos (1-based) of s, or nil when s
-- is shorter.
function M.u32le(s, pos)
  local a, b, c, d = s:byte(pos, pos + 3)
  if not d then return nil end
  return a + b * 0x100 + c * 0x10000 + d * 0x1000000
end

return M
