--- hy3d.credits: what a job costs in the service's credits: the billing table as Lua data (the reference's §9, [R]),
-- estimate(params, opts) in the shape of the service's ResultCreditDetails, of(result) (the credits a DONE answer
-- reports), and the ledger a client keeps (credits spent, jobs pending, the max_credits budget). Depends on
-- hy3d.core (JSON), hy3d.error and hy3d.families (the kind names).
-- @module hy3d.credits
local core = require "hy3d.core"
local errors = require "hy3d.error"
local families = require "hy3d.families"

local M = {}

--- The billing table: prices in credits per job family, and which doors bill by it. [R]: a third-party
-- transcription of https://cloud.tencent.com/document/product/1804/123461 (snapshot 2026-07-24), consistent
-- with the official ResultCreditDetails example {"FaceCount":10,"GenerateType-Normal":20,"Pbr":10} (total 40).
-- Change it in place (hy3d.credits.table.families.rapid.base = 20) or pass estimate's `table` option.
-- families[kind]: `base` is a number (the detail key is the kind's name), or { field, default, key, values }:
-- the price by the value of `field` (absent: `default`), keyed key:format(value). `addons` are added when
-- their field is sent: `when` "set" (present, any value), "true" (the boolean true) or "nonempty" (a
-- non-empty list), `unless` { Field = value } (the add-on does not apply: the service ignores the field then).
-- doors[name]: "table" (billed by this table), "free" (no credits: a self-hosted server) or false
-- (billed otherwise, not known here: an estimate is an error).
-- @table table
M.table = {
  source = "[R] https://cloud.tencent.com/document/product/1804/123461 (third-party transcription, 2026-07-24)",
  families = {
    pro = {
      base = { field = "GenerateType", default = "Normal", key = "GenerateType-%s",
               values = { Normal = 20, LowPoly = 25, Geometry = 15, Sketch = 25 } },
      addons = {
        { key = "MultiViewImages", field = "MultiViewImages", credits = 10, when = "nonempty" },
        { key = "Pbr", field = "EnablePBR", credits = 10, when = "true", unless = { GenerateType = "Geometry" } },
        { key = "FaceCount", field = "FaceCount", credits = 10, when = "set", unless = { GenerateType = "LowPoly" } },
        { key = "ResultFormat", field = "ResultFormat", credits = 5, when = "set" },
      },
    },
    rapid = { base = 15 },
    reduce_face = { base = 50 },                  -- smart topology
    texture = { base = 30 },
    profile = { base = 30 },
    part = { base = 30, addons = { { key = "PostProcess", field = "EnablePostProcess", credits = 20, when = "true" } } },
    uv = { base = 10 },
    motion = { base = 10 },
    rigging = { base = 10 },                      -- AutoRigging
    convert = { base = 5 },                       -- Convert3DFormat (client:convert)
  },
  doors = { api3 = "table", gateway = "table", ["local"] = "free", tokenhub = false, mps = false },
}

local function invalid(code, message, field)
  return errors.new { kind = "invalid", code = code, message = message, field = field }
end

-- Whether p's value v of a field counts for an add-on's `when`.
local function counts(when, v)
  if v == nil or type(v) == "userdata" then return false end     -- absent, or JSON null
  if when == "true" then return v == true end
  if when == "nonempty" then return type(v) == "table" and next(v) ~= nil end
  return true                                                      -- "set"
end

-- The entry `key` of t's part `part` (families, doors), else of the built-in table's.
local function entry(t, part, key)
  local v
  if type(t[part]) == "table" then v = t[part][key] end
  if v == nil and t ~= M.table then v = M.table[part][key] end
  return v
end

local ESTIMATE_OPTIONS = { kind = "string", door = "string", table = "table" }

--- What a job would cost, by the billing table: the total and the itemised details in the shape of the
-- service's ResultCreditDetails ({ FaceCount = 10, ["GenerateType-Normal"] = 20, Pbr = 10 }). opts: kind
-- (default "pro"), door (default "api3": billed by the table; "local" costs 0; "tokenhub" and "mps" bill in
-- their own ways and give an error), table (prices that replace the built-in ones, family by family).
-- A kind without a price (not in the table) or a value the table has no price for is nil and an
-- invalid error (UNKNOWN_KIND, NO_PRICE), never a guess.
-- @tparam table params the API fields, as for submit (a prompt string means { Prompt = s })
-- @tparam[opt] table opts kind, door, table
-- @treturn[1] number the total in credits
-- @treturn[1] table the details: detail key -> credits
-- @treturn[2] nil
-- @treturn[2] Error err (kind "invalid")
function M.estimate(params, opts)
  if opts ~= nil and type(opts) ~= "table" then error("hy3d.estimate: options must be a table", 2) end
  opts = opts or {}
  for k, v in pairs(opts) do
    if not ESTIMATE_OPTIONS[k] then
      error(("hy3d.estimate: unknown option '%s' (known: door, kind, table)"):format(tostring(k)), 2)
    end
    if type(v) ~= ESTIMATE_OPTIONS[k] then
      error(("hy3d.estimate: option '%s' must be a %s, got %s"):format(k, ESTIMATE_OPTIONS[k], type(v)), 2)
    end
  end
  if type(params) == "string" then params = { Prompt = params } end
  if type(params) ~= "table" then
    return nil, invalid("BAD_PARAMS", "hy3d.estimate: params must be a table of API fields (or a prompt string), got "
      .. type(params))
  end
  local t, kind, door = opts.table or M.table, opts.kind or "pro", opts.door or "api3"
  local rule = entry(t, "doors", door)
  if rule == "free" then return 0, {} end
  if rule ~= "table" then
    return nil, invalid("NO_PRICE", ("the %s door does not bill in the credits of hy3d.credits.table (it bills in "
      .. "its own way): hy3d cannot estimate its jobs (hy3d.credits.table.doors names the doors it prices)"):format(
      ("%q"):format(door:sub(1, 40))))
  end
  local fam = entry(t, "families", kind)
  if type(fam) ~= "table" then
    if rawget(families.actions, kind) then
      return nil, invalid("NO_PRICE", ("kind %q has no price in hy3d.credits.table (the billing table knows %s): "
        .. "add one to estimate it"):format(kind, table.concat(M.priced_kinds(t), ", ")))
    end
    return nil, invalid("UNKNOWN_KIND", ("unknown job kind %q (kinds with a price: %s)"):format(kind:sub(1, 64),
      table.concat(M.priced_kinds(t), ", ")))
  end
  local details, effective = {}, {}
  local base = fam.base
  if type(base) == "number" then
    details[kind] = base
  elseif type(base) == "table" then
    local v = params[base.field]
    if v == nil or type(v) == "userdata" then v = base.default end
    effective[base.field] = v
    local price = type(v) == "string" and base.values[v]
    if type(price) ~= "number" then
      return nil, invalid("NO_PRICE", ("%s %s has no price in hy3d.credits.table (priced: %s)"):format(base.field,
        type(v) == "string" and ("%q"):format(v:sub(1, 40)) or ("a " .. type(v)), table.concat(M.sorted(base.values), ", ")),
        base.field)
    end
    details[(base.key or "%s"):format(v)] = price
  else
    return nil, invalid("NO_PRICE", ("kind %q has no base price in hy3d.credits.table"):format(kind))
  end
  for _, a in ipairs(fam.addons or {}) do
    local skip = false
    for field, value in pairs(a.unless or {}) do
      local v = effective[field]
      if v == nil then v = params[field] end
      if v == value then skip = true end
    end
    if not skip and counts(a.when, params[a.field]) then details[a.key] = (details[a.key] or 0) + a.credits end
  end
  local total = 0
  for _, v in pairs(details) do total = total + v end
  return total, details
end

--- The keys of a table, sorted (for messages).
function M.sorted(t)
  local list = {}
  for k in pairs(t) do list[#list + 1] = tostring(k) end
  table.sort(list)
  return list
end

--- The kinds with a price in table t (default hy3d.credits.table), sorted.
function M.priced_kinds(t)
  local set = {}
  for k in pairs(M.table.families) do set[k] = true end
  if t and t ~= M.table and type(t.families) == "table" then
    for k in pairs(t.families) do set[k] = true end
  end
  return M.sorted(set)
end

local MAX_REPORTED = 1e9                          -- a hostile or broken answer is not believed beyond this

--- The credits a DONE answer reports: ResultCreditConsumed (a number, or a number in a string) and
-- ResultCreditDetails (a JSON string, or an object) decoded; nil when the answer carries none (Rapid and the
-- post-processing kinds document none, nor does the gateway as reported) or a value that is not a sane number.
-- @tparam table result a query or wait result
-- @treturn ?number the credits consumed
-- @treturn ?table the details: key -> credits
function M.of(result)
  if type(result) ~= "table" then return nil end
  local n = result.ResultCreditConsumed
  if type(n) == "string" then n = tonumber(n) end
  if type(n) ~= "number" or n ~= n or n < 0 or n > MAX_REPORTED then return nil end
  local d = result.ResultCreditDetails
  if type(d) == "string" then
    local ok, decoded = pcall(core.decode, d)
    d = ok and decoded or nil
  end
  local details
  if type(d) == "table" then
    details = {}
    for k, v in pairs(d) do
      if type(k) == "string" and type(v) == "number" and v == v then details[k] = v end
    end
  end
  return n, details
end

-- ===== the ledger of a client =====

local Ledger = {}
Ledger.__index = Ledger

--- A client's ledger: max (the budget, or nil). Private to hy3d.client (read it with client:credits()).
function M.ledger(max)
  return setmetatable({ max = max, reported = 0, estimated = 0, reserved = 0, pending = {}, pending_total = 0,
                        pending_jobs = 0, seen = {}, jobs = 0, unpriced = 0 }, Ledger)
end

--- Credits spent: reported where the answer says, else the estimate made at submit.
function Ledger:spent()
  return self.reported + self.estimated
end

--- Takes `estimate` (a number, or nil when the job cannot be priced, with `err` the reason) out of the budget
-- before a submit: the estimate, or nil and an invalid OVER_BUDGET (or the pricing error) when max is set and
-- spent + pending + reserved + estimate would pass it. The caller gives it back (release) or settles it
-- (submitted).
function Ledger:reserve(estimate, err)
  if not self.max then return estimate or 0 end
  if not estimate then
    err.message = tostring(err.message) .. " (max_credits is set: a job hy3d cannot price cannot be kept within it;"
      .. " nothing was sent)"
    return nil, err
  end
  local committed = self:spent() + self.pending_total + self.reserved
  if committed + estimate > self.max then
    return nil, invalid("OVER_BUDGET", ("this job would cost %g credits (estimated by hy3d.credits.table), and %g are "
      .. "spent or committed to jobs not finished: over max_credits %g (nothing was sent)"):format(estimate, committed,
      self.max))
  end
  self.reserved = self.reserved + estimate
  return estimate
end

--- Gives back what reserve took (the submit failed).
function Ledger:release(amount)
  if self.max then self.reserved = self.reserved - (amount or 0) end
end

--- A job was submitted: its estimate (nil: not priced) is pending until it ends; `amount` is what reserve took.
function Ledger:submitted(id, estimate, amount)
  self:release(amount)
  if self.seen[id] or self.pending[id] then return end
  self.pending[id] = estimate or false
  self.pending_total = self.pending_total + (estimate or 0)
  self.pending_jobs = self.pending_jobs + 1
end

local function settle(self, id)
  local est = self.pending[id]
  if est ~= nil then
    self.pending[id] = nil
    self.pending_total = self.pending_total - (est or 0)
    self.pending_jobs = self.pending_jobs - 1
  end
  return est
end

--- A job reached DONE with `result`: counted once per JobId (what it reports, else its estimate).
function Ledger:done(id, result)
  if self.seen[id] then return end
  self.seen[id] = true
  local est = settle(self, id)
  local n = M.of(result)
  if n then
    self.reported = self.reported + n
  elseif est then
    self.estimated = self.estimated + est
  else
    self.unpriced = self.unpriced + 1
  end
  self.jobs = self.jobs + 1
end

--- A job reached FAIL: not charged ("failed tasks are not charged", reference §6 [R]).
function Ledger:failed(id)
  if self.seen[id] then return end
  self.seen[id] = true
  settle(self, id)
end

--- A synchronous call that cost `estimate` (Convert3DFormat): counted at once.
function Ledger:charged(result, estimate, amount)
  self:release(amount)
  local n = M.of(result)
  if n then self.reported = self.reported + n elseif estimate then self.estimated = self.estimated + estimate
  else self.unpriced = self.unpriced + 1 end
  self.jobs = self.jobs + 1
end

--- The total spent and the breakdown (client:credits()).
function Ledger:summary()
  local spent = self:spent()
  return spent, { reported = self.reported, estimated = self.estimated, pending = self.pending_total,
    pending_jobs = self.pending_jobs, jobs = self.jobs, unpriced = self.unpriced, max = self.max,
    left = self.max and (self.max - spent - self.pending_total - self.reserved) or nil }
end

return M
