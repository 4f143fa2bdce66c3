--- hy3d.families: the job families (the public option is `kind`: pro, rapid, part, ...), the API 3.0
-- Submit and Query/Describe action of each, which door offers each, and what a pro or rapid job makes
-- (generate's check before it submits). Shared by the client, the CLI (require("hy3d").kinds) and
-- validation. Depends on hy3d.doors (which door offers which), hy3d.sites (a site's own action names)
-- and hy3d.files (safe_token).
local doors = require "hy3d.doors"
local files = require "hy3d.files"
local sites = require "hy3d.sites"

--- The API 3.0 Submit and Query/Describe action of each family (the gateway has pro).
local ACTIONS = {
  pro = { submit = "SubmitHunyuanTo3DProJob", query = "QueryHunyuanTo3DProJob" },
  rapid = { submit = "SubmitHunyuanTo3DRapidJob", query = "QueryHunyuanTo3DRapidJob" },
  part = { submit = "SubmitHunyuan3DPartJob", query = "QueryHunyuan3DPartJob" },
  uv = { submit = "SubmitHunyuanTo3DUVJob", query = "DescribeHunyuanTo3DUVJob" },
  reduce_face = { submit = "SubmitReduceFaceJob", query = "DescribeReduceFaceJob" },
  texture = { submit = "SubmitTextureTo3DJob", query = "DescribeTextureTo3DJob" },
  profile = { submit = "SubmitProfileTo3DJob", query = "DescribeProfileTo3DJob" },
  motion = { submit = "SubmitHunyuanTo3DMotionJob", query = "DescribeHunyuanTo3DMotionJob" },
  rigging = { submit = "SubmitAutoRiggingJob", query = "DescribeAutoRiggingJob" },
}

--- The family names, sorted.
local function names()
  local list = {}
  for name in pairs(ACTIONS) do list[#list + 1] = name end
  table.sort(list)
  return list
end

--- The actions of `family` (default "pro") on `door` (a name in hy3d.doors, a door table such as
-- hy3d.sites.door's, or nil), and the family's name; or nil and the fields of an invalid error
-- (unknown family, or not on this door or site). A door table with `actions` (a site's) has its own.
local function resolve(family, door)
  family = family or "pro"
  local d = type(door) == "table" and door or door and doors.get(door) or nil
  local own = d and d.actions
  local k = (own or ACTIONS)[family]
  if not k and not (own and ACTIONS[family]) then
    local site = sites.offering(family)
    if site and not (d and d.site == site) then
      return nil, { kind = "invalid", code = "KIND_NOT_ON_SITE",
        message = ("kind %q is offered only on the %s site (hy3d.new{ site = %q }, HY3D_SITE, --site %s)"):format(
          family, site, site, site) }
    end
    return nil, { kind = "invalid", code = "UNKNOWN_KIND",
      message = ("unknown job kind %q (kinds: %s)"):format(family, table.concat(names(), ", ")) }
  end
  local name = d and d.name
  if d and d.families and not d.families[family] then
    if name == "gateway" then
      return nil, { kind = "invalid", code = "KIND_NEEDS_API3",
        message = ("the gateway (api_key) offers only Pro jobs; kind %q needs API 3.0 credentials "
          .. "(secret_id and secret_key)"):format(family) }
    end
    local offered = {}
    for n in pairs(d.families) do offered[#offered + 1] = n end
    table.sort(offered)
    if d.site then
      return nil, { kind = "invalid", code = "KIND_NOT_ON_SITE",
        message = ("the %s site does not offer kind %q (it offers %s)"):format(d.site, family, table.concat(offered, ", ")) }
    end
    return nil, { kind = "invalid", code = "KIND_NOT_ON_DOOR",
      message = ("the %s door does not offer kind %q (it offers %s)"):format(name, family, table.concat(offered, ", ")) }
  end
  return k, family
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
    want[#want + 1] = f:upper()
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
  actions = ACTIONS,
  names = names,
  resolve = resolve,
  of = of,
  deliverable = deliverable,
}
