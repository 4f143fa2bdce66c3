--- hy3d.cli.cmd.doctor: `hy3d doctor`: checks the setup (versions, credentials and where they come
-- from, door, site and URL, CA store, proxies, clock skew, whether the account answers) and maps
-- the known confusions (intl credentials on the mainland, a TokenHub key on the gateway, a service
-- not activated) to a one-line fix. Never shows a secret. Version-neutral Lua (5.1 to 5.4, LuaJIT).
local core = require "hy3d.core"
local errors = require "hy3d.error"
local args = require "hy3d.cli.args"
local exit = require "hy3d.cli.exit"

local EXIT = exit.EXIT
local CONNECT_HELP, OUTPUT_HELP = args.CONNECT_HELP, args.OUTPUT_HELP

local USAGE = [[
usage: hy3d doctor [options]

Checks the setup, one line per check (ok, warn or fail, and the fix): hy3d, Lua, libcurl and
TLS versions; which door and credentials are in effect and where they come from (never the
secret itself); the site and URL; the CA store; the proxy variables (passwords left out); the
clock against the server's Date header; and whether the account answers (a query of a JobId
that does not exist: nothing is submitted, nothing is billed). Known confusions get their fix:
international credentials on the mainland site (or the reverse), a TokenHub key on the gateway
(or the reverse), a service not activated, a clock too far off for signatures. Exits 0 when no
check fails, else with the exit code of the first failure (3 credentials, 4 network, 6 account).

]] .. CONNECT_HELP .. "\n" .. OUTPUT_HELP

-- ===== what the answers mean, per door (Lua data) =====

-- The JobId the account check asks for: one no door has (a query is free and submits nothing).
local PROBE_ID = "1000000000000000000"

-- Error codes of that query meaning "the credentials were accepted, the job is unknown".
local AUTH_OK = {
  gateway = { "FailedOperation.JobNotFound", "ResourceNotFound" },
  api3 = { "FailedOperation.JobNotFound", "ResourceNotFound", "InvalidParameter" },
  tokenhub = { "FailedOperation.JobNotFound", "ResourceNotFound" },
  mps = { "ResourceNotFound", "FailedOperation.JobNotFound", "InvalidParameter" },
}

-- Codes meaning the account has no (usable) Hunyuan 3D service: reference §7.1, landscape row 5.
local NOT_ACTIVATED = {
  ["ResourceUnavailable.NotExist"] = "the service is not activated for this account (计费状态未知)",
  ["FailedOperation.ServiceNotActivated"] = "the service is not activated for this account",
  ["ResourceInsufficient"] = "the account has no credits left, or the service was activated only just now",
  ["FailedOperation.ResourcePackExhausted"] = "the account's resource pack is used up",
  ["FailedOperation.FreeResourcePackExhausted"] = "the account's free credits are used up",
  ["FailedOperation.ServiceStop"] = "the service is stopped for this account",
  ["FailedOperation.ServiceStopArrears"] = "the service is stopped for this account: it is in arrears",
  ["UnauthorizedOperation"] = "the account (a sub-account?) may not use Hunyuan 3D",
  ["AuthFailure.UnauthorizedOperation"] = "the account (a sub-account?) may not use Hunyuan 3D",
}

local CONSOLE = {
  mainland = "https://console.cloud.tencent.com/ai3d",
  intl = "https://console.tencentcloud.com/hunyuan",
}

-- Codes of a refused credential (the other site's account, or none), on API 3.0 and MPS.
local PAIR_REFUSED = { ["AuthFailure.SignatureFailure"] = true, ["AuthFailure.SecretIdNotFound"] = true,
                       ["AuthFailure.InvalidSecretId"] = true, ["ResourceUnavailable"] = true }

local MAX_SKEW = 300          -- seconds: TC3 signatures older or newer than this are SignatureExpire
local WARN_SKEW = 60

local DOOR_WORDS = { gateway = "the gateway", api3 = "API 3.0", tokenhub = "TokenHub", ["local"] = "a self-hosted server",
                     mps = "MPS" }

local function member(list, code)
  code = tostring(code or "")
  for _, c in ipairs(list or {}) do
    if code == c or code:sub(1, #c + 1) == c .. "." then return true end
  end
  return false
end

-- ===== small helpers =====

-- A credential shown without its secret: its first characters when they are a known prefix.
local function masked(value)
  local prefix = value:match("^(sk%-)") or value:match("^(AKID)") or ""
  return prefix .. "…(redacted)"
end

-- A proxy URL without its user name and password.
local function without_userinfo(url)
  local scheme, rest = url:match("^(%a[%w+.-]*://)(.*)$")
  if not scheme then scheme, rest = "", url end
  local authority, path = rest:match("^([^/]*)(.*)$")
  local at = authority:find("@[^@]*$")
  if at then authority = "…(redacted)" .. authority:sub(at) end
  return scheme .. authority .. path
end

-- The host of a URL (lowercase), without port or userinfo.
local function host_of(url)
  local authority = tostring(url):match("^%a[%w+.-]*://([^/?#]*)") or ""
  authority = authority:gsub("^.*@", "")
  return (authority:match("^%[([^%]]+)%]") or authority:match("^([^:]*)") or ""):lower()
end

-- Whether NO_PROXY's list covers host (libcurl's rule: *, a name, or a domain suffix).
local function no_proxy_covers(list, host)
  for entry in tostring(list or ""):gmatch("[^,%s]+") do
    entry = entry:lower():gsub("^%.", "")
    if entry == "*" or host == entry or host:sub(-(#entry + 1)) == "." .. entry then return true end
  end
  return false
end

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11,
                 Dec = 12 }

-- An HTTP date (IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT") as UNIX seconds, or nil.
local function http_date(s)
  local d, mon, y, h, mi, sec = tostring(s):match("^%a+, (%d%d?) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  local m = MONTHS[mon or ""]
  if not m then return nil end
  y, m, d = tonumber(y), m, tonumber(d)
  -- days from 1970-01-01 to y-m-d (the proleptic Gregorian calendar), without integer division
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end

-- ===== the report =====

local Report = {}
Report.__index = Report

-- One check: status "ok", "warn" or "fail"; `fix` one line; `exit` the code a failure gives; `extra`
-- fields for the JSON line.
function Report:add(name, status, message, fix, exit_code, extra)
  local c = { check = name, status = status, message = message, fix = fix }
  for k, v in pairs(extra or {}) do c[k] = v end
  self.checks[#self.checks + 1] = c
  if status == "fail" and not self.exit then self.exit = exit_code or EXIT.api end
  local ctx = self.ctx
  if ctx.json then
    local e = { event = "check" }
    for k, v in pairs(c) do e[k] = v end
    ctx:emit(e)
  else
    ctx:out(("%-4s  %-11s %s%s\n"):format(status, name, message, fix and ("; fix: " .. fix) or ""))
  end
end

function Report:finish()
  local n = { ok = 0, warn = 0, fail = 0 }
  for _, c in ipairs(self.checks) do n[c.status] = n[c.status] + 1 end
  local code = self.exit or EXIT.ok
  if self.ctx.json then
    self.ctx:emit { event = "summary", ok = n.ok, warn = n.warn, fail = n.fail, exit = code }
  else
    self.ctx:out(("%d ok, %d warn, %d fail\n"):format(n.ok, n.warn, n.fail))
  end
  return code
end

-- ===== the checks =====

local function check_versions(r)
  local hy3d = require "hy3d"
  local lua = rawget(_G, "jit") and tostring(rawget(_G, "jit").version) or _VERSION
  local tls = core.curl_ssl_version ~= "" and core.curl_ssl_version or nil
  local extra = { hy3d = hy3d._VERSION, lua = lua, curl = core.curl_version, tls = tls }
  if not core.curl_ssl then
    r:add("versions", "fail", ("hy3d %s, %s, libcurl %s without TLS"):format(hy3d._VERSION, lua, core.curl_version),
      "install a libcurl built with TLS (Debian: libcurl4-openssl-dev, then rebuild hy3d)", EXIT.network, extra)
    return
  end
  r:add("versions", "ok", ("hy3d %s, %s, libcurl %s, %s"):format(hy3d._VERSION, lua, core.curl_version,
    tostring(tls)), nil, nil, extra)
end

-- A variable's value when it is set to something other than blanks: ctx's getenv first (the
-- command's environment), then the process's; nil otherwise.
local function set_env(ctx, name)
  local v = ctx and ctx.getenv(name) or os.getenv(name)
  if v and v:match("%S") then return v end
end

-- The credentials in effect and where they come from (the variables connect.lua reads).
local function credential_words(o, door)
  local parts = {}
  local function env(name) return set_env(nil, name) end
  if door == "gateway" or door == "tokenhub" then
    local key, from = o.api_key, "--api-key"
    if not key then key, from = env("HY3D_API_KEY"), "HY3D_API_KEY" end
    if key then parts[#parts + 1] = ("api key %s, from %s"):format(masked(key), from) end
  elseif door == "api3" or door == "mps" then
    local id = env("TENCENTCLOUD_SECRET_ID")
    if id then parts[#parts + 1] = ("SecretId %s, from TENCENTCLOUD_SECRET_ID"):format(masked(id)) end
    if env("TENCENTCLOUD_SECRET_KEY") then parts[#parts + 1] = "SecretKey (redacted), from TENCENTCLOUD_SECRET_KEY" end
    if env("TENCENTCLOUD_SESSION_TOKEN") then parts[#parts + 1] = "a session token, from TENCENTCLOUD_SESSION_TOKEN" end
  else
    parts[#parts + 1] = "none (a self-hosted server takes none)"
  end
  return table.concat(parts, "; ")
end

local function check_proxy(r, ctx, url)
  local function env(name) return set_env(ctx, name) end
  local seen, shown = {}, {}
  for _, name in ipairs { "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy" } do
    local v = env(name)
    if v then
      seen[name] = v
      shown[#shown + 1] = ("%s=%s"):format(name, name:lower() == "no_proxy" and v or without_userinfo(v))
    end
  end
  if #shown == 0 then
    r:add("proxy", "ok", "no proxy variable is set: connections are direct")
    return
  end
  local scheme = tostring(url or ""):match("^(%a+)://")
  local proxy
  if scheme == "https" then proxy = seen.https_proxy or seen.HTTPS_PROXY else proxy = seen.http_proxy end
  proxy = proxy or seen.all_proxy or seen.ALL_PROXY
  local host = host_of(url or "")
  local via = "connections are direct"
  if proxy and url and not no_proxy_covers(seen.no_proxy or seen.NO_PROXY, host) then
    via = ("requests to %s go through %s"):format(host, without_userinfo(proxy))
  end
  r:add("proxy", "ok", table.concat(shown, " ") .. "; " .. via, nil, nil,
    { proxy = proxy and without_userinfo(proxy) or nil })
end

local function check_ca(r, ctx, url)
  local function env(name) return set_env(ctx, name) end
  local file, dir = core.curl_cainfo ~= "" and core.curl_cainfo or nil, core.curl_capath ~= "" and core.curl_capath or nil
  local where = {}
  if file then where[#where + 1] = "file " .. file end
  if dir then where[#where + 1] = "directory " .. dir end
  local message = ("libcurl's CA store: %s"):format(#where > 0 and table.concat(where, ", ") or "the TLS library's default")
  local https = tostring(url or ""):match("^https://") ~= nil
  local readable = file and io.open(file, "rb")
  if readable then readable:close() end
  -- variables other tools read: libcurl's library uses its own store, so one naming another
  -- place is a surprise (the curl tool reads CURL_CA_BUNDLE, OpenSSL's default SSL_CERT_FILE/DIR)
  local ignored = {}
  for _, v in ipairs { { "CURL_CA_BUNDLE", file }, { "SSL_CERT_FILE", file }, { "SSL_CERT_DIR", dir } } do
    local value = env(v[1])
    if value and value ~= v[2] then ignored[#ignored + 1] = v[1] end
  end
  local extra = { ca_file = file, ca_path = dir }
  if file and not readable and https then
    r:add("ca", "fail", message .. " cannot be read", "install the CA certificates (Debian: ca-certificates)",
      EXIT.network, extra)
  elseif #ignored > 0 and file then
    r:add("ca", "warn", message .. "; " .. table.concat(ignored, ", ") .. " point elsewhere: hy3d "
      .. "(libcurl's library) does not read them",
      "put the certificate in " .. file .. " (update-ca-certificates), or unset the variable", nil, extra)
  else
    r:add("ca", "ok", message, nil, nil, extra)
  end
end

-- The clock against the Date header of the last answer the client received.
local function check_clock(r, client, signs)
  local date, date_at
  if client then date, date_at = client:server_date() end
  local server = date and date_at and http_date(date)
  if not server then
    r:add("clock", "warn", "no Date header from the server (no answer, or none sent): the clock was not compared", nil)
    return nil
  end
  local skew = server - date_at                    -- seconds the server is ahead of this machine
  local extra = { skew = skew, server_date = date }
  local words = skew == 0 and "agrees with the server's (within a second)"
    or ("is %d s %s the server's"):format(math.abs(skew), skew > 0 and "behind" or "ahead of")
  local fix = "sync this machine's clock (e.g. `timedatectl set-ntp true`, or ntpdate/chrony)"
  if math.abs(skew) >= MAX_SKEW and signs then
    r:add("clock", "fail", ("this machine's clock %s: signatures expire past %d s (AuthFailure.SignatureExpire)")
      :format(words, MAX_SKEW), fix, EXIT.auth, extra)
  elseif math.abs(skew) >= WARN_SKEW then
    r:add("clock", "warn", "this machine's clock " .. words, fix, nil, extra)
  else
    r:add("clock", "ok", "this machine's clock " .. words, nil, nil, extra)
  end
  return skew
end

-- A client for another door or site, with the same credentials (for the cross checks); nil when
-- none can be made. Nothing of it is left on ctx.
local function other_client(ctx, o, door, site)
  local o2 = {}
  for k, v in pairs(o) do o2[k] = v end
  o2.door, o2.site = door, site
  if o2.retries ~= nil then o2.retries = ("%d"):format(o2.retries) end   -- parsed once already: text again
  local shadow = setmetatable({ client = false }, { __index = ctx })
  local ok, client = pcall(ctx.connect, shadow, o2, "pro", nil, nil)
  if ok and client then return client end
  return nil
end

-- The probe: a query of a JobId no door has. Returns the answer or nil, err.
local function probe(ctx, client)
  return ctx:drive(function() return client:query(PROBE_ID, { kind = "pro" }) end)
end

local function accepted(door, res, err)
  return res ~= nil or (type(err) == "table" and err.kind == "api" and member(AUTH_OK[door], err.code))
end

local function check_account(r, ctx, o, client)
  local door, site = ctx.door, ctx.site
  local url = without_userinfo(tostring(client.base_url))
  if door == "local" then
    local res, err = ctx:drive(function() return client:health() end)
    if res then
      r:add("account", "ok", ("the self-hosted server at %s answers: %s"):format(url, errors.text(res.Status)))
    else
      r:add("account", "warn", ("the self-hosted server at %s has no health check (%s)"):format(url,
        errors.text(err and err.code)), "a Hunyuan3D-2.1 api_server.py has /health; 2 has none")
    end
    return
  end
  local res, err = probe(ctx, client)
  if accepted(door, res, err) then
    r:add("account", "ok", ("%s at %s accepts the credentials (a query of an unknown job: %s)"):format(
      DOOR_WORDS[door], url, res and "found" or errors.text(err.code)), nil, nil, { code = err and err.code })
    return
  end
  local code = type(err) == "table" and tostring(err.code or "") or ""
  local extra = { code = err and err.code, http_status = err and err.http_status }
  if NOT_ACTIVATED[code] then
    r:add("account", "fail", ("%s answers %s: %s"):format(DOOR_WORDS[door], code, NOT_ACTIVATED[code]),
      ("activate Hunyuan 3D (or buy credits) in the console: %s"):format(CONSOLE[site] or CONSOLE.mainland),
      EXIT.api, extra)
    return
  end
  if code == "AuthFailure.SignatureExpire" then
    r:add("account", "fail", "API 3.0 refused the signature as expired (AuthFailure.SignatureExpire)",
      "sync this machine's clock (the clock check gives the skew)", EXIT.auth, extra)
    return
  end
  local refused_key = (door == "gateway" or door == "tokenhub") and type(err) == "table"
    and (err.http_status == 401 or err.http_status == 403 or code:match("invalid_api_key") or code:match("^401"))
  if refused_key then
    local other = door == "gateway" and "tokenhub" or "gateway"
    local alt = other_client(ctx, o, other, site)
    local ares, aerr
    if alt then
      ares, aerr = probe(ctx, alt)
      alt:close()
    end
    local from = o.api_key and "--api-key" or "HY3D_API_KEY"
    if alt and accepted(other, ares, aerr) then
      local fix = other == "tokenhub" and "add --door tokenhub (or set HY3D_DOOR=tokenhub)"
        or "use --door gateway (or set HY3D_DOOR=gateway)"
      r:add("account", "fail", ("%s refused %s, which is a %s key"):format(DOOR_WORDS[door], from,
        other == "tokenhub" and "TokenHub" or "3D gateway"), fix, EXIT.auth, extra)
    else
      r:add("account", "fail", ("%s refused %s (%s)"):format(DOOR_WORDS[door], from, code ~= "" and code or "HTTP "
        .. tostring(err.http_status)), door == "gateway" and "create a key on the Hunyuan 3D console's API KEY page "
        .. "(https://console.cloud.tencent.com/ai3d) and set HY3D_API_KEY" or "check HY3D_API_KEY: a TokenHub key "
        .. "(sk-...) from the TokenHub console", EXIT.auth, extra)
    end
    return
  end
  if (door == "api3" or door == "mps") and PAIR_REFUSED[code] then
    local other = site == "intl" and "mainland" or "intl"
    local alt = other_client(ctx, o, door, other)
    local ares, aerr
    if alt then
      ares, aerr = probe(ctx, alt)
      alt:close()
    end
    if alt and accepted(door, ares, aerr) then
      local fix = other == "intl" and "add --site intl (or set HY3D_SITE=intl)"
        or "use --site mainland (or unset HY3D_SITE)"
      r:add("account", "fail", ("the %s site refused TENCENTCLOUD_SECRET_ID (%s): these are %s credentials")
        :format(site, code, other == "intl" and "international (tencentcloud.com)" or "mainland (cloud.tencent.com)"),
        fix, EXIT.auth, extra)
    else
      r:add("account", "fail", ("%s refused the credentials (%s)"):format(DOOR_WORDS[door], code),
        "check TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY in the CAM console (API keys page)", EXIT.auth, extra)
    end
    return
  end
  if type(err) == "table" and err.kind == "api" and code:match("^AuthFailure") then
    r:add("account", "fail", ("%s refused the credentials (%s)"):format(DOOR_WORDS[door], code),
      "check TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_SESSION_TOKEN when set)", EXIT.auth, extra)
    return
  end
  local kind = type(err) == "table" and err.kind
  if kind == "network" or kind == "http" or kind == "decode" or kind == "timeout" then
    local fix = "check the URL, the network and the proxy variables"
    if code:match("SSL") or code:match("PEER") or code:match("CERT") then fix = "check the CA store (see the ca check)" end
    r:add("account", "fail", ("cannot reach %s at %s: %s"):format(DOOR_WORDS[door], url,
      errors.text(err.message or code)), fix, EXIT.network, extra)
    return
  end
  r:add("account", "warn", ("%s answered the probe with %s: %s"):format(DOOR_WORDS[door], code,
    errors.text(type(err) == "table" and err.message)), nil, nil, extra)
end

local function cmd_doctor(ctx, o, pos)
  if #pos > 0 then return ctx:fail(exit.usage_error("takes no arguments")) end
  local r = setmetatable({ ctx = ctx, checks = {} }, Report)
  if o.retries == nil then o.retries = "1" end     -- a check, not a job: one retry, then the answer
  check_versions(r)
  local client, err = ctx:connect(o, nil, nil, nil)
  if not client then
    local e = exit.translate(err, ctx.door, ctx.language)
    local code = exit.exit_code(e)
    local fix = e.code == "NO_CREDENTIALS" and "set HY3D_API_KEY (the gateway) or TENCENTCLOUD_SECRET_ID and "
      .. "TENCENTCLOUD_SECRET_KEY (API 3.0)" or nil                -- the other messages say what to change
    r:add("credentials", "fail", errors.text(e.message), fix, code, { code = e.code })
    check_ca(r, ctx, nil)
    check_proxy(r, ctx, nil)
    return r:finish()
  end
  local door = ctx.door
  r:add("credentials", "ok", ("%s: %s"):format(DOOR_WORDS[door] or door, credential_words(o, door)), nil, nil,
    { door = door })
  local url = without_userinfo(tostring(client.base_url))          -- a URL may carry a user and password
  r:add("door", "ok", ("%s, site %s, at %s (door: %s; site: %s)"):format(DOOR_WORDS[door] or door, ctx.site,
    url, ctx.door_why, ctx.site_why), nil, nil, { door = door, site = ctx.site, url = url })
  check_ca(r, ctx, client.base_url)
  check_proxy(r, ctx, client.base_url)
  check_account(r, ctx, o, client)
  local pair = door == "api3" or door == "mps"
  if door ~= "local" then check_clock(r, client, pair) end
  client:close()
  return r:finish()
end

return { usage = USAGE, run = cmd_doctor, http_date = http_date, without_userinfo = without_userinfo }
