--- hy3d.retry: the retry policy in one place. Two tables side by side, different on purpose: what
-- hy3d itself retries (Policy:decide: reads on network errors, 429, 5xx and RequestLimitExceeded*;
-- a submit only when it provably never reached the service), and what an error advises its caller
-- (advisory, err.retryable: also 408/425 and some FailedOperation.* codes, which hy3d leaves to the
-- caller). Also the backoff (full jitter, or Retry-After) and the TLS failures no retry can fix.
-- Depends on nothing (hy3d.error uses it for err.retryable and its plain-HTTP hint).

-- ===== TLS failures no retry can fix =====

-- TLS failures that asking again cannot fix: the peer's certificate is not trusted (or not the
-- pinned one), or the local TLS setup (CA file, CRL, client certificate, ciphers) is broken. By
-- libcurl name, and by number (err.curl_code) for those the core reports without a name
-- (90 SSL_PINNEDPUBKEYNOTMATCH, 91 SSL_INVALIDCERTSTATUS; 51 was the verification failure before 7.62).
local TLS_PERMANENT = { PEER_FAILED_VERIFICATION = true, SSL_CACERT = true, SSL_CACERT_BADFILE = true,
                        SSL_CERTPROBLEM = true, SSL_CIPHER = true, SSL_CRL_BADFILE = true, SSL_ISSUER_ERROR = true,
                        SSL_PINNEDPUBKEYNOTMATCH = true, SSL_INVALIDCERTSTATUS = true, SSL_ENGINE_NOTFOUND = true }
local TLS_PERMANENT_CURL = { [51] = true, [53] = true, [58] = true, [59] = true, [60] = true, [77] = true,
                             [82] = true, [83] = true, [90] = true, [91] = true }

-- What the TLS libraries say when the "handshake" answer is plain text (an https:// URL at a port
-- that speaks plain HTTP): OpenSSL and LibreSSL, BoringSSL, old OpenSSL, GnuTLS (lowercase).
local PLAIN_HTTP = { "wrong version number", "wrong_version_number", "packet length too long",
                     "unexpected tls packet", "unknown protocol" }

--- True for a TLS handshake that met a server speaking plain HTTP.
local function plain_http(e)
  if e.kind ~= "network" or (e.code ~= "SSL_CONNECT_ERROR" and e.curl_code ~= 35) then return false end
  local m = type(e.message) == "string" and e.message:lower() or ""
  for _, s in ipairs(PLAIN_HTTP) do
    if m:find(s, 1, true) then return true end
  end
  return false
end

--- True for a network error that retrying cannot fix: a TLS verification or TLS setup failure, or
-- a TLS handshake with a server that speaks plain HTTP.
local function tls_permanent(e)
  return e.kind == "network" and (TLS_PERMANENT[e.code] == true or TLS_PERMANENT_CURL[e.curl_code] == true
    or plain_http(e))
end

-- ===== what hy3d retries =====

-- Network failures that prove the request never reached the server.
local UNSENT = { COULDNT_RESOLVE_HOST = true, COULDNT_RESOLVE_PROXY = true, COULDNT_CONNECT = true,
                 SSL_CONNECT_ERROR = true, PROXY = true }

--- What a submit that may have reached the service says, after its message.
local AMBIGUOUS = " — the submit may have reached the service, so a job may exist (and be billed): "
  .. "look for it before submitting again (hy3d does not retry it unless retry_submit = true)"

local Policy = {}
Policy.__index = Policy

--- A client's policy: max (retries after the first try), base and cap (seconds: backoff base and
-- the longest pause), submit (retry_submit: also retry a submit that may have arrived), jitter (a
-- function giving [0, 1), default math.random) and hook (on_retry).
local function new(o)
  return setmetatable({ max = o.max, base = o.base, cap = o.cap, submit = o.submit == true, jitter = o.jitter,
                        hook = o.hook }, Policy)
end

-- Whether err may be retried. Reads: network errors, 429, 5xx, RequestLimitExceeded*. A submit
-- only when it provably never reached the service or the service refused it; `ambiguous` is
-- true when a submit may have created a job. Never a TLS verification (or TLS setup) failure:
-- another try meets the same certificate.
function Policy:decide(err, submit)
  if tls_permanent(err) then return false end   -- an untrusted peer stays untrusted
  local limited = err.kind == "api" and tostring(err.code or ""):match("^RequestLimitExceeded") ~= nil
  local status = err.http_status
  if submit then
    if limited or (err.kind == "http" and status == 429) then return true end
    if err.kind == "network" and (UNSENT[err.code] or err.sent == false) then return true end
    if err.kind == "invalid" or err.kind == "api" or (err.kind == "http" and status and status < 500) then
      return false
    end
    return self.submit, true                -- after sending: ambiguous
  end
  if err.kind == "network" then return err.code ~= "CANCELLED" end
  if err.kind == "http" then return status == 429 or (status ~= nil and status >= 500) end
  return limited
end

-- Seconds to pause before try number `attempt` + 1: full jitter, or the server's Retry-After.
function Policy:backoff(attempt, err)
  local r = self
  if err.retry_after then return err.retry_after end
  return (r.jitter or math.random)() * math.min(r.cap, r.base * 2 ^ (attempt - 1))
end

-- ===== what an error advises (err.retryable) =====

local RETRYABLE_HTTP = { [408] = true, [425] = true, [429] = true, [500] = true, [502] = true,
                         [503] = true, [504] = true }

-- API codes that say "try again later" rather than "this request is wrong".
local RETRYABLE_API = { "^RequestLimitExceeded", "^InternalError", "^ServiceUnavailable",
                        "^FailedOperation%.ServerError", "^FailedOperation%.RequestTimeout",
                        "^FailedOperation%.InnerError", "^FailedOperation%.DownloadError" }

--- The advice hy3d.error gives an error without its own `retryable`: true when the same request
-- may succeed later.
local function advisory(e)
  if e.kind == "network" then return e.code ~= "CANCELLED" and not tls_permanent(e) end
  if e.kind == "http" then return RETRYABLE_HTTP[e.http_status] == true end
  if e.kind == "timeout" then return true end
  if e.kind == "api" or e.kind == "job" then
    for _, pattern in ipairs(RETRYABLE_API) do
      if tostring(e.code or ""):find(pattern) then return true end
    end
  end
  return false
end

return {
  new = new,
  Policy = Policy,
  AMBIGUOUS = AMBIGUOUS,
  UNSENT = UNSENT,
  advisory = advisory,
  tls_permanent = tls_permanent,
  plain_http = plain_http,
}
