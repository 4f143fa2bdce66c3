-- One version everywhere: src/hy3d.h's HY3D_VERSION is the source; the C core, the Lua layer, the
-- sandbox, `hy3d --version`, the rockspec and CHANGELOG.md's latest release all say the same.
local core = require "hy3d.core"
local sandbox = require "spec.support.sandbox"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- The version the C define says (the one place a release changes it, with the rockspec's name).
local VERSION = assert(read("src/hy3d.h"):match('#define HY3D_VERSION "([^"]+)"'), "no HY3D_VERSION in src/hy3d.h")

describe("the version", function()
  it("is a semantic version in src/hy3d.h", function()
    assert.matches("^%d+%.%d+%.%d+$", VERSION)
    assert.equal("0.3.0", VERSION)      -- the first version all the parts agree on (see CHANGELOG.md)
  end)

  it("is the C core's hy3d.core._VERSION and the Lua layer's hy3d._VERSION", function()
    assert.equal(VERSION, core._VERSION)
    assert.equal(VERSION, require("hy3d")._VERSION)
    assert.matches('\nlocal VERSION = "' .. VERSION:gsub("%p", "%%%0") .. '"[ \n]', read("lua/hy3d/init.lua"))
  end)

  it("is what the sandbox reports, on its first lines and at /", function()
    local sb = sandbox.start()
    local code, body = sb:raw("GET", "/")
    assert.equal(200, code)
    assert.equal(VERSION, body.version)
    assert.matches("\nhy3d%-sandbox " .. VERSION:gsub("%p", "%%%0") .. ": ", sandbox.read_file(sb.out))
    sb:stop()
  end)

  it("is what `hy3d --version` prints", function()
    local ok, out = sandbox.run(("%s %s bin/hy3d --version"):format(sandbox.lua_env(), sandbox.lua()))
    assert.is_true(ok, out)
    assert.matches("^hy3d " .. VERSION:gsub("%p", "%%%0") .. " %(", out)
  end)

  it("is the rockspec's: one rockspec, hy3d-VERSION-1.rockspec, whose version field says so", function()
    local p = assert(io.popen("ls *.rockspec"))
    local names = {}
    for name in p:lines() do names[#names + 1] = name end
    p:close()
    assert.same({ "hy3d-" .. VERSION .. "-1.rockspec" }, names)
    local spec = {}
    local chunk = assert((loadstring or load)(read(names[1]), "=" .. names[1], "t", spec))
    if setfenv then setfenv(chunk, spec) end
    chunk()
    assert.equal("hy3d", spec.package)
    assert.equal(VERSION .. "-1", spec.version)
    assert.equal("v" .. VERSION, spec.source.tag)
  end)

  it("heads CHANGELOG.md's releases, below an Unreleased section", function()
    local log = read("CHANGELOG.md")
    local first = log:match("\n## %[([^%]]+)%]")
    assert.equal("Unreleased", first)
    local release = log:match("\n## %[(%d[^%]]*)%]")
    assert.equal(VERSION, release)
  end)
end)
