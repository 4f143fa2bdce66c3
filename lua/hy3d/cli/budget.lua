--- hy3d.cli.budget: credits on the command line: --max-credits and --dry-run of generate and submit, the help
-- text they share, and the report of a dry run (what would be submitted, redacted and with long base64 cut,
-- and its estimate), as text or one JSON line. Version-neutral Lua (5.1 to 5.4, LuaJIT).
local args = require "hy3d.cli.args"
local exit = require "hy3d.cli.exit"

local EXIT = exit.EXIT

local M = {}

M.HELP = [[
credits:
  --max-credits N        refuse to submit a job whose estimate (hy3d's copy of the billing
                         table) would take this run's credits past N: exit 2, nothing sent
                         (HY3D_MAX_CREDITS)
  --dry-run              print what would be submitted (door, action, parameters) and its
                         estimate in credits; submit nothing, create nothing, exit 0
]]

-- batch's: an over-budget line fails and the others go on (exit 1 when any line failed).
M.BATCH_HELP = [[
credits:
  --max-credits N        the run's budget (HY3D_MAX_CREDITS): a line whose model and chained
                         steps (estimated with hy3d's copy of the billing table) would take the
                         run past N fails OVER_BUDGET with nothing sent for it; the other lines
                         go on, and the exit is 1
  --dry-run              print every line's plan and estimate and a total; submit nothing,
                         create nothing, exit 0
]]

--- Checks --max-credits: a number >= 0 (o.max_credits becomes it), or nil and a usage error.
function M.check(o)
  return args.number_option(o, "max_credits", "--max-credits", 0)
end

local LONG = 200                                  -- a string longer than this is shown by its length

-- A copy of params for showing: a long string (an image's base64) becomes "(base64, N characters)".
local function shown(v, key, depth)
  if type(v) == "string" and #v > LONG then
    return ((type(key) == "string" and key:match("Base64$")) and "(base64, %d characters)" or "(%d characters)"):format(#v)
  end
  if type(v) ~= "table" or depth > 8 then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = shown(x, k, depth + 1) end
  return out
end
M.shown = shown

-- "GenerateType-Normal 20, ResultFormat 5", sorted by key.
local function itemised(details)
  local keys = {}
  for k in pairs(details or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for i, k in ipairs(keys) do keys[i] = ("%s %g"):format(k, details[k]) end
  return table.concat(keys, ", ")
end

--- Reports the plan of a dry run (client:submit/generate with dry_run) and returns exit 0. When the plan has
-- no estimate (a kind or door without a price), says why. steps (generate --then): { kind, credits } of each
-- chained step, listed with the total (model and steps).
function M.report(ctx, plan, client, steps, total)
  local why
  if plan.credits == nil then
    local _, err = require("hy3d").estimate(plan.params, { kind = plan.kind, door = plan.door })
    why = err and err.message or "no price"
  end
  local params = shown(plan.params, nil, 0)
  if ctx.json then
    ctx:emit { event = "dry_run", kind = plan.kind, door = plan.door, site = plan.site, base_url = plan.base_url,
               action = plan.action, params = params, credits = plan.credits, credit_details = plan.credit_details,
               estimate_error = why, max_credits = select(2, client:credits()).max, steps = steps,
               total_credits = steps and total or nil }
    return EXIT.ok
  end
  local core = require "hy3d.core"
  local lines = {
    "dry run: nothing was submitted",
    ("  door      %s (%s)%s"):format(tostring(plan.door), tostring(plan.base_url),
      plan.site and plan.site ~= "mainland" and (", site " .. plan.site) or ""),
    ("  action    %s (kind %s)"):format(tostring(plan.action), tostring(plan.kind)),
    ("  params    %s"):format(core.encode(params) or "?"),
    plan.credits and ("  estimate  %g credits (%s)"):format(plan.credits, itemised(plan.credit_details))
      or ("  estimate  unknown: %s"):format(why),
  }
  for _, st in ipairs(steps or {}) do           -- generate --then: each step's estimate, then the total
    lines[#lines + 1] = st.credits and ("  then      %s: %g credits"):format(st.kind, st.credits)
      or ("  then      %s: estimate unknown"):format(st.kind)
  end
  if steps then
    lines[#lines + 1] = total and ("  total     %g credits"):format(total) or "  total     unknown"
  end
  local max = select(2, client:credits()).max
  if max then lines[#lines + 1] = ("  budget    --max-credits %g"):format(max) end
  ctx:out(ctx:redact(table.concat(lines, "\n")) .. "\n")
  return EXIT.ok
end

return M
