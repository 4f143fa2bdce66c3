-- One version everywhere: src/hy3d.h's HY3D_VERSION is the source; the C core, the Lua layer, the
-- sandbox, `hy3d --version`, the release rockspecs (beside the scm ones) and CHANGELOG.md's latest release all say
-- the same.
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
    assert.equal("0.4.0", VERSION)      -- the release CHANGELOG.md heads (a release changes both)
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

  -- Each rock's release rockspec, <package>-VERSION-1.rockspec (its source at tag vVERSION), beside its
  -- scm one (<package>-scm-1.rockspec: version scm-1, the main branch, no tag), and no other rockspec.
  for _, rock in ipairs { { dir = ".", package = "hy3d" }, { dir = "sandbox", package = "hy3d-sandbox" } } do
    it(("is %s's release rockspec's, beside its scm one"):format(rock.package), function()
      local p = assert(io.popen("cd " .. rock.dir .. " && ls *.rockspec"))
      local names = {}
      for name in p:lines() do names[#names + 1] = name end
      p:close()
      assert.same({ rock.package .. "-" .. VERSION .. "-1.rockspec", rock.package .. "-scm-1.rockspec" }, names)
      local specs = {}
      for i, name in ipairs(names) do
        local spec = {}
        local chunk = assert((loadstring or load)(read(rock.dir .. "/" .. name), "=" .. name, "t", spec))
        if setfenv then setfenv(chunk, spec) end
        chunk()
        assert.equal(rock.package, spec.package)
        specs[i] = spec
      end
      assert.equal(VERSION .. "-1", specs[1].version)
      assert.equal("v" .. VERSION, specs[1].source.tag)
      assert.is_nil(specs[1].source.branch)
      assert.equal("scm-1", specs[2].version)
      assert.is_nil(specs[2].source.tag)
      assert.equal("main", specs[2].source.branch)
    end)
  end

  it("heads CHANGELOG.md's releases, below an Unreleased section", function()
    local log = read("CHANGELOG.md")
    local first = log:match("\n## %[([^%]]+)%]")
    assert.equal("Unreleased", first)
    local release, date = log:match("\n## %[(%d[^%]]*)%] %- (%d%d%d%d%-%d%d%-%d%d)\n")
    assert.equal(VERSION, release)
    assert.truthy(date, "the release's heading has its date: ## [" .. VERSION .. "] - YYYY-MM-DD")
    -- the link definitions at the end: Unreleased compares from this release's tag, which has its own
    local v = VERSION:gsub("%p", "%%%0")
    assert.matches("\n%[Unreleased%]: [^\n]+/compare/v" .. v .. "%.%.%.HEAD\n", log)
    assert.matches("\n%[" .. v .. "%]: [^\n]+v" .. v .. "\n", log)
  end)
end)
