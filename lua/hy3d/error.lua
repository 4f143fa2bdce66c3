--- hy3d errors: every runtime failure is one of these tables, returned as `nil, err`.
-- Fields: kind, code, message, http_status, request_id, job_id, retryable (and, for network
-- errors, curl_code and sent) and, for the codes users commonly meet, `hint`: one line of English
-- on what to do (the service's message may be Chinese). `tostring(err)` gives one readable line,
-- the hint included. Also the redaction of secrets from strings and from whole tables (every
-- string at any depth, keys included). err.retryable, when the maker did not set it, is
-- hy3d.retry's advice (beside what hy3d itself retries, in the same file). Fields the C core
-- sets: http_status, retry_after, curl_code, sent, errno, total.
-- The tags are LDoc's (`make doc`): this module is hy3d.Error.
-- @module hy3d.Error
local core = require "hy3d.core"
local retry = require "hy3d.retry"

local KINDS = {
  network = true,   -- libcurl failure: refused, DNS, TLS, timeout
  http = true,      -- non-2xx status without an API error body
  api = true,       -- the body carries Response.Error
  decode = true,    -- the body is not the JSON the API sends
  job = true,       -- the job ended with Status FAIL
  timeout = true,   -- wait's deadline passed (the job itself goes on)
  invalid = true,   -- caught locally before sending
  callback = true,  -- a user callback (on_status) raised; the job goes on
  io = true,        -- local file trouble
  usage = true,     -- called where hy3d must not wait (a host adapter refused; doc/errors.md lists the codes)
}

local Error = {}
Error.__index = Error
Error.__name = "hy3d.Error"

-- The TLS failures no retry can fix, and the advisory err.retryable: the retry policy's, in hy3d.retry.
local plain_http, tls_permanent = retry.plain_http, retry.tls_permanent

--- Gives e, when it is a TLS handshake that met plain HTTP, the hint naming url's host and port.
-- Returns e.
-- @tparam Error e the error
-- @tparam string url the URL it was sent to
-- @treturn Error e
-- @function hint_plain_http
local function hint_plain_http(e, url)
  if plain_http(e) then
    e.hint = ("the server at %s speaks plain HTTP; use http://"):format(tostring(url):match("^%a+://([^/?#]+)") or "?")
  end
  return e
end

-- One line of English for the codes a user commonly meets (the service answers in Chinese unless
-- X-TC-Language is en-US): the first pattern that matches err.code, for kinds api and job.
local HINTS = {
  { "JobNotFound$", "no such job: a JobId is valid for 24 hours, and only on the door (and site) and "
    .. "account that created it" },
  { "^ResourceNotFound", "not found: a JobId is valid for 24 hours, and only on the door and account that created it" },
  { "^RequestLimitExceeded%.JobNumExceed$", "the account's concurrent jobs are all running (Pro 3, other kinds 1): "
    .. "wait for one to finish, or pass max_concurrent_jobs so submits queue for a slot" },
  { "^RequestLimitExceeded", "too many requests per second: slow down (hy3d retries these after a pause)" },
  { "^AuthFailure%.SignatureExpire$", "the request time is more than 5 minutes off the server's: check this "
    .. "machine's clock" },
  { "^AuthFailure%.SignatureFailure$", "the signature does not match: check the SecretKey "
    .. "(TENCENTCLOUD_SECRET_KEY or secret_key) belongs to the SecretId, and the site: an international "
    .. "(tencentcloud.com) account needs site = \"intl\" (HY3D_SITE, --site), a mainland one the default" },
  { "^AuthFailure%.SecretIdNotFound$", "no such SecretId, or it is disabled: check TENCENTCLOUD_SECRET_ID "
    .. "(or secret_id) in the CAM console, and the site: a mainland (cloud.tencent.com) account is unknown "
    .. "to site = \"intl\", an international one to the mainland" },
  { "^AuthFailure%.InvalidSecretId$", "not a Tencent Cloud API key: a SecretId starts with AKID" },
  { "^AuthFailure%.TokenFailure$", "the STS token (TENCENTCLOUD_SESSION_TOKEN or token) is wrong or has expired" },
  { "UnauthorizedOperation$", "this account may not use ai3d: open the service in the console and grant "
    .. "the (sub-)account the policy QcloudAI3DFullAccess" },
  { "^AuthFailure%.InvalidAuthorization$", "the Authorization header is not TC3-HMAC-SHA256 as hy3d sent it: "
    .. "a proxy may have changed it" },
  { "^AuthFailure", "the credentials were refused: check TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY" },
  { "^InvalidParameterValue", "a parameter's value is outside what the service allows; the message names the "
    .. "field", language = true },
  { "^InvalidParameter", "a parameter has the wrong type or format; the message names the field", language = true },
  { "^MissingParameter", "a required parameter is missing; the message names it" },
  { "^UnknownParameter", "the action has no such parameter: field names are case-sensitive (Prompt, not prompt)" },
  { "^FailedOperation%.DownloadError$", "the service could not fetch a URL given as input: it must be "
    .. "publicly reachable (and a result URL of an earlier job must not have expired)" },
  { "^RequestSizeLimitExceeded", "the request is over 10 MB: send a smaller image, or pass it as ImageUrl" },
  { "^UnsupportedRegion$", "ai3d is offered in ap-guangzhou: set region (or TENCENTCLOUD_REGION) to it" },
  { "^invalid_api_key$", "the API key was refused: check HY3D_API_KEY (or api_key)" },
}

-- What a hint marked `language` adds when asking for English would help: the message is not in
-- English (it holds non-ASCII bytes), it came from an API 3.0 client (the only door that takes
-- X-TC-Language) and that client has not asked for English already. (The command line strips
-- this exact text: keep the two in step.)
local LANGUAGE_HINT = " (language = \"en-US\" on an API 3.0 client gets the message in English)"

local function hint_of(e, ctx)
  if e.kind ~= "api" and e.kind ~= "job" and e.kind ~= "http" then return nil end
  local code = tostring(e.code or "")
  for _, h in ipairs(HINTS) do
    if code:find(h[1]) then
      if h.language and ctx and ctx.door == "api3" and ctx.language ~= "en-US"
          and tostring(e.message or ""):find("[\128-\255]") then
        return h[2] .. LANGUAGE_HINT
      end
      return h[2]
    end
  end
  return nil
end


local MARK = "[redacted]"

-- The secrets longest first (where two start at one place the longer one wins, so no tail of it
-- is left behind), without empty ones. Memoized per list and its length: the client passes the
-- same list again and again, and a list that grows (the command line's) is sorted anew.
local ordered_cache = setmetatable({}, { __mode = "k" })
local function ordered(secrets)
  local memo = ordered_cache[secrets]
  if memo and memo.n == #secrets then return memo.list end
  local list = {}
  for _, secret in ipairs(secrets) do
    if type(secret) == "string" and #secret > 0 then list[#list + 1] = secret end
  end
  table.sort(list, function(a, b) return #a > #b end)
  ordered_cache[secrets] = { n = #secrets, list = list }
  return list
end

--- Replaces every occurrence of each secret in s (plain text, not patterns) with "[redacted]", in
-- one pass from left to right: what it puts in is never looked at again, and a "[redacted]" s
-- already holds is kept whole (a secret that is a word of it, "redacted" say, cannot break it),
-- so redacting twice changes nothing more. A secret starting where a marker starts still wins.
-- @tparam string s the text (anything else is returned as it is)
-- @tparam {string,...} secrets the secrets
-- @treturn string the text, redacted
-- @function redact
local function redact(s, secrets)
  if type(s) ~= "string" then return s end
  local list = ordered(secrets)
  if #list == 0 then return s end
  local next_at = {}                              -- where each secret next occurs (false: nowhere)
  for k, secret in ipairs(list) do next_at[k] = s:find(secret, 1, true) or false end
  local mark_at = s:find(MARK, 1, true) or false
  local out, i = nil, 1
  while true do
    local best, best_k = false, nil
    for k = 1, #list do
      local at = next_at[k]
      if at and at < i then                       -- inside what was just replaced: look again
        at = s:find(list[k], i, true) or false
        next_at[k] = at
      end
      if at and (not best or at < best) then best, best_k = at, k end
    end
    if mark_at and mark_at < i then mark_at = s:find(MARK, i, true) or false end
    if mark_at and (not best or mark_at < best) then      -- a marker already there: keep it whole
      out = out or {}
      out[#out + 1] = s:sub(i, mark_at + #MARK - 1)
      i = mark_at + #MARK
    elseif best then
      out = out or {}
      out[#out + 1] = s:sub(i, best - 1)
      out[#out + 1] = MARK
      i = best + #list[best_k]
    else
      break
    end
  end
  if not out then return s end
  out[#out + 1] = s:sub(i)
  return table.concat(out)
end

-- Redacts every string reachable from v in place: values and keys at any depth (a server's
-- answer can nest an echoed secret anywhere, even as an object key), each table once (cycles).
-- Keys are renamed only for the secrets in `long` (see redact_all). Returns v (a string: its
-- redacted copy).
local function redact_deep(v, secrets, long, seen)
  if type(v) == "string" then return redact(v, secrets) end
  if type(v) ~= "table" or seen[v] then return v end
  seen[v] = true
  local renamed
  for k, x in pairs(v) do
    if type(x) == "string" then
      local r = redact(x, secrets)
      if r ~= x then v[k] = r end                -- an existing field: allowed during next()
    elseif type(x) == "table" then
      redact_deep(x, secrets, long, seen)
    end
    if type(k) == "string" and #long > 0 then
      if redact(k, long) ~= k then
        renamed = renamed or {}
        renamed[#renamed + 1] = k
      end
    elseif type(k) == "table" then
      redact_deep(k, secrets, long, seen)
    end
  end
  for _, k in ipairs(renamed or {}) do           -- new keys only after the traversal
    local x, nk = v[k], redact(k, long)
    v[k] = nil
    if v[nk] == nil then v[nk] = x end
  end
  return v
end

-- Secrets shorter than this rename no key: no real credential is, and a made-up one such as "k"
-- would rename the fields themselves (kind, job_id).
local MIN_KEY_SECRET = 8

--- Redacts `secrets` (a list of strings) from every string reachable from v, in place; returns v.
-- @param v any value (tables are changed in place, keys included)
-- @tparam {string,...} secrets the secrets
-- @return v
-- @function redact_all
local function redact_all(v, secrets)
  if not secrets or #secrets == 0 then return v end
  local long = {}
  for _, secret in ipairs(secrets) do
    if #secret >= MIN_KEY_SECRET then long[#long + 1] = secret end
  end
  return redact_deep(v, secrets, long, {})
end

local MAX_TEXT = 200

--- A value a server sent where text belongs, as text: a string as it is, a number or boolean
-- written out, a table as (at most MAX_TEXT bytes of) its JSON; never "table: 0x…".
-- @param v any value
-- @treturn string the text
-- @function text
local function text(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" or t == "boolean" then return tostring(v) end
  if t == "nil" then return "(none)" end
  if t == "table" then
    local ok, s = pcall(core.encode, v)
    if ok and type(s) == "string" then
      if #s > MAX_TEXT then s = s:sub(1, MAX_TEXT) .. "..." end
      return s
    end
    return "(a table that is not JSON)"
  end
  return "(" .. t .. ")"
end

-- Fields printed by tostring: whatever a server put there becomes text.
local TEXT_FIELDS = { "code", "message", "request_id", "job_id", "status", "hint" }

--- Makes an error from a table of fields (kind is required). `secrets`, if given, is a list of
-- strings that must never appear in the error: they are replaced in every string reachable from
-- it (nested tables such as err.result and keys included). `ctx`, if given, says where the error
-- came from, for the hint: { door = "gateway" | "api3", language = the client's language option }.
-- @tparam table fields the error's fields: kind (required), code, message, ...
-- @tparam[opt] {string,...} secrets strings kept out of it
-- @tparam[opt] table ctx where it came from: door, language
-- @treturn Error the error
function Error.new(fields, secrets, ctx)
  assert(KINDS[fields.kind], "hy3d: unknown error kind " .. tostring(fields.kind))
  local e = setmetatable(fields, Error)
  for _, k in ipairs(TEXT_FIELDS) do
    local v = e[k]
    if v ~= nil and type(v) ~= "string" and type(v) ~= "number" then e[k] = text(v) end
  end
  if secrets then redact_all(e, secrets) end
  if e.message == nil then e.message = e.code or e.kind end
  if e.hint == nil then e.hint = hint_of(e, ctx) end
  if e.retryable == nil then e.retryable = retry.advisory(e) end
  return e
end

--- True when v is an hy3d error.
-- @param v any value
-- @treturn boolean
function Error.is(v)
  return getmetatable(v) == Error
end

function Error:__tostring()
  local head = "hy3d " .. self.kind .. " error"
  if self.code and self.code ~= self.message then head = head .. " " .. tostring(self.code) end
  local details = {}
  if self.http_status then details[#details + 1] = "HTTP " .. tostring(self.http_status) end
  if self.request_id then details[#details + 1] = "request " .. tostring(self.request_id) end
  if self.job_id then details[#details + 1] = "job " .. tostring(self.job_id) end
  local line = head .. ": " .. tostring(self.message)
  if #details > 0 then line = line .. " (" .. table.concat(details, ", ") .. ")" end
  if self.hint then line = line .. " — hint: " .. tostring(self.hint) end
  return (line:gsub("[\r\n]+", " "))
end

--- True for a TLS failure no retry can fix (hy3d.retry).
-- @tparam Error e the error
-- @treturn boolean
-- @function tls_permanent

--- True when a TLS handshake met plain HTTP (hy3d.retry).
-- @tparam Error e the error
-- @treturn boolean
-- @function plain_http

--- The error kinds: network, http, api, decode, job, timeout, invalid, callback, io (each true).
-- @table kinds

--- The metatable of every error (__tostring gives one readable line, the hint included).
-- @table metatable

return {
  new = Error.new,
  is = Error.is,
  redact = redact,
  redact_all = redact_all,
  text = text,
  tls_permanent = tls_permanent,
  plain_http = plain_http,
  hint_plain_http = hint_plain_http,
  kinds = KINDS,
  metatable = Error,
}
