-- Packaging as a user meets it: `make install PREFIX=…` and `luarocks make --tree …` (the hy3d rock,
-- then the hy3d-sandbox rock from sandbox/ into the same tree) on Lua 5.4 and 5.1, then the installed
-- hy3d and hy3d-sandbox run from another directory with a fresh user's environment; the launchers
-- through a symlink and beside a LUA_CPATH for another Lua; make clean;
-- the missing-headers hint; the suite's summary naming what it skipped; make install DESTDIR=… for every Lua
-- here with the LuaRocks-style variables, and make uninstall.
local sandbox = require "spec.support.sandbox"
local socket = require "socket"

local q = sandbox.shell_quote
local ROOT = assert(os.getenv("PWD"))
local VERSION = require("hy3d.core")._VERSION
local ROCKSPEC = "hy3d-" .. VERSION .. "-1.rockspec"
local SANDBOX_ROCKSPEC = "hy3d-sandbox-" .. VERSION .. "-1.rockspec"
local V = VERSION:gsub("%p", "%%%0")

-- make from a spec as a user runs it: without the outer make's MAKEFLAGS (a jobserver this child
-- does not have) and the command-line variables it exported (e.g. `make test LUA_VERSION=5.1`).
local MAKE = "env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u LUA_VERSION -u LUA -u LUA_INCDIR -u BUILD -u CFLAGS"
  .. " -u LDFLAGS -u PREFIX -u DESTDIR -u LIBDIR -u LUADIR -u BINDIR make -s --no-print-directory"

-- A fresh user's environment: PATH and a HOME of its own, nothing else (no LUA_PATH, no LUA_CPATH).
local function fresh(home, extra)
  return ("env -i PATH=%s HOME=%s %s"):format(q(os.getenv("PATH")), q(home), extra or "")
end

local function run_in(dir, cmd)
  return sandbox.run(("cd %s && %s"):format(q(dir), cmd))
end

-- Starts a hy3d-sandbox command line in dir; returns its URL and a stop function, or nil and its output.
local function start_sandbox(dir, cmd)
  local out = dir .. "/sandbox.out"
  local p = assert(io.popen(("cd %s && %s --port 0 --lifetime 120 --wait-time 0.1 --run-time 0.1 >%s 2>&1 & echo $!")
    :format(q(dir), cmd, q(out))))
  local pid = p:read("*l")
  p:close()
  local deadline = socket.gettime() + 20
  repeat
    local text = sandbox.read_file(out) or ""
    local url = text:match("^(http://[%d%.]+:%d+)\n")
    if url then return url, function() os.execute("kill " .. pid .. " 2>/dev/null") end end
    local alive = os.execute("kill -0 " .. pid .. " 2>/dev/null")
    if alive ~= true and alive ~= 0 then return nil, sandbox.read_file(out) end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  os.execute("kill " .. pid .. " 2>/dev/null")
  return nil, "no URL in 20 s: " .. (sandbox.read_file(out) or "")
end

-- hy3d generate from a fresh directory against url; returns the .glb it wrote, or fails.
local function generate(hy3d, url, key, home)
  local cwd = sandbox.tmpdir()
  local ok, out = run_in(cwd, fresh(home, ("HY3D_BASE_URL=%s HY3D_API_KEY=%s"):format(q(url), q(key)))
    .. " " .. q(hy3d) .. " generate 'an installed chair' --interval 0.1 --timeout 60 --dir models")
  assert.is_true(ok, out)
  local p = io.popen("ls " .. q(cwd .. "/models"))
  local names = p:read("*a")
  p:close()
  local glb = names:match("([^\n]+%.glb)")
  assert.truthy(glb, "no .glb in models/: " .. names .. "\n" .. out)
  assert.equal("glTF", sandbox.read_file(cwd .. "/models/" .. glb):sub(1, 4))
  os.execute("rm -rf " .. q(cwd))
end

-- The installed commands of one install: --version, the sandbox and a generate against it.
local function check_install(bin, lua, sandbox_ok)
  local home, cwd = sandbox.tmpdir(), sandbox.tmpdir()
  local ok, out = run_in(cwd, fresh(home) .. " " .. q(bin .. "/hy3d") .. " --version")
  assert.is_true(ok, out)
  assert.matches("^hy3d " .. V .. " %(" .. (lua == "5.1" and "Lua 5%.1" or "Lua 5%.4"), out)
  local url, stop
  local key = "sk-hy3d-sandbox"                                  -- the sandbox's default key
  if sandbox_ok then
    url, stop = start_sandbox(cwd, fresh(home) .. " " .. q(bin .. "/hy3d-sandbox"))
    assert.truthy(url, stop)
    assert.matches("\nhy3d%-sandbox " .. V .. ": ", sandbox.read_file(cwd .. "/sandbox.out"))
  else                                      -- a 5.1 LuaRocks tree: its wrapper runs lua5.1
    ok, out = run_in(cwd, fresh(home) .. " " .. q(bin .. "/hy3d-sandbox") .. " --help")
    assert.is_false(ok, out)
    assert.matches("^[^\n]+\n?$", out)                               -- one line
    assert.matches("hy3d%-sandbox needs Lua 5%.3 or newer", out)
    assert.matches("%-%-lua%-version=5%.4", out)                      -- and says what to do
    local sb = sandbox.start()
    url, stop, key = sb.url, function() sb:stop() end, sb.key
  end
  generate(bin .. "/hy3d", url, key, home)
  stop()
  os.execute("rm -rf " .. q(home) .. " " .. q(cwd))
end

describe("installed with make install PREFIX=…", function()
  it("on Lua 5.4: hy3d and hy3d-sandbox run from another directory without LUA_PATH or LUA_CPATH", function()
    local prefix = sandbox.tmpdir()
    local ok, out = sandbox.run(("%s install LUA_VERSION=5.4 PREFIX=%s"):format(MAKE, q(prefix)))
    assert.is_true(ok, out)
    check_install(prefix .. "/bin", "5.4", true)
    os.execute("rm -rf " .. q(prefix))
  end)

  it("on Lua 5.1: hy3d runs on 5.1, hy3d-sandbox on the 5.4 core installed beside it", function()
    local prefix, build = sandbox.tmpdir(), sandbox.tmpdir()
    local ok, out = sandbox.run(("%s install LUA_VERSION=5.1 PREFIX=%s BUILD=%s"):format(MAKE, q(prefix), q(build)))
    assert.is_true(ok, out)
    assert.truthy(sandbox.exists(prefix .. "/lib/lua/5.1/hy3d/core.so"))
    assert.truthy(sandbox.exists(prefix .. "/lib/lua/5.4/hy3d/core.so"))
    assert.truthy(sandbox.exists(prefix .. "/share/lua/5.4/hy3d/sandbox/init.lua"))
    assert.falsy(sandbox.exists(prefix .. "/share/lua/5.1/hy3d/sandbox"))   -- the emulator is 5.3+ only
    check_install(prefix .. "/bin", "5.1", true)
    os.execute("rm -rf " .. q(prefix) .. " " .. q(build))
  end)
end)

describe("installed with luarocks make --tree …", function()
  for _, lua in ipairs { "5.4", "5.1" } do
    it(("on Lua %s, offline with --deps-mode=none: the tree's commands run without LUA_PATH or LUA_CPATH")
      :format(lua), function()
      local work = sandbox.tmpdir()
      -- from a copy: LuaRocks' builtin type writes objects next to the sources
      assert(os.execute(("mkdir -p %s/src && cp -r src lua bin examples sandbox %s %s/src/")
        :format(q(work), ROCKSPEC, q(work))))
      local ok, out = run_in(work .. "/src", ("luarocks --lua-version=%s make --deps-mode=none --tree=%s %s")
        :format(lua, q(work .. "/tree"), ROCKSPEC))
      assert.is_true(ok, out)
      -- the library rock alone: no emulator, and nothing of the emulator's among its dependencies
      assert.falsy(sandbox.exists(("%s/tree/share/lua/%s/hy3d/sandbox"):format(work, lua)))
      assert.falsy(sandbox.exists(work .. "/tree/bin/hy3d-sandbox"))
      assert.not_matches("luasocket", out)
      assert.not_matches("lua%-zlib", out)
      -- then the emulator's rock beside it (on 5.1 forced by --deps-mode=none: it needs Lua 5.3+)
      ok, out = run_in(work .. "/src/sandbox", ("luarocks --lua-version=%s make --deps-mode=none --tree=%s %s")
        :format(lua, q(work .. "/tree"), SANDBOX_ROCKSPEC))
      assert.is_true(ok, out)
      assert.matches("hy3d%-sandbox " .. V .. "%-1 is now installed", out)
      check_install(work .. "/tree/bin", lua, lua == "5.4")
      os.execute("rm -rf " .. q(work))
    end)
  end
end)

describe("the launchers", function()
  it("bin/hy3d and sandbox/bin/hy3d-sandbox run through a symbolic link from another directory", function()
    local dir, home = sandbox.tmpdir(), sandbox.tmpdir()
    assert(os.execute(("ln -s %s/bin/hy3d %s/hy3d && ln -s %s/sandbox/bin/hy3d-sandbox %s/hy3d-sandbox")
      :format(q(ROOT), q(dir), q(ROOT), q(dir))))
    local ok, out = run_in(dir, fresh(home) .. " ./hy3d --version")
    assert.is_true(ok, out)
    assert.matches("^hy3d " .. V .. " ", out)
    ok, out = run_in(dir, fresh(home) .. " ./hy3d-sandbox --help")
    assert.is_true(ok, out)
    assert.matches("^usage: hy3d%-sandbox", out)
    os.execute("rm -rf " .. q(dir) .. " " .. q(home))
  end)

  it("hy3d-sandbox finds its 5.4 core when LUA_CPATH points at a LuaJIT or 5.1 core", function()
    local home, cwd = sandbox.tmpdir(), sandbox.tmpdir()
    for _, build in ipairs { "build/luajit", "build/lua5.1" } do
      if sandbox.exists(ROOT .. "/" .. build .. "/hy3d/core.so") then
        local url, stop = start_sandbox(cwd, fresh(home, ("LUA_CPATH=%s"):format(q(ROOT .. "/" .. build .. "/?.so;;")))
          .. " " .. q(ROOT .. "/sandbox/bin/hy3d-sandbox"))
        assert.truthy(url, stop)
        stop()
      end
    end
    assert.truthy(sandbox.exists(ROOT .. "/build/luajit/hy3d/core.so"), "make test builds the LuaJIT core")
    os.execute("rm -rf " .. q(home) .. " " .. q(cwd))
  end)

  it("hy3d-sandbox says in one line what to do when no 5.4 core is anywhere", function()
    local home, dir = sandbox.tmpdir(), sandbox.tmpdir()
    assert(os.execute(("cp -r %s/bin %s/lua %s/sandbox %s/"):format(q(ROOT), q(ROOT), q(ROOT), q(dir))))   -- never built
    local ok, out, code = run_in(dir, fresh(home, ("LUA_CPATH=%s"):format(q(ROOT .. "/build/luajit/?.so;;")))
      .. " sandbox/bin/hy3d-sandbox --help")
    assert.is_false(ok, out)
    assert.equal(1, code)
    assert.matches("^hy3d%-sandbox: [^\n]+\n?$", out)                 -- one line
    assert.matches("Lua 5%.4 build of hy3d%.core", out)
    assert.matches("make sandbox%-core", out)
    assert.matches("LUA_CPATH_5_4", out)
    assert.matches(ROOT:gsub("%p", "%%%0") .. "/build/luajit/hy3d/core%.so %([^)]+%) is for another Lua", out)
    os.execute("rm -rf " .. q(home) .. " " .. q(dir))
  end)
end)

describe("make", function()
  it("clean removes the builds and luarocks make's leftovers, and keeps out/ (users' models)", function()
    local dir = sandbox.tmpdir()
    assert(os.execute(("cd %s && mkdir -p bench build/obj mk out hy3d src && cp %s/Makefile . && cp %s/bench/bench.mk bench/"
      .. " && cp %s/mk/*.mk mk/"):format(q(dir), q(ROOT), q(ROOT), q(ROOT))))
    for _, f in ipairs { "build/obj/hy3d_core.o", "out/chair.glb", "hy3d/core.so", "src/hy3d_core.o", "src/hy3d_core.c" } do
      sandbox.write_file(dir .. "/" .. f, "x")
    end
    local ok, out = run_in(dir, MAKE .. " clean")
    assert.is_true(ok, out)
    assert.truthy(sandbox.exists(dir .. "/out/chair.glb"))
    assert.truthy(sandbox.exists(dir .. "/src/hy3d_core.c"))
    for _, f in ipairs { "build", "hy3d/core.so", "hy3d", "src/hy3d_core.o" } do
      assert.falsy(sandbox.exists(dir .. "/" .. f), f)
    end
    os.execute("rm -rf " .. q(dir))
  end)

  for _, case in ipairs { { "5.2", "liblua5%.2%-dev" }, { "5.1", "liblua5%.1%-0%-dev" }, { "jit", "libluajit2%-5%.1%-dev" } } do
    it(("LUA_VERSION=%s without that Lua's headers names the package to install"):format(case[1]), function()
      local build = sandbox.tmpdir()
      local ok, out = sandbox.run(("%s LUA_VERSION=%s LUA_INCDIR=/nonexistent/include BUILD=%s all")
        :format(MAKE, case[1], q(build)))
      assert.is_false(ok, out)
      assert.matches("/nonexistent/include/lua%.h", out)
      assert.matches(case[2], out)
      assert.not_matches("No such file or directory", out)
      os.execute("rm -rf " .. q(build))
    end)
  end
end)

describe("the suite's summary", function()
  it("names each skipped test and why on the line before the last, which stays 'N passed, N failed'", function()
    local dir = sandbox.tmpdir()
    sandbox.write_file(dir .. "/skip_spec.lua", [[
describe("a loop", function()
  it("runs", function() assert.is_true(true) end)
  it("works beside copas", function() pending("lua-copas is not installed for this Lua") end)
end)
]])
    local ok, out = run_in(dir, ("%s %s -o %s skip_spec.lua"):format(sandbox.lua(), os.getenv("BUSTED") or "/usr/bin/busted",
      q(ROOT .. "/spec/support/summary.lua")))
    assert.is_true(ok, out)
    local before, last = out:match("\n([^\n]*)\n([^\n]*)\n?$")
    assert.equal("1 passed, 0 failed", last)
    assert.matches("^1 skipped: a loop works beside copas %(lua%-copas is not installed for this Lua%)", before)
    os.execute("rm -rf " .. q(dir))
  end)
end)

-- make install DESTDIR=… as a distribution packages it, for each Lua whose interpreter and headers are
-- here (the builds `make test` leaves in build/… are reused; a missing one is built there once): the exact
-- list of files, the installed commands run from the staged tree, then make uninstall with the same variables.
describe("make install DESTDIR=… and make uninstall", function()
  local ABI = { ["5.1"] = "5.1", ["5.2"] = "5.2", ["5.3"] = "5.3", ["5.4"] = "5.4", jit = "5.1" }
  local INTERPRETER = { ["5.1"] = "lua5.1", ["5.2"] = "lua5.2", ["5.3"] = "lua5.3", ["5.4"] = "lua5.4", jit = "luajit" }
  local HEADERS = { jit = "/usr/include/luajit-2.1/lua.h" }
  local NAME = { jit = "LuaJIT 2%.1" }

  -- The module files under dir/lua, relative to it.
  local function modules(dir)
    local p = assert(io.popen(("cd %s/lua && find . -name '*.lua' | sort"):format(q(ROOT .. "/" .. dir))))
    local list = {}
    for f in p:lines() do list[#list + 1] = f:sub(3) end
    p:close()
    return list
  end
  local LIB, SANDBOX = modules("."), modules("sandbox")

  -- Every file and folder under dir ("f path" or "d path", relative), sorted.
  local function tree(dir)
    local p = assert(io.popen(("cd %s && find . -mindepth 1 \\( -type d -printf 'd %%P\\n' \\) -o -printf 'f %%P\\n' | sort")
      :format(q(dir))))
    local list = {}
    for l in p:lines() do list[#list + 1] = l end
    p:close()
    return list
  end
  local function files(dir)
    local out = {}
    for _, l in ipairs(tree(dir)) do
      if l:sub(1, 2) == "f " then out[#out + 1] = l:sub(3) end
    end
    return out
  end

  -- What install puts where, for one LUA_VERSION and layout (paths without the leading /).
  local function expected(v, layout)
    local list = { layout.bin .. "/hy3d", layout.bin .. "/hy3d-sandbox", layout.lib .. "/hy3d/core.so" }
    -- hy3d.mesh (hy3d.inspect's parser) where libassimp is installed (the Makefile's MESH)
    if sandbox.exists("/usr/include/assimp/cimport.h") then list[#list + 1] = layout.lib .. "/hy3d/mesh.so" end
    for _, m in ipairs(LIB) do list[#list + 1] = layout.lua .. "/" .. m end
    local sandbox_lua = v == "5.4" and layout.lua or layout.prefix .. "/share/lua/5.4"
    if v ~= "5.4" then                                   -- the 5.4 core and library hy3d-sandbox runs on
      list[#list + 1] = layout.prefix .. "/lib/lua/5.4/hy3d/core.so"
      for _, m in ipairs(LIB) do list[#list + 1] = sandbox_lua .. "/" .. m end
    end
    for _, m in ipairs(SANDBOX) do list[#list + 1] = sandbox_lua .. "/" .. m end
    if sandbox.exists(ROOT .. "/build/model-viewer/model-viewer-umd.min.js") then   -- hy3d gallery's viewer (make deps-viewer)
      list[#list + 1] = layout.lua .. "/hy3d/gallery/model-viewer-umd.min.js"
      list[#list + 1] = layout.lua .. "/hy3d/gallery/LICENSE.model-viewer"
    end
    table.sort(list)
    return list
  end

  for _, v in ipairs { "5.1", "5.2", "5.3", "jit", "5.4" } do
    local abi = ABI[v]
    local why
    if not sandbox.run("command -v " .. INTERPRETER[v]) then
      why = INTERPRETER[v] .. " is not installed"
    elseif not sandbox.exists(HEADERS[v] or ("/usr/include/lua" .. v .. "/lua.h")) then
      why = (HEADERS[v] or ("/usr/include/lua" .. v .. "/lua.h")) .. " is missing (the headers make install builds with)"
    end
    -- the LuaRocks-style layouts: the default one under PREFIX, and every directory set apart
    local layouts = {
      { name = "PREFIX=/usr", vars = "PREFIX=/usr",
        prefix = "usr", bin = "usr/bin", lib = "usr/lib/lua/" .. abi, lua = "usr/share/lua/" .. abi },
      { name = "PREFIX, LIBDIR, LUADIR and BINDIR apart",
        vars = "PREFIX=/opt/hy3d LIBDIR=/opt/hy3d/cmod LUADIR=/opt/hy3d/lmod BINDIR=/opt/hy3d/commands",
        prefix = "opt/hy3d", bin = "opt/hy3d/commands", lib = "opt/hy3d/cmod", lua = "opt/hy3d/lmod",
        foreign = { "opt/hy3d/commands/other-tool", "opt/hy3d/lmod/other.lua" } },
    }
    for _, layout in ipairs(layouts) do
      local title = ("LUA_VERSION=%s, %s: exactly its files, commands that run from there, and uninstall"
        .. " leaves %s"):format(v, layout.name, layout.foreign and "only the files it did not install" or "an empty tree")
      if why then
        it(title, function() pending("LUA_VERSION=" .. v .. ": " .. why) end)
      else
        it(title, function()
          local dest, home = sandbox.tmpdir(), sandbox.tmpdir()
          for _, f in ipairs(layout.foreign or {}) do
            assert(os.execute("mkdir -p " .. q(dest .. "/" .. f:match("^(.*)/"))))
            sandbox.write_file(dest .. "/" .. f, "not hy3d's\n")
          end
          local before = tree(dest)
          local vars = ("LUA_VERSION=%s DESTDIR=%s %s"):format(v, q(dest), layout.vars)
          local ok, out = sandbox.run(("cd %s && %s install %s"):format(q(ROOT), MAKE, vars))
          assert.is_true(ok, out)
          local want = expected(v, layout)
          for _, f in ipairs(layout.foreign or {}) do want[#want + 1] = f end
          table.sort(want)
          assert.same(want, files(dest))
          local shebang = sandbox.read_file(dest .. "/" .. layout.bin .. "/hy3d"):match("^[^\n]*")
          assert.equal("#!/usr/bin/env " .. INTERPRETER[v], shebang)
          -- the staged commands, from another directory, with paths into the staged tree only
          local root = dest .. "/" .. layout.prefix
          local env = fresh(home, ("LUA_PATH=%s LUA_CPATH=%s LUA_PATH_5_4=%s LUA_CPATH_5_4=%s"):format(
            q(dest .. "/" .. layout.lua .. "/?.lua;" .. dest .. "/" .. layout.lua .. "/?/init.lua;;"),
            q(dest .. "/" .. layout.lib .. "/?.so;;"),
            q(root .. "/share/lua/5.4/?.lua;" .. root .. "/share/lua/5.4/?/init.lua;" .. dest .. "/" .. layout.lua .. "/?.lua;"
              .. dest .. "/" .. layout.lua .. "/?/init.lua;;"),
            q((v == "5.4" and (dest .. "/" .. layout.lib) or (root .. "/lib/lua/5.4")) .. "/?.so;;")))
          ok, out = run_in(home, env .. " " .. q(dest .. "/" .. layout.bin .. "/hy3d") .. " --version")
          assert.is_true(ok, out)
          assert.matches("^hy3d " .. V .. " %(" .. (NAME[v] or ("Lua " .. v:gsub("%.", "%%."))), out)
          ok, out = run_in(home, env .. " " .. q(dest .. "/" .. layout.bin .. "/hy3d-sandbox") .. " --help")
          assert.is_true(ok, out)
          assert.matches("^usage: hy3d%-sandbox", out)
          -- uninstall with the same variables: the tree as it was before install
          ok, out = sandbox.run(("cd %s && %s uninstall %s"):format(q(ROOT), MAKE, vars))
          assert.is_true(ok, out)
          assert.same(before, tree(dest))
          for _, f in ipairs(layout.foreign or {}) do
            assert.equal("not hy3d's\n", sandbox.read_file(dest .. "/" .. f))
          end
          os.execute("rm -rf " .. q(dest) .. " " .. q(home))
        end)
      end
    end
  end

  it("without DESTDIR, uninstall keeps the prefix's shared directories (bin, lib/lua/5.4, share/lua/5.4)", function()
    local prefix = sandbox.tmpdir()
    local ok, out = sandbox.run(("cd %s && %s install PREFIX=%s"):format(q(ROOT), MAKE, q(prefix)))
    assert.is_true(ok, out)
    ok, out = sandbox.run(("cd %s && %s uninstall PREFIX=%s"):format(q(ROOT), MAKE, q(prefix)))
    assert.is_true(ok, out)
    assert.same({ "d bin", "d lib", "d lib/lua", "d lib/lua/5.4", "d share", "d share/lua", "d share/lua/5.4" }, tree(prefix))
    os.execute("rm -rf " .. q(prefix))
  end)
end)
