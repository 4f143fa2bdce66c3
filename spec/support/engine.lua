-- Counting the Lua calls into hy3d.core's engine methods (engine:request, engine:poll, engine:wait, ...)
-- of every engine, for specs that prove what Lua did by counting, not by timing.
local core = require "hy3d.core"

local M = {}

--- Wraps each named engine method (on the metatable all engines share) to count its calls until the
-- running test ends: `finally` is the spec's own (busted gives it to spec files, not to modules), and
-- puts them back. Returns the counts by name, each from 0.
function M.count_calls(finally, ...)
  local methods = debug.getmetatable(core.new { base_url = "http://127.0.0.1:1" }).__index
  local names, saved, n = { ... }, {}, {}
  for _, name in ipairs(names) do
    local f = methods[name]
    saved[name], n[name] = f, 0
    methods[name] = function(...) n[name] = n[name] + 1; return f(...) end
  end
  finally(function()
    for name, f in pairs(saved) do methods[name] = f end
  end)
  return n
end

return M
