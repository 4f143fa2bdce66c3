--- TC3-HMAC-SHA256 verification for hy3d-sandbox's API 3.0 door: parses the Authorization
-- header, checks the clock, the SecretId and the signature (reference §4), and answers with the
-- service's AuthFailure codes. Independent of the client under test: the canonical request, the
-- string to sign and the key chain are built here, with SHA-256 and HMAC from luaossl (Debian's
-- lua-luaossl), never with hy3d.core's tc3_sign — a signing bug in the client cannot be agreed with.
local digest = require "openssl.digest"
local hmac = require "openssl.hmac"

local format, concat = string.format, table.concat

local function hex(bytes)   -- digests only (32 bytes: well within string.byte's results)
  return ("%02x"):rep(#bytes):format(bytes:byte(1, -1))
end

local function sha256_hex(s)
  return hex(digest.new("sha256"):final(s))
end

local function hmac_sha256(key, msg)
  return hmac.new(key, "sha256"):final(msg)
end

-- A canonical header value: surrounding spaces trimmed, lowercased.
local function canonical_value(v)
  return (v:match("^%s*(.-)%s*$"):lower())
end

--- The steps of reference §4 for one request, computed here. `r`: secret_key, timestamp (integer
-- UNIX seconds), service, host, content_type, payload, unsigned_payload, method ("POST"),
-- signed_headers (lowercase names, any order), headers (lowercase name -> value, for signed
-- headers other than content-type and host). Returns { date, hashed_payload, canonical_request,
-- credential_scope, string_to_sign, k_date, k_service, k_signing (hex), signature }.
local function sign(r)
  local date = os.date("!%Y-%m-%d", r.timestamp)
  local hashed = sha256_hex(r.unsigned_payload and "UNSIGNED-PAYLOAD" or r.payload)
  local names = {}
  for i, n in ipairs(r.signed_headers) do names[i] = n end
  table.sort(names)
  local lines = {}
  for i, name in ipairs(names) do
    local value = (name == "content-type" and r.content_type) or (name == "host" and r.host) or r.headers[name]
    lines[i] = name .. ":" .. canonical_value(value) .. "\n"
  end
  local canonical = concat({ r.method or "POST", "/", "", concat(lines), concat(names, ";"), hashed }, "\n")
  local scope = date .. "/" .. r.service .. "/tc3_request"
  local sts = concat({ "TC3-HMAC-SHA256", format("%d", r.timestamp), scope, sha256_hex(canonical) }, "\n")
  local k_date = hmac_sha256("TC3" .. r.secret_key, date)
  local k_service = hmac_sha256(k_date, r.service)
  local k_signing = hmac_sha256(k_service, "tc3_request")
  return { date = date, hashed_payload = hashed, canonical_request = canonical, credential_scope = scope,
           string_to_sign = sts, k_date = hex(k_date), k_service = hex(k_service), k_signing = hex(k_signing),
           signature = hex(hmac_sha256(k_signing, sts)) }
end

-- Constant-time comparison of two hex signatures.
local function same(a, b)
  if #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do diff = diff | (a:byte(i) ~ b:byte(i)) end
  return diff == 0
end

-- "TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request, SignedHeaders=a;b, Signature=hex"
local function parse(value)
  local algorithm, rest = value:match("^(%S+)%s+(.+)$")
  if algorithm ~= "TC3-HMAC-SHA256" then return nil end
  local parts = {}
  for item in rest:gmatch("[^,]+") do
    local k, v = item:match("^%s*(%w+)=(.-)%s*$")
    if not k then return nil end
    parts[k] = v
  end
  local cred, signed, sig = parts.Credential, parts.SignedHeaders, parts.Signature
  if not (cred and signed and sig) then return nil end
  local id, date, service, term = cred:match("^([^/]+)/(%d%d%d%d%-%d%d%-%d%d)/([^/]+)/([^/]+)$")
  if not id or term ~= "tc3_request" or not sig:match("^%x+$") then return nil end
  return { secret_id = id, date = date, service = service, signed_headers = signed:lower(), signature = sig:lower() }
end

local function invalid(message)
  return "AuthFailure.InvalidAuthorization", message or "Authorization header is not in the Tencent Cloud API 3.0 format."
end

--- Verifies the request `req` (method, headers with lowercase names, body) against `secrets`
-- (SecretId -> SecretKey). `opts`: service ("ai3d"), max_skew (seconds, 300), now (UNIX seconds).
-- Returns the SecretId when the signature is good, else nil, code, message (a string, or
-- { zh = ..., en = ... } where the service answers in the request's language).
-- Leniency for clients pointed at a local endpoint, which real requests never exercise:
-- the host may be signed with or without its port, and the credential's service may be the
-- first label of the host (the Node.js SDK derives it from the endpoint).
local function verify(req, secrets, opts)
  local h = req.headers
  local value = h.authorization
  if not value or value == "" then return nil, invalid("The request has no Authorization header.") end
  local a = parse(value)
  if not a then return nil, invalid() end
  local ts = math.tointeger(tonumber(h["x-tc-timestamp"] or "") or "")
  if not ts or ts < 0 then
    return nil, "InvalidParameter", { zh = "【X-TC-Timestamp】需为UNIX时间戳（秒）",
                                       en = "X-TC-Timestamp: must be a UNIX timestamp (seconds)." }
  end
  local now = opts.now or os.time()
  local max_skew = opts.max_skew or 300
  if math.abs(now - ts) > max_skew then
    return nil, "AuthFailure.SignatureExpire", format("Signature expired. Timestamp:%d, server time:%d; "
      .. "the request time differs from the server's by more than %d seconds (check the system clock).",
      ts, now, max_skew)
  end
  local names, list = {}, {}
  for n in (a.signed_headers .. ";"):gmatch("([^;]*);") do
    if n == "" or names[n] then return nil, invalid("SignedHeaders lists an empty or repeated name.") end
    names[n], list[#list + 1] = true, n
  end
  if not (names["content-type"] and names.host) then
    return nil, invalid("SignedHeaders must include content-type and host.")
  end
  for name in pairs(names) do
    if not h[name] then return nil, invalid(format("The signed header `%s` is missing from the request.", name)) end
  end
  local key = secrets[a.secret_id]
  if not key then
    return nil, "AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure that your SecretId is correct."
  end
  local host = h.host or ""
  local hostname = host:match("^%[[^%]]+%]") or host:match("^[^:]+") or host
  local first_label = hostname:match("^([^.]+)")
  local service = opts.service or "ai3d"
  if a.service ~= service and a.service ~= first_label then
    return nil, invalid(format("The credential scope names service `%s`; this endpoint is `%s`.", a.service, service))
  end
  local base = {
    secret_key = key, timestamp = ts, payload = req.body or "", method = req.method,
    content_type = h["content-type"] or "", service = a.service, signed_headers = list,
    headers = h, unsigned_payload = (h["x-tc-content-sha256"] or "") == "UNSIGNED-PAYLOAD",
  }
  local hosts = { host }
  if hostname ~= host then hosts[2] = hostname end
  local expected_date
  for _, candidate in ipairs(hosts) do
    base.host = candidate
    local ok, steps = pcall(sign, base)
    if not ok then return nil, invalid() end
    expected_date = steps.date
    if same(steps.signature, a.signature) and steps.date == a.date then return a.secret_id end
  end
  if expected_date ~= a.date then
    return nil, "AuthFailure.SignatureFailure", format("The credential date %s is not the UTC date of "
      .. "X-TC-Timestamp (%s).", a.date, expected_date)
  end
  return nil, "AuthFailure.SignatureFailure", "The provided credentials could not be validated. "
    .. "Please check your signature is correct."
end

--- The Authorization header with its signature replaced (for the request log).
local function redact(value)
  if not value then return nil end
  return (value:gsub("Signature=%x+", "Signature=<redacted>"))
end

return {
  verify = verify,
  sign = sign,
  parse = parse,
  redact = redact,
}
