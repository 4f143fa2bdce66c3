-- hy3d-scm-1.rockspec: LuaRocks' builtin build produces a working module and the sandbox command.
local sandbox = require "spec.support.sandbox"

describe("hy3d-scm-1.rockspec", function()
  it("builds and installs with `luarocks make`", function()
    local work = os.tmpname()
    os.remove(work)
    local version = _VERSION:match("%d+%.%d+")
    -- build from a copy: LuaRocks' builtin type writes objects next to the sources
    assert(os.execute(("mkdir -p %s/src && cp -r src lua bin examples hy3d-scm-1.rockspec %s/src/")
      :format(work, work)))
    local ok, out = sandbox.run(
      ("cd %s/src && luarocks --lua-version=%s make --deps-mode=none --tree=%s/tree hy3d-scm-1.rockspec")
      :format(work, version, work))
    assert.is_true(ok, out)
    assert.matches("hy3d scm%-1 is now installed", out)
    local tree = work .. "/tree"
    local env = ("LUA_PATH='%s/share/lua/%s/?.lua;%s/share/lua/%s/?/init.lua;;' LUA_CPATH='%s/lib/lua/%s/?.so;;'")
      :format(tree, version, tree, version, tree, version)
    local probe = [[local h = require "hy3d"; io.write(h._VERSION, " ", package.searchpath("hy3d.core", package.cpath))]]
    ok, out = sandbox.run(("%s %s -e %s"):format(env, sandbox.lua(), sandbox.shell_quote(probe)))
    assert.is_true(ok, out)
    assert.equal("0.1.0 " .. tree .. "/lib/lua/" .. version .. "/hy3d/core.so", out)
    ok, out = sandbox.run(("%s %s/bin/hy3d-sandbox --help"):format(env, tree))
    assert.is_true(ok, out)
    assert.matches("usage: hy3d%-sandbox", out)
    os.execute("rm -rf " .. work)
  end)
end)
