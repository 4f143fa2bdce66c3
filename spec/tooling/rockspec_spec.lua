-- hy3d-<version>-1.rockspec: LuaRocks' builtin build produces a working module and the sandbox command,
-- for the Lua the suite runs on (Debian's luarocks with --lua-version; for LuaJIT, which shares
-- 5.1's module ABI, a config file points luarocks at luajit and its headers).
local sandbox = require "spec.support.sandbox"

local VERSION = require("hy3d.core")._VERSION
local ROCKSPEC = "hy3d-" .. VERSION .. "-1.rockspec"

local LUAJIT_CONFIG = [[
lua_interpreter = "luajit"
variables = { LUA_DIR = "/usr", LUA_BINDIR = "/usr/bin", LUA_INCDIR = "/usr/include/luajit-2.1" }
]]

describe("the rockspec", function()
  it("builds and installs with `luarocks make`", function()
    local work = os.tmpname()
    os.remove(work)
    local version = _VERSION:match("%d+%.%d+")       -- LuaJIT: "5.1", its module ABI
    -- build from a copy: LuaRocks' builtin type writes objects next to the sources
    assert(os.execute(("mkdir -p %s/src && cp -r src lua bin examples %s %s/src/")
      :format(work, ROCKSPEC, work)))
    local config = ""
    if rawget(_G, "jit") then
      local f = assert(io.open(work .. "/luajit-config.lua", "w"))
      f:write(LUAJIT_CONFIG)
      f:close()
      config = "LUAROCKS_CONFIG=" .. work .. "/luajit-config.lua "
    end
    local ok, out = sandbox.run(
      ("cd %s/src && %sluarocks --lua-version=%s make --deps-mode=none --tree=%s/tree %s")
      :format(work, config, version, work, ROCKSPEC))
    assert.is_true(ok, out)
    assert.matches("hy3d " .. VERSION:gsub("%p", "%%%0") .. "%-1 is now installed", out)
    if rawget(_G, "jit") then
      assert.matches("%-I/usr/include/luajit%-2%.1 ", out)   -- compiled against LuaJIT's headers
    end
    local tree = work .. "/tree"
    local env = ("LUA_PATH='%s/share/lua/%s/?.lua;%s/share/lua/%s/?/init.lua;;' LUA_CPATH='%s/lib/lua/%s/?.so;;'")
      :format(tree, version, tree, version, tree, version)
    -- package.searchpath is 5.2+
    local probe = [[
      local function search(name, path)
        for entry in path:gmatch("[^;]+") do
          local file = entry:gsub("%?", (name:gsub("%.", "/")))
          local f = io.open(file)
          if f then f:close() return file end
        end
      end
      local h = require "hy3d"
      io.write(h._VERSION, " ", (package.searchpath or search)("hy3d.core", package.cpath))]]
    ok, out = sandbox.run(("%s %s -e %s"):format(env, sandbox.lua(), sandbox.shell_quote(probe)))
    assert.is_true(ok, out)
    assert.equal(VERSION .. " " .. tree .. "/lib/lua/" .. version .. "/hy3d/core.so", out)
    -- the installed command runs under the interpreter luarocks was configured for
    ok, out = sandbox.run(("%s %s/bin/hy3d-sandbox --help"):format(env, tree))
    if version == "5.1" or version == "5.2" then
      assert.is_false(ok, out)                      -- the sandbox needs Lua 5.3+, and says so
      assert.matches("hy3d%-sandbox needs Lua 5%.3 or newer", out)
    else
      assert.is_true(ok, out)
      assert.matches("usage: hy3d%-sandbox", out)
    end
    -- and the hy3d command, on every Lua (LuaRocks wraps it for its interpreter)
    ok, out = sandbox.run(("%s %s/bin/hy3d --help"):format(env, tree))
    assert.is_true(ok, out)
    assert.matches("usage: hy3d", out)
    os.execute("rm -rf " .. work)
  end)
end)
