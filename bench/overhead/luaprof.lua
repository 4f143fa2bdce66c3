-- bench/overhead/luaprof.lua — where a Lua script spends its VM instructions: a count hook every
-- EVERY instructions charges the Lua function running at that moment (C functions execute no VM
-- instructions; callgrind sees those). Deterministic: a count, not a clock.
-- Usage: lua5.4 luaprof.lua OUT SCRIPT [ARGS...]   OUT gets "samples<TAB>source:line<TAB>declaration"
-- lines, largest first; EVERY (env LUAPROF_EVERY, default 100) is the sampling step.
local out, script = arg[1], arg[2]
assert(out and script, "usage: luaprof.lua OUT SCRIPT [ARGS...]")
local every = tonumber(os.getenv("LUAPROF_EVERY") or "100")

local script_arg = { [0] = script }
for i = 3, #arg do script_arg[#script_arg + 1] = arg[i] end
arg = script_arg   -- luacheck: ignore 121 (the script reads the global arg)

local counts, getinfo = {}, debug.getinfo
local function hook()
  local info = getinfo(2, "S")
  local key = info.short_src .. ":" .. info.linedefined
  counts[key] = (counts[key] or 0) + 1
end

debug.sethook(hook, "", every)
dofile(script)
debug.sethook()

-- The line that declares each function, for a readable name.
local lines_of = {}
local function declaration(src, line)
  if not lines_of[src] then
    lines_of[src] = {}
    local f = io.open(src)
    if f then
      for l in f:lines() do lines_of[src][#lines_of[src] + 1] = l end
      f:close()
    end
  end
  local text = lines_of[src][tonumber(line)] or "?"
  return (text:match("function%s*[%w_.:]*%b()") or text):gsub("^%s+", ""):gsub("\t", " ")
end

local list = {}
for k, v in pairs(counts) do list[#list + 1] = { k = k, v = v } end
table.sort(list, function(a, b) return a.v > b.v end)
local f = assert(io.open(out, "w"))
for _, e in ipairs(list) do
  local src, line = e.k:match("^(.*):(%d+)$")
  f:write(e.v * every, "\t", e.k, "\t", line == "0" and "(main chunk)" or declaration(src, line), "\n")
end
f:close()
