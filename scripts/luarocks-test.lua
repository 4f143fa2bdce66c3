-- scripts/luarocks-test.lua: what `luarocks test` runs (the rockspecs' test table): `make test` offline for the Lua
-- that LuaRocks runs this script with. Usage (LuaRocks adds the rockspec's flags first, then what follows `--`):
--   lua scripts/luarocks-test.lua [--sandbox] [SPEC...]
-- SPEC... (files or folders of spec/) become TEST_SPECS; --sandbox (hy3d-sandbox's rockspec, run from sandbox/)
-- means spec/sandbox by default. OFFLINE=1: nothing is fetched (no apt-get, no npm) and a spec whose host or
-- tool is absent reports pending with the reason. The exit status is the suite's.
local args = { ... }
local sandbox_rock = false
if args[1] == "--sandbox" then
  sandbox_rock = true
  table.remove(args, 1)
end

-- The checkout: the folder above this script's.
local script = arg and arg[0] or "scripts/luarocks-test.lua"
local root = script:match("^(.*)/scripts/[^/]+$") or "."

-- LuaJIT builds with LUA_VERSION=jit; PUC Lua with its own version.
local version = rawget(_G, "jit") and "jit" or _VERSION:match("%d+%.%d+")

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local specs = {}
for _, a in ipairs(args) do
  if a:match("^%-") then
    io.stderr:write("luarocks-test: unknown option ", a, " (usage: [--sandbox] [SPEC...])\n")
    os.exit(2)
  end
  -- from sandbox/, a spec path may be given as LuaRocks' working directory sees it
  specs[#specs + 1] = sandbox_rock and a:gsub("^%.%./", "") or a
end
if #specs == 0 and sandbox_rock then specs[1] = "spec/sandbox" end

-- A spec's own make must not inherit a calling make's jobserver or command-line variables.
local cmd = ("cd %s && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s --no-print-directory test LUA_VERSION=%s OFFLINE=1")
  :format(quote(root), version)
if #specs > 0 then cmd = cmd .. " TEST_SPECS=" .. quote(table.concat(specs, " ")) end
local status = os.execute(cmd)
os.exit((status == true or status == 0) and 0 or 1)   -- 5.2+: true or nil; 5.1: the wait status
