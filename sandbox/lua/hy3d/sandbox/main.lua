-- hy3d.sandbox.main: hy3d-sandbox's command line — argv and the environment into a config table,
-- the usage text, and main(), which starts a sandbox (hy3d.sandbox.new) and serves until it stops.
-- Run by sandbox/bin/hy3d-sandbox; hy3d.sandbox forwards main and parse_args here when called.
local socket = require "socket"
local actions = require "hy3d.sandbox.actions"
local faults = require "hy3d.sandbox.faults"
local families = require "hy3d.sandbox.families"
local sandbox = require "hy3d.sandbox"

local gettime = socket.gettime
local format, concat = string.format, table.concat
local floor = math.floor
local new, VERSION = sandbox.new, sandbox._VERSION

local USAGE = [[
usage: hy3d-sandbox [options]
  --host ADDR            address to bind (default 127.0.0.1)
  --port N               port (default 0: pick a free one)
  --api-key KEY          accept this gateway API key (repeatable; alias --key; default sk-hy3d-sandbox;
                         also HY3D_SANDBOX_KEYS=key1,key2)
  --secret-id ID --secret-key KEY
                         accept these API 3.0 credentials (repeatable pairs; default
                         AKIDhy3dSandboxSecretId0000000000 / hy3dSandboxSecretKey000000000000;
                         also HY3D_SANDBOX_SECRET_ID / HY3D_SANDBOX_SECRET_KEY)
  --region R             accept this X-TC-Region (repeatable; default ap-guangzhou; * = any)
  --intl-secret-id ID --intl-secret-key KEY
                         the international site's credentials (service hunyuan; repeatable pairs;
                         default AKIDhy3dSandboxIntlSecretId000000 / hy3dSandboxIntlSecretKey00000000;
                         also HY3D_SANDBOX_INTL_SECRET_ID / HY3D_SANDBOX_INTL_SECRET_KEY)
  --intl-region R        accept this X-TC-Region on the intl site (repeatable; default ap-singapore
                         and na-siliconvalley; * = any)
  --intl-on-mainland-code CODE
                         the mainland's error for an intl SecretId (default AuthFailure.SignatureFailure)
  --mainland-on-intl-code CODE
                         the intl site's error for a mainland SecretId (default AuthFailure.SecretIdNotFound)
  --wait-s S             seconds a job stays WAIT (default 1; alias --wait-time)
  --run-s S              seconds a job stays RUN (default 3; alias --run-time)
  --concurrency N|F=N,.. jobs at once: N for Pro, or per family (pro, rapid, part, uv, reduce_face,
                         texture, profile, motion, rigging, default); 0 = unlimited (default pro=3, others 1)
  --slot-cooldown S      seconds a finished job still holds its slot (default 0)
  --rate-limit N         requests per second per action (default 20; 0 = unlimited)
  --url-ttl S            seconds a result URL stays valid (default 86399)
  --job-ttl S            seconds a JobId stays queryable (default 86400)
  --expired-code CODE    error for unknown/expired JobIds (default FailedOperation.JobNotFound)
  --envelope MODE        gateway bodies: wrapped (default) or flat
  --result-format MODE   Pro ResultFormat adds a file (add, default) or replaces OBJ+GLB (replace)
  --gateway-credits      include credit fields in gateway query answers
  --all-credits          credit fields in every kind's DONE answer and Convert3DFormat's, not Pro's only
  --no-ranges            ignore Range on result files and /_sandbox/blob: always 200 with the whole
                         body and no Accept-Ranges (a host without range support). By default they
                         answer like COS: ETag, Accept-Ranges, 206 for one byte range, 416 past the end
  --max-faces N          cap on generated triangles (default 100000)
  --selfhosted FLAVOUR   the self-hosted server under /selfhosted/: 2.1 (default) or 2
  --family NAME=SUBMIT,QUERY[,TYPE...]
                         also serve a job family the catalogue lacks (repeatable): its Submit and
                         Query/Describe action, any parameters accepted, result files of TYPE
                         (default FBX); e.g. animation=SubmitCharacterToAnimationJob,DescribeCharacterToAnimationJob
  --fault SPEC           inject faults: ROUTE:ACTION[:key=value,...] (repeatable; also
                         HY3D_SANDBOX_FAULTS, rules separated by ';'); see doc/sandbox.md
  --seed N               make JobIds, RequestIds and probabilistic faults repeatable
  --log FILE             append a JSON line per request to FILE (- for stderr); secrets redacted
  --max-connections N    open connections at most (default 900, below select's limit of 1024
                         descriptors); a new one takes the place of the oldest incomplete request
                         head, else of the connection idle the longest
  --header-timeout S     seconds a connection has to send a complete request head (default 10);
                         then it is answered 408 (or, if it sent nothing, just closed)
  --lifetime S           exit after S seconds
  --help
The first line printed is the base URL, e.g. http://127.0.0.1:40123
]]

local function fail_usage(message)
  io.stderr:write("hy3d-sandbox: ", message, "\n")
  return 2
end

-- "3" -> { pro = 3, default = 1 }; "pro=3,rapid=2" -> { pro = 3, rapid = 2, default = 1 }
local function parse_concurrency(v)
  if tonumber(v) then return { pro = tonumber(v), default = 1 } end
  local t = { pro = 3, default = 1 }
  for pair in v:gmatch("[^,]+") do
    local k, n = pair:match("^%s*([%w_]+)=(%d+)%s*$")
    if not k or not (actions.FAMILIES[k] or k == "default") then return nil end
    t[k] = tonumber(n)
  end
  return t
end

local NUMERIC = {
  ["--port"] = "port", ["--wait-s"] = "wait_time", ["--wait-time"] = "wait_time", ["--run-s"] = "run_time",
  ["--run-time"] = "run_time", ["--url-ttl"] = "url_ttl", ["--job-ttl"] = "job_ttl", ["--lifetime"] = "lifetime",
  ["--rate-limit"] = "rate_limit", ["--slot-cooldown"] = "slot_cooldown", ["--max-faces"] = "max_faces",
  ["--seed"] = "seed", ["--max-connections"] = "max_connections", ["--header-timeout"] = "header_timeout",
}
-- What each number option takes: a whole number (int), a least value (min, or above: more than),
-- a greatest (max). Values are decimal digits, with a fraction where a whole number is not needed.
local NUMBER_RULES = {
  ["--port"] = { int = true, min = 0, max = 65535 }, ["--max-faces"] = { int = true, min = 1 },
  ["--max-connections"] = { int = true, min = 1 }, ["--rate-limit"] = { min = 0 },
  ["--seed"] = { int = true, min = 0 }, ["--header-timeout"] = { above = 0 }, ["--lifetime"] = { above = 0 },
}

-- The number `v` for option `a`, or nil and a message that says what the option takes.
local function number_arg(a, v)
  local rule = NUMBER_RULES[a] or { min = 0 }
  local n = tonumber(v)
  local digits = v:match("^%d+$") or (not rule.int and (v:match("^%d+%.%d*$") or v:match("^%.%d+$")))
  if not digits or not n or n > (rule.max or 1e15) or (rule.min and n < rule.min) or (rule.above and n <= rule.above) then
    local want = rule.int and "a whole number" or "a number of seconds"
    if rule.max then
      want = ("%s from %d to %d"):format(want, rule.min, rule.max)
    elseif rule.above then
      want = ("%s above %g"):format(want, rule.above)
    else
      want = ("%s of at least %d"):format(want, rule.min)
    end
    return nil, ("%s needs %s"):format(a, want)
  end
  return n
end

local STRING = { ["--host"] = "host", ["--envelope"] = "envelope", ["--expired-code"] = "expired_code",
                 ["--result-format"] = "result_format", ["--log"] = "log", ["--selfhosted"] = "selfhosted",
                 ["--intl-on-mainland-code"] = "intl_on_mainland_code", ["--mainland-on-intl-code"] = "mainland_on_intl_code" }
local VALUED = { ["--api-key"] = true, ["--key"] = true, ["--secret-id"] = true, ["--secret-key"] = true, ["--region"] = true,
                 ["--fault"] = true, ["--concurrency"] = true, ["--family"] = true, ["--intl-secret-id"] = true,
                 ["--intl-secret-key"] = true, ["--intl-region"] = true }
local CHOICES = { envelope = { wrapped = true, flat = true }, result_format = { add = true, replace = true },
                  selfhosted = { ["2"] = true, ["2.1"] = true } }

--- Parses argv and the environment into a config table, or nil, message.
local function parse_args(argv, getenv)
  local cfg, keys, ids, secret_keys, regions, fault_specs = {}, {}, {}, {}, {}, {}
  local intl_ids, intl_keys, intl_regions = {}, {}, {}
  for k in (getenv("HY3D_SANDBOX_KEYS") or ""):gmatch("[^,%s]+") do keys[#keys + 1] = k end
  if getenv("HY3D_SANDBOX_SECRET_ID") and getenv("HY3D_SANDBOX_SECRET_KEY") then
    ids[1], secret_keys[1] = getenv("HY3D_SANDBOX_SECRET_ID"), getenv("HY3D_SANDBOX_SECRET_KEY")
  end
  if getenv("HY3D_SANDBOX_INTL_SECRET_ID") and getenv("HY3D_SANDBOX_INTL_SECRET_KEY") then
    intl_ids[1], intl_keys[1] = getenv("HY3D_SANDBOX_INTL_SECRET_ID"), getenv("HY3D_SANDBOX_INTL_SECRET_KEY")
  end
  if getenv("HY3D_SANDBOX_FAULTS") then fault_specs[1] = getenv("HY3D_SANDBOX_FAULTS") end
  local i = 1
  while i <= #argv do
    local a, v = argv[i], argv[i + 1]
    if a == "--help" or a == "-h" then
      return { help = true }
    elseif a == "--log" and (v == nil or v:sub(1, 2) == "--") then
      cfg.log = "-"                                  -- bare --log: stderr, as before
      i = i - 1
    elseif a == "--gateway-credits" then
      cfg.gateway_credits = true
      i = i - 1
    elseif a == "--all-credits" then
      cfg.all_credits = true
      i = i - 1
    elseif a == "--no-ranges" then
      cfg.ranges = false
      i = i - 1
    elseif not (NUMERIC[a] or STRING[a] or VALUED[a]) then
      return nil, "unknown argument " .. a
    elseif v == nil then
      return nil, a .. " needs a value"
    elseif NUMERIC[a] then
      local n, err = number_arg(a, v)
      if not n then return nil, err end
      cfg[NUMERIC[a]] = n
    elseif STRING[a] then
      local key = STRING[a]
      if CHOICES[key] and not CHOICES[key][v] then return nil, a .. ": unknown value " .. v end
      cfg[key] = v
    elseif a == "--api-key" or a == "--key" then keys[#keys + 1] = v
    elseif a == "--secret-id" then ids[#ids + 1] = v
    elseif a == "--secret-key" then secret_keys[#secret_keys + 1] = v
    elseif a == "--region" then regions[#regions + 1] = v
    elseif a == "--intl-secret-id" then intl_ids[#intl_ids + 1] = v
    elseif a == "--intl-secret-key" then intl_keys[#intl_keys + 1] = v
    elseif a == "--intl-region" then intl_regions[#intl_regions + 1] = v
    elseif a == "--fault" then fault_specs[#fault_specs + 1] = v
    elseif a == "--family" then
      local def, err = families.parse(v)
      if not def then return nil, "--family: " .. err end
      cfg.families = cfg.families or {}
      cfg.families[#cfg.families + 1] = def
    else                                             -- --concurrency
      cfg.concurrency = parse_concurrency(v)
      if not cfg.concurrency then return nil, "--concurrency needs N or family=N,... (families: pro, rapid, ...)" end
    end
    i = i + 2
  end
  if #keys > 0 then cfg.keys = keys end
  if #ids ~= #secret_keys then return nil, "--secret-id and --secret-key come in pairs" end
  if #ids > 0 then
    cfg.secrets = {}
    for n = 1, #ids do cfg.secrets[ids[n]] = secret_keys[n] end
  end
  if #regions > 0 then cfg.regions = regions end
  if #intl_ids ~= #intl_keys then return nil, "--intl-secret-id and --intl-secret-key come in pairs" end
  if #intl_ids > 0 then
    cfg.intl_secrets = {}
    for n = 1, #intl_ids do cfg.intl_secrets[intl_ids[n]] = intl_keys[n] end
  end
  if #intl_regions > 0 then cfg.intl_regions = intl_regions end
  if #fault_specs > 0 then
    local probe = faults.new(1)
    cfg.faults = {}
    for _, spec in ipairs(fault_specs) do
      local rules, err = probe:parse(spec)
      if not rules then return nil, "--fault: " .. err end
      for _, r in ipairs(rules) do cfg.faults[#cfg.faults + 1] = r end
    end
  end
  return cfg
end

--- Command-line entry point (bin/hy3d-sandbox).
local function main(argv)
  local cfg, err = parse_args(argv, os.getenv)
  if not cfg then return fail_usage(err .. " (see `hy3d-sandbox --help`)") end
  if cfg.help then
    io.write(USAGE)
    return 0
  end
  if not cfg.seed then math.randomseed(floor(gettime() * 1000) % 2147483647) end
  local ok, sb = pcall(new, cfg)
  if not ok then return fail_usage(tostring(sb)) end
  local url, lerr = sb:listen()
  if not url then
    io.stderr:write("hy3d-sandbox: cannot listen on ", sb.cfg.host, ":", tostring(sb.cfg.port), ": ", tostring(lerr), "\n")
    return 1
  end
  local ids, intl_ids = {}, {}
  for id in pairs(sb.cfg.secrets) do ids[#ids + 1] = id end
  for id in pairs(sb.cfg.intl_secrets) do intl_ids[#intl_ids + 1] = id end
  table.sort(ids)
  table.sort(intl_ids)
  io.stdout:write(url, "\n")
  io.stdout:write(format("hy3d-sandbox %s: API keys: %s; SecretIds: %s; intl SecretIds: %s; jobs WAIT %gs, RUN %gs\n",
    VERSION, concat(sb.cfg.keys, ", "), concat(ids, ", "), concat(intl_ids, ", "), sb.cfg.wait_time, sb.cfg.run_time))
  io.stdout:flush()
  sb:run()
  sb:close()
  return 0
end

return { main = main, parse_args = parse_args, usage = USAGE }
