--- TC3-HMAC-SHA256 verification for hy3d-sandbox's API 3.0 door: parses the Authorization
-- header, checks the clock, the SecretId and the signature (reference §4), and answers with the
-- service's AuthFailure codes. The HMAC and SHA-256 come from hy3d.core (OpenSSL's libcrypto).
local core = require "hy3d.core"

local format = string.format

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
-- Returns the SecretId when the signature is good, else nil, code, message.
-- Leniency for clients pointed at a local endpoint, which real requests never exercise:
-- the host may be signed with or without its port, and the credential's service may be the
-- first label of the host (the Node.js SDK derives it from the endpoint).
local function verify(req, secrets, opts)
  local h = req.headers
  local value = h.authorization
  if not value or value == "" then return nil, invalid("The request has no Authorization header.") end
  local a = parse(value)
  if not a then return nil, invalid() end
  local ts = tonumber(h["x-tc-timestamp"] or "")
  if not ts or ts ~= math.floor(ts) or ts < 0 then
    return nil, "InvalidParameter", "【X-TC-Timestamp】需为UNIX时间戳（秒）"
  end
  local now = opts.now or os.time()
  local max_skew = opts.max_skew or 300
  if math.abs(now - ts) > max_skew then
    return nil, "AuthFailure.SignatureExpire", format("Signature expired. Timestamp:%d, server time:%d; "
      .. "the request time differs from the server's by more than %d seconds (check the system clock).",
      ts, now, max_skew)
  end
  local names = {}
  for n in a.signed_headers:gmatch("[^;]+") do names[n] = true end
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
    secret_id = a.secret_id, secret_key = key, timestamp = math.floor(ts), payload = req.body or "",
    content_type = h["content-type"] or "", service = a.service, signed_headers = a.signed_headers,
    headers = h, unsigned_payload = (h["x-tc-content-sha256"] or "") == "UNSIGNED-PAYLOAD",
  }
  local hosts = { host }
  if hostname ~= host then hosts[2] = hostname end
  local expected_date
  for _, candidate in ipairs(hosts) do
    base.host = candidate
    local ok, _, steps = pcall(core.tc3_sign, base)
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
  parse = parse,
  redact = redact,
}
