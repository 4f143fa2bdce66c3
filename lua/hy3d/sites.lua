--- hy3d.sites: the service's sites as data (mainland, intl) and door(name, site): a door's table on a site.
-- Mainland is the doors as hy3d.doors has them; intl is the international API 3.0 (its host, TC3
-- service, version, region, action names, families and the fields it does not take). Depends on
-- hy3d.doors.
--
-- A site's entry for a door is an overlay on the door's table: url, service, version, region (the
-- defaults hy3d.options reads), `actions` (family -> { submit, query }: the built-in families this
-- site names its own way; hy3d.families resolves them through it) and `unsupported` (family -> list
-- of submit fields the site's action does not take: refused locally, never dropped). Which site
-- offers which family is the registry's (hy3d.kinds.register's `sites`), not the site's, for a door
-- that takes every family (API 3.0); a door with its own `families` offers them on each of its
-- sites. A door may also carry its own overlays as `sites = { intl = {...} }` in its hy3d.doors
-- table (MPS does: another host); a door with neither has no such site (door() says so).
local doors = require "hy3d.doors"

local M = {}

--- The site names, in the order messages list them, and the default (HY3D_SITE, else this).
M.names = { "mainland", "intl" }
M.default = "mainland"

-- The international site (tencentcloud.com accounts): product `hunyuan` 2023-09-01 at
-- hunyuan.intl.tencentcloudapi.com (reference §1 row 4; landscape (a) rows 4-5). ReduceFace is
-- SmartTopology there. (It lacks texture, profile and motion, and texture_edit and convert_job are
-- its own: hy3d.families registers them with their sites. AutoRigging is listed by the intl
-- documentation but not by the stored intl SDK: kept, the service has the last word.)
M.intl = {
  api3 = {
    url = "https://hunyuan.intl.tencentcloudapi.com",
    service = "hunyuan",
    version = "2023-09-01",
    region = "ap-singapore",
    regions = { "ap-singapore", "na-siliconvalley" },
    actions = {
      reduce_face = { submit = "Submit3DSmartTopologyJob", query = "Describe3DSmartTopologyJob" },
    },
    unsupported = { pro = { "ResultFormat" }, part = { "Model" } },
  },
}
M.mainland = {}

local cache = {}

--- The door table of door `name` on `site` (nil: mainland), or nil and a message when the door
-- has no such site (or there is no such door).
function M.door(name, site)
  local base = doors.get(name)
  if not base then return nil, ("there is no door %q"):format(tostring(name)) end
  site = site or M.default
  if site == M.default then return base end
  local overlay = M[site] and M[site][name] or (base.sites and base.sites[site])
  if not overlay then
    local offered = {}
    for _, n in ipairs(doors.names) do
      local own = doors.get(n).sites
      if M[site] and M[site][n] or (own and own[site]) then offered[#offered + 1] = n end
    end
    return nil, ("the %s door has no %s site (site %q is offered by: %s)"):format(name, site, site,
      #offered > 0 and table.concat(offered, ", ") or "no door")
  end
  local key = name .. "\0" .. site
  if cache[key] then return cache[key] end
  local d = { site = site }
  for k, v in pairs(overlay) do d[k] = v end
  cache[key] = setmetatable(d, { __index = base })
  return cache[key]
end

--- nil when a submit of `family` with `params` can go through `door` (a door table), else the
-- fields of an invalid error naming the site, the field it does not take and `submit` (the family's
-- Submit action there, as hy3d.families resolved it). Nothing is sent.
function M.check(door, family, params, submit)
  local list = type(door) == "table" and door.unsupported and door.unsupported[family]
  if not list then return nil end
  for _, field in ipairs(list) do
    if params[field] ~= nil then
      return { kind = "invalid", code = "NOT_ON_SITE", field = field,
        message = ("the %s site's %s jobs take no %s (%s there has no such field); nothing was sent"):format(
          door.site or M.default, family, field, submit or "the action") }
    end
  end
  return nil
end

return M
