-- hy3d.sandbox.families: job families served beside the catalogue's, configured at run time (an announced
-- Submit/Describe pair, such as SubmitCharacterToAnimationJob, before hy3d-sandbox knows it): the `families`
-- option, `--family NAME=SUBMIT,QUERY[,TYPE...]` and POST /_sandbox/families. Such a family takes any JSON
-- object (no rules known), runs WAIT -> RUN -> DONE like the others and returns the file types it was given
-- (default FBX). Methods of the sandbox object (action_of, add_family, ...); depends on actions only.
local actions = require "hy3d.sandbox.actions"

local format = string.format

local DEFAULT_RESULTS = { "FBX" }
local FIELDS = { name = true, submit = true, query = true, results = true }

-- The file types a family may return, for messages.
local function type_names()
  local list = {}
  for t in pairs(actions.FILE_NAMES) do list[#list + 1] = t end
  table.sort(list)
  return table.concat(list, ", ")
end

--- Parses "NAME=SUBMIT,QUERY[,TYPE...]" into { name, submit, query, results }, or nil, message.
local function parse(spec)
  local name, list = tostring(spec):match("^%s*([^=%s]+)%s*=%s*(.-)%s*$")
  if not name then return nil, "a family is NAME=SUBMIT,QUERY[,TYPE...], e.g. animation=SubmitXJob,DescribeXJob" end
  local items = {}
  for item in list:gmatch("[^,%s]+") do items[#items + 1] = item end
  if #items < 2 then return nil, format("family %s needs its Submit and its Query/Describe action", name) end
  local def = { name = name, submit = items[1], query = items[2] }
  if #items > 2 then
    def.results = {}
    for k = 3, #items do def.results[#def.results + 1] = items[k]:upper() end
  end
  return def
end

local Sandbox = {}

--- The action called `name`: one of the catalogue's, or of a family configured at run time; nil for none.
function Sandbox:action_of(name)
  local extra = self.extra_actions
  return actions.ACTIONS[name] or (extra and extra[name]) or nil
end

--- Adds a family { name, submit, query, results = { TYPE, ... } } (from_control: added through
-- /_sandbox/families, dropped by /_sandbox/reset). Returns the family, or nil and a message.
function Sandbox:add_family(def, from_control)
  if type(def) ~= "table" then return nil, "a family is an object { name, submit, query, results }" end
  for k in pairs(def) do
    if not FIELDS[k] then return nil, format("a family has name, submit, query and results, not %s", tostring(k)) end
  end
  local name = def.name
  if type(name) ~= "string" or not name:match("^[a-z][a-z0-9_]*$") or #name > 64 then
    return nil, "a family's name is a lowercase identifier (a-z, then a-z, 0-9, _)"
  end
  if actions.FAMILIES[name] or name == "convert" or name == "default" then
    return nil, format("%s is a family of the catalogue already", name)
  end
  local defs = self.cfg.extra_families or {}
  if defs[name] then return nil, format("family %s is configured already", name) end
  for _, field in ipairs { "submit", "query" } do
    local a = def[field]
    if type(a) ~= "string" or not a:match("^%a%w*$") or #a > 128 then
      return nil, format("family %s: %s must be an action name of letters and digits", name, field)
    end
    if self:action_of(a) then return nil, format("family %s: the action %s exists already", name, a) end
  end
  if def.submit == def.query then return nil, format("family %s: its two actions must differ", name) end
  local results = def.results or DEFAULT_RESULTS
  if type(results) ~= "table" or #results == 0 then
    return nil, format("family %s: results is a list of file types (%s)", name, type_names())
  end
  local copy = {}
  for i, t in ipairs(results) do
    if type(t) ~= "string" or not actions.FILE_NAMES[t] then
      return nil, format("family %s: %s is not a file type (%s)", name, tostring(t), type_names())
    end
    copy[i] = t
  end
  local family = { name = name, submit = def.submit, query = def.query, results = copy, control = from_control or nil }
  defs[name] = family
  self.cfg.extra_families = defs
  self.extra_actions = self.extra_actions or {}
  self.extra_actions[family.submit] = { name = family.submit, family = name, role = "submit" }
  self.extra_actions[family.query] = { name = family.query, family = name, role = "query" }
  return family
end

--- Drops the families added through /_sandbox/families (a reset); those of the command line stay.
function Sandbox:drop_control_families()
  for name, family in pairs(self.cfg.extra_families or {}) do
    if family.control then
      self.cfg.extra_families[name] = nil
      self.extra_actions[family.submit], self.extra_actions[family.query] = nil, nil
    end
  end
end

--- The configured families as a list sorted by name (for GET /_sandbox/families).
function Sandbox:family_list()
  local list = {}
  for _, f in pairs(self.cfg.extra_families or {}) do
    list[#list + 1] = { name = f.name, submit = f.submit, query = f.query, results = f.results }
  end
  table.sort(list, function(a, b) return a.name < b.name end)
  return list
end

return { methods = Sandbox, parse = parse, default_results = DEFAULT_RESULTS }
