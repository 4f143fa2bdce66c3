-- bench/scale/lib.lua — what the scale benchmarks share: the process's own CPU time and memory
-- (from /proc, Linux), percentiles, and a small JSON writer with sorted keys (readable diffs of
-- bench/out/scale.json). Measures and prints; asserts nothing about speed.
local M = {}

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
M.read = read

--- Memory of this process in KiB: VmRSS (now), VmHWM (peak since start or since reset_peak),
-- RssAnon (heap and stacks, what a leak grows), VmData.
function M.mem()
  local s = read("/proc/self/status") or ""
  local function kb(name) return tonumber(s:match(name .. ":%s*(%d+)")) or 0 end
  return { rss = kb("VmRSS"), hwm = kb("VmHWM"), anon = kb("RssAnon"), data = kb("VmData") }
end

--- Resets VmHWM to the current RSS (Linux >= 4.0: writing 5 to clear_refs), so a later VmHWM is the
-- peak of what follows. Returns whether it worked.
function M.reset_peak()
  local f = io.open("/proc/self/clear_refs", "w")
  if not f then return false end
  local ok = f:write("5")
  ok = f:close() and ok
  return ok and true or false
end

local TICK = 100                                  -- USER_HZ: the unit of /proc/self/stat's times
--- This process's (or process pid's) CPU seconds: user, sys (getrusage's figures, via /proc, 10 ms steps).
function M.cpu(pid)
  local s = read("/proc/" .. (pid or "self") .. "/stat") or ""
  local rest = s:match("%) (.*)$") or ""          -- fields after the command name (it may hold spaces)
  local f = {}
  for w in rest:gmatch("%S+") do f[#f + 1] = w end
  -- rest starts at field 3 (state); utime is field 14, stime 15
  return (tonumber(f[12]) or 0) / TICK, (tonumber(f[13]) or 0) / TICK
end

--- Applies HY3D_SCALE_GC (incremental, generational, pause=N or stepmul=N; for experiments) and
-- returns its value or "default".
function M.apply_gc()
  local gc = os.getenv("HY3D_SCALE_GC")
  if not gc or gc == "" then return "default" end
  for part in gc:gmatch("[^,]+") do
    if part == "generational" or part == "incremental" then collectgarbage(part)
    elseif part:match("^pause=%d+$") then collectgarbage("setpause", tonumber(part:match("%d+")))
    elseif part:match("^stepmul=%d+$") then collectgarbage("setstepmul", tonumber(part:match("%d+")))
    else error("HY3D_SCALE_GC: unknown setting " .. part) end
  end
  return gc
end

--- p-th quantile (0..1) of a list of numbers (sorted in place), nearest rank.
function M.quantile(list, p)
  if #list == 0 then return nil end
  table.sort(list)
  return list[math.max(1, math.min(#list, math.ceil(#list * p)))]
end

function M.median(list)
  local c = {}
  for i = 1, #list do c[i] = list[i] end
  return M.quantile(c, 0.5)
end

function M.round(x, digits)
  if type(x) ~= "number" or x ~= x then return x end
  local m = 10 ^ (digits or 3)
  return math.floor(x * m + 0.5) / m
end

-- ===== JSON out (sorted keys, two-space indent) =====

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return named[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local function is_array(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do if t[i] == nil then return false end end
  return n > 0 or next(t) == nil and getmetatable(t) == M.array_mt
end

M.array_mt = {}

local function encode(v, indent)
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if math.type and math.type(v) == "integer" then return tostring(v) end
    if v == math.floor(v) and math.abs(v) < 1e15 then return ("%d"):format(v) end
    return ("%.6g"):format(v)
  end
  if t == "string" then return encode_string(v) end
  if t ~= "table" then return encode_string(tostring(v)) end
  local pad, inner = indent, indent .. "  "
  local parts = {}
  if is_array(v) then
    for i = 1, #v do parts[i] = encode(v[i], inner) end
    if #parts == 0 then return "[]" end
    local flat = "[" .. table.concat(parts, ", ") .. "]"
    if #flat < 100 and not flat:find("[{\n]") then return flat end
    return "[\n" .. inner .. table.concat(parts, ",\n" .. inner) .. "\n" .. pad .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  for i, k in ipairs(keys) do
    local val = v[k]
    if val == nil then val = v[tonumber(k)] end
    parts[i] = encode_string(k) .. ": " .. encode(val, inner)
  end
  if #parts == 0 then return "{}" end
  return "{\n" .. inner .. table.concat(parts, ",\n" .. inner) .. "\n" .. pad .. "}"
end

function M.json(v)
  return encode(v, "")
end

--- Writes v as JSON to path (when path is set and not empty).
function M.write_json(path, v)
  if not path or path == "" then return end
  local f = assert(io.open(path, "w"))
  f:write(M.json(v), "\n")
  f:close()
end

return M
