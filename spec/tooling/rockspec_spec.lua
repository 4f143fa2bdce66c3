-- The two rocks: hy3d-<version>-1.rockspec (the library and the hy3d command: Lua and lua-cjson, no
-- emulator) and sandbox/hy3d-sandbox-<version>-1.rockspec (the emulator beside it: Lua 5.3+, hy3d,
-- luasocket, lua-zlib, luaossl), each beside its scm rockspec (the same fields but version and source).
-- Each lists every module file of its folder; `luarocks lint` passes on all four. LuaRocks' builtin build
-- of the library produces a working module and the hy3d command for the Lua the suite runs on
-- (Debian's luarocks with --lua-version; for LuaJIT, which shares 5.1's module ABI, a config file
-- points luarocks at luajit and its headers), and on 5.3+ the sandbox rock installs beside it.
-- `luarocks test` runs the suite offline (scripts/luarocks-test.lua) and passes its verdict on.
local sandbox = require "spec.support.sandbox"

local VERSION = require("hy3d.core")._VERSION
local ROCKSPEC = "hy3d-" .. VERSION .. "-1.rockspec"
local SANDBOX_ROCKSPEC = "hy3d-sandbox-" .. VERSION .. "-1.rockspec"
local SCM_ROCKSPEC = "hy3d-scm-1.rockspec"
local SANDBOX_SCM_ROCKSPEC = "hy3d-sandbox-scm-1.rockspec"
local q = sandbox.shell_quote

-- A rockspec's fields, read as LuaRocks reads them (a chunk of assignments).
local function load_rockspec(path)
  local spec = {}
  local chunk = assert((loadstring or load)(assert(sandbox.read_file(path)), "=" .. path, "t", spec))
  if setfenv then setfenv(chunk, spec) end
  chunk()
  return spec
end

-- The .lua files under dir (relative to dir), sorted.
local function lua_files(dir)
  local p = assert(io.popen(("cd %s && find lua -name '*.lua' | sort"):format(sandbox.shell_quote(dir))))
  local files = {}
  for f in p:lines() do files[#files + 1] = f end
  p:close()
  return files
end

-- The files a rockspec's modules name, sorted.
local function module_files(spec)
  local files = {}
  for _, v in pairs(spec.build.modules) do
    if type(v) == "string" then files[#files + 1] = v end
  end
  table.sort(files)
  return files
end

describe("the rockspecs", function()
  it("the library's depends on Lua and lua-cjson only and ships no emulator", function()
    local spec = load_rockspec(ROCKSPEC)
    assert.equal("hy3d", spec.package)
    assert.same({ "lua >= 5.1, < 5.5", "lua-cjson >= 2.1.0" }, spec.dependencies)
    for name in pairs(spec.build.modules) do
      assert.not_matches("^hy3d%.sandbox", name)
    end
    assert.same({ hy3d = "bin/hy3d" }, spec.build.install.bin)
    assert.same(lua_files("."), module_files(spec))       -- every module of lua/, and only those
  end)

  it("the sandbox's (sandbox/) is hy3d-sandbox at hy3d's version, on Lua 5.3+ beside hy3d", function()
    local spec = load_rockspec("sandbox/" .. SANDBOX_ROCKSPEC)
    assert.equal("hy3d-sandbox", spec.package)
    assert.equal(VERSION .. "-1", spec.version)
    assert.equal("v" .. VERSION, spec.source.tag)
    assert.same({ "lua >= 5.3, < 5.5", "hy3d = " .. VERSION, "luasocket >= 3.0", "lua-zlib >= 1.2", "luaossl" },
      spec.dependencies)
    assert.equal("lua/hy3d/sandbox/init.lua", spec.build.modules["hy3d.sandbox"])
    assert.same({ ["hy3d-sandbox"] = "bin/hy3d-sandbox" }, spec.build.install.bin)
    assert.same(lua_files("sandbox"), module_files(spec))  -- every module of sandbox/lua, and only those
  end)

  -- One list of modules: the scm rockspec may differ from the release one only in its version and
  -- source (a branch for the tag) and, for the sandbox, in the hy3d it accepts (scm included).
  for _, pair in ipairs { { ROCKSPEC, SCM_ROCKSPEC }, { "sandbox/" .. SANDBOX_ROCKSPEC, "sandbox/" .. SANDBOX_SCM_ROCKSPEC } } do
    it(pair[2] .. " is " .. pair[1] .. " for the main branch", function()
      local release, scm = load_rockspec(pair[1]), load_rockspec(pair[2])
      assert.equal("scm-1", scm.version)
      assert.same({ url = release.source.url, branch = "main", dir = release.source.dir }, scm.source)
      for i, dep in ipairs(release.dependencies) do
        if dep == "hy3d = " .. VERSION then release.dependencies[i] = "hy3d >= " .. VERSION end
      end
      for _, field in ipairs { "version", "source" } do release[field], scm[field] = nil, nil end
      assert.same(release, scm, pair[2] .. " differs from " .. pair[1] .. " beyond its version and source: a module (or"
        .. " any field) added to one goes into both")
    end)
  end

  it("name a homepage, an issue tracker, a maintainer, labels and a license", function()
    for _, path in ipairs { ROCKSPEC, SCM_ROCKSPEC, "sandbox/" .. SANDBOX_ROCKSPEC, "sandbox/" .. SANDBOX_SCM_ROCKSPEC } do
      local d = load_rockspec(path).description
      assert.matches("^https://", d.homepage, path)
      assert.matches("^https://[^\n]+/issues$", d.issues_url, path)
      assert.matches("^[^<]+ <[^@>]+@[^>]+>$", d.maintainer, path)
      assert.equal("MIT", d.license, path)
      assert.truthy(#d.labels > 0, path)
    end
  end)

  it("pass `luarocks lint`", function()
    for _, path in ipairs { ROCKSPEC, SCM_ROCKSPEC, "sandbox/" .. SANDBOX_ROCKSPEC, "sandbox/" .. SANDBOX_SCM_ROCKSPEC } do
      local dir, name = path:match("^(.-)/?([^/]+)$")
      local ok, out = sandbox.run(("cd %s && luarocks lint %s"):format(q(dir == "" and "." or dir), q(name)))
      assert.is_true(ok, path .. ": " .. out)
      assert.equal("", out, path)                         -- no warning either
    end
  end)

  it("run the suite offline on `luarocks test`, with no test dependency to fetch", function()
    for _, path in ipairs { ROCKSPEC, "sandbox/" .. SANDBOX_ROCKSPEC } do
      local spec = load_rockspec(path)
      assert.is_nil(spec.test_dependencies)                -- luarocks would fetch busted as a rock
      assert.equal("command", spec.test.type)
      assert.matches("scripts/luarocks%-test%.lua$", spec.test.script)
    end
  end)
end)

local LUAJIT_CONFIG = [[
lua_interpreter = "luajit"
variables = { LUA_DIR = "/usr", LUA_BINDIR = "/usr/bin", LUA_INCDIR = "/usr/include/luajit-2.1" }
]]

describe("the rockspec", function()
  it("builds and installs with `luarocks make`, and the sandbox's rock beside it", function()
    local work = os.tmpname()
    os.remove(work)
    local version = _VERSION:match("%d+%.%d+")       -- LuaJIT: "5.1", its module ABI
    -- build from a copy: LuaRocks' builtin type writes objects next to the sources
    assert(os.execute(("mkdir -p %s/src && cp -r src lua bin examples sandbox %s %s/src/")
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
    assert.not_matches("luasocket", out)                  -- none of the emulator's dependencies
    assert.not_matches("lua%-zlib", out)
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
      assert(require("cjson").decode('{"a":[1]}').a[1] == 1)
      io.write(h._VERSION, " ", (package.searchpath or search)("hy3d.core", package.cpath), "\n",
        (package.searchpath or search)("cjson", package.cpath))]]
    ok, out = sandbox.run(("%s %s -e %s"):format(env, sandbox.lua(), sandbox.shell_quote(probe)))
    assert.is_true(ok, out)
    local loaded, cjson = out:match("^([^\n]*)\n([^\n]*)$")
    assert.equal(VERSION .. " " .. tree .. "/lib/lua/" .. version .. "/hy3d/core.so", loaded, out)
    -- with the cjson installed on the system (--deps-mode=none: none in the tree)
    assert.matches("/cjson%.so$", cjson)
    assert.equal(nil, cjson:find(tree, 1, true))
    -- no emulator in the library's rock
    assert.falsy(sandbox.exists(("%s/share/lua/%s/hy3d/sandbox"):format(tree, version)))
    assert.falsy(sandbox.exists(tree .. "/bin/hy3d-sandbox"))
    -- the sandbox's rock beside it, on 5.3+; its command runs under the interpreter luarocks was
    -- configured for. A sandbox under 5.1 or 5.2 says it needs 5.3+ (spec/tooling/install_spec.lua).
    if version ~= "5.1" and version ~= "5.2" then
      ok, out = sandbox.run(("cd %s/src/sandbox && luarocks --lua-version=%s make --deps-mode=none --tree=%s %s")
        :format(work, version, tree, SANDBOX_ROCKSPEC))
      assert.is_true(ok, out)
      assert.matches("hy3d%-sandbox " .. VERSION:gsub("%p", "%%%0") .. "%-1 is now installed", out)
      ok, out = sandbox.run(("%s %s/bin/hy3d-sandbox --help"):format(env, tree))
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

describe("luarocks test", function()
  -- luarocks runs scripts/luarocks-test.lua with the interpreter it is configured for: make test for that
  -- Lua, offline; the specs named after `--` are the suite's TEST_SPECS. A failing spec fails it.
  it("runs the named specs under the suite's Lua, offline, and fails when a spec fails", function()
    local work = sandbox.tmpdir()
    local version, config = _VERSION:match("%d+%.%d+"), ""
    if rawget(_G, "jit") then
      sandbox.write_file(work .. "/luajit-config.lua", LUAJIT_CONFIG)
      config = "LUAROCKS_CONFIG=" .. q(work .. "/luajit-config.lua") .. " "
    end
    sandbox.write_file(work .. "/offline_spec.lua", ([[
describe("an offline run", function()
  it("is told so", function() assert.equal("1", os.getenv("HY3D_OFFLINE")) end)
  it("runs under the Lua luarocks was told", function() assert.equal(%q, _VERSION) end)
end)
]]):format(_VERSION))
    sandbox.write_file(work .. "/failing_spec.lua", 'it("fails", function() assert.equal(1, 2) end)\n')
    -- as a user runs it: no make of the suite's around it, no variable of the suite's run
    local luarocks = ("env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u LUA_VERSION -u LUA -u BUILD -u HY3D_OFFLINE -u OFFLINE"
      .. " -u TEST_SPECS -u BUSTED_ARGS %s"
      .. "luarocks --lua-version=%s test %s --"):format(config, version, ROCKSPEC)
    local ok, out = sandbox.run(("%s %s"):format(luarocks, q(work .. "/offline_spec.lua")))
    assert.is_true(ok, out)
    assert.matches("\n2 passed, 0 failed\n", out .. "\n")
    ok, out = sandbox.run(("%s %s"):format(luarocks, q(work .. "/failing_spec.lua")))
    assert.is_false(ok, out)
    assert.matches("\n0 passed, 1 failed\n", out)                -- the suite's verdict, then luarocks'
    os.execute("rm -rf " .. q(work))
  end)

  it("installs no package offline: scripts/deps.sh names what is missing and goes on", function()
    if not sandbox.run("command -v dpkg-query") then
      pending("not a Debian system: scripts/deps.sh checks no package here")
      return
    end
    local ok, out = sandbox.run("HY3D_OFFLINE=1 scripts/deps.sh hy3d-no-such-package")
    assert.is_true(ok, out)
    assert.matches("^deps: offline, not installing: hy3d%-no%-such%-package %(the specs that need them report pending%)\n?$", out)
  end)

  it("in sandbox/ runs hy3d-sandbox's specs on Lua 5.4 (the emulator's Lua), offline", function()
    local work = sandbox.tmpdir()
    sandbox.write_file(work .. "/sandbox_rock_spec.lua", [[
it("runs offline on Lua 5.4", function()
  assert.equal("1", os.getenv("HY3D_OFFLINE"))
  assert.equal("Lua 5.4", _VERSION)
  assert.is_table(require("hy3d.sandbox"))
end)
]])
    local ok, out = sandbox.run(("cd sandbox && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u LUA_VERSION -u LUA -u BUILD"
      .. " -u HY3D_OFFLINE -u OFFLINE -u TEST_SPECS -u BUSTED_ARGS luarocks --lua-version=5.4 test %s -- %s")
      :format(SANDBOX_ROCKSPEC, q(work .. "/sandbox_rock_spec.lua")))
    assert.is_true(ok, out)
    assert.matches("\n1 passed, 0 failed\n", out .. "\n")
    os.execute("rm -rf " .. q(work))
  end)
end)
