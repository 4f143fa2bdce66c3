--- Fault injection for hy3d-sandbox: rules that make a route misbehave (latency, 5xx, 429 with
-- Retry-After, a reset or closed connection, a body cut short or stalled, a non-JSON body, an API
-- error) or make submitted jobs FAIL. Rules come from the command line, the environment and the
-- control endpoint; probabilistic rules draw from a private generator, deterministic under a seed.
local format = string.format

-- action -> the fields it may carry besides route, count and probability
local ACTIONS = {
  delay = { delay = "number" },
  status = { status = "number", body = "string", content_type = "string", retry_after = "number" },
  garbage = { body = "string" },
  close = {},
  reset = {},
  cut = { after = "number" },
  stall = { after = "number", stall = "number" },
  api_error = { code = "string", message = "string" },
  fail = { code = "string", message = "string" },
}
local COMMON = { action = "string", route = "string", count = "number", probability = "number" }

local Faults = {}
Faults.__index = Faults

-- xorshift64*: a private, seedable generator (math.random is shared with the rest of the process).
function Faults:random()
  local x = self.state
  x = x ~ (x >> 12)
  x = x ~ (x << 25)
  x = x ~ (x >> 27)
  self.state = x
  return ((x * 0x2545F4914F6CDD1D) >> 11) / 9007199254740992.0
end

--- Checks and adds one rule (a table). Returns the rule, or nil and a message.
function Faults:add(rule)
  if type(rule) ~= "table" then return nil, "a fault rule must be an object" end
  local fields = ACTIONS[rule.action]
  if not fields then
    local names = {}
    for k in pairs(ACTIONS) do names[#names + 1] = k end
    table.sort(names)
    return nil, format("unknown fault action %s (one of %s)", tostring(rule.action), table.concat(names, ", "))
  end
  local r = {}
  for k, v in pairs(rule) do
    local want = COMMON[k] or fields[k]
    if not want then return nil, format("fault %s has no field %s", rule.action, tostring(k)) end
    if type(v) ~= want then return nil, format("fault field %s must be a %s", k, want) end
    r[k] = v
  end
  if r.probability and (r.probability < 0 or r.probability > 1) then return nil, "probability must be in [0, 1]" end
  r.phase = r.action == "fail" and "job" or "request"
  r.route = r.route or (r.action == "fail" and "submit" or "any")
  r.count = r.count or (r.probability and -1 or 1)
  if r.count == 0 then return nil, "count must be positive, or -1 for every matching request" end
  r.fired = 0
  self.rules[#self.rules + 1] = r
  return r
end

--- Parses "ROUTE:ACTION[:key=value,...]" (several separated by ';'), or JSON (an object or a list).
-- Returns the list of rules added, or nil and a message (nothing is added then).
function Faults:parse(spec)
  local list = {}
  if spec:match("^%s*[%[{]") then
    local ok, decoded = pcall(require("cjson").decode, spec)
    if not ok or type(decoded) ~= "table" then return nil, "fault JSON does not parse" end
    list = decoded[1] and decoded or { decoded }
  else
    for item in spec:gmatch("[^;]+") do
      local route, action, args = item:match("^%s*([%w_%.%-]+):([%w_]+):?(.-)%s*$")
      if not route then return nil, "fault spec must look like ROUTE:ACTION[:key=value,...]: " .. item end
      local rule = { route = route, action = action }
      for pair in args:gmatch("[^,]+") do
        local k, v = pair:match("^%s*([%w_]+)=(.-)%s*$")
        if not k then return nil, "bad fault argument: " .. pair end
        rule[k] = tonumber(v) or v
      end
      list[#list + 1] = rule
    end
  end
  local n = #self.rules
  for _, rule in ipairs(list) do
    local ok, err = self:add(rule)
    if not ok then
      for i = #self.rules, n + 1, -1 do self.rules[i] = nil end
      return nil, err
    end
  end
  return list
end

--- The first rule of `phase` whose route is one of `tags` (or "any") and that fires this time;
-- its count is consumed. `tags` lists the names of what is happening (route, action, family).
function Faults:take(tags, phase)
  for i, f in ipairs(self.rules) do
    if f.phase == phase then
      local match = f.route == "any"
      for _, t in ipairs(tags) do if t == f.route then match = true end end
      if match and (not f.probability or self:random() < f.probability) then
        f.fired = f.fired + 1
        self.fired = self.fired + 1
        if f.count > 0 then
          f.count = f.count - 1
          if f.count == 0 then table.remove(self.rules, i) end
        end
        return f
      end
    end
  end
end

function Faults:clear()
  self.rules, self.fired = {}, 0
end

--- A rule set; `seed` (an integer) makes probabilistic rules repeatable.
local function new(seed)
  local s = math.tointeger(seed) or 0x9E3779B97F4A7C15
  if s == 0 then s = 1 end
  return setmetatable({ rules = {}, state = s, fired = 0 }, Faults)
end

return {
  new = new,
  actions = ACTIONS,
}
