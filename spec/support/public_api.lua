-- hy3d's public API as the code itself exposes it (for types_spec.lua and ldoc_spec.lua): the names, read from live tables.
-- Public means reachable by a user and not starting with "_" (metamethods, internals and _VERSION
-- are left out). Everything is read from the running library, never from a list kept here, so a
-- new function or option shows up in the specs that compare the type files and the generated docs.
local M = {}

local function sorted(set)
  local list = {}
  for k in pairs(set) do list[#list + 1] = k end
  table.sort(list)
  return list
end
M.sorted = sorted

local function public(name)
  return type(name) == "string" and name:sub(1, 1) ~= "_"
end

-- The public keys of t (and of what its metatable's __index table adds), split into functions and
-- other values: two sets.
local function split(t)
  local funcs, values = {}, {}
  local function add(src)
    for k, v in pairs(src) do
      if public(k) then
        if type(v) == "function" then funcs[k] = true else values[k] = true end
      end
    end
  end
  add(t)
  local mt = getmetatable(t)
  if mt and type(mt.__index) == "table" then add(mt.__index) end
  return funcs, values
end

--- Everything, as sets of names: module_functions, module_values (hy3d), client_methods,
-- client_fields (a client's own fields), task_methods, kinds_functions (hy3d.kinds' register,
-- list, get), error_functions and error_values (the module hy3d.Error), error_kinds, doors, sites,
-- families (the built-in ones); options: { new = set, <method> = set, ..., image = set } with the
-- type the code checks as each value (string, number, boolean, function, table).
function M.read()
  local hy3d = require "hy3d"
  local client = require "hy3d.client"
  local options = require "hy3d.options"
  local image = require "hy3d.image"
  local errors = require "hy3d.error"
  local doors = require "hy3d.doors"
  local sites = require "hy3d.sites"
  local api = {}
  api.module_functions, api.module_values = split(hy3d)
  -- hy3d.update_budget lives behind the module's metatable (__index is a function there)
  if hy3d.update_budget ~= nil then api.module_values.update_budget = true end
  api.client_methods = split(client.Client)
  api.client_fields = {}
  for _, opts in ipairs {                         -- a gateway client, and an API 3.0 one (region)
    { api_key = "sk-types-spec-0000", base_url = "http://127.0.0.1:9" },
    { secret_id = "AKIDtypesspec0000", secret_key = "types-spec-secret-0000", endpoint = "http://127.0.0.1:9" },
  } do
    local c = hy3d.new(opts)
    for k, v in pairs(c) do
      if public(k) and type(v) ~= "function" then api.client_fields[k] = true end
    end
    c:close()
  end
  local task = hy3d.spawn(function() end)
  api.task_methods = split(getmetatable(task).__index)
  hy3d.run()
  api.kinds_functions = split(getmetatable(hy3d.kinds).__index)
  api.error_functions, api.error_values = split(hy3d.Error)
  api.error_kinds = {}
  for k in pairs(errors.kinds) do api.error_kinds[k] = true end
  api.doors, api.sites, api.families = {}, {}, {}
  for _, n in ipairs(doors.names) do api.doors[n] = true end
  for _, n in ipairs(sites.names) do api.sites[n] = true end
  for _, n in ipairs(hy3d.kinds.list()) do
    if hy3d.kinds.get(n).builtin then api.families[n] = true end
  end
  api.options = { new = options.types }
  for method, types in pairs(options.methods) do api.options[method] = types end
  local img = {}
  for k, v in pairs(image.limits.single) do img[k] = type(v) end
  api.options.image = img
  return api
end

return M
