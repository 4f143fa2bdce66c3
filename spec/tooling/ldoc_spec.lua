-- `make doc` (LDoc, config.ld) writes an API reference with every public function of hy3d, hy3d.Client, hy3d.Error.
-- Each with its parameters and returns. The names come from the code (spec/support/public_api.lua),
-- never from a list here: a new public function without its `---` comment and tags fails, and so does
-- a documented one the code lost.
-- LDoc itself fails `make doc` on any warning (mk/doc.mk). Pending when ldoc is not installed
-- (DEPS_TEST installs lua-ldoc).
local sandbox = require "spec.support.sandbox"
local public_api = require "spec.support.public_api"

local ROOT = assert(os.getenv("PWD"))
local q = sandbox.shell_quote

-- The functions that return nothing, so have no Returns section (each with the reason).
local NO_RETURN = {
  sleep = "it pauses, nothing more",
  ["hy3d.Client:close"] = "it closes the client; what it returns is not part of the API",
}

-- The entries of an LDoc page: name -> { signature = args text or nil, params = { name -> described },
-- returns = bool }.
local function entries(html)
  local list = {}
  for name, body in html:gmatch('<a name = "([^"]+)"></a>(.-)</dd>') do
    local sig = body:match("<strong>[^<(]-%s*%((.-)%)</strong>")
    local params = {}
    -- a parameter counts when the tags gave it a type or words (LDoc lists an untagged one bare)
    for p, rest in body:gmatch('<li><span class="parameter">([^<]+)</span>(.-)</li>') do
      params[p] = rest:match("%S") ~= nil
    end
    list[name] = { signature = sig, params = params, returns = body:find("<h3>Returns:</h3>", 1, true) ~= nil,
                   body = body }
  end
  return list
end

-- The argument names in an LDoc signature such as "url, path[, opts]" or "fn, ...".
local function args_of(sig)
  local list = {}
  for a in sig:gsub("[%[%]]", ""):gmatch("[^,%s]+") do
    if a ~= "..." then list[#list + 1] = a end
  end
  return list
end

describe("make doc (LDoc)", function()
  if not sandbox.run("command -v ldoc >/dev/null 2>&1") then
    pending("ldoc is not installed (Debian/Ubuntu: apt-get install lua-ldoc; make deps-test installs it)")
    return
  end

  local api = public_api.read()
  local dir, pages

  setup(function()
    dir = sandbox.tmpdir()
    local ok, out = sandbox.run(("cd %s && make -s --no-print-directory doc DOC_DIR=%s"):format(q(ROOT), q(dir .. "/html")))
    assert(ok, "make doc failed:\n" .. out)
    pages = {}
    for key, path in pairs { hy3d = "modules/hy3d.html", client = "classes/hy3d.Client.html",
                             error = "modules/hy3d.Error.html" } do
      local html = assert(sandbox.read_file(dir .. "/html/" .. path), "make doc did not write " .. path)
      pages[key] = { html = html, entries = entries(html) }
    end
  end)

  teardown(function()
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  -- Every name of `set` (mapped by `entry_name`) has an entry on the page, with each argument of its
  -- signature described and a Returns section; and the page documents no function the code lacks.
  local function documents(page, set, entry_name, what)
    local wanted = {}
    for _, name in ipairs(public_api.sorted(set)) do
      local id = entry_name(name)
      wanted[id] = true
      local e = page.entries[id]
      assert(e, ("%s: the reference has no entry for %s (give it a --- comment with @tparam/@treturn tags)"):format(
        what, id))
      assert(e.signature, id .. " is documented as a function")
      for _, arg in ipairs(args_of(e.signature)) do
        assert(e.params[arg], ("%s: parameter %s of %s has no @param/@tparam"):format(what, arg, id))
      end
      assert(e.returns or NO_RETURN[id], ("%s: %s has no @return/@treturn"):format(what, id))
    end
    return wanted
  end

  it("documents every public function of the module hy3d (and hy3d.kinds, the Task)", function()
    local p = pages.hy3d
    local wanted = documents(p, api.module_functions, function(n) return n end, "hy3d")
    for k, v in pairs(documents(p, api.kinds_functions, function(n) return "kinds." .. n end, "hy3d.kinds")) do
      wanted[k] = v
    end
    for k, v in pairs(documents(p, api.task_methods, function(n) return "Task:" .. n end, "hy3d.Task")) do
      wanted[k] = v
    end
    for id, e in pairs(p.entries) do
      assert(not e.signature or wanted[id], id .. " is documented but the code has no such public function")
    end
  end)

  it("documents every value of the module hy3d as a field", function()
    local fields = pages.hy3d.entries.hy3d
    assert(fields, "the table hy3d (its fields)")
    for name in pairs(api.module_values) do
      assert(fields.params[name], "hy3d." .. name .. " is not among the documented fields")
    end
  end)

  it("documents every public method of hy3d.Client, download.lua's merged in", function()
    local p = pages.client
    local wanted = documents(p, api.client_methods, function(n) return "hy3d.Client:" .. n end, "hy3d.Client")
    for id, e in pairs(p.entries) do
      assert(not e.signature or wanted[id], id .. " is documented but hy3d.Client has no such public method")
    end
    assert.matches("hy3d%.Client:generate %(params%[, opts%]%)", p.html)
  end)

  it("documents every public function and value of hy3d.Error", function()
    local p = pages.error
    local wanted = documents(p, api.error_functions, function(n) return n end, "hy3d.Error")
    for name in pairs(api.error_values) do
      assert(p.entries[name], "hy3d.Error." .. name .. " is not documented")
      wanted[name] = true
    end
    for id, e in pairs(p.entries) do
      assert(id == "hy3d.Error" or wanted[id], id .. " is documented but hy3d.Error has no such public name")
      assert(e)
    end
  end)

  it("links the three pages from its index", function()
    local index = assert(sandbox.read_file(dir .. "/html/index.html"))
    for _, href in ipairs { "modules/hy3d.html", "classes/hy3d.Client.html", "modules/hy3d.Error.html" } do
      assert(index:find(href, 1, true), "index.html links " .. href)
    end
  end)
end)
