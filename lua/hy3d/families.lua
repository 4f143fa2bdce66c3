--- hy3d.families: the job families (the public option is `kind`: pro, rapid, part, ...) in one registry,
-- hy3d.kinds: the API 3.0 Submit and Query/Describe action of each, which door and site offers each,
-- register (families added at run time, the built-in ones added the same way), and what a pro or rapid
-- job makes (generate's check before it submits). Shared by the client, the CLI (require("hy3d").kinds)
-- and validation. Depends on hy3d.doors (which door offers which), hy3d.sites (the site names, and the
-- actions a site names its own way: data of the site's door table) and hy3d.files (safe_token).
local doors = require "hy3d.doors"
local files = require "hy3d.files"
local sites = require "hy3d.sites"

-- The registry (hy3d.kinds): family name -> { submit = <Submit action>, query = <Query/Describe
-- action> [, doors = { <door name>, ... }] [, sites = { <site name>, ... }] }. It holds the families
-- only, so `pairs(hy3d.kinds)`
-- lists them on every Lua; register, list and get come from its metatable (and are reserved names).
local ACTIONS = {}
local BUILTIN = {}                                -- name -> the entry of each family of this release
local METHODS = {}
setmetatable(ACTIONS, { __index = METHODS })

local REGISTER_FIELDS = { name = true, submit = true, query = true, doors = true, sites = true, replace = true }

-- The error of a bad registration, raised at the caller of hy3d.kinds.register.
local function refuse(message)
  error("hy3d.kinds.register: " .. message, 3)
end

--- The family names, sorted.
local function names()
  local list = {}
  for name in pairs(ACTIONS) do list[#list + 1] = name end
  table.sort(list)
  return list
end

--- Adds (or with replace = true, replaces) a job family: { name = "lowercase_identifier",
-- submit = "SubmitXJob", query = "DescribeXJob", doors = { "api3", ... } (optional: by default
-- every door that takes any action name), sites = { "intl", ... } (optional: by default every site
-- in hy3d.sites), replace = true (optional) }. Afterwards `kind = name`
-- works in submit, query, wait, generate and download_files; its parameters are sent as given (no
-- local rules). A bad registration raises. Returns the family's entry in hy3d.kinds.
function METHODS.register(def, colon)
  if def == ACTIONS then def = colon end          -- hy3d.kinds:register{...} too
  if type(def) ~= "table" then refuse("expects a table { name = ..., submit = ..., query = ... }") end
  for k in pairs(def) do
    if not REGISTER_FIELDS[k] then
      refuse(("unknown field %s (it takes name, submit, query, doors, sites, replace)"):format(files.safe_token(k, 40) or "?"))
    end
  end
  local name = def.name
  if type(name) ~= "string" or not name:match("^[a-z][a-z0-9_]*$") or #name > 64 then
    refuse("name must be a lowercase identifier (a-z, then a-z, 0-9 or _; at most 64 characters), such as \"animation\"")
  end
  if METHODS[name] then refuse(("%q is reserved (hy3d.kinds.%s is a function)"):format(name, name)) end
  for _, field in ipairs { "submit", "query" } do
    local a = def[field]
    if type(a) ~= "string" or not a:match("^%a%w*$") or #a > 128 then
      refuse(("%s must be an action name of letters and digits, such as \"%s\""):format(field,
        field == "submit" and "SubmitCharacterToAnimationJob" or "DescribeCharacterToAnimationJob"))
    end
  end
  if def.replace ~= nil and type(def.replace) ~= "boolean" then refuse("replace must be true or false") end
  if ACTIONS[name] and not def.replace then
    refuse(("%q is already a %s family (replace = true replaces it)"):format(name,
      BUILTIN[name] == ACTIONS[name] and "built-in" or "registered"))
  end
  local on
  if def.doors ~= nil then
    if type(def.doors) ~= "table" or #def.doors == 0 then
      refuse("doors must be a non-empty list of door names (" .. table.concat(doors.names, ", ") .. ")")
    end
    on = {}
    for i, d in ipairs(def.doors) do
      local door = type(d) == "string" and doors.get(d)
      if not door then
        refuse(("doors[%d] (%s) is not a door (doors: %s)"):format(i, type(d) == "string" and ("%q"):format(d:sub(1, 40))
          or type(d), table.concat(doors.names, ", ")))
      end
      if door.families and not door.families[name] then
        local offered = {}
        for f in pairs(door.families) do offered[#offered + 1] = f end
        table.sort(offered)
        refuse(("the %s door offers only its own families (%s): it cannot take a family's actions by name"):format(
          d, table.concat(offered, ", ")))
      end
      on[#on + 1] = d
    end
  end
  local where
  if def.sites ~= nil then
    if type(def.sites) ~= "table" or #def.sites == 0 then
      refuse("sites must be a non-empty list of site names (" .. table.concat(sites.names, ", ") .. ")")
    end
    where = {}
    for i, s in ipairs(def.sites) do
      local known = false
      for _, n in ipairs(sites.names) do known = known or n == s end
      if not known then
        refuse(("sites[%d] (%s) is not a site (sites: %s)"):format(i, type(s) == "string" and ("%q"):format(s:sub(1, 40))
          or type(s), table.concat(sites.names, ", ")))
      end
      where[#where + 1] = s
    end
  end
  local entry = { submit = def.submit, query = def.query, doors = on, sites = where }
  ACTIONS[name] = entry
  return entry
end

--- The family names, sorted (built-in and registered).
function METHODS.list()                    -- also hy3d.kinds:list()
  return names()
end

--- A copy of the family called `name`: { name, submit, query, doors (a list, or nil: every door that
-- has it), sites (a list, or nil: every site), builtin (true for a family of this release not
-- replaced) }; nil when there is none.
function METHODS.get(name, colon)
  if name == ACTIONS then name = colon end
  local k = type(name) == "string" and rawget(ACTIONS, name)
  if not k then return nil end
  local list
  if k.doors then
    list = {}
    for i, d in ipairs(k.doors) do list[i] = d end
  end
  local where
  if k.sites then
    where = {}
    for i, s in ipairs(k.sites) do where[i] = s end
  end
  return { name = name, submit = k.submit, query = k.query, doors = list, sites = where, builtin = BUILTIN[name] == k }
end

-- The built-in families, registered the same way: the API 3.0 Submit and Query/Describe action of
-- each (the gateway has pro: hy3d.doors says which door offers which) and, when not every site has
-- it, the sites that do (the intl site lacks texture, profile and motion; texture_edit and
-- convert_job are its own). A site naming a family's actions its own way (intl's reduce_face is
-- SmartTopology) says so in its door table (hy3d.sites), not here.
local MAINLAND, INTL = { "mainland" }, { "intl" }
for _, f in ipairs {
  { "pro", "SubmitHunyuanTo3DProJob", "QueryHunyuanTo3DProJob" },
  { "rapid", "SubmitHunyuanTo3DRapidJob", "QueryHunyuanTo3DRapidJob" },
  { "part", "SubmitHunyuan3DPartJob", "QueryHunyuan3DPartJob" },
  { "uv", "SubmitHunyuanTo3DUVJob", "DescribeHunyuanTo3DUVJob" },
  { "reduce_face", "SubmitReduceFaceJob", "DescribeReduceFaceJob" },
  { "texture", "SubmitTextureTo3DJob", "DescribeTextureTo3DJob", MAINLAND },
  { "profile", "SubmitProfileTo3DJob", "DescribeProfileTo3DJob", MAINLAND },
  { "motion", "SubmitHunyuanTo3DMotionJob", "DescribeHunyuanTo3DMotionJob", MAINLAND },
  { "rigging", "SubmitAutoRiggingJob", "DescribeAutoRiggingJob" },
  { "texture_edit", "SubmitHunyuanTo3DTextureEditJob", "QueryHunyuanTo3DTextureEditJob", INTL },
  { "convert_job", "SubmitConvert3DFormatJob", "DescribeConvert3DFormatJob", INTL },
} do
  BUILTIN[f[1]] = METHODS.register { name = f[1], submit = f[2], query = f[3], sites = f[4] }
end

-- True when the list `where` (nil: every site) has `site`.
local function on_site(where, site)
  if not where then return true end
  for _, s in ipairs(where) do
    if s == site then return true end
  end
  return false
end

--- The actions of `family` (default "pro") on `door` (a name in hy3d.doors, a door table such as
-- hy3d.sites.door's, or nil: the mainland), and the family's name; or nil and the fields of an
-- invalid error (unknown family, or not on this door or site). A built-in family that the door's
-- site names its own way (the door table's `actions`) has the site's actions.
local function resolve(family, door)
  family = family or "pro"
  local k = type(family) == "string" and rawget(ACTIONS, family)
  if not k then
    return nil, { kind = "invalid", code = "UNKNOWN_KIND",
      message = ("unknown job kind %q (kinds: %s)"):format(family, table.concat(names(), ", ")) }
  end
  local d = type(door) == "table" and door or door and doors.get(door) or nil
  local name = d and d.name
  local site = d and d.site or sites.default
  if d and d.families and not d.families[family] then
    if name == "gateway" then
      return nil, { kind = "invalid", code = "KIND_NEEDS_API3",
        message = ("the gateway (api_key) offers only Pro jobs; kind %q needs API 3.0 credentials "
          .. "(secret_id and secret_key)"):format(family) }
    end
    local offered = {}
    for n in pairs(d.families) do offered[#offered + 1] = n end
    table.sort(offered)
    return nil, { kind = "invalid", code = "KIND_NOT_ON_DOOR",
      message = ("the %s door does not offer kind %q (it offers %s)"):format(name, family, table.concat(offered, ", ")) }
  end
  -- which site offers a family is the registry's for a door that takes every family (API 3.0); a door
  -- that lists its own families (MPS) offers them on each of its sites
  if not (d and d.families) and not on_site(k.sites, site) then
    if site == sites.default then
      local other = k.sites[1]
      return nil, { kind = "invalid", code = "KIND_NOT_ON_SITE",
        message = ("kind %q is offered only on the %s site (hy3d.new{ site = %q }, HY3D_SITE, --site %s)"):format(
          family, other, other, other) }
    end
    local offered = {}
    for _, n in ipairs(names()) do
      if on_site(ACTIONS[n].sites, site) then offered[#offered + 1] = n end
    end
    return nil, { kind = "invalid", code = "KIND_NOT_ON_SITE",
      message = ("the %s site does not offer kind %q (it offers %s)"):format(site, family, table.concat(offered, ", ")) }
  end
  if d and k.doors then                           -- a family registered for some doors only
    local on = false
    for _, n in ipairs(k.doors) do on = on or n == name end
    if not on then
      return nil, { kind = "invalid", code = "KIND_NOT_ON_DOOR",
        message = ("kind %q is registered for the %s door%s only; this client uses the %s door"):format(family,
          table.concat(k.doors, ", "), #k.doors > 1 and "s" or "", name) }
    end
  end
  local own = d and d.actions and d.actions[family]
  if own and BUILTIN[family] == k then return own, family end   -- a site's own names for a built-in family
  return k, family
end

--- The formats generate and download_files take by default for a job of `family` (nil: pro): GLB,
-- but every file for a family registered at run time (what it makes is not known here).
local function default_formats(family)
  local k = rawget(ACTIONS, family or "pro")
  if k and BUILTIN[family or "pro"] ~= k then return { "all" } end
  return { "GLB" }
end

--- The family of a job table or of the options given with a bare JobId (nil: pro).
local function of(job, opts)
  return opts.kind or (type(job) == "table" and job.kind) or nil
end

-- What a job of each family makes, for generate's check before it submits (reference §5.3, §5.4;
-- other families are left to the service): the files it returns unasked (`made(params)`), and the
-- ResultFormat values that ask for one more (pro) or for the one file instead (rapid).
local MAKES = {
  pro = { made = function(p) return p.GenerateType == "Geometry" and { "GLB" } or { "OBJ", "GLB" } end,
          extra = { STL = true, USDZ = true, FBX = true }, words = "OBJ and GLB (a Geometry job: GLB only), and "
            .. "the one of STL, USDZ or FBX that ResultFormat asks for", adds = true },
  rapid = { made = function(p) return { p.EnableGeometry == true and "GLB" or "OBJ" } end,
            extra = { OBJ = true, GLB = true, STL = true, USDZ = true, FBX = true, MP4 = true },
            words = "one file: OBJ (GLB with EnableGeometry) unless ResultFormat asks for GLB, STL, USDZ, FBX or MP4" },
}

--- Checks, before anything is sent, that a job of `family` with `params` makes every format in
-- `formats` (not {"all"}), and when ResultFormat is not set and one such field makes the list
-- deliverable, returns a copy of params with it set. Returns params (maybe that copy), or nil and
-- the fields of an invalid / FORMAT_NOT_REQUESTED error.
local function deliverable(family, params, formats)
  local rule = MAKES[family]
  if not rule or type(formats) ~= "table" then return params end
  local want = {}
  for _, f in ipairs(formats) do
    if type(f) ~= "string" then return params end          -- generate raised already
    if f:upper() == "ALL" then return params end
    if f:upper() ~= "PREVIEW" then want[#want + 1] = f:upper() end    -- the files' preview image
  end
  local rf = type(params.ResultFormat) == "string" and params.ResultFormat:upper() or nil
  local have = {}
  if not (rf and not rule.adds) then
    for _, t in ipairs(rule.made(params)) do have[t] = true end
  end
  if rf then have[rf] = true end
  local missing = {}
  for _, w in ipairs(want) do
    if not have[w] then missing[#missing + 1] = w end
  end
  if #missing == 0 then return params end
  -- one format asked beyond the defaults, and ResultFormat free to ask for it
  if not rf and #missing == 1 and rule.extra[missing[1]] and (rule.adds or #want == 1) then
    local copy = {}
    for k, v in pairs(params) do copy[k] = v end
    copy.ResultFormat = missing[1]
    return copy
  end
  local asked = {}
  for i, w in ipairs(missing) do asked[i] = files.safe_token(w, 32) or "?" end
  return nil, { kind = "invalid", code = "FORMAT_NOT_REQUESTED",
    message = ("a %s job%s makes %s; formats asks for %s too (nothing was sent: set ResultFormat, or ask for "
      .. "formats the job makes)"):format(family, rf and (" with ResultFormat " .. rf) or "", rule.words,
      table.concat(asked, ", ")) }
end

return {
  actions = ACTIONS,                              -- hy3d.kinds
  register = METHODS.register,
  get = METHODS.get,
  names = names,
  resolve = resolve,
  of = of,
  default_formats = default_formats,
  deliverable = deliverable,
  -- The file types a job of `family` with `params` returns (the defaults and ResultFormat's), or nil when
  -- hy3d does not know (a family other than pro and rapid).
  made_types = function(family, params)
    local rule = MAKES[family]
    if not rule then return nil end
    params = type(params) == "table" and params or {}
    local rf = type(params.ResultFormat) == "string" and params.ResultFormat:upper() or nil
    local out = {}
    if not (rf and not rule.adds) then
      for _, t in ipairs(rule.made(params)) do out[#out + 1] = t end
    end
    if rf then out[#out + 1] = rf end
    return out
  end,
}
