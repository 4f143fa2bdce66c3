-- The library's Lua modules require only modules below them: the graph of their require()s is acyclic and matches the layers.
-- Read from the sources (every require of a literal name, at any place in the file), so a lazy
-- require inside a function counts as much as one at the top. hy3d.cli and hy3d.sandbox are
-- products of their own and are left out.

-- Each library module and its layer: a module may require only modules of a lower layer, or of
-- its own layer when listed in SIDEWAYS (the edges inside a layer, which must stay acyclic).
local LAYER = {
  ["hy3d.core"] = 0, ["hy3d.doors.tokenhub"] = 0, ["hy3d.doors.local"] = 0, ["hy3d.doors.mps"] = 0,
  ["hy3d.doors"] = 1, ["hy3d.retry"] = 1, ["hy3d.validate"] = 1, ["hy3d.files"] = 1, ["hy3d.scheduler"] = 1,
  ["hy3d.sites"] = 2, ["hy3d.error"] = 2,
  ["hy3d.hosts.tarantool"] = 3,
  ["hy3d.options"] = 3, ["hy3d.families"] = 3, ["hy3d.jobs"] = 3,
  ["hy3d.hosts.ngx"] = 3, ["hy3d.hosts.love"] = 3,
  ["hy3d.transport"] = 4, ["hy3d.slots"] = 4, ["hy3d.credits"] = 4, ["hy3d.image"] = 4, ["hy3d.loop"] = 4,
  ["hy3d.cache"] = 4,
  ["hy3d.mesh"] = 0, ["hy3d.inspect"] = 4,
  ["hy3d.download"] = 5, ["hy3d.chain"] = 5,
  ["hy3d.client"] = 6, ["hy3d.batch"] = 6,
  ["hy3d.gallery"] = 4,
  ["hy3d"] = 7,
}

-- The edges allowed inside a layer: the local door module uses the C core (its streaming
-- decoders), beside it at the bottom; hy3d.doors, one layer up, lists the door modules.
local SIDEWAYS = {
  ["hy3d.doors.local"] = { ["hy3d.core"] = true },
}

local FILE = { ["hy3d"] = "lua/hy3d/init.lua" }
local function file_of(name)
  return FILE[name] or ("lua/" .. name:gsub("%.", "/") .. ".lua")
end

-- The hy3d modules a source file requires, as a set (comments left out: a header may name a
-- require it does not make).
local function requires_of(path)
  local f = assert(io.open(path, "rb"))
  local src = f:read("*a"):gsub("%-%-%[(=*)%[.-%]%1%]", ""):gsub("%-%-[^\n]*", "")
  f:close()
  local set = {}
  for _, pattern in ipairs { "require%s*%(?%s*[\"']([%w_%.]+)[\"']", "require%s*%[%[([%w_%.]+)%]%]" } do
    for name in src:gmatch(pattern) do
      if name == "hy3d" or name:match("^hy3d%.") then set[name] = true end
    end
  end
  return set
end

describe("the library's require order", function()
  local graph = {}
  setup(function()
    for name in pairs(LAYER) do
      if name ~= "hy3d.core" and name ~= "hy3d.mesh" then graph[name] = requires_of(file_of(name)) end
    end
  end)

  it("covers every library module in lua/hy3d/, doors/ and hosts/ (a new module must take a layer)", function()
    local p = assert(io.popen("ls lua/hy3d/*.lua lua/hy3d/doors/*.lua lua/hy3d/hosts/*.lua"))
    for path in p:lines() do
      local name = path:match("^lua/hy3d/(.-)%.lua$"):gsub("/", ".")
      name = name == "init" and "hy3d" or ("hy3d." .. name)
      if name ~= "hy3d.cli" then assert.is_not_nil(LAYER[name], name .. " has no layer in this spec") end
    end
    p:close()
  end)

  it("has every require point down a layer, and none at the CLI or the emulator", function()
    for name, deps in pairs(graph) do
      for dep in pairs(deps) do
        local product = dep == "hy3d.cli" or dep:match("^hy3d%.cli%.") or dep:match("^hy3d%.sandbox")
        assert.is_falsy(product, name .. " requires " .. dep)
        assert.is_not_nil(LAYER[dep], name .. " requires " .. dep .. ", which is no library module")
        local sideways = SIDEWAYS[name] and SIDEWAYS[name][dep]
        assert.is_true(LAYER[dep] < LAYER[name] or sideways == true,
          ("%s (layer %d) requires %s (layer %d)"):format(name, LAYER[name], dep, LAYER[dep]))
      end
    end
  end)

  it("is acyclic", function()
    local state = {}
    local function visit(name, path)
      if state[name] == "done" then return end
      assert.is_not.equal("open", state[name], "cycle: " .. table.concat(path, " -> ") .. " -> " .. name)
      state[name] = "open"
      path[#path + 1] = name
      for dep in pairs(graph[name] or {}) do visit(dep, path) end
      path[#path] = nil
      state[name] = "done"
    end
    for name in pairs(graph) do visit(name, {}) end
  end)

  it("keeps the arrows the redesign straightened", function()
    assert.is_nil(graph["hy3d.image"]["hy3d.client"])           -- image needs options only
    assert.is_nil(graph["hy3d.client"]["hy3d"])                 -- no hidden cycle through the face
    assert.is_nil(graph["hy3d.scheduler"]["hy3d.client"])
    assert.is_true(graph["hy3d"]["hy3d.client"])
    assert.is_true(graph["hy3d.client"]["hy3d.transport"])
  end)
end)
