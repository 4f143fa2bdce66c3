--- hy3d.cli.connect: the client of a command: the credentials and URLs resolved from flags and
-- the process environment (so that every message names a flag or a variable), the door chosen
-- (gateway, API 3.0, TokenHub, local: a self-hosted server, or MPS) and why, the site (mainland or
-- intl), then hy3d.new. `ctx` is the run's context (hy3d.cli.context): its secret, warn and getenv,
-- and the fields door, door_why, site, site_why, key_from, language, client it sets.
-- The library checks the same credentials again (hy3d.new): the CLI checks first only to name the
-- variable or flag a user can fix. Version-neutral Lua (5.1 to 5.4, LuaJIT).
local doors = require "hy3d.doors"
local sites = require "hy3d.sites"
local errors = require "hy3d.error"
local validate = require "hy3d.validate"
local args = require "hy3d.cli.args"
local exit = require "hy3d.cli.exit"
local output = require "hy3d.cli.output"

local usage_error, cli_words, bare = exit.usage_error, exit.cli_words, exit.bare
local number_option = args.number_option
local MIN_SECRET = output.MIN_SECRET

local M = {}

-- A credentials error: exit 3, a message that names variables and flags.
local function credentials_error(code, message)
  return errors.new { kind = "invalid", code = code, message = message }
end

-- A variable of the process environment (the library's credentials live there), trimmed; nil
-- when unset or blank.
local function process_env(name)
  local v = os.getenv(name)
  if not v then return nil end
  v = v:match("^%s*(.-)%s*$")
  if v == "" then return nil end
  return v
end

local loopback = validate.loopback

-- Each door as a message names it.
local DOOR_WORDS = { gateway = "the gateway", api3 = "API 3.0", tokenhub = "TokenHub", ["local"] = "a self-hosted server",
                     mps = "MPS" }

-- Which door (gateway, api3, tokenhub, local, mps: hy3d.doors' names) a command uses, from --door, HY3D_DOOR, the job's
-- kind, the job record and the credentials that are set; and why, in the words of the command line.
-- `kind`/`kind_from` (a phrase) and `rec` (the job record's entry) are optional.
local function choose_door(self, o, cred, kind, kind_from, rec)
  local chosen, by = o.door, "--door"
  if not chosen then
    chosen, by = self.getenv("HY3D_DOOR"), "HY3D_DOOR"
    if chosen and not chosen:match("%S") then chosen = nil end
  end
  if chosen then
    chosen = chosen:match("^%s*(.-)%s*$"):lower()
    if not doors.get(chosen) then
      return nil, usage_error(by .. " is " .. table.concat(doors.names, ", ", 1, #doors.names - 1) .. " or "
        .. doors.names[#doors.names])
    end
    return chosen, (by == "--door" and "--door " or "HY3D_DOOR=") .. chosen
  end
  -- a job recorded on a door whose credentials are set (or that takes none: local) goes back
  -- there; on TokenHub (rapid too) and MPS (texture too) whatever its kind
  local rd = rec and doors.get(rec.door)
  local usable = rd and (rd.credentials == "none" or rd.credentials == "pair" and cred.api3
    or rd.credentials == "key" and cred.key)
  local keeps = usable and rec.door ~= "api3" and rec.door ~= "gateway"
  -- an unrecorded TokenHub JobId carries its model ("hy-3d-3.0:<id>"), which no other door's does
  local id = self.job_id
  if not rec and cred.key and type(id) == "string" and id:match("^hy%-3d%-[%w%.%-]+:.") then
    return "tokenhub", ("the JobId (%s... is a TokenHub job's)"):format(id:match("^(hy%-3d%-[%w%.%-]+:)"))
  end
  if self.site and self.site ~= sites.default then
    -- off the mainland: API 3.0, unless the job was recorded on another door that has this site (mps)
    if not (keeps and sites.door(rec.door, self.site)) then return "api3", self.site_why end
  elseif kind and kind ~= "pro" and not keeps then
    return "api3", kind_from
  end
  if usable then
    if rd.credentials == "none" then
      return rec.door, ("the job record (job %s was submitted to %s)"):format(tostring(rec.job_id),
        DOOR_WORDS[rec.door] or rec.door)
    end
    return rec.door, ("the job record (job %s was submitted through %s)"):format(tostring(rec.job_id),
      DOOR_WORDS[rec.door] or rec.door)
  end
  if cred.key then return "gateway", cred.key_from .. " is set" end
  if cred.api3 or cred.id or cred.secret then return "api3", "TENCENTCLOUD_SECRET_ID is set" end
  return nil, credentials_error("NO_CREDENTIALS", "no credentials: set HY3D_API_KEY for the gateway, or "
    .. "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY for API 3.0")
end
M.choose_door = choose_door

-- The site (mainland or intl) from --site, HY3D_SITE or the job record, and why; or nil, a usage error.
local function choose_site(self, o, rec)
  local site, by = o.site, "--site"
  if not site then
    site, by = self.getenv("HY3D_SITE"), "HY3D_SITE"
    if site and not site:match("%S") then site = nil end
  end
  if site then
    site = site:match("^%s*(.-)%s*$"):lower()
    if site ~= "mainland" and site ~= "intl" then return nil, usage_error(by .. " is mainland or intl") end
    return site, (by == "--site" and "--site " or "HY3D_SITE=") .. site
  end
  if rec and rec.site == "intl" then
    return "intl", ("the job record (job %s was submitted on the intl site)"):format(tostring(rec.job_id))
  end
  return "mainland", "the default"
end
M.choose_site = choose_site

-- Creates the client of a command: the credentials and URLs resolved here, so that every
-- message names a flag or a variable. `kind`, `kind_from` and `rec` decide the door (see
-- choose_door).
function M.connect(self, o, kind, kind_from, rec)
  local hy3d = require "hy3d"
  if o.api_key then
    self:secret(o.api_key)
    self:warn("--api-key shows the key in the process list and shell history; prefer HY3D_API_KEY")
  end
  local valid, err = number_option(o, "retries", "--retries", 0, true)
  if not valid then return nil, err end
  local cred = { key = o.api_key and o.api_key:match("^%s*(.-)%s*$"), key_from = "--api-key" }
  if cred.key == "" then cred.key = nil end
  if not o.api_key then cred.key, cred.key_from = process_env("HY3D_API_KEY"), "HY3D_API_KEY" end
  cred.id, cred.secret = process_env("TENCENTCLOUD_SECRET_ID"), process_env("TENCENTCLOUD_SECRET_KEY")
  cred.token = process_env("TENCENTCLOUD_SESSION_TOKEN")
  cred.api3 = cred.id ~= nil and cred.secret ~= nil
  for _, c in ipairs { { cred.key, cred.key_from }, { cred.id, "TENCENTCLOUD_SECRET_ID" },
                       { cred.secret, "TENCENTCLOUD_SECRET_KEY" }, { cred.token, "TENCENTCLOUD_SESSION_TOKEN" } } do
    if c[1] and c[1]:find("%c") then
      return nil, credentials_error("BAD_CREDENTIALS", c[2] .. " contains control characters")
    end
    if c[1] and c[2] ~= "TENCENTCLOUD_SECRET_ID" and #c[1] < MIN_SECRET then
      return nil, credentials_error("BAD_CREDENTIALS", ("%s is too short to be a credential (fewer than %d "
        .. "characters): check what it is set to"):format(c[2], MIN_SECRET))
    end
  end
  local language, language_from = o.language, "--language"
  if not language then language, language_from = self.getenv("HY3D_LANGUAGE"), "HY3D_LANGUAGE" end
  if language and language:match("%S") then
    language = ({ ["en-us"] = "en-US", ["zh-cn"] = "zh-CN" })[language:match("^%s*(.-)%s*$"):lower()]
    if not language then return nil, usage_error(language_from .. " is en-US or zh-CN") end
  else
    language = nil
  end
  local site, site_why = choose_site(self, o, rec)
  if not site then return nil, site_why end
  self.site, self.site_why = site, site_why
  local door, why = choose_door(self, o, cred, kind, kind_from, rec)
  if not door then return nil, why end
  if door == "gateway" and site == "intl" then
    return nil, usage_error(("%s chose the gateway, which has no international site (%s): the intl site is "
      .. "API 3.0, with TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY"):format(why, site_why))
  end
  self.door, self.door_why, self.key_from, self.language = door, why, cred.key_from, language
  local takes = doors.get(door).credentials
  local pair = takes == "pair"                            -- api3 and mps sign with the SecretId pair
  local words = DOOR_WORDS[door]
  if door == "tokenhub" then
    if not cred.key then
      return nil, credentials_error("NO_CREDENTIALS", why .. " chose TokenHub, but HY3D_API_KEY is not set "
        .. "(a TokenHub key, sk-...)")
    end
  elseif door == "gateway" then
    if kind and kind ~= "pro" then
      return nil, errors.new { kind = "invalid", code = "KIND_NEEDS_API3",
        message = ("%s chose the gateway, which offers only pro jobs; a %s job needs API 3.0 (--door api3)"):format(
          why, kind) }
    end
    if not cred.key then
      return nil, credentials_error("NO_CREDENTIALS", why .. " chose the gateway, but HY3D_API_KEY is not set")
    end
  elseif takes ~= "none" and not cred.api3 then       -- local: a self-hosted server takes no credentials
    if cred.id or cred.secret then
      return nil, credentials_error("HALF_CREDENTIALS", ("%s is set but %s is not: %s needs both"):format(
        cred.id and "TENCENTCLOUD_SECRET_ID" or "TENCENTCLOUD_SECRET_KEY",
        cred.id and "TENCENTCLOUD_SECRET_KEY" or "TENCENTCLOUD_SECRET_ID", words))
    end
    local verb = (why:match("^%-%-door") or why:match("^HY3D_DOOR")) and "chose" or "needs"
    return nil, credentials_error("NO_CREDENTIALS", ("%s %s %s: set TENCENTCLOUD_SECRET_ID and "
      .. "TENCENTCLOUD_SECRET_KEY%s"):format(why, verb, words, cred.key and " (HY3D_API_KEY is for the gateway, which offers "
      .. "only pro jobs)" or ""))
  end
  if door == "gateway" and (cred.id ~= nil) ~= (cred.secret ~= nil) then
    self:warn(("%s is set without %s; using the gateway (%s)"):format(
      cred.id and "TENCENTCLOUD_SECRET_ID" or "TENCENTCLOUD_SECRET_KEY",
      cred.id and "TENCENTCLOUD_SECRET_KEY" or "TENCENTCLOUD_SECRET_ID", cred.key_from))
  end
  local flag, var = "--base-url", "HY3D_BASE_URL"
  if pair then flag, var = "--endpoint", "HY3D_ENDPOINT" end
  local url, url_from = o[pair and "endpoint" or "base_url"], flag
  if not url then url, url_from = process_env(var), var end
  -- a self-hosted server has no address hy3d could know: a job recorded on one goes back to it
  if not url and takes == "none" and rec and rec.door == door and type(rec.base_url) == "string" then
    url, url_from = rec.base_url, ("the job record (job %s was submitted to %s)"):format(tostring(rec.job_id), rec.base_url)
  end
  if url then
    if not url:match("^https?://[^/%s]+") then
      return nil, usage_error(url_from .. " must be an http:// or https:// URL")
    end
    if url:match("^http://") and not o.allow_http and not loopback(url) and takes ~= "none" then
      return nil, usage_error(url_from .. " is plain http:// to a host that is not this machine; use https://, "
        .. "or add --allow-http if you mean it")
    end
  end
  local ok, client = pcall(hy3d.new, {
    door = door,
    site = site,
    api_key = takes == "key" and cred.key or nil,
    secret_id = pair and cred.id or nil, secret_key = pair and cred.secret or nil,
    token = pair and cred.token or nil,
    base_url = not pair and url or nil, endpoint = pair and url or nil,
    region = o.region, max_retries = o.retries, allow_http = o.allow_http or nil,
    max_credits = type(o.max_credits) == "number" and o.max_credits or nil,      -- --max-credits (hy3d.cli.budget)
    max_concurrent_jobs = o.concurrency,                           -- hy3d batch --concurrency
    language = pair and language or nil,                           -- the gateway has no such choice
    validate = not o.no_validate,
    cache_dir = o.cache })                                         -- else HY3D_CACHE_DIR (hy3d.options)
  -- hy3d.new raises a message string; the credentials it checks (length, control characters)
  -- were checked above, naming the variable, so what is left is a usage error
  if not ok then return nil, usage_error(cli_words(bare(client))) end
  self.client = client
  return client
end

return M
