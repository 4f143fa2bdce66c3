-- The editor types (types/library/hy3d.lua, LuaLS; types/hy3d.d.tl, Teal) name exactly the public API and options of the code.
-- Always runs: the LuaLS file loads as Lua, the Teal file is scanned for its records, and both are
-- compared with the live tables (spec/support/public_api.lua): a public function, option, door,
-- site, error kind or built-in family without its type entry fails, and so does a type entry the
-- code no longer has. The real checkers (`tl check`, `lua-language-server --check`) run when they
-- are on PATH (HY3D_TL, HY3D_LUALS name others) and are pending with the reason when not: Debian
-- packages neither.
local sandbox = require "spec.support.sandbox"
local public_api = require "spec.support.public_api"

local LUALS_FILE = "types/library/hy3d.lua"
local TEAL_FILE = "types/hy3d.d.tl"
local q = sandbox.shell_quote

-- The record (Teal) and class (LuaLS, "hy3d." before it) of each method's options table.
local OPTION_RECORD = {
  new = "Options", submit = "SubmitOptions", query = "QueryOptions", wait = "WaitOptions",
  download = "DownloadOptions", download_files = "DownloadFilesOptions", generate = "GenerateOptions",
  image = "ImageOptions",
}

-- ===== reading the LuaLS file =====

-- The type at the start of an annotation's rest, without the description after it: brackets
-- balanced, and a space inside `fun(...): r` or `a | b` kept.
local function type_token(rest)
  local depth, i = 0, 1
  while i <= #rest do
    local ch = rest:sub(i, i)
    if ch:match("[%(%[{<]") then depth = depth + 1
    elseif ch:match("[%)%]}>]") then depth = depth - 1
    elseif ch:match("%s") and depth == 0 and not rest:sub(1, i - 1):match("[:|,]$") then break end
    i = i + 1
  end
  return rest:sub(1, i - 1)
end

-- Its classes: name -> { fields = { name -> { type =, optional = } }, functions = set,
-- params = { fn -> { name -> type } } }, and its aliases: name -> list of members.
local function read_luals(text)
  local classes, aliases, var_class = {}, {}, {}
  local class, alias, params = nil, nil, {}
  for line in (text .. "\n"):gmatch("(.-)\n") do
    local cname = line:match("^%-%-%-@class%s+([%w_.]+)")
    local aname, arest = line:match("^%-%-%-@alias%s+([%w_.]+)%s*(.*)$")
    if cname then
      class = { fields = {}, functions = {}, params = {} }
      classes[cname] = class
      class.name, alias = cname, nil
    elseif aname then
      alias = {}
      aliases[aname] = alias
      for lit in arest:gmatch('"([^"]*)"') do alias[#alias + 1] = lit end
      if arest:match("^string") or arest:match("|string") then alias[#alias + 1] = "string" end
    elseif alias and line:match("^%-%-%-|") then
      alias[#alias + 1] = line:match('^%-%-%-|%s*"([^"]*)"') or line:match("^%-%-%-|%s*([%w_.]+)")
    else
      local fname, opt, ftype = line:match("^%-%-%-@field%s+([%w_]+)(%??)%s+(%S.*)$")
      local pname, popt, ptype = line:match("^%-%-%-@param%s+([%w_.]+)(%??)%s+(%S.*)$")
      local var = line:match("^local%s+([%w_]+)%s*=%s*{}")
      local owner, fn = line:match("^function%s+([%w_]+)[.:]([%w_]+)%s*%(")
      if fname and class then
        class.fields[fname] = { type = type_token(ftype), optional = opt == "?" }
      elseif pname then                           -- the ---@param lines of the next function
        params[pname] = { type = type_token(ptype), optional = popt == "?" }
      elseif var and class then
        var_class[var] = class
      elseif owner then
        local c = assert(var_class[owner], ("%s: function %s.%s before its class"):format(LUALS_FILE, owner, fn))
        c.functions[fn] = true
        c.params[fn] = params
        params = {}
      end
    end
  end
  return classes, aliases
end

-- What a LuaLS type is at run time: string, number, boolean, function or table (nil: unknown).
local function luals_kind(t, aliases)
  t = t:gsub("%?$", "")
  if t:match("^fun%(") then return "function" end
  if t:match("%[%]$") or t:match("^table") or t:match("^{") then return "table" end
  if t == "number" or t == "integer" then return "number" end
  if t == "boolean" then return "boolean" end
  if t == "string" or t:match('^"') then return "string" end
  local members = aliases[t]
  if members then
    for _, m in ipairs(members) do
      if m ~= "string" and not m:match("^[%w_]+$") then return nil end
    end
    return "string"
  end
  return nil
end

-- ===== reading the Teal file =====

-- Its records, interfaces and enums: name -> { kind = "record" | "interface" | "enum", fields =
-- { name -> type text }, values = set (an enum's) }, its type aliases (name -> type), and an error
-- message when the nesting does not balance.
local function read_teal(text)
  local decls, types, stack = {}, {}, {}
  local n = 0
  for line in (text .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    local code = line:gsub("%-%-.*$", "")
    local kind, name = code:match("^%s*local%s+(record)%s+([%w_]+)")
    if not kind then kind, name = code:match("^%s*(record)%s+([%w_]+)") end
    if not kind then kind, name = code:match("^%s*(interface)%s+([%w_]+)") end
    if not kind then kind, name = code:match("^%s*(enum)%s+([%w_]+)") end
    local top = stack[#stack]
    if kind then
      local d = { kind = kind, fields = {}, values = {}, line = n }
      decls[name] = d
      stack[#stack + 1] = d
    elseif code:match("^%s*end%s*$") then
      if not top then return nil, nil, ("%s:%d: `end` closes nothing"):format(TEAL_FILE, n) end
      stack[#stack] = nil
    elseif top and top.kind == "enum" then
      for v in code:gmatch('"([^"]*)"') do top.values[v] = true end
    elseif top then
      local alias, def = code:match("^%s*type%s+([%w_]+)%s*=%s*(.-)%s*$")
      local field, ftype = code:match("^%s*([%w_]+)%s*:%s*(.-)%s*$")
      if alias then types[alias] = def
      elseif field and not code:match("^%s*metamethod%s") then top.fields[field] = ftype end
    end
  end
  if #stack > 0 then return nil, nil, ("%s: %d record(s) not closed"):format(TEAL_FILE, #stack) end
  return decls, types
end

-- What a Teal type is at run time, like luals_kind.
local function teal_kind(t, decls, types)
  t = types[t] or t
  if t:match("^function") then return "function" end
  if t:match("^{") then return "table" end
  if t == "number" or t == "integer" then return "number" end
  if t == "boolean" or t == "string" then return t end
  if decls[t] and decls[t].kind == "enum" then return "string" end
  return nil
end

-- ===== helpers =====

local function read(path)
  return assert(sandbox.read_file(path), path .. " is missing")
end

-- Fails naming every name of `want` that `have` lacks, and every public name (not "_…", such as
-- _VERSION, typed but not counted) of `have` that `want` lacks.
local function same_names(want, have, what)
  local missing, extra = {}, {}
  for k in pairs(want) do if not have[k] then missing[#missing + 1] = k end end
  for k in pairs(have) do
    if not want[k] and k:sub(1, 1) ~= "_" then extra[#extra + 1] = k end
  end
  table.sort(missing)
  table.sort(extra)
  assert(#missing == 0, ("%s lacks %s (the code has them): add them"):format(what, table.concat(missing, ", ")))
  assert(#extra == 0, ("%s names %s, which the code does not have: remove them"):format(what, table.concat(extra, ", ")))
end

local function keys(t)
  local set = {}
  for k in pairs(t) do set[k] = true end
  return set
end

local function functions_of(decl)
  local set = {}
  for k, t in pairs(decl.fields) do if t:match("^function") then set[k] = true end end
  return set
end

local function values_of(decl)
  local set = {}
  for k, t in pairs(decl.fields) do if not t:match("^function") then set[k] = true end end
  return set
end

local function list_set(list)
  local set = {}
  for _, v in ipairs(list or {}) do set[v] = true end
  return set
end

-- A command on PATH (or the one an environment variable names), or nil.
local function tool(env, name)
  local cmd = os.getenv(env)
  if cmd and cmd ~= "" then return cmd end
  if sandbox.run("command -v " .. name .. " >/dev/null 2>&1") then return name end
  return nil
end

describe("the editor types", function()
  local api = public_api.read()
  local luals_text, teal_text = read(LUALS_FILE), read(TEAL_FILE)
  local classes, aliases = read_luals(luals_text)
  local decls, teal_types, teal_err = read_teal(teal_text)

  describe("for LuaLS (" .. LUALS_FILE .. ")", function()
    it("is a Lua file with its header, marked ---@meta hy3d, that returns the module's class", function()
      assert(loadfile(LUALS_FILE))
      assert.matches("^%-%- types/library/hy3d%.lua: [^\n]+\n%-%-%-@meta hy3d\n", luals_text)
      assert.matches("\nreturn hy3d\n$", luals_text)
      assert.is_table(classes.hy3d, "the class hy3d")
    end)

    it("names every public function and value of the module hy3d", function()
      same_names(api.module_functions, classes.hy3d.functions, LUALS_FILE .. "'s functions of hy3d")
      same_names(api.module_values, keys(classes.hy3d.fields), LUALS_FILE .. "'s fields of hy3d")
    end)

    it("names every public method and field of hy3d.Client, hy3d.Task, hy3d.kinds and hy3d.Error", function()
      local client = assert(classes["hy3d.Client"], "class hy3d.Client")
      same_names(api.client_methods, client.functions, LUALS_FILE .. "'s methods of hy3d.Client")
      same_names(api.client_fields, keys(client.fields), LUALS_FILE .. "'s fields of hy3d.Client")
      same_names(api.task_methods, assert(classes["hy3d.Task"]).functions, LUALS_FILE .. "'s methods of hy3d.Task")
      same_names(api.kinds_functions, assert(classes["hy3d.Kinds"]).functions, LUALS_FILE .. "'s hy3d.Kinds")
      local module = assert(classes["hy3d.ErrorModule"], "class hy3d.ErrorModule")
      same_names(api.error_functions, module.functions, LUALS_FILE .. "'s functions of hy3d.ErrorModule")
      same_names(api.error_values, keys(module.fields), LUALS_FILE .. "'s fields of hy3d.ErrorModule")
      assert.is_table(classes["hy3d.Error"], "class hy3d.Error (an error value)")
      for _, f in ipairs { "kind", "code", "message", "hint", "retryable", "http_status", "request_id", "job_id" } do
        assert(classes["hy3d.Error"].fields[f], "hy3d.Error lacks the field " .. f)
      end
    end)

    it("names every option of hy3d.new and of each method, optional, with the type the code checks", function()
      for method, types in pairs(api.options) do
        local cname = "hy3d." .. assert(OPTION_RECORD[method],
          ("options.methods.%s is new: give it a record in OPTION_RECORD (this spec) and in both type files"):format(method))
        local class = assert(classes[cname], LUALS_FILE .. " has no class " .. cname)
        same_names(types, keys(class.fields), LUALS_FILE .. "'s " .. cname)
        for name, want in pairs(types) do
          local f = class.fields[name]
          assert(f.optional, ("%s.%s must be optional (%s?)"):format(cname, name, name))
          assert.equal(want, luals_kind(f.type, aliases), ("%s.%s is a %s in the code, %s here"):format(
            cname, name, want, f.type))
        end
      end
    end)

    it("types the opts parameter of each method with its options class, so editors complete the names", function()
      for method in pairs(api.options) do
        local class = "hy3d." .. OPTION_RECORD[method]
        local owners = method == "new" and { "hy3d" } or method == "image" and { "hy3d" }
          or { "hy3d.Client", "hy3d" }
        local fn = method == "image" and "image" or method
        for _, owner in ipairs(owners) do
          local p = classes[owner].params[fn]
          assert(p and p.opts, ("%s's %s has no ---@param opts?"):format(owner, fn))
          assert.equal(class, p.opts.type, owner .. "." .. fn .. "'s opts")
          assert.is_true(p.opts.optional, owner .. "." .. fn .. "'s opts is optional")
        end
      end
      assert.equal("hy3d.ImageOptions", classes.hy3d.params.views.opts.type)
      assert.equal("string|hy3d.JobParams", classes["hy3d.Client"].params.generate.params.type)
    end)

    it("lists the doors, sites, error kinds and built-in job families the code has", function()
      same_names(api.doors, list_set(aliases["hy3d.Door"]), LUALS_FILE .. "'s alias hy3d.Door")
      same_names(api.sites, list_set(aliases["hy3d.Site"]), LUALS_FILE .. "'s alias hy3d.Site")
      same_names(api.error_kinds, list_set(aliases["hy3d.ErrorKind"]), LUALS_FILE .. "'s alias hy3d.ErrorKind")
      local kinds = list_set(aliases["hy3d.Kind"])
      assert(kinds.string, "hy3d.Kind takes any string too (hy3d.kinds.register)")
      kinds.string = nil
      same_names(api.families, kinds, LUALS_FILE .. "'s alias hy3d.Kind")
    end)
  end)

  describe("for Teal (" .. TEAL_FILE .. ")", function()
    it("has its header, balanced records, and returns the record hy3d", function()
      assert.is_nil(teal_err)
      assert.matches("^%-%- types/hy3d%.d%.tl: ", teal_text)
      assert.matches("\nlocal record hy3d\n", teal_text)
      assert.matches("\nreturn hy3d\n$", teal_text)
    end)

    it("names every public function and value of hy3d, hy3d.Client, its Task, kinds and Error module", function()
      same_names(api.module_functions, functions_of(decls.hy3d), TEAL_FILE .. "'s functions of hy3d")
      same_names(api.module_values, values_of(decls.hy3d), TEAL_FILE .. "'s values of hy3d")
      same_names(api.client_methods, functions_of(decls.Client), TEAL_FILE .. "'s methods of Client")
      same_names(api.client_fields, values_of(decls.Client), TEAL_FILE .. "'s fields of Client")
      same_names(api.task_methods, functions_of(decls.Task), TEAL_FILE .. "'s methods of Task")
      same_names(api.kinds_functions, functions_of(decls.Kinds), TEAL_FILE .. "'s Kinds")
      same_names(api.error_functions, functions_of(decls.ErrorModule), TEAL_FILE .. "'s ErrorModule")
      same_names(api.error_values, values_of(decls.ErrorModule), TEAL_FILE .. "'s values of ErrorModule")
      for name in pairs(api.client_methods) do
        assert.matches("^function%(self: Client[,)]", decls.Client.fields[name], "Client." .. name .. " is a method")
      end
    end)

    it("names every option of hy3d.new and of each method, with the type the code checks", function()
      for method, types in pairs(api.options) do
        local rname = assert(OPTION_RECORD[method], "options.methods." .. method .. " is new: give it a record")
        local rec = assert(decls[rname], TEAL_FILE .. " has no record " .. rname)
        same_names(types, keys(rec.fields), TEAL_FILE .. "'s record " .. rname)
        for name, want in pairs(types) do
          assert.equal(want, teal_kind(rec.fields[name], decls, teal_types), ("%s.%s is a %s in the code, %s here"):format(
            rname, name, want, rec.fields[name]))
        end
        local fn = method == "image" and decls.hy3d.fields.image or method == "new" and decls.hy3d.fields.new
          or decls.Client.fields[method]
        assert.matches("opts%?: " .. rname .. "%)", fn, rname .. " types the opts of " .. method)
      end
    end)

    it("lists the doors, sites and error kinds the code has", function()
      same_names(api.doors, decls.Door.values, TEAL_FILE .. "'s enum Door")
      same_names(api.sites, decls.Site.values, TEAL_FILE .. "'s enum Site")
      same_names(api.error_kinds, decls.ErrorKind.values, TEAL_FILE .. "'s enum ErrorKind")
    end)
  end)

  describe("the spec's own readers", function()
    it("see a missing option, an unbalanced record and a wrong type", function()
      local c = read_luals("---@class hy3d.X\n---@field a? string\n---@field b? fun(x: number)\nlocal X = {}\n"
        .. "---@param opts? hy3d.X\nfunction X:f(opts) end\n")
      assert.same({ a = true, b = true }, keys(c["hy3d.X"].fields))
      assert.equal("function", luals_kind(c["hy3d.X"].fields.b.type, {}))
      assert.equal("hy3d.X", c["hy3d.X"].params.f.opts.type)
      assert.has_error(function() same_names({ a = true, c = true }, { a = true }, "X") end)
      assert.has_error(function() same_names({ a = true }, { a = true, z = true }, "X") end)
      local _, _, err = read_teal("local record hy3d\n   record A\n      x: number\nend\n")
      assert.matches("not closed", err)
      local d = read_teal("local record hy3d\n   enum E\n      \"a\" \"b\"\n   end\n   f: function(x: E): E\nend\n")
      assert.same({ a = true, b = true }, d.E.values)
      assert.equal("function", teal_kind(d.hy3d.fields.f, d, {}))
      assert.equal("string", teal_kind("E", d, {}))
    end)
  end)

  describe("checked by the real tools", function()
    local dir = "spec/tooling/types"

    it("tl check: the declarations type-check, a user's program too, and a misspelt option fails", function()
      local tl = tool("HY3D_TL", "tl")
      if not tl then
        pending("tl (Teal) is not on PATH (Debian does not package it; `luarocks install tl`, or set HY3D_TL)")
        return
      end
      local ok, out = sandbox.run(tl .. " check " .. q(TEAL_FILE))
      assert(ok, out)
      ok, out = sandbox.run(tl .. " check -I types " .. q(dir .. "/usage.tl"))
      assert(ok, out)
      ok, out = sandbox.run(tl .. " check -I types " .. q(dir .. "/misspelt.tl"))
      assert.is_false(ok, out)
      assert.matches("unknown field api_kye", out)
      assert.matches("unknown field format\n", out)
      assert.matches("timeout: got string", out)
    end)

    it("lua-language-server --check: a user's program against the definitions has no warning", function()
      local luals = tool("HY3D_LUALS", "lua-language-server")
      if not luals then
        pending("lua-language-server is not on PATH (neither Debian nor npm packages it; see "
          .. "https://luals.github.io, or set HY3D_LUALS)")
        return
      end
      local work = sandbox.tmpdir()
      local root = assert(os.getenv("PWD"))
      assert(sandbox.run(("cp %s %s/usage.lua"):format(q(dir .. "/usage.lua"), q(work))))
      sandbox.write_file(work .. "/.luarc.json", ('{ "workspace.library": [%q], "runtime.version": "Lua 5.4" }')
        :format(root .. "/types/library"))
      local ok, out = sandbox.run(("%s --check %s --checklevel=Warning --logpath %s"):format(luals, q(work),
        q(work .. "/log")))
      assert(ok, out)
      assert.matches("no problems found", out:lower())
      assert(sandbox.run(("cp %s %s/usage.lua"):format(q(dir .. "/misspelt.lua"), q(work))))
      out = select(2, sandbox.run(("%s --check %s --checklevel=Warning --logpath %s"):format(luals, q(work),
        q(work .. "/log"))))
      assert.is_nil(out:lower():match("no problems found"), out)
      os.execute("rm -rf " .. q(work))
    end)
  end)
end)
