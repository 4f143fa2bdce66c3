--- hy3d.options: the option defaults and types of hy3d.new and of every method, check_options (a
-- typo is never silent), max_credits (else HY3D_MAX_CREDITS), the credentials and door (options
-- first, then the environment: trimmed, never shorter than MIN_SECRET), URL checks, and hy3d.new's
-- options turned into the settings of a client, its transport and its engine. Depends on hy3d.core (version strings), hy3d.doors,
-- hy3d.sites (the site's door) and hy3d.validate (loopback).
local core = require "hy3d.core"
local doors = require "hy3d.doors"
local sites = require "hy3d.sites"
local validate = require "hy3d.validate"

local VERSION = core._VERSION

--- Option defaults (environment variables come first: HY3D_API_KEY, HY3D_BASE_URL for the
-- gateway; TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY, TENCENTCLOUD_SESSION_TOKEN,
-- TENCENTCLOUD_REGION and HY3D_ENDPOINT for API 3.0).
local DEFAULTS = {
  base_url = "https://api.ai3d.cloud.tencent.com",
  endpoint = "https://ai3d.tencentcloudapi.com",
  region = "ap-guangzhou",
  version = "2025-05-13",
  timeout = 60,           -- seconds per HTTP request
  connect_timeout = 10,   -- seconds to connect
  poll_interval = 5,      -- seconds between polls in wait
  wait_timeout = 1800,    -- seconds wait polls before giving up (the job goes on)
  stall = 30,             -- seconds an API response may go without a byte
  max_retries = 3,        -- retries after the first try (reads; submits only when provably unsent)
  retry_base = 1,         -- seconds: backoff base (full jitter: random in [0, base * 2^n])
  retry_max = 30,         -- seconds: the longest pause between tries (and the longest Retry-After honoured)
}

local OPTION_TYPES = {
  api_key = "string", base_url = "string", auth_scheme = "string", door = "string", service = "string", timeout = "number",
  connect_timeout = "number", poll_interval = "number", user_agent = "string", yield = "function",
  secret_id = "string", secret_key = "string", token = "string", region = "string", endpoint = "string",
  version = "string", language = "string", stall = "number", max_retries = "number", retry_base = "number",
  retry_max = "number", on_retry = "function", retry_submit = "boolean", max_concurrent_jobs = "number",
  validate = "boolean", ca_file = "string", ca_path = "string", insecure = "boolean", allow_http = "boolean",
  log = "function", debug = "boolean", retry_jitter = "function", site = "string", stuck_timeout = "number",
  sync_generate = "boolean", cache_dir = "string", max_credits = "number",
}

--- The options of each method, by name and type.
local METHOD_OPTIONS = {
  submit = { kind = "string", dry_run = "boolean" },
  query = { kind = "string" },
  wait = { interval = "number", timeout = "number", on_status = "function", kind = "string" },
  download = { timeout = "number", stall = "number", max_bytes = "number", on_progress = "function",
               resume = "boolean", refresh = "function", min_rate = "number", min_avg_rate = "number" },
  download_files = { formats = "table", dir = "string", name = "string", extract = "boolean", on_progress = "function",
                     max_bytes = "number", kind = "string", timeout = "number", stall = "number" },
  generate = { kind = "string", formats = "table", dir = "string", name = "string", extract = "boolean",
               on_submit = "function", on_status = "function", on_progress = "function",
               interval = "number", timeout = "number", max_bytes = "number", download_timeout = "number",
               cache = "boolean", dry_run = "boolean" },
}

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return table.concat(keys, ", ")
end

-- What check_options gives for no options: one shared table (no garbage per call), read-only.
local NO_OPTIONS = setmetatable({}, { __newindex = function() error("hy3d: internal: NO_OPTIONS is read-only", 2) end })

--- Raises on unknown names and wrong types: a typo must never be silent. `level` is the level of
-- the function that calls check_options (the error is raised at its caller). Returns opts, or a
-- shared empty read-only table for nil.
local function check_options(what, opts, types, level)
  if opts == nil then return NO_OPTIONS end
  if type(opts) ~= "table" then error(what .. ": options must be a table", level + 1) end
  for k, v in pairs(opts) do
    local want = types[k]
    if not want then
      error(("%s: unknown option '%s' (known: %s)"):format(what, tostring(k), sorted_keys(types)), level + 1)
    end
    if type(v) ~= want then
      error(("%s: option '%s' must be a %s, got %s"):format(what, k, want, type(v)), level + 1)
    end
  end
  return opts
end

--- An environment variable, or nil when unset or blank.
local function env(name)
  local v = os.getenv(name)
  if v and v:match("%S") then return v end
  return nil
end

-- Secrets shorter than this are refused: no real one is (an API key, a SecretKey and an STS
-- token are far longer), and one this short turns up inside ordinary words, where redacting it
-- would mangle every message (and a real word could not be told from the key).
local MIN_SECRET = 8

-- A credential as given (trimmed; nil when empty). `what` names where it came from (an option or
-- a variable). For the values that must be kept out of messages, `secret` says what it is and
-- `also` names its other source: shorter than MIN_SECRET raises, naming both and never the value.
local function trimmed(v, what, secret, also, level)
  if v == nil then return nil end
  v = v:match("^%s*(.-)%s*$")
  level = level or 4
  if v:find("[%c]") then error("hy3d.new: " .. what .. " contains control characters", level) end
  if v == "" then return nil end
  if secret and #v < MIN_SECRET then
    error(("hy3d.new: %s (%s) is shorter than %d characters: no real %s is, and one this short could not be "
      .. "kept out of messages"):format(what, also, MIN_SECRET, secret), level)
  end
  return v
end

local loopback = validate.loopback

local function check_url(v, what, allow_http)
  if not v:match("^https?://[^/%s]+") then
    error(("hy3d.new: %s must be an http:// or https:// URL, got %q"):format(what, v), 4)
  end
  if v:match("^http://") and not allow_http and not loopback(v) then
    error(("hy3d.new: %s is plain http:// to a host that is not loopback; use https://, or pass "
      .. "allow_http = true if you really mean it"):format(what), 4)
  end
  return v
end

-- The key or the SecretId/SecretKey pair, each from its option or else its variables.
local function key_of(opts)
  return trimmed(opts.api_key, "api_key", "API key", "the option; else HY3D_API_KEY", 5)
    or trimmed(env("HY3D_API_KEY"), "HY3D_API_KEY", "API key", "read for api_key", 5)
end
local function pair_of(opts)
  local id, secret = trimmed(opts.secret_id, "secret_id", nil, nil, 5), trimmed(opts.secret_key, "secret_key", "SecretKey",
    "the option; else TENCENTCLOUD_SECRET_KEY", 5)
  if not (id or secret) then
    id = trimmed(env("TENCENTCLOUD_SECRET_ID"), "TENCENTCLOUD_SECRET_ID", nil, nil, 5)
    secret = trimmed(env("TENCENTCLOUD_SECRET_KEY"), "TENCENTCLOUD_SECRET_KEY", "SecretKey", "read for secret_key", 5)
  end
  if (id == nil) ~= (secret == nil) then
    error("hy3d.new: secret_id and secret_key go together (options, or TENCENTCLOUD_SECRET_ID and "
      .. "TENCENTCLOUD_SECRET_KEY)", 5)
  end
  if not id then return nil end
  return { id = id, secret = secret,
    token = trimmed(opts.token, "token", "STS token", "the option; else TENCENTCLOUD_SESSION_TOKEN", 5)
      or trimmed(env("TENCENTCLOUD_SESSION_TOKEN"), "TENCENTCLOUD_SESSION_TOKEN", "STS token", "read for token", 5) }
end

-- The door and its credentials: explicit options first, then the environment. The `door` option
-- (else HY3D_DOOR) names the door; without one the credentials choose it (an api_key the gateway,
-- a SecretId/SecretKey pair API 3.0; within the environment HY3D_API_KEY wins). Returns the door's
-- name (nil when nothing names one) and its credentials ({} when there are none).
local function credentials(opts, site)
  local named, by = opts.door, "door"
  if named == nil then named, by = env("HY3D_DOOR"), "HY3D_DOOR" end
  if named == nil and site ~= sites.default and not (opts.api_key ~= nil and opts.api_key:match("%S")) then
    for _, n in ipairs(doors.names) do                  -- off the mainland: the first door that has the site
      if sites.door(n, site) then named, by = n, "site" break end
    end
  end
  local door = named and doors.get(named)
  if named and not door then
    error(("hy3d.new: %s must be one of %s, got %q"):format(by, table.concat(doors.names, ", "), named), 4)
  end
  local given_key = opts.api_key ~= nil and opts.api_key:match("%S")
  local given_pair = (opts.secret_id or opts.secret_key or ""):match("%S")
  if given_key and given_pair then
    error("hy3d.new: give either api_key (the gateway) or secret_id/secret_key (API 3.0), not both", 4)
  end
  if door and door.credentials == "none" then
    if given_key or given_pair then
      error(("hy3d.new: the %s door takes no credentials, not %s"):format(door.name,
        given_key and "an api_key" or "secret_id and secret_key"), 4)
    end
    return door.name, {}
  end
  if door then
    if door.credentials == "key" and given_pair or door.credentials == "pair" and given_key then
      error(("hy3d.new: the %s door takes %s, not %s"):format(door.name,
        door.credentials == "key" and "an api_key" or "secret_id and secret_key",
        given_key and "an api_key" or "secret_id and secret_key"), 4)
    end
    if door.credentials == "key" then
      local key = key_of(opts)
      return door.name, key and { key = key } or {}
    end
    return door.name, pair_of(opts) or {}
  end
  local key = not given_pair and key_of(opts)
  if key then return "gateway", { key = key } end
  local pair = pair_of(opts)
  if pair then return "api3", pair end
  return nil, {}
end

--- hy3d.new's options (checked by check_options) as the settings of a client: door
-- (a name of hy3d.doors.names, or nil), site ("mainland" or "intl"), door_impl (the door's table on that site),
-- base_url, region, poll_interval, max_concurrent_jobs, validate, cache_dir (else HY3D_CACHE_DIR);
-- `transport` (hy3d.transport.new's argument: engine options, door, retry policy, log, yield,
-- secrets); raises at the caller of hy3d.new on a bad value.
local function settings(opts)
  local site, site_by = opts.site, "site"
  if site == nil then site, site_by = env("HY3D_SITE"), "HY3D_SITE" end
  site = site and site:match("^%s*(.-)%s*$") or sites.default
  local known = false
  for _, n in ipairs(sites.names) do known = known or n == site end
  if not known then
    error(("hy3d.new: %s must be one of %s, got %q"):format(site_by, table.concat(sites.names, ", "), site), 3)
  end
  local door, cred = credentials(opts, site)
  local scheme = opts.auth_scheme
  if scheme ~= nil and scheme:lower() ~= "bearer" then
    error("hy3d.new: auth_scheme must be nil (raw key, as documented) or \"Bearer\"", 3)
  end
  for _, name in ipairs { "timeout", "connect_timeout", "stuck_timeout" } do
    local v = opts[name]
    if v ~= nil and (v ~= v or v <= 0) then error("hy3d.new: " .. name .. " must be > 0", 3) end
  end
  local pi = opts.poll_interval
  if pi ~= nil and (pi ~= pi or pi < 0) then
    error("hy3d.new: poll_interval must be >= 0", 3)
  end
  for _, name in ipairs { "stall", "retry_base", "retry_max" } do
    local v = opts[name]
    if v ~= nil and (v ~= v or v < 0) then error("hy3d.new: " .. name .. " must be >= 0", 3) end
  end
  local language = opts.language
  if language ~= nil and not language:match("^%a%a%-%a%a$") then
    error("hy3d.new: language must be a language tag such as \"en-US\" or \"zh-CN\" (X-TC-Language; API 3.0 "
      .. "only: a gateway client ignores it)", 3)
  end
  local mr, mcj = opts.max_retries, opts.max_concurrent_jobs
  if mr ~= nil and (mr ~= mr or mr < 0 or mr ~= math.floor(mr)) then
    error("hy3d.new: max_retries must be a whole number >= 0", 3)
  end
  if mcj ~= nil and (mcj ~= mcj or mcj < 1 or mcj ~= math.floor(mcj)) then
    error("hy3d.new: max_concurrent_jobs must be a whole number >= 1", 3)
  end
  -- the credits budget (hy3d.credits): the option, else HY3D_MAX_CREDITS
  local max_credits, mc_by = opts.max_credits, "max_credits"
  if max_credits == nil and env("HY3D_MAX_CREDITS") then
    max_credits, mc_by = tonumber((env("HY3D_MAX_CREDITS"):match("^%s*(.-)%s*$"))), "HY3D_MAX_CREDITS"
    if not max_credits then error("hy3d.new: HY3D_MAX_CREDITS must be a number of credits >= 0", 3) end
  end
  if max_credits ~= nil and (max_credits ~= max_credits or max_credits < 0 or max_credits == math.huge) then
    error("hy3d.new: " .. mc_by .. " must be a number of credits >= 0", 3)
  end
  -- a signed door (API 3.0 and its kin) is reached at an `endpoint`, a keyed one at a `base_url`;
  -- the door may bring its own defaults (url, service, version, region), and so may its site
  -- no door named or credentialed: the site's door (API 3.0 off the mainland), for its URL
  local d, why = sites.door(door or (site == sites.default and "gateway" or "api3"), site)
  if not d then error("hy3d.new: " .. why, 3) end
  local signed = d.credentials == "pair"
  local base_url
  if signed then
    base_url = check_url(opts.endpoint or env("HY3D_ENDPOINT") or d.url or DEFAULTS.endpoint, "endpoint", opts.allow_http)
  else
    -- a door without credentials has nothing to leak over plain http (a server on the LAN)
    base_url = check_url(opts.base_url or env("HY3D_BASE_URL") or d.url or DEFAULTS.base_url, "base_url",
      opts.allow_http or d.credentials == "none")
  end
  local cache_dir, cache_by = opts.cache_dir, "cache_dir"
  if cache_dir == nil then cache_dir, cache_by = env("HY3D_CACHE_DIR"), "HY3D_CACHE_DIR" end
  if cache_dir ~= nil and (cache_dir == "" or cache_dir:find("%c")) then
    error("hy3d.new: " .. cache_by .. " must be a folder path", 3)
  end
  local log = opts.log
  if not log and opts.debug then log = function(line) io.stderr:write(line, "\n") end end
  local region = opts.region or env("TENCENTCLOUD_REGION")
  if region == nil and d.region ~= false then region = d.region or DEFAULTS.region end   -- false: the door has none
  local timeout = opts.timeout or DEFAULTS.timeout
  local user_agent = opts.user_agent
    or ("hy3d/%s (libcurl/%s; %s)"):format(VERSION, core.curl_version, _VERSION)
  local secrets = {}
  for _, v in ipairs { "key", "secret", "token" } do secrets[#secrets + 1] = cred[v] end
  return {
    door = door,
    site = site,
    door_impl = d,
    has_credentials = next(cred) ~= nil or d.credentials == "none",
    base_url = base_url,
    region = region,
    poll_interval = opts.poll_interval or DEFAULTS.poll_interval,
    max_concurrent_jobs = mcj,
    max_credits = max_credits,
    validate = opts.validate ~= false,
    cache_dir = cache_dir,                        -- generate's result cache (hy3d.cache)
    transport = {
      engine = {
        base_url = base_url,
        authorization = cred.key and ((scheme or d.auth_scheme) and (doors.gateway.scheme .. " " .. cred.key) or cred.key)
          or nil,
        tc3 = signed and cred.id and {
          secret_id = cred.id, secret_key = cred.secret, token = cred.token, region = region,
          version = opts.version or d.version or DEFAULTS.version, language = language,
          service = opts.service or d.service,
        } or nil,
        envelope = d.envelope,
        user_agent = user_agent,
        timeout = timeout,
        connect_timeout = opts.connect_timeout or DEFAULTS.connect_timeout,
        stall = (opts.stall or DEFAULTS.stall) > 0 and (opts.stall or DEFAULTS.stall) or nil,
        ca_file = opts.ca_file, ca_path = opts.ca_path, insecure = opts.insecure == true,
      },
      door = door,
      door_impl = d,
      door_options = { stuck_timeout = opts.stuck_timeout, sync_generate = opts.sync_generate },
      base_url = base_url,
      request_timeout = timeout,
      yield = opts.yield,
      retry = { max = mr or DEFAULTS.max_retries, base = opts.retry_base or DEFAULTS.retry_base,
                cap = opts.retry_max or DEFAULTS.retry_max, hook = opts.on_retry, submit = opts.retry_submit == true,
                jitter = opts.retry_jitter },
      allow_http = opts.allow_http == true,
      log = log,
      secrets = secrets,
      error_ctx = { door = door, language = signed and language or nil },
    },
  }
end

return {
  defaults = DEFAULTS,
  types = OPTION_TYPES,
  methods = METHOD_OPTIONS,
  check_options = check_options,
  env = env,
  MIN_SECRET = MIN_SECRET,
  settings = settings,
}
